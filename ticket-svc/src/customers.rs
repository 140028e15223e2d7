//! Customers and contracts (contract §6.4). They come in with tickets (the `customer` document
//! of a ticket write) and are kept in their own tables, so every ticket of a customer sees the
//! same, latest data.

use enneo_common::auth::{Caller, permission};
use enneo_common::service_error::{Error, Result};
use enneo_proto::ticket::v1 as pb;
use serde_json::{Map, Value};
use sqlx::PgConnection;

use crate::model::TicketRow;
use crate::service::Tickets;
use crate::store;

pub const DEFAULT_SEARCH_LIMIT: i64 = 10;
pub const MAX_SEARCH_LIMIT: i64 = 100;

#[derive(sqlx::FromRow)]
struct SearchRow {
    id: String,
    firstname: Option<String>,
    lastname: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    address: Option<String>,
    contract_ids: Vec<String>,
}

/// An id given as a JSON string or integer.
fn id_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

fn text(doc: &Map<String, Value>, key: &str) -> Option<String> {
    match doc.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Stores the customer document of a ticket write (with its contracts) and links the ticket
/// to it. A document without an id stays only on the ticket.
pub async fn absorb(conn: &mut PgConnection, ticket: &mut TicketRow) -> Result<()> {
    let Some(document) = &ticket.customer else {
        return Ok(());
    };
    let Value::Object(doc) = document else {
        return Err(Error::InvalidArgument("customer must be an object".into()));
    };
    let Some(id) = id_of(doc.get("id")) else {
        return Ok(());
    };
    let mut stored = doc.clone();
    let contracts = stored.remove("contracts").unwrap_or(Value::Array(Vec::new()));
    // Derived per request, not data.
    stored.remove("emailMatches");
    sqlx::query(
        "INSERT INTO ticket.customer (id, firstname, lastname, email, phone, address, company, document) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (id) DO UPDATE SET firstname = EXCLUDED.firstname, \
           lastname = EXCLUDED.lastname, email = EXCLUDED.email, phone = EXCLUDED.phone, \
           address = EXCLUDED.address, company = EXCLUDED.company, \
           document = EXCLUDED.document, updated_at = now()",
    )
    .bind(&id)
    .bind(text(&stored, "firstname"))
    .bind(text(&stored, "lastname"))
    .bind(text(&stored, "email"))
    .bind(text(&stored, "phone"))
    .bind(text(&stored, "address"))
    .bind(text(&stored, "company"))
    .bind(Value::Object(stored))
    .execute(&mut *conn)
    .await?;
    let Value::Array(contracts) = contracts else {
        return Err(Error::InvalidArgument("customer.contracts must be a list".into()));
    };
    for contract in contracts {
        let Some(contract_id) = id_of(contract.get("id")) else {
            continue;
        };
        sqlx::query(
            "INSERT INTO ticket.contract (id, customer_id, document) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET customer_id = EXCLUDED.customer_id, \
               document = EXCLUDED.document, updated_at = now()",
        )
        .bind(&contract_id)
        .bind(&id)
        .bind(&contract)
        .execute(&mut *conn)
        .await?;
    }
    if ticket.customer_id.is_none() {
        ticket.customer_id = Some(id);
    }
    Ok(())
}

/// The customer with contracts as the contract shapes it, or `None` if we do not know them.
pub async fn load(conn: &mut PgConnection, id: &str) -> Result<Option<Value>> {
    let document: Option<Value> =
        sqlx::query_scalar("SELECT document FROM ticket.customer WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(Value::Object(mut customer)) = document else {
        return Ok(None);
    };
    let contracts: Vec<Value> = sqlx::query_scalar(
        "SELECT document FROM ticket.contract WHERE customer_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(conn)
    .await?;
    customer.insert("contracts".into(), Value::Array(contracts));
    customer.entry("emailMatches").or_insert(Value::Null);
    Ok(Some(Value::Object(customer)))
}

/// The ticket's customer: the stored one, else the ticket's own document; with `emailMatches`.
pub async fn for_ticket(conn: &mut PgConnection, ticket: &TicketRow) -> Result<Option<Value>> {
    let stored = match &ticket.customer_id {
        Some(customer_id) => load(conn, customer_id).await?,
        None => None,
    };
    let Some(mut customer) = stored.or_else(|| ticket.customer.clone()) else {
        return Ok(None);
    };
    let matches = email_matches(ticket, &customer);
    if let Value::Object(map) = &mut customer {
        map.insert("emailMatches".into(), matches);
    }
    Ok(Some(customer))
}

/// Whether the ticket's sender is the customer's e-mail address (null when either is unknown).
fn email_matches(ticket: &TicketRow, customer: &Value) -> Value {
    match (&ticket.from_addr, customer.get("email").and_then(Value::as_str)) {
        (Some(from), Some(email)) => Value::Bool(from.eq_ignore_ascii_case(email)),
        _ => Value::Null,
    }
}

impl Tickets {
    pub(crate) async fn customer(
        &self,
        caller: &Caller,
        req: pb::GetCustomerRequest,
    ) -> Result<Value> {
        caller.require(permission::READ_TICKETS)?;
        let mut conn = self.pool.acquire().await?;
        let not_found = || Error::NotFound("customer not found".into());
        match req
            .by
            .ok_or_else(|| Error::InvalidArgument("say by what to find the customer".into()))?
        {
            pb::get_customer_request::By::CustomerId(id) => {
                load(&mut conn, &id).await?.ok_or_else(not_found)
            }
            pb::get_customer_request::By::ContractId(id) => {
                let customer_id: Option<String> =
                    sqlx::query_scalar("SELECT customer_id FROM ticket.contract WHERE id = $1")
                        .bind(&id)
                        .fetch_optional(&mut *conn)
                        .await?;
                let customer_id = customer_id.ok_or_else(not_found)?;
                load(&mut conn, &customer_id).await?.ok_or_else(not_found)
            }
            pb::get_customer_request::By::TicketId(id) => {
                let ticket = store::get(&mut conn, id, false).await?;
                for_ticket(&mut conn, &ticket).await?.ok_or_else(not_found)
            }
        }
    }

    pub(crate) async fn search_customers(
        &self,
        caller: &Caller,
        req: pb::SearchCustomersRequest,
    ) -> Result<pb::SearchCustomersResponse> {
        caller.require(permission::READ_TICKETS)?;
        let q = req.q.trim().to_lowercase();
        if q.is_empty() {
            return Err(Error::InvalidArgument("q is required".into()));
        }
        let limit = match req.limit {
            0 => DEFAULT_SEARCH_LIMIT,
            l if l < 0 => return Err(Error::InvalidArgument("limit must be positive".into())),
            l => l.min(MAX_SEARCH_LIMIT),
        };
        if req.offset < 0 {
            return Err(Error::InvalidArgument("offset must not be negative".into()));
        }
        // LIKE wildcards in the input are literals.
        let pattern =
            format!("%{}%", q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        let mut conn = self.pool.acquire().await?;
        const MATCH: &str = "(c.id = $1 OR c.search LIKE $2 \
            OR EXISTS (SELECT 1 FROM ticket.contract k WHERE k.customer_id = c.id AND k.id = $1))";
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM ticket.customer c WHERE {MATCH}"
        )))
        .bind(&q)
        .bind(&pattern)
        .fetch_one(&mut *conn)
        .await?;
        let rows: Vec<SearchRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT c.id, c.firstname, c.lastname, c.email, c.phone, c.address, \
             coalesce(array_agg(k.id ORDER BY k.id) FILTER (WHERE k.id IS NOT NULL), '{{}}') \
             AS contract_ids \
             FROM ticket.customer c LEFT JOIN ticket.contract k ON k.customer_id = c.id \
             WHERE {MATCH} GROUP BY c.id ORDER BY c.id LIMIT $3 OFFSET $4"
        )))
        .bind(&q)
        .bind(&pattern)
        .bind(limit)
        .bind(req.offset)
        .fetch_all(&mut *conn)
        .await?;
        let customers = rows
            .into_iter()
            .map(|r| pb::CustomerRow {
                id: r.id,
                firstname: r.firstname,
                lastname: r.lastname,
                email: r.email,
                phone: r.phone,
                address: r.address,
                contract_ids: r.contract_ids,
            })
            .collect();
        Ok(pb::SearchCustomersResponse { customers, total })
    }
}
