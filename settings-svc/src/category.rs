//! One category for display (`GET /settings/category/{category}`): a plain category's
//! settings, or one object's properties named like the `_<kind>[<id>].<prop>` keys of
//! `UpdateSettings` that write them.

use enneo_common::auth::Caller;
use enneo_proto::settings::v1 as pb;
use serde_json::{Value, json};

use crate::service::Settings;
use enneo_common::service_error::{Error, Result};

/// The tag properties `_tag[{id}].{prop}` writes, in display order.
const TAG_PROPERTIES: &[&str] = &[
    "name",
    "fullName",
    "parent",
    "type",
    "visibility",
    "color",
    "priority",
    "sla",
    "complexity",
    "channels",
    "subchannels",
    "properties",
    "routingRelevance",
    "detectionDetails",
    "testCase",
];

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// `mailbox_3` → the subchannel channel of that category prefix.
fn subchannel_channel(kind: &str) -> Option<&'static str> {
    match kind {
        "mailbox" => Some("email"),
        "chatbot" => Some("chat"),
        "phonebot" => Some("phone"),
        "letter" => Some("letter"),
        _ => None,
    }
}

fn properties(
    kind: &str,
    id: i64,
    props: Vec<(&str, Value)>,
) -> pb::get_category_response::Content {
    let properties = props
        .into_iter()
        .map(|(prop, value)| pb::Property {
            name: format!("_{kind}[{id}].{prop}"),
            value_json: value.to_string(),
        })
        .collect();
    pb::get_category_response::Content::Properties(pb::ObjectProperties { properties })
}

fn tag_property(tag: &pb::Tag, prop: &str) -> Value {
    let parsed = |text: &str| serde_json::from_str(text).unwrap_or_else(|_| json!({}));
    match prop {
        "name" => json!(tag.name),
        "fullName" => json!(tag.full_name),
        "parent" => json!(tag.parent),
        "type" => json!(tag.r#type),
        "visibility" => json!(tag.visibility),
        "color" => json!(tag.color),
        "priority" => json!(tag.priority),
        "sla" => json!(tag.sla),
        "complexity" => json!(tag.complexity),
        "channels" => json!(tag.channels),
        "subchannels" => json!(tag.subchannels),
        "properties" => json!(tag.properties),
        "routingRelevance" => json!(tag.routing_relevance),
        "detectionDetails" => parsed(&tag.detection_details_json),
        "testCase" => parsed(&tag.test_case_json),
        _ => Value::Null,
    }
}

impl Settings {
    /// Reads through the same calls as the listing RPCs, so the same permissions and masking
    /// apply.
    pub(crate) async fn category(
        &self,
        caller: &Caller,
        req: pb::GetCategoryRequest,
    ) -> Result<pb::GetCategoryResponse> {
        let category = req.category.as_str();
        let not_found = || Error::NotFound(format!("category {category} not found"));
        let object =
            category.rsplit_once('_').and_then(|(kind, id)| Some((kind, id.parse::<i64>().ok()?)));
        let content = match object {
            Some((kind, id)) if subchannel_channel(kind).is_some() => {
                let listed = self
                    .subchannels(
                        caller,
                        pb::ListSubchannelsRequest {
                            channels: subchannel_channel(kind)
                                .into_iter()
                                .map(Into::into)
                                .collect(),
                            id: Some(id),
                            show_secrets: req.show_secrets,
                        },
                    )
                    .await?;
                let s = listed.into_iter().next().ok_or_else(not_found)?;
                let mut props = vec![("name", json!(s.name)), ("status", json!(s.status))];
                let config = json_of(&s.config_json);
                if let Value::Object(config) = &config {
                    props.extend(config.iter().map(|(k, v)| (k.as_str(), v.clone())));
                }
                properties("subchannel", id, props)
            }
            Some(("tag", id)) => {
                let req = pb::ListTagsRequest { id: Some(id), ..Default::default() };
                let tags = self.tags(caller, req).await?;
                let tag = tags.first().ok_or_else(not_found)?;
                let props = TAG_PROPERTIES.iter().map(|p| (*p, tag_property(tag, p))).collect();
                properties("tag", id, props)
            }
            Some(("user-defined-function", id)) => {
                let udfs = self.udfs(caller, None).await?;
                let u = udfs.into_iter().find(|u| u.id == id).ok_or_else(not_found)?;
                let executor = u.executor_json.as_deref().map(json_of).unwrap_or(Value::Null);
                properties(
                    "user-defined-function",
                    id,
                    vec![
                        ("name", json!(u.name)),
                        ("slug", json!(u.slug)),
                        ("description", json!(u.description)),
                        ("parameters", json_of(&u.parameters_json)),
                        ("udfExecutor", executor),
                        ("isPrivate", json!(u.is_private)),
                        ("async", json!(u.r#async)),
                    ],
                )
            }
            Some(("event-hook", id)) => {
                let req =
                    pb::ListEventHooksRequest { id: Some(id), show_secrets: req.show_secrets };
                let hooks = self.event_hooks(caller, req).await?;
                let h = hooks.into_iter().next().ok_or_else(not_found)?;
                let executor = h.executor_json.as_deref().map(json_of).unwrap_or(Value::Null);
                properties(
                    "event-hook",
                    id,
                    vec![
                        ("name", json!(h.name)),
                        ("events", json!(h.events)),
                        ("description", json!(h.description)),
                        ("eventHookExecutor", executor),
                        ("enabled", json!(h.enabled)),
                        ("disabledReason", json!(h.disabled_reason)),
                    ],
                )
            }
            _ => {
                let list = pb::ListSettingsRequest {
                    category: Some(category.to_owned()),
                    show_secrets: req.show_secrets,
                    ..Default::default()
                };
                let settings = self.list(caller, list).await?;
                if settings.is_empty() {
                    return Err(not_found());
                }
                pb::get_category_response::Content::Settings(pb::ListSettingsResponse { settings })
            }
        };
        Ok(pb::GetCategoryResponse { content: Some(content) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_writable_tag_property_is_read() {
        let tag = pb::Tag {
            name: "VIP".into(),
            detection_details_json: "not json".into(),
            test_case_json: r#"{"a":1}"#.into(),
            ..Default::default()
        };
        for prop in TAG_PROPERTIES {
            let value = tag_property(&tag, prop);
            let absent = matches!(*prop, "parent" | "sla" | "complexity");
            assert_eq!(value.is_null(), absent, "{prop}: {value}");
        }
        assert_eq!(tag_property(&tag, "detectionDetails"), json!({}));
        assert_eq!(tag_property(&tag, "testCase"), json!({"a": 1}));
    }
}
