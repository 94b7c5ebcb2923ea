//! The public handle: [`Warehouse`] (open, runs, failed runs, compaction, the catalog,
//! status) and [`RunWriter`] (one run's writes and its commit). It holds the writer lock
//! and the current manifest, and sequences the other modules; the work is theirs.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use chrono::{DateTime, Utc};
use ltx_transform::{TableBatch, TableKind};
use parquet::file::properties::WriterProperties;

use crate::catalog::{self, AsOfCatalog, ReadonlyCatalog};
use crate::clock::now_micros;
use crate::commit::{self, RunCommit};
use crate::compact;
use crate::crash::CrashHook;
use crate::delta;
use crate::encoding::writer_props;
use crate::error::{io_err, LoadError, Result};
use crate::generations::{self, AsOf};
use crate::layout::{self, validate_name, Layout};
use crate::lock::WriterLock;
use crate::manifest::Manifest;
use crate::models;
use crate::raw::RawArchive;
use crate::recovery;
use crate::reference::ReferenceBatches;
use crate::remote::PushReport;
use crate::runs::RunRecord;
use crate::staging::Staging;
use crate::status::{self, WarehouseStatus};
use crate::types::{CommitReport, CompactReport, LoadOptions, RunInfo, RunOutcome};
use crate::upgrade;

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

    /// Rebuilds the catalog for `manifest` with `models`, in the configured storage version.
    fn build_catalog(&self, manifest: &Manifest, models: &[(String, String)]) -> Result<()> {
        let spec = catalog::CatalogSpec {
            models,
            storage_version: &self.options.duckdb_storage_version,
        };
        catalog::build(&self.layout, manifest, &spec, &self.options.crash)
    }

    /// Rebuilds the catalog after a commit. The data is committed whatever happens here, so
    /// a failure other than an injected crash is not an error of the commit: it comes back
    /// as the message for the report (`catalog_error`), and the next open retries.
    fn rebuild_catalog_after_commit(&self, st: &State) -> Result<Option<String>> {
        match self.build_catalog(&st.manifest, &st.models) {
            Ok(()) => Ok(None),
            Err(e @ LoadError::InjectedCrash { .. }) => Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "data committed, but the DuckDB catalog rebuild failed; the next open retries");
                Ok(Some(format!("{}: {e}", self.layout.catalog().display())))
            }
        }
    }

    /// Compacts by `policy` ([`compact`]) and commits the manifest; the caller rebuilds the
    /// catalog (once, also when a run's commit compacts) and then deletes the expired files
    /// returned.
    fn compact_manifest(
        &self,
        st: &mut State,
        fold_all: bool,
        min_files: usize,
    ) -> Result<(CompactReport, Vec<String>)> {
        let o = &self.options;
        let policy = compact::Policy {
            fold_all,
            fold_share: o.compact_fold_share,
            min_files,
            small_bytes: o.compact_small_file_bytes,
            target_bytes: o.target_file_bytes,
        };
        compact::compact(
            &self.layout,
            &self.props,
            &o.crash,
            o.keep_retired(),
            &mut st.manifest,
            policy,
        )
    }

    /// Brings the Delta logs up to the manifest just committed (see [`delta`]): before the
    /// retired files are deleted, so a log never lists a deleted file for long.
    fn sync_delta(&self, manifest: &Manifest) -> Result<()> {
        delta::sync_after_commit(
            &self.layout,
            manifest,
            &self.options.crash,
            self.options.keep_retired(),
        )
    }

    /// Publishes the committed manifest when the warehouse is a local copy of a remote one.
    fn push(&self, st: &State) -> Result<Option<PushReport>> {
        match &self.options.remote {
            Some(remote) => remote.push(&self.layout, &st.manifest).map(Some),
            None => Ok(None),
        }
    }

    /// After a commit of generation `committed`: deletes the generation snapshots past
    /// retention, then the retired files `paths` the commit dropped from the manifest (no
    /// snapshot left lists them). A failure is only logged: the next open retries.
    fn delete_expired(&self, committed: u64, paths: &[String]) -> Result<()> {
        let keep = self.options.keep_retired();
        let deleted = generations::prune(&self.layout, committed, now_micros(), keep)
            .and_then(|_| commit::delete_expired(&self.layout, &self.options.crash, paths));
        match deleted {
            Err(e @ LoadError::InjectedCrash { .. }) => Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "could not delete a retired file or generation; the next open retries");
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
        if let Some(remote) = &options.remote {
            remote.pull(&layout)?;
        }
        let crash = options.crash.clone();
        let mut manifest = match Manifest::load(&layout)? {
            Some(m) => m,
            None => {
                if recovery::has_any_file(&layout.data_dir()) {
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
        recovery::recover(&layout, &mut manifest, &crash, options.keep_retired())?;
        delta::sync_after_commit(&layout, &manifest, &crash, options.keep_retired())?;
        let props = writer_props(options.row_group_rows, options.zstd_level);
        // Before the catalog is built: its views expect the `account` column.
        let account = upgrade::legacy_account(&manifest, options.legacy_account.as_deref());
        let upgrade_expired = upgrade::upgrade(
            &layout,
            &props,
            &crash,
            options.keep_retired(),
            &mut manifest,
            &account,
        )?;
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
            // commit rebuilds it: building views over empty placeholders here first would
            // only delay a first import. Until then `ltx query` says there is no catalog
            // yet, which is true.
            let nothing_committed =
                st.manifest.generation == 0 && !wh.inner.layout.catalog().exists();
            // A catalog in another storage version (`destination.duckdb_storage_version`
            // changed, or one written before ltx chose the version) is rebuilt too.
            let wanted = (
                st.manifest.generation,
                root,
                wh.inner.options.duckdb_storage_version.clone(),
            );
            if current != Some(wanted) && !nothing_committed {
                wh.inner.build_catalog(&st.manifest, &st.models)?;
            }
            if !upgrade_expired.is_empty() {
                wh.inner
                    .delete_expired(st.manifest.generation, &upgrade_expired)?;
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

    /// The committed cursor of `pipeline` for `account` (each account keeps its own).
    pub fn cursor(&self, account: &str, pipeline: &str) -> Result<Option<DateTime<Utc>>> {
        let key = crate::manifest::pipeline_key(account, pipeline);
        Ok(self.state()?.pipelines.get(&key).and_then(|p| p.cursor))
    }

    /// Starts a run; only one run per handle at a time.
    pub fn begin_run(&self, info: RunInfo) -> Result<RunWriter> {
        self.inner.writable()?;
        validate_name("run id", &info.run_id)?;
        validate_name("pipeline", &info.pipeline)?;
        ltx_transform::valid_account(&info.account).map_err(|_| LoadError::InvalidName {
            what: "account",
            value: info.account.clone(),
        })?;
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
        recovery::write_run_marker(&tmp, &info)?;
        st.run_active = true;
        let opts = &self.inner.options;
        let staging = Staging::new(
            tmp.clone(),
            self.inner.props.clone(),
            opts.staging_memory_bytes,
            opts.max_open_staging_files,
            opts.target_file_bytes,
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
            reference: ReferenceBatches::default(),
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

    /// Opens the DuckDB catalog of the warehouse `dir` read-only (other readers and the
    /// writer go on); nothing is locked or created. Fails with
    /// [`LoadError::CatalogMissing`] when there is none yet and with
    /// [`LoadError::CatalogElsewhere`] when it was built for another directory (moved or
    /// copied since); [`ReadonlyCatalog::behind`] tells when its views are behind the last
    /// commit.
    pub fn open_catalog_readonly(dir: impl AsRef<Path>) -> Result<ReadonlyCatalog> {
        catalog::open_readonly(dir.as_ref())
    }

    /// Opens the warehouse `dir` as it was right after the commit `as_of` asks for (see
    /// [`AsOf`]): an in-memory DuckDB with the table views, `*_history`, `_ltx_runs` and the
    /// embedded BI models over that generation's files. Nothing is locked or written
    /// (`warehouse.duckdb` is not touched). Fails with [`LoadError::AsOfUnknownRun`],
    /// [`LoadError::AsOfFailedRun`] or [`LoadError::AsOfNotRetained`] (naming the oldest
    /// generation and run retained) when no retained generation answers.
    pub fn open_as_of(dir: impl AsRef<Path>, as_of: &AsOf) -> Result<AsOfCatalog> {
        let layout = Layout::new(dir.as_ref())?;
        let Some(manifest) = Manifest::load(&layout)? else {
            return Err(LoadError::CatalogMissing {
                path: layout.catalog(),
            });
        };
        let snapshot = generations::resolve(&layout, manifest.generation, &manifest.runs, as_of)?;
        let connection = catalog::open_as_of(&layout, &snapshot, &models::default_models())?;
        Ok(AsOfCatalog {
            connection,
            generation: snapshot.generation,
            committed_at: snapshot.committed_at,
        })
    }

    /// Whether `run_id` is a run recorded in the warehouse `dir` (its record exists).
    pub fn has_run(dir: impl AsRef<Path>, run_id: &str) -> bool {
        validate_name("run id", run_id).is_ok()
            && Layout::new(dir.as_ref()).is_ok_and(|l| l.run_file(run_id).exists())
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
        let mut records = commit::commit_failed_runs(
            layout,
            &mut st.manifest,
            crash,
            &failed,
            Some("failed_run.after_run_record"),
        )?;
        crash.check("failed_run.after_manifest_rename")?;
        layout::remove_dir_if_exists(&layout.tmp_txn_dir(&info.run_id))?;
        self.inner.push(&st)?;
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
        let built = self.inner.build_catalog(&st.manifest, &st.models);
        if built.is_err() {
            st.models = previous;
        }
        built
    }

    /// Rebuilds the catalog with this handle's models ([`LoadOptions::models`]: by default
    /// the embedded BI models) and the current absolute directory (also the fix after
    /// moving the warehouse). Returns how many models it created.
    pub fn rebuild_catalog(&self) -> Result<usize> {
        self.inner.writable()?;
        let st = self.inner.state();
        self.inner.build_catalog(&st.manifest, &st.models)?;
        Ok(st.models.len())
    }

    /// Folds every deleted row into rewritten files and merges the small files of every
    /// (table, partition) with more than one of them.
    pub fn compact(&self) -> Result<CompactReport> {
        self.inner.writable()?;
        let mut st = self.inner.state();
        let before = st.manifest.generation;
        let (mut report, expired) = self.inner.compact_manifest(&mut st, true, 1)?;
        if st.manifest.generation != before {
            self.inner.sync_delta(&st.manifest)?;
            self.inner.push(&st)?;
            report.catalog_error = self.inner.rebuild_catalog_after_commit(&st)?;
            self.inner
                .delete_expired(st.manifest.generation, &expired)?;
        }
        Ok(report)
    }

    /// Overview: pipelines, tables, the last `last_runs` runs, sizes.
    pub fn status(&self, last_runs: usize) -> Result<WarehouseStatus> {
        let m = self.state()?;
        status::status(&self.inner.layout, &m, last_runs)
    }
}

/// Streams one run's batches to staging files and commits them atomically.
pub struct RunWriter {
    inner: Arc<Inner>,
    info: RunInfo,
    staging: Option<Staging>,
    reference: ReferenceBatches,
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

    /// Appends a batch to the run's staging files (invisible until commit). Batches of a
    /// reference table (calendars, SLA targets) are kept whole instead: the commit replaces
    /// that table when its content changed.
    pub fn write(&mut self, batch: TableBatch) -> Result<()> {
        // A batch of another account would be merged against this account's rows.
        if layout::split_partition(&batch.partition).map(|(a, _)| a) != Some(&self.info.account) {
            return Err(LoadError::AccountMismatch {
                table: batch.table.name().to_string(),
                partition: batch.partition,
                account: self.info.account.clone(),
            });
        }
        if batch.table.kind() == TableKind::Reference {
            self.reference
                .push(batch.table, batch.partition, batch.batch);
            return Ok(());
        }
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
                keep: opts.keep_retired(),
                history: opts.history,
                info: &self.info,
                outcome: &outcome,
                staging: &mut staging,
                reference: &self.reference,
                raw: self.raw.take(),
                started: self.started,
            },
            &mut st.manifest,
        )?;
        inner.sync_delta(&st.manifest)?;
        inner.delete_expired(st.manifest.generation, &expired)?;
        // Files past the fold share, partitions past `compact_max_files`: a compaction
        // commits a manifest of its own; one catalog build covers both.
        let mut compacted_expired = Vec::new();
        let before = st.manifest.generation;
        let (compaction, expired) =
            inner.compact_manifest(&mut st, false, opts.compact_max_files)?;
        if st.manifest.generation != before {
            report.compaction = Some(compaction);
            compacted_expired = expired;
            inner.sync_delta(&st.manifest)?;
        }
        // Before the catalog: a commit the bucket refused must not show in the views.
        report.pushed = inner.push(&st)?;
        report.catalog_error = inner.rebuild_catalog_after_commit(&st)?;
        inner.delete_expired(st.manifest.generation, &compacted_expired)?;
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
