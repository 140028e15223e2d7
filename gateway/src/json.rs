//! Request bodies and path ids with JSON errors (axum's own rejections are plain text).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body, parsed before the handler runs: only for requests that need no permission
/// (login) or whose permission depends on the body item by item (bulk profile changes).
/// Writes that need a permission take [`RawBody`] and check it first. The content type is not
/// insisted on: some Enneo clients omit it.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match read_json(req, state).await? {
            Some(body) => Ok(Self(body)),
            None => Err(ApiError::bad_request("a JSON body is required")),
        }
    }
}

/// The body parsed as JSON; `None` when it is empty or only whitespace.
async fn read_json<S: Send + Sync, T: DeserializeOwned>(
    req: Request,
    state: &S,
) -> Result<Option<T>, ApiError> {
    parse_json(&read_bytes(req, state).await?)
}

async fn read_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state)
        .await
        .map_err(|e| ApiError::bad_request(format!("could not read the body: {e}")))
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<Option<T>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let invalid = |e: serde_json::Error| ApiError::bad_request(format!("invalid JSON body: {e}"));
    // PostgreSQL stores no NUL in text or jsonb: refuse it here rather than fail on write.
    // Only a body that spells the escape can hold one (JSON allows no raw control characters).
    if bytes.windows(6).any(|w| w == br"\u0000") {
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(invalid)?;
        if holds_nul(&value) {
            return Err(ApiError::bad_request(
                "JSON strings must not contain the NUL character (\\u0000)",
            ));
        }
        return serde_json::from_value(value).map(Some).map_err(invalid);
    }
    serde_json::from_slice(bytes).map(Some).map_err(invalid)
}

fn holds_nul(value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

/// A body read but not yet parsed, for writes that check the caller's permission first: a
/// caller who may not write learns 403, not what is wrong with the body.
pub struct RawBody(Bytes);

impl RawBody {
    /// The body as JSON, which is required ([`JsonBody`]'s errors).
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        parse_json(&self.0)?.ok_or_else(|| ApiError::bad_request("a JSON body is required"))
    }

    /// The body as JSON; empty means `T::default()`.
    pub fn parse_or_default<T: DeserializeOwned + Default>(&self) -> Result<T, ApiError> {
        Ok(parse_json(&self.0)?.unwrap_or_default())
    }
}

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        read_bytes(req, state).await.map(Self)
    }
}

/// A numeric id from the path (`/ticket/{ticketId}`).
pub struct PathId(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        raw.parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .map(Self)
            .ok_or_else(|| ApiError::bad_request(format!("{raw:?} is not a valid id")))
    }
}

/// Query parameters with JSON errors.
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|e| ApiError::bad_request(e.body_text()))
    }
}

/// Two numeric ids from the path (`/ticket/{ticketId}/conversation/{conversationId}`).
pub struct PathIds(pub i64, pub i64);

impl<S: Send + Sync> FromRequestParts<S> for PathIds {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path((a, b)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        let id = |raw: &str| {
            raw.parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| ApiError::bad_request(format!("{raw:?} is not a valid id")))
        };
        Ok(Self(id(&a)?, id(&b)?))
    }
}

/// `limit` and `offset` of a list: `limit` is `default` when absent and must lie in
/// 1..=`max`, `offset` must not be negative.
pub fn page(
    limit: Option<i64>,
    offset: Option<i64>,
    default: i64,
    max: i64,
) -> Result<(i64, i64), ApiError> {
    let limit = limit.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(ApiError::bad_request(format!("limit must be between 1 and {max}")));
    }
    let offset = offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::bad_request("offset must not be negative"));
    }
    Ok((limit, offset))
}

/// `a=1&b=2` decoded (`+` and `%XX`), for parameters that may repeat (`type=a&type=b`).
pub fn query_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

#[cfg(test)]
mod tests {
    use super::{page, parse_json, query_pairs};

    #[test]
    fn nul_characters_are_refused_and_the_escape_as_text_is_not() {
        let nul = parse_json::<serde_json::Value>(br#"{"message": "a\u0000b"}"#).unwrap_err();
        assert_eq!(nul.code, enneo_common::ErrorCode::InvalidArgument);
        assert!(nul.message.contains("NUL"), "{}", nul.message);
        assert!(parse_json::<serde_json::Value>(br#"{"k\u0000": 1}"#).is_err());
        assert!(parse_json::<serde_json::Value>(br#"[["x", {"y": "\u0000"}]]"#).is_err());
        // An escaped backslash followed by "u0000" is text, not a NUL.
        let text: serde_json::Value = parse_json(br#"{"message": "a\\u0000b"}"#).unwrap().unwrap();
        assert_eq!(text["message"], "a\\u0000b");
        assert!(parse_json::<serde_json::Value>(b"{\"a\": 1").is_err());
    }

    #[test]
    fn pages_default_and_stay_in_range() {
        assert_eq!(page(None, None, 100, 1000).unwrap(), (100, 0));
        assert_eq!(page(Some(1000), Some(5), 100, 1000).unwrap(), (1000, 5));
        for (limit, offset) in [(Some(0), None), (Some(1001), None), (None, Some(-1))] {
            assert!(page(limit, offset, 100, 1000).is_err(), "{limit:?} {offset:?}");
        }
    }

    #[test]
    fn query_pairs_decode_and_keep_repeats() {
        let pairs = query_pairs("type=a+b&type=%C3%A9&&flag&ids%5B%5D=1,2&bad=%zz");
        let expected =
            [("type", "a b"), ("type", "é"), ("flag", ""), ("ids[]", "1,2"), ("bad", "%zz")];
        let expected: Vec<(String, String)> =
            expected.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(pairs, expected);
    }
}
