//! The commit protocol.
//!
//! 1. every new file is fully written and fsynced under `_ltx/tmp/<id>/` (the delete
//!    records of the replaced versions too: new files of the same transaction, and the
//!    rows they supersede are marked deleted in the new manifest only, so a crash leaves
//!    both the marks and the records, or neither);
//! 2. renamed into `data/…` — present but unreferenced, so invisible and an orphan if we die;
//! 3. the run record is written to `_ltx/runs/<id>.json` (tmp + rename);
//! 4. the new generation's file lists are written to `_ltx/generations/` (for
//!    `--as-of`), the new manifest to `manifest.json.tmp`, fsynced and **renamed over
//!    `manifest.json` — this rename is the commit**; the directory is fsynced;
//! 5. the DuckDB catalog is rebuilt (see `catalog`), then generation snapshots and
//!    retired files kept longer than needed (the grace period, or `retain_history`) are
//!    deleted.
//!
//! A crash before 4 leaves the previous generation intact (the next `open` deletes the
//! orphans); after 4 the run is complete and the next `open` finishes step 5. Replaying the
//! same input afterwards is a no-op because versions are compared, so "re-run after a crash"
//! always converges to the state of an uninterrupted run.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use chrono::{DateTime, Utc};
use ltx_transform::Table;
use parquet::file::properties::WriterProperties;

use crate::clock::{now_micros, truncate_micros};
use crate::columns::conversation_column;
use crate::crash::CrashHook;
use crate::deletes::{self, Superseded, DELETED_VERSIONS};
use crate::deletion;
use crate::error::{io_err, Result};
use crate::layout::{self, Layout};
use crate::manifest::{pipeline_key, FileEntry, Manifest};
use crate::merge::{self, FileStats, StagedFilter};
use crate::raw::RawArchive;
use crate::reference::{self, ReferenceBatches};
use crate::runs::{RunRecord, RunStatus};
use crate::staging::{RunConversations, StagedFile, Staging};
use crate::txn::Txn;
use crate::types::{CommitReport, RunInfo, RunOutcome, TableChange};

/// Everything a run hands to the commit.
pub(crate) struct RunCommit<'a> {
    pub layout: &'a Layout,
    pub crash: &'a CrashHook,
    pub props: &'a WriterProperties,
    /// How long retired files are kept (see [`crate::LoadOptions::keep_retired`]).
    pub keep: std::time::Duration,
    /// Keep replaced conversation versions (`sync.history`).
    pub history: bool,
    pub info: &'a RunInfo,
    pub outcome: &'a RunOutcome,
    pub staging: &'a mut Staging,
    pub reference: &'a ReferenceBatches,
    pub raw: Option<RawArchive>,
    pub started: Instant,
}

/// Row changes per table name, filled while the commit writes files.
type Changes = BTreeMap<String, TableChange>;

/// Steps 1–4 for a run. On success `manifest` is the new committed manifest and the
/// returned list holds retired files whose grace period is over.
pub(crate) fn commit_run(
    c: RunCommit<'_>,
    manifest: &mut Manifest,
) -> Result<(RunRecord, CommitReport, Vec<String>)> {
    let RunCommit {
        layout,
        crash,
        props,
        keep,
        history,
        info,
        outcome,
        staging,
        reference,
        raw,
        started,
    } = c;
    let mut txn = Txn::new(layout, &info.run_id)?;
    let mut changes = Changes::new();

    // Step 1: close the staging files.
    let staged = staging.finish()?;
    let convs = &staging.convs;
    let plan = MergePlan::decide(layout, crash, manifest, convs, info)?;
    keep_winners(&mut txn, &mut changes, staged, convs, &plan, props, crash)?;
    let history_rows = mark_replaced(
        &mut txn,
        &mut changes,
        layout,
        manifest,
        &plan,
        props,
        crash,
        info,
        history,
    )?;

    changes.extend(reference::replace_changed(
        &mut txn, manifest, reference, props, crash,
    )?);

    // Step 2: publish.
    publish_files(&txn, layout, crash)?;
    let raw_files = publish_raw(raw, layout, crash, &info.run_id)?;

    // Step 3: the run record.
    let now = now_micros();
    let (next, expired) = next_manifest(manifest, &txn, info, outcome, now, keep);
    let counts = plan.counts(convs);
    let record = run_record(info, outcome, &next, counts, &changes, &txn, raw_files);
    record.store(layout)?;
    crash.check("commit.after_run_record")?;

    // Step 4: the manifest rename — the commit point.
    swap_manifest(layout, crash, manifest, next, &txn)?;

    let report = CommitReport {
        run_id: info.run_id.clone(),
        generation: manifest.generation,
        tables: changes,
        conversations: counts.total,
        conversations_new: counts.new,
        conversations_replaced: counts.replaced,
        conversations_unchanged: counts.unchanged,
        duplicates_in_run: convs.duplicates().len() as u64,
        history_rows,
        files_written: txn.added.len() as u64,
        files_retired: txn.retired.len() as u64,
        elapsed: started.elapsed(),
        compaction: None,
        catalog_error: None,
        pushed: None,
    };
    Ok((record, report, expired))
}

/// Which incoming conversations win, against the versions the warehouse holds.
struct MergePlan {
    /// Incoming ids whose stored version is the same or newer, sorted.
    dropped: Vec<i64>,
    /// Incoming ids that replace an older stored version, sorted.
    replaced: Vec<i64>,
    /// Partitions holding the replaced versions (only their files can hold old rows), with
    /// the versions replaced there (ascending ids).
    old_partitions: BTreeMap<String, Vec<Superseded>>,
}

/// Conversations of a run, by what the merge made of them.
#[derive(Clone, Copy)]
struct Counts {
    total: u64,
    new: u64,
    replaced: u64,
    unchanged: u64,
}

impl MergePlan {
    /// Looks the run's conversations up in the live `conversations` files of the run's
    /// account. (`dropped` and `replaced` come out sorted: `convs` iterates by ascending id.)
    ///
    /// Ids are unique only within an account: conversation 42 of another account is
    /// another conversation, so only this account's files are looked in, and the
    /// partitions holding replaced versions (the only ones rewritten) are this account's.
    fn decide(
        layout: &Layout,
        crash: &CrashHook,
        manifest: &Manifest,
        convs: &RunConversations,
        info: &RunInfo,
    ) -> Result<Self> {
        let run_id = &info.run_id;
        let of_account: Vec<FileEntry> = manifest
            .files(Table::Conversations.name())
            .iter()
            .filter(|f| {
                layout::split_partition(&f.partition).is_some_and(|(a, _)| a == info.account)
            })
            .cloned()
            .collect();
        let existing = merge::lookup_existing(layout.root(), &of_account, convs)?;
        let mut plan = MergePlan {
            dropped: Vec::new(),
            replaced: Vec::new(),
            old_partitions: BTreeMap::new(),
        };
        for (i, (id, ts)) in convs.iter().enumerate() {
            if let Some((stored, part)) = existing.get(i) {
                if stored >= ts {
                    plan.dropped.push(id);
                } else {
                    plan.replaced.push(id);
                    plan.old_partitions
                        .entry(part.to_string())
                        .or_default()
                        .push(Superseded {
                            conversation_id: id,
                            version: stored,
                        });
                }
            }
        }
        drop(existing);
        crash.check("merge.after_lookup")?;
        tracing::debug!(
            run_id = %run_id,
            incoming = convs.len(),
            replaced = plan.replaced.len(),
            unchanged = plan.dropped.len(),
            duplicates = convs.duplicates().len(),
            "merge plan"
        );
        Ok(plan)
    }

    fn counts(&self, convs: &RunConversations) -> Counts {
        let new = convs.len() - self.dropped.len() - self.replaced.len();
        Counts {
            total: convs.len() as u64,
            new: new as u64,
            replaced: self.replaced.len() as u64,
            unchanged: self.dropped.len() as u64,
        }
    }
}

/// Adds the staged files to the transaction, keeping the winners only: a staged file is
/// rewritten only when it holds rows of a dropped conversation, of a duplicate or of a
/// version older than the run's newest.
fn keep_winners(
    txn: &mut Txn,
    changes: &mut Changes,
    staged: Vec<StagedFile>,
    convs: &RunConversations,
    plan: &MergePlan,
    props: &WriterProperties,
    crash: &CrashHook,
) -> Result<()> {
    let filter = StagedFilter {
        convs,
        dropped: &plan.dropped,
    };
    let must_filter = !plan.dropped.is_empty() || !convs.duplicates().is_empty();
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
                props,
                table,
                Some(&mut keep),
            )?;
            layout::remove_file_if_exists(&sf.path)?;
            let kept = stats.map_or(0, |s| s.rows);
            change.rows_skipped += sf.rows - kept;
            if let Some(stats) = stats {
                change.rows_added += stats.rows;
                txn.add(table.name(), &sf.partition, tmp, &name, stats);
            }
            crash.check("merge.after_dedupe_file")?;
        } else {
            let (_, name) = txn.new_file();
            let bytes = std::fs::metadata(&sf.path).map_err(io_err(&sf.path))?.len();
            change.rows_added += sf.rows;
            txn.add(
                sf.table.name(),
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
    Ok(())
}

/// Merge-on-read of the replaced conversations: no file is rewritten. Every live file of
/// the account's partitions holding rows of a replaced conversation gets those rows marked
/// deleted (its [`crate::deletion::DeletedRows`] grows, see `deletion`), and one delete record per replaced
/// version goes to a new file of [`DELETED_VERSIONS`] per partition (see `deletes`), which
/// the views anti-join. With `history`, the marked `conversations` rows are what
/// `conversations_history` shows as superseded (compaction moves them to
/// [`crate::history::SUPERSEDED_CONVERSATIONS`]). Returns how many of those rows there are.
#[allow(clippy::too_many_arguments)] // one call site; the pieces of one commit
fn mark_replaced(
    txn: &mut Txn,
    changes: &mut Changes,
    layout: &Layout,
    manifest: &Manifest,
    plan: &MergePlan,
    props: &WriterProperties,
    crash: &CrashHook,
    info: &RunInfo,
    history: bool,
) -> Result<u64> {
    let replaced = &plan.replaced;
    let mut history_rows = 0;
    if replaced.is_empty() {
        return Ok(history_rows);
    }
    // The files that may hold a replaced conversation's rows; their positions are read on
    // every core (each read touches only the row groups whose id range may hold one).
    let mut candidates: Vec<(Table, &str, &FileEntry)> = Vec::new();
    for table in Table::ALL {
        let Some(col) = conversation_column(table) else {
            continue;
        };
        for f in manifest.files(table.name()) {
            if plan.old_partitions.contains_key(&f.partition) && f.may_contain_any(replaced) {
                candidates.push((table, col, f));
            }
        }
    }
    let positions = positions_in_parallel(layout, &candidates, replaced)?;
    for ((table, _, f), positions) in candidates.iter().zip(positions) {
        if positions.is_empty() {
            continue;
        }
        let before = f.deleted.as_ref().map_or(0, |d| d.rows);
        let marked = deletion::with_more(f, &positions)?;
        let Some(marked) = marked else { continue };
        let newly = marked.rows - before;
        if newly == 0 {
            continue;
        }
        changes
            .entry(table.name().to_string())
            .or_default()
            .rows_removed += newly;
        if history && *table == Table::Conversations {
            history_rows += newly;
        }
        txn.mark(&f.path, marked);
    }
    for (partition, versions) in &plan.old_partitions {
        let (tmp, name) = txn.new_file();
        let stats =
            deletes::write_records(&tmp, props, &info.account, versions, history, &info.run_id)?;
        txn.add(DELETED_VERSIONS, partition, tmp, &name, stats);
    }
    crash.check("merge.after_mark_deleted")?;
    Ok(history_rows)
}

/// [`deletes::positions_of`] the rows of `ids` in each candidate file, in order, on up to
/// as many threads as cores.
fn positions_in_parallel(
    layout: &Layout,
    candidates: &[(Table, &str, &FileEntry)],
    ids: &[i64],
) -> Result<Vec<Vec<u64>>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, candidates.len().max(1));
    let mut out: Vec<Option<Result<Vec<u64>>>> = (0..candidates.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    candidates
                        .iter()
                        .enumerate()
                        .skip(t)
                        .step_by(threads)
                        .map(|(i, (table, col, f))| {
                            (
                                i,
                                deletes::positions_of(&layout.abs(&f.path), col, *table, ids),
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            match h.join() {
                Ok(results) => {
                    for (i, r) in results {
                        out[i] = Some(r);
                    }
                }
                Err(p) => std::panic::resume_unwind(p),
            }
        }
    });
    out.into_iter()
        .map(|r| r.unwrap_or_else(|| Ok(Vec::new())))
        .collect()
}

/// Step 2 for the data files: renamed into `data/`, still unreferenced.
fn publish_files(txn: &Txn, layout: &Layout, crash: &CrashHook) -> Result<()> {
    crash.check("commit.before_rename")?;
    txn.publish(layout, crash, Some("commit.after_rename_file"))?;
    crash.check("commit.after_renames")
}

/// Step 2 for the raw archive (`--keep-raw`): its directory renamed to
/// `_ltx/raw/<run_id>/`. Returns the archived files, relative to the warehouse.
fn publish_raw(
    raw: Option<RawArchive>,
    layout: &Layout,
    crash: &CrashHook,
    run_id: &str,
) -> Result<Vec<String>> {
    let mut raw_files = Vec::new();
    let Some(raw) = raw else {
        return Ok(raw_files);
    };
    let staged_dir = raw.dir().to_path_buf();
    let files = raw.finish()?;
    if files.is_empty() {
        return Ok(raw_files);
    }
    let dst = layout.raw_dir().join(run_id);
    layout::remove_dir_if_exists(&dst)?;
    layout::rename(&staged_dir, &dst)?;
    layout::fsync_dir(&layout.raw_dir())?;
    for f in files {
        if let Some(n) = f.file_name() {
            raw_files.push(format!("_ltx/raw/{}/{}", run_id, n.to_string_lossy()));
        }
    }
    crash.check("raw.after_rename")?;
    Ok(raw_files)
}

/// The manifest the run commits: the transaction applied, the run listed, the pipeline's
/// cursor moved (never backwards) and its last success set. Also returns the retired
/// files kept long enough (`keep`).
fn next_manifest(
    manifest: &Manifest,
    txn: &Txn,
    info: &RunInfo,
    outcome: &RunOutcome,
    now: DateTime<Utc>,
    keep: std::time::Duration,
) -> (Manifest, Vec<String>) {
    let mut next = manifest.clone();
    let expired = txn.apply(&mut next, now, keep);
    next.runs.push(info.run_id.clone());
    let pipeline = next
        .pipelines
        .entry(pipeline_key(&info.account, &info.pipeline))
        .or_default();
    if let Some(cursor) = outcome.cursor {
        pipeline.cursor = Some(match pipeline.cursor {
            Some(old) if old > cursor => old,
            _ => truncate_micros(cursor),
        });
    }
    pipeline.last_success_run = Some(info.run_id.clone());
    pipeline.last_success_at = Some(now);
    (next, expired)
}

/// The record of a successful run committing `next` (finished when `next` is committed).
fn run_record(
    info: &RunInfo,
    outcome: &RunOutcome,
    next: &Manifest,
    counts: Counts,
    changes: &Changes,
    txn: &Txn,
    raw_files: Vec<String>,
) -> RunRecord {
    let rows: BTreeMap<String, u64> = changes
        .iter()
        .map(|(k, v)| (k.clone(), v.rows_added))
        .collect();
    RunRecord {
        conversations: counts.total,
        conversations_new: counts.new,
        conversations_replaced: counts.replaced,
        conversations_unchanged: counts.unchanged,
        quality_issues: rows.get(Table::QualityIssues.name()).copied().unwrap_or(0),
        quality_by_check: outcome.quality_by_check.clone(),
        drift_by_field: outcome.drift_by_field.clone(),
        rejected: rows.get(Table::Rejected.name()).copied().unwrap_or(0),
        files_written: txn.added.len() as u64,
        files_retired: txn.retired.len() as u64,
        raw_files,
        rows,
        ..RunRecord::of_run(
            info,
            outcome,
            RunStatus::Success,
            next.generation,
            next.committed_at,
        )
    }
}

/// Step 4: the manifest rename (the commit point), then the transaction's temporary
/// directory is removed.
fn swap_manifest(
    layout: &Layout,
    crash: &CrashHook,
    manifest: &mut Manifest,
    next: Manifest,
    txn: &Txn,
) -> Result<()> {
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
    crash.check("commit.after_tmp_cleanup")
}

/// Commits failed runs `(info, outcome, finished_at, error)`: their records, then one new
/// manifest generation listing them (`after_records`: a crash point between the two).
/// Returns the records in order.
pub(crate) fn commit_failed_runs(
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
