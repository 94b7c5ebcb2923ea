//! Crash recovery, run when a warehouse is opened for writing: a run killed before its
//! commit is recorded as failed (its temporary directory names it, see
//! [`write_run_marker`]), everything no manifest references is deleted (data files of
//! uncommitted transactions, staging directories, run records and raw archives of runs that
//! never committed, temporary catalogs, generation snapshots of uncommitted transactions),
//! and generation snapshots and retired files kept long enough (the grace period, or
//! `retain_history`) are deleted, the files dropped from the manifest first. Afterwards the
//! directory holds exactly what the manifest and the retained generations say.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::clock::{now_micros, truncate_micros};
use crate::commit::{commit_failed_runs, delete_expired};
use crate::crash::CrashHook;
use crate::error::{io_err, LoadError, Result};
use crate::generations;
use crate::layout::{self, validate_name, Layout};
use crate::manifest::Manifest;
use crate::txn::expire_retired;
use crate::types::{RunInfo, RunOutcome};

/// Brings a just-opened warehouse back to its manifest: interrupted runs recorded as
/// failed, generations past retention forgotten (before any file they list can go),
/// orphans deleted, expired retirees deleted (each step commits what it changes in the
/// manifest before deleting anything). `keep`: how long retired files and superseded
/// generations stay.
pub(crate) fn recover(
    layout: &Layout,
    manifest: &mut Manifest,
    crash: &CrashHook,
    keep: std::time::Duration,
) -> Result<()> {
    record_interrupted_runs(layout, manifest, crash)?;
    // A commit that died between its manifest rename and its deletions left retired files
    // the manifest no longer lists (the cleanup below deletes them): the snapshots listing
    // them go first.
    generations::prune(layout, manifest.generation, now_micros(), keep)?;
    cleanup_orphans(layout, manifest, crash)?;
    delete_expired_retirees(layout, manifest, crash, keep)
}

/// Retired files kept long enough: dropped from the manifest (a new generation), then
/// deleted once no retained generation lists them.
fn delete_expired_retirees(
    layout: &Layout,
    manifest: &mut Manifest,
    crash: &CrashHook,
    keep: std::time::Duration,
) -> Result<()> {
    let now = now_micros();
    let mut next = manifest.clone();
    let expired = expire_retired(&mut next, now, keep);
    if expired.is_empty() {
        return Ok(());
    }
    next.generation += 1;
    next.committed_at = now;
    next.store(layout, crash, [None, None, None])?;
    *manifest = next;
    generations::prune(layout, manifest.generation, now, keep)?;
    delete_expired(layout, crash, &expired)
}

/// True when `dir` holds at least one file (recursively).
pub(crate) fn has_any_file(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| match e.file_type() {
        Ok(t) if t.is_dir() => has_any_file(&e.path()),
        Ok(_) => true,
        Err(_) => false,
    })
}

/// File in a run's temporary directory naming the run (see [`record_interrupted_runs`]).
const RUN_MARKER: &str = "run.json";

/// Error text of a run found interrupted.
const INTERRUPTED: &str = "interrupted before its commit: the process stopped (killed, crashed or the machine went down) and nothing of the run was committed; found when the warehouse was next opened";

/// Writes the run's [`RunInfo`] into its temporary directory.
pub(crate) fn write_run_marker(tmp: &Path, info: &RunInfo) -> Result<()> {
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

/// Deletes everything an interrupted run or rebuild may have left: unreferenced data
/// files, staging dirs, run records and raw archives of uncommitted runs, tmp catalogs.
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
                // A table's Delta log is derived from the manifest and kept by `delta`.
                if e.file_name() != crate::delta::LOG_DIR {
                    stack.push(path);
                }
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
    for _ in 0..generations::remove_uncommitted(layout, manifest.generation)? {
        note(&mut removed)?;
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
