//! The loader's clock: every instant the warehouse stores (run records, manifest, retire
//! times) is truncated to microseconds, DuckDB's timestamp precision, so what is written
//! reads back equal.

use chrono::{DateTime, Utc};

/// Now, truncated to microseconds (DuckDB's timestamp precision).
pub(crate) fn now_micros() -> DateTime<Utc> {
    truncate_micros(Utc::now())
}

/// Truncates a timestamp to microseconds.
pub(crate) fn truncate_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}
