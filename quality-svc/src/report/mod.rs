//! A test run as one self-contained HTML page: its scores per dimension, intent detection per
//! agent, with `config.repeats` > 1 its repeatability (pass^k and the flaky cases), what changed
//! against the previous completed run of the agent, and the trend of `overall` over the agent's
//! runs, drawn as inline SVG ([`svg`]).
//!
//! The page loads nothing: no scripts, no fonts, no images, no URLs; styles are inline. Every
//! string that came from a user (agent names and slugs, descriptions, ticket subjects) is
//! escaped by [`escape`].

pub mod svg;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write;

use enneo_common::service_error::{Error, Result};
use serde_json::Value;

use crate::runs::{RunRow, Runs};
use crate::scoring::{DIMENSIONS, round};
use svg::{Bar, Pair, Point, percent};

/// How many earlier runs the trend shows.
const TREND_RUNS: i64 = 30;
/// The regressed (and the flaky) cases listed; the summary still counts all of them.
const REGRESSED_ROWS: usize = 100;

/// Text for HTML content and quoted attributes alike.
pub fn escape(text: &str) -> Cow<'_, str> {
    html_escape::encode_quoted_attribute(text)
}

/// Everything the page shows, read in [`load`] and drawn by [`render`].
pub struct Report {
    pub run: RunRow,
    /// `{overall, dimension: 0..1}` of the run.
    pub scores: Value,
    /// `{slug: {precision, recall, truePositives, falsePositives, falseNegatives}}`.
    pub intent_detection: Value,
    /// With `config.repeats` > 1: `{repeats, testCases, passK, passRate, flakyTestCases}`;
    /// null otherwise.
    pub repeatability: Value,
    /// The flaky cases of `repeatability`, in its order.
    pub flaky: Vec<Flaky>,
    /// Against the previous completed run of the agent; none when there is none.
    pub diff: Option<Value>,
    /// Test case id → the subject of its ticket as the run replayed it.
    pub subjects: HashMap<i64, String>,
    /// The agent's runs up to this one, oldest first: (run id, overall).
    pub trend: Vec<(i64, Option<f64>)>,
    pub pass_threshold: f64,
}

/// A test case whose replays disagreed.
#[derive(Debug, Clone, PartialEq)]
pub struct Flaky {
    pub test_case_id: i64,
    pub ticket_id: i64,
    /// Replays that passed, of `replays`.
    pub passed: usize,
    pub replays: usize,
    /// How many different observations the replays made.
    pub observations: usize,
}

/// The flaky cases named by `repeatability`, from the run's test tickets.
fn flaky_cases(repeatability: &Value, tickets: &[crate::runs::TicketRow]) -> Vec<Flaky> {
    let ids = repeatability["flakyTestCases"].as_array().map(Vec::as_slice).unwrap_or_default();
    ids.iter()
        .filter_map(Value::as_i64)
        .map(|case| {
            let replays: Vec<&crate::runs::TicketRow> =
                tickets.iter().filter(|t| t.test_case_id == Some(case)).collect();
            let mut observations: Vec<&Value> = Vec::new();
            for actual in replays.iter().filter_map(|t| t.actual_result.as_ref()) {
                if !observations.contains(&actual) {
                    observations.push(actual);
                }
            }
            Flaky {
                test_case_id: case,
                ticket_id: replays.first().map_or(0, |t| t.ticket_id),
                passed: replays.iter().filter(|t| t.passed == Some(true)).count(),
                replays: replays.len(),
                observations: observations.len(),
            }
        })
        .collect()
}

/// Reads what the report of run `id` shows; 404 for an unknown run.
pub async fn load(runs: &Runs, id: i64, pass_threshold: f64) -> Result<Report> {
    let base = runs.report(id).await?;
    let diff = match runs.diff(id, None).await {
        Ok(diff) => Some(diff),
        // The run exists (read above): there is no earlier completed run to compare with.
        Err(Error::NotFound(_)) => None,
        Err(e) => return Err(e),
    };
    let mut conn = runs.pool.acquire().await?;
    let subjects: Vec<(i64, Option<String>)> = sqlx::query_as(
        "SELECT test_case_id, snapshot->>'subject' FROM quality.test_ticket \
         WHERE test_run_id = $1 AND test_case_id IS NOT NULL",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    // The same mean as the run's `overall`: over its completed tickets that scored one.
    let mut trend: Vec<(i64, Option<f64>)> = sqlx::query_as(
        "SELECT r.id, avg((t.scores->>'overall')::float8) FROM quality.test_run r \
         LEFT JOIN quality.test_ticket t ON t.test_run_id = r.id AND t.state = 'completed' \
         WHERE r.ai_agent_id IS NOT DISTINCT FROM $1 AND r.id <= $2 \
           AND (r.state = 'completed' OR r.id = $2) \
         GROUP BY r.id ORDER BY r.id DESC LIMIT $3",
    )
    .bind(base.run.ai_agent_id)
    .bind(id)
    .bind(TREND_RUNS)
    .fetch_all(&mut *conn)
    .await?;
    trend.reverse();
    let flaky = flaky_cases(&base.repeatability, &base.tickets);
    Ok(Report {
        run: base.run,
        scores: base.scores,
        intent_detection: base.intent_detection,
        repeatability: base.repeatability,
        flaky,
        diff,
        subjects: subjects.into_iter().filter_map(|(case, s)| Some((case, s?))).collect(),
        trend: trend.into_iter().map(|(run, overall)| (run, overall.map(round))).collect(),
        pass_threshold,
    })
}

/// How the page names a dimension of contract §4.3.
fn dimension_label(name: &str) -> &str {
    match name {
        "contractId" => "Contract",
        "intentDetection" => "Intent detection",
        "inputParameters" => "Input parameters",
        "outcomeType" => "Outcome type",
        "outcomeActions" => "Outcome actions",
        "outcomeNotifications" => "Outcome notifications",
        "outcomeText" => "Outcome text",
        "sentiment" => "Sentiment",
        "tags" => "Tags",
        "aiSupportLevel" => "AI support level",
        other => other,
    }
}

const STYLE: &str = "\
body{margin:0;background:#f7fafc;color:#1a202c;font:14px/1.45 system-ui,sans-serif}\
main{max-width:760px;margin:0 auto;padding:24px}\
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:0 0 12px}\
.agent{color:#4a5568;font-weight:normal}.meta{color:#718096;margin:0 0 16px}\
section{background:#fff;border:1px solid #e2e8f0;border-radius:6px;padding:16px;margin:0 0 16px}\
.tiles{display:flex;gap:12px;flex-wrap:wrap;margin:0 0 12px}\
.tile{flex:1;min-width:110px;border:1px solid #e2e8f0;border-radius:6px;padding:8px 12px;\
background:#fff}.tile b{display:block;font-size:20px}.tile span{color:#718096;font-size:12px}\
.tile.bad b{color:#c53030}.tile.good b{color:#2f855a}\
figure{margin:0}figcaption{color:#4a5568;font-size:12px;margin:0 0 6px}\
svg{max-width:100%;height:auto}.no-data{color:#718096;font-style:italic;margin:4px 0}\
table{border-collapse:collapse;width:100%;margin-top:12px;font-size:13px}\
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #edf2f7}\
th{color:#4a5568;font-weight:600;white-space:nowrap}td.num,th.num{text-align:right}\
.note{color:#718096}";

/// The page of `r`.
pub fn render(r: &Report) -> String {
    let run = &r.run;
    let agent = run.ai_agent_name.as_deref().or(run.ai_agent_code.as_deref());
    let mut out = String::with_capacity(16 * 1024);
    let _ = write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Test run #{} · {}</title><style>{STYLE}</style></head><body><main>",
        run.id,
        escape(agent.unwrap_or("all agents"))
    );
    header(&mut out, r, agent);
    dimensions(&mut out, r);
    agents(&mut out, r);
    repeatability(&mut out, r);
    diff(&mut out, r);
    trend(&mut out, r);
    out.push_str("</main></body></html>");
    out
}

fn tile(out: &mut String, class: &str, value: &str, label: &str) {
    let _ = write!(
        out,
        "<div class=\"tile {class}\"><b>{}</b><span>{}</span></div>",
        escape(value),
        escape(label)
    );
}

fn header(out: &mut String, r: &Report, agent: Option<&str>) {
    let run = &r.run;
    let _ = write!(
        out,
        "<header><h1>Test run #{} <span class=\"agent\">{}</span></h1><p class=\"meta\">{} · \
         created {}",
        run.id,
        escape(agent.unwrap_or("All agents")),
        escape(&run.state),
        run.created_at.format("%Y-%m-%d %H:%M UTC"),
    );
    if let Some(end) = run.end_date {
        let _ = write!(out, " · finished {}", end.format("%Y-%m-%d %H:%M UTC"));
    }
    match (run.trigger.as_str(), run.rerun_of) {
        ("agentChange", _) => out.push_str(" · started by an AI agent change"),
        ("rerun", Some(of)) => {
            let _ = write!(out, " · re-run of test run #{of}");
        }
        _ => {}
    }
    if let Some(d) = run.description.as_deref().filter(|d| !d.is_empty()) {
        let _ = write!(out, " · {}", escape(d));
    }
    out.push_str("</p></header><div class=\"tiles\">");
    let overall = r.scores.get("overall").and_then(Value::as_f64);
    let class = match overall {
        Some(o) if o >= r.pass_threshold - 1e-9 => "good",
        Some(_) => "bad",
        None => "",
    };
    tile(out, class, &overall.map(percent).unwrap_or_else(|| "–".into()), "overall score");
    let passed = format!("{} / {}", run.successful_tests, run.tickets_tested);
    tile(out, "", &passed, "tests passed");
    let scheduled = format!("{} / {}", run.tickets_tested, run.tickets_scheduled);
    tile(out, "", &scheduled, "tickets tested");
    let failed_class = if run.failed_replays > 0 { "bad" } else { "" };
    tile(out, failed_class, &run.failed_replays.to_string(), "failed replays");
    tile(out, "", &percent(r.pass_threshold), "pass threshold");
    out.push_str("</div>");
}

fn dimensions(out: &mut String, r: &Report) {
    let score = |key: &str| r.scores.get(key).and_then(Value::as_f64);
    let mut bars = vec![Bar { label: "Overall".into(), value: score("overall") }];
    bars.extend(
        DIMENSIONS
            .iter()
            .filter(|d| r.scores.get(**d).is_some())
            .map(|d| Bar { label: dimension_label(d).into(), value: score(d) }),
    );
    out.push_str("<section id=\"dimensions\"><h2>Scores per dimension</h2>");
    out.push_str(&svg::bars(
        "Mean score per dimension over the tested tickets whose expectation names it",
        &bars,
        r.pass_threshold,
    ));
    out.push_str("</section>");
}

fn agents(out: &mut String, r: &Report) {
    let empty = serde_json::Map::new();
    let by_agent = r.intent_detection.as_object().unwrap_or(&empty);
    out.push_str("<section id=\"agents\"><h2>Intent detection per agent</h2>");
    let rows: Vec<Pair> = by_agent
        .iter()
        .map(|(slug, m)| Pair {
            label: slug.clone(),
            values: [m["precision"].as_f64(), m["recall"].as_f64()],
        })
        .collect();
    out.push_str(&svg::paired_bars(
        "Precision and recall of detecting each agent",
        ["precision", "recall"],
        &rows,
    ));
    if !by_agent.is_empty() {
        out.push_str(
            "<table><thead><tr><th>Agent</th><th class=\"num\">Precision</th>\
             <th class=\"num\">Recall</th><th class=\"num\">True pos.</th>\
             <th class=\"num\">False pos.</th><th class=\"num\">False neg.</th></tr></thead><tbody>",
        );
        let ratio = |v: &Value| v.as_f64().map(percent).unwrap_or_else(|| "n/a".into());
        for (slug, m) in by_agent {
            let _ = write!(
                out,
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                escape(slug),
                ratio(&m["precision"]),
                ratio(&m["recall"]),
                m["truePositives"],
                m["falsePositives"],
                m["falseNegatives"],
            );
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("</section>");
}

/// pass^k and the flaky cases; nothing for a run that replayed each case once.
fn repeatability(out: &mut String, r: &Report) {
    let rep = &r.repeatability;
    let Some(k) = rep["repeats"].as_i64() else { return };
    let _ = write!(
        out,
        "<section id=\"repeatability\"><h2>Repeatability over {k} replays per test case</h2>\
         <div class=\"tiles\">"
    );
    let share = |key: &str| rep[key].as_f64();
    let class = |v: Option<f64>| match v {
        Some(v) if v >= 1.0 - 1e-9 => "good",
        Some(_) => "bad",
        None => "",
    };
    let shown = |v: Option<f64>| v.map(percent).unwrap_or_else(|| "–".into());
    let pass_k = share("passK");
    tile(out, class(pass_k), &shown(pass_k), &format!("pass^{k}: every replay passed"));
    tile(out, "", &shown(share("passRate")), "of all replays passed");
    let flaky = rep["flakyTestCases"].as_array().map_or(0, Vec::len);
    tile(out, if flaky > 0 { "bad" } else { "good" }, &flaky.to_string(), "flaky test cases");
    let complete = rep["testCases"].as_i64().unwrap_or(0);
    tile(out, "", &complete.to_string(), "test cases with every replay done");
    out.push_str("</div>");
    if r.flaky.is_empty() {
        out.push_str(
            "<p class=\"note\">No test case is flaky: the replays of each case agreed in \
             verdict and observation.</p></section>",
        );
        return;
    }
    out.push_str(
        "<table id=\"flaky\"><caption class=\"note\">Flaky test cases: their replays disagree \
         in verdict or observation</caption><thead><tr><th>Test case</th><th>Ticket</th>\
         <th>Subject</th><th class=\"num\">Replays passed</th>\
         <th class=\"num\">Different observations</th></tr></thead><tbody>",
    );
    for case in r.flaky.iter().take(REGRESSED_ROWS) {
        let _ = write!(
            out,
            "<tr><td>#{}</td><td>#{}</td><td>{}</td><td class=\"num\">{} / {}</td>\
             <td class=\"num\">{}</td></tr>",
            case.test_case_id,
            case.ticket_id,
            escape(r.subjects.get(&case.test_case_id).map_or("", String::as_str)),
            case.passed,
            case.replays,
            case.observations,
        );
    }
    out.push_str("</tbody></table>");
    if r.flaky.len() > REGRESSED_ROWS {
        let _ = write!(
            out,
            "<p class=\"note\">and {} more flaky test cases.</p>",
            r.flaky.len() - REGRESSED_ROWS
        );
    }
    out.push_str("</section>");
}

fn diff(out: &mut String, r: &Report) {
    let Some(d) = &r.diff else {
        out.push_str(
            "<section id=\"diff\"><h2>Changes</h2><p class=\"note\">There is no earlier \
             completed run of this agent to compare with.</p></section>",
        );
        return;
    };
    let count = |key: &str| d[key].as_array().map_or(0, Vec::len);
    let _ = write!(
        out,
        "<section id=\"diff\"><h2>Changes against test run #{}</h2><div class=\"tiles\">",
        d["againstTestRunId"]
    );
    let regressed = count("regressed");
    tile(out, if regressed > 0 { "bad" } else { "" }, &regressed.to_string(), "regressed");
    tile(out, "good", &count("fixed").to_string(), "fixed");
    tile(out, "", &count("changed").to_string(), "changed, same verdict");
    tile(out, "", &d["unchanged"].as_i64().unwrap_or(0).to_string(), "unchanged");
    out.push_str("</div>");
    let only = |key: &str| d[key].as_array().map_or(0, Vec::len);
    let (new, gone) = (only("onlyInTestRun"), only("onlyInAgainst"));
    if new + gone > 0 {
        let _ = write!(
            out,
            "<p class=\"note\">{new} test case(s) only in this run, {gone} only in the other.</p>"
        );
    }
    let cases = d["regressed"].as_array().map(Vec::as_slice).unwrap_or_default();
    if cases.is_empty() {
        out.push_str("<p class=\"note\">No test case regressed.</p></section>");
        return;
    }
    out.push_str(
        "<table id=\"regressed\"><caption class=\"note\">Regressed test cases</caption><thead><tr>\
         <th>Test case</th><th>Ticket</th><th>Subject</th><th class=\"num\">Overall before</th>\
         <th class=\"num\">Overall now</th><th>Changed dimensions</th></tr></thead><tbody>",
    );
    let overall = |v: &Value| v["overall"].as_f64().map(percent).unwrap_or_else(|| "–".into());
    for case in cases.iter().take(REGRESSED_ROWS) {
        let id = case["testCaseId"].as_i64().unwrap_or_default();
        let changed: Vec<&str> = case["changedDimensions"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).map(dimension_label).collect())
            .unwrap_or_default();
        let _ = write!(
            out,
            "<tr><td>#{id}</td><td>#{}</td><td>{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td>{}</td></tr>",
            case["ticketId"],
            escape(r.subjects.get(&id).map_or("", String::as_str)),
            overall(&case["before"]),
            overall(&case["after"]),
            if changed.is_empty() {
                "–".into()
            } else {
                escape(&changed.join(", ")).into_owned()
            },
        );
    }
    out.push_str("</tbody></table>");
    if cases.len() > REGRESSED_ROWS {
        let _ = write!(
            out,
            "<p class=\"note\">and {} more regressed test cases.</p>",
            cases.len() - REGRESSED_ROWS
        );
    }
    out.push_str("</section>");
}

fn trend(out: &mut String, r: &Report) {
    let points: Vec<Point> = r
        .trend
        .iter()
        .map(|(id, overall)| Point {
            label: format!("#{id}"),
            value: *overall,
            current: *id == r.run.id,
        })
        .collect();
    out.push_str("<section id=\"trend\"><h2>Overall score over the agent's runs</h2>");
    out.push_str(&svg::line(
        "Overall score of each completed run up to this one",
        &points,
        r.pass_threshold,
    ));
    out.push_str("</section>");
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use serde_json::json;

    use super::*;
    use crate::runs::TicketRow;

    fn report(diff: Option<Value>) -> Report {
        Report {
            run: RunRow {
                id: 7,
                ai_agent_id: Some(3),
                ai_agent_code: Some("meter_reading".into()),
                ai_agent_name: Some("Meter <b>reading</b> & co".into()),
                state: "completed".into(),
                description: Some("nightly \"check\"".into()),
                config: json!({}),
                channel: None,
                rerun_of: None,
                trigger: "manual".into(),
                created_by: 1,
                created_at: Utc::now(),
                started_at: None,
                end_date: Some(Utc::now()),
                tickets_scheduled: 3,
                tickets_tested: 3,
                successful_tests: 2,
                failed_replays: 0,
            },
            scores: json!({"overall": 0.6667, "intentDetection": 1.0, "sentiment": 0.3333}),
            intent_detection: json!({"meter_reading": {"precision": 1.0, "recall": 0.5,
                "truePositives": 1, "falsePositives": 0, "falseNegatives": 1}}),
            repeatability: Value::Null,
            flaky: Vec::new(),
            diff,
            subjects: HashMap::from([(11, "<img src=x onerror=alert(1)>".to_owned())]),
            trend: vec![(5, Some(1.0)), (6, None), (7, Some(0.6667))],
            pass_threshold: 0.9,
        }
    }

    fn diff() -> Value {
        let change = json!({"testCaseId": 11, "ticketId": 110, "aiAgentId": 3,
            "before": {"state": "completed", "passed": true, "overall": 1.0},
            "after": {"state": "completed", "passed": false, "overall": 0.5},
            "changedDimensions": ["sentiment"]});
        json!({"testRunId": 7, "againstTestRunId": 5, "regressed": [change], "fixed": [],
            "changed": [], "unchanged": 2, "onlyInTestRun": [], "onlyInAgainst": []})
    }

    #[test]
    fn the_page_shows_every_part_as_charts_and_tables() {
        let page = render(&report(Some(diff())));
        assert_eq!(page.matches("<svg").count(), 3, "{page}");
        assert!(page.contains("Scores per dimension"));
        assert!(page.contains(">Intent detection<") && page.contains(">Sentiment<"), "{page}");
        assert!(page.contains(">meter_reading<"), "{page}");
        assert!(page.contains("Changes against test run #5"), "{page}");
        assert!(page.contains("<b>1</b><span>regressed</span>"), "{page}");
        assert!(page.contains("<b>2</b><span>unchanged</span>"), "{page}");
        assert!(page.contains("<td>#11</td><td>#110</td>"), "{page}");
        assert!(page.contains(">#5<") && page.contains(">#7<"), "the trend's runs: {page}");
        assert!(page.contains("<b>67%</b><span>overall score</span>"), "{page}");
        assert!(!page.contains("re-run of") && !page.contains("agent change"), "{page}");

        let mut rerun = report(None);
        (rerun.run.trigger, rerun.run.rerun_of) = ("rerun".into(), Some(5));
        assert!(render(&rerun).contains(" · re-run of test run #5"));
        rerun.run.trigger = "agentChange".into();
        assert!(render(&rerun).contains(" · started by an AI agent change"));
    }

    #[test]
    fn user_text_is_escaped_and_nothing_is_loaded() {
        let page = render(&report(Some(diff())));
        assert!(page.contains("Meter &lt;b&gt;reading&lt;/b&gt; &amp; co"), "{page}");
        assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"), "{page}");
        assert!(page.contains("nightly &quot;check&quot;"), "{page}");
        assert!(!page.contains("<img") && !page.contains("<b>reading"), "{page}");
        for outside in ["http:", "https:", "<script", "<link", "url(", "@import", "src=\""] {
            assert!(!page.contains(outside), "{outside} in {page}");
        }
    }

    #[test]
    fn a_repeated_run_shows_pass_k_and_its_flaky_cases() {
        let single = render(&report(Some(diff())));
        assert!(!single.contains("id=\"repeatability\""), "one replay per case: {single}");

        let mut r = report(Some(diff()));
        r.run.config = json!({"repeats": 3});
        r.repeatability = json!({"repeats": 3, "testCases": 2, "passK": 0.5, "passRate": 0.8333,
            "flakyTestCases": [11]});
        let ticket = |repeat: i16, passed: bool, detected: &str| TicketRow {
            id: 100 + i64::from(repeat),
            test_run_id: 7,
            test_case_id: Some(11),
            ticket_id: 110,
            ai_agent_id: 3,
            ai_agent_code: "meter_reading".into(),
            state: "completed".into(),
            expected_result: None,
            actual_result: Some(json!({"intentDetection": [detected]})),
            raw_result: None,
            scores: None,
            passed: Some(passed),
            error: None,
            tested_at: None,
            repeat,
        };
        let tickets = [
            ticket(0, true, "meter_reading"),
            ticket(1, false, "cancel_contract"),
            ticket(2, true, "meter_reading"),
        ];
        r.flaky = flaky_cases(&r.repeatability, &tickets);
        assert_eq!(
            r.flaky,
            [Flaky { test_case_id: 11, ticket_id: 110, passed: 2, replays: 3, observations: 2 }]
        );
        let page = render(&r);
        assert!(page.contains("Repeatability over 3 replays per test case"), "{page}");
        assert!(page.contains("<b>50%</b><span>pass^3: every replay passed</span>"), "{page}");
        assert!(page.contains("<b>83%</b><span>of all replays passed</span>"), "{page}");
        assert!(page.contains("<b>1</b><span>flaky test cases</span>"), "{page}");
        assert!(
            page.contains(
                "<td>#11</td><td>#110</td><td>&lt;img src=x onerror=alert(1)&gt;</td>\
                 <td class=\"num\">2 / 3</td><td class=\"num\">2</td>"
            ),
            "{page}"
        );

        r.repeatability["flakyTestCases"] = json!([]);
        r.repeatability["passK"] = json!(1.0);
        r.flaky = flaky_cases(&r.repeatability, &tickets);
        let steady = render(&r);
        assert!(steady.contains("No test case is flaky"), "{steady}");
        assert!(steady.contains("<b>0</b><span>flaky test cases</span>"), "{steady}");
    }

    #[test]
    fn a_first_run_says_there_is_nothing_to_compare_with() {
        let mut r = report(None);
        r.scores = json!({"overall": null});
        r.intent_detection = json!({});
        r.trend = vec![(7, None)];
        let page = render(&r);
        assert!(page.contains("no earlier completed run"), "{page}");
        assert_eq!(page.matches("<svg").count(), 0, "{page}");
        assert_eq!(page.matches("class=\"no-data\"").count(), 3, "{page}");
    }
}
