//! The commit protocol.
//!
//! 1. every new file is fully written and fsynced under `_ltx/tmp/<id>/`;
//! 2. renamed into `data/…` — present but unreferenced, so invisible and an orphan if we die;
//! 3. the run record is written to `_ltx/runs/<id>.json` (tmp + rename);
//! 4. the new manifest is written to `manifest.json.tmp`, fsynced and **renamed over
//!    `manifest.json` — this rename is the commit**; the directory is fsynced;
//! 5. the DuckDB catalog is rebuilt (see `catalog`), then files retired longer than the
//!    grace period are deleted.
//!
//! A crash before 4 leaves the previous generation intact (the next `open` deletes the
//! orphans); after 4 the run is complete and the next `open` finishes step 5. Replaying the
//! same input afterwards is a no-op because versions are compared, so "re-run after a crash"
//! always converges to the state of an uninterrupted run.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use chrono::{DateTime, Utc};
use ltx_transform::Table;
use parquet::file::properties::WriterProperties;

use crate::crash::CrashHook;
use crate::error::{io_err, Result};
use crate::layout::{self, Layout};
use crate::manifest::{FileEntry, Manifest, RetiredFile};
use crate::merge::{self, FileStats, StagedFilter};
use crate::raw::RawArchive;
use crate::runs::{RunRecord, RunStatus};
use crate::staging::{conversation_column, Staging};
use crate::{CommitReport, RunInfo, RunOutcome, TableChange};

/// Now, truncated to microseconds (DuckDB's timestamp precision).
pub(crate) fn now_micros() -> DateTime<Utc> {
    truncate_micros(Utc::now())
}

/// Truncates a timestamp to microseconds.
pub(crate) fn truncate_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// The files a transaction adds and retires.
pub(crate) struct Txn {
    pub id: String,
    pub tmp: PathBuf,
    next: usize,
    pub added: Vec<(PathBuf, Table, FileEntry)>,
    pub retired: Vec<String>,
}

impl Txn {
    /// Starts a transaction whose files are staged in `_ltx/tmp/<id>/`.
    pub(crate) fn new(layout: &Layout, id: &str) -> Result<Self> {
        let tmp = layout.tmp_txn_dir(id);
        std::fs::create_dir_all(&tmp).map_err(io_err(&tmp))?;
        Ok(Self {
            id: id.to_string(),
            tmp,
            next: 0,
            added: Vec::new(),
            retired: Vec::new(),
        })
    }

    /// A fresh final file name (`<id>-<n>.parquet`) and the tmp path to write it at.
    pub(crate) fn new_file(&mut self) -> (PathBuf, String) {
        self.next += 1;
        let name = format!("{}-{:05}.parquet", self.id, self.next);
        (self.tmp.join(format!("out-{name}")), name)
    }

    /// Registers a finished tmp file as a new live file.
    pub(crate) fn add(
        &mut self,
        table: Table,
        partition: &str,
        tmp: PathBuf,
        name: &str,
        stats: FileStats,
    ) {
        self.added.push((
            tmp,
            table,
            FileEntry {
                path: Layout::data_rel(table.name(), partition, name),
                partition: partition.to_string(),
                rows: stats.rows,
                bytes: stats.bytes,
                min_conversation_id: stats.min,
                max_conversation_id: stats.max,
                written_by: self.id.clone(),
            },
        ));
    }

    /// Step 2: renames every new file into `data/` and fsyncs the directories.
    pub(crate) fn publish(
        &self,
        layout: &Layout,
        crash: &CrashHook,
        per_file: Option<&'static str>,
    ) -> Result<()> {
        let mut dirs = BTreeSet::new();
        for (tmp, _, entry) in &self.added {
            let dst = layout.abs(&entry.path);
            if let Some(parent) = dst.parent() {
                if !parent.exists() {
                    std::fs::create_dir_all(parent).map_err(io_err(parent))?;
                    if let Some(table_dir) = parent.parent() {
                        dirs.insert(table_dir.to_path_buf());
                    }
                }
                dirs.insert(parent.to_path_buf());
            }
            layout::rename(tmp, &dst)?;
            if let Some(p) = per_file {
                crash.check(p)?;
            }
        }
        if !dirs.is_empty() {
            dirs.insert(layout.data_dir());
        }
        for d in dirs {
            layout::fsync_dir(&d)?;
        }
        Ok(())
    }

    /// Applies the transaction to a manifest copy: retire, add, purge expired retirees.
    /// Returns the paths whose grace period is over (to delete after the commit).
    pub(crate) fn apply(
        &self,
        m: &mut Manifest,
        now: DateTime<Utc>,
        grace: std::time::Duration,
    ) -> Vec<String> {
        let retired: HashSet<&str> = self.retired.iter().map(String::as_str).collect();
        for t in m.tables.values_mut() {
            t.files.retain(|f| !retired.contains(f.path.as_str()));
        }
        for (_, table, entry) in &self.added {
            m.tables
                .entry(table.name().to_string())
                .or_default()
                .files
                .push(entry.clone());
        }
        let grace = chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX);
        let mut expired = Vec::new();
        m.retired.retain(|r| {
            let keep = now.signed_duration_since(r.retired_at) < grace;
            if !keep {
                expired.push(r.path.clone());
            }
            keep
        });
        for p in &self.retired {
            m.retired.push(RetiredFile {
                path: p.clone(),
                retired_at: now,
            });
        }
        m.generation += 1;
        m.committed_at = now;
        expired
    }
}

/// Everything a run hands to the commit.
pub(crate) struct RunCommit<'a> {
    pub layout: &'a Layout,
    pub crash: &'a CrashHook,
    pub props: &'a WriterProperties,
    pub grace: std::time::Duration,
    pub info: &'a RunInfo,
    pub outcome: &'a RunOutcome,
    pub staging: &'a mut Staging,
    pub raw: Option<RawArchive>,
    pub started: Instant,
}

/// Steps 1–4 for a run. On success `manifest` is the new committed manifest and the
/// returned list holds retired files whose grace period is over.
pub(crate) fn commit_run(
    c: RunCommit<'_>,
    manifest: &mut Manifest,
) -> Result<(RunRecord, CommitReport, Vec<String>)> {
    let layout = c.layout;
    let crash = c.crash;
    let mut txn = Txn::new(layout, &c.info.run_id)?;
    let mut changes: BTreeMap<String, TableChange> = BTreeMap::new();

    // Step 1: close the staging files.
    let staged = c.staging.finish()?;
    let convs = &c.staging.convs;

    // Which incoming conversations win? (`dropped` and `replaced` come out sorted.)
    let existing = merge::lookup_existing(
        layout.root(),
        manifest.files(Table::Conversations.name()),
        convs,
    )?;
    let mut dropped: Vec<i64> = Vec::new();
    let mut replaced: Vec<i64> = Vec::new();
    let mut old_partitions = BTreeSet::new();
    for (i, (id, ts)) in convs.iter().enumerate() {
        if let Some((stored, part)) = existing.get(i) {
            if stored >= ts {
                dropped.push(id);
            } else {
                replaced.push(id);
                old_partitions.insert(part.to_string());
            }
        }
    }
    drop(existing);
    crash.check("merge.after_lookup")?;
    tracing::debug!(
        run_id = %c.info.run_id,
        incoming = convs.len(),
        replaced = replaced.len(),
        unchanged = dropped.len(),
        duplicates = convs.duplicates().len(),
        "merge plan"
    );

    // Staged files: keep the winners only (rewrite just the files that need it).
    let filter = StagedFilter {
        convs,
        dropped: &dropped,
    };
    let must_filter = !dropped.is_empty() || !convs.duplicates().is_empty();
    // Keys kept of duplicated conversations, per table and not per file: a partition may
    // have several staged files (the staging finishes files early to bound open files),
    // and the two copies of a conversation may be in different ones.
    let mut seen_per_table: HashMap<&'static str, HashSet<Vec<u8>>> = HashMap::new();
    for sf in staged {
        let change = changes.entry(sf.table.name().to_string()).or_default();
        if must_filter && filter.needs_rewrite(&sf.path, sf.table)? {
            let (tmp, name) = txn.new_file();
            let table = sf.table;
            let seen = seen_per_table.entry(table.name()).or_default();
            let mut keep = |b: &arrow::array::RecordBatch| filter.mask(b, table, seen);
            let stats = merge::rewrite(
                std::slice::from_ref(&sf.path),
                &tmp,
                c.props,
                table,
                Some(&mut keep),
            )?;
            layout::remove_file_if_exists(&sf.path)?;
            let kept = stats.map_or(0, |s| s.rows);
            change.rows_skipped += sf.rows - kept;
            if let Some(stats) = stats {
                change.rows_added += stats.rows;
                txn.add(table, &sf.partition, tmp, &name, stats);
            }
            crash.check("merge.after_dedupe_file")?;
        } else {
            let (_, name) = txn.new_file();
            let bytes = std::fs::metadata(&sf.path).map_err(io_err(&sf.path))?.len();
            change.rows_added += sf.rows;
            txn.add(
                sf.table,
                &sf.partition,
                sf.path.clone(),
                &name,
                FileStats {
                    rows: sf.rows,
                    bytes,
                    min: sf.min,
                    max: sf.max,
                },
            );
        }
    }

    // Copy-on-write of live files holding rows of replaced conversations.
    if !replaced.is_empty() {
        for table in Table::ALL {
            let Some(col) = conversation_column(table) else {
                continue;
            };
            for f in manifest.files(table.name()) {
                if !old_partitions.contains(&f.partition) || !f.may_contain_any(&replaced) {
                    continue;
                }
                let src = layout.abs(&f.path);
                if !merge::file_has_any(&src, col, table, &replaced)? {
                    continue;
                }
                let (tmp, name) = txn.new_file();
                let mut keep =
                    |b: &arrow::array::RecordBatch| merge::mask_without(b, col, table, &replaced);
                let stats = merge::rewrite(
                    std::slice::from_ref(&src),
                    &tmp,
                    c.props,
                    table,
                    Some(&mut keep),
                )?;
                let kept = stats.map_or(0, |s| s.rows);
                changes
                    .entry(table.name().to_string())
                    .or_default()
                    .rows_removed += f.rows - kept;
                if let Some(stats) = stats {
                    txn.add(table, &f.partition, tmp, &name, stats);
                }
                txn.retired.push(f.path.clone());
                crash.check("merge.after_rewrite_file")?;
            }
        }
    }

    // Step 2: publish.
    crash.check("commit.before_rename")?;
    txn.publish(layout, crash, Some("commit.after_rename_file"))?;
    crash.check("commit.after_renames")?;
    let mut raw_files = Vec::new();
    if let Some(raw) = c.raw {
        let staged_dir = raw.dir().to_path_buf();
        let files = raw.finish()?;
        if !files.is_empty() {
            let dst = layout.raw_dir().join(&c.info.run_id);
            layout::remove_dir_if_exists(&dst)?;
            layout::rename(&staged_dir, &dst)?;
            layout::fsync_dir(&layout.raw_dir())?;
            for f in files {
                if let Some(n) = f.file_name() {
                    raw_files.push(format!(
                        "_ltx/raw/{}/{}",
                        c.info.run_id,
                        n.to_string_lossy()
                    ));
                }
            }
            crash.check("raw.after_rename")?;
        }
    }

    // Step 3: the run record.
    let now = now_micros();
    let mut next = manifest.clone();
    let expired = txn.apply(&mut next, now, c.grace);
    next.runs.push(c.info.run_id.clone());
    let pipeline = next.pipelines.entry(c.info.pipeline.clone()).or_default();
    if let Some(cursor) = c.outcome.cursor {
        pipeline.cursor = Some(match pipeline.cursor {
            Some(old) if old > cursor => old,
            _ => truncate_micros(cursor),
        });
    }
    pipeline.last_success_run = Some(c.info.run_id.clone());
    pipeline.last_success_at = Some(now);

    let rows: BTreeMap<String, u64> = changes
        .iter()
        .map(|(k, v)| (k.clone(), v.rows_added))
        .collect();
    let new_count = convs.len() - dropped.len() - replaced.len();
    let record = RunRecord {
        run_id: c.info.run_id.clone(),
        pipeline: c.info.pipeline.clone(),
        window_from: c.info.window_from.map(truncate_micros),
        window_to: c
            .outcome
            .window_to
            .or(c.info.window_to)
            .map(truncate_micros),
        started_at: truncate_micros(c.info.started_at),
        finished_at: now,
        status: RunStatus::Success,
        generation: next.generation,
        conversations: convs.len() as u64,
        conversations_new: new_count as u64,
        conversations_replaced: replaced.len() as u64,
        conversations_unchanged: dropped.len() as u64,
        retries: c.outcome.retries,
        http_requests: c.outcome.http_requests,
        quality_issues: rows.get(Table::QualityIssues.name()).copied().unwrap_or(0),
        quality_by_check: c.outcome.quality_by_check.clone(),
        drift_by_field: c.outcome.drift_by_field.clone(),
        rejected: rows.get(Table::Rejected.name()).copied().unwrap_or(0),
        files_written: txn.added.len() as u64,
        files_retired: txn.retired.len() as u64,
        raw_files,
        rows,
        error: None,
    };
    record.store(layout)?;
    crash.check("commit.after_run_record")?;

    // Step 4: the manifest rename — the commit point.
    next.store(
        layout,
        crash,
        [
            Some("commit.before_manifest_tmp"),
            Some("commit.after_manifest_tmp"),
            None,
        ],
    )?;
    *manifest = next;
    crash.check("commit.after_manifest_rename")?;

    layout::remove_dir_if_exists(&txn.tmp)?;
    crash.check("commit.after_tmp_cleanup")?;

    let report = CommitReport {
        run_id: c.info.run_id.clone(),
        generation: manifest.generation,
        tables: changes,
        conversations: convs.len() as u64,
        conversations_new: new_count as u64,
        conversations_replaced: replaced.len() as u64,
        conversations_unchanged: dropped.len() as u64,
        duplicates_in_run: convs.duplicates().len() as u64,
        files_written: txn.added.len() as u64,
        files_retired: txn.retired.len() as u64,
        elapsed: c.started.elapsed(),
        compaction: None,
        catalog_error: None,
    };
    Ok((record, report, expired))
}

/// Deletes files whose grace period ended (already removed from the manifest).
pub(crate) fn delete_expired(layout: &Layout, crash: &CrashHook, paths: &[String]) -> Result<()> {
    for (i, p) in paths.iter().enumerate() {
        layout::remove_file_if_exists(&layout.abs(p))?;
        if i == 0 {
            crash.check("retire.during_delete")?;
        }
    }
    Ok(())
}
