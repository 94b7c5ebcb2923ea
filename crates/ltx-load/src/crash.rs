//! Fault injection: named crash points on the commit path.
//!
//! Crash safety is only believable when it is tested at every step, so the commit
//! path calls [`CrashHook::check`] at each named point below. With
//! `LTX_CRASH_AT=<point>` in the environment (read by [`LoadOptions::default`](crate::LoadOptions))
//! the process calls `std::process::abort()` the first time that point is reached — an
//! end-to-end test can kill the real `ltx` binary at every step. Library tests use
//! [`CrashHook::error_at`], which returns [`LoadError::InjectedCrash`] instead and leaves
//! every file on disk exactly as an abort would (the `RunWriter` does not clean up after an
//! injected crash).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::{LoadError, Result};

/// Every crash point, in the order a run meets them.
pub const CRASH_POINTS: &[&str] = &[
    // writing
    "staging.after_first_write",
    "raw.after_page",
    // commit: staging
    "staging.after_file",
    "merge.after_lookup",
    "merge.after_dedupe_file",
    "merge.after_mark_deleted",
    "reference.after_write",
    // commit: publish (files renamed into data/, still unreferenced)
    "commit.before_rename",
    "commit.after_rename_file",
    "commit.after_renames",
    "raw.after_rename",
    // commit: run record + manifest
    "commit.after_run_record",
    "commit.before_manifest_tmp",
    "commit.after_manifest_tmp",
    "commit.after_manifest_rename",
    // after the commit point
    "commit.after_tmp_cleanup",
    // Delta logs brought up to the manifest (after each commit and at open)
    "delta.after_table_commit",
    "delta.after_checkpoint",
    "catalog.before_build",
    "catalog.after_build_tmp",
    "catalog.after_rename",
    "retire.during_delete",
    // open: orphan cleanup
    "cleanup.during_orphans",
    "cleanup.after_orphans",
    // failed-run record
    "failed_run.after_run_record",
    "failed_run.after_manifest_rename",
    // compaction
    "compact.after_file",
    "compact.after_fold_file",
    "compact.after_renames",
    "compact.after_manifest_rename",
];

/// Crash points of a warehouse on object storage (see `remote`): they fire only there,
/// so the local sweeps do not list them.
pub const REMOTE_CRASH_POINTS: &[&str] = &[
    "remote.after_pending",
    "remote.after_upload_file",
    "remote.after_uploads",
    "remote.after_commit",
    "remote.after_delta_logs",
];

/// What a triggered crash point does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CrashMode {
    /// `std::process::abort()`: the real thing, for end-to-end tests.
    #[default]
    Abort,
    /// Return [`LoadError::InjectedCrash`] without cleaning up: for library tests.
    Error,
}

/// A crash point armed at most once per handle.
#[derive(Clone, Debug, Default)]
pub struct CrashHook {
    point: Option<String>,
    mode: CrashMode,
    fired: Arc<AtomicBool>,
}

impl CrashHook {
    /// Disarmed hook.
    pub fn disabled() -> Self {
        Self::default()
    }

    /// Arms the point named by `LTX_CRASH_AT` (if set) in abort mode.
    pub fn from_env() -> Self {
        match std::env::var("LTX_CRASH_AT") {
            Ok(p) if !p.trim().is_empty() => Self {
                point: Some(p.trim().to_string()),
                mode: CrashMode::Abort,
                fired: Arc::default(),
            },
            _ => Self::default(),
        }
    }

    /// Arms `point` in error mode (library tests).
    pub fn error_at(point: &str) -> Self {
        Self {
            point: Some(point.to_string()),
            mode: CrashMode::Error,
            fired: Arc::default(),
        }
    }

    /// True once the armed point has fired (error mode).
    pub fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }

    /// Called at each named point: crashes if this is the armed point (first time only).
    pub(crate) fn check(&self, point: &'static str) -> Result<()> {
        debug_assert!(
            CRASH_POINTS.contains(&point) || REMOTE_CRASH_POINTS.contains(&point),
            "unknown crash point {point}"
        );
        let Some(armed) = &self.point else {
            return Ok(());
        };
        if armed != point || self.fired.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        match self.mode {
            CrashMode::Abort => {
                tracing::error!(point, "LTX_CRASH_AT: aborting");
                std::process::abort()
            }
            CrashMode::Error => Err(LoadError::InjectedCrash {
                point: point.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_unique_and_fire_once() {
        let mut names = CRASH_POINTS.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CRASH_POINTS.len());
        let hook = CrashHook::error_at("commit.after_manifest_rename");
        assert!(hook.check("commit.before_rename").is_ok());
        assert!(matches!(
            hook.check("commit.after_manifest_rename"),
            Err(LoadError::InjectedCrash { .. })
        ));
        assert!(hook.fired());
        assert!(hook.check("commit.after_manifest_rename").is_ok());
    }
}
