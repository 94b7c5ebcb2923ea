//! Where the cursor goes after a run: the one rule, kept apart so that it is tested
//! without running anything.

use chrono::{DateTime, Utc};

/// What kind of run committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    /// An incremental or full sync of the API (`ltx sync`, `--full-refresh`).
    Sync,
    /// A sync of an explicit window (`--from`/`--to`): a backfill.
    Backfill,
    /// Files (`ltx import`): they say nothing about what the API holds.
    Import,
}

/// The cursor after a successful run that started at `cursor` and covered the range up
/// to `covered_to` (`None` for an import). Only a sync moves it, to the end of what it
/// covered; a backfill and an import leave it where it was. A failed run never reaches
/// here: its cursor does not move.
pub fn next_cursor(
    kind: RunKind,
    cursor: Option<DateTime<Utc>>,
    covered_to: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    match kind {
        RunKind::Sync => covered_to.or(cursor),
        RunKind::Backfill | RunKind::Import => cursor,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_a_sync_moves_the_cursor() {
        let c: DateTime<Utc> = "2026-11-01T00:00:00Z".parse().unwrap();
        let to: DateTime<Utc> = "2026-11-02T00:00:00Z".parse().unwrap();
        assert_eq!(next_cursor(RunKind::Sync, Some(c), Some(to)), Some(to));
        assert_eq!(next_cursor(RunKind::Sync, None, Some(to)), Some(to));
        assert_eq!(next_cursor(RunKind::Backfill, Some(c), Some(to)), Some(c));
        assert_eq!(next_cursor(RunKind::Backfill, None, Some(to)), None);
        assert_eq!(next_cursor(RunKind::Import, Some(c), None), Some(c));
        assert_eq!(next_cursor(RunKind::Import, None, None), None);
    }
}
