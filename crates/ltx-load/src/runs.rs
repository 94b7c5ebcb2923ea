//! The run log: one JSON record per sync, `_ltx/runs/<run_id>.json`, exposed in DuckDB as the
//! `_ltx_runs` view. Records hold counters and the error text only — never secrets (the
//! caller passes error messages that already omit tokens; URLs are stored without query).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::clock::truncate_micros;
use crate::error::{io_err, LoadError, Result};
use crate::layout::{self, Layout};
use crate::types::{RunInfo, RunOutcome};

/// Outcome of a run.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Committed.
    Success,
    /// Failed; nothing but this record was committed and the cursor did not move.
    Failed,
}

/// One entry of the run log.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RunRecord {
    /// Unique id of the run (also `_run_id` in every row it wrote).
    pub run_id: String,
    /// Pipeline name.
    pub pipeline: String,
    /// Start of the extraction window.
    pub window_from: Option<DateTime<Utc>>,
    /// End of the extraction window.
    pub window_to: Option<DateTime<Utc>>,
    /// When the run started.
    pub started_at: DateTime<Utc>,
    /// When the run was committed (or failed).
    pub finished_at: DateTime<Utc>,
    /// Success or failure.
    pub status: RunStatus,
    /// Manifest generation this run committed (the previous one for failed runs).
    pub generation: u64,
    /// Rows added per table (after dropping unchanged and duplicate conversations).
    pub rows: BTreeMap<String, u64>,
    /// Conversations received by the loader.
    pub conversations: u64,
    /// New conversations.
    pub conversations_new: u64,
    /// Conversations that replaced an older version.
    pub conversations_replaced: u64,
    /// Conversations skipped because the warehouse already had this or a newer version.
    pub conversations_unchanged: u64,
    /// HTTP retries reported by the extractor.
    pub retries: u64,
    /// HTTP requests reported by the extractor.
    pub http_requests: u64,
    /// Rows added to `_quality_issues`.
    pub quality_issues: u64,
    /// Reconciliation findings of the run's input per check (see
    /// [`RunOutcome::quality_by_check`](crate::RunOutcome::quality_by_check)); empty in
    /// records written before it existed.
    #[serde(default)]
    pub quality_by_check: BTreeMap<String, u64>,
    /// Schema drift of the run's input: conversations per drifted field and kind (see
    /// [`RunOutcome::drift_by_field`](crate::RunOutcome::drift_by_field)); empty in
    /// records written before it existed.
    #[serde(default)]
    pub drift_by_field: BTreeMap<String, u64>,
    /// Rows added to `_rejected`.
    pub rejected: u64,
    /// Data files written.
    pub files_written: u64,
    /// Data files retired (superseded).
    pub files_retired: u64,
    /// Raw archive files (relative paths) when `--keep-raw` was on.
    pub raw_files: Vec<String>,
    /// Error message of a failed run.
    pub error: Option<String>,
}

impl RunRecord {
    /// A run's record with who it is, its window, its requests and how it ended, and
    /// nothing counted yet (no rows, no files, no findings).
    pub(crate) fn of_run(
        info: &RunInfo,
        outcome: &RunOutcome,
        status: RunStatus,
        generation: u64,
        finished_at: DateTime<Utc>,
    ) -> Self {
        RunRecord {
            run_id: info.run_id.clone(),
            pipeline: info.pipeline.clone(),
            window_from: info.window_from.map(truncate_micros),
            window_to: outcome.window_to.or(info.window_to).map(truncate_micros),
            started_at: truncate_micros(info.started_at),
            finished_at,
            status,
            generation,
            rows: BTreeMap::new(),
            conversations: 0,
            conversations_new: 0,
            conversations_replaced: 0,
            conversations_unchanged: 0,
            retries: outcome.retries,
            http_requests: outcome.http_requests,
            quality_issues: 0,
            quality_by_check: BTreeMap::new(),
            drift_by_field: BTreeMap::new(),
            rejected: 0,
            files_written: 0,
            files_retired: 0,
            raw_files: Vec::new(),
            error: None,
        }
    }

    /// The record of a run that failed: no rows, the cursor unchanged.
    pub(crate) fn failed(
        info: &RunInfo,
        outcome: &RunOutcome,
        generation: u64,
        finished_at: DateTime<Utc>,
        error: &str,
    ) -> Self {
        RunRecord {
            error: Some(error.to_owned()),
            ..Self::of_run(info, outcome, RunStatus::Failed, generation, finished_at)
        }
    }

    /// Writes the record atomically to `_ltx/runs/<run_id>.json`.
    pub(crate) fn store(&self, layout: &Layout) -> Result<()> {
        let path = layout.run_file(&self.run_id);
        let bytes = serde_json::to_vec_pretty(self).map_err(|source| LoadError::Json {
            path: path.clone(),
            source,
        })?;
        let tmp = layout.runs_dir().join(format!("{}.json.tmp", self.run_id));
        layout::write_atomic(&path, &tmp, &bytes, || Ok(()))
    }

    /// Reads `_ltx/runs/<run_id>.json`.
    pub fn load(layout: &Layout, run_id: &str) -> Result<Self> {
        let path = layout.run_file(run_id);
        let bytes = std::fs::read(&path).map_err(io_err(&path))?;
        serde_json::from_slice(&bytes).map_err(|source| LoadError::Json { path, source })
    }
}
