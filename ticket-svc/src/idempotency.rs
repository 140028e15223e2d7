//! `Idempotency-Key`: the first result of a request is kept per caller, operation and key; a
//! retry gets that result back and writes nothing. The key row is inserted first in the same
//! transaction as the write, so a concurrent retry waits for the first attempt to commit.

use enneo_common::service_error::{Error, Result};
use prost::Message;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;

pub enum Claim {
    /// First time: go ahead, then [`store`] the response before committing.
    Fresh,
    /// Seen before: this is the first response.
    Replay(Vec<u8>),
}

pub fn hash(request: &impl Message) -> Vec<u8> {
    Sha256::digest(request.encode_to_vec()).to_vec()
}

pub async fn claim(
    conn: &mut PgConnection,
    user_id: i64,
    operation: &str,
    key: &str,
    request_hash: &[u8],
) -> Result<Claim> {
    if key.is_empty() || key.len() > 255 {
        return Err(Error::InvalidArgument("Idempotency-Key must be 1 to 255 characters".into()));
    }
    let inserted = sqlx::query(
        "INSERT INTO ticket.idempotency_key (user_id, operation, key, request_hash) \
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(user_id)
    .bind(operation)
    .bind(key)
    .bind(request_hash)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Claim::Fresh);
    }
    let (stored_hash, response): (Vec<u8>, Option<Vec<u8>>) = sqlx::query_as(
        "SELECT request_hash, response FROM ticket.idempotency_key \
         WHERE user_id = $1 AND operation = $2 AND key = $3",
    )
    .bind(user_id)
    .bind(operation)
    .bind(key)
    .fetch_one(conn)
    .await?;
    if stored_hash != request_hash {
        return Err(Error::Unprocessable(
            "this Idempotency-Key was used with a different request".into(),
        ));
    }
    response.map(Claim::Replay).ok_or_else(|| {
        Error::Conflict("a request with this Idempotency-Key is still in progress".into())
    })
}

pub async fn store(
    conn: &mut PgConnection,
    user_id: i64,
    operation: &str,
    key: &str,
    response: &impl Message,
) -> Result<()> {
    sqlx::query(
        "UPDATE ticket.idempotency_key SET response = $4 \
         WHERE user_id = $1 AND operation = $2 AND key = $3",
    )
    .bind(user_id)
    .bind(operation)
    .bind(key)
    .bind(response.encode_to_vec())
    .execute(conn)
    .await?;
    Ok(())
}
