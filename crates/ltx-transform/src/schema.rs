//! Every table's Arrow schema, defined once (the contract in `docs/CONTRACTS.md`, "Tables").
//!
//! Column order matters: the table modules append in this order and the loader writes
//! Parquet files with exactly these schemas. Change a column here and in its module
//! together; the snapshot test in this file makes every change visible in review.

use std::sync::{Arc, OnceLock};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use crate::Table;

/// Column kinds used by the tables (`ts` is UTC microseconds, `json` is Utf8 JSON text).
#[derive(Clone, Copy)]
enum Col {
    I64,
    Str,
    Json,
    Bool,
    Ts,
    /// Naive wall-clock time (no zone): `created_at_msk`.
    TsNaive,
}

/// One column: name, kind, nullable.
type Def = (&'static str, Col, bool);

const N: bool = true;
const R: bool = false;

/// Lineage columns that end every fact and dimension table.
const LINEAGE_WITH_EXTRA: [Def; 4] = [
    ("_extra", Col::Json, R),
    ("_source_updated_at", Col::Ts, R),
    ("_synced_at", Col::Ts, R),
    ("_run_id", Col::Str, R),
];

/// Lineage columns of link and quality tables (no unknown fields to keep).
const LINEAGE: [Def; 3] = [
    ("_source_updated_at", Col::Ts, R),
    ("_synced_at", Col::Ts, R),
    ("_run_id", Col::Str, R),
];

const CONVERSATIONS: &[Def] = &[
    ("conversation_id", Col::I64, R),
    ("created_at", Col::Ts, N),
    ("created_at_msk", Col::TsNaive, N),
    ("updated_at", Col::Ts, R),
    ("visitor_id", Col::Str, N),
    ("site_id", Col::I64, N),
    ("department_id", Col::I64, N),
    ("result", Col::Str, N),
    ("duration_s", Col::I64, N),
    ("page_count", Col::I64, N),
    ("visit_count", Col::I64, N),
    ("chat_count", Col::I64, N),
    ("call_count", Col::I64, N),
    ("lead_count", Col::I64, N),
    ("message_count", Col::I64, N),
    ("complaint_count", Col::I64, R),
    ("city", Col::Str, N),
    ("country", Col::Str, N),
    ("search_engine", Col::Str, N),
    ("search_query", Col::Str, N),
    ("ext_referer", Col::Str, N),
    ("int_referer", Col::Str, N),
    ("entry_page", Col::Str, N),
    ("widget_type", Col::Str, N),
    ("widget_id", Col::Str, N),
    ("visitor_variables", Col::Json, N),
    ("prechat_fields", Col::Json, N),
];

const CHATS: &[Def] = &[
    ("chat_id", Col::I64, R),
    ("conversation_id", Col::I64, R),
    ("chat_order", Col::I64, R),
    ("created_at", Col::Ts, N),
    ("updated_at", Col::Ts, N),
    ("employee_id", Col::I64, N),
    ("department_id", Col::I64, N),
    ("site_id", Col::I64, N),
    ("visitor_id", Col::Str, N),
    ("result", Col::Str, N),
    ("duration_s", Col::I64, N),
    ("queue_time_s", Col::I64, N),
    ("first_answer_time_s", Col::I64, N),
    ("answer_time_avg_s", Col::I64, N),
    ("message_count", Col::I64, N),
    ("visitor_vote", Col::Str, N),
    ("is_closed", Col::Bool, N),
    ("is_contact_info_exist", Col::Bool, N),
    ("rem_transfer", Col::Bool, N),
    ("rem_auto", Col::Bool, N),
    ("rem_empty", Col::Bool, N),
    ("rem_long_answer", Col::Bool, N),
    ("rem_lost_in_queue", Col::Bool, N),
    ("is_managed", Col::Bool, N),
    ("employee_remark", Col::Str, N),
    ("callback_url", Col::Str, N),
    ("first_message_id", Col::I64, N),
    ("prechats_chat", Col::Json, N),
    ("prechats_hidden", Col::Json, N),
    ("visitor_variables", Col::Json, N),
    ("events", Col::Json, N),
];

const CHAT_MESSAGES: &[Def] = &[
    ("message_id", Col::I64, R),
    ("chat_id", Col::I64, R),
    ("conversation_id", Col::I64, R),
    ("message_order", Col::I64, R),
    ("created_at", Col::Ts, N),
    ("sender_type", Col::Str, R),
    ("employee_id", Col::I64, N),
    ("visitor_id", Col::Str, N),
    ("text", Col::Str, N),
    ("text_length", Col::I64, N),
    ("is_delivered", Col::Bool, N),
];

const CALLS: &[Def] = &[
    ("call_id", Col::I64, R),
    ("conversation_id", Col::I64, R),
    ("call_order", Col::I64, R),
    ("created_at", Col::Ts, N),
    ("updated_at", Col::Ts, N),
    ("employee_id", Col::I64, N),
    ("is_incoming", Col::Bool, N),
    ("result", Col::Str, N),
    ("duration_s", Col::I64, N),
    ("answer_time_s", Col::I64, N),
    ("recording_url", Col::Str, N),
    ("visitor_vote", Col::Str, N),
    ("employee_vote", Col::Str, N),
    ("lead_id", Col::I64, N),
    ("department_id", Col::I64, N),
    ("site_id", Col::I64, N),
    ("visitor_id", Col::Str, N),
    ("page_count", Col::I64, N),
    ("visit_count", Col::I64, N),
    ("ext_referer", Col::Str, N),
    ("int_referer", Col::Str, N),
    ("search_engine", Col::Str, N),
    ("search_query", Col::Str, N),
    ("entry_page", Col::Str, N),
    ("rem_transfer", Col::Bool, N),
    ("rem_auto", Col::Bool, N),
    ("rem_empty", Col::Bool, N),
    ("rem_long_answer", Col::Bool, N),
    ("rem_lost_in_queue", Col::Bool, N),
    ("callback_url", Col::Str, N),
];

const LEADS: &[Def] = &[
    ("lead_id", Col::I64, R),
    ("conversation_id", Col::I64, R),
    ("lead_order", Col::I64, R),
    ("created_at", Col::Ts, N),
    ("updated_at", Col::Ts, N),
    ("lead_type", Col::Str, N),
    ("result", Col::Str, N),
    ("name", Col::Str, N),
    ("email", Col::Str, N),
    ("phone", Col::Str, N),
    ("text", Col::Str, N),
    ("answer_text", Col::Str, N),
    ("completed_at", Col::Ts, N),
    ("duration_s", Col::I64, N),
    ("created_by_id", Col::I64, N),
    ("assigned_to_id", Col::I64, N),
    ("completed_by_id", Col::I64, N),
    ("locked_by_id", Col::I64, N),
    ("is_locked", Col::Bool, N),
    ("department_id", Col::I64, N),
    ("site_id", Col::I64, N),
    ("city", Col::Str, N),
    ("country", Col::Str, N),
    ("ext_referer", Col::Str, N),
    ("int_referer", Col::Str, N),
    ("search_engine", Col::Str, N),
    ("search_query", Col::Str, N),
    ("entry_page", Col::Str, N),
];

const COMPLAINTS: &[Def] = &[
    ("complaint_id", Col::Str, R),
    ("conversation_id", Col::I64, R),
    ("complaint_order", Col::I64, R),
    ("created_at", Col::Ts, N),
    ("updated_at", Col::Ts, N),
    ("text", Col::Str, N),
    ("email", Col::Str, N),
    ("phone", Col::Str, N),
    ("employee_id", Col::I64, N),
    ("department_id", Col::I64, N),
    ("site_id", Col::I64, N),
    ("visitor_id", Col::Str, N),
];

const CONVERSATION_EMPLOYEES: &[Def] = &[
    ("conversation_id", Col::I64, R),
    ("employee_id", Col::I64, R),
    ("participation_order", Col::I64, R),
];

const CONVERSATION_EVENTS: &[Def] = &[
    ("conversation_id", Col::I64, R),
    ("event_order", Col::I64, R),
    ("event_type", Col::Str, N),
    ("event_text", Col::Str, N),
    ("employee_id", Col::I64, N),
    ("page", Col::Str, N),
    ("created_at", Col::Ts, N),
];

const EMPLOYEES: &[Def] = &[
    ("employee_id", Col::I64, R),
    ("first_name", Col::Str, N),
    ("last_name", Col::Str, N),
    ("email", Col::Str, N),
    ("phone", Col::Str, N),
    ("role_code", Col::Str, N),
    ("role_title", Col::Str, N),
    ("state", Col::Str, N),
    ("is_active", Col::Bool, N),
    ("is_deleted", Col::Bool, N),
    ("chat_limit", Col::I64, N),
    ("department_ids", Col::Json, N),
    ("created_at", Col::Ts, N),
    ("updated_at", Col::Ts, N),
    ("_seen_in_conversation_id", Col::I64, R),
];

const VISITORS: &[Def] = &[
    ("visitor_id", Col::Str, R),
    ("name", Col::Str, N),
    ("nickname", Col::Str, N),
    ("email", Col::Str, N),
    ("phone", Col::Str, N),
    ("created_at", Col::Ts, N),
    ("last_visit_at", Col::Ts, N),
    ("last_ip", Col::Str, N),
    ("last_user_agent", Col::Str, N),
    ("last_city", Col::Str, N),
    ("last_country", Col::Str, N),
    ("visit_count", Col::I64, N),
    ("chat_count", Col::I64, N),
    ("call_count", Col::I64, N),
    ("lead_count", Col::I64, N),
    ("is_banned", Col::Bool, N),
    ("banned_at", Col::Ts, N),
    ("ban_reason", Col::Str, N),
    ("comment", Col::Str, N),
    ("visitor_variables", Col::Json, N),
    ("_seen_in_conversation_id", Col::I64, R),
];

const SITES: &[Def] = &[
    ("site_id", Col::I64, R),
    ("url", Col::Str, N),
    ("created_at", Col::Ts, N),
    ("updated_at", Col::Ts, N),
    ("is_deleted", Col::Bool, N),
    ("_seen_in_conversation_id", Col::I64, R),
];

const DEPARTMENTS: &[Def] = &[
    ("department_id", Col::I64, R),
    ("title", Col::Str, N),
    ("created_at", Col::Ts, N),
    ("updated_at", Col::Ts, N),
    ("is_deleted", Col::Bool, N),
    ("_seen_in_conversation_id", Col::I64, R),
];

const QUALITY_ISSUES: &[Def] = &[
    ("conversation_id", Col::I64, R),
    ("check", Col::Str, R),
    ("expected", Col::I64, N),
    ("actual", Col::I64, N),
    ("path", Col::Str, R),
    ("field", Col::Str, R),
    ("expected_type", Col::Str, N),
    ("received_type", Col::Str, N),
];

/// `_rejected` carries its own lineage (no `_source_updated_at`: the record did not parse).
const REJECTED: &[Def] = &[
    ("conversation_id", Col::I64, N),
    ("error", Col::Str, R),
    ("field_path", Col::Str, N),
    ("raw_json", Col::Str, R),
    ("_synced_at", Col::Ts, R),
    ("_run_id", Col::Str, R),
];

/// Which lineage block follows a table's own columns.
fn columns(table: Table) -> (&'static [Def], &'static [Def]) {
    match table {
        Table::Conversations => (CONVERSATIONS, &LINEAGE_WITH_EXTRA),
        Table::Chats => (CHATS, &LINEAGE_WITH_EXTRA),
        Table::ChatMessages => (CHAT_MESSAGES, &LINEAGE_WITH_EXTRA),
        Table::Calls => (CALLS, &LINEAGE_WITH_EXTRA),
        Table::Leads => (LEADS, &LINEAGE_WITH_EXTRA),
        Table::Complaints => (COMPLAINTS, &LINEAGE_WITH_EXTRA),
        Table::ConversationEmployees => (CONVERSATION_EMPLOYEES, &LINEAGE),
        Table::ConversationEvents => (CONVERSATION_EVENTS, &LINEAGE_WITH_EXTRA),
        Table::Employees => (EMPLOYEES, &LINEAGE_WITH_EXTRA),
        Table::Visitors => (VISITORS, &LINEAGE_WITH_EXTRA),
        Table::Sites => (SITES, &LINEAGE_WITH_EXTRA),
        Table::Departments => (DEPARTMENTS, &LINEAGE_WITH_EXTRA),
        Table::QualityIssues => (QUALITY_ISSUES, &LINEAGE),
        Table::Rejected => (REJECTED, &[]),
    }
}

fn data_type(col: Col) -> DataType {
    match col {
        Col::I64 => DataType::Int64,
        Col::Str | Col::Json => DataType::Utf8,
        Col::Bool => DataType::Boolean,
        Col::Ts => DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("UTC"))),
        Col::TsNaive => DataType::Timestamp(TimeUnit::Microsecond, None),
    }
}

fn build(table: Table) -> SchemaRef {
    let (own, lineage) = columns(table);
    let fields: Vec<Field> = own
        .iter()
        .chain(lineage.iter())
        .map(|&(name, col, nullable)| Field::new(name, data_type(col), nullable))
        .collect();
    Arc::new(Schema::new(fields))
}

/// Whether `column` of `table` holds JSON text (for docs and tests; Arrow sees Utf8).
#[cfg(test)]
pub(crate) fn is_json(table: Table, column: &str) -> bool {
    let (own, lineage) = columns(table);
    own.iter()
        .chain(lineage.iter())
        .any(|&(name, col, _)| name == column && matches!(col, Col::Json))
}

/// The schema of `table`, built once per process and shared.
pub(crate) fn schema(table: Table) -> SchemaRef {
    static SCHEMAS: OnceLock<Vec<SchemaRef>> = OnceLock::new();
    let all = SCHEMAS.get_or_init(|| Table::ALL.iter().map(|&t| build(t)).collect());
    Arc::clone(&all[table.index()])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::fmt::Write;

    /// One line per column: `name  type  [null]  [json]`.
    fn render(table: Table) -> String {
        let mut out = format!(
            "{} ({:?}) key={:?}\n",
            table.name(),
            table.kind(),
            table.key_columns()
        );
        for f in table.schema().fields() {
            let json = if is_json(table, f.name()) {
                " json"
            } else {
                ""
            };
            let null = if f.is_nullable() { " null" } else { "" };
            let _ = writeln!(out, "  {:<28} {}{}{}", f.name(), f.data_type(), null, json);
        }
        out
    }

    #[test]
    fn schemas_snapshot() {
        let all: String = Table::ALL.iter().map(|&t| render(t) + "\n").collect();
        insta::assert_snapshot!(all);
    }

    #[test]
    fn key_columns_exist_and_are_not_nullable() {
        for t in Table::ALL {
            let schema = t.schema();
            for k in t.key_columns() {
                let f = schema
                    .field_with_name(k)
                    .map_err(|e| format!("{}: {e}", t.name()));
                assert!(!f.unwrap().is_nullable(), "{}.{k} nullable", t.name());
            }
        }
    }

    #[test]
    fn every_table_but_rejected_carries_lineage() {
        for t in Table::ALL {
            let s = t.schema();
            assert!(s.field_with_name("_synced_at").is_ok());
            assert!(s.field_with_name("_run_id").is_ok());
            if t != Table::Rejected {
                assert!(
                    s.field_with_name("_source_updated_at").is_ok(),
                    "{}",
                    t.name()
                );
                let has_conv = s.field_with_name("conversation_id").is_ok()
                    || s.field_with_name("_seen_in_conversation_id").is_ok();
                assert!(has_conv, "{}", t.name());
            }
        }
    }
}
