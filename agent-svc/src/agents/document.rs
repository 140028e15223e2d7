//! What makes an AiAgent document storable: the fields the service manages are stripped, the
//! ones it relies on are checked, `["all"]` channels are expanded, and the settings must meet
//! referential integrity. Everything else is kept exactly as the client wrote it.

use chrono::{DateTime, Utc};
use enneo_common::service_error::Error;
use enneo_common::vocabulary::{CHANNELS, one_of};
use serde_json::{Map, Value, json};

use crate::engine::definition::{ACTION_KEY, AgentSettings};

/// Keys the service owns: never stored in the definition, always taken from columns.
const MANAGED: &[&str] = &["id", "version", "createdAt", "modifiedAt", "deletedAt", "success"];

pub const INTELLIGENCES: &[&str] = &["rulebased", "smart", "neo", "neo-capability"];

/// A definition that failed referential integrity: answered as 422 with every violation.
#[derive(Debug)]
pub struct Violations(pub Vec<String>);

#[derive(Debug)]
pub enum Invalid {
    Input(Error),
    Integrity(Violations),
}

impl From<Error> for Invalid {
    fn from(e: Error) -> Self {
        Self::Input(e)
    }
}

/// `doc` as it will be stored: an object with a name, known channels and intelligence, and
/// settings whose references resolve.
pub fn prepare(doc: Value) -> Result<Value, Invalid> {
    let Value::Object(mut doc) = doc else {
        return Err(Error::InvalidArgument("an AI agent must be a JSON object".into()).into());
    };
    for key in MANAGED {
        doc.remove(*key);
    }
    match doc.get("name") {
        Some(Value::String(name)) if !name.trim().is_empty() => {}
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return Err(Error::InvalidArgument("name is required".into()).into());
        }
        Some(_) => return Err(Error::InvalidArgument("name must be a string".into()).into()),
    }
    let channels = channels(doc.get("channels"))?;
    doc.insert("channels".into(), json!(channels));
    let intelligence = match doc.get("intelligence") {
        None | Some(Value::Null) => "rulebased",
        Some(Value::String(i)) => one_of("intelligence", i, INTELLIGENCES)?,
        Some(_) => {
            return Err(Error::InvalidArgument("intelligence must be a string".into()).into());
        }
    };
    doc.insert("intelligence".into(), json!(intelligence));
    match doc.get("tagId") {
        None | Some(Value::Null) => {}
        Some(v) if v.as_i64().is_some_and(|id| id > 0) => {}
        Some(_) => {
            return Err(Error::InvalidArgument("tagId must be a positive integer".into()).into());
        }
    }
    if let Some(slug) = doc.get("slug")
        && !slug.is_null()
    {
        let ok = slug.as_str().is_some_and(valid_slug);
        if !ok {
            return Err(Error::InvalidArgument(
                "slug must be lower-case letters, digits, '_', '.' or '-', starting with a letter or digit"
                    .into(),
            )
            .into());
        }
    }
    let settings = doc.entry("settings").or_insert_with(|| json!({}));
    if !settings.is_object() {
        return Err(Error::InvalidArgument("settings must be an object".into()).into());
    }
    ensure_action_parameter(settings);
    let typed = settings_of(&Value::Object(doc.clone())).map_err(Invalid::Integrity)?;
    let violations = typed.violations();
    if !violations.is_empty() {
        return Err(Invalid::Integrity(Violations(violations)));
    }
    Ok(Value::Object(doc))
}

/// The engine's view of a stored definition's `settings`.
pub fn settings_of(doc: &Value) -> Result<AgentSettings, Violations> {
    let settings = doc.get("settings").cloned().unwrap_or_else(|| json!({}));
    serde_json::from_value(settings).map_err(|e| Violations(vec![format!("settings: {e}")]))
}

/// Every agent runs in two phases keyed by the hidden manual `_action` parameter; a definition
/// without one gets it, so that a minimal agent (just a name) is valid.
fn ensure_action_parameter(settings: &mut Value) {
    let Some(settings) = settings.as_object_mut() else { return };
    let parameters = settings.entry("parameters").or_insert_with(|| json!([]));
    let Some(list) = parameters.as_array_mut() else { return };
    let has = list.iter().any(|p| p.get("key").and_then(Value::as_str) == Some(ACTION_KEY));
    if !has {
        let id =
            list.iter().filter_map(|p| p.get("id").and_then(Value::as_i64)).max().unwrap_or(0) + 1;
        list.insert(
            0,
            json!({"id": id, "key": ACTION_KEY, "name": ACTION_KEY, "type": "str",
                   "value": null, "source": "manual", "visibility": "hidden"}),
        );
    }
}

fn channels(value: Option<&Value>) -> Result<Vec<&'static str>, Error> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(CHANNELS.to_vec());
    };
    let Some(items) = value.as_array() else {
        return Err(Error::InvalidArgument("channels must be an array of channel names".into()));
    };
    let mut out = Vec::new();
    for item in items {
        let Some(name) = item.as_str() else {
            return Err(Error::InvalidArgument(
                "channels must be an array of channel names".into(),
            ));
        };
        if name == "all" {
            return Ok(CHANNELS.to_vec());
        }
        let name = one_of("channels", name, CHANNELS)?;
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(out)
}

pub fn valid_slug(slug: &str) -> bool {
    let mut chars = slug.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c))
        && slug.len() <= 100
}

/// A slug made from a name: "Zählerstand-Agent 2" → "zaehlerstand_agent_2".
pub fn slugify(name: &str) -> String {
    let folded = crate::text::fold(name);
    let mut slug = String::new();
    for c in folded.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('_') && !slug.is_empty() {
            slug.push('_');
        }
    }
    let slug = slug.trim_end_matches('_').chars().take(80).collect::<String>();
    if slug.is_empty() { "agent".into() } else { slug }
}

/// The document a client reads: the definition with the managed fields from their columns.
pub fn render(
    id: i64,
    slug: &str,
    definition: &Value,
    version: i64,
    created_at: DateTime<Utc>,
    modified_at: DateTime<Utc>,
) -> Value {
    let mut doc = Map::new();
    doc.insert("id".into(), json!(id));
    doc.insert("slug".into(), json!(slug));
    if let Value::Object(fields) = definition {
        for (k, v) in fields {
            if k != "slug" {
                doc.insert(k.clone(), v.clone());
            }
        }
    }
    doc.entry("tagId").or_insert(Value::Null);
    doc.insert("version".into(), json!(version));
    doc.insert("createdAt".into(), json!(crate::time::wall(created_at)));
    doc.insert("modifiedAt".into(), json!(crate::time::wall(modified_at)));
    Value::Object(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input_error(r: Result<Value, Invalid>) -> String {
        match r {
            Err(Invalid::Input(e)) => e.to_string(),
            other => panic!("expected an input error, got {other:?}"),
        }
    }

    #[test]
    fn a_name_alone_makes_a_valid_agent_with_every_channel_and_an_action_parameter() {
        let doc = prepare(json!({"name": "Test", "id": 99, "createdAt": "x"})).unwrap();
        assert_eq!(doc["channels"].as_array().unwrap().len(), CHANNELS.len());
        assert_eq!(doc["intelligence"], "rulebased");
        assert_eq!(doc["settings"]["parameters"][0]["key"], "_action");
        assert!(doc.get("id").is_none() && doc.get("createdAt").is_none());
    }

    #[test]
    fn all_expands_and_unknown_channels_names_and_types_are_refused() {
        let doc = prepare(json!({"name": "T", "channels": ["chat", "all"]})).unwrap();
        assert_eq!(doc["channels"], json!(CHANNELS));
        let doc = prepare(json!({"name": "T", "channels": ["chat", "chat", "email"]})).unwrap();
        assert_eq!(doc["channels"], json!(["chat", "email"]));
        assert!(input_error(prepare(json!({"name": "T", "channels": ["fax"]}))).contains("fax"));
        assert_eq!(input_error(prepare(json!({"channels": []}))), "name is required");
        assert_eq!(input_error(prepare(json!({"name": "  "}))), "name is required");
        assert!(input_error(prepare(json!([1]))).contains("object"));
        assert!(
            input_error(prepare(json!({"name": "T", "intelligence": "x"}))).contains("rulebased")
        );
        assert!(input_error(prepare(json!({"name": "T", "slug": "Bad Slug"}))).contains("slug"));
        assert!(input_error(prepare(json!({"name": "T", "tagId": "7"}))).contains("tagId"));
    }

    #[test]
    fn dangling_references_are_integrity_violations() {
        let doc = json!({"name": "T", "settings": {"parameters": [
            {"id": 1, "key": "_action", "source": "manual"}],
            "responseCases": [{"id": 5, "condition": {"operator": "And", "operands": [
                {"id": 9, "operand": 42, "operator": "IsNull", "value": ""}]},
              "output": {"type": "closeTicket", "parameters": [43]}}]}});
        match prepare(doc) {
            Err(Invalid::Integrity(Violations(v))) => {
                assert_eq!(v.len(), 2, "{v:?}");
                assert!(v[0].contains("42") && v[1].contains("43"));
            }
            other => panic!("{other:?}"),
        }
        match prepare(json!({"name": "T", "settings": {"parameters": "no"}})) {
            Err(Invalid::Integrity(Violations(v))) => assert!(v[0].starts_with("settings")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn slugs_from_names_are_valid_slugs() {
        assert_eq!(slugify("Zählerstand-Agent 2"), "zaehlerstand_agent_2");
        assert_eq!(slugify("  !!"), "agent");
        for name in ["Ä Ö Ü ß", "a--b", "ÉLAN vital", "x".repeat(200).as_str()] {
            assert!(valid_slug(&slugify(name)), "{name}");
        }
    }
}
