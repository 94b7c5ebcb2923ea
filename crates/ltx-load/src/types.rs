//! The public value types of the loader: the options of a writable handle
//! ([`LoadOptions`]), what a caller says about a run ([`RunInfo`], [`RunOutcome`]) and
//! what the loader reports back ([`CommitReport`], [`TableChange`], [`CompactReport`]).
//! Plain data: the code that fills them lives in `commit`, `compact` and `warehouse`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::catalog::DEFAULT_STORAGE_VERSION;
use crate::crash::CrashHook;
use crate::models;
use crate::open_files;
use crate::remote::{PushReport, RemoteWarehouse};

/// Tuning and behaviour of a writable warehouse handle.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// How long superseded files stay on disk for readers of older catalogs (default 1 h).
    pub retire_grace: Duration,
    /// How long earlier generations stay readable (`ltx query --as-of`), with the files they
    /// list (`destination.retain_history`, default 30 days; zero: the grace period only).
    /// See [`LoadOptions::keep_retired`].
    pub retain_history: Duration,
    /// Keep the conversation versions newer ones replace, for `conversations_history`
    /// (`sync.history`, default true); off, they are discarded.
    pub history: bool,
    /// Rows per Parquet row group (default 131 072).
    pub row_group_rows: usize,
    /// zstd level of data files (default 1: fast, still ~4-8× smaller than plain).
    pub zstd_level: i32,
    /// Bytes all open staging writers may buffer before row groups are flushed early,
    /// row groups being encoded included (default 48 MiB of Arrow batches: with the
    /// transform's builders and two encoding threads this keeps an import of 1M
    /// conversations under the 256 MB target; a larger budget buys fewer row groups for
    /// more memory, a smaller one the reverse).
    pub staging_memory_bytes: usize,
    /// A (table, partition) with more live files than this is compacted after a commit
    /// (default 16).
    pub compact_max_files: usize,
    /// Only files smaller than this are merged by compaction (default 32 MiB); larger ones
    /// are rewritten only to fold their deleted rows.
    pub compact_small_file_bytes: u64,
    /// The size data files are bounded by (default 128 MiB): a run's staging file of a
    /// (table, partition) is finished and another begun once it is this large, and a merge
    /// reads at most this much per file it writes. A fold or merge so never rewrites much
    /// more than this per file, however large a month grows.
    pub target_file_bytes: u64,
    /// A file is folded (rewritten without its deleted rows) by the compaction after a run
    /// once this share of its rows is deleted (default 0.2); `ltx compact` folds every
    /// deleted row.
    pub compact_fold_share: f64,
    /// Conversations per raw archive page file (default 10 000).
    pub raw_lines_per_page: usize,
    /// Staging files a run keeps open at once (default: a quarter of the process's soft
    /// limit on open files, within 16-64, so 64 under `ulimit -n 256` or more); beyond
    /// it the least recently written file is finished early and its partition may get
    /// another file in the same run.
    pub max_open_staging_files: usize,
    /// BI models `(name, SELECT …)` created as views after the table views (default: the
    /// embedded models of `sql/`, [`models::MODELS`]).
    pub models: Vec<(String, String)>,
    /// DuckDB storage version `warehouse.duckdb` is written in (default
    /// [`DEFAULT_STORAGE_VERSION`], v1.1.0: every DuckDB from 1.1 on opens it); see
    /// [`check_storage_version`](crate::check_storage_version).
    pub duckdb_storage_version: String,
    /// Fault injection; `Default` arms `LTX_CRASH_AT` from the environment.
    pub crash: CrashHook,
    /// The account the rows of a warehouse written before accounts existed belong to, when
    /// the first writable open upgrades it (the syncing pipeline's account); `None`: the
    /// account derived from the one pipeline its manifest records, else `default`.
    pub legacy_account: Option<String>,
    /// The warehouse on object storage this directory is the local copy of: `open` brings
    /// the copy to the remote's last commit, every commit is pushed (see `remote`).
    pub remote: Option<Arc<RemoteWarehouse>>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            retire_grace: Duration::from_secs(3600),
            retain_history: Duration::from_secs(30 * 86_400),
            history: true,
            row_group_rows: 128 * 1024,
            zstd_level: 1,
            staging_memory_bytes: 48 << 20,
            compact_max_files: 16,
            compact_small_file_bytes: 32 << 20,
            target_file_bytes: 128 << 20,
            compact_fold_share: 0.2,
            raw_lines_per_page: 10_000,
            max_open_staging_files: open_files::budget(),
            models: models::default_models(),
            duckdb_storage_version: DEFAULT_STORAGE_VERSION.to_owned(),
            crash: CrashHook::from_env(),
            legacy_account: None,
            remote: None,
        }
    }
}

impl LoadOptions {
    /// How long retired files and superseded generations are kept: the longer of the
    /// grace period and `retain_history`.
    pub fn keep_retired(&self) -> Duration {
        self.retire_grace.max(self.retain_history)
    }
}

/// What the caller knows when a run starts (also kept in its temporary directory, so a run
/// that never reaches its commit is still found and logged by the next open).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Unique run id (file-name safe; also the `_run_id` of its rows).
    pub run_id: String,
    /// Pipeline name (its cursor is kept per account and name).
    pub pipeline: String,
    /// The LiveTex account the run syncs: every batch's partition starts with it, and the
    /// merge compares its conversations with this account's only.
    #[serde(default = "default_account")]
    pub account: String,
    /// Start of the extraction window.
    pub window_from: Option<DateTime<Utc>>,
    /// End of the extraction window (may be set on commit instead).
    pub window_to: Option<DateTime<Utc>>,
    /// When the run started.
    pub started_at: DateTime<Utc>,
    /// Archive raw conversations (`RunWriter::write_raw`).
    pub keep_raw: bool,
}

impl RunInfo {
    /// A run starting now, without window and raw archive.
    pub fn new(run_id: impl Into<String>, pipeline: impl Into<String>) -> Self {
        Self {
            run_id: run_id.into(),
            pipeline: pipeline.into(),
            account: default_account(),
            window_from: None,
            window_to: None,
            started_at: Utc::now(),
            keep_raw: false,
        }
    }
}

/// The account of runs that name none ([`ltx_transform::DEFAULT_ACCOUNT`]).
fn default_account() -> String {
    ltx_transform::DEFAULT_ACCOUNT.to_owned()
}

/// What the caller reports when committing (or failing) a run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunOutcome {
    /// New cursor of the pipeline (never moves backwards); `None` keeps it.
    pub cursor: Option<DateTime<Utc>>,
    /// End of the extraction window, if only known at the end.
    pub window_to: Option<DateTime<Utc>>,
    /// HTTP retries of the extractor.
    pub retries: u64,
    /// HTTP requests of the extractor.
    pub http_requests: u64,
    /// Reconciliation findings of this run's input per check (`message_count`, ...), as
    /// the transform counted them: conversations the warehouse already had count too.
    pub quality_by_check: BTreeMap<String, u64>,
    /// Schema drift of this run's input: conversations per drifted field and kind
    /// (`employees[].role: string where object expected`), as the transform counted them.
    pub drift_by_field: BTreeMap<String, u64>,
}

/// Row changes of one table in a commit.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct TableChange {
    /// Rows written (new and replacing versions).
    pub rows_added: u64,
    /// Old rows removed because their conversation was replaced.
    pub rows_removed: u64,
    /// Incoming rows dropped: the warehouse already had that version or newer, or a
    /// duplicate within the run.
    pub rows_skipped: u64,
}

/// What a commit did.
#[derive(Clone, Debug, PartialEq)]
pub struct CommitReport {
    /// The run.
    pub run_id: String,
    /// Manifest generation of the commit.
    pub generation: u64,
    /// Changes per table name.
    pub tables: BTreeMap<String, TableChange>,
    /// Distinct conversations received.
    pub conversations: u64,
    /// New conversations.
    pub conversations_new: u64,
    /// Conversations that replaced an older version.
    pub conversations_replaced: u64,
    /// Conversations skipped (same or older version already stored).
    pub conversations_unchanged: u64,
    /// Conversations that occurred more than once in the run.
    pub duplicates_in_run: u64,
    /// Replaced conversation versions kept for `conversations_history` (0 with history off).
    pub history_rows: u64,
    /// Data files written.
    pub files_written: u64,
    /// Data files retired.
    pub files_retired: u64,
    /// Wall time of write + commit.
    pub elapsed: Duration,
    /// Automatic compaction after the commit, if one ran.
    pub compaction: Option<CompactReport>,
    /// Set when the data committed but `warehouse.duckdb` could not be rebuilt (why): its
    /// views still show the previous commit until the next open or `ltx register`
    /// rebuilds it.
    pub catalog_error: Option<String>,
    /// What was published to the remote warehouse (a local warehouse: `None`).
    pub pushed: Option<PushReport>,
}

/// What a compaction did.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct CompactReport {
    /// (table, partition) groups merged.
    pub partitions: u64,
    /// Files merged away.
    pub files_merged: u64,
    /// Files written.
    pub files_written: u64,
    /// Rows rewritten.
    pub rows: u64,
    /// Deleted rows folded away (dropped, or moved to the superseded versions).
    #[serde(default)]
    pub deleted_rows_folded: u64,
    /// Delete-record files retired (their partition has no deleted rows left).
    #[serde(default)]
    pub delete_files_retired: u64,
    /// Manifest generation committed (unchanged when nothing was merged).
    pub generation: u64,
    /// As [`crate::CommitReport::catalog_error`]: the merge committed, but
    /// `warehouse.duckdb` could not be rebuilt (why). Always `None` for the compaction
    /// within a run's commit: that commit's `catalog_error` covers both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog_error: Option<String>,
}
