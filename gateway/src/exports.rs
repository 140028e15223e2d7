//! `/export/{key}` and `/export/{key}/preview` (contract §6.6, §10). ticket-svc streams the
//! rows in batches; the download is written as they arrive (chunked transfer), so neither
//! process ever holds more than a batch, whatever the size of the export. A failure after the
//! first bytes went out cuts the transfer short (the client sees an incomplete download, never
//! a truncated file that looks complete).
//!
//! Every export and preview follows the tenant's `reportingPrivacyLevel`: `full` as stored,
//! `pseudonymized` (customer identifiers, addresses and free text replaced by stable keyed
//! pseudonyms), `partiallyPseudonymized` (identifiers and addresses pseudonymized, free text
//! kept) or `none` (those columns empty). Which columns are personal and why is in
//! [`privacy`]; it is applied to each batch as it passes, so streaming and memory stay as they
//! are.

use std::collections::BTreeMap;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use enneo_common::auth::{Caller, permission};
use enneo_common::grpc::request;
use enneo_proto::settings::v1 as settings;
use enneo_proto::ticket::v1 as pb;
use serde::Serialize;
use serde_json::{Map, Value};
use tonic::Streaming;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{Auth, require};
use crate::envelope::Success;
use crate::error::{ApiError, ErrorBody};
use crate::json::{page, query_pairs};

mod privacy;
mod xlsx;

use privacy::{Level, Privacy};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export)).routes(routes!(preview))
}

/// Keys with data to export.
const SERVED: &[&str] = &["reporting_tickets", "reporting_messages", "ticket"];

/// Keys of the contract whose data Enneo Mind does not record (yet): refused as such, so a
/// client can tell them from a typo.
const NOT_AVAILABLE: &[&str] = &[
    "reporting_worklog",
    "survey",
    "callLog",
    "qualityAssessments",
    "aiInsights",
    "aiAgentPerformance",
];

/// The keys that have a preview (contract §10).
const PREVIEWABLE: &[&str] = &[
    "reporting_tickets",
    "reporting_messages",
    "reporting_worklog",
    "survey",
    "aiAgentPerformance",
    "qualityAssessments",
    "aiInsights",
    "callLog",
];

const PREVIEW_LIMIT: i64 = 30;
const PREVIEW_MAX: i64 = 500;

/// Query parameters of an export. Filters come as
/// `filters[N][key]`, `filters[N][comparator]` (`=`, `!=`, `>`, `<`, `>=`, `<=`, `between`,
/// `in`) and `filters[N][value]`, `filters[N][from]` + `filters[N][to]` (between) or
/// `filters[N][values][]` (in). A date-only upper bound (`<=`, the `to` of `between`) reaches
/// to the end of that day; `=` with a date-only value matches the whole day.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ExportParams {
    /// `csv`, `json` or `xlsx` (at most 1,048,575 rows); absent: the setting
    /// `defaultDateExportFormat`. `specification` is refused (400).
    format: Option<String>,
    /// Rows at most; absent or 0: every row. Preview: default 30, at most 500.
    limit: Option<i64>,
    offset: Option<i64>,
    /// `createdAt` (tickets' default) or `id` (messages' only order). `id` breaks ties.
    #[param(rename = "orderByField")]
    order_by_field: Option<String>,
    /// `asc` (default) or `desc`.
    #[param(rename = "orderByDirection")]
    order_by_direction: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Format {
    Csv,
    Json,
    Xlsx,
}

/// Data rows an xlsx sheet holds under its header (Excel's limit is 1,048,576 rows).
const XLSX_MAX_ROWS: i64 = 1_048_575;

#[derive(Debug, Default)]
struct Params {
    format: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
    order_by_field: String,
    order_by_direction: String,
    filters: Vec<pb::Filter>,
}

fn parse_params(query: Option<&str>) -> Result<Params, ApiError> {
    let mut params = Params::default();
    let mut filters: BTreeMap<u32, pb::Filter> = BTreeMap::new();
    let number = |name: &str, raw: &str| {
        raw.trim()
            .parse::<i64>()
            .map_err(|_| ApiError::bad_request(format!("{name} must be a number, got {raw:?}")))
    };
    for (name, value) in query_pairs(query.unwrap_or_default()) {
        match name.as_str() {
            "format" => params.format = Some(value),
            "limit" => params.limit = Some(number("limit", &value)?),
            "offset" => params.offset = Some(number("offset", &value)?),
            "orderByField" => params.order_by_field = value,
            "orderByDirection" => params.order_by_direction = value,
            _ => {
                let (index, field) = filter_param(&name).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "unknown parameter {name:?} (use format, limit, offset, orderByField, \
                         orderByDirection, filters[N][key|comparator|value|from|to|values][])"
                    ))
                })?;
                let filter = filters.entry(index).or_default();
                match field {
                    "key" => filter.key = value,
                    "comparator" => filter.comparator = value,
                    "value" => filter.value = Some(value),
                    "from" => filter.from = Some(value),
                    "to" => filter.to = Some(value),
                    _ => filter.values.push(value),
                }
            }
        }
    }
    params.filters = filters.into_values().collect();
    if let Some(unnamed) = params.filters.iter().find(|f| f.key.is_empty()) {
        return Err(ApiError::bad_request(format!(
            "every filter needs a key (one with comparator {:?} has none)",
            unnamed.comparator
        )));
    }
    Ok(params)
}

/// `filters[3][comparator]` → (3, "comparator"); `filters[3][values][]` and
/// `filters[3][values][0]` → (3, "values").
fn filter_param(name: &str) -> Option<(u32, &'static str)> {
    let rest = name.strip_prefix("filters[")?;
    let (index, rest) = rest.split_once(']')?;
    let index = index.parse().ok()?;
    let rest = rest.strip_prefix('[')?;
    let (field, tail) = rest.split_once(']')?;
    let field =
        ["key", "comparator", "value", "from", "to", "values"].into_iter().find(|f| *f == field)?;
    let list_tail = tail.is_empty()
        || (field == "values"
            && tail
                .strip_prefix('[')
                .and_then(|t| t.strip_suffix(']'))
                .is_some_and(|i| i.is_empty() || i.chars().all(|c| c.is_ascii_digit())));
    list_tail.then_some((index, field))
}

/// A tenant setting's string value, read as the gateway itself: whoever may export gets the
/// tenant's choice, whether or not they may read settings.
async fn tenant_setting(state: &AppState, name: &str) -> Result<Option<String>, ApiError> {
    let caller = Caller::service(&[permission::READ_SETTINGS]);
    let req = settings::GetSettingRequest { name: name.into(), show_secrets: false };
    let found = state.settings().get_setting(request(req, &caller)).await?.into_inner();
    let value = found.setting.map(|s| s.value_json).unwrap_or_default();
    match serde_json::from_str::<Value>(&value) {
        Ok(Value::String(value)) => Ok(Some(value)),
        _ => Ok(None),
    }
}

/// The tenant's `defaultDateExportFormat`.
async fn default_format(state: &AppState) -> Result<Format, ApiError> {
    match tenant_setting(state, "defaultDateExportFormat").await? {
        Some(format) => format_of(Some(&format)),
        None => Ok(Format::Csv),
    }
}

/// The tenant's `reportingPrivacyLevel`. A value this gateway does not know hides the most.
async fn privacy_level(state: &AppState) -> Result<Level, ApiError> {
    let value = tenant_setting(state, "reportingPrivacyLevel").await?;
    Ok(value.as_deref().and_then(Level::parse).unwrap_or_else(|| {
        tracing::warn!(?value, "unknown reportingPrivacyLevel; exporting as none");
        Level::None
    }))
}

/// Below `full`, a filter or order on a personal column would match real values against the
/// rows' pseudonyms, so it is refused.
fn check_privacy(level: Level, params: &Params) -> Result<(), ApiError> {
    if level == Level::Full {
        return Ok(());
    }
    let keys = params.filters.iter().map(|f| f.key.as_str());
    match keys.chain([params.order_by_field.as_str()]).find(|k| privacy::is_personal(k)) {
        Some(column) => Err(ApiError::bad_request(format!(
            "{column} is personal data: with reportingPrivacyLevel {} it can be neither \
             filtered nor ordered on",
            level.as_str()
        ))),
        None => Ok(()),
    }
}

fn format_of(raw: Option<&str>) -> Result<Format, ApiError> {
    match raw.unwrap_or("csv") {
        "csv" => Ok(Format::Csv),
        "json" => Ok(Format::Json),
        "xlsx" => Ok(Format::Xlsx),
        "specification" => Err(ApiError::bad_request(
            "format specification is not supported; use csv, json or xlsx",
        )),
        other => {
            Err(ApiError::bad_request(format!("format must be csv, json or xlsx, got {other:?}")))
        }
    }
}

/// Refuses keys without data: unknown ones and the contract's ones we do not record.
fn check_key(key: &str) -> Result<(), ApiError> {
    if SERVED.contains(&key) {
        Ok(())
    } else if NOT_AVAILABLE.contains(&key) {
        Err(ApiError::bad_request(format!(
            "export {key} is not available: Enneo Mind does not record its data"
        )))
    } else {
        Err(ApiError::bad_request(format!("Unknown export key {key:?}")))
    }
}

/// Opens the export stream and reads its header, so that every refusal (a bad filter, an
/// order field that does not exist) is an HTTP error before any byte of the download.
async fn open(
    state: &AppState,
    caller: &Caller,
    req: pb::ExportRequest,
    level: Level,
) -> Result<(pb::ExportHeader, Rows), ApiError> {
    let mut stream = state.tickets().export(request(req, caller)).await?.into_inner();
    let header = stream
        .message()
        .await?
        .and_then(|chunk| chunk.header)
        .ok_or_else(|| ApiError::internal_because("export stream began without its header"))?;
    let privacy = Privacy::new(level, &header.columns, state.jwt_secret());
    Ok((header, Rows { stream, privacy }))
}

/// The export's rows batch by batch as they arrive, the privacy level applied to each.
pub struct Rows {
    stream: Streaming<pb::ExportChunk>,
    privacy: Privacy,
}

impl Rows {
    pub async fn next(&mut self) -> Result<Option<Vec<pb::ExportRow>>, tonic::Status> {
        let Some(chunk) = self.stream.message().await? else {
            return Ok(None);
        };
        let mut rows = chunk.rows;
        self.privacy.apply(&mut rows);
        Ok(Some(rows))
    }
}

/// Download an export: CSV (RFC 4180, UTF-8, header row) or a JSON array of row objects.
///
/// Personal columns follow the tenant setting `reportingPrivacyLevel`. They are
/// `customerId`, `contractId` (identifiers), `from`, `to` (addresses) and `subject`,
/// `summary`, `bodyPlain` (free text). `full` (default): as stored. `pseudonymized`: each
/// value replaced by a stable pseudonym `psn_` + 16 hex digits (a keyed hash: the same
/// customer, address or text always gets the same one, so rows still group; addresses
/// compared without case or display name, each address of a list on its own).
/// `partiallyPseudonymized`: identifiers and addresses pseudonymized, free text as stored.
/// `none`: personal columns empty (null). Below `full`, filtering or ordering on a personal
/// column is refused (400).
#[utoipa::path(get, path = "/export/{key}", tag = "export",
    params(("key" = String, Path, description = "reporting_tickets, reporting_messages or ticket"), ExportParams),
    responses(
        (status = 200, description = "The rows, as an attachment (text/csv, application/json or xlsx)", content_type = "text/csv", body = String),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn export(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    require(&caller, permission::EXPORT_DATA)?;
    check_key(&key)?;
    let params = parse_params(query.as_deref())?;
    let format = params.format.as_deref().map(|f| format_of(Some(f))).transpose()?;
    if params.limit.is_some_and(|l| l < 0) {
        return Err(ApiError::bad_request("limit must not be negative"));
    }
    if params.offset.is_some_and(|o| o < 0) {
        return Err(ApiError::bad_request("offset must not be negative"));
    }
    let (format, level) = match format {
        Some(format) => (format, privacy_level(&state).await?),
        None => tokio::try_join!(default_format(&state), privacy_level(&state))?,
    };
    check_privacy(level, &params)?;
    let req = pb::ExportRequest {
        key: key.clone(),
        limit: params.limit.unwrap_or(0),
        offset: params.offset.unwrap_or(0),
        order_by_field: params.order_by_field,
        order_by_direction: params.order_by_direction,
        filters: params.filters,
        // A sheet has a row limit: count first, refuse before the download starts.
        with_total: format == Format::Xlsx,
    };
    let (limit, offset) = (req.limit, req.offset);
    let (header, rows) = open(&state, &caller, req, level).await?;
    let (content_type, extension) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::Json => ("application/json", "json"),
        Format::Xlsx => {
            ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")
        }
    };
    let filename = format!("{key}-{}.{extension}", chrono::Utc::now().format("%Y-%m-%d"));
    let content = if format == Format::Xlsx {
        let count = (header.total.unwrap_or_default() - offset).max(0);
        let count = if limit > 0 { count.min(limit) } else { count };
        if count > XLSX_MAX_ROWS {
            return Err(ApiError::bad_request(format!(
                "{count} rows do not fit an xlsx sheet (at most {XLSX_MAX_ROWS}); use csv or json, \
                 or narrow the export with filters or limit"
            )));
        }
        Body::from_stream(xlsx::body(header.columns, rows))
    } else {
        let text = if format == Format::Json { Text::Json } else { Text::Csv };
        let encoder = Encoder { format: text, columns: header.columns, rows: 0 };
        Body::from_stream(body(encoder, rows))
    };
    let mut response = Response::new(content);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The key is one of SERVED and the date is digits: the value is always valid.
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// The download: the opening (CSV header row or `[`), the rows as they arrive, the closing.
fn body(
    encoder: Encoder,
    stream: Rows,
) -> impl futures_util::Stream<Item = Result<Bytes, tonic::Status>> + Send {
    enum Stage {
        Opening,
        Rows,
    }
    futures_util::stream::unfold(Some((encoder, stream, Stage::Opening)), |state| async move {
        let (mut encoder, mut stream, stage) = state?;
        if let Stage::Opening = stage {
            let opening = encoder.opening();
            return Some((Ok(opening.into()), Some((encoder, stream, Stage::Rows))));
        }
        match stream.next().await {
            Ok(Some(rows)) => {
                let bytes = encoder.rows(&rows);
                Some((Ok(bytes.into()), Some((encoder, stream, Stage::Rows))))
            }
            Ok(None) => Some((Ok(encoder.closing().into()), None)),
            Err(status) => {
                tracing::error!(code = ?status.code(), message = status.message(), rows = encoder.rows,
                        "export stream failed; the download is cut short");
                Some((Err(status), None))
            }
        }
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Text {
    Csv,
    Json,
}

/// Writes rows as CSV or JSON.
struct Encoder {
    format: Text,
    columns: Vec<pb::ExportColumn>,
    /// Written so far.
    rows: u64,
}

impl Encoder {
    fn opening(&self) -> String {
        match self.format {
            Text::Csv => {
                let mut line = String::new();
                for (i, column) in self.columns.iter().enumerate() {
                    if i > 0 {
                        line.push(',');
                    }
                    push_csv_field(&mut line, &column.name);
                }
                line.push_str("\r\n");
                line
            }
            Text::Json => "[".into(),
        }
    }

    fn rows(&mut self, rows: &[pb::ExportRow]) -> String {
        let mut out = String::with_capacity(rows.len() * 256);
        for row in rows {
            match self.format {
                Text::Csv => {
                    for (i, value) in row.values.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        push_csv_field(&mut out, &text_of(value));
                    }
                    out.push_str("\r\n");
                }
                Text::Json => {
                    if self.rows > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::Object(object(&self.columns, row)).to_string());
                }
            }
            self.rows += 1;
        }
        out
    }

    fn closing(&self) -> &'static str {
        match self.format {
            Text::Csv => "",
            Text::Json => "]",
        }
    }
}

/// One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break, with
/// quotes doubled.
fn push_csv_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&field.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(field);
    }
}

/// A cell as CSV text; null is the empty field. Text that a spreadsheet would run as a formula
/// (it starts with `=`, `+`, `-`, `@`, a tab or a carriage return: customers write subjects and
/// bodies) gets a leading `'`, so opening the export never executes what a customer sent.
fn text_of(value: &pb::ExportValue) -> String {
    use pb::export_value::Kind;
    match &value.kind {
        None => String::new(),
        Some(Kind::Text(text)) if text.starts_with(['=', '+', '-', '@', '\t', '\r']) => {
            format!("'{text}")
        }
        Some(Kind::Text(text)) => text.clone(),
        Some(Kind::Integer(n)) => n.to_string(),
        Some(Kind::Boolean(b)) => b.to_string(),
        Some(Kind::Timestamp(t)) => crate::time::format_sql(t).unwrap_or_default(),
    }
}

fn json_of(value: &pb::ExportValue) -> Value {
    use pb::export_value::Kind;
    match &value.kind {
        None => Value::Null,
        Some(Kind::Text(text)) => Value::String(text.clone()),
        Some(Kind::Integer(n)) => Value::from(*n),
        Some(Kind::Boolean(b)) => Value::Bool(*b),
        Some(Kind::Timestamp(t)) => crate::time::format_sql(t).map_or(Value::Null, Value::String),
    }
}

fn object(columns: &[pb::ExportColumn], row: &pb::ExportRow) -> Map<String, Value> {
    columns.iter().zip(&row.values).map(|(c, v)| (c.name.clone(), json_of(v))).collect()
}

/// A preview of an export (contract §6.6).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Preview {
    /// The first rows (`limit`, default 30, at most 500), as objects by column name.
    #[schema(value_type = Vec<Object>)]
    data: Vec<Map<String, Value>>,
    /// Rows the whole export would have.
    total: i64,
    columns: Vec<PreviewColumn>,
    available_filters: Vec<AvailableFilter>,
}

#[derive(Serialize, ToSchema)]
pub struct PreviewColumn {
    name: String,
    /// integer, text, timestamp or boolean.
    r#type: String,
}

#[derive(Serialize, ToSchema)]
pub struct AvailableFilter {
    key: String,
    r#type: String,
    comparators: Vec<String>,
}

/// Preview an export: its first rows, total, columns and filters.
///
/// Personal columns follow `reportingPrivacyLevel` as in the download; below `full`, the
/// personal columns are not among `availableFilters`.
#[utoipa::path(get, path = "/export/{key}/preview", tag = "export",
    params(("key" = String, Path, description = "reporting_tickets or reporting_messages"), ExportParams),
    responses((status = 200, body = Success<Preview>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn preview(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Success<Preview>, ApiError> {
    require(&caller, permission::EXPORT_DATA)?;
    check_key(&key)?;
    if !PREVIEWABLE.contains(&key.as_str()) {
        return Err(ApiError::bad_request(format!("export {key} has no preview")));
    }
    let params = parse_params(query.as_deref())?;
    if params.format.is_some() {
        return Err(ApiError::bad_request("a preview is JSON; format does not apply"));
    }
    let (limit, offset) = page(params.limit, params.offset, PREVIEW_LIMIT, PREVIEW_MAX)?;
    let level = privacy_level(&state).await?;
    check_privacy(level, &params)?;
    let req = pb::ExportRequest {
        key,
        limit,
        offset,
        order_by_field: params.order_by_field,
        order_by_direction: params.order_by_direction,
        filters: params.filters,
        with_total: true,
    };
    let (header, mut rows) = open(&state, &caller, req, level).await?;
    let mut data = Vec::new();
    while let Some(batch) = rows.next().await? {
        data.extend(batch.iter().map(|row| object(&header.columns, row)));
    }
    Ok(Success::new(Preview {
        data,
        total: header.total.unwrap_or_default(),
        columns: header
            .columns
            .into_iter()
            .map(|c| PreviewColumn { name: c.name, r#type: c.r#type })
            .collect(),
        available_filters: header
            .filters
            .into_iter()
            .filter(|f| level == Level::Full || !privacy::is_personal(&f.key))
            .map(|f| AvailableFilter { key: f.key, r#type: f.r#type, comparators: f.comparators })
            .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_only_when_they_must_be() {
        let field = |s: &str| {
            let mut out = String::new();
            push_csv_field(&mut out, s);
            out
        };
        assert_eq!(field("plain text"), "plain text");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field("cr\rhere"), "\"cr\rhere\"");
        assert_eq!(field(""), "");
    }

    #[test]
    fn text_a_spreadsheet_would_run_as_a_formula_is_defused_and_numbers_are_not() {
        use pb::export_value::Kind;
        let text = |s: &str| text_of(&pb::ExportValue { kind: Some(Kind::Text(s.into())) });
        assert_eq!(text("=HYPERLINK(\"http://x\")"), "'=HYPERLINK(\"http://x\")");
        for risky in ["+1", "-1+1", "@SUM(A1)", "\tcmd", "\rcmd"] {
            assert!(text(risky).starts_with('\''), "{risky:?}");
        }
        assert_eq!(text("Zählerstand"), "Zählerstand");
        assert_eq!(text_of(&pb::ExportValue { kind: Some(Kind::Integer(-5)) }), "-5");
    }

    #[test]
    fn filters_come_from_bracketed_parameters() {
        let query = "format=json&filters[0][key]=createdAt&filters[0][comparator]=between\
                     &filters[0][from]=2026-01-01&filters[0][to]=2026-01-31\
                     &filters[1][key]=status&filters[1][comparator]=in\
                     &filters[1][values][]=open&filters[1][values][1]=closed";
        let params = parse_params(Some(query)).unwrap();
        assert_eq!(params.format.as_deref(), Some("json"));
        assert_eq!(params.filters.len(), 2);
        assert_eq!(params.filters[0].from.as_deref(), Some("2026-01-01"));
        assert_eq!(params.filters[0].to.as_deref(), Some("2026-01-31"));
        assert_eq!(params.filters[1].values, ["open", "closed"]);
        assert!(parse_params(Some("filters[0][sql]=1")).is_err());
        assert!(parse_params(Some("filters[x][key]=id")).is_err());
        assert!(parse_params(Some("filters[0][comparator]==")).is_err(), "a filter without key");
        assert!(parse_params(Some("limit=ten")).is_err());
        assert!(parse_params(Some("select=1")).is_err());
    }
}
