//! `apiCall` executors: a request rendered from Handlebars templates over the executor input,
//! sent only to an allowed host, with a timeout. The JSON answer becomes the result.

use serde_json::{Value, json};

use super::{ApiRequest, Definition, Failure, Output};
use crate::templates::Templates;

/// A rendered request, ready to send or to show (`curlRequests` of a preview).
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub method: reqwest::Method,
    pub url: reqwest::Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

/// Renders the definition's request over `input`.
pub fn prepare(
    def: &Definition,
    input: &Value,
    templates: &Templates,
) -> Result<Prepared, Failure> {
    let Some(request) = &def.request else {
        return Err(Failure::Refused("the apiCall executor has no request".into()));
    };
    let ApiRequest { method, url, headers, body } = request;
    let render = |t: &str| {
        templates.render(t, input).map_err(|e| Failure::Refused(format!("template: {e}")))
    };
    let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .map_err(|_| Failure::Refused(format!("{method:?} is not an HTTP method")))?;
    let url = render(url)?;
    let url = reqwest::Url::parse(url.trim())
        .map_err(|e| Failure::Refused(format!("URL {url:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Failure::Refused(format!("scheme {} is not allowed", url.scheme())));
    }
    let mut rendered = Vec::new();
    for (name, value) in headers {
        let value = value.as_str().map(render).transpose()?.unwrap_or_else(|| value.to_string());
        rendered.push((name.clone(), value));
    }
    let body = match body {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) => Some(render(t)?),
        // A JSON body: its string leaves are templates.
        Some(other) => Some(render_leaves(other, &render)?.to_string()),
    };
    Ok(Prepared { method, url, headers: rendered, body })
}

fn render_leaves(
    value: &Value,
    render: &dyn Fn(&str) -> Result<String, Failure>,
) -> Result<Value, Failure> {
    Ok(match value {
        Value::String(s) => Value::String(render(s)?),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| render_leaves(v, render)).collect::<Result<_, _>>()?)
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), render_leaves(v, render)?)))
                .collect::<Result<_, Failure>>()?,
        ),
        other => other.clone(),
    })
}

/// Whether `host` is on the allow-list (`example.com` exactly, `*.example.com` its subdomains).
pub fn allowed(host: &str, allow: &[String]) -> bool {
    let host = host.to_ascii_lowercase();
    allow.iter().any(|a| {
        let a = a.trim().to_ascii_lowercase();
        match a.strip_prefix("*.") {
            Some(suffix) => host.ends_with(&format!(".{suffix}")),
            None => host == a,
        }
    })
}

pub fn check_host(prepared: &Prepared, allow: &[String]) -> Result<(), Failure> {
    let host = prepared.url.host_str().unwrap_or_default();
    if allowed(host, allow) {
        Ok(())
    } else {
        Err(Failure::Refused(format!(
            "host {host} is not on the executor allow-list (executors.api_allowed_hosts)"
        )))
    }
}

/// What the request looks like, credentials masked (a preview's `curlRequests`).
pub fn describe(prepared: &Prepared) -> Value {
    let headers: serde_json::Map<String, Value> = prepared
        .headers
        .iter()
        .map(|(k, v)| {
            let secret = ["authorization", "x-api-key", "api-key", "cookie"]
                .contains(&k.to_ascii_lowercase().as_str());
            (k.clone(), json!(if secret { "********" } else { v.as_str() }))
        })
        .collect();
    json!({"method": prepared.method.as_str(), "url": prepared.url.as_str(), "headers": headers, "body": prepared.body})
}

pub async fn send(
    http: &reqwest::Client,
    prepared: &Prepared,
    timeout: std::time::Duration,
) -> Result<Output, Failure> {
    let mut request = http.request(prepared.method.clone(), prepared.url.clone()).timeout(timeout);
    for (k, v) in &prepared.headers {
        request = request.header(k, v);
    }
    if let Some(body) = &prepared.body {
        request = request.header("content-type", "application/json").body(body.clone());
    }
    let response =
        request.send().await.map_err(|e| Failure::Failed(format!("{}: {e}", prepared.url)))?;
    let status = response.status();
    let text = response.text().await.map_err(|e| Failure::Failed(e.to_string()))?;
    if !status.is_success() {
        let excerpt: String = text.chars().take(200).collect();
        return Err(Failure::Failed(format!("{} answered {status}: {excerpt}", prepared.url)));
    }
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| Failure::Failed(format!("{} did not answer JSON: {e}", prepared.url)))?;
    Output::from_json(value).map_err(Failure::Failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(request: Value) -> Definition {
        serde_json::from_value(json!({"type": "apiCall", "request": request})).unwrap()
    }

    #[test]
    fn the_request_is_rendered_from_the_input_and_credentials_are_masked() {
        let t = Templates::new(chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap());
        let d = def(
            json!({"method": "put", "url": "https://erp.example.com/contracts/{{contractNumber}}/iban",
            "headers": {"Authorization": "Bearer {{_metadata.token}}", "X-Ticket": "{{_metadata.ticketId}}"},
            "body": {"iban": "{{newIban}}", "keep": 3}}),
        );
        let input = json!({"contractNumber": "V-1", "newIban": "DE89", "_metadata": {"ticketId": "7", "token": "s3cret"}});
        let p = prepare(&d, &input, &t).unwrap();
        assert_eq!(p.method, reqwest::Method::PUT);
        assert_eq!(p.url.as_str(), "https://erp.example.com/contracts/V-1/iban");
        assert_eq!(
            serde_json::from_str::<Value>(p.body.as_deref().unwrap()).unwrap(),
            json!({"iban": "DE89", "keep": 3})
        );
        let shown = describe(&p);
        assert_eq!(shown["headers"]["Authorization"], "********");
        assert_eq!(shown["headers"]["X-Ticket"], "7");
        assert!(!shown.to_string().contains("s3cret"));
    }

    #[test]
    fn only_allowed_hosts_and_http_schemes_are_called() {
        let allow = vec!["erp.example.com".to_owned(), "*.crm.example.org".to_owned()];
        assert!(allowed("erp.example.com", &allow));
        assert!(allowed("EU.crm.example.org", &allow));
        assert!(!allowed("crm.example.org", &allow), "the wildcard is for subdomains");
        assert!(!allowed("erp.example.com.evil.net", &allow));
        assert!(!allowed("anything", &[]));
        let t = Templates::new(chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap());
        assert!(matches!(
            prepare(&def(json!({"url": "file:///etc/passwd"})), &json!({}), &t),
            Err(Failure::Refused(_))
        ));
        assert!(matches!(
            prepare(&def(json!({"url": "https://x", "method": "N O"})), &json!({}), &t),
            Err(Failure::Refused(_))
        ));
    }
}
