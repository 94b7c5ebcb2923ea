//! The overview behind `ltx status`: per table its live files, rows, bytes and partitions,
//! the pipelines' cursors, the last runs and the size on disk — all read from the manifest
//! and the run log, without DuckDB.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use ltx_transform::Table;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::layout::{self, Layout};
use crate::manifest::{Manifest, PipelineState};
use crate::runs::RunRecord;

/// Per-table figures for `status`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TableStatus {
    /// Table name.
    pub name: String,
    /// Live files.
    pub files: u64,
    /// Live rows (dimension tables: all snapshots).
    pub rows: u64,
    /// Bytes of live files.
    pub bytes: u64,
    /// Distinct partitions.
    pub partitions: u64,
}

/// Overview for `ltx status`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct WarehouseStatus {
    /// Warehouse directory.
    pub dir: PathBuf,
    /// Current manifest generation.
    pub generation: u64,
    /// When it was committed.
    pub committed_at: DateTime<Utc>,
    /// Cursor and last success per pipeline.
    pub pipelines: BTreeMap<String, PipelineState>,
    /// Every table, in `Table::ALL` order.
    pub tables: Vec<TableStatus>,
    /// The last runs, newest first.
    pub runs: Vec<RunRecord>,
    /// Rows in `_quality_issues`.
    pub quality_issues_total: u64,
    /// Rows in `_rejected`.
    pub rejected_total: u64,
    /// Retired files awaiting deletion.
    pub retired_files: u64,
    /// Bytes on disk under the warehouse directory.
    pub size_on_disk_bytes: u64,
}

/// The overview of the warehouse at `layout` whose manifest is `m`, with its last
/// `last_runs` runs.
pub(crate) fn status(layout: &Layout, m: &Manifest, last_runs: usize) -> Result<WarehouseStatus> {
    let mut tables = Vec::new();
    for t in Table::ALL {
        let files = m.files(t.name());
        let partitions: HashSet<&str> = files.iter().map(|f| f.partition.as_str()).collect();
        tables.push(TableStatus {
            name: t.name().to_string(),
            files: files.len() as u64,
            rows: files.iter().map(|f| f.rows).sum(),
            bytes: files.iter().map(|f| f.bytes).sum(),
            partitions: partitions.len() as u64,
        });
    }
    let rows_of = |name: &str| tables.iter().find(|t| t.name == name).map_or(0, |t| t.rows);
    let quality_issues_total = rows_of(Table::QualityIssues.name());
    let rejected_total = rows_of(Table::Rejected.name());
    let mut runs = Vec::new();
    for id in m.runs.iter().rev().take(last_runs) {
        runs.push(RunRecord::load(layout, id)?);
    }
    Ok(WarehouseStatus {
        dir: layout.root().to_path_buf(),
        generation: m.generation,
        committed_at: m.committed_at,
        pipelines: m.pipelines.clone(),
        tables,
        runs,
        quality_issues_total,
        rejected_total,
        retired_files: m.retired.len() as u64,
        size_on_disk_bytes: layout::dir_size(layout.root()),
    })
}
