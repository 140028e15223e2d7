//! The two phases of an agent run.
//!
//! Phase 1 (`_action` null) picks the first response case whose condition holds and turns it
//! into what a human sees: infos and options, exactly one of them recommended. It decides
//! nothing and has no side effects, so it runs on every detection, preview and quality replay.
//!
//! Phase 2 (`_action` = an option's `type`) re-evaluates the cases with that action and yields
//! the effects to apply (a reply, a close). Only an option phase 1 offered can be executed.
//! There is no phase 3: an interaction reached in phase 2 is shown, not run again.
//!
//! A case that matches in phase 1 and is not an interaction offers one option named after what
//! it does (`send_reply`, `send_reply_and_close`, `close_ticket`); since its condition does not
//! look at `_action`, the same case matches again when that option is executed.

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::Value;

use super::conditions::{self, Alert};
use super::definition::{
    ACTION_KEY, AgentSettings, InfoType, IntentInfo, IntentOption, OutputType, ResponseCase,
};
use super::params::{self, Inputs, Resolution};

/// What executing a phase-2 case does outside the engine.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Effect {
    /// Send the customer a reply: a Handlebars template, or (for `llm`) a brief for the writer.
    Reply {
        template: String,
        by_llm: bool,
    },
    CloseTicket,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// The `_action` executed; `None` in phase 1.
    pub action: Option<String>,
    pub case_id: Option<Value>,
    pub output_type: Option<OutputType>,
    pub infos: Vec<IntentInfo>,
    pub options: Vec<IntentOption>,
    pub effects: Vec<Effect>,
    /// Phase 1 only: the recommended option may run unattended.
    pub auto_executable: bool,
    /// Parameter values by key, as executors and templates see them.
    pub data: serde_json::Map<String, Value>,
    pub alerts: Vec<Alert>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhaseError {
    #[error("option {action:?} is not offered; offered: {offered}")]
    NotOffered { action: String, offered: String },
}

/// Runs phase 1 when `inputs.given` has no `_action`, phase 2 otherwise.
pub fn run(
    settings: &AgentSettings,
    inputs: &Inputs,
    today: NaiveDate,
) -> Result<Decision, PhaseError> {
    let resolution = params::resolve(settings, inputs);
    let Some(action) = resolution.action() else {
        return Ok(phase_one(settings, inputs, &resolution, today));
    };
    let mut preview_inputs = inputs.clone();
    preview_inputs.given.remove(ACTION_KEY);
    let preview =
        phase_one(settings, &preview_inputs, &params::resolve(settings, &preview_inputs), today);
    if !preview.options.iter().any(|o| o.ty == action) {
        let offered: Vec<&str> = preview.options.iter().map(|o| o.ty.as_str()).collect();
        return Err(PhaseError::NotOffered {
            action,
            offered: if offered.is_empty() { "none".into() } else { offered.join(", ") },
        });
    }
    Ok(phase_two(settings, &resolution, action, today))
}

fn phase_one(
    settings: &AgentSettings,
    inputs: &Inputs,
    resolution: &Resolution,
    today: NaiveDate,
) -> Decision {
    let mut decision = base(resolution);
    let Some(case) = first_match(settings, resolution, today, &mut decision.alerts) else {
        decision.infos.push(IntentInfo::new(InfoType::Danger, "no response case matches"));
        return decision;
    };
    decision.case_id = Some(case.id.clone());
    decision.output_type = Some(case.output.ty);
    if case.output.ty == OutputType::Interaction {
        decision.infos.extend(case.output.infos.iter().cloned());
        decision.infos.extend(inputs.executor_infos.iter().cloned());
        let options = if case.output.options.is_empty() {
            &inputs.executor_options
        } else {
            &case.output.options
        };
        decision.options = one_recommended(options.clone());
    } else {
        decision.options = vec![IntentOption {
            ty: derived_action(case.output.ty).to_owned(),
            name: case.description.clone(),
            icon: Some("check".into()),
            recommended: true,
            order: Some(1),
        }];
    }
    let auto = settings.auto_executable_actions();
    decision.auto_executable = decision.options.iter().any(|o| {
        o.recommended
            && (auto.contains(&o.ty)
                || (case.auto_execute
                    && case.output.ty.auto_executable()
                    && o.ty == derived_action(case.output.ty)))
    });
    decision
}

fn phase_two(
    settings: &AgentSettings,
    resolution: &Resolution,
    action: String,
    today: NaiveDate,
) -> Decision {
    let mut decision = base(resolution);
    decision.action = Some(action);
    let Some(case) = first_match(settings, resolution, today, &mut decision.alerts) else {
        decision
            .infos
            .push(IntentInfo::new(InfoType::Danger, "no response case matches this option"));
        return decision;
    };
    decision.case_id = Some(case.id.clone());
    decision.output_type = Some(case.output.ty);
    let template = |case: &ResponseCase| {
        if case.output.text.is_empty() {
            case.output.texts.values().next().cloned().unwrap_or_default()
        } else {
            case.output.text.clone()
        }
    };
    match case.output.ty {
        OutputType::Interaction => decision.infos.extend(case.output.infos.iter().cloned()),
        OutputType::TextTemplate | OutputType::TextTemplateAndClose => {
            decision.effects.push(Effect::Reply { template: template(case), by_llm: false })
        }
        OutputType::Llm => decision.effects.push(Effect::Reply {
            template: if case.description.is_empty() {
                template(case)
            } else {
                case.description.clone()
            },
            by_llm: true,
        }),
        OutputType::CloseTicket => {}
    }
    if case.output.ty.closes() {
        decision.effects.push(Effect::CloseTicket);
    }
    decision
}

fn base(resolution: &Resolution) -> Decision {
    let mut infos = Vec::new();
    for error in &resolution.errors {
        infos.push(IntentInfo {
            code: Some("conversionError".into()),
            extra_info: Some(format!("expected {:?}", error.expected).to_lowercase()),
            ..IntentInfo::new(InfoType::Warning, format!("{}: {}", error.key, error.message))
        });
    }
    for key in &resolution.missing {
        infos.push(IntentInfo {
            code: Some("missingParameter".into()),
            ..IntentInfo::new(InfoType::Warning, format!("{key} is missing"))
        });
    }
    Decision {
        action: None,
        case_id: None,
        output_type: None,
        infos,
        options: Vec::new(),
        effects: Vec::new(),
        auto_executable: false,
        data: resolution.by_key.clone(),
        alerts: Vec::new(),
    }
}

fn first_match<'a>(
    settings: &'a AgentSettings,
    resolution: &Resolution,
    today: NaiveDate,
    alerts: &mut Vec<Alert>,
) -> Option<&'a ResponseCase> {
    let lookup = |id: i64| resolution.get(id);
    settings
        .response_cases
        .iter()
        .find(|case| conditions::evaluate(&case.condition, &lookup, today, alerts))
}

fn derived_action(ty: OutputType) -> &'static str {
    match ty {
        OutputType::TextTemplateAndClose => "send_reply_and_close",
        OutputType::CloseTicket => "close_ticket",
        _ => "send_reply",
    }
}

/// Exactly one recommended option: the first marked one, else the first in order.
fn one_recommended(mut options: Vec<IntentOption>) -> Vec<IntentOption> {
    options.sort_by_key(|o| o.order.unwrap_or(i64::MAX));
    let chosen = options.iter().position(|o| o.recommended).unwrap_or(0);
    for (i, option) in options.iter_mut().enumerate() {
        option.recommended = i == chosen;
    }
    options
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 15).unwrap()
    }

    /// A meter-reading agent: ask back without a reading; offer to enter it otherwise; entering
    /// it replies and closes; ignoring closes silently.
    fn agent() -> AgentSettings {
        serde_json::from_value(json!({
            "parameters": [
                {"id": 1, "key": "_action", "type": "str", "value": "null", "source": "manual", "visibility": "hidden"},
                {"id": 2, "key": "meterReading", "type": "float", "source": "message", "required": true}
            ],
            "responseCases": [
                {"id": 10, "condition": {"operator": "And", "operands": [
                    {"id": 1, "operand": 2, "operator": "IsNull"}]},
                 "output": {"type": "textTemplate", "text": "Bitte senden Sie uns Ihren Zählerstand."},
                 "autoExecute": true, "description": "ask for the reading"},
                {"id": 11, "condition": {"operator": "And", "operands": [
                    {"id": 2, "operand": 1, "operator": "IsNull"}]},
                 "output": {"type": "interaction",
                    "options": [
                      {"type": "ignore", "name": "Ignorieren", "order": 2},
                      {"type": "enter_into_system", "name": "Eintragen", "recommended": true, "order": 1}],
                    "infos": [{"type": "success", "message": "Reading is plausible"}]}},
                {"id": 12, "condition": {"operator": "And", "operands": [
                    {"id": 3, "operand": 1, "operator": "Equal", "value": "enter_into_system"}]},
                 "output": {"type": "textTemplateAndClose", "text": "Wir haben {{meterReading}} erfasst."},
                 "autoExecute": true},
                {"id": 13, "condition": {"operator": "And", "operands": [
                    {"id": 4, "operand": 1, "operator": "Equal", "value": "ignore"}]},
                 "output": {"type": "closeTicket"}}
            ]
        }))
        .unwrap()
    }

    fn inputs(reading: Option<&str>, action: Option<&str>) -> Inputs {
        let mut inputs = Inputs::default();
        if let Some(r) = reading {
            inputs.extracted.insert("meterReading".into(), json!(r));
        }
        if let Some(a) = action {
            inputs.given.insert(ACTION_KEY.into(), json!(a));
        }
        inputs
    }

    #[test]
    fn phase_one_offers_options_with_exactly_one_recommended_and_no_effects() {
        let d = run(&agent(), &inputs(Some("4711"), None), today()).unwrap();
        assert_eq!(d.action, None);
        assert_eq!(d.case_id, Some(json!(11)));
        assert_eq!(d.output_type, Some(OutputType::Interaction));
        assert!(d.effects.is_empty());
        let types: Vec<&str> = d.options.iter().map(|o| o.ty.as_str()).collect();
        assert_eq!(types, ["enter_into_system", "ignore"]);
        assert_eq!(d.options.iter().filter(|o| o.recommended).count(), 1);
        assert!(d.options[0].recommended);
        assert!(d.auto_executable, "enter_into_system is an autoExecute case on _action alone");
        assert_eq!(d.infos[0].message, "Reading is plausible");
        assert_eq!(d.data["meterReading"], json!(4711.0));
    }

    #[test]
    fn a_non_interaction_case_offers_its_own_action_which_phase_two_runs() {
        let d = run(&agent(), &inputs(None, None), today()).unwrap();
        assert_eq!(d.case_id, Some(json!(10)));
        assert_eq!(d.options.len(), 1);
        assert_eq!(d.options[0].ty, "send_reply");
        assert!(d.auto_executable);
        assert!(d.infos.iter().any(|i| i.code.as_deref() == Some("missingParameter")));

        let d = run(&agent(), &inputs(None, Some("send_reply")), today()).unwrap();
        assert_eq!(d.case_id, Some(json!(10)));
        assert_eq!(
            d.effects,
            vec![Effect::Reply {
                template: "Bitte senden Sie uns Ihren Zählerstand.".into(),
                by_llm: false
            }]
        );
    }

    #[test]
    fn phase_two_yields_the_chosen_cases_effects() {
        let d = run(&agent(), &inputs(Some("4711"), Some("enter_into_system")), today()).unwrap();
        assert_eq!(d.action.as_deref(), Some("enter_into_system"));
        assert_eq!(d.case_id, Some(json!(12)));
        assert_eq!(
            d.effects,
            vec![
                Effect::Reply {
                    template: "Wir haben {{meterReading}} erfasst.".into(),
                    by_llm: false
                },
                Effect::CloseTicket
            ]
        );
        let d = run(&agent(), &inputs(Some("4711"), Some("ignore")), today()).unwrap();
        assert_eq!(d.effects, vec![Effect::CloseTicket]);
    }

    #[test]
    fn only_offered_options_can_be_executed() {
        let err = run(&agent(), &inputs(None, Some("enter_into_system")), today()).unwrap_err();
        assert_eq!(
            err,
            PhaseError::NotOffered {
                action: "enter_into_system".into(),
                offered: "send_reply".into()
            }
        );
        assert!(run(&agent(), &inputs(Some("1"), Some("delete_everything")), today()).is_err());
    }

    #[test]
    fn no_matching_case_is_a_danger_info_and_nothing_to_run() {
        let mut settings = agent();
        settings.response_cases.clear();
        let d = run(&settings, &inputs(Some("1"), None), today()).unwrap();
        assert!(d.options.is_empty() && !d.auto_executable);
        assert_eq!(d.infos.last().unwrap().ty, InfoType::Danger);
    }

    #[test]
    fn the_recommended_option_is_unique_even_when_a_definition_marks_several_or_none() {
        let option = |ty: &str, recommended: bool, order: i64| IntentOption {
            ty: ty.into(),
            name: String::new(),
            icon: None,
            recommended,
            order: Some(order),
        };
        let picked = one_recommended(vec![option("a", true, 2), option("b", true, 1)]);
        assert_eq!(
            picked.iter().filter(|o| o.recommended).map(|o| o.ty.as_str()).collect::<Vec<_>>(),
            ["b"]
        );
        let picked = one_recommended(vec![option("a", false, 2), option("b", false, 3)]);
        assert_eq!(
            picked.iter().filter(|o| o.recommended).map(|o| o.ty.as_str()).collect::<Vec<_>>(),
            ["a"]
        );
    }

    #[test]
    fn integrity_violations_name_each_dangling_reference() {
        let mut settings = agent();
        settings.response_cases[0].output.parameters = vec![2, 77];
        settings.parameters.retain(|p| p.key != ACTION_KEY);
        let violations = settings.violations();
        assert!(violations.iter().any(|v| v.contains("_action")), "{violations:?}");
        assert!(violations.iter().any(|v| v.contains("unknown parameter 77")), "{violations:?}");
        assert!(
            violations.iter().any(|v| v.contains("operand refers to unknown parameter 1")),
            "{violations:?}"
        );
        assert!(agent().violations().is_empty());
    }
}
