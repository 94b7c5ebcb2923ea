//! Reference tables: rows derived from the configuration rather than the API (the business
//! calendars' working intervals, which calendar each site and department works by, the SLA
//! targets). Every run hands them over whole; the commit replaces a table's one file only
//! when its content changed, so a calendar edited in the configuration re-derives every
//! business-time figure at the next run, and an unchanged one costs nothing.
//!
//! "Content" leaves out the lineage columns (`_synced_at`, `_run_id`): they change with
//! every run. The fingerprint is kept with the file's manifest entry.
//!
//! Each account has its own file of each reference table (partition `<account>/all`): a
//! run replaces its account's only, so accounts may have different calendars and targets.

use std::collections::BTreeMap;
use std::fs::File;

use std::fmt::Write;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use ltx_transform::{Table, TableKind};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

use crate::crash::CrashHook;
use crate::error::{arrow_err, io_err, pq_err, LoadError, Result};
use crate::fnv::Fnv64;
use crate::manifest::{FileEntry, Manifest};
use crate::merge::FileStats;
use crate::txn::Txn;
use crate::types::TableChange;

/// Columns left out of the fingerprint: they differ with every run.
const LINEAGE: [&str; 2] = ["_synced_at", "_run_id"];

/// The reference batches a run was handed, per table with their partition (a table not
/// handed over is kept).
#[derive(Debug, Default)]
pub(crate) struct ReferenceBatches {
    tables: BTreeMap<Table, (String, Vec<RecordBatch>)>,
}

impl ReferenceBatches {
    /// Keeps `batch` of the reference table `table` for `partition` (`<account>/all`).
    pub(crate) fn push(&mut self, table: Table, partition: String, batch: RecordBatch) {
        debug_assert_eq!(table.kind(), TableKind::Reference);
        let entry = self
            .tables
            .entry(table)
            .or_insert_with(|| (partition, Vec::new()));
        entry.1.push(batch);
    }
}

/// FNV-1a over the rendered values of every non-lineage column, row by row: equal for
/// equal content, whatever the batch boundaries.
fn fingerprint(table: Table, batches: &[RecordBatch]) -> Result<String> {
    let mut h = Fnv64::new();
    let mut cell = String::new();
    let options = FormatOptions::default().with_null("\u{0}null");
    for batch in batches {
        let schema = batch.schema();
        // Instants as their microseconds: rendering a zoned timestamp needs a tz database.
        let arrays: Vec<ArrayRef> = schema
            .fields()
            .iter()
            .zip(batch.columns())
            .filter(|(f, _)| !LINEAGE.contains(&f.name().as_str()))
            .map(|(f, c)| match f.data_type() {
                DataType::Timestamp(_, _) => cast(c, &DataType::Int64),
                _ => Ok(Arc::clone(c)),
            })
            .collect::<std::result::Result<_, _>>()
            .map_err(arrow_err(table.name()))?;
        let columns: Vec<ArrayFormatter<'_>> = arrays
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<std::result::Result<_, _>>()
            .map_err(arrow_err(table.name()))?;
        for row in 0..batch.num_rows() {
            for c in &columns {
                cell.clear();
                // Into one reused buffer: no allocation per cell.
                let _ = write!(cell, "{}", c.value(row));
                h.write(cell.as_bytes());
                h.write(&[0x1f]);
            }
            h.write(&[0x1e]);
        }
    }
    Ok(format!("{:016x}", h.finish()))
}

/// Adds to `txn` a new file for every handed-over reference table whose content differs
/// from its live file's, retiring the old one. Returns the rows written per table.
pub(crate) fn replace_changed(
    txn: &mut Txn,
    manifest: &Manifest,
    reference: &ReferenceBatches,
    props: &WriterProperties,
    crash: &CrashHook,
) -> Result<BTreeMap<String, TableChange>> {
    let mut changes = BTreeMap::new();
    for (&table, (partition, batches)) in &reference.tables {
        let fp = fingerprint(table, batches)?;
        let live: Vec<&FileEntry> = manifest
            .files(table.name())
            .iter()
            .filter(|f| f.partition == *partition)
            .collect();
        if live.len() == 1 && live[0].content_hash.as_deref() == Some(fp.as_str()) {
            continue;
        }
        let schema = table.schema();
        for b in batches {
            if b.schema().fields() != schema.fields() {
                return Err(LoadError::SchemaMismatch {
                    table: table.name().to_string(),
                    partition: partition.clone(),
                    message: "a reference batch does not have the table's schema".to_string(),
                });
            }
        }
        let (tmp, name) = txn.new_file();
        let file = File::create(&tmp).map_err(io_err(&tmp))?;
        let mut w =
            ArrowWriter::try_new(file, schema, Some(props.clone())).map_err(pq_err(&tmp))?;
        let mut rows = 0u64;
        for b in batches {
            w.write(b).map_err(pq_err(&tmp))?;
            rows += b.num_rows() as u64;
        }
        w.finish().map_err(pq_err(&tmp))?;
        w.inner().sync_all().map_err(io_err(&tmp))?;
        drop(w);
        let bytes = std::fs::metadata(&tmp).map_err(io_err(&tmp))?.len();
        let stats = FileStats {
            rows,
            bytes,
            min: None,
            max: None,
        };
        txn.add(table.name(), partition, tmp, &name, stats);
        if let Some((_, _, entry)) = txn.added.last_mut() {
            entry.content_hash = Some(fp);
        }
        let removed: u64 = live.iter().map(|f| f.rows).sum();
        for f in live {
            txn.retire(f);
        }
        changes.insert(
            table.name().to_string(),
            TableChange {
                rows_added: rows,
                rows_removed: removed,
                ..TableChange::default()
            },
        );
        crash.check("reference.after_write")?;
    }
    Ok(changes)
}
