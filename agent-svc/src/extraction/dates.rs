//! Dates in German and English, absolute ("12.10.2026", "1. November", "November 1st",
//! "27/12/2026") and relative ("heute", "yesterday", "zum Monatsende", "ab nächstem Monat",
//! "ab Dezember", "last Friday", "this Saturday", "in two weeks"), resolved against the day the
//! message was received:
//! - a day and month without year is the nearest such day to the message date;
//! - "ab Dezember", "from January" is the 1st of the next such month (this month included),
//!   "Ende November", "end of October" its last day;
//! - "last Friday" is the latest Friday before the message date, "this/next Saturday" the
//!   first Saturday after it;
//! - slashed dates are day first (a German utility's customers write them that way in both
//!   languages) unless the first number cannot be a month's day.
//!
//! A day of the month alone ("zum 15.", "on the 20th") is a recurring day, not a date.

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};
use regex::Regex;
use std::sync::LazyLock;

use super::cues::{self, Found};
use super::{Candidate, Doc, Hint};

/// A date the text mentions, with its original span.
#[derive(Debug, Clone, PartialEq)]
pub struct Mention {
    pub start: usize,
    pub end: usize,
    pub date: NaiveDate,
    /// How precise the wording is: an explicit date beats "Ende November".
    pub precision: f64,
    /// "today"-like or "yesterday"-like wording, which cue lists name by those words.
    pub relative: Option<Relative>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relative {
    Today,
    Yesterday,
}

const MONTHS: &[(&str, u32)] = &[
    ("januar", 1),
    ("january", 1),
    ("jaenner", 1),
    ("jan", 1),
    ("februar", 2),
    ("february", 2),
    ("feb", 2),
    ("maerz", 3),
    ("march", 3),
    ("mrz", 3),
    ("mar", 3),
    ("april", 4),
    ("apr", 4),
    ("mai", 5),
    ("may", 5),
    ("juni", 6),
    ("june", 6),
    ("jun", 6),
    ("juli", 7),
    ("july", 7),
    ("jul", 7),
    ("august", 8),
    ("aug", 8),
    ("september", 9),
    ("sept", 9),
    ("sep", 9),
    ("oktober", 10),
    ("october", 10),
    ("okt", 10),
    ("oct", 10),
    ("november", 11),
    ("nov", 11),
    ("dezember", 12),
    ("december", 12),
    ("dez", 12),
    ("dec", 12),
];

/// A month from a folded word, tolerating shortened spellings ("oktbr", "sept.").
fn month_of(word: &str) -> Option<u32> {
    let w = word.trim_end_matches('.');
    if let Some(&(_, m)) = MONTHS.iter().find(|(name, _)| *name == w) {
        return Some(m);
    }
    if w.len() < 4 {
        return None;
    }
    MONTHS.iter().filter(|(name, _)| name.len() > 4).find_map(|&(name, m)| {
        (w.get(..3) == name.get(..3) && is_subsequence(w, name)).then_some(m)
    })
}

fn is_subsequence(short: &str, long: &str) -> bool {
    let mut it = long.chars();
    short.chars().all(|c| it.any(|l| l == c))
}

const WEEKDAYS: &[(&str, Weekday)] = &[
    ("montag", Weekday::Mon),
    ("monday", Weekday::Mon),
    ("dienstag", Weekday::Tue),
    ("tuesday", Weekday::Tue),
    ("mittwoch", Weekday::Wed),
    ("wednesday", Weekday::Wed),
    ("donnerstag", Weekday::Thu),
    ("thursday", Weekday::Thu),
    ("freitag", Weekday::Fri),
    ("friday", Weekday::Fri),
    ("samstag", Weekday::Sat),
    ("sonnabend", Weekday::Sat),
    ("saturday", Weekday::Sat),
    ("sonntag", Weekday::Sun),
    ("sunday", Weekday::Sun),
];

static ISO: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b(\d{4})-(\d{2})-(\d{2})\b").unwrap());
static DOTTED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(\d{1,2})\.\s?(\d{1,2})\.(?:\s?(\d{4}|\d{2})\b)?").unwrap());
static SLASHED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})\b").unwrap());
static DAY_DOT_MONTH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(\d{1,2})\.\s*([a-z]{3,10}\.?)(?:\s+(\d{4}))?").unwrap());
static DAY_MONTH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?([a-z]{3,10}\.?)(?:,?\s+(\d{4}))?",
    )
    .unwrap()
});
static MONTH_DAY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b([a-z]{3,10})\.?\s+(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?\b(?:,?\s+(\d{4})\b)?")
        .unwrap()
});
static MONTH_ONLY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(ab|from|starting(?: in| with| from)?|per|zum|anfang|beginning of|start of|ende|end of|mitte|mid|bis|until)\s+(?:dem\s+|den\s+)?([a-z]{3,10})\.?(?:\s+(\d{4}))?\b").unwrap()
});
static NEXT_MONTH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:(?:naechste[nmrs]?|kommende[nmrs]?|folgende[nmrs]?)\s+monat|(?:next|coming|following)\s+month|folgemonat)\b").unwrap()
});
static MONTH_END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:monatsende|monatsletzten|ende (?:des|dieses) monats|end of (?:the|this) month|month-end)\b")
        .unwrap()
});
static YEAR_END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:jahresende|ende (?:des|dieses) jahres|end of (?:the|this) year)\b").unwrap()
});
static IN_DAYS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\bin\s+(einer|einem|a|one|zwei|two|drei|three|vier|four|\d{1,2})\s+(wochen?|weeks?|tagen?|days?)\b").unwrap()
});
static WEEKDAY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(letzten|letzte|letzter|vergangenen|vergangene|last|past|diesen|dieser|diese|kommenden|kommende|naechsten|naechste|this|next|coming)\s+([a-z]+)\b").unwrap()
});
static TODAY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(heute|heutigen?|today|this morning|this evening|tonight|just now|right now|gerade eben|grad eben)\b").unwrap()
});
static YESTERDAY_ISH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(vorgestern|day before yesterday|uebermorgen|day after tomorrow|gestern|yesterday|last night|tomorrow|morgen)\b").unwrap()
});

static ORDINAL_OF_MONTH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\bthe\s+((?:twenty|thirty)?[- ]?(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|thirtieth))\s+of\s+([a-z]{3,10})").unwrap()
});

fn ordinal_word(w: &str) -> Option<u32> {
    const UNITS: &[&str] = &[
        "first",
        "second",
        "third",
        "fourth",
        "fifth",
        "sixth",
        "seventh",
        "eighth",
        "ninth",
        "tenth",
        "eleventh",
        "twelfth",
        "thirteenth",
        "fourteenth",
        "fifteenth",
        "sixteenth",
        "seventeenth",
        "eighteenth",
        "nineteenth",
    ];
    let w = w.trim_start_matches([' ', '-']);
    let (tens, rest) = if let Some(r) = w.strip_prefix("twenty") {
        (20, r.trim_start_matches([' ', '-']))
    } else if let Some(r) = w.strip_prefix("thirty") {
        (30, r.trim_start_matches([' ', '-']))
    } else {
        (0, w)
    };
    let unit = match rest {
        "" => 0,
        "twentieth" => return Some(20),
        "thirtieth" => return Some(30),
        r => UNITS.iter().position(|u| *u == r)? as u32 + 1,
    };
    let day = tens + unit;
    (1..=31).contains(&day).then_some(day)
}

/// "am Monatsende", "immer zum Monatsende": a recurring day, not one date.
fn recurring(before: &str) -> bool {
    let before = before.trim_end();
    ["am", "immer zum", "jeweils zum", "jeweils am", "immer am", "each", "every", "at the"]
        .iter()
        .any(|w| before.ends_with(w))
}

fn number_word(w: &str) -> Option<u64> {
    Some(match w {
        "einer" | "einem" | "a" | "one" => 1,
        "zwei" | "two" => 2,
        "drei" | "three" => 3,
        "vier" | "four" => 4,
        n => n.parse().ok()?,
    })
}

fn last_day(year: i32, month: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, 1)?.checked_add_months(Months::new(1))?.pred_opt()
}

/// The day and month in the year that puts it nearest to `today`.
fn nearest(today: NaiveDate, month: u32, day: u32) -> Option<NaiveDate> {
    (today.year() - 1..=today.year() + 1)
        .filter_map(|y| NaiveDate::from_ymd_opt(y, month, day))
        .min_by_key(|d| (*d - today).num_days().abs())
}

fn year(text: Option<&str>) -> Option<i32> {
    let y: i32 = text?.parse().ok()?;
    Some(if y < 100 { 2000 + y } else { y })
}

fn explicit(today: NaiveDate, y: Option<&str>, month: u32, day: u32) -> Option<(NaiveDate, f64)> {
    match year(y) {
        Some(y) => Some((NaiveDate::from_ymd_opt(y, month, day)?, 2.0)),
        None => Some((nearest(today, month, day)?, 1.8)),
    }
}

/// Every date mentioned in the (folded) newest part, longest wording first where they overlap.
pub fn mentions(doc: &Doc) -> Vec<Mention> {
    let f = &doc.folded.text;
    let today = doc.today;
    let mut out: Vec<(usize, usize, NaiveDate, f64, Option<Relative>)> = Vec::new();
    let mut push = |s: usize, e: usize, d: Option<(NaiveDate, f64)>, r: Option<Relative>| {
        if let Some((date, p)) = d {
            out.push((s, e, date, p, r));
        }
    };
    for c in ISO.captures_iter(f) {
        let d = NaiveDate::from_ymd_opt(c[1].parse().unwrap_or(0), num(&c[2]), num(&c[3]));
        push(c.get(0).unwrap().start(), c.get(0).unwrap().end(), d.map(|d| (d, 2.0)), None);
    }
    for c in DOTTED.captures_iter(f) {
        let m = c.get(0).unwrap();
        if f[m.end()..].starts_with(|ch: char| ch.is_ascii_digit()) {
            continue;
        }
        let d = explicit(today, c.get(3).map(|y| y.as_str()), num(&c[2]), num(&c[1]));
        push(m.start(), m.end(), d, None);
    }
    for c in SLASHED.captures_iter(f) {
        let (a, b) = (num(&c[1]), num(&c[2]));
        let (day, month) = if b > 12 && a <= 12 { (b, a) } else { (a, b) };
        let m = c.get(0).unwrap();
        push(m.start(), m.end(), explicit(today, Some(&c[3]), month, day), None);
    }
    for re in [&*DAY_DOT_MONTH, &*DAY_MONTH] {
        for c in re.captures_iter(f) {
            let Some(month) = month_of(&c[2]) else { continue };
            let m = c.get(0).unwrap();
            let d = explicit(today, c.get(3).map(|y| y.as_str()), month, num(&c[1]));
            push(m.start(), m.end(), d, None);
        }
    }
    for c in MONTH_DAY.captures_iter(f) {
        let Some(month) = month_of(&c[1]) else { continue };
        let m = c.get(0).unwrap();
        let d = explicit(today, c.get(3).map(|y| y.as_str()), month, num(&c[2]));
        push(m.start(), m.end(), d, None);
    }
    for c in MONTH_ONLY.captures_iter(f) {
        let Some(month) = month_of(&c[2]) else { continue };
        let m = c.get(0).unwrap();
        // The month word itself is the mention: the preposition stays a cue.
        let start = c.get(2).unwrap().start();
        push(start, m.end(), month_only(today, &c[1], month, c.get(3).map(|y| y.as_str())), None);
    }
    for m in NEXT_MONTH.find_iter(f) {
        let d = today.with_day(1).and_then(|d| d.checked_add_months(Months::new(1)));
        push(m.start(), m.end(), d.map(|d| (d, 1.4)), None);
    }
    for m in MONTH_END.find_iter(f) {
        if recurring(&f[..m.start()]) {
            continue;
        }
        push(m.start(), m.end(), last_day(today.year(), today.month()).map(|d| (d, 1.3)), None);
    }
    for c in ORDINAL_OF_MONTH.captures_iter(f) {
        let (Some(day), Some(month)) = (ordinal_word(&c[1]), month_of(&c[2])) else { continue };
        let m = c.get(0).unwrap();
        push(m.start(), m.end(), explicit(today, None, month, day), None);
    }
    for m in YEAR_END.find_iter(f) {
        if recurring(&f[..m.start()]) {
            continue;
        }
        push(
            m.start(),
            m.end(),
            NaiveDate::from_ymd_opt(today.year(), 12, 31).map(|d| (d, 1.3)),
            None,
        );
    }
    for c in IN_DAYS.captures_iter(f) {
        let Some(n) = number_word(&c[1]) else { continue };
        let days = if c[2].starts_with('w') { 7 * n } else { n };
        let m = c.get(0).unwrap();
        push(m.start(), m.end(), today.checked_add_days(Days::new(days)).map(|d| (d, 1.5)), None);
    }
    for c in WEEKDAY.captures_iter(f) {
        let Some(&(_, wd)) = WEEKDAYS.iter().find(|(n, _)| *n == &c[2]) else { continue };
        let m = c.get(0).unwrap();
        let past = matches!(
            &c[1],
            "letzten" | "letzte" | "letzter" | "vergangenen" | "vergangene" | "last" | "past"
        );
        push(m.start(), m.end(), weekday(today, wd, past).map(|d| (d, 1.6)), None);
    }
    for m in TODAY.find_iter(f) {
        push(m.start(), m.end(), Some((today, 1.7)), Some(Relative::Today));
    }
    for m in YESTERDAY_ISH.find_iter(f) {
        let word = m.as_str();
        let (shift, rel): (i64, _) = match word {
            "vorgestern" | "day before yesterday" => (-2, None),
            "uebermorgen" | "day after tomorrow" => (2, None),
            "gestern" | "yesterday" | "last night" => (-1, Some(Relative::Yesterday)),
            "tomorrow" => (1, None),
            _ if is_tomorrow(doc, m.start()) => (1, None),
            _ => continue,
        };
        let d = today.checked_add_signed(chrono::TimeDelta::days(shift));
        push(m.start(), m.end(), d.map(|d| (d, 1.7)), rel);
    }
    // Typos of "gestern"/"yesterday" ("gesten", "yesterdy").
    for (s, e, w) in doc.folded_words() {
        let close = |target: &str| w != target && w.len() + 1 >= target.len() && edit1(w, target);
        if close("gestern") || close("yesterday") {
            let d = today.pred_opt();
            push(s, e, d.map(|d| (d, 1.5)), Some(Relative::Yesterday));
        }
    }
    out.sort_by_key(|&(s, e, ..)| (s, std::cmp::Reverse(e)));
    let mut kept: Vec<Mention> = Vec::new();
    for (s, e, date, precision, relative) in out {
        let (start, end) = doc.folded.span(s, e);
        if kept.iter().any(|k| k.start <= start && end <= k.end) {
            continue;
        }
        kept.retain(|k| !(start <= k.start && k.end <= end));
        kept.push(Mention { start, end, date, precision, relative });
    }
    kept
}

fn num(s: &str) -> u32 {
    s.parse().unwrap_or(0)
}

fn edit1(a: &str, b: &str) -> bool {
    cues::edit_distance(a, b) <= 1
}

/// Lower-case "morgen" is tomorrow; "Guten Morgen", "heute Morgen" are not.
fn is_tomorrow(doc: &Doc, folded_at: usize) -> bool {
    let original = doc.folded.origin(folded_at);
    if doc.text[original..].starts_with('M') {
        return false;
    }
    let before = doc.folded.text[..folded_at].trim_end();
    !["guten", "heute", "gestern", "am", "jeden"].iter().any(|w| before.ends_with(w))
}

fn month_only(
    today: NaiveDate,
    prep: &str,
    month: u32,
    y: Option<&str>,
) -> Option<(NaiveDate, f64)> {
    let start_of_this = today.with_day(1)?;
    let first = match year(y) {
        Some(y) => NaiveDate::from_ymd_opt(y, month, 1)?,
        // "Ende Oktober" may be past; "ab Dezember" is the next such month.
        None if matches!(prep, "ende" | "end of" | "mitte" | "mid") => nearest(today, month, 1)?,
        None => {
            let this_year = NaiveDate::from_ymd_opt(today.year(), month, 1)?;
            if this_year >= start_of_this {
                this_year
            } else {
                this_year.checked_add_months(Months::new(12))?
            }
        }
    };
    Some(match prep {
        "ende" | "end of" | "bis" | "until" => (last_day(first.year(), first.month())?, 1.3),
        "mitte" | "mid" => (first.with_day(15)?, 1.2),
        _ => (first, 1.4),
    })
}

fn weekday(today: NaiveDate, wd: Weekday, past: bool) -> Option<NaiveDate> {
    let mut d = today;
    for _ in 0..7 {
        d = if past { d.pred_opt()? } else { d.succ_opt()? };
        if d.weekday() == wd {
            return Some(d);
        }
    }
    None
}

/// Words that describe the state before the change: a date in such a sentence is likely the
/// old one ("Derzeit bin ich bei X, der Vertrag läuft zum 31.12. aus").
const OLD_STATE: &[&str] = &["derzeit", "bisher", "currently", "at the moment", "momentan"];

/// Events whose date is not a parameter: deaths, weddings, a contract's conclusion.
const EVENTS: &[&str] = &[
    "verstorben",
    "gestorben",
    "passed away",
    "died",
    "geheiratet",
    "Eheschließung",
    "married",
    "abgeschlossen",
    "geschlossen",
    "geschlossenen",
    "concluded",
    "signed",
    "geboren",
    "born",
];

pub fn extract(hint: &Hint, doc: &Doc, anchor: Option<(usize, usize)>) -> Option<Candidate> {
    let all = mentions(doc);
    let visible: Vec<&Mention> = all
        .iter()
        .filter(|m| !doc.layout.in_letterhead(m.start) && !doc.layout.in_signature(m.start))
        .collect();
    let mut exclude = vec![
        "schreiben vom",
        "rechnung vom",
        "abrechnung vom",
        "brief vom",
        "letter of",
        "letter dated",
        "dated",
        "seit",
        "since",
    ];
    exclude.extend(EVENTS);
    let mut found = cues::find(doc, hint, &[], &exclude, &[]);
    let names = |words: &[&str]| {
        hint.context.iter().any(|c| words.contains(&crate::text::fold(c).as_str()))
    };
    for m in &visible {
        let named = match m.relative {
            Some(Relative::Today) => names(&["heute", "today"]),
            Some(Relative::Yesterday) => names(&["gestern", "yesterday"]),
            None => false,
        };
        if named {
            found.push(Found {
                start: m.start,
                end: m.end,
                exclude: false,
                weight: 1.0,
                topical: false,
                before_only: false,
            });
        }
    }
    let old_state: Vec<(usize, usize)> =
        OLD_STATE.iter().flat_map(|w| cues::occurrences(doc, w)).collect();
    let candidates = visible
        .iter()
        .map(|m| {
            let sentence = doc.sentence_of(m.start);
            let stale =
                old_state.iter().any(|&(s, _)| s < m.start && doc.sentence_of(s) == sentence);
            let near_anchor = match anchor {
                None => 0.0,
                Some((s, _)) => match doc.sentence_of(s).abs_diff(sentence) {
                    0 => 1.5,
                    1 => 0.5,
                    _ => -1.0,
                },
            };
            Candidate {
                value: m.date.format("%Y-%m-%d").to_string().into(),
                start: m.start,
                end: m.end,
                score: m.precision + near_anchor - if stale { 1.0 } else { 0.0 },
            }
        })
        .collect();
    cues::choose(doc, &found, candidates, true, false)
}

#[cfg(test)]
fn resolve_mentions(doc: &Doc) -> Vec<String> {
    mentions(doc).iter().map(|m| m.date.format("%Y-%m-%d").to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extraction::Extractor;
    use crate::extraction::testing::{doc, hint};

    fn dates(body: &str, received: &str) -> Vec<String> {
        resolve_mentions(&doc(body, received, "de"))
    }

    const OCT_27: &str = "2026-10-27T16:20:00+01:00";

    #[test]
    fn absolute_dates_in_german_and_english() {
        assert_eq!(dates("am 12.10.2026 und 1.12.26", OCT_27), ["2026-10-12", "2026-12-01"]);
        assert_eq!(dates("ab dem 1. November", OCT_27), ["2026-11-01"]);
        assert_eq!(dates("on 11 October 2026", OCT_27), ["2026-10-11"]);
        assert_eq!(dates("from November 1st", OCT_27), ["2026-11-01"]);
        assert_eq!(dates("on the 20th of November", OCT_27), ["2026-11-20"]);
        assert_eq!(dates("Date: 27/12/2026, 2026-01-05", OCT_27), ["2026-12-27", "2026-01-05"]);
        assert_eq!(dates("Sent: November 9, 2026", OCT_27), ["2026-11-09"]);
    }

    #[test]
    fn days_without_year_are_the_nearest_such_day() {
        assert_eq!(dates("ab 1. Januar", OCT_27), ["2027-01-01"]);
        assert_eq!(dates("am 30.09. abgelesen", OCT_27), ["2026-09-30"]);
    }

    #[test]
    fn relative_dates_resolve_against_the_message_date() {
        assert_eq!(dates("heute", OCT_27), ["2026-10-27"]);
        assert_eq!(dates("gestern Abend, gesten", OCT_27), ["2026-10-26", "2026-10-26"]);
        assert_eq!(dates("zum Monatsende", OCT_27), ["2026-10-31"]);
        assert_eq!(dates("ab nächstem Monat", OCT_27), ["2026-11-01"]);
        assert_eq!(dates("ab Dezember, ab oktbr", OCT_27), ["2026-12-01", "2026-10-01"]);
        assert_eq!(dates("ab Januar", OCT_27), ["2027-01-01"]);
        assert_eq!(dates("Ende November", OCT_27), ["2026-11-30"]);
        // 2026-10-27 is a Tuesday.
        assert_eq!(dates("last Friday", OCT_27), ["2026-10-23"]);
        assert_eq!(dates("next Thursday", OCT_27), ["2026-10-29"]);
        assert_eq!(dates("this saturday", OCT_27), ["2026-10-31"]);
        assert_eq!(dates("tomorrow, morgen", OCT_27), ["2026-10-28", "2026-10-28"]);
        assert_eq!(dates("in two weeks", OCT_27), ["2026-11-10"]);
        assert_eq!(dates("from the first of January", OCT_27), ["2027-01-01"]);
        assert_eq!(dates("end of October", "2026-11-30T10:00:00+01:00"), ["2026-10-31"]);
    }

    #[test]
    fn recurring_days_and_greetings_are_not_dates() {
        assert!(dates("bitte zum 15. statt zum 1. abbuchen", OCT_27).is_empty());
        assert!(dates("Guten Morgen, on the 20th please", OCT_27).is_empty());
        assert!(dates("23.418,7 kWh und 284.551 kWh", OCT_27).is_empty());
        assert!(dates("I may call", OCT_27).is_empty());
        assert!(dates("Rente kommt am Monatsende, immer zum Monatsende", OCT_27).is_empty());
    }

    #[test]
    fn picks_the_date_near_the_cue_words() {
        let h = hint(Extractor::Date, &["Umzug", "ziehe"], &[]);
        let d = doc("Ich kündige zum 31.12.2026. Ich ziehe am 15.11.2026 um.", OCT_27, "de");
        assert_eq!(extract(&h, &d, None).map(|c| c.value), Some("2026-11-15".into()));
        let h = hint(Extractor::Date, &["kündige zum"], &[]);
        assert_eq!(extract(&h, &d, None).map(|c| c.value), Some("2026-12-31".into()));
    }

    #[test]
    fn letter_dates_do_not_count() {
        let h = hint(Extractor::Date, &["am"], &[]);
        let d = doc(
            "Hans Meier\nLindenallee 14\n34117 Kassel\n\nKassel, den 25. September 2026\n\nSehr geehrte Damen und Herren,\n\nmein Zählerstand: 123 kWh.",
            OCT_27,
            "de",
        );
        assert_eq!(extract(&h, &d, None), None);
    }
}
