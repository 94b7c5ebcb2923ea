//! Normalizes LiveTex conversations into Arrow record batches, one table per entity.
//!
//! Owns: the table layout (`schema.rs`, with each column's [`ColumnRole`]; one module per
//! table), the mapping from [`ltx_model::Conversation`] to rows (foreign keys, positions,
//! JSON text for free-form objects, `_extra` for unknown fields, lineage columns), personal-data
//! hashing/dropping ([`PiiPolicy`]), reconciliation of the API's counters
//! (`_quality_issues`) and the `_rejected` rows for records that do not parse.
//! The `account` column every table starts with, partitioning into `<account>/<YYYY-MM>`
//! and batching by `batch_rows`.
//!
//! Does not own: HTTP (ltx-extract), the wire types and their tolerance (ltx-model),
//! Parquet files, commits and DuckDB views (ltx-load). Plain synchronous code: the
//! caller feeds a [`Transformer`] and drains full batches as it goes, or hands records to a
//! [`TransformPool`] that runs one `Transformer` per core (JSON parsing is most of the cost).

mod calls;
mod chat_messages;
mod chats;
mod common;
mod complaints;
mod conversation_employees;
mod conversation_events;
mod conversations;
mod dimensions;
mod leads;
pub mod pool;
mod quality;
mod reference;
mod rejected;
mod schema;
mod transformer;
mod unknown;

pub use pool::{Record, TransformPool};
pub use reference::{
    reference_batches, reference_partition, ReferenceLineage, SlaClock, SlaMetric, SlaTarget,
    REFERENCE_PARTITION,
};
pub use schema::ColumnRole;
pub use transformer::Transformer;

use std::collections::BTreeMap;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// Every table this crate produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Table {
    /// One row per conversation.
    Conversations,
    /// One row per chat of a conversation.
    Chats,
    /// One row per message of a chat.
    ChatMessages,
    /// One row per call of a conversation.
    Calls,
    /// One row per lead of a conversation.
    Leads,
    /// One row per complaint of a conversation.
    Complaints,
    /// One row per employee listed as participant of a conversation.
    ConversationEmployees,
    /// One row per conversation-level event.
    ConversationEvents,
    /// Snapshot of an employee as seen in one conversation.
    Employees,
    /// Snapshot of a visitor as seen in one conversation.
    Visitors,
    /// Snapshot of a site as seen in one conversation.
    Sites,
    /// Snapshot of a department as seen in one conversation.
    Departments,
    /// Counter mismatches found by reconciliation.
    QualityIssues,
    /// Records that could not be parsed.
    Rejected,
    /// Working intervals of every business calendar, in UTC (from the configuration).
    BusinessIntervals,
    /// Which business calendar each site and department works by (from the configuration).
    ScheduleAssignments,
    /// SLA targets per metric, site and department (from the configuration).
    SlaTargets,
}

/// What kind of rows a table holds (the loader treats them differently).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TableKind {
    /// Facts of a conversation, replaced with the conversation.
    Fact,
    /// Snapshot rows of an entity; a view keeps the latest per key.
    Dimension,
    /// Reconciliation findings (`_quality_issues`).
    Quality,
    /// Unparseable records (`_rejected`), append-only.
    Rejected,
    /// Derived from the configuration, not from the API (business calendars, SLA
    /// targets): written whole by every run and replaced when its content changes.
    Reference,
}

impl Table {
    /// Every table, in schema order.
    pub const ALL: [Table; 17] = [
        Table::Conversations,
        Table::Chats,
        Table::ChatMessages,
        Table::Calls,
        Table::Leads,
        Table::Complaints,
        Table::ConversationEmployees,
        Table::ConversationEvents,
        Table::Employees,
        Table::Visitors,
        Table::Sites,
        Table::Departments,
        Table::QualityIssues,
        Table::Rejected,
        Table::BusinessIntervals,
        Table::ScheduleAssignments,
        Table::SlaTargets,
    ];

    /// Position in [`Table::ALL`].
    pub(crate) const fn index(self) -> usize {
        self as usize
    }

    /// The table's name in the warehouse (directory and view name).
    pub const fn name(self) -> &'static str {
        match self {
            Table::Conversations => "conversations",
            Table::Chats => "chats",
            Table::ChatMessages => "chat_messages",
            Table::Calls => "calls",
            Table::Leads => "leads",
            Table::Complaints => "complaints",
            Table::ConversationEmployees => "conversation_employees",
            Table::ConversationEvents => "conversation_events",
            Table::Employees => "employees",
            Table::Visitors => "visitors",
            Table::Sites => "sites",
            Table::Departments => "departments",
            Table::QualityIssues => "_quality_issues",
            Table::Rejected => "_rejected",
            Table::BusinessIntervals => "business_intervals",
            Table::ScheduleAssignments => "schedule_assignments",
            Table::SlaTargets => "sla_targets",
        }
    }

    /// The table with this [`Table::name`], if any.
    pub fn from_name(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The table's Arrow schema (defined once, in `schema.rs`).
    pub fn schema(self) -> SchemaRef {
        schema::schema(self)
    }

    /// `(name, role)` of every column, in schema order (declared with the schema): what
    /// the loader chooses each column's encoding from.
    pub fn column_roles(self) -> Vec<(&'static str, ColumnRole)> {
        schema::column_roles(self)
    }

    /// Fact, dimension, quality, rejected or reference.
    pub const fn kind(self) -> TableKind {
        match self {
            Table::Conversations
            | Table::Chats
            | Table::ChatMessages
            | Table::Calls
            | Table::Leads
            | Table::Complaints
            | Table::ConversationEmployees
            | Table::ConversationEvents => TableKind::Fact,
            Table::Employees | Table::Visitors | Table::Sites | Table::Departments => {
                TableKind::Dimension
            }
            Table::QualityIssues => TableKind::Quality,
            Table::Rejected => TableKind::Rejected,
            Table::BusinessIntervals | Table::ScheduleAssignments | Table::SlaTargets => {
                TableKind::Reference
            }
        }
    }

    /// Columns that identify a row (dimensions: the entity id; the view keeps the
    /// latest `_source_updated_at` per key). Every key starts with `account`: ids are unique
    /// only within one LiveTex account. Empty for `_rejected`, `schedule_assignments` and
    /// `sla_targets`, which have no key (their whole row is one).
    pub const fn key_columns(self) -> &'static [&'static str] {
        match self {
            Table::Conversations => &["account", "conversation_id"],
            Table::Chats => &["account", "chat_id"],
            Table::ChatMessages => &["account", "message_id"],
            Table::Calls => &["account", "call_id"],
            Table::Leads => &["account", "lead_id"],
            Table::Complaints => &["account", "complaint_id"],
            Table::ConversationEmployees => &["account", "conversation_id", "participation_order"],
            Table::ConversationEvents => &["account", "conversation_id", "event_order"],
            Table::Employees => &["account", "employee_id"],
            Table::Visitors => &["account", "visitor_id"],
            Table::Sites => &["account", "site_id"],
            Table::Departments => &["account", "department_id"],
            Table::QualityIssues => &["account", "conversation_id", "check", "path"],
            Table::Rejected => &[],
            Table::BusinessIntervals => &["account", "schedule", "start_utc"],
            Table::ScheduleAssignments | Table::SlaTargets => &[],
        }
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A batch of rows of one table, for one partition.
#[derive(Debug, Clone)]
pub struct TableBatch {
    /// Which table the rows belong to.
    pub table: Table,
    /// `<account>/<YYYY-MM>`: the account, then the UTC month of the conversation's
    /// `created_at` (`_rejected`: of `_synced_at`; reference tables: `<account>/all`).
    pub partition: String,
    /// The rows, with exactly `table.schema()`.
    pub batch: RecordBatch,
}

/// What to do with one class of personal data, ordered from the least to the most strict
/// (`Keep < Hash < Drop`).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum PiiAction {
    /// Store the value as received.
    #[default]
    Keep,
    /// Store lowercase hex SHA-256 of `salt + value`.
    Hash,
    /// Store null.
    Drop,
}

/// Personal-data policy, per class of data (config `[personal_data]`, values `keep|hash|drop`).
///
/// The same policy applies to `_rejected.raw_json`, field by field by key name (a record
/// that did not parse has no trusted structure), and to `chats.events` (chat events hold
/// `event_text` as conversation events do).
///
/// Not covered, kept as received whatever the policy: `_extra` (fields the model does not
/// know, which may hold personal data under names it cannot recognize); employees' first
/// and last names (staff, as the operator reports show them); URLs (referers, entry page,
/// event page, recording and callback URLs, site URL) and `search_query` (what the visitor
/// typed into a search engine, which the referer URL carries too: attribution data);
/// city, country and user agent; `widget_id` (an id, or the company's invitation text).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PiiPolicy {
    /// Visitors' names: visitors.name/nickname, leads.name.
    pub names: PiiAction,
    /// Every `email` column.
    pub emails: PiiAction,
    /// Every `phone` column.
    pub phones: PiiAction,
    /// visitors.last_ip.
    pub ips: PiiAction,
    /// Free text written by or about people: chat_messages.text (`text_length` is always
    /// kept), leads.text/answer_text, complaints.text, conversation_events.event_text
    /// (and `event_text` in chats.events), chats.employee_remark, visitors.comment/ban_reason.
    pub message_texts: PiiAction,
    /// Free-form JSON filled in by or for the visitor: conversations.prechat_fields and
    /// visitor_variables, chats.prechats_chat/prechats_hidden/visitor_variables,
    /// visitors.visitor_variables. `keep`: as received; `hash`: the same JSON shape with
    /// every string and number replaced by its hash (keys kept, so one can still group by
    /// field; a number is hashed as its JSON text); `drop`: null. Unset (`None`): the
    /// strictest of `names`, `emails` and `phones` ([`PiiPolicy::form_fields_action`]), since
    /// forms hold exactly those: a policy written before this class existed that drops
    /// phones drops forms too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form_fields: Option<PiiAction>,
    /// Prepended to the value before hashing (keep it secret and stable).
    pub salt: String,
}

impl PiiPolicy {
    /// The action for `form_fields`: as set, else the strictest of names, emails and phones.
    pub fn form_fields_action(&self) -> PiiAction {
        self.form_fields
            .unwrap_or_else(|| self.names.max(self.emails).max(self.phones))
    }
}

/// Default number of rows per emitted batch.
pub const DEFAULT_BATCH_ROWS: usize = 65_536;

/// The allowed `batch_rows` (`sync.batch_rows` in the configuration).
pub const BATCH_ROWS: std::ops::RangeInclusive<usize> = 1..=10_000_000;

/// Configuration of one transform run.
#[derive(Debug, Clone, PartialEq)]
pub struct TransformConfig {
    /// Emit a table's batch once it holds this many rows (default 65,536).
    pub batch_rows: usize,
    /// Personal-data policy.
    pub pii: PiiPolicy,
    /// The sync run's id (`_run_id` column).
    pub run_id: String,
    /// When the run started (`_synced_at` column).
    pub synced_at: DateTime<Utc>,
    /// The LiveTex account synced (`account` column, first part of every partition);
    /// see [`valid_account`].
    pub account: String,
}

impl TransformConfig {
    /// Default batch size and PII policy (keep everything) for a run.
    pub fn new(run_id: impl Into<String>, synced_at: DateTime<Utc>) -> Self {
        TransformConfig {
            batch_rows: DEFAULT_BATCH_ROWS,
            pii: PiiPolicy::default(),
            run_id: run_id.into(),
            synced_at,
            account: DEFAULT_ACCOUNT.to_owned(),
        }
    }

    /// Checks the values a user can get wrong.
    pub fn validate(&self) -> Result<(), TransformError> {
        if let Err(reason) = valid_account(&self.account) {
            return Err(TransformError::InvalidConfig {
                key: "account",
                reason,
            });
        }
        if !BATCH_ROWS.contains(&self.batch_rows) {
            return Err(TransformError::InvalidConfig {
                key: "batch_rows",
                reason: format!(
                    "{} is out of range; allowed {}..={}",
                    self.batch_rows,
                    BATCH_ROWS.start(),
                    BATCH_ROWS.end()
                ),
            });
        }
        Ok(())
    }
}

/// The account of [`TransformConfig::new`], and of warehouses written before accounts.
pub const DEFAULT_ACCOUNT: &str = "default";

/// Longest account name.
pub const ACCOUNT_MAX_LEN: usize = 64;

/// Checks an account name: 1-64 characters of `[a-z0-9_-]`, starting with a letter or digit
/// (it names a partition directory and is compared as is in every key). `Err` says why.
pub fn valid_account(account: &str) -> Result<(), String> {
    let first_ok = account
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let all_ok = account
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if account.is_empty() || account.len() > ACCOUNT_MAX_LEN {
        Err(format!(
            "{account:?} must be 1 to {ACCOUNT_MAX_LEN} characters long"
        ))
    } else if !all_ok || !first_ok {
        Err(format!(
            "{account:?} may hold only a-z, 0-9, '_' and '-', and must start with a letter or digit"
        ))
    } else {
        Ok(())
    }
}

/// The account a pipeline syncs when its configuration names none: the pipeline's name,
/// lowercased, every character outside `[a-z0-9_-]` replaced by `_` (then made valid: a
/// leading `_`/`-` gets a `p` before it, and it is cut at 64 characters).
pub fn account_from_pipeline(pipeline: &str) -> String {
    let mut account: String = pipeline
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if account.is_empty() {
        return DEFAULT_ACCOUNT.to_owned();
    }
    if !account.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        account.insert(0, 'p');
    }
    account.truncate(ACCOUNT_MAX_LEN);
    account
}

/// Errors of this crate (transforming itself never fails: bad records become `_rejected` rows).
#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    /// A configuration value is out of range.
    #[error("invalid transform config `{key}`: {reason}")]
    InvalidConfig {
        /// The config key.
        key: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A reference table's rows could not be assembled.
    #[error("cannot build the reference table {table}: {message}")]
    Reference {
        /// The table.
        table: &'static str,
        /// Arrow's message.
        message: String,
    },
}

/// Counts of one transform run.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TransformStats {
    /// Conversations transformed (not counting rejected records).
    pub conversations: u64,
    /// Rows written per table name (every table, zero included).
    pub rows: BTreeMap<&'static str, u64>,
    /// Quality issues per check name (`chat_count`, `message_count`, ..., `schema_drift`).
    pub quality_issues: BTreeMap<&'static str, u64>,
    /// Schema drift: conversations per drifted field and kind, keyed
    /// `employees[].role: string where object expected`.
    pub drift: BTreeMap<String, u64>,
    /// Records that became `_rejected` rows.
    pub rejected: u64,
}

impl TransformStats {
    /// Rows written to `table` so far.
    pub fn rows_of(&self, table: Table) -> u64 {
        self.rows.get(table.name()).copied().unwrap_or(0)
    }

    /// Adds `other`'s counts to these (the pool sums its workers' counts).
    pub fn merge(&mut self, other: &TransformStats) {
        self.conversations += other.conversations;
        self.rejected += other.rejected;
        for (k, v) in &other.rows {
            *self.rows.entry(k).or_insert(0) += v;
        }
        for (k, v) in &other.drift {
            *self.drift.entry(k.clone()).or_insert(0) += v;
        }
        for (k, v) in &other.quality_issues {
            *self.quality_issues.entry(k).or_insert(0) += v;
        }
    }
}

#[cfg(test)]
mod tests;
