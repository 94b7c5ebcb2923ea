//! The retained generations: listing the snapshots `_ltx/generations/` holds (written by
//! every commit, see [`GenerationSnapshot`]), deleting those no longer retained, and
//! picking the one an `--as-of` asks for.
//!
//! **Retention.** A generation is retained while it is the committed one or its successor
//! was committed less than `keep` ago (`max(grace, destination.retain_history)`): then
//! every instant of the last `keep` has its generation. A file retired by the commit of
//! generation `g + 1` is listed by generations up to `g` only, whose successors were all
//! committed by then, so the retired-file rule (deleted `keep` after its retirement, see
//! `txn`) deletes a file exactly when no retained generation lists it any more. Snapshots
//! are deleted oldest first and before those files (after a commit and when the
//! warehouse is opened), so a snapshot on disk never lists a deleted file — and a reader
//! checks anyway, since a writer may be deleting while it reads.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::error::{io_err, LoadError, Result};
use crate::layout::{self, Layout};
use crate::manifest::GenerationSnapshot;
use crate::runs::{RunRecord, RunStatus};

/// A snapshot on disk: its generation, commit instant and file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Retained {
    pub generation: u64,
    pub committed_at: DateTime<Utc>,
    pub path: PathBuf,
}

/// What `--as-of` asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AsOf {
    /// The generation a run committed (right after its commit).
    Run(String),
    /// The last generation committed at or before this instant.
    Instant(DateTime<Utc>),
}

impl std::fmt::Display for AsOf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AsOf::Run(id) => write!(f, "run {id}"),
            AsOf::Instant(t) => write!(f, "{}", t.format("%Y-%m-%dT%H:%M:%S%.6fZ")),
        }
    }
}

/// The snapshots in `_ltx/generations/` up to generation `committed`, by generation (a
/// missing directory is an empty list; other names, temporary files included, are ignored).
pub(crate) fn list(layout: &Layout, committed: u64) -> Result<Vec<Retained>> {
    let dir = layout.generations_dir();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(&dir)(e)),
    };
    let mut out: Vec<Retained> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let (generation, committed_at) = layout::parse_generation_file(&name)?;
            (generation <= committed).then(|| Retained {
                generation,
                committed_at,
                path: e.path(),
            })
        })
        .collect();
    out.sort_by_key(|r| r.generation);
    Ok(out)
}

/// Deletes the snapshots no longer retained at `now` (see the module docs), oldest first,
/// stopping at the first one retained so that what stays is an unbroken run of
/// generations. Returns how many were deleted.
pub(crate) fn prune(
    layout: &Layout,
    committed: u64,
    now: DateTime<Utc>,
    keep: std::time::Duration,
) -> Result<usize> {
    let keep = chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::MAX);
    let all = list(layout, committed)?;
    let mut deleted = 0;
    for pair in all.windows(2) {
        let (old, successor) = (&pair[0], &pair[1]);
        if now.signed_duration_since(successor.committed_at) < keep {
            break;
        }
        layout::remove_file_if_exists(&old.path)?;
        deleted += 1;
    }
    if deleted > 0 {
        tracing::debug!(deleted, "generation snapshots past retention deleted");
    }
    Ok(deleted)
}

/// Deletes what a commit that never reached its manifest rename left in
/// `_ltx/generations/`: snapshots of generations after `committed`, temporary files.
/// Returns how many files were deleted.
pub(crate) fn remove_uncommitted(layout: &Layout, committed: u64) -> Result<usize> {
    let dir = layout.generations_dir();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(io_err(&dir)(e)),
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let uncommitted = match layout::parse_generation_file(&name) {
            Some((generation, _)) => generation > committed,
            None => true,
        };
        if uncommitted {
            tracing::info!(file = %name, "removing generation snapshot of an uncommitted transaction");
            layout::remove_file_if_exists(&e.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// The retained generation `as_of` asks for, in the warehouse at `layout` whose committed
/// generation is `committed` and whose runs are `runs` (oldest first).
pub(crate) fn resolve(
    layout: &Layout,
    committed: u64,
    runs: &[String],
    as_of: &AsOf,
) -> Result<GenerationSnapshot> {
    let retained = list(layout, committed)?;
    let not_retained = || not_retained(layout, runs, as_of, &retained);
    let found = match as_of {
        AsOf::Run(run_id) => {
            let known = runs.iter().any(|r| r == run_id);
            let record = if known {
                RunRecord::load(layout, run_id).ok()
            } else {
                None
            };
            let Some(record) = record else {
                return Err(LoadError::AsOfUnknownRun {
                    run_id: run_id.clone(),
                    dir: layout.root().to_path_buf(),
                });
            };
            if record.status == RunStatus::Failed {
                return Err(LoadError::AsOfFailedRun {
                    run_id: run_id.clone(),
                    error: record.error.unwrap_or_default(),
                });
            }
            retained.iter().find(|r| r.generation == record.generation)
        }
        AsOf::Instant(t) => retained.iter().rev().find(|r| r.committed_at <= *t),
    };
    let Some(found) = found else {
        return Err(not_retained());
    };
    let snapshot = GenerationSnapshot::load(&found.path)?;
    for f in snapshot.tables.values().flat_map(|t| t.files.iter()) {
        if !layout.abs(&f.path).exists() {
            return Err(LoadError::AsOfFilesGone {
                generation: snapshot.generation,
                path: layout.abs(&f.path),
            });
        }
    }
    Ok(snapshot)
}

/// The error for an `--as-of` no retained generation answers, naming the oldest instant and
/// the oldest run that do.
fn not_retained(
    layout: &Layout,
    runs: &[String],
    as_of: &AsOf,
    retained: &[Retained],
) -> LoadError {
    let Some(oldest) = retained.first() else {
        return LoadError::AsOfNotRetained {
            asked: as_of.to_string(),
            oldest: "none: no generation is retained yet".to_owned(),
        };
    };
    let oldest_run = oldest_run_since(layout, runs, oldest.generation);
    let mut text = format!(
        "generation {} committed at {}",
        oldest.generation,
        oldest.committed_at.format("%Y-%m-%dT%H:%M:%S%.6fZ")
    );
    match oldest_run {
        Some(run) => text.push_str(&format!("; the oldest run available is {run}")),
        None => text.push_str("; no run of a retained generation"),
    }
    LoadError::AsOfNotRetained {
        asked: as_of.to_string(),
        oldest: text,
    }
}

/// The oldest successful run whose generation is `oldest` or later: run records are read
/// from the newest back (only on the error path) until one is older.
fn oldest_run_since(layout: &Layout, runs: &[String], oldest: u64) -> Option<String> {
    let mut found = None;
    for id in runs.iter().rev() {
        let Ok(record) = RunRecord::load(layout, id) else {
            continue;
        };
        if record.generation < oldest {
            break;
        }
        if record.status == RunStatus::Success {
            found = Some(record.run_id);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn touch(layout: &Layout, generation: u64, at: &str) -> PathBuf {
        let p = layout.generation_file(generation, at.parse().unwrap());
        std::fs::write(&p, b"").unwrap();
        p
    }

    #[test]
    fn pruning_keeps_an_unbroken_run_of_generations_and_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path()).unwrap();
        layout.create_dirs().unwrap();
        touch(&layout, 1, "2026-03-01T00:00:00Z");
        touch(&layout, 2, "2026-03-02T00:00:00Z");
        // A clock that went back: 3 is older than 2, still not deleted before 2.
        touch(&layout, 3, "2026-03-01T12:00:00Z");
        touch(&layout, 4, "2026-03-05T00:00:00Z");
        let uncommitted = touch(&layout, 5, "2026-03-06T00:00:00Z");
        std::fs::write(layout.generations_dir().join("x.json.zst.tmp"), b"").unwrap();
        let day = std::time::Duration::from_secs(86_400);
        let now: DateTime<Utc> = "2026-03-04T00:00:00Z".parse().unwrap();
        // 1's successor (2) was committed 2 days ago: gone; 2's successor (3) 2.5 days ago:
        // gone; 3's successor (4) is in the future: kept, and so is 4 (the newest).
        assert_eq!(prune(&layout, 4, now, day).unwrap(), 2);
        let left: Vec<u64> = list(&layout, 4)
            .unwrap()
            .iter()
            .map(|r| r.generation)
            .collect();
        assert_eq!(left, [3, 4]);
        // The newest committed one is never deleted, however old.
        let later: DateTime<Utc> = "2027-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(prune(&layout, 4, later, day).unwrap(), 1);
        assert!(
            uncommitted.exists(),
            "5 is not committed: not pruning's business"
        );
        assert_eq!(remove_uncommitted(&layout, 4).unwrap(), 2);
        assert!(!uncommitted.exists());
        let left: Vec<u64> = list(&layout, u64::MAX)
            .unwrap()
            .iter()
            .map(|r| r.generation)
            .collect();
        assert_eq!(left, [4]);
    }
}
