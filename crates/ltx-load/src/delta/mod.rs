//! Delta Lake logs: every stored table is also a Delta table, so that engines that read
//! Delta (delta-rs/`deltalake`, polars, ClickHouse, Spark, Trino, DuckDB's `delta`) see
//! exactly the live files — where a glob over `data/<table>/` would also read the
//! superseded files kept for the grace period.
//!
//! **Owns**: `data/<table>/_delta_log/` of every stored table — `<v>.json` commits,
//! `<v>.checkpoint.parquet` checkpoints every [`CHECKPOINT_INTERVAL`] versions,
//! `_last_checkpoint` — and bringing them up to the manifest. **Does not own**: which files
//! are live (the manifest is the single source of truth; a log is derived from it and may
//! lag behind it, never lead), the data files themselves, or deleting them.
//!
//! * **Table root** `data/<table>/`; `add.path` is relative to it (`<partition>/<file>`);
//!   `partitionColumns` is empty (partition directories are ours: every file holds every
//!   column); `stats` holds `numRecords` and the conversation id range, from the manifest.
//! * **Versions and generations** — after each manifest commit (a run, a compaction, the
//!   automatic compaction after a run) and at every writable open, [`sync`] compares each
//!   table's log with the manifest and writes one version per *changed* table, holding
//!   the removes of the files no longer live and the adds of the new ones; its
//!   `commitInfo.ltx.generation` is the manifest generation it catches up to. Unchanged
//!   tables get no version. A table's version numbers are therefore its own, and a
//!   generation maps to at most one version per table.
//! * **Crash safety** — a version is written to `_ltx/tmp/delta/` and hard-linked to its
//!   name, which fails if the name exists: no version is ever written twice or in part;
//!   an existing version means the log is re-read and the difference recomputed. A crash
//!   between the manifest rename and the logs (or between two tables) leaves logs behind
//!   the manifest, which the next open or commit catches up; a failure other than a crash
//!   only logs a warning (the data is committed) and is repaired the same way.
//! * **Retention** — checkpoints keep tombstones for [`crate::LoadOptions::keep_retired`],
//!   and the log clean-up deletes only versions older than both the newest checkpoint and
//!   that retention, so time travel within it never names a deleted data file.

mod actions;
mod checkpoint;
mod cleanup;
mod log;
mod schema;
mod sync;

use std::path::{Path, PathBuf};
use std::time::Instant;

use ltx_transform::Table;

use crate::clock::now_micros;
use crate::columns::stored_table;
use crate::crash::CrashHook;
use crate::error::{LoadError, Result};
use crate::layout::{self, Layout};
use crate::manifest::Manifest;

pub use actions::{
    ActionLine, Add, CommitInfo, DeletionVector, Format, LtxInfo, Metadata, Protocol, Remove,
};
pub use log::{Snapshot, LAST_CHECKPOINT, LOG_DIR};
pub use schema::schema_string;
pub use sync::TableSync;

/// A checkpoint is written when this many versions followed the previous one, so opening a
/// table reads one checkpoint and fewer than this many commits.
pub const CHECKPOINT_INTERVAL: u64 = 10;

/// The Delta table root of the stored table `table` in the warehouse `wh`.
pub fn table_root(wh: &Path, table: &str) -> PathBuf {
    wh.join("data").join(table)
}

/// Reads the Delta log of the stored table `table` of the warehouse `wh` at its newest
/// version (an empty [`Snapshot`] when it has none).
pub fn read_table(wh: &Path, table: &str) -> Result<Snapshot> {
    log::replay(table, &table_root(wh, table).join(LOG_DIR))
}

/// Every stored table with a Delta table, with the table whose schema their files have:
/// the transform's tables (each has a view, so each is a Delta table, empty until it has
/// data), and the other stored tables the manifest lists — the superseded conversation
/// versions once `sync.history` kept some (with history off there is no such table).
pub fn stored_tables(manifest: &Manifest) -> Vec<(String, Table)> {
    let mut out: Vec<(String, Table)> = Table::ALL
        .iter()
        .map(|t| (t.name().to_owned(), *t))
        .collect();
    for name in manifest.tables.keys() {
        if out.iter().all(|(n, _)| n != name) {
            if let Some(t) = stored_table(name) {
                out.push((name.clone(), t));
            }
        }
    }
    out
}

/// What [`sync`] did, per table.
#[derive(Debug, Default)]
pub struct SyncReport {
    /// Tables brought up to the manifest, with what it took.
    pub tables: Vec<(String, TableSync)>,
    /// Tables whose log could not be brought up (left to the next sync).
    pub failed: Vec<(String, LoadError)>,
}

/// Brings the Delta log of every stored table up to `manifest` (see the module docs). Only
/// an injected crash is an error: a table whose log fails is reported in
/// [`SyncReport::failed`] and logged, and the others go on.
pub(crate) fn sync(
    layout: &Layout,
    manifest: &Manifest,
    crash: &CrashHook,
    keep: std::time::Duration,
) -> Result<SyncReport> {
    sync_at(layout, manifest, crash, keep, now_micros())
}

/// [`sync`] with the clock at `now`.
fn sync_at(
    layout: &Layout,
    manifest: &Manifest,
    crash: &CrashHook,
    keep: std::time::Duration,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<SyncReport> {
    let started = Instant::now();
    let ctx = sync::Ctx {
        layout,
        crash,
        keep,
        generation: manifest.generation,
        now,
    };
    let mut report = SyncReport::default();
    for (name, table) in stored_tables(manifest) {
        match sync::sync_table(&ctx, &name, table, manifest.files(&name)) {
            Ok(t) => report.tables.push((name, t)),
            Err(e @ LoadError::InjectedCrash { .. }) => return Err(e),
            Err(e) => {
                tracing::warn!(table = %name, error = %e, "Delta log not brought up to the manifest; the next open or commit retries");
                report.failed.push((name, e));
            }
        }
    }
    layout::remove_dir_if_exists(&log::tmp_dir(layout))?;
    let committed = report
        .tables
        .iter()
        .filter(|(_, t)| t.committed.is_some())
        .count();
    tracing::debug!(
        generation = manifest.generation,
        tables_committed = committed,
        failed = report.failed.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "Delta logs synced"
    );
    Ok(report)
}

/// [`sync`] after a manifest commit or at open: nothing is synced before the first commit
/// (generation 0 holds no data), and a failure is only a warning — the data is committed,
/// and the next open or commit repairs the logs. An injected crash is passed on.
pub(crate) fn sync_after_commit(
    layout: &Layout,
    manifest: &Manifest,
    crash: &CrashHook,
    keep: std::time::Duration,
) -> Result<()> {
    if manifest.generation == 0 {
        return Ok(());
    }
    match sync(layout, manifest, crash, keep) {
        Ok(_) => Ok(()),
        Err(e @ LoadError::InjectedCrash { .. }) => Err(e),
        Err(e) => {
            tracing::warn!(error = %e, "Delta logs not brought up to the manifest; the next open or commit retries");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests;
