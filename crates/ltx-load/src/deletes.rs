//! Delete records: which conversation versions a newer version superseded while their rows
//! are still in the data files (merge-on-read), as a small stored table of their own.
//!
//! A run that replaces conversations does two things per replaced version, in its
//! transaction: it marks the old rows deleted in every file holding them (row positions,
//! [`crate::deletion::DeletedRows`], for the Delta logs and for compaction), and it appends
//! one record `(account, conversation_id, _source_updated_at, keep_history, _run_id)` to
//! [`DELETED_VERSIONS`] in the partition of the old version. The DuckDB views anti-join
//! those records by `(account, conversation, version)`: a superseded version's rows carry
//! its `_source_updated_at` in every table, and a version once superseded never comes back
//! (only a strictly newer version replaces), so the records name exactly the marked rows.
//! `keep_history` says whether the superseded `conversations` row belongs to
//! `conversations_history` (`sync.history` when it was superseded).
//!
//! The records of a partition are needed while any file of that partition has deleted
//! rows; the compaction that folds the last of them retires the partition's records.

use std::collections::HashSet;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use ltx_transform::Table;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

use crate::columns::{i64_column, open_reader, open_row_groups, ts_column, VERSION_COLUMN};
use crate::error::{arrow_err, io_err, pq_err, LoadError, Result};
use crate::merge::FileStats;

/// Stored table (manifest name and `data/` directory) of the delete records.
pub const DELETED_VERSIONS: &str = "_deleted_versions";

/// The schema of [`DELETED_VERSIONS`].
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("account", DataType::Utf8, false),
        Field::new("conversation_id", DataType::Int64, false),
        Field::new(
            VERSION_COLUMN,
            DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("UTC"))),
            false,
        ),
        Field::new("keep_history", DataType::Boolean, false),
        Field::new("_run_id", DataType::Utf8, false),
    ]))
}

/// One superseded conversation version.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Superseded {
    pub conversation_id: i64,
    /// Its `_source_updated_at` (µs).
    pub version: i64,
}

/// Writes the records of `versions` (one partition of `account`) to a new file at `dst`,
/// fsynced.
pub(crate) fn write_records(
    dst: &Path,
    props: &WriterProperties,
    account: &str,
    versions: &[Superseded],
    keep_history: bool,
    run_id: &str,
) -> Result<FileStats> {
    let n = versions.len();
    let ids: Int64Array = versions.iter().map(|v| v.conversation_id).collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![account; n])),
        Arc::new(ids.clone()),
        Arc::new(
            TimestampMicrosecondArray::from(versions.iter().map(|v| v.version).collect::<Vec<_>>())
                .with_timezone("UTC"),
        ),
        Arc::new(BooleanArray::from(vec![keep_history; n])),
        Arc::new(StringArray::from(vec![run_id; n])),
    ];
    let batch = RecordBatch::try_new(schema(), columns).map_err(arrow_err(DELETED_VERSIONS))?;
    let file = File::create(dst).map_err(io_err(dst))?;
    let mut w = ArrowWriter::try_new(file, schema(), Some(props.clone())).map_err(pq_err(dst))?;
    w.write(&batch).map_err(pq_err(dst))?;
    w.finish().map_err(pq_err(dst))?;
    w.inner().sync_all().map_err(io_err(dst))?;
    drop(w);
    let bytes = std::fs::metadata(dst).map_err(io_err(dst))?.len();
    Ok(FileStats {
        rows: n as u64,
        bytes,
        min: ids.iter().flatten().min(),
        max: ids.iter().flatten().max(),
    })
}

/// `(conversation_id, version µs)` of the records in `paths` whose superseded
/// `conversations` row is *not* kept for history (superseded while `sync.history` was
/// off): compaction drops those rows instead of moving them to the history.
pub(crate) fn not_kept_for_history(paths: &[std::path::PathBuf]) -> Result<HashSet<(i64, i64)>> {
    let mut out = HashSet::new();
    for path in paths {
        for batch in open_reader(
            path,
            Some(&["conversation_id", VERSION_COLUMN, "keep_history"]),
        )? {
            let batch = batch.map_err(arrow_err(DELETED_VERSIONS))?;
            let ids = i64_column(&batch, "conversation_id", DELETED_VERSIONS)?;
            let ts = ts_column(&batch, VERSION_COLUMN, DELETED_VERSIONS)?;
            let keep = batch
                .column_by_name("keep_history")
                .and_then(|c| c.as_any().downcast_ref::<BooleanArray>())
                .ok_or_else(|| LoadError::SchemaMismatch {
                    table: DELETED_VERSIONS.to_owned(),
                    partition: path.display().to_string(),
                    message: "missing Boolean column keep_history".to_owned(),
                })?;
            for i in 0..batch.num_rows() {
                if !keep.value(i) && !ids.is_null(i) && !ts.is_null(i) {
                    out.insert((ids.value(i), ts.value(i)));
                }
            }
        }
    }
    Ok(out)
}

/// Positions (0-based, in file order) of the rows of the file at `path` whose conversation
/// (column `col`) is one of `ids` (sorted).
pub(crate) fn positions_of(path: &Path, col: &str, table: Table, ids: &[i64]) -> Result<Vec<u64>> {
    let mut out = Vec::new();
    let may_hold = |min: i64, max: i64| {
        let i = ids.partition_point(|x| *x < min);
        ids.get(i).is_some_and(|x| *x <= max)
    };
    for (first_row, reader) in open_row_groups(path, &[col], col, may_hold)? {
        let mut offset = first_row;
        for batch in reader {
            let batch = batch.map_err(arrow_err(table.name()))?;
            let c = i64_column(&batch, col, table.name())?;
            for i in 0..c.len() {
                if !c.is_null(i) && ids.binary_search(&c.value(i)).is_ok() {
                    out.push(offset + i as u64);
                }
            }
            offset += c.len() as u64;
        }
    }
    Ok(out)
}
