//! The [`Transformer`]: routes each conversation's rows to per-(table, partition)
//! builders and emits [`TableBatch`]es of at most `batch_rows` rows, each starting with the
//! run's `account` column.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, StringArray};
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Datelike, Utc};
use ltx_model::{Conversation, ModelError};

use crate::calls::CallsBuilder;
use crate::chat_messages::ChatMessagesBuilder;
use crate::chats::ChatsBuilder;
use crate::common::{Ctx, MskClock, Scratch};
use crate::complaints::ComplaintsBuilder;
use crate::conversation_employees::ConversationEmployeesBuilder;
use crate::conversation_events::ConversationEventsBuilder;
use crate::conversations::ConversationsBuilder;
use crate::dimensions::{DepartmentsBuilder, EmployeesBuilder, SitesBuilder, VisitorsBuilder};
use crate::leads::LeadsBuilder;
use crate::quality::{issues, QualityIssuesBuilder, CHECKS, SCHEMA_DRIFT};
use crate::rejected::RejectedBuilder;
use crate::{Table, TableBatch, TransformConfig, TransformStats};

/// Month partitions a transformer keeps builders for at once. Rows of another month make
/// the least recently used partition emit its rows as (smaller) batches, so memory does
/// not grow with the months an input spans (an import of several years sorted by time
/// would otherwise keep a partial batch per table for every month until the end).
pub(crate) const MAX_OPEN_PARTITIONS: usize = 8;

/// The builders of every table (but `_rejected`) for one partition.
struct PartitionBuilders {
    name: String,
    /// When a conversation was last added (the transformer's push counter).
    last_used: u64,
    conversations: ConversationsBuilder,
    chats: ChatsBuilder,
    chat_messages: ChatMessagesBuilder,
    calls: CallsBuilder,
    leads: LeadsBuilder,
    complaints: ComplaintsBuilder,
    conversation_employees: ConversationEmployeesBuilder,
    conversation_events: ConversationEventsBuilder,
    employees: EmployeesBuilder,
    visitors: VisitorsBuilder,
    sites: SitesBuilder,
    departments: DepartmentsBuilder,
    quality: QualityIssuesBuilder,
}

impl PartitionBuilders {
    fn new(name: String) -> Self {
        PartitionBuilders {
            name,
            last_used: 0,
            conversations: ConversationsBuilder::new(),
            chats: ChatsBuilder::new(),
            chat_messages: ChatMessagesBuilder::new(),
            calls: CallsBuilder::new(),
            leads: LeadsBuilder::new(),
            complaints: ComplaintsBuilder::new(),
            conversation_employees: ConversationEmployeesBuilder::new(),
            conversation_events: ConversationEventsBuilder::new(),
            employees: EmployeesBuilder::new(),
            visitors: VisitorsBuilder::new(),
            sites: SitesBuilder::new(),
            departments: DepartmentsBuilder::new(),
            quality: QualityIssuesBuilder::new(),
        }
    }

    /// Rows buffered of a table; 0 for tables a conversation does not fill.
    fn len(&self, table: Table) -> usize {
        match table {
            Table::Conversations => self.conversations.len(),
            Table::Chats => self.chats.len(),
            Table::ChatMessages => self.chat_messages.len(),
            Table::Calls => self.calls.len(),
            Table::Leads => self.leads.len(),
            Table::Complaints => self.complaints.len(),
            Table::ConversationEmployees => self.conversation_employees.len(),
            Table::ConversationEvents => self.conversation_events.len(),
            Table::Employees => self.employees.len(),
            Table::Visitors => self.visitors.len(),
            Table::Sites => self.sites.len(),
            Table::Departments => self.departments.len(),
            Table::QualityIssues => self.quality.len(),
            // Kept elsewhere (`_rejected`) or built from the configuration (`reference`).
            Table::Rejected
            | Table::BusinessIntervals
            | Table::ScheduleAssignments
            | Table::SlaTargets => 0,
        }
    }

    fn finish(&mut self, table: Table) -> Vec<ArrayRef> {
        match table {
            Table::Conversations => self.conversations.finish(),
            Table::Chats => self.chats.finish(),
            Table::ChatMessages => self.chat_messages.finish(),
            Table::Calls => self.calls.finish(),
            Table::Leads => self.leads.finish(),
            Table::Complaints => self.complaints.finish(),
            Table::ConversationEmployees => self.conversation_employees.finish(),
            Table::ConversationEvents => self.conversation_events.finish(),
            Table::Employees => self.employees.finish(),
            Table::Visitors => self.visitors.finish(),
            Table::Sites => self.sites.finish(),
            Table::Departments => self.departments.finish(),
            Table::QualityIssues => self.quality.finish(),
            Table::Rejected
            | Table::BusinessIntervals
            | Table::ScheduleAssignments
            | Table::SlaTargets => Vec::new(),
        }
    }
}

/// Turns conversations into [`TableBatch`]es, partitioned by month and batched by size.
///
/// Memory is bounded by `batch_rows` per (table, partition) as long as the caller calls
/// [`Transformer::drain_full`] between pushes.
pub struct Transformer {
    config: TransformConfig,
    synced_at_micros: i64,
    rejected_partition: String,
    partitions: HashMap<(i32, u32), PartitionBuilders>,
    /// Pushes so far (the clock of `PartitionBuilders::last_used`).
    pushes: u64,
    /// Batches of partitions closed to make room, handed out by the next drain.
    closed: Vec<TableBatch>,
    rejected: RejectedBuilder,
    scratch: Scratch,
    msk: MskClock,
    rows: [u64; Table::ALL.len()],
    stats: TransformStats,
}

impl std::fmt::Debug for Transformer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transformer")
            .field("run_id", &self.config.run_id)
            .field("partitions", &self.partitions.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// `YYYY-MM` of an instant (UTC).
pub(crate) fn month_of(t: DateTime<Utc>) -> String {
    format!("{:04}-{:02}", t.year(), t.month())
}

impl Transformer {
    /// A transformer for one run (a `batch_rows` of 0 is treated as 1).
    pub fn new(mut config: TransformConfig) -> Self {
        config.batch_rows = config.batch_rows.max(1);
        let mut stats = TransformStats::default();
        for t in Table::ALL {
            stats.rows.insert(t.name(), 0);
        }
        for check in CHECKS {
            stats.quality_issues.insert(check, 0);
        }
        Transformer {
            synced_at_micros: config.synced_at.timestamp_micros(),
            rejected_partition: format!("{}/{}", config.account, month_of(config.synced_at)),
            scratch: Scratch::new(config.pii.clone()),
            config,
            partitions: HashMap::new(),
            pushes: 0,
            closed: Vec::new(),
            rejected: RejectedBuilder::new(),
            msk: MskClock::default(),
            rows: [0; Table::ALL.len()],
            stats,
        }
    }

    /// Transforms one conversation given as JSON; a record that does not parse becomes a
    /// `_rejected` row (with the conversation id if it can be recovered). Never panics.
    pub fn push_json(&mut self, raw: &str) {
        self.push_parsed(raw, Conversation::from_json(raw));
    }

    /// As [`Transformer::push_json`], with `origin` (where the record was read, e.g.
    /// `FILE record N`) named at the end of a `_rejected` error.
    pub fn push_json_at(&mut self, raw: &str, origin: &ltx_model::RecordOrigin) {
        match Conversation::from_json(raw) {
            Ok(c) => self.push_conversation(&c),
            Err(err) => self.reject_at(raw, &err, origin),
        }
    }

    /// As [`Transformer::push_json`], for a record parsed elsewhere with
    /// [`Conversation::from_json`] (`raw` is kept in `_rejected` if it failed).
    ///
    /// Parsing is most of the CPU time of `push_json` and needs no transformer state, so
    /// a caller with two cores can parse on a second thread while this one builds
    /// batches. A parsed conversation borrows from its JSON text, so parse a chunk of
    /// records inside [`std::thread::scope`] and push the results in order:
    ///
    /// ```
    /// # use ltx_transform::{Transformer, TransformConfig};
    /// # use ltx_model::{Conversation, ModelError};
    /// # let mut t = Transformer::new(TransformConfig::new("run", chrono::Utc::now()));
    /// let chunk: Vec<String> = vec![/* raw JSON records, e.g. 512 of them */];
    /// let (first, second) = chunk.split_at(chunk.len() / 2);
    /// std::thread::scope(|s| {
    ///     let worker = s.spawn(|| {
    ///         first.iter().map(|r| Conversation::from_json(r)).collect::<Vec<_>>()
    ///     });
    ///     let mine: Vec<_> = second.iter().map(|r| Conversation::from_json(r)).collect();
    ///     // A worker that panicked is a bug; its records are parsed again here.
    ///     let theirs = worker.join().unwrap_or_else(|_| {
    ///         first.iter().map(|r| Conversation::from_json(r)).collect()
    ///     });
    ///     for (raw, parsed) in chunk.iter().zip(theirs.into_iter().chain(mine)) {
    ///         t.push_parsed(raw, parsed);
    ///     }
    /// });
    /// ```
    pub fn push_parsed(&mut self, raw: &str, parsed: Result<Conversation<'_>, ModelError>) {
        match parsed {
            Ok(c) => self.push_conversation(&c),
            Err(err) => self.reject(raw, &err, err.to_string()),
        }
    }

    /// Transforms one record of a JSON Lines file (a line of [`ltx_model::JsonLines`],
    /// which nobody has checked yet): as [`Transformer::push_json`], with the `_rejected`
    /// error naming `origin`, except that a record which is not a UTF-8 JSON object is an
    /// error of the file, returned with nothing recorded (the run must fail: a truncated
    /// or corrupt file is not a bad conversation).
    ///
    /// Only a record that fails to parse is checked further: one the parsers accept is a
    /// JSON object (the fast parser is strict, and serde_json is).
    pub fn push_line(
        &mut self,
        line: &[u8],
        origin: impl FnOnce() -> String,
    ) -> Result<(), String> {
        let raw = ltx_model::line_text(line)?;
        match Conversation::from_json(raw) {
            Ok(c) => self.push_conversation(&c),
            Err(err) => {
                // A parse of its own: the model's stops at the first field that does not
                // fit, so it cannot tell whether the record is also cut short further on.
                if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(raw) {
                    return Err(ltx_model::json_error_message(&e));
                }
                if !raw.starts_with('{') {
                    return Err("expected a JSON object on this line".into());
                }
                self.reject_at(raw, &err, &origin());
            }
        }
        Ok(())
    }

    /// As [`Transformer::reject`], the error ending with where the record was read.
    fn reject_at(&mut self, raw: &str, err: &ModelError, origin: &dyn std::fmt::Display) {
        self.reject(raw, err, format!("{err} ({origin})"));
    }

    /// Writes a record that did not parse to `_rejected`.
    fn reject(&mut self, raw: &str, err: &ModelError, error: String) {
        tracing::warn!(conversation_id = ?err.conversation_id, path = %err.path, error = %err.message, "conversation rejected");
        let raw = crate::rejected::redact(raw, &mut self.scratch);
        self.rejected.append(
            err.conversation_id,
            &error,
            Some(&err.path),
            &raw,
            self.synced_at_micros,
            &self.config.run_id,
        );
        self.count_rejected();
    }

    /// Records an item the extractor could not even key (e.g. not JSON) as a `_rejected` row.
    pub fn push_unreadable(&mut self, raw: &str, error: &str) {
        // A record that is not JSON (kept escaped) still names its conversation.
        let id = ltx_model::recover_id(raw).or_else(|| ltx_model::scan_id(raw.as_bytes()));
        // A JSON record whose head could not be read names the field, as a parse would.
        let path = if raw.trim_start().starts_with('{') {
            Conversation::from_json(raw).err().map(|e| e.path)
        } else {
            None
        };
        let raw = crate::rejected::redact(raw, &mut self.scratch);
        self.rejected.append(
            id,
            error,
            path.as_deref(),
            &raw,
            self.synced_at_micros,
            &self.config.run_id,
        );
        self.count_rejected();
    }

    fn count_rejected(&mut self) {
        self.stats.rejected += 1;
        self.rows[Table::Rejected.index()] += 1;
    }

    /// Transforms one parsed conversation.
    pub fn push_conversation(&mut self, c: &Conversation<'_>) {
        // A conversation whose `created_at` did not come is placed by its `updated_at`.
        let placed = c.created_at.unwrap_or(c.updated_at);
        let key = (placed.year(), placed.month());
        if !self.partitions.contains_key(&key) && self.partitions.len() >= MAX_OPEN_PARTITIONS {
            self.close_least_recent();
        }
        self.pushes += 1;
        let p = self.partitions.entry(key).or_insert_with(|| {
            PartitionBuilders::new(format!("{}/{}", self.config.account, month_of(placed)))
        });
        p.last_used = self.pushes;
        let ctx = Ctx {
            conversation_id: c.id,
            source_updated_at: c.updated_at.timestamp_micros(),
            synced_at: self.synced_at_micros,
            run_id: &self.config.run_id,
        };
        let s = &mut self.scratch;
        let r = &mut self.rows;
        r[Table::Conversations.index()] += p.conversations.append(&ctx, s, &mut self.msk, c) as u64;
        r[Table::Chats.index()] += p.chats.append(&ctx, s, c) as u64;
        r[Table::ChatMessages.index()] += p.chat_messages.append(&ctx, s, c) as u64;
        r[Table::Calls.index()] += p.calls.append(&ctx, s, c) as u64;
        r[Table::Leads.index()] += p.leads.append(&ctx, s, c) as u64;
        r[Table::Complaints.index()] += p.complaints.append(&ctx, s, c) as u64;
        r[Table::ConversationEmployees.index()] += p.conversation_employees.append(&ctx, c) as u64;
        r[Table::ConversationEvents.index()] += p.conversation_events.append(&ctx, s, c) as u64;
        r[Table::Employees.index()] += p.employees.append(&ctx, s, c) as u64;
        r[Table::Visitors.index()] += p.visitors.append(&ctx, s, c) as u64;
        r[Table::Sites.index()] += p.sites.append(&ctx, s, c) as u64;
        r[Table::Departments.index()] += p.departments.append(&ctx, s, c) as u64;
        let mut found = [("", 0, 0); 5];
        let mut n = 0;
        for issue in issues(c) {
            found[n] = issue;
            n += 1;
        }
        if n > 0 {
            p.quality.append(&ctx, &found[..n]);
            r[Table::QualityIssues.index()] += n as u64;
            for (check, expected, actual) in &found[..n] {
                tracing::debug!(
                    conversation_id = c.id,
                    check,
                    expected,
                    actual,
                    "quality issue"
                );
                *self.stats.quality_issues.entry(check).or_insert(0) += 1;
            }
        }
        let drift = crate::quality::drift(c);
        if !drift.is_empty() {
            p.quality.append_drift(&ctx, &drift);
            r[Table::QualityIssues.index()] += drift.len() as u64;
            *self.stats.quality_issues.entry(SCHEMA_DRIFT).or_insert(0) += drift.len() as u64;
            // Counted per conversation: one with 3 drifted roles counts once for the field.
            let mut kinds: Vec<String> = drift
                .iter()
                .map(|d| {
                    format!(
                        "{}: {} where {} expected",
                        d.field(),
                        d.received,
                        d.expected
                    )
                })
                .collect();
            kinds.sort_unstable();
            kinds.dedup();
            for kind in kinds {
                tracing::debug!(conversation_id = c.id, drift = %kind, "schema drift");
                *self.stats.drift.entry(kind).or_insert(0) += 1;
            }
        }
        self.stats.conversations += 1;
    }

    /// Batches of tables whose builders reached `batch_rows` (call between pushes).
    pub fn drain_full(&mut self) -> Vec<TableBatch> {
        self.drain(self.config.batch_rows)
    }

    /// Statistics so far.
    pub fn stats(&self) -> TransformStats {
        let mut stats = self.stats.clone();
        for t in Table::ALL {
            stats.rows.insert(t.name(), self.rows[t.index()]);
        }
        stats
    }

    /// Every remaining row as batches, and the run's statistics.
    pub fn finish(mut self) -> (Vec<TableBatch>, TransformStats) {
        let batches = self.drain(1);
        let stats = self.stats();
        (batches, stats)
    }

    /// Month partitions with builders now.
    #[cfg(test)]
    pub(crate) fn open_partitions(&self) -> usize {
        self.partitions.len()
    }

    /// Moves every row of the least recently used partition into `closed` and drops it.
    fn close_least_recent(&mut self) {
        let Some(key) = self
            .partitions
            .iter()
            .min_by_key(|(_, p)| p.last_used)
            .map(|(k, _)| *k)
        else {
            return;
        };
        if let Some(mut p) = self.partitions.remove(&key) {
            for table in Table::ALL {
                if table != Table::Rejected && p.len(table) > 0 {
                    let columns = p.finish(table);
                    push_sliced(
                        &mut self.closed,
                        table,
                        &p.name,
                        &self.config.account,
                        columns,
                        self.config.batch_rows,
                    );
                }
            }
        }
    }

    /// Emits every builder holding at least `min_rows` rows, split into `batch_rows` slices
    /// (and the batches of partitions closed since the last drain).
    fn drain(&mut self, min_rows: usize) -> Vec<TableBatch> {
        let mut out = std::mem::take(&mut self.closed);
        let batch_rows = self.config.batch_rows;
        let account = &self.config.account;
        for p in self.partitions.values_mut() {
            for table in Table::ALL {
                if table != Table::Rejected && p.len(table) >= min_rows {
                    let columns = p.finish(table);
                    push_sliced(&mut out, table, &p.name, account, columns, batch_rows);
                }
            }
        }
        if self.rejected.len() >= min_rows {
            let columns = self.rejected.finish();
            push_sliced(
                &mut out,
                Table::Rejected,
                &self.rejected_partition,
                account,
                columns,
                batch_rows,
            );
        }
        // Stable order for callers and tests: by table, then partition.
        out.sort_by(|a, b| (a.table, &a.partition).cmp(&(b.table, &b.partition)));
        out
    }
}

/// The `account` column of `rows` rows: the run's one account (the builders leave it out,
/// as it is the same on every row), prepended to a table's columns.
pub(crate) fn account_column(account: &str, rows: usize) -> ArrayRef {
    // One value repeated: the dictionary-encoded writer keeps a single entry.
    Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
        account, rows,
    )))
}

fn push_sliced(
    out: &mut Vec<TableBatch>,
    table: Table,
    partition: &str,
    account: &str,
    mut columns: Vec<ArrayRef>,
    batch_rows: usize,
) {
    let rows = columns.first().map_or(0, |c| c.len());
    columns.insert(0, account_column(account, rows));
    // The builders are declared column by column in the schema's order (checked by the
    // `builders_match_schemas` test), so a mismatch here is a bug, never bad input.
    #[allow(clippy::expect_used)]
    let batch = RecordBatch::try_new(table.schema(), columns)
        .expect("table builders follow schema.rs (checked by builders_match_schemas)");
    let mut offset = 0;
    while offset < batch.num_rows() {
        let len = batch_rows.min(batch.num_rows() - offset);
        out.push(TableBatch {
            table,
            partition: partition.to_owned(),
            batch: batch.slice(offset, len),
        });
        offset += len;
    }
}
