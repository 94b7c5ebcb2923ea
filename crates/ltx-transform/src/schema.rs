//! Every table's Arrow schema, defined once (the contract in `docs/CONTRACTS.md`, "Tables"),
//! and each column's [`ColumnRole`], declared next to its type: what the loader chooses the
//! column's Parquet encoding from.
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
    /// A calendar date (no zone): `business_intervals.local_date`.
    Date,
}

/// What a column holds, as far as storing it goes: the loader derives each column's
/// Parquet encoding (dictionary, statistics, delta packing) from its role alone, so
/// renaming a column never changes how it is stored. Declared with every column below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnRole {
    /// Values that repeat across rows (the default): references to the small dimensions
    /// (employee, site, department ids), enumerations, counters and measures, flags, URLs of
    /// a site, run lineage (`_synced_at`, `_run_id`).
    Attribute,
    /// An identifier nearly unique per row: conversation, chat, message, call, lead,
    /// complaint and visitor ids. Integer ids are allocated in ascending order.
    Id,
    /// When the row's entity was created: rows arrive in about this order.
    Created,
    /// Any other instant, nearly unique per row and not in row order: updates,
    /// completions, visits, bans, the source version (`_source_updated_at`), the
    /// wall-clock copy of the creation time (`created_at_msk`).
    Instant,
    /// Personal contact details, nearly unique per person: name, nickname, e-mail, phone,
    /// IP address.
    Contact,
    /// Free-form text and JSON documents: messages, answers, comments, referrers, search
    /// queries, page addresses, event payloads, visitor variables, raw records, errors.
    FreeText,
    /// Long text or JSON values that mostly repeat across rows: user agents, remarks,
    /// lists of ids, `_extra` (usually `{}`).
    RepeatedText,
}

use ColumnRole::{Attribute, Contact, Created, FreeText, Id, Instant, RepeatedText};

/// One column: name, kind, nullable, role.
type Def = (&'static str, Col, bool, ColumnRole);

const N: bool = true;
const R: bool = false;

/// The LiveTex account a row belongs to: the first column of every table, a constant per
/// run (one run syncs one account), so Parquet stores it as a one-entry dictionary.
const ACCOUNT: [Def; 1] = [("account", Col::Str, R, Attribute)];

/// Lineage columns that end every fact and dimension table.
const LINEAGE_WITH_EXTRA: [Def; 4] = [
    ("_extra", Col::Json, R, RepeatedText),
    ("_source_updated_at", Col::Ts, R, Instant),
    ("_synced_at", Col::Ts, R, Attribute),
    ("_run_id", Col::Str, R, Attribute),
];

/// Lineage columns of link and quality tables (no unknown fields to keep).
const LINEAGE: [Def; 3] = [
    ("_source_updated_at", Col::Ts, R, Instant),
    ("_synced_at", Col::Ts, R, Attribute),
    ("_run_id", Col::Str, R, Attribute),
];

const CONVERSATIONS: &[Def] = &[
    ("conversation_id", Col::I64, R, Id),
    ("created_at", Col::Ts, N, Created),
    ("created_at_msk", Col::TsNaive, N, Instant),
    ("updated_at", Col::Ts, R, Instant),
    ("visitor_id", Col::Str, N, Id),
    ("site_id", Col::I64, N, Attribute),
    ("department_id", Col::I64, N, Attribute),
    ("result", Col::Str, N, Attribute),
    ("duration_s", Col::I64, N, Attribute),
    ("page_count", Col::I64, N, Attribute),
    ("visit_count", Col::I64, N, Attribute),
    ("chat_count", Col::I64, N, Attribute),
    ("call_count", Col::I64, N, Attribute),
    ("lead_count", Col::I64, N, Attribute),
    ("message_count", Col::I64, N, Attribute),
    ("complaint_count", Col::I64, R, Attribute),
    ("city", Col::Str, N, Attribute),
    ("country", Col::Str, N, Attribute),
    ("search_engine", Col::Str, N, Attribute),
    ("search_query", Col::Str, N, FreeText),
    ("ext_referer", Col::Str, N, FreeText),
    ("int_referer", Col::Str, N, FreeText),
    ("entry_page", Col::Str, N, FreeText),
    ("widget_type", Col::Str, N, Attribute),
    ("widget_id", Col::Str, N, Attribute),
    ("visitor_variables", Col::Json, N, FreeText),
    ("prechat_fields", Col::Json, N, FreeText),
];

const CHATS: &[Def] = &[
    ("chat_id", Col::I64, R, Id),
    ("conversation_id", Col::I64, R, Id),
    ("chat_order", Col::I64, R, Attribute),
    ("created_at", Col::Ts, N, Created),
    ("updated_at", Col::Ts, N, Instant),
    ("employee_id", Col::I64, N, Attribute),
    ("department_id", Col::I64, N, Attribute),
    ("site_id", Col::I64, N, Attribute),
    ("visitor_id", Col::Str, N, Id),
    ("result", Col::Str, N, Attribute),
    ("duration_s", Col::I64, N, Attribute),
    ("queue_time_s", Col::I64, N, Attribute),
    ("first_answer_time_s", Col::I64, N, Attribute),
    ("answer_time_avg_s", Col::I64, N, Attribute),
    ("message_count", Col::I64, N, Attribute),
    ("visitor_vote", Col::Str, N, Attribute),
    ("is_closed", Col::Bool, N, Attribute),
    ("is_contact_info_exist", Col::Bool, N, Attribute),
    ("rem_transfer", Col::Bool, N, Attribute),
    ("rem_auto", Col::Bool, N, Attribute),
    ("rem_empty", Col::Bool, N, Attribute),
    ("rem_long_answer", Col::Bool, N, Attribute),
    ("rem_lost_in_queue", Col::Bool, N, Attribute),
    ("is_managed", Col::Bool, N, Attribute),
    ("employee_remark", Col::Str, N, RepeatedText),
    ("callback_url", Col::Str, N, Attribute),
    ("first_message_id", Col::I64, N, Id),
    ("prechats_chat", Col::Json, N, FreeText),
    ("prechats_hidden", Col::Json, N, FreeText),
    ("visitor_variables", Col::Json, N, FreeText),
    ("events", Col::Json, N, FreeText),
];

const CHAT_MESSAGES: &[Def] = &[
    ("message_id", Col::I64, R, Id),
    ("chat_id", Col::I64, R, Id),
    ("conversation_id", Col::I64, R, Id),
    ("message_order", Col::I64, R, Attribute),
    ("created_at", Col::Ts, N, Created),
    ("sender_type", Col::Str, R, Attribute),
    ("employee_id", Col::I64, N, Attribute),
    ("visitor_id", Col::Str, N, Id),
    ("text", Col::Str, N, FreeText),
    ("text_length", Col::I64, N, Attribute),
    ("is_delivered", Col::Bool, N, Attribute),
];

const CALLS: &[Def] = &[
    ("call_id", Col::I64, R, Id),
    ("conversation_id", Col::I64, R, Id),
    ("call_order", Col::I64, R, Attribute),
    ("created_at", Col::Ts, N, Created),
    ("updated_at", Col::Ts, N, Instant),
    ("employee_id", Col::I64, N, Attribute),
    ("is_incoming", Col::Bool, N, Attribute),
    ("result", Col::Str, N, Attribute),
    ("duration_s", Col::I64, N, Attribute),
    ("answer_time_s", Col::I64, N, Attribute),
    ("recording_url", Col::Str, N, Attribute),
    ("visitor_vote", Col::Str, N, Attribute),
    ("employee_vote", Col::Str, N, Attribute),
    ("lead_id", Col::I64, N, Id),
    ("department_id", Col::I64, N, Attribute),
    ("site_id", Col::I64, N, Attribute),
    ("visitor_id", Col::Str, N, Id),
    ("page_count", Col::I64, N, Attribute),
    ("visit_count", Col::I64, N, Attribute),
    ("ext_referer", Col::Str, N, FreeText),
    ("int_referer", Col::Str, N, FreeText),
    ("search_engine", Col::Str, N, Attribute),
    ("search_query", Col::Str, N, FreeText),
    ("entry_page", Col::Str, N, FreeText),
    ("rem_transfer", Col::Bool, N, Attribute),
    ("rem_auto", Col::Bool, N, Attribute),
    ("rem_empty", Col::Bool, N, Attribute),
    ("rem_long_answer", Col::Bool, N, Attribute),
    ("rem_lost_in_queue", Col::Bool, N, Attribute),
    ("callback_url", Col::Str, N, Attribute),
];

const LEADS: &[Def] = &[
    ("lead_id", Col::I64, R, Id),
    ("conversation_id", Col::I64, R, Id),
    ("lead_order", Col::I64, R, Attribute),
    ("created_at", Col::Ts, N, Created),
    ("updated_at", Col::Ts, N, Instant),
    ("lead_type", Col::Str, N, Attribute),
    ("result", Col::Str, N, Attribute),
    ("name", Col::Str, N, Contact),
    ("email", Col::Str, N, Contact),
    ("phone", Col::Str, N, Contact),
    ("text", Col::Str, N, FreeText),
    ("answer_text", Col::Str, N, FreeText),
    ("completed_at", Col::Ts, N, Instant),
    ("duration_s", Col::I64, N, Attribute),
    ("created_by_id", Col::I64, N, Attribute),
    ("assigned_to_id", Col::I64, N, Attribute),
    ("completed_by_id", Col::I64, N, Attribute),
    ("locked_by_id", Col::I64, N, Attribute),
    ("is_locked", Col::Bool, N, Attribute),
    ("department_id", Col::I64, N, Attribute),
    ("site_id", Col::I64, N, Attribute),
    ("city", Col::Str, N, Attribute),
    ("country", Col::Str, N, Attribute),
    ("ext_referer", Col::Str, N, FreeText),
    ("int_referer", Col::Str, N, FreeText),
    ("search_engine", Col::Str, N, Attribute),
    ("search_query", Col::Str, N, FreeText),
    ("entry_page", Col::Str, N, FreeText),
];

const COMPLAINTS: &[Def] = &[
    ("complaint_id", Col::Str, R, Id),
    ("conversation_id", Col::I64, R, Id),
    ("complaint_order", Col::I64, R, Attribute),
    ("created_at", Col::Ts, N, Created),
    ("updated_at", Col::Ts, N, Instant),
    ("text", Col::Str, N, FreeText),
    ("email", Col::Str, N, Contact),
    ("phone", Col::Str, N, Contact),
    ("employee_id", Col::I64, N, Attribute),
    ("department_id", Col::I64, N, Attribute),
    ("site_id", Col::I64, N, Attribute),
    ("visitor_id", Col::Str, N, Id),
];

const CONVERSATION_EMPLOYEES: &[Def] = &[
    ("conversation_id", Col::I64, R, Id),
    ("employee_id", Col::I64, R, Attribute),
    ("participation_order", Col::I64, R, Attribute),
];

const CONVERSATION_EVENTS: &[Def] = &[
    ("conversation_id", Col::I64, R, Id),
    ("event_order", Col::I64, R, Attribute),
    ("event_type", Col::Str, N, Attribute),
    ("event_text", Col::Str, N, FreeText),
    ("employee_id", Col::I64, N, Attribute),
    ("page", Col::Str, N, FreeText),
    ("created_at", Col::Ts, N, Created),
];

const EMPLOYEES: &[Def] = &[
    ("employee_id", Col::I64, R, Attribute),
    ("first_name", Col::Str, N, Attribute),
    ("last_name", Col::Str, N, Attribute),
    ("email", Col::Str, N, Contact),
    ("phone", Col::Str, N, Contact),
    ("role_code", Col::Str, N, Attribute),
    ("role_title", Col::Str, N, Attribute),
    ("state", Col::Str, N, Attribute),
    ("is_active", Col::Bool, N, Attribute),
    ("is_deleted", Col::Bool, N, Attribute),
    ("chat_limit", Col::I64, N, Attribute),
    ("department_ids", Col::Json, N, RepeatedText),
    ("created_at", Col::Ts, N, Created),
    ("updated_at", Col::Ts, N, Instant),
    ("_seen_in_conversation_id", Col::I64, R, Id),
];

const VISITORS: &[Def] = &[
    ("visitor_id", Col::Str, R, Id),
    ("name", Col::Str, N, Contact),
    ("nickname", Col::Str, N, Contact),
    ("email", Col::Str, N, Contact),
    ("phone", Col::Str, N, Contact),
    ("created_at", Col::Ts, N, Created),
    ("last_visit_at", Col::Ts, N, Instant),
    ("last_ip", Col::Str, N, Contact),
    ("last_user_agent", Col::Str, N, RepeatedText),
    ("last_city", Col::Str, N, Attribute),
    ("last_country", Col::Str, N, Attribute),
    ("visit_count", Col::I64, N, Attribute),
    ("chat_count", Col::I64, N, Attribute),
    ("call_count", Col::I64, N, Attribute),
    ("lead_count", Col::I64, N, Attribute),
    ("is_banned", Col::Bool, N, Attribute),
    ("banned_at", Col::Ts, N, Instant),
    ("ban_reason", Col::Str, N, Attribute),
    ("comment", Col::Str, N, FreeText),
    ("visitor_variables", Col::Json, N, FreeText),
    ("_seen_in_conversation_id", Col::I64, R, Id),
];

const SITES: &[Def] = &[
    ("site_id", Col::I64, R, Attribute),
    ("url", Col::Str, N, Attribute),
    ("created_at", Col::Ts, N, Created),
    ("updated_at", Col::Ts, N, Instant),
    ("is_deleted", Col::Bool, N, Attribute),
    ("_seen_in_conversation_id", Col::I64, R, Id),
];

const DEPARTMENTS: &[Def] = &[
    ("department_id", Col::I64, R, Attribute),
    ("title", Col::Str, N, Attribute),
    ("created_at", Col::Ts, N, Created),
    ("updated_at", Col::Ts, N, Instant),
    ("is_deleted", Col::Bool, N, Attribute),
    ("_seen_in_conversation_id", Col::I64, R, Id),
];

const QUALITY_ISSUES: &[Def] = &[
    ("conversation_id", Col::I64, R, Id),
    ("check", Col::Str, R, Attribute),
    ("expected", Col::I64, N, Attribute),
    ("actual", Col::I64, N, Attribute),
    ("path", Col::Str, R, Attribute),
    ("field", Col::Str, R, Attribute),
    ("expected_type", Col::Str, N, Attribute),
    ("received_type", Col::Str, N, Attribute),
];

/// `_rejected` carries its own lineage (no `_source_updated_at`: the record did not parse).
const REJECTED: &[Def] = &[
    ("conversation_id", Col::I64, N, Id),
    ("error", Col::Str, R, FreeText),
    ("field_path", Col::Str, N, Attribute),
    ("raw_json", Col::Str, R, FreeText),
    ("_synced_at", Col::Ts, R, Attribute),
    ("_run_id", Col::Str, R, Attribute),
];

/// Lineage of the reference tables: the run that wrote them (no source version, no
/// conversation: they come from the configuration).
const LINEAGE_REFERENCE: [Def; 2] = [
    ("_synced_at", Col::Ts, R, Attribute),
    ("_run_id", Col::Str, R, Attribute),
];

/// One row per working interval of a business calendar, in UTC.
const BUSINESS_INTERVALS: &[Def] = &[
    ("schedule", Col::Str, R, Attribute),
    ("local_date", Col::Date, R, Attribute),
    ("day_kind", Col::Str, R, Attribute),
    ("start_utc", Col::Ts, R, Instant),
    ("end_utc", Col::Ts, R, Instant),
    ("seconds", Col::I64, R, Attribute),
    ("seconds_before", Col::I64, R, Attribute),
];

/// One row per assignment of a calendar: the default (no ids), a site or a department.
const SCHEDULE_ASSIGNMENTS: &[Def] = &[
    ("scope", Col::Str, R, Attribute),
    ("site_id", Col::I64, N, Attribute),
    ("department_id", Col::I64, N, Attribute),
    ("schedule", Col::Str, R, Attribute),
    ("time_zone", Col::Str, R, Attribute),
];

/// One row per SLA target; a target without site and department applies to all.
const SLA_TARGETS: &[Def] = &[
    ("metric", Col::Str, R, Attribute),
    ("channel", Col::Str, R, Attribute),
    ("site_id", Col::I64, N, Attribute),
    ("department_id", Col::I64, N, Attribute),
    ("clock", Col::Str, R, Attribute),
    ("target_s", Col::I64, R, Attribute),
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
        Table::BusinessIntervals => (BUSINESS_INTERVALS, &LINEAGE_REFERENCE),
        Table::ScheduleAssignments => (SCHEDULE_ASSIGNMENTS, &LINEAGE_REFERENCE),
        Table::SlaTargets => (SLA_TARGETS, &LINEAGE_REFERENCE),
    }
}

fn data_type(col: Col) -> DataType {
    match col {
        Col::I64 => DataType::Int64,
        Col::Str | Col::Json => DataType::Utf8,
        Col::Bool => DataType::Boolean,
        Col::Ts => DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("UTC"))),
        Col::TsNaive => DataType::Timestamp(TimeUnit::Microsecond, None),
        Col::Date => DataType::Date32,
    }
}

fn build(table: Table) -> SchemaRef {
    let (own, lineage) = columns(table);
    let fields: Vec<Field> = ACCOUNT
        .iter()
        .chain(own.iter())
        .chain(lineage.iter())
        .map(|&(name, col, nullable, _)| Field::new(name, data_type(col), nullable))
        .collect();
    Arc::new(Schema::new(fields))
}

/// Whether `column` of `table` holds JSON text (for docs and tests; Arrow sees Utf8).
#[cfg(test)]
pub(crate) fn is_json(table: Table, column: &str) -> bool {
    let (own, lineage) = columns(table);
    ACCOUNT
        .iter()
        .chain(own.iter())
        .chain(lineage.iter())
        .any(|&(name, col, _, _)| name == column && matches!(col, Col::Json))
}

/// `(name, role)` of every column of `table`, in schema order.
pub(crate) fn column_roles(table: Table) -> Vec<(&'static str, ColumnRole)> {
    let (own, lineage) = columns(table);
    ACCOUNT
        .iter()
        .chain(own.iter())
        .chain(lineage.iter())
        .map(|&(name, _, _, role)| (name, role))
        .collect()
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

    /// Every column's role, per table: a change of role changes how the loader stores the
    /// column, and shows here in review.
    #[test]
    fn column_roles_snapshot() {
        let mut all = String::new();
        for t in Table::ALL {
            let _ = writeln!(all, "{}", t.name());
            for (name, role) in t.column_roles() {
                let _ = writeln!(all, "  {name:<28} {role:?}");
            }
        }
        insta::assert_snapshot!(all);
    }

    /// A column name means one thing: wherever it occurs it has the same role (the loader's
    /// Parquet settings are keyed by column name).
    #[test]
    fn a_column_name_has_the_same_role_in_every_table() {
        let mut seen: std::collections::HashMap<&str, (ColumnRole, Table)> =
            std::collections::HashMap::new();
        for t in Table::ALL {
            let roles = t.column_roles();
            let schema = t.schema();
            let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            assert_eq!(roles.iter().map(|r| r.0).collect::<Vec<_>>(), names);
            for (name, role) in roles {
                let (first, in_table) = *seen.entry(name).or_insert((role, t));
                assert_eq!(
                    role,
                    first,
                    "{}.{name} is {role:?} but {}.{name} is {first:?}",
                    t.name(),
                    in_table.name()
                );
            }
        }
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
            if t != Table::Rejected && t.kind() != crate::TableKind::Reference {
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
