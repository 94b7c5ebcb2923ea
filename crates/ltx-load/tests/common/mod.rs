//! Test data: hand-built `TableBatch`es with the transform's real schemas.
#![allow(clippy::unwrap_used, dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Int64Builder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, TimeUnit};
use ltx_load::Manifest;
use ltx_transform::{Table, TableBatch, TableKind};

/// One synthetic conversation version.
#[derive(Clone, Debug)]
pub struct Conv {
    pub id: i64,
    /// `_source_updated_at`, seconds since 2026-03-01.
    pub version: i64,
    pub month: &'static str,
    /// Chat ids.
    pub chats: Vec<i64>,
    /// Message ids.
    pub messages: Vec<i64>,
    pub employee: i64,
    /// Goes into every string column: "changed attributes".
    pub attr: String,
    pub quality_issue: bool,
}

impl Conv {
    pub fn new(id: i64, version: i64) -> Self {
        Conv {
            id,
            version,
            month: "2026-03",
            chats: vec![id * 10, id * 10 + 1],
            messages: (0..4).map(|k| id * 100 + k).collect(),
            employee: 900 + id % 3,
            attr: format!("v{version}"),
            quality_issue: id % 2 == 0,
        }
    }
}

const BASE_MICROS: i64 = 1_772_323_200_000_000; // 2026-03-01T00:00:00Z

fn version_micros(v: i64) -> i64 {
    BASE_MICROS + v * 1_000_000
}

/// Row keys of `table` for one conversation.
pub fn row_keys(table: Table, c: &Conv) -> Vec<i64> {
    match table {
        Table::Conversations => vec![c.id],
        Table::Chats => c.chats.clone(),
        Table::ChatMessages => c.messages.clone(),
        Table::Calls | Table::Leads | Table::Complaints => vec![c.id * 3],
        Table::ConversationEmployees => vec![1],
        Table::ConversationEvents => vec![1, 2],
        Table::Employees => vec![c.employee],
        Table::Visitors => vec![c.id % 4],
        Table::Sites => vec![1],
        Table::Departments => vec![c.id % 2 + 300],
        Table::QualityIssues => {
            if c.quality_issue {
                vec![1]
            } else {
                vec![]
            }
        }
        // `_rejected` has no conversation rows; the reference tables come from the
        // configuration (their own tests).
        Table::Rejected
        | Table::BusinessIntervals
        | Table::ScheduleAssignments
        | Table::SlaTargets => vec![],
    }
}

/// Batches (one per table and month) for conversations, in the given order.
pub fn batches(convs: &[Conv]) -> Vec<TableBatch> {
    let mut out = Vec::new();
    let mut months: Vec<&str> = convs.iter().map(|c| c.month).collect();
    months.sort();
    months.dedup();
    for month in months {
        for table in Table::ALL {
            let rows: Vec<(&Conv, i64)> = convs
                .iter()
                .filter(|c| c.month == month)
                .flat_map(|c| row_keys(table, c).into_iter().map(move |k| (c, k)))
                .collect();
            if rows.is_empty() {
                continue;
            }
            out.push(TableBatch {
                table,
                partition: format!("default/{month}"),
                batch: build(table, &rows),
            });
        }
    }
    out
}

fn build(table: Table, rows: &[(&Conv, i64)]) -> RecordBatch {
    let schema = table.schema();
    let conv_col = match table.kind() {
        TableKind::Dimension => "_seen_in_conversation_id",
        _ => "conversation_id",
    };
    let key = table
        .key_columns()
        .iter()
        .find(|k| !matches!(**k, "conversation_id" | "account"))
        .copied();
    let mut cols: Vec<ArrayRef> = Vec::new();
    for f in schema.fields() {
        let name = f.name().as_str();
        let arr: ArrayRef = match f.data_type() {
            DataType::Int64 => {
                let mut b = Int64Builder::new();
                for (c, k) in rows {
                    b.append_value(if name == conv_col {
                        c.id
                    } else if Some(name) == key {
                        *k
                    } else {
                        k + 7
                    });
                }
                Arc::new(b.finish())
            }
            DataType::Utf8 => {
                let mut b = StringBuilder::new();
                for (c, k) in rows {
                    if name == "account" {
                        // The account of `RunInfo::new`.
                        b.append_value("default");
                    } else if Some(name) == key {
                        b.append_value(format!("k{k}"));
                    } else if name.ends_with("_json") || name == "_extra" {
                        b.append_value("{}");
                    } else {
                        b.append_value(format!("{name}-{}-{k}", c.attr));
                    }
                }
                Arc::new(b.finish())
            }
            DataType::Boolean => {
                let mut b = BooleanBuilder::new();
                for (_, k) in rows {
                    b.append_value(k % 2 == 0);
                }
                Arc::new(b.finish())
            }
            DataType::Timestamp(TimeUnit::Microsecond, tz) => {
                let mut b = TimestampMicrosecondBuilder::new();
                for (c, _) in rows {
                    b.append_value(version_micros(c.version));
                }
                Arc::new(b.finish().with_timezone_opt(tz.clone()))
            }
            other => panic!("unexpected type {other} in {}", table.name()),
        };
        cols.push(arr);
    }
    RecordBatch::try_new(schema, cols).unwrap()
}

/// Every live row of every table, rendered as text and sorted (the warehouse "content").
pub fn content(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let m = manifest(dir);
    let mut out = BTreeMap::new();
    for table in Table::ALL {
        out.insert(table.name().to_string(), rows(dir, m.files(table.name())));
    }
    out
}

/// The replaced conversation versions kept for `conversations_history`, rendered as text
/// and sorted.
///
/// Until a compaction moves them to their stored table, they are the `conversations` rows
/// a run marked deleted (merge-on-read): both count.
pub fn superseded(dir: &Path) -> Vec<String> {
    let m = manifest(dir);
    let mut out = rows(dir, m.files(SUPERSEDED));
    out.extend(file_rows(
        dir,
        m.files(Table::Conversations.name()),
        Rows::Deleted,
    ));
    out.sort();
    out
}

/// The stored table of replaced conversation versions.
pub const SUPERSEDED: &str = ltx_load::history::SUPERSEDED_CONVERSATIONS;

/// The committed manifest.
pub fn manifest(dir: &Path) -> Manifest {
    serde_json::from_slice(&std::fs::read(dir.join("_ltx/manifest.json")).unwrap()).unwrap()
}

/// Every row of the given files, rendered as text and sorted.
/// (Rows a run marked deleted are not: the manifest says they no longer count.)
fn rows(dir: &Path, files: &[ltx_load::FileEntry]) -> Vec<String> {
    file_rows(dir, files, Rows::Live)
}

/// Which rows of a file [`file_rows`] returns.
#[derive(Clone, Copy, PartialEq)]
enum Rows {
    /// The rows that count.
    Live,
    /// The rows marked deleted.
    Deleted,
}

/// The `which` rows of the given files, rendered as text and sorted.
fn file_rows(dir: &Path, files: &[ltx_load::FileEntry], which: Rows) -> Vec<String> {
    let mut rows = Vec::new();
    for f in files {
        let deleted: std::collections::HashSet<u64> = f
            .deleted
            .as_ref()
            .map(|d| d.positions().unwrap().into_iter().collect())
            .unwrap_or_default();
        let mut at = 0u64;
        let file = std::fs::File::open(dir.join(&f.path)).unwrap();
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            for i in 0..batch.num_rows() {
                let is_deleted = deleted.contains(&(at + i as u64));
                if is_deleted != (which == Rows::Deleted) {
                    continue;
                }
                let cells: Vec<String> = batch
                    .columns()
                    .iter()
                    .map(|c| cell(c.as_ref(), i))
                    .collect();
                rows.push(cells.join("|"));
            }
            at += batch.num_rows() as u64;
        }
    }
    rows.sort();
    rows
}

/// One value as text (timestamps as µs: arrow's display needs chrono-tz for "UTC").
fn cell(c: &dyn arrow::array::Array, i: usize) -> String {
    use arrow::array::AsArray;
    use arrow::datatypes::{Int64Type, TimestampMicrosecondType};
    if c.is_null(i) {
        return "NULL".to_string();
    }
    match c.data_type() {
        DataType::Int64 => c.as_primitive::<Int64Type>().value(i).to_string(),
        DataType::Utf8 => c.as_string::<i32>().value(i).to_string(),
        DataType::Boolean => c.as_boolean().value(i).to_string(),
        DataType::Timestamp(_, _) => c
            .as_primitive::<TimestampMicrosecondType>()
            .value(i)
            .to_string(),
        other => panic!("unexpected type {other}"),
    }
}

/// Expected content: the rows the given final versions produce.
pub fn expected(convs: &[Conv]) -> BTreeMap<String, Vec<String>> {
    let dir = tempfile::tempdir().unwrap();
    let wh = ltx_load::Warehouse::open(dir.path(), opts()).unwrap();
    let mut run = wh
        .begin_run(ltx_load::RunInfo::new("expected", "p"))
        .unwrap();
    run.write_all(batches(convs)).unwrap();
    run.commit(ltx_load::RunOutcome::default()).unwrap();
    content(dir.path())
}

/// Options for tests: crash hook disarmed regardless of the environment.
pub fn opts() -> ltx_load::LoadOptions {
    ltx_load::LoadOptions {
        crash: ltx_load::CrashHook::disabled(),
        ..Default::default()
    }
}

/// Sorted `key` values of a DuckDB view.
pub fn view_keys(db: &Path, sql: &str) -> Vec<String> {
    let conn = duckdb::Connection::open(db).unwrap();
    let mut stmt = conn.prepare(sql).unwrap();
    let rows: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    rows
}

/// Files under `data/` that the manifest does not reference (live or retired), plus
/// leftovers in `_ltx/tmp`, run records not in the manifest, and generation snapshots the
/// manifest never reached or that list a file that is gone.
pub fn orphans(dir: &Path) -> Vec<String> {
    let m = manifest(dir);
    let mut referenced: std::collections::HashSet<String> =
        m.all_live().map(|f| f.path.clone()).collect();
    referenced.extend(m.retired.iter().map(|r| r.path.clone()));
    let mut out = Vec::new();
    let mut stack = vec![dir.join("data")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                // Delta logs are derived from the manifest: `delta_behind` checks them.
                if e.file_name() != ltx_load::delta::LOG_DIR {
                    stack.push(p);
                }
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().to_string();
                if !referenced.contains(&rel) {
                    out.push(rel);
                }
            }
        }
    }
    for e in std::fs::read_dir(dir.join("_ltx/tmp")).unwrap().flatten() {
        out.push(e.path().display().to_string());
    }
    for e in std::fs::read_dir(dir.join("_ltx/runs")).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let id = name.trim_end_matches(".json");
        if !m.runs.iter().any(|r| r == id) {
            out.push(name);
        }
    }
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with("warehouse.duckdb.tmp") {
            out.push(name);
        }
    }
    for e in std::fs::read_dir(dir.join("_ltx/generations"))
        .unwrap()
        .flatten()
    {
        let name = e.file_name().to_string_lossy().to_string();
        match ltx_load::layout::parse_generation_file(&name) {
            Some((g, _)) if g <= m.generation => {
                let snapshot = ltx_load::GenerationSnapshot::load(&e.path()).unwrap();
                for f in snapshot.tables.values().flat_map(|t| t.files.iter()) {
                    if !dir.join(&f.path).exists() {
                        out.push(format!("{name} lists the missing {}", f.path));
                    }
                }
            }
            _ => out.push(name),
        }
    }
    out
}

/// Generations `_ltx/generations` retains, oldest first.
pub fn generations(dir: &Path) -> Vec<u64> {
    let mut out: Vec<u64> = std::fs::read_dir(dir.join("_ltx/generations"))
        .unwrap()
        .flatten()
        .filter_map(|e| ltx_load::layout::parse_generation_file(&e.file_name().to_string_lossy()))
        .map(|(g, _)| g)
        .collect();
    out.sort_unstable();
    out
}

/// Stored tables whose Delta log (`data/<table>/_delta_log`) does not hold exactly the
/// manifest's live files, each with what differs; empty when every log is up to date.
pub fn delta_behind(dir: &Path) -> Vec<String> {
    let m = manifest(dir);
    let mut out = Vec::new();
    for (name, _) in ltx_load::delta::stored_tables(&m) {
        let snap = match ltx_load::delta::read_table(dir, &name) {
            Ok(s) => s,
            Err(e) => {
                out.push(format!("{name}: {e}"));
                continue;
            }
        };
        let prefix = format!("data/{name}/");
        let mut want: Vec<String> = m
            .files(&name)
            .iter()
            .map(|f| f.path.strip_prefix(&prefix).unwrap().to_owned())
            .collect();
        want.sort();
        let got = snap.live_paths();
        if got != want || snap.metadata.is_none() {
            out.push(format!("{name}: log has {got:?}, manifest {want:?}"));
        }
    }
    out
}
