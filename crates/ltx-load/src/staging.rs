//! Staging: a run's batches are streamed into Parquet files under `_ltx/tmp/<run_id>/`
//! (one `ArrowWriter` per open (table, partition)) while the conversation ids and versions
//! of the run are collected for the merge at commit.
//!
//! Memory stays bounded whatever the run size: each writer buffers at most one row group,
//! and when the writers together buffer more than the staging budget the largest is
//! flushed early (a smaller row group is a far better trade than an out-of-memory kill).

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::PathBuf;

use arrow::array::{Array, AsArray, Int64Array, RecordBatch, TimestampMicrosecondArray};
use arrow::datatypes::{Int64Type, TimestampMicrosecondType};
use ltx_transform::{Table, TableBatch, TableKind};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use crate::crash::CrashHook;
use crate::error::{io_err, pq_err, LoadError, Result};
use crate::layout::validate_name;

/// The column tying a row to its conversation, or `None` for `_rejected` (append-only).
pub(crate) fn conversation_column(table: Table) -> Option<&'static str> {
    match table.kind() {
        TableKind::Dimension => Some("_seen_in_conversation_id"),
        TableKind::Rejected => None,
        _ => Some("conversation_id"),
    }
}

/// Column holding the conversation version of every scoped row.
pub(crate) const VERSION_COLUMN: &str = "_source_updated_at";

/// Looks a table up by name.
pub(crate) fn table_by_name(name: &str) -> Option<Table> {
    Table::ALL.iter().copied().find(|t| t.name() == name)
}

/// Parquet writer settings shared by every data file.
pub(crate) fn writer_props(row_group_rows: usize, zstd_level: i32) -> WriterProperties {
    let level = ZstdLevel::try_new(zstd_level).unwrap_or_default();
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_max_row_group_row_count(Some(row_group_rows.max(1)))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_created_by(format!("ltx-load {}", env!("CARGO_PKG_VERSION")))
        .build()
}

/// The `Int64` column `name` of a batch of `table`.
pub(crate) fn i64_column<'a>(
    batch: &'a RecordBatch,
    name: &str,
    table: &str,
) -> Result<&'a Int64Array> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_primitive_opt::<Int64Type>())
        .ok_or_else(|| LoadError::SchemaMismatch {
            table: table.to_string(),
            partition: String::new(),
            message: format!("missing Int64 column {name}"),
        })
}

/// The `Timestamp(µs)` column `name` of a batch of `table`.
pub(crate) fn ts_column<'a>(
    batch: &'a RecordBatch,
    name: &str,
    table: &str,
) -> Result<&'a TimestampMicrosecondArray> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_primitive_opt::<TimestampMicrosecondType>())
        .ok_or_else(|| LoadError::SchemaMismatch {
            table: table.to_string(),
            partition: String::new(),
            message: format!("missing Timestamp(µs) column {name}"),
        })
}

/// Min and max of the non-null values.
pub(crate) fn min_max(ids: &Int64Array) -> (Option<i64>, Option<i64>) {
    (arrow::compute::min(ids), arrow::compute::max(ids))
}

/// Merges two optional minima/maxima.
pub(crate) fn widen(
    acc: (Option<i64>, Option<i64>),
    new: (Option<i64>, Option<i64>),
) -> (Option<i64>, Option<i64>) {
    let lo = match (acc.0, new.0) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let hi = match (acc.1, new.1) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    (lo, hi)
}

/// The newest version of a conversation seen in this run.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seen {
    /// Max `_source_updated_at` (µs) seen for the id.
    pub ts: i64,
}

/// A finished staging file.
#[derive(Debug)]
pub(crate) struct StagedFile {
    pub table: Table,
    pub partition: String,
    pub path: PathBuf,
    pub rows: u64,
    pub min: Option<i64>,
    pub max: Option<i64>,
}

struct OpenFile {
    table: Table,
    partition: String,
    path: PathBuf,
    writer: ArrowWriter<File>,
    rows: u64,
    range: (Option<i64>, Option<i64>),
}

/// All open staging writers of a run plus the run's conversation versions.
pub(crate) struct Staging {
    dir: PathBuf,
    props: WriterProperties,
    memory_budget: usize,
    writers: HashMap<(&'static str, String), OpenFile>,
    next_file: usize,
    /// Conversation id → newest version in this run.
    pub convs: HashMap<i64, Seen>,
    /// Ids that occur more than once in this run.
    pub duplicates: HashSet<i64>,
    /// Rows received per table.
    pub rows_in: HashMap<&'static str, u64>,
    crash: CrashHook,
    wrote_any: bool,
}

impl Staging {
    pub(crate) fn new(
        dir: PathBuf,
        props: WriterProperties,
        memory_budget: usize,
        crash: CrashHook,
    ) -> Self {
        Self {
            dir,
            props,
            memory_budget,
            writers: HashMap::new(),
            next_file: 0,
            convs: HashMap::new(),
            duplicates: HashSet::new(),
            rows_in: HashMap::new(),
            crash,
            wrote_any: false,
        }
    }

    /// Appends one batch.
    pub(crate) fn write(&mut self, tb: TableBatch) -> Result<()> {
        let TableBatch {
            table,
            partition,
            batch,
        } = tb;
        let name = table.name();
        validate_name("partition", &partition)?;
        check_schema(table, &partition, &batch)?;
        if batch.num_rows() == 0 {
            return Ok(());
        }
        if table == Table::Conversations {
            let ids = i64_column(&batch, "conversation_id", name)?;
            let ts = ts_column(&batch, VERSION_COLUMN, name)?;
            for i in 0..ids.len() {
                if ids.is_null(i) {
                    continue;
                }
                let id = ids.value(i);
                let t = if ts.is_null(i) { i64::MIN } else { ts.value(i) };
                match self.convs.entry(id) {
                    std::collections::hash_map::Entry::Vacant(v) => {
                        v.insert(Seen { ts: t });
                    }
                    std::collections::hash_map::Entry::Occupied(mut o) => {
                        self.duplicates.insert(id);
                        if t > o.get().ts {
                            o.get_mut().ts = t;
                        }
                    }
                }
            }
        }
        let range = match conversation_column(table) {
            Some(col) => min_max(i64_column(&batch, col, name)?),
            None => (None, None),
        };
        let open = match self.writers.entry((name, partition)) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                self.next_file += 1;
                let partition = v.key().1.clone();
                let path = self.dir.join(format!(
                    "stage-{:05}-{name}-{partition}.parquet",
                    self.next_file
                ));
                std::fs::create_dir_all(&self.dir).map_err(io_err(&self.dir))?;
                let file = File::create(&path).map_err(io_err(&path))?;
                let writer = ArrowWriter::try_new(file, table.schema(), Some(self.props.clone()))
                    .map_err(pq_err(&path))?;
                v.insert(OpenFile {
                    table,
                    partition,
                    path,
                    writer,
                    rows: 0,
                    range: (None, None),
                })
            }
        };
        open.writer.write(&batch).map_err(pq_err(&open.path))?;
        open.rows += batch.num_rows() as u64;
        open.range = widen(open.range, range);
        *self.rows_in.entry(name).or_default() += batch.num_rows() as u64;
        self.enforce_budget()?;
        if !self.wrote_any {
            self.wrote_any = true;
            self.crash.check("staging.after_first_write")?;
        }
        Ok(())
    }

    /// Flushes the biggest buffered row groups until the writers fit in half the budget.
    ///
    /// Measured with `memory_size` (encoded pages *and* encoder state: dictionaries,
    /// unencoded keys), not `in_progress_size` (the encoded size only), which
    /// underestimated by ~5x: a 64 MiB budget let staging grow to ~350 MB.
    fn enforce_budget(&mut self) -> Result<()> {
        let total: usize = self.writers.values().map(|w| w.writer.memory_size()).sum();
        if total <= self.memory_budget {
            return Ok(());
        }
        let mut sizes: Vec<(usize, (&'static str, String))> = self
            .writers
            .iter()
            .map(|(k, w)| (w.writer.memory_size(), k.clone()))
            .collect();
        sizes.sort_by_key(|s| std::cmp::Reverse(s.0));
        let mut remaining = total;
        for (size, key) in sizes {
            if remaining <= self.memory_budget / 2 {
                break;
            }
            if let Some(w) = self.writers.get_mut(&key) {
                w.writer.flush().map_err(pq_err(&w.path))?;
            }
            remaining = remaining.saturating_sub(size);
        }
        Ok(())
    }

    /// Closes and fsyncs every staging file (sorted by table, partition).
    pub(crate) fn finish(&mut self) -> Result<Vec<StagedFile>> {
        let mut open: Vec<OpenFile> = self.writers.drain().map(|(_, v)| v).collect();
        open.sort_by(|a, b| (a.table.name(), &a.partition).cmp(&(b.table.name(), &b.partition)));
        let mut out = Vec::with_capacity(open.len());
        for mut f in open {
            f.writer.finish().map_err(pq_err(&f.path))?;
            f.writer.inner().sync_all().map_err(io_err(&f.path))?;
            drop(f.writer);
            self.crash.check("staging.after_file")?;
            out.push(StagedFile {
                table: f.table,
                partition: f.partition,
                path: f.path,
                rows: f.rows,
                min: f.range.0,
                max: f.range.1,
            });
        }
        Ok(out)
    }
}

/// Fails unless the batch has exactly the table's columns and types.
pub(crate) fn check_schema(table: Table, partition: &str, batch: &RecordBatch) -> Result<()> {
    let expected = table.schema();
    let got = batch.schema();
    if std::sync::Arc::ptr_eq(&expected, &got) {
        return Ok(());
    }
    let mismatch = |message: String| LoadError::SchemaMismatch {
        table: table.name().to_string(),
        partition: partition.to_string(),
        message,
    };
    if expected.fields().len() != got.fields().len() {
        return Err(mismatch(format!(
            "expected {} columns, got {}",
            expected.fields().len(),
            got.fields().len()
        )));
    }
    for (e, g) in expected.fields().iter().zip(got.fields().iter()) {
        if e.name() != g.name() || e.data_type() != g.data_type() {
            return Err(mismatch(format!(
                "expected column {} {}, got {} {}",
                e.name(),
                e.data_type(),
                g.name(),
                g.data_type()
            )));
        }
    }
    Ok(())
}
