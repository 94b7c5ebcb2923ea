//! The overview behind `ltx status`: per table its live files, rows, bytes and partitions,
//! the pipelines' cursors, the last runs, the history kept and the size on disk — all read
//! from the manifest, the run log and the generation snapshots' names, without DuckDB.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use ltx_transform::Table;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::generations;
use crate::history::SUPERSEDED_CONVERSATIONS;
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
    /// What is kept of earlier states (absent in JSON written before it existed).
    #[serde(default)]
    pub history: HistoryStatus,
    /// Bytes on disk under the warehouse directory.
    pub size_on_disk_bytes: u64,
}

/// What the warehouse keeps of its earlier states.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct HistoryStatus {
    /// Generations readable with `ltx query --as-of` (their snapshots in `_ltx/generations`).
    pub generations: u64,
    /// The oldest of them.
    pub oldest_generation: Option<u64>,
    /// When the oldest was committed: the earliest instant `--as-of` answers.
    pub oldest_committed_at: Option<DateTime<Utc>>,
    /// Bytes of the retired files kept (for readers of older catalogs and for those
    /// generations).
    pub retired_bytes: u64,
    /// Bytes of the generation snapshots.
    pub snapshot_bytes: u64,
    /// Replaced conversation versions kept (`conversations_history` rows not current).
    pub superseded_conversations: u64,
    /// Bytes of their files.
    pub superseded_bytes: u64,
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
    let retained = generations::list(layout, m.generation)?;
    let superseded = m.files(SUPERSEDED_CONVERSATIONS);
    let history = HistoryStatus {
        generations: retained.len() as u64,
        oldest_generation: retained.first().map(|r| r.generation),
        oldest_committed_at: retained.first().map(|r| r.committed_at),
        retired_bytes: m
            .retired
            .iter()
            .map(|r| {
                r.bytes.unwrap_or_else(|| {
                    std::fs::metadata(layout.abs(&r.path)).map_or(0, |md| md.len())
                })
            })
            .sum(),
        snapshot_bytes: layout::dir_size(&layout.generations_dir()),
        superseded_conversations: superseded.iter().map(|f| f.rows).sum::<u64>()
            // Marked deleted by a run, not yet moved by a compaction.
            + m.files(ltx_transform::Table::Conversations.name())
                .iter()
                .filter_map(|f| f.deleted.as_ref())
                .map(|d| d.rows)
                .sum::<u64>(),
        superseded_bytes: superseded.iter().map(|f| f.bytes).sum(),
    };
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
        history,
        size_on_disk_bytes: layout::dir_size(layout.root()),
    })
}
