//! [`RunReport`]: what a committed sync or import did (the CLI prints it).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ltx_load::CommitReport;
use ltx_transform::TransformStats;

/// What a finished sync or import reports.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The run's id.
    pub run_id: String,
    /// Covered `updated_at` range (`None` for imports).
    pub window: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Conversations transformed.
    pub conversations: u64,
    /// Rows per table produced by the transform (dimension rows once per worker).
    pub stats: TransformStats,
    /// What the commit did: rows added per table, new/replaced/unchanged conversations.
    pub commit: CommitReport,
    /// HTTP requests (0 for imports).
    pub requests: u64,
    /// What the run found short of what the API announced (one line each; see
    /// `ltx_extract::completeness`), also in `_ltx_runs.quality_by_check`.
    pub warnings: Vec<String>,
    /// Wall time.
    pub elapsed: Duration,
}

/// The transform's reconciliation counts, keyed for the run record (checks with none
/// left out).
pub fn quality_by_check(stats: &TransformStats) -> BTreeMap<String, u64> {
    stats
        .quality_issues
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(check, n)| ((*check).to_owned(), *n))
        .collect()
}
