//! `_rejected`: records that could not be read, kept whole so nothing is lost silently —
//! except personal data: under a policy that hashes or drops a class, the same policy is
//! applied to the raw record's fields of that class before it is stored.

use std::borrow::Cow;

use serde_json::Value;

use crate::common::{table_builder, PiiClass, Scratch};
use crate::PiiAction;

table_builder! {
    /// Builders of the `_rejected` table.
    RejectedBuilder {
        conversation_id: i64, error: str, field_path: str, raw_json: str,
        _synced_at: ts, _run_id: str,
    }
}

impl RejectedBuilder {
    /// Appends one rejected record.
    pub(crate) fn append(
        &mut self,
        conversation_id: Option<i64>,
        error: &str,
        field_path: Option<&str>,
        raw_json: &str,
        synced_at: i64,
        run_id: &str,
    ) {
        self.conversation_id.append_option(conversation_id);
        self.error.append_value(error);
        self.field_path.append_option(field_path);
        self.raw_json.append_value(raw_json);
        self._synced_at.append_value(synced_at);
        self._run_id.append_value(run_id);
    }
}

/// The class of personal data a JSON key holds, by name, wherever it occurs in a record
/// (a rejected record could not be parsed, so its structure is not trusted). The same
/// fields as in the tables: free text (`prechat_fields`, `event_text`, ...) is kept there
/// and here alike.
fn class_of(key: &str) -> Option<PiiClass> {
    Some(match key {
        "name" | "nickname" => PiiClass::Names,
        "email" | "emails" => PiiClass::Emails,
        "phone" | "phones" => PiiClass::Phones,
        "ip" | "last_ip" => PiiClass::Ips,
        "text" => PiiClass::MessageTexts,
        _ => return None,
    })
}

/// `raw` with the personal-data policy applied to every field of a class that is hashed or
/// dropped. Unchanged (borrowed) when the policy keeps everything. A record that is not
/// JSON cannot be redacted and is withheld (the error and conversation id remain).
pub(crate) fn redact<'a>(raw: &'a str, scratch: &mut Scratch) -> Cow<'a, str> {
    if !scratch.redacts_anything() {
        return Cow::Borrowed(raw);
    }
    let Ok(mut value) = serde_json::from_str::<Value>(raw) else {
        return Cow::Owned(
            "{\"_withheld\":\"not JSON, so personal data could not be redacted\"}".to_owned(),
        );
    };
    redact_value(&mut value, None, scratch);
    Cow::Owned(value.to_string())
}

fn redact_value(value: &mut Value, class: Option<PiiClass>, scratch: &mut Scratch) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                redact_value(v, class_of(k).or(class), scratch);
            }
        }
        Value::Array(items) => {
            for v in items {
                redact_value(v, class, scratch);
            }
        }
        Value::Null | Value::Bool(_) => {}
        Value::String(_) | Value::Number(_) => {
            let Some(class) = class else { return };
            if scratch.action(class) == PiiAction::Keep {
                return;
            }
            let text = match &mut *value {
                Value::String(s) => std::mem::take(s),
                other => other.to_string(),
            };
            *value = scratch
                .pii(class, Some(&text))
                .map_or(Value::Null, |h| Value::String(h.to_owned()));
        }
    }
}
