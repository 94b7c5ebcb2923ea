//! What every table module shares: the builder macro, per-conversation context,
//! lineage, personal-data handling and the MSK clock cache.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::Value;
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
        $scratch.append_extra(&mut $b._extra, $obj);
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
    /// The policy's `form_fields`, resolved once.
    form_fields: PiiAction,
    /// SHA-256 state after the salt (cloned for each value).
    salted: Sha256,
    hashed: String,
}

/// A class of personal data.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum PiiClass {
    Names,
    Emails,
    Phones,
    Ips,
    MessageTexts,
    FormFields,
}

impl PiiClass {
    const ALL: [PiiClass; 6] = [
        PiiClass::Names,
        PiiClass::Emails,
        PiiClass::Phones,
        PiiClass::Ips,
        PiiClass::MessageTexts,
        PiiClass::FormFields,
    ];
}

impl Scratch {
    pub(crate) fn new(pii: PiiPolicy) -> Self {
        Scratch {
            json: String::with_capacity(256),
            form_fields: pii.form_fields_action(),
            salted: Sha256::new().chain_update(pii.salt.as_bytes()),
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
            PiiClass::FormFields => self.form_fields,
        }
    }

    /// True when some class is hashed or dropped.
    pub(crate) fn redacts_anything(&self) -> bool {
        PiiClass::ALL
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
                hash_into(&self.salted, value?, &mut self.hashed);
                Some(&self.hashed)
            }
        }
    }

    /// A free-form JSON column of class `form_fields`: as received, the same shape with
    /// every string and number leaf hashed (keys kept), or null.
    pub(crate) fn form<'a>(&mut self, json: Option<&'a str>) -> Option<Cow<'a, str>> {
        match self.form_fields {
            PiiAction::Keep => json.map(Cow::Borrowed),
            PiiAction::Drop => None,
            PiiAction::Hash => {
                // The model checked the text, so it parses; were it not JSON, withhold it.
                let mut value: Value = serde_json::from_str(json?).ok()?;
                hash_leaves(&mut value, &self.salted, &mut self.hashed);
                // Not `value.to_string()`: `Display` writes through `fmt`, 3-4 times slower.
                serde_json::to_string(&value).ok().map(Cow::Owned)
            }
        }
    }

    /// Appends a row's `_extra` (see [`crate::unknown::extra_json`]) with the policy applied
    /// by key name: a value the model could not read is kept there under its own key
    /// (`name`, `email`, ...), and must not escape the policy its column follows.
    pub(crate) fn append_extra<U: crate::unknown::Unknowns + ?Sized>(
        &mut self,
        b: &mut arrow::array::StringBuilder,
        u: &U,
    ) {
        let mut text = std::mem::take(&mut self.json);
        let extra = crate::unknown::extra_json(u, &mut text);
        if extra == "{}" {
            b.append_value(extra);
        } else {
            // Built by us from JSON values: it parses, so `None` cannot happen; withheld if it did.
            match self.redact_checked_json(extra) {
                Some(redacted) => b.append_value(redacted),
                None => b.append_value("{\"_withheld\":\"personal data could not be redacted\"}"),
            }
        }
        self.json = text;
    }

    /// JSON of a known shape but several classes (`chats.events`, `_rejected.raw_json`)
    /// with the policy applied field by field, by key name ([`class_of`]); as received
    /// when nothing was changed. `None` when `json` is not JSON and the policy redacts
    /// anything (the caller withholds it).
    pub(crate) fn redact_json<'a>(&mut self, json: &'a str) -> Option<Cow<'a, str>> {
        if !self.redacts_anything() {
            return Some(Cow::Borrowed(json));
        }
        let mut value: Value = serde_json::from_str(json).ok()?;
        Some(if self.redact_value(&mut value, None) {
            Cow::Owned(serde_json::to_string(&value).ok()?)
        } else {
            Cow::Borrowed(json)
        })
    }

    /// As [`Scratch::redact_json`], for text the model has checked to be JSON (`chats.events`):
    /// not parsed when no key of a class the policy hashes or drops can occur in it (chat
    /// events usually hold none under a policy that keeps texts).
    pub(crate) fn redact_checked_json<'a>(&mut self, json: &'a str) -> Option<Cow<'a, str>> {
        if !self.may_hold_redacted_keys(json) {
            return Some(Cow::Borrowed(json));
        }
        self.redact_json(json)
    }

    /// Whether `json` may hold a key of a class the policy hashes or drops. A key is the text
    /// between two quotes, so looking at every such text (between each quote and the next)
    /// finds it, unless it is written with a `\u00XX` escape (the keys are plain ASCII;
    /// Cyrillic escapes are `\u04XX`), which sends the text to the full check.
    fn may_hold_redacted_keys(&self, json: &str) -> bool {
        self.redacts_anything()
            && (json.contains("\\u00")
                || json
                    .split('"')
                    .any(|s| class_of(s).is_some_and(|c| self.action(c) != PiiAction::Keep)))
    }

    /// Applies the policy to `value`, which is of `class` (inherited from the nearest
    /// classed key above it); true if anything changed.
    fn redact_value(&mut self, value: &mut Value, class: Option<PiiClass>) -> bool {
        if class == Some(PiiClass::FormFields) {
            // A form is redacted as a whole, as in its columns (its keys are not classes).
            return match self.form_fields {
                PiiAction::Keep => false,
                PiiAction::Drop => !std::mem::replace(value, Value::Null).is_null(),
                PiiAction::Hash => {
                    hash_leaves(value, &self.salted, &mut self.hashed);
                    true
                }
            };
        }
        match value {
            Value::Object(map) => {
                let mut changed = false;
                for (k, v) in map.iter_mut() {
                    changed |= self.redact_value(v, class_of(k).or(class));
                }
                changed
            }
            Value::Array(items) => {
                let mut changed = false;
                for v in items {
                    changed |= self.redact_value(v, class);
                }
                changed
            }
            Value::Null | Value::Bool(_) => false,
            Value::String(_) | Value::Number(_) => {
                let Some(class) = class else { return false };
                if self.action(class) == PiiAction::Keep {
                    return false;
                }
                let text = match &mut *value {
                    Value::String(s) => std::mem::take(s),
                    other => other.to_string(),
                };
                *value = self
                    .pii(class, Some(&text))
                    .map_or(Value::Null, |h| Value::String(h.to_owned()));
                true
            }
        }
    }
}

/// The class of personal data a JSON key holds, by name, wherever it occurs: the keys of
/// the classed columns (a rejected record could not be parsed, so its structure is not
/// trusted; a chat event holds `event_text` as a conversation event does).
fn class_of(key: &str) -> Option<PiiClass> {
    Some(match key {
        "name" | "nickname" => PiiClass::Names,
        "email" | "emails" => PiiClass::Emails,
        "phone" | "phones" => PiiClass::Phones,
        "ip" | "last_ip" => PiiClass::Ips,
        "text" | "answer_text" | "event_text" | "employee_remark" | "comment" | "ban_reason" => {
            PiiClass::MessageTexts
        }
        "prechat_fields" | "prechats_chat" | "prechats_hidden" | "visitor_variables" => {
            PiiClass::FormFields
        }
        _ => return None,
    })
}

/// Lowercase hex SHA-256 of `salt + value` (`salted`: the state after the salt), into `out`.
fn hash_into(salted: &Sha256, value: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = salted.clone().chain_update(value.as_bytes()).finalize();
    // By table: `write!` with `{:02x}` per byte cost more than the SHA-256 itself.
    let mut hex = [0u8; 64];
    for (pair, byte) in hex.chunks_exact_mut(2).zip(digest) {
        pair[0] = HEX[usize::from(byte >> 4)];
        pair[1] = HEX[usize::from(byte & 0x0f)];
    }
    out.clear();
    // Always ASCII, so always UTF-8.
    if let Ok(text) = std::str::from_utf8(&hex) {
        out.push_str(text);
    }
}

/// Replaces every string and number in `value` by its hash (a number: of its JSON text);
/// keys, nulls and booleans stay.
fn hash_leaves(value: &mut Value, salted: &Sha256, buf: &mut String) {
    match value {
        Value::Object(map) => map.values_mut().for_each(|v| hash_leaves(v, salted, buf)),
        Value::Array(items) => items.iter_mut().for_each(|v| hash_leaves(v, salted, buf)),
        Value::Null | Value::Bool(_) => {}
        Value::String(s) => {
            hash_into(salted, s, buf);
            s.clone_from(buf);
        }
        Value::Number(n) => {
            hash_into(salted, &n.to_string(), buf);
            *value = Value::String(buf.clone());
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn scratch(f: impl FnOnce(&mut PiiPolicy)) -> Scratch {
        let mut policy = PiiPolicy::default();
        f(&mut policy);
        Scratch::new(policy)
    }

    #[test]
    fn checked_json_is_parsed_only_when_a_redacted_key_may_occur() {
        let events = r#"[ {"event_text": "Ольга начала чат", "employee": {"id": 1}} ]"#;
        // No key of a dropped class: as received, byte for byte (not re-serialized).
        let mut s = scratch(|p| p.ips = PiiAction::Drop);
        assert!(matches!(s.redact_checked_json(events), Some(Cow::Borrowed(e)) if e == events));
        // Texts dropped: the text goes, the rest stays.
        let mut s = scratch(|p| p.message_texts = PiiAction::Drop);
        let out = s.redact_checked_json(events).unwrap();
        assert_eq!(out, r#"[{"employee":{"id":1},"event_text":null}]"#);
        // Escaped quotes before the key do not hide it.
        let quoted = r#"[{"page": "a\"b\"", "event_text": "Ольга"}]"#;
        assert_eq!(
            s.redact_checked_json(quoted).unwrap(),
            r#"[{"event_text":null,"page":"a\"b\""}]"#
        );
        // The key's name as a value: checked, nothing to change, kept as received.
        let value = r#"[ {"page": "event_text"} ]"#;
        assert!(matches!(s.redact_checked_json(value), Some(Cow::Borrowed(e)) if e == value));
        // A key written with an escape is found too.
        let escaped = r#"[{"event_te\u0078t": "Ольга"}]"#;
        assert_eq!(
            s.redact_checked_json(escaped).unwrap(),
            r#"[{"event_text":null}]"#
        );
    }

    #[test]
    fn hashes_are_lowercase_hex_sha256_of_salt_and_value() {
        let mut s = scratch(|p| {
            p.names = PiiAction::Hash;
            p.salt = "pepper".to_owned();
        });
        let want = hex::encode(Sha256::digest("pepperОльга".as_bytes()));
        assert_eq!(s.pii(PiiClass::Names, Some("Ольга")), Some(want.as_str()));
    }
}
