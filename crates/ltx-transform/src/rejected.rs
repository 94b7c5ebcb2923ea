//! `_rejected`: records that could not be read, kept whole so nothing is lost silently.

use crate::common::table_builder;

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
