//! The default agents shipped with the service (`defaults/*.json`, compiled in): the vendor
//! catalogue's twelve domain agents, the sample library, and the background sentences that
//! teach detection what asks for nothing.

use serde_json::Value;

/// Slug and file of every default agent, in catalogue order.
const AGENTS: &[(&str, &str)] = &[
    ("meter_reading", include_str!("../../defaults/meter_reading.json")),
    ("bank_data_agent", include_str!("../../defaults/bank_data_agent.json")),
    ("deposit_agent", include_str!("../../defaults/deposit_agent.json")),
    ("due_date_agent", include_str!("../../defaults/due_date_agent.json")),
    ("credit_balance_agent", include_str!("../../defaults/credit_balance_agent.json")),
    ("cancel_contract", include_str!("../../defaults/cancel_contract.json")),
    ("sepa_revocation", include_str!("../../defaults/sepa_revocation.json")),
    ("master_data_agent", include_str!("../../defaults/master_data_agent.json")),
    ("tariff_consulting", include_str!("../../defaults/tariff_consulting.json")),
    ("switch_agent", include_str!("../../defaults/switch_agent.json")),
    ("marketing_consent", include_str!("../../defaults/marketing_consent.json")),
    ("revocation_agent", include_str!("../../defaults/revocation_agent.json")),
];

const CATALOGUE: &str = include_str!("../../defaults/catalogue.json");
const BACKGROUND: &str = include_str!("../../defaults/background.json");

fn parse(what: &str, text: &str) -> Value {
    // The files are part of the build and checked by tests; a broken one is a build defect.
    serde_json::from_str(text).unwrap_or_else(|e| panic!("defaults/{what}: {e}"))
}

/// Every default agent's definition, in catalogue order.
pub fn agents() -> Vec<(&'static str, Value)> {
    AGENTS.iter().map(|(slug, text)| (*slug, parse(slug, text))).collect()
}

/// One default agent's definition.
pub fn agent(slug: &str) -> Option<Value> {
    AGENTS.iter().find(|(s, _)| *s == slug).map(|(s, text)| parse(s, text))
}

/// `{name, slug, description, intelligence}` of each default agent.
pub fn available() -> Vec<Value> {
    match parse("catalogue.json", CATALOGUE).get("availableDefaults") {
        Some(Value::Array(items)) => items.clone(),
        _ => Vec::new(),
    }
}

/// The sample library (`GET /aiAgents/samples`).
pub fn samples() -> Vec<Value> {
    match parse("catalogue.json", CATALOGUE).get("samples") {
        Some(Value::Array(items)) => items.clone(),
        _ => Vec::new(),
    }
}

/// Sentences that ask for nothing, in German and English.
pub fn background() -> Vec<String> {
    crate::detection::background(&parse("background.json", BACKGROUND))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_parses_names_its_own_slug_and_is_listed_as_available() {
        let available: Vec<String> = available()
            .iter()
            .filter_map(|a| a.get("slug").and_then(Value::as_str).map(str::to_owned))
            .collect();
        for (slug, agent) in agents() {
            assert_eq!(agent["slug"], slug);
            assert!(available.iter().any(|a| a == slug), "{slug} is not in availableDefaults");
        }
        assert_eq!(agents().len(), 12);
        assert!(background().len() > 100);
        assert!(samples().iter().all(|s| s.get("id").is_some() && s.get("definition").is_some()));
    }
}
