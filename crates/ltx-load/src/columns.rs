//! The columns the loader itself reads, and how: which column ties a table's rows to their
//! conversation and which holds its version, typed access to `Int64` and `Timestamp(µs)`
//! columns of a batch, id ranges, and opening a Parquet file for streaming with a column
//! projection. Everything else about a table's columns is the transform's (its schema).

use std::fs::File;
use std::path::Path;

use arrow::array::{AsArray, Int64Array, RecordBatch, TimestampMicrosecondArray};
use arrow::datatypes::{Int64Type, TimestampMicrosecondType};
use ltx_transform::{Table, TableKind};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;
use parquet::file::statistics::Statistics;

use crate::error::{io_err, pq_err, LoadError, Result};
use crate::history::SUPERSEDED_CONVERSATIONS;

/// The column tying a row to its conversation, or `None` for `_rejected` (append-only) and
/// the reference tables (from the configuration).
pub(crate) fn conversation_column(table: Table) -> Option<&'static str> {
    match table.kind() {
        TableKind::Dimension => Some("_seen_in_conversation_id"),
        TableKind::Rejected | TableKind::Reference => None,
        _ => Some("conversation_id"),
    }
}

/// Column holding the conversation version of every scoped row.
pub(crate) const VERSION_COLUMN: &str = "_source_updated_at";

/// Looks a table up by name.
pub(crate) fn table_by_name(name: &str) -> Option<Table> {
    Table::ALL.iter().copied().find(|t| t.name() == name)
}

/// The table whose schema (and conversation column) the files of a stored table have: its
/// own for a [`Table`], `conversations` for the superseded conversation versions.
pub(crate) fn stored_table(name: &str) -> Option<Table> {
    if name == SUPERSEDED_CONVERSATIONS {
        return Some(Table::Conversations);
    }
    table_by_name(name)
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

/// Rows read per batch when streaming files.
const READ_BATCH_ROWS: usize = 8192;

/// Readers of `columns` over the row groups of `path` whose statistics of the `Int64`
/// column `id_col` may hold a wanted id (`may_hold(min, max)`), each with the position of
/// its first row in the file. A row group without statistics is read. Files are written in
/// id order, so a handful of ids touches a handful of row groups, not the file.
pub(crate) fn open_row_groups(
    path: &Path,
    columns: &[&str],
    id_col: &str,
    may_hold: impl Fn(i64, i64) -> bool,
) -> Result<Vec<(u64, ParquetRecordBatchReader)>> {
    let file = File::open(path).map_err(io_err(path))?;
    let meta =
        ArrowReaderMetadata::load(&file, ArrowReaderOptions::default()).map_err(pq_err(path))?;
    let schema = meta.metadata().file_metadata().schema_descr_ptr();
    let id_leaf = schema
        .columns()
        .iter()
        .position(|c| c.path().string() == id_col);
    let projection = projection(path, meta.schema(), &schema, columns)?;
    let mut out = Vec::new();
    let mut first_row = 0u64;
    for (g, rg) in meta.metadata().row_groups().iter().enumerate() {
        let rows = u64::try_from(rg.num_rows()).unwrap_or(0);
        let range = id_leaf.and_then(|l| match rg.column(l).statistics() {
            Some(Statistics::Int64(s)) => Some((*s.min_opt()?, *s.max_opt()?)),
            _ => None,
        });
        if range.is_none_or(|(min, max)| may_hold(min, max)) {
            let f = file.try_clone().map_err(io_err(path))?;
            let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(f, meta.clone())
                .with_projection(projection.clone())
                .with_row_groups(vec![g])
                .with_batch_size(READ_BATCH_ROWS)
                .build()
                .map_err(pq_err(path))?;
            out.push((first_row, reader));
        }
        first_row += rows;
    }
    Ok(out)
}

/// The projection of the top-level `columns` of the file at `path`.
fn projection(
    path: &Path,
    schema: &arrow::datatypes::Schema,
    parquet: &parquet::schema::types::SchemaDescriptor,
    columns: &[&str],
) -> Result<ProjectionMask> {
    let mut idx = Vec::with_capacity(columns.len());
    for c in columns {
        let i = schema.index_of(c).map_err(|e| LoadError::Arrow {
            table: path.display().to_string(),
            source: e,
        })?;
        idx.push(i);
    }
    Ok(ProjectionMask::roots(parquet, idx))
}

/// Opens `path` for streaming, optionally projecting `columns`.
pub(crate) fn open_reader(
    path: &Path,
    columns: Option<&[&str]>,
) -> Result<ParquetRecordBatchReader> {
    let file = File::open(path).map_err(io_err(path))?;
    let mut builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(pq_err(path))?;
    if let Some(cols) = columns {
        let mask = projection(path, builder.schema(), builder.parquet_schema(), cols)?;
        builder = builder.with_projection(mask);
    }
    builder
        .with_batch_size(READ_BATCH_ROWS)
        .build()
        .map_err(pq_err(path))
}
