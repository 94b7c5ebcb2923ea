//! `_rejected`: records that could not be read, kept whole so nothing is lost silently —
//! except personal data: under a policy that hashes or drops a class, the same policy is
//! applied to the raw record's fields of that class (found by key name) before it is stored.

use std::borrow::Cow;

use crate::common::{table_builder, Scratch};

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

/// `raw` with the personal-data policy applied to every field of a class that is hashed or
/// dropped, by key name (see `Scratch::redact_json`). Unchanged (borrowed) when the policy
/// keeps everything or the record holds no such field. A record that is not JSON cannot be
/// redacted and is withheld (the error and conversation id remain).
pub(crate) fn redact<'a>(raw: &'a str, scratch: &mut Scratch) -> Cow<'a, str> {
    scratch.redact_json(raw).unwrap_or_else(|| {
        Cow::Owned(
            "{\"_withheld\":\"not JSON, so personal data could not be redacted\"}".to_owned(),
        )
    })
}
