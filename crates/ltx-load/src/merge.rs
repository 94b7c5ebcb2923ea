//! The merge: which incoming conversations win (the stored versions, read from the row
//! groups that may hold them), the filtering of a run's staged files, and the fold that
//! rewrites files without their deleted rows (for compaction).
//!
//! A conversation is the unit of replacement: its new version's rows replace *all* its old
//! rows in every conversation-scoped table, which is also how deleted messages and chats
//! disappear. Versions are compared by `_source_updated_at`; an incoming version that is not
//! strictly newer than the stored one is dropped, so replays are idempotent and an old
//! import can never regress data. The old rows are marked deleted, not rewritten (see
//! `commit` and `deletion`). Everything here streams record batches: files are read with a
//! column projection to decide, and rewritten batch by batch through a filter.

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::{Array, BooleanArray, RecordBatch, RecordBatchReader};
use arrow::datatypes::SchemaRef;
use arrow::row::{RowConverter, SortField};
use ltx_transform::Table;
use parquet::arrow::arrow_reader::ParquetRecordBatchReader;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

use crate::columns::{
    conversation_column, i64_column, min_max, open_reader, open_row_groups, ts_column, widen,
    VERSION_COLUMN,
};
use crate::error::{arrow_err, io_err, pq_err, LoadError, Result};
use crate::manifest::FileEntry;
use crate::staging::RunConversations;

/// Size, row count and conversation id range of a written file.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FileStats {
    pub rows: u64,
    pub bytes: u64,
    pub min: Option<i64>,
    pub max: Option<i64>,
}

/// A row filter applied while streaming a file.
pub(crate) type Keep<'a> = dyn FnMut(&RecordBatch) -> Result<BooleanArray> + 'a;

/// A Parquet file written as batches come, created with the first row (so a file no row
/// reaches is never created), with its row count and conversation id range.
struct Sink<'a> {
    dst: &'a Path,
    props: &'a WriterProperties,
    table: Table,
    writer: Option<ArrowWriter<File>>,
    rows: u64,
    range: (Option<i64>, Option<i64>),
}

impl<'a> Sink<'a> {
    fn new(dst: &'a Path, props: &'a WriterProperties, table: Table) -> Self {
        Self {
            dst,
            props,
            table,
            writer: None,
            rows: 0,
            range: (None, None),
        }
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        if let Some(col) = conversation_column(self.table) {
            let ids = i64_column(batch, col, self.table.name())?;
            self.range = widen(self.range, min_max(ids));
        }
        let writer = match &mut self.writer {
            Some(w) => w,
            None => {
                let file = File::create(self.dst).map_err(io_err(self.dst))?;
                let w = ArrowWriter::try_new(file, batch.schema(), Some(self.props.clone()))
                    .map_err(pq_err(self.dst))?;
                self.writer.insert(w)
            }
        };
        writer.write(batch).map_err(pq_err(self.dst))?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Closes and fsyncs the file; `None` when no row was written (and no file exists).
    fn finish(self) -> Result<Option<FileStats>> {
        let Some(mut w) = self.writer else {
            return Ok(None);
        };
        w.finish().map_err(pq_err(self.dst))?;
        w.inner().sync_all().map_err(io_err(self.dst))?;
        drop(w);
        let bytes = std::fs::metadata(self.dst).map_err(io_err(self.dst))?.len();
        Ok(Some(FileStats {
            rows: self.rows,
            bytes,
            min: self.range.0,
            max: self.range.1,
        }))
    }
}

/// Opens one of several files to merge into one: its schema must be the first one's
/// (`schema`, set by the first file opened).
fn open_same_schema(
    src: &Path,
    schema: &mut Option<SchemaRef>,
    table: Table,
) -> Result<ParquetRecordBatchReader> {
    let reader = open_reader(src, None)?;
    let file_schema = reader.schema();
    match schema {
        None => *schema = Some(file_schema),
        Some(s) if s.fields() != file_schema.fields() => {
            return Err(LoadError::SchemaMismatch {
                table: table.name().to_string(),
                partition: src.display().to_string(),
                message: "files to merge have different schemas".to_string(),
            });
        }
        Some(_) => {}
    }
    Ok(reader)
}

/// Streams every batch of `srcs` (same schema) through `keep` into a new file `dst`,
/// fsynced. Returns `None` (and leaves no `dst`) when no row survives.
pub(crate) fn rewrite(
    srcs: &[PathBuf],
    dst: &Path,
    props: &WriterProperties,
    table: Table,
    mut keep: Option<&mut Keep<'_>>,
) -> Result<Option<FileStats>> {
    let mut sink = Sink::new(dst, props, table);
    let mut schema: Option<SchemaRef> = None;
    for src in srcs {
        let reader = open_same_schema(src, &mut schema, table)?;
        for batch in reader {
            let batch = batch.map_err(arrow_err(table.name()))?;
            let batch = match keep.as_mut() {
                Some(k) => {
                    let mask = k(&batch)?;
                    arrow::compute::filter_record_batch(&batch, &mask)
                        .map_err(arrow_err(table.name()))?
                }
                None => batch,
            };
            sink.write(&batch)?;
        }
    }
    sink.finish()
}

/// The stored versions of a run's conversations, by position in [`RunConversations`].
#[derive(Debug, Default)]
pub(crate) struct Existing {
    /// (`_source_updated_at` µs, index into `partitions`); allocated on the first hit, so a
    /// run of new conversations costs nothing.
    found: Vec<Option<(i64, u32)>>,
    partitions: Vec<String>,
}

impl Existing {
    /// Stored version and partition of the run's `i`-th conversation.
    pub(crate) fn get(&self, i: usize) -> Option<(i64, &str)> {
        let (ts, p) = self.found.get(i).copied().flatten()?;
        Some((
            ts,
            self.partitions.get(p as usize).map_or("", String::as_str),
        ))
    }
}

/// Versions (`_source_updated_at` µs) and partitions already stored for the incoming ids.
/// Only `conversations` files whose id range may contain an incoming id are read, and only
/// their two key columns.
pub(crate) fn lookup_existing(
    root: &Path,
    conversation_files: &[FileEntry],
    incoming: &RunConversations,
) -> Result<Existing> {
    let mut out = Existing::default();
    for f in conversation_files {
        if !incoming.any_in(f.min_conversation_id, f.max_conversation_id) {
            continue;
        }
        let part = match out.partitions.iter().position(|p| *p == f.partition) {
            Some(p) => p,
            None => {
                out.partitions.push(f.partition.clone());
                out.partitions.len() - 1
            }
        } as u32;
        let path = root.join(&f.path);
        let groups = open_row_groups(
            &path,
            &["conversation_id", VERSION_COLUMN],
            "conversation_id",
            |min, max| incoming.any_in(Some(min), Some(max)),
        )?;
        for batch in groups.into_iter().flat_map(|(_, reader)| reader) {
            let batch = batch.map_err(arrow_err("conversations"))?;
            let ids = i64_column(&batch, "conversation_id", "conversations")?;
            let ts = ts_column(&batch, VERSION_COLUMN, "conversations")?;
            for i in 0..ids.len() {
                if ids.is_null(i) {
                    continue;
                }
                let Some(at) = incoming.index_of(ids.value(i)) else {
                    continue;
                };
                let t = if ts.is_null(i) { i64::MIN } else { ts.value(i) };
                if out.found.is_empty() {
                    out.found = vec![None; incoming.len()];
                }
                match &mut out.found[at] {
                    Some(e) if e.0 >= t => {}
                    Some(e) => e.0 = t,
                    e @ None => *e = Some((t, part)),
                }
            }
        }
    }
    Ok(out)
}

/// Decides which staged rows survive: the newest version of each conversation in the run,
/// once (duplicates of the same version are removed by key), unless the warehouse already
/// holds that version or a newer one.
pub(crate) struct StagedFilter<'a> {
    pub convs: &'a RunConversations,
    /// Incoming ids whose stored version is the same or newer, sorted.
    pub dropped: &'a [i64],
}

impl StagedFilter<'_> {
    fn dropped(&self, id: i64) -> bool {
        self.dropped.binary_search(&id).is_ok()
    }

    /// A row of another version than the run's newest of its conversation.
    fn stale_version(&self, id: i64, ts: i64) -> bool {
        self.convs.get(id).is_some_and(|v| v != ts)
    }
}

impl StagedFilter<'_> {
    /// Cheap check on the id/version columns: does this staged file need rewriting?
    pub(crate) fn needs_rewrite(&self, path: &Path, table: Table) -> Result<bool> {
        let Some(col) = conversation_column(table) else {
            return Ok(false);
        };
        for batch in open_reader(path, Some(&[col, VERSION_COLUMN]))? {
            let batch = batch.map_err(arrow_err(table.name()))?;
            let ids = i64_column(&batch, col, table.name())?;
            let ts = ts_column(&batch, VERSION_COLUMN, table.name())?;
            for i in 0..ids.len() {
                if ids.is_null(i) {
                    continue;
                }
                let id = ids.value(i);
                let t = if ts.is_null(i) { i64::MIN } else { ts.value(i) };
                if self.dropped(id) || self.convs.is_duplicate(id) || self.stale_version(id, t) {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// Row mask for one batch; `seen` holds the keys already kept of duplicated conversations.
    pub(crate) fn mask(
        &self,
        batch: &RecordBatch,
        table: Table,
        seen: &mut HashSet<Vec<u8>>,
    ) -> Result<BooleanArray> {
        let Some(col) = conversation_column(table) else {
            return Ok(BooleanArray::from(vec![true; batch.num_rows()]));
        };
        let ids = i64_column(batch, col, table.name())?;
        let ts = ts_column(batch, VERSION_COLUMN, table.name())?;
        let has_dup = ids.iter().flatten().any(|id| self.convs.is_duplicate(id));
        let keys = if has_dup {
            Some(dedupe_keys(batch, table, col)?)
        } else {
            None
        };
        let mut out = Vec::with_capacity(batch.num_rows());
        for i in 0..ids.len() {
            if ids.is_null(i) {
                out.push(true);
                continue;
            }
            let id = ids.value(i);
            let t = if ts.is_null(i) { i64::MIN } else { ts.value(i) };
            let stale = self.dropped(id) || self.stale_version(id, t);
            let keep = if stale {
                false
            } else if self.convs.is_duplicate(id) {
                match &keys {
                    Some(k) => seen.insert(k.row(i).as_ref().to_vec()),
                    None => true,
                }
            } else {
                true
            };
            out.push(keep);
        }
        Ok(BooleanArray::from(out))
    }
}

/// Row-format keys identifying a row within its conversation: the conversation column plus
/// the table's key columns (all columns when the table declares none we can find).
fn dedupe_keys(batch: &RecordBatch, table: Table, conv_col: &str) -> Result<arrow::row::Rows> {
    let schema = batch.schema();
    let mut names: Vec<&str> = vec![conv_col];
    for k in table.key_columns() {
        if !names.contains(k) {
            names.push(k);
        }
    }
    let all_found = names.iter().all(|n| schema.index_of(n).is_ok());
    let cols: Vec<arrow::array::ArrayRef> = if table.key_columns().is_empty() || !all_found {
        batch.columns().to_vec()
    } else {
        names
            .iter()
            .filter_map(|n| batch.column_by_name(n).cloned())
            .collect()
    };
    let fields = cols
        .iter()
        .map(|c| SortField::new(c.data_type().clone()))
        .collect();
    let converter = RowConverter::new(fields).map_err(arrow_err(table.name()))?;
    converter
        .convert_columns(&cols)
        .map_err(arrow_err(table.name()))
}

/// A live file to fold: its path and its deleted rows (sorted positions).
pub(crate) struct FoldSource {
    pub path: PathBuf,
    pub deleted: Vec<u64>,
}

/// What [`fold`] wrote: the kept rows' file and the superseded rows' file.
pub(crate) struct Folded {
    pub kept: Option<FileStats>,
    pub superseded: Option<FileStats>,
}

/// Streams `srcs` (same schema) into `kept` without their deleted rows. With `superseded`,
/// the deleted rows whose (conversation, version) is not in `not_kept` go there instead of
/// being dropped (the `conversations` rows that `conversations_history` shows). Both files
/// are fsynced; one no row reaches is not created.
pub(crate) fn fold(
    srcs: &[FoldSource],
    kept: &Path,
    superseded: Option<&Path>,
    not_kept: &HashSet<(i64, i64)>,
    props: &WriterProperties,
    table: Table,
) -> Result<Folded> {
    let mut kept_sink = Sink::new(kept, props, table);
    let mut old_sink = superseded.map(|p| Sink::new(p, props, table));
    let mut schema: Option<SchemaRef> = None;
    for src in srcs {
        let reader = open_same_schema(&src.path, &mut schema, table)?;
        let mut offset = 0u64;
        let mut next = 0usize; // index into src.deleted of the first position >= offset
        for batch in reader {
            let batch = batch.map_err(arrow_err(table.name()))?;
            let n = batch.num_rows() as u64;
            if src.deleted.get(next).is_none_or(|p| *p >= offset + n) {
                offset += n;
                kept_sink.write(&batch)?;
                continue;
            }
            let mut keep = vec![true; batch.num_rows()];
            while let Some(&p) = src.deleted.get(next) {
                if p >= offset + n {
                    break;
                }
                if p >= offset {
                    keep[(p - offset) as usize] = false;
                }
                next += 1;
            }
            offset += n;
            let keep = BooleanArray::from(keep);
            let part = arrow::compute::filter_record_batch(&batch, &keep)
                .map_err(arrow_err(table.name()))?;
            kept_sink.write(&part)?;
            if let Some(sink) = old_sink.as_mut() {
                let not = arrow::compute::not(&keep).map_err(arrow_err(table.name()))?;
                let old = arrow::compute::filter_record_batch(&batch, &not)
                    .map_err(arrow_err(table.name()))?;
                let moved = if not_kept.is_empty() {
                    old
                } else {
                    let col = conversation_column(table).unwrap_or("conversation_id");
                    let ids = i64_column(&old, col, table.name())?;
                    let ts = ts_column(&old, VERSION_COLUMN, table.name())?;
                    let mask: BooleanArray = (0..old.num_rows())
                        .map(|i| Some(!not_kept.contains(&(ids.value(i), ts.value(i)))))
                        .collect();
                    arrow::compute::filter_record_batch(&old, &mask)
                        .map_err(arrow_err(table.name()))?
                };
                sink.write(&moved)?;
            }
        }
    }
    let kept = kept_sink.finish()?;
    let superseded = match old_sink {
        Some(s) => s.finish()?,
        None => None,
    };
    Ok(Folded { kept, superseded })
}
