//! What every table module shares: the builder macro, per-conversation context,
//! lineage, personal-data handling and the MSK clock cache.

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDateTime, Utc};
use sha2::{Digest, Sha256};

use crate::{PiiAction, PiiPolicy};

/// Arrow builder type of a column kind.
macro_rules! col_ty {
    (i64) => {
        arrow::array::Int64Builder
    };
    (str) => {
        arrow::array::StringBuilder
    };
    (bool) => {
        arrow::array::BooleanBuilder
    };
    (ts) => {
        arrow::array::TimestampMicrosecondBuilder
    };
    (tsn) => {
        arrow::array::TimestampMicrosecondBuilder
    };
}

/// A fresh builder of a column kind (`ts` carries the UTC zone, `tsn` none).
macro_rules! col_new {
    (i64) => {
        arrow::array::Int64Builder::new()
    };
    (str) => {
        arrow::array::StringBuilder::new()
    };
    (bool) => {
        arrow::array::BooleanBuilder::new()
    };
    (ts) => {
        arrow::array::TimestampMicrosecondBuilder::new().with_timezone("UTC")
    };
    (tsn) => {
        arrow::array::TimestampMicrosecondBuilder::new()
    };
}

/// Declares a table's builder struct: one typed builder per column, in schema order.
/// `COLUMNS` lets a test check the order against `schema.rs`.
macro_rules! table_builder {
    ($(#[$m:meta])* $name:ident { $first:ident : $fk:ident $(, $col:ident : $kind:ident)* $(,)? }) => {
        $(#[$m])*
        pub(crate) struct $name {
            pub(crate) $first: $crate::common::col_ty!($fk),
            $(pub(crate) $col: $crate::common::col_ty!($kind),)*
        }
        impl $name {
            /// Column names in declaration order (must equal the schema's).
            #[cfg(test)]
            pub(crate) const COLUMNS: &'static [&'static str] = &[stringify!($first) $(, stringify!($col))*];

            /// Empty builders.
            pub(crate) fn new() -> Self {
                Self { $first: $crate::common::col_new!($fk), $($col: $crate::common::col_new!($kind),)* }
            }

            /// Rows appended since the last `finish`.
            pub(crate) fn len(&self) -> usize {
                arrow::array::ArrayBuilder::len(&self.$first)
            }

            /// The columns built so far, in schema order; the builders are reset.
            pub(crate) fn finish(&mut self) -> Vec<arrow::array::ArrayRef> {
                vec![
                    std::sync::Arc::new(self.$first.finish()) as arrow::array::ArrayRef,
                    $(std::sync::Arc::new(self.$col.finish()) as arrow::array::ArrayRef,)*
                ]
            }
        }
    };
}

/// Appends the lineage columns (`_extra`, `_source_updated_at`, `_synced_at`, `_run_id`);
/// `$obj` is the row's model object (its unknown fields and those nested in it: `unknown`).
macro_rules! push_lineage {
    ($b:expr, $ctx:expr, $scratch:expr, $obj:expr) => {{
        $b._extra
            .append_value($crate::unknown::extra_json($obj, &mut $scratch.json));
        $crate::common::push_lineage!($b, $ctx);
    }};
    ($b:expr, $ctx:expr) => {{
        $b._source_updated_at.append_value($ctx.source_updated_at);
        $b._synced_at.append_value($ctx.synced_at);
        $b._run_id.append_value($ctx.run_id);
    }};
}

pub(crate) use {col_new, col_ty, push_lineage, table_builder};

/// What every row of one conversation shares.
pub(crate) struct Ctx<'a> {
    /// The conversation's id.
    pub conversation_id: i64,
    /// The conversation's `updated_at`, µs since the epoch.
    pub source_updated_at: i64,
    /// The run's `_synced_at`, µs since the epoch.
    pub synced_at: i64,
    /// The run's id.
    pub run_id: &'a str,
}

/// Reused buffers and the personal-data policy (one per transformer, no per-row allocation).
pub(crate) struct Scratch {
    /// `_extra` and other JSON text being rendered.
    pub json: String,
    pii: PiiPolicy,
    hashed: String,
}

/// A class of personal data.
#[derive(Clone, Copy)]
pub(crate) enum PiiClass {
    Names,
    Emails,
    Phones,
    Ips,
    MessageTexts,
}

impl Scratch {
    pub(crate) fn new(pii: PiiPolicy) -> Self {
        Scratch {
            json: String::with_capacity(256),
            pii,
            hashed: String::with_capacity(64),
        }
    }

    /// The policy's action for `class`.
    pub(crate) fn action(&self, class: PiiClass) -> PiiAction {
        match class {
            PiiClass::Names => self.pii.names,
            PiiClass::Emails => self.pii.emails,
            PiiClass::Phones => self.pii.phones,
            PiiClass::Ips => self.pii.ips,
            PiiClass::MessageTexts => self.pii.message_texts,
        }
    }

    /// True when some class is hashed or dropped.
    pub(crate) fn redacts_anything(&self) -> bool {
        [
            PiiClass::Names,
            PiiClass::Emails,
            PiiClass::Phones,
            PiiClass::Ips,
            PiiClass::MessageTexts,
        ]
        .iter()
        .any(|c| self.action(*c) != PiiAction::Keep)
    }

    /// `value` after the policy for `class`: as is, hashed (hex SHA-256 of salt+value) or null.
    pub(crate) fn pii<'a>(
        &'a mut self,
        class: PiiClass,
        value: Option<&'a str>,
    ) -> Option<&'a str> {
        match self.action(class) {
            PiiAction::Keep => value,
            PiiAction::Drop => None,
            PiiAction::Hash => {
                let value = value?;
                let digest = Sha256::new()
                    .chain_update(self.pii.salt.as_bytes())
                    .chain_update(value.as_bytes())
                    .finalize();
                self.hashed.clear();
                for byte in digest {
                    // Writing to a String cannot fail.
                    let _ = write!(self.hashed, "{byte:02x}");
                }
                Some(&self.hashed)
            }
        }
    }
}

/// µs since the epoch of an optional datetime.
pub(crate) fn ts(dt: Option<DateTime<Utc>>) -> Option<i64> {
    dt.map(|d| d.timestamp_micros())
}

/// The JSON text of a free-form field, as received.
pub(crate) fn raw<'a>(v: &Option<ltx_model::JsonText<'a>>) -> Option<&'a str> {
    v.map(|j| j.get())
}

/// Moscow wall-clock time, cached per UTC hour (Moscow has changed offset only on whole
/// UTC hours since 1930), so the tz database is consulted once per hour of data.
#[derive(Default)]
pub(crate) struct MskClock {
    hour: Option<i64>,
    offset_micros: i64,
}

const HOUR_MICROS: i64 = 3_600_000_000;
/// 1970-01-01: before it, skip the cache (early Moscow offsets were not whole hours).
const CACHE_FROM: i64 = 0;

impl MskClock {
    /// µs since the epoch of the Moscow wall clock at `utc` (as a naive timestamp).
    pub(crate) fn naive_micros(&mut self, utc: DateTime<Utc>) -> i64 {
        let micros = utc.timestamp_micros();
        if micros < CACHE_FROM {
            return naive_micros(ltx_model::utc_to_moscow(utc));
        }
        let hour = micros.div_euclid(HOUR_MICROS);
        if self.hour != Some(hour) {
            let start = DateTime::from_timestamp_micros(hour * HOUR_MICROS).unwrap_or(utc);
            self.offset_micros =
                naive_micros(ltx_model::utc_to_moscow(start)) - start.timestamp_micros();
            self.hour = Some(hour);
        }
        micros + self.offset_micros
    }
}

fn naive_micros(n: NaiveDateTime) -> i64 {
    n.and_utc().timestamp_micros()
}
