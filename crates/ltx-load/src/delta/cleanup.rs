//! Log clean-up: the commits and checkpoints no reader needs any more are deleted, with
//! the retention the data files have (`LoadOptions::keep_retired`).
//!
//! A Delta reader asked for version `v` (time travel) starts from the newest checkpoint at
//! or before `v` and replays the commits after it. The state at the retention's horizon
//! (`now - keep`) is the newest version committed before it; the files that horizon state
//! lists are still on disk (retired files stay for `keep` after they were retired). So the
//! clean-up keeps the newest checkpoint at or before that version and everything after it,
//! and deletes only what is older: never the newest checkpoint (the current version opens
//! from it), never a version a reader inside the retention can ask for.

use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::error::{io_err, Result};
use crate::layout;

use super::log::Listing;

/// Deletes the log files of `listing` older than the checkpoint that serves the state at
/// `now - keep` (see the module docs), oldest first so that a crash leaves an unbroken
/// run of versions. Commit times are the files' modification times, as Delta's own
/// clean-up takes them. Returns how many files were deleted.
pub(crate) fn cleanup(
    log_dir: &Path,
    listing: &Listing,
    now: SystemTime,
    keep: Duration,
) -> Result<usize> {
    let Some(&newest_checkpoint) = listing.checkpoints.keys().next_back() else {
        return Ok(0);
    };
    let horizon = now.checked_sub(keep).unwrap_or(SystemTime::UNIX_EPOCH);
    // The newest version committed before the horizon; commits are read in order and only
    // until the first younger one, so a sync stats a handful of files.
    let mut horizon_version = None;
    for (&v, path) in &listing.commits {
        if v > newest_checkpoint {
            break;
        }
        let modified = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .map_err(io_err(path))?;
        if modified >= horizon {
            break;
        }
        horizon_version = Some(v);
    }
    let Some(horizon_version) = horizon_version else {
        return Ok(0);
    };
    let Some((&keep_from, _)) = listing.checkpoints.range(..=horizon_version).next_back() else {
        return Ok(0);
    };
    let mut deleted = 0;
    for v in listing
        .commits
        .range(..keep_from)
        .map(|(v, _)| *v)
        .chain(listing.checkpoints.range(..keep_from).map(|(v, _)| *v))
        .collect::<std::collections::BTreeSet<u64>>()
    {
        if let Some(p) = listing.checkpoints.get(&v) {
            layout::remove_file_if_exists(p)?;
            deleted += 1;
        }
        if let Some(p) = listing.commits.get(&v) {
            layout::remove_file_if_exists(p)?;
            deleted += 1;
        }
    }
    if deleted > 0 {
        tracing::debug!(log = %log_dir.display(), deleted, keep_from, "Delta log files past retention deleted");
    }
    Ok(deleted)
}
