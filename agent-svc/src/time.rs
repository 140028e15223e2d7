//! The contract's timestamp shapes (§0): most are `YYYY-MM-DD HH:MM:SS` in UTC, intents'
//! `executedAt` is unix seconds.

use chrono::{DateTime, Utc};

pub fn wall(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}
