//! Reply templates: Handlebars over the ticket variables namespaces (`in`, `customer`,
//! `contract`, …) with the agent's parameters at top level (contract §2.4, §10), plus the
//! helpers the default agents use: `formatDateDE`, `formatDateEN` (a `YYYY-MM-DD` value or
//! `"today"`) and `last4digits` (an IBAN shown as `…1234`).
//!
//! Rendering is lenient the way Handlebars is: a missing variable renders empty. A template
//! that does not parse is an error the caller reports as an info, never a panic.

use chrono::NaiveDate;
use handlebars::{
    Context, Handlebars, Helper, HelperResult, Output, RenderContext, RenderError,
    RenderErrorReason,
};
use serde_json::Value;

pub struct Templates {
    registry: Handlebars<'static>,
    today: NaiveDate,
}

impl Templates {
    pub fn new(today: NaiveDate) -> Self {
        let mut registry = Handlebars::new();
        // Customer replies are plain text: nothing is HTML-escaped.
        registry.register_escape_fn(handlebars::no_escape);
        registry.register_helper("formatDateDE", Box::new(format_date("%d.%m.%Y")));
        registry.register_helper("formatDateEN", Box::new(format_date("%-d %B %Y")));
        registry.register_helper("last4digits", Box::new(last4digits));
        Self { registry, today }
    }

    /// `template` rendered over `data`; `today` resolves the `"today"` date argument.
    pub fn render(&self, template: &str, data: &Value) -> Result<String, String> {
        let mut data = data.clone();
        if let Value::Object(map) = &mut data {
            map.insert("today".into(), Value::String(self.today.format("%Y-%m-%d").to_string()));
        }
        self.registry.render_template(template, &data).map_err(|e| e.to_string())
    }
}

/// The literal marker in the tenant's reply wrapper (`aiReplyTemplate`) where a reply goes; it
/// is not Handlebars.
pub const MESSAGE_MARKER: &str = "%MESSAGE%";

/// The text a customer receives: `reply` placed into the admin-authored `wrapper` (greeting and
/// signature, HTML) at every [`MESSAGE_MARKER`]. No wrapper, or one without the marker (it
/// would swallow the reply), sends the reply alone.
pub fn wrap(wrapper: Option<&str>, reply: &str) -> String {
    match wrapper {
        Some(w) if w.contains(MESSAGE_MARKER) => w.replace(MESSAGE_MARKER, reply),
        _ => reply.to_owned(),
    }
}

fn date_arg(h: &Helper<'_>, ctx: &Context) -> Option<NaiveDate> {
    let value = h.param(0)?.value();
    let text = value.as_str()?;
    let text = if text == "today" {
        ctx.data().get("today").and_then(Value::as_str).unwrap_or(text)
    } else {
        text
    };
    NaiveDate::parse_from_str(text.get(..10).unwrap_or(text), "%Y-%m-%d").ok()
}

/// A helper writing a date argument in `format` (anything that is not a date as it is).
fn format_date(
    format: &'static str,
) -> impl Fn(
    &Helper<'_>,
    &Handlebars<'_>,
    &Context,
    &mut RenderContext<'_, '_>,
    &mut dyn Output,
) -> HelperResult
+ Send
+ Sync {
    move |h, _, ctx, _, out| {
        if let Some(date) = date_arg(h, ctx) {
            out.write(&date.format(format).to_string())?;
        } else if let Some(raw) = h.param(0).and_then(|p| p.value().as_str()) {
            out.write(raw)?;
        }
        Ok(())
    }
}

fn last4digits(
    h: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    let param = h.param(0).ok_or_else(|| {
        RenderError::from(RenderErrorReason::ParamNotFoundForIndex("last4digits", 0))
    })?;
    let compact: String = match param.value() {
        Value::String(s) => s.chars().filter(|c| !c.is_whitespace()).collect(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    if !compact.is_empty() {
        let tail: String =
            compact.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
        out.write(&format!("…{tail}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn t() -> Templates {
        Templates::new(NaiveDate::from_ymd_opt(2026, 12, 7).unwrap())
    }

    #[test]
    fn parameters_namespaces_conditionals_and_helpers_render() {
        let data = json!({"meterReading": 12345.5, "newIban": "DE89 3704 0044 0532 0130 00",
            "effectiveDate": "2026-11-01", "contract": {"productName": "Ökostrom <Plus>"},
            "newAddress": {"street": "Hauptstraße", "houseNumber": "5"}});
        let text = "Stand {{meterReading}}{{#if meterNumber}} am Zähler {{meterNumber}}{{/if}}; \
            IBAN {{last4digits newIban}} ab {{formatDateDE effectiveDate}} / \
            {{formatDateEN effectiveDate}}, heute {{formatDateDE \"today\"}}; \
            {{contract.productName}}, {{newAddress.street}} {{newAddress.houseNumber}}.";
        assert_eq!(
            t().render(text, &data).unwrap(),
            "Stand 12345.5; IBAN …3000 ab 01.11.2026 / 1 November 2026, heute 07.12.2026; \
             Ökostrom <Plus>, Hauptstraße 5."
        );
    }

    #[test]
    fn a_reply_goes_into_the_wrapper_at_its_marker_and_alone_without_one() {
        let wrapper = "<p>Dear John,</p><p>%MESSAGE%</p><i>Mike from your service team</i>";
        assert_eq!(
            wrap(Some(wrapper), "Reading 21 kWh & more <ok>"),
            "<p>Dear John,</p><p>Reading 21 kWh & more <ok></p><i>Mike from your service team</i>"
        );
        assert_eq!(wrap(Some("%MESSAGE%"), "Hi"), "Hi");
        assert_eq!(wrap(Some("<p>Regards</p>"), "Hi"), "Hi", "a wrapper without the marker");
        assert_eq!(wrap(None, "Hi"), "Hi");
        // The marker inside the reply is the customer's text, not a second placement.
        assert_eq!(wrap(Some("[%MESSAGE%]"), "50%MESSAGE%"), "[50%MESSAGE%]");
    }

    #[test]
    fn missing_values_render_empty_and_broken_templates_are_errors() {
        assert_eq!(
            t().render("a{{nothing}}b{{#if x}}c{{else}}d{{/if}}", &json!({})).unwrap(),
            "abd"
        );
        assert!(t().render("{{#if x}}unclosed", &json!({})).is_err());
        assert_eq!(t().render("{{formatDateDE x}}", &json!({"x": "soon"})).unwrap(), "soon");
    }
}
