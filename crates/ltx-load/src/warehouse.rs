//! The public handle: [`Warehouse`] and [`RunWriter`].

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ltx_transform::TableBatch;
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};

use crate::catalog;
use crate::commit::{self, now_micros, truncate_micros, RunCommit};
use crate::compact::{self, CompactReport};
use crate::crash::CrashHook;
use crate::error::{io_err, LoadError, Result};
use crate::layout::{self, validate_name, Layout};
use crate::lock::WriterLock;
use crate::manifest::{Manifest, PipelineState};
use crate::raw::RawArchive;
use crate::runs::RunRecord;
use crate::staging::{writer_props, Staging};

/// Tuning and behaviour of a writable warehouse handle.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// How long superseded files stay on disk for readers of older catalogs (default 1 h).
    pub retire_grace: Duration,
    /// Rows per Parquet row group (default 131 072).
    pub row_group_rows: usize,
    /// zstd level of data files (default 1: fast, still ~4-8× smaller than plain).
    pub zstd_level: i32,
    /// Bytes all open staging writers may buffer before row groups are flushed early,
    /// row groups being encoded included (default 48 MiB of Arrow batches: with the
    /// transform's builders and two encoding threads this keeps an import of 1M
    /// conversations near 240 MB; 64 MiB made 12% fewer row groups at 100k and ~10 MB more
    /// at 1M; 32 MiB cost ~20 MB less than 64 for ~40% more row groups).
    pub staging_memory_bytes: usize,
    /// A (table, partition) with more live files than this is compacted after a commit
    /// (default 16).
    pub compact_max_files: usize,
    /// Only files smaller than this are merged by compaction (default 256 MiB).
    pub compact_small_file_bytes: u64,
    /// Conversations per raw archive page file (default 10 000).
    pub raw_lines_per_page: usize,
    /// Staging files a run keeps open at once (default: a quarter of the process's soft
    /// limit on open files, within 16-64, so 64 under `ulimit -n 256` or more); beyond
    /// it the least recently written file is finished early and its partition may get
    /// another file in the same run.
    pub max_open_staging_files: usize,
    /// BI models `(name, SELECT …)` created as views after the table views.
    pub models: Vec<(String, String)>,
    /// Fault injection; `Default` arms `LTX_CRASH_AT` from the environment.
    pub crash: CrashHook,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            retire_grace: Duration::from_secs(3600),
            row_group_rows: 128 * 1024,
            zstd_level: 1,
            staging_memory_bytes: 48 << 20,
            compact_max_files: 16,
            compact_small_file_bytes: 256 << 20,
            raw_lines_per_page: 10_000,
            max_open_staging_files: crate::open_files::budget(),
            models: Vec::new(),
            crash: CrashHook::from_env(),
        }
    }
}

/// What the caller knows when a run starts (also kept in its temporary directory, so a run
/// that never reaches its commit is still found and logged by the next open).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Unique run id (file-name safe; also the `_run_id` of its rows).
    pub run_id: String,
    /// Pipeline name (its cursor is kept per name).
    pub pipeline: String,
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
            window_from: None,
            window_to: None,
            started_at: Utc::now(),
            keep_raw: false,
        }
    }
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
}

/// Per-table figures for `status`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TableStatus {
    /// Table name.
    pub name: String,
    /// Live files.
    pub files: u64,
    /// Live rows (dimension tables: all snapshots).
    pub rows: u64,
    /// Bytes of live files.
    pub bytes: u64,
    /// Distinct partitions.
    pub partitions: u64,
}

/// Overview for `ltx status`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct WarehouseStatus {
    /// Warehouse directory.
    pub dir: PathBuf,
    /// Current manifest generation.
    pub generation: u64,
    /// When it was committed.
    pub committed_at: DateTime<Utc>,
    /// Cursor and last success per pipeline.
    pub pipelines: BTreeMap<String, PipelineState>,
    /// Every table, in `Table::ALL` order.
    pub tables: Vec<TableStatus>,
    /// The last runs, newest first.
    pub runs: Vec<RunRecord>,
    /// Rows in `_quality_issues`.
    pub quality_issues_total: u64,
    /// Rows in `_rejected`.
    pub rejected_total: u64,
    /// Retired files awaiting deletion.
    pub retired_files: u64,
    /// Bytes on disk under the warehouse directory.
    pub size_on_disk_bytes: u64,
}

struct State {
    manifest: Manifest,
    models: Vec<(String, String)>,
    run_active: bool,
}

struct Inner {
    layout: Layout,
    options: LoadOptions,
    props: WriterProperties,
    lock: Option<WriterLock>,
    state: Mutex<State>,
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the manifest half-updated: it is
        // replaced only after the on-disk rename succeeded.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn writable(&self) -> Result<()> {
        if self.lock.is_none() {
            return Err(LoadError::ReadOnly {
                dir: self.layout.root().to_path_buf(),
            });
        }
        Ok(())
    }

    /// Rebuilds the catalog after a commit. The data is committed whatever happens here, so
    /// a failure other than an injected crash is not an error of the commit: it comes back
    /// as the message for the report (`catalog_error`), and the next open retries.
    fn rebuild_catalog_after_commit(&self, st: &State) -> Result<Option<String>> {
        match catalog::build(&self.layout, &st.manifest, &st.models, &self.options.crash) {
            Ok(()) => Ok(None),
            Err(e @ LoadError::InjectedCrash { .. }) => Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "data committed, but the DuckDB catalog rebuild failed; the next open retries");
                Ok(Some(format!("{}: {e}", self.layout.catalog().display())))
            }
        }
    }

    /// Merges the small files of every (table, partition) with more than `min_files` of
    /// them and commits the manifest; the caller rebuilds the catalog (once, also when a
    /// run's commit compacts) and then deletes the expired files returned.
    fn compact_manifest(
        &self,
        st: &mut State,
        min_files: usize,
    ) -> Result<(CompactReport, Vec<String>)> {
        compact::compact(
            &self.layout,
            &self.props,
            &self.options.crash,
            self.options.retire_grace,
            &mut st.manifest,
            self.options.compact_small_file_bytes,
            min_files,
        )
    }

    fn delete_expired(&self, paths: &[String]) -> Result<()> {
        match commit::delete_expired(&self.layout, &self.options.crash, paths) {
            Err(e @ LoadError::InjectedCrash { .. }) => Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "could not delete a retired file; the next open retries");
                Ok(())
            }
            Ok(()) => Ok(()),
        }
    }
}

/// A warehouse directory. Writable handles hold the writer lock until dropped.
#[derive(Clone)]
pub struct Warehouse {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Warehouse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Warehouse")
            .field("dir", &self.inner.layout.root())
            .field("writable", &self.inner.lock.is_some())
            .finish()
    }
}

impl Warehouse {
    /// Opens (creating if needed) a warehouse for writing: takes the writer lock, removes
    /// orphans of interrupted runs, deletes retired files past the grace period and rebuilds
    /// the catalog if it is behind the manifest or was built for another directory.
    pub fn open(dir: impl AsRef<Path>, options: LoadOptions) -> Result<Self> {
        let layout = Layout::new(dir.as_ref())?;
        layout.create_dirs()?;
        let lock = WriterLock::acquire(&layout.lock(), layout.root())?;
        let crash = options.crash.clone();
        let mut manifest = match Manifest::load(&layout)? {
            Some(m) => m,
            None => {
                if has_any_file(&layout.data_dir()) {
                    return Err(LoadError::ManifestMissing {
                        dir: layout.root().to_path_buf(),
                        manifest: layout.manifest(),
                    });
                }
                let m = Manifest::empty(now_micros());
                m.store(&layout, &crash, [None, None, None])?;
                m
            }
        };
        record_interrupted_runs(&layout, &mut manifest, &crash)?;
        cleanup_orphans(&layout, &manifest, &crash)?;
        // Retired files past the grace period: drop them from the manifest, then delete.
        let grace =
            chrono::Duration::from_std(options.retire_grace).unwrap_or(chrono::Duration::MAX);
        let now = now_micros();
        let expired: Vec<String> = manifest
            .retired
            .iter()
            .filter(|r| now.signed_duration_since(r.retired_at) >= grace)
            .map(|r| r.path.clone())
            .collect();
        if !expired.is_empty() {
            let mut next = manifest.clone();
            let gone: HashSet<&str> = expired.iter().map(String::as_str).collect();
            next.retired.retain(|r| !gone.contains(r.path.as_str()));
            next.generation += 1;
            next.committed_at = now;
            next.store(&layout, &crash, [None, None, None])?;
            manifest = next;
            commit::delete_expired(&layout, &crash, &expired)?;
        }
        let props = writer_props(options.row_group_rows, options.zstd_level);
        let state = State {
            manifest,
            models: options.models.clone(),
            run_active: false,
        };
        let wh = Self {
            inner: Arc::new(Inner {
                layout,
                options,
                props,
                lock: Some(lock),
                state: Mutex::new(state),
            }),
        };
        {
            let st = wh.inner.state();
            let root = wh.inner.layout.root().to_string_lossy().to_string();
            let current = catalog::built_for(&wh.inner.layout);
            // A warehouse where nothing was ever committed (generation 0) and that has no
            // catalog yet gets one at its first commit, successful or failed, as every
            // commit rebuilds it: building views over empty placeholders here first cost a
            // first import ~0.1 s of a serial start. Until then `ltx query` says there is
            // no catalog yet, which is true.
            let nothing_committed =
                st.manifest.generation == 0 && !wh.inner.layout.catalog().exists();
            if current != Some((st.manifest.generation, root)) && !nothing_committed {
                catalog::build(
                    &wh.inner.layout,
                    &st.manifest,
                    &st.models,
                    &wh.inner.options.crash,
                )?;
            }
        }
        Ok(wh)
    }

    /// Opens a warehouse for reading only (status, cursors): no lock, no cleanup, no
    /// catalog rebuild. A missing manifest reads as an empty warehouse.
    pub fn open_readonly(dir: impl AsRef<Path>) -> Result<Self> {
        let layout = Layout::new(dir.as_ref())?;
        let manifest = Manifest::load(&layout)?.unwrap_or_else(|| Manifest::empty(now_micros()));
        let options = LoadOptions {
            crash: CrashHook::disabled(),
            ..LoadOptions::default()
        };
        let props = writer_props(options.row_group_rows, options.zstd_level);
        Ok(Self {
            inner: Arc::new(Inner {
                layout,
                options,
                props,
                lock: None,
                state: Mutex::new(State {
                    manifest,
                    models: Vec::new(),
                    run_active: false,
                }),
            }),
        })
    }

    /// The warehouse directory (absolute).
    pub fn dir(&self) -> &Path {
        self.inner.layout.root()
    }

    /// Path of the DuckDB catalog (`<wh>/warehouse.duckdb`).
    pub fn catalog_path(&self) -> PathBuf {
        self.inner.layout.catalog()
    }

    /// A copy of the current manifest (re-read from disk for read-only handles).
    pub fn state(&self) -> Result<Manifest> {
        if self.inner.lock.is_none() {
            let fresh = Manifest::load(&self.inner.layout)?;
            let mut st = self.inner.state();
            if let Some(m) = fresh {
                st.manifest = m;
            }
            return Ok(st.manifest.clone());
        }
        Ok(self.inner.state().manifest.clone())
    }

    /// The committed cursor of `pipeline`.
    pub fn cursor(&self, pipeline: &str) -> Result<Option<DateTime<Utc>>> {
        Ok(self.state()?.pipelines.get(pipeline).and_then(|p| p.cursor))
    }

    /// Starts a run; only one run per handle at a time.
    pub fn begin_run(&self, info: RunInfo) -> Result<RunWriter> {
        self.inner.writable()?;
        validate_name("run id", &info.run_id)?;
        validate_name("pipeline", &info.pipeline)?;
        let mut st = self.inner.state();
        if st.run_active {
            return Err(LoadError::RunInProgress {
                dir: self.dir().to_path_buf(),
            });
        }
        if st.manifest.runs.iter().any(|r| r == &info.run_id) {
            return Err(LoadError::DuplicateRun {
                run_id: info.run_id,
                dir: self.dir().to_path_buf(),
            });
        }
        let tmp = self.inner.layout.tmp_txn_dir(&info.run_id);
        layout::remove_dir_if_exists(&tmp)?;
        std::fs::create_dir_all(&tmp).map_err(io_err(&tmp))?;
        write_run_marker(&tmp, &info)?;
        st.run_active = true;
        let opts = &self.inner.options;
        let staging = Staging::new(
            tmp.clone(),
            self.inner.props.clone(),
            opts.staging_memory_bytes,
            opts.max_open_staging_files,
            opts.crash.clone(),
        );
        let raw = info
            .keep_raw
            .then(|| RawArchive::new(tmp.join("raw"), opts.raw_lines_per_page, opts.crash.clone()));
        tracing::info!(run_id = %info.run_id, pipeline = %info.pipeline, "run started");
        Ok(RunWriter {
            inner: Arc::clone(&self.inner),
            info,
            staging: Some(staging),
            raw,
            started: Instant::now(),
        })
    }

    /// The generation last committed in `dir` (`None`: no warehouse there), read without
    /// the manifest's file lists; nothing is locked or created.
    pub fn committed_generation(dir: impl AsRef<Path>) -> Result<Option<u64>> {
        Manifest::load_generation(&Layout::new(dir.as_ref())?)
    }

    /// Whether `dir` holds a warehouse (its manifest exists); nothing is created.
    pub fn exists(dir: impl AsRef<Path>) -> bool {
        Layout::new(dir.as_ref()).is_ok_and(|l| l.manifest().exists())
    }

    /// Records a failed run: commits its run record only (no data, cursor unchanged).
    pub fn record_failed_run(
        &self,
        info: &RunInfo,
        outcome: &RunOutcome,
        error: &str,
    ) -> Result<RunRecord> {
        self.inner.writable()?;
        validate_name("run id", &info.run_id)?;
        validate_name("pipeline", &info.pipeline)?;
        let layout = &self.inner.layout;
        let crash = &self.inner.options.crash;
        let mut st = self.inner.state();
        if st.manifest.runs.iter().any(|r| r == &info.run_id) {
            return Err(LoadError::DuplicateRun {
                run_id: info.run_id.clone(),
                dir: self.dir().to_path_buf(),
            });
        }
        let failed = [(info, outcome, now_micros(), error)];
        let mut records = commit_failed_runs(
            layout,
            &mut st.manifest,
            crash,
            &failed,
            Some("failed_run.after_run_record"),
        )?;
        crash.check("failed_run.after_manifest_rename")?;
        layout::remove_dir_if_exists(&layout.tmp_txn_dir(&info.run_id))?;
        // The run failed anyway; a catalog failure on top is only logged.
        let _ = self.inner.rebuild_catalog_after_commit(&st)?;
        tracing::warn!(run_id = %info.run_id, error, "failed run recorded");
        // One failed run in, one record out.
        Ok(records.swap_remove(0))
    }

    /// Sets the BI models and rebuilds the catalog with the current absolute directory
    /// (also the fix after moving the warehouse). An invalid model fails naming it, and the
    /// previous catalog stays in place.
    pub fn register(&self, models: &[(String, String)]) -> Result<()> {
        self.inner.writable()?;
        let mut st = self.inner.state();
        let previous = std::mem::replace(&mut st.models, models.to_vec());
        let built = catalog::build(
            &self.inner.layout,
            &st.manifest,
            &st.models,
            &self.inner.options.crash,
        );
        if built.is_err() {
            st.models = previous;
        }
        built
    }

    /// Merges small files of every (table, partition) with more than one of them.
    pub fn compact(&self) -> Result<CompactReport> {
        self.inner.writable()?;
        let mut st = self.inner.state();
        let before = st.manifest.generation;
        let (mut report, expired) = self.inner.compact_manifest(&mut st, 1)?;
        if st.manifest.generation != before {
            report.catalog_error = self.inner.rebuild_catalog_after_commit(&st)?;
            self.inner.delete_expired(&expired)?;
        }
        Ok(report)
    }

    /// Overview: pipelines, tables, the last `last_runs` runs, sizes.
    pub fn status(&self, last_runs: usize) -> Result<WarehouseStatus> {
        let m = self.state()?;
        let layout = &self.inner.layout;
        let mut tables = Vec::new();
        for t in ltx_transform::Table::ALL {
            let files = m.files(t.name());
            let partitions: HashSet<&str> = files.iter().map(|f| f.partition.as_str()).collect();
            tables.push(TableStatus {
                name: t.name().to_string(),
                files: files.len() as u64,
                rows: files.iter().map(|f| f.rows).sum(),
                bytes: files.iter().map(|f| f.bytes).sum(),
                partitions: partitions.len() as u64,
            });
        }
        let rows_of = |name: &str| tables.iter().find(|t| t.name == name).map_or(0, |t| t.rows);
        let quality_issues_total = rows_of(ltx_transform::Table::QualityIssues.name());
        let rejected_total = rows_of(ltx_transform::Table::Rejected.name());
        let mut runs = Vec::new();
        for id in m.runs.iter().rev().take(last_runs) {
            runs.push(RunRecord::load(layout, id)?);
        }
        Ok(WarehouseStatus {
            dir: layout.root().to_path_buf(),
            generation: m.generation,
            committed_at: m.committed_at,
            pipelines: m.pipelines.clone(),
            tables,
            runs,
            quality_issues_total,
            rejected_total,
            retired_files: m.retired.len() as u64,
            size_on_disk_bytes: layout::dir_size(layout.root()),
        })
    }
}

/// Streams one run's batches to staging files and commits them atomically.
pub struct RunWriter {
    inner: Arc<Inner>,
    info: RunInfo,
    staging: Option<Staging>,
    raw: Option<RawArchive>,
    started: Instant,
}

impl std::fmt::Debug for RunWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunWriter")
            .field("run_id", &self.info.run_id)
            .finish_non_exhaustive()
    }
}

impl RunWriter {
    /// The run's id.
    pub fn run_id(&self) -> &str {
        &self.info.run_id
    }

    /// Appends a batch to the run's staging files (invisible until commit).
    pub fn write(&mut self, batch: TableBatch) -> Result<()> {
        match self.staging.as_mut() {
            Some(s) => s.write(batch),
            None => Ok(()),
        }
    }

    /// Appends several batches.
    pub fn write_all(&mut self, batches: impl IntoIterator<Item = TableBatch>) -> Result<()> {
        for b in batches {
            self.write(b)?;
        }
        Ok(())
    }

    /// Archives one raw conversation JSON (no-op unless `RunInfo::keep_raw`).
    pub fn write_raw(&mut self, raw_json: &str) -> Result<()> {
        match self.raw.as_mut() {
            Some(r) => r.write(raw_json),
            None => Ok(()),
        }
    }

    /// Commits the run: merge, publish, run record, manifest swap, catalog rebuild, and an
    /// automatic compaction when a partition has too many files.
    pub fn commit(mut self, outcome: RunOutcome) -> Result<CommitReport> {
        let inner = Arc::clone(&self.inner);
        let mut staging = self
            .staging
            .take()
            .ok_or_else(|| LoadError::RunInProgress {
                dir: inner.layout.root().to_path_buf(),
            })?;
        let mut st = inner.state();
        let opts = &inner.options;
        let (_record, mut report, expired) = commit::commit_run(
            RunCommit {
                layout: &inner.layout,
                crash: &opts.crash,
                props: &inner.props,
                grace: opts.retire_grace,
                info: &self.info,
                outcome: &outcome,
                staging: &mut staging,
                raw: self.raw.take(),
                started: self.started,
            },
            &mut st.manifest,
        )?;
        inner.delete_expired(&expired)?;
        let crowded = st.manifest.tables.values().any(|t| {
            let mut per: BTreeMap<&str, usize> = BTreeMap::new();
            for f in &t.files {
                *per.entry(f.partition.as_str()).or_default() += 1;
            }
            per.values().any(|n| *n > opts.compact_max_files)
        });
        // A compaction commits a manifest of its own; one catalog build covers both.
        let mut compacted_expired = Vec::new();
        if crowded {
            let (compaction, expired) = inner.compact_manifest(&mut st, opts.compact_max_files)?;
            report.compaction = Some(compaction);
            compacted_expired = expired;
        }
        report.catalog_error = inner.rebuild_catalog_after_commit(&st)?;
        inner.delete_expired(&compacted_expired)?;
        report.elapsed = self.started.elapsed();
        tracing::info!(
            run_id = %report.run_id,
            generation = report.generation,
            conversations = report.conversations,
            new = report.conversations_new,
            replaced = report.conversations_replaced,
            unchanged = report.conversations_unchanged,
            elapsed_ms = report.elapsed.as_millis() as u64,
            "run committed"
        );
        Ok(report)
    }
}

impl Drop for RunWriter {
    fn drop(&mut self) {
        self.inner.state().run_active = false;
        // After an injected crash leave everything as an abort would; otherwise discard
        // the staging files of an abandoned run now rather than at the next open.
        if !self.inner.options.crash.fired() {
            let _ = layout::remove_dir_if_exists(&self.inner.layout.tmp_txn_dir(&self.info.run_id));
        }
    }
}

/// True when `dir` holds at least one file (recursively).
fn has_any_file(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| match e.file_type() {
        Ok(t) if t.is_dir() => has_any_file(&e.path()),
        Ok(_) => true,
        Err(_) => false,
    })
}

/// Deletes everything an interrupted run or rebuild may have left: unreferenced data
/// files, staging dirs, run records and raw archives of uncommitted runs, tmp catalogs.
/// File in a run's temporary directory naming the run (see [`record_interrupted_runs`]).
const RUN_MARKER: &str = "run.json";

/// Error text of a run found interrupted.
const INTERRUPTED: &str = "interrupted before its commit: the process stopped (killed, crashed or the machine went down) and nothing of the run was committed; found when the warehouse was next opened";

/// Writes the run's [`RunInfo`] into its temporary directory.
fn write_run_marker(tmp: &Path, info: &RunInfo) -> Result<()> {
    let path = tmp.join(RUN_MARKER);
    let bytes = serde_json::to_vec(info).map_err(|source| LoadError::Json {
        path: path.clone(),
        source,
    })?;
    std::fs::write(&path, bytes).map_err(io_err(&path))
}

/// A run killed before its commit leaves only its temporary directory, which cleanup
/// deletes: it vanished from the run log. Each such run (a marker whose id the manifest
/// does not list) is committed as a failed run, before the cleanup, in one generation;
/// `finished_at` is the last write to its directory. A crash in here leaves the markers,
/// so the next open does it again. Unreadable markers are left to the cleanup.
fn record_interrupted_runs(
    layout: &Layout,
    manifest: &mut Manifest,
    crash: &CrashHook,
) -> Result<()> {
    let mut found = Vec::new();
    for dir in read_dir_entries(&layout.tmp_dir())? {
        let Ok(bytes) = std::fs::read(dir.join(RUN_MARKER)) else {
            continue;
        };
        let Ok(info) = serde_json::from_slice::<RunInfo>(&bytes) else {
            continue;
        };
        if validate_name("run id", &info.run_id).is_err()
            || manifest.runs.iter().any(|r| r == &info.run_id)
        {
            continue;
        }
        found.push((last_write(&dir).unwrap_or(info.started_at), info));
    }
    if found.is_empty() {
        return Ok(());
    }
    found.sort_by_key(|(_, info)| info.started_at);
    let outcome = RunOutcome::default();
    let failed: Vec<_> = found
        .iter()
        .map(|(finished_at, info)| (info, &outcome, truncate_micros(*finished_at), INTERRUPTED))
        .collect();
    commit_failed_runs(layout, manifest, crash, &failed, None)?;
    let ids: Vec<&str> = found.iter().map(|(_, i)| i.run_id.as_str()).collect();
    tracing::warn!(runs = ?ids, "runs interrupted before their commit recorded as failed");
    Ok(())
}

/// Commits failed runs `(info, outcome, finished_at, error)`: their records, then one new
/// manifest generation listing them (`after_records`: a crash point between the two).
/// Returns the records in order.
fn commit_failed_runs(
    layout: &Layout,
    manifest: &mut Manifest,
    crash: &CrashHook,
    failed: &[(&RunInfo, &RunOutcome, DateTime<Utc>, &str)],
    after_records: Option<&'static str>,
) -> Result<Vec<RunRecord>> {
    let mut next = manifest.clone();
    next.generation += 1;
    next.committed_at = now_micros();
    let mut records = Vec::with_capacity(failed.len());
    for &(info, outcome, finished_at, error) in failed {
        next.runs.push(info.run_id.clone());
        let record = RunRecord::failed(info, outcome, next.generation, finished_at, error);
        record.store(layout)?;
        records.push(record);
    }
    if let Some(point) = after_records {
        crash.check(point)?;
    }
    next.store(layout, crash, [None, None, None])?;
    *manifest = next;
    Ok(records)
}

/// The latest modification time of a file directly in `dir` (or of `dir` itself).
fn last_write(dir: &Path) -> Option<DateTime<Utc>> {
    let mut latest = std::fs::metadata(dir).and_then(|m| m.modified()).ok()?;
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        if let Ok(t) = e.metadata().and_then(|m| m.modified()) {
            latest = latest.max(t);
        }
    }
    Some(latest.into())
}

fn cleanup_orphans(layout: &Layout, manifest: &Manifest, crash: &CrashHook) -> Result<()> {
    let mut referenced: HashSet<String> = manifest.all_live().map(|f| f.path.clone()).collect();
    referenced.extend(manifest.retired.iter().map(|r| r.path.clone()));
    let runs: HashSet<&str> = manifest.runs.iter().map(String::as_str).collect();
    let mut removed = 0usize;
    let note = |removed: &mut usize| -> Result<()> {
        *removed += 1;
        if *removed == 1 {
            crash.check("cleanup.during_orphans")?;
        }
        Ok(())
    };

    let mut stack = vec![layout.data_dir()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path
                .strip_prefix(layout.root())
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default();
            if !referenced.contains(&rel) {
                tracing::info!(file = %rel, "removing orphan data file");
                layout::remove_file_if_exists(&path)?;
                note(&mut removed)?;
            }
        }
    }
    for e in read_dir_entries(&layout.tmp_dir())? {
        if e.is_dir() {
            layout::remove_dir_if_exists(&e)?;
        } else {
            layout::remove_file_if_exists(&e)?;
        }
        note(&mut removed)?;
    }
    for e in read_dir_entries(&layout.runs_dir())? {
        let name = e
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let keep = name
            .strip_suffix(".json")
            .is_some_and(|id| runs.contains(id));
        if !keep {
            layout::remove_file_if_exists(&e)?;
            note(&mut removed)?;
        }
    }
    for e in read_dir_entries(&layout.raw_dir())? {
        let name = e
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        if !runs.contains(name.as_str()) {
            layout::remove_dir_if_exists(&e)?;
            note(&mut removed)?;
        }
    }
    for e in read_dir_entries(layout.root())? {
        let name = e
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        if name.starts_with("warehouse.duckdb.tmp-") {
            layout::remove_file_if_exists(&e)?;
            note(&mut removed)?;
        }
    }
    layout::remove_file_if_exists(&layout.manifest_tmp())?;
    crash.check("cleanup.after_orphans")?;
    Ok(())
}

fn read_dir_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    match std::fs::read_dir(dir) {
        Ok(rd) => Ok(rd.flatten().map(|e| e.path()).collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io_err(dir)(e)),
    }
}
