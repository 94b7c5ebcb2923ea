//! Checkpoints: a table's whole state at one version in one Parquet file
//! (`<v>.checkpoint.parquet`, named by `_delta_log/_last_checkpoint`), so that opening a
//! table reads one file plus the few commits after it rather than every commit since the
//! table began.
//!
//! The columns are the Delta PROTOCOL's checkpoint schema: one struct column per action
//! type (`txn`, `add`, `remove`, `metaData`, `protocol`), one action per row. Rows are built
//! by serializing the same [`ActionLine`]s the JSON commits hold through arrow-json's
//! decoder, and read back the other way, so the two encodings cannot drift apart.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};

use crate::error::{io_err, pq_err, Result};
use crate::layout::{self, Layout};

use super::actions::ActionLine;
use super::log::{self, checkpoint_name, delta_err, LAST_CHECKPOINT};

/// Rows per decoded batch.
const BATCH_ROWS: usize = 4096;

fn string(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

fn long(name: &str) -> Field {
    Field::new(name, DataType::Int64, true)
}

fn boolean(name: &str) -> Field {
    Field::new(name, DataType::Boolean, true)
}

/// `map<string,string>` with the Parquet names Spark writes (`key_value`, `key`, `value`).
fn string_map(name: &str) -> Field {
    Field::new_map(
        name,
        "key_value",
        Field::new("key", DataType::Utf8, false),
        Field::new("value", DataType::Utf8, true),
        false,
        true,
    )
}

fn string_list(name: &str) -> Field {
    Field::new_list(name, Field::new("element", DataType::Utf8, true), true)
}

fn strukt(name: &str, fields: Vec<Field>) -> Field {
    Field::new(name, DataType::Struct(Fields::from(fields)), true)
}

/// `deletionVector` of `add` and `remove`.
fn deletion_vector() -> Field {
    strukt(
        "deletionVector",
        vec![
            string("storageType"),
            string("pathOrInlineDv"),
            Field::new("offset", DataType::Int32, true),
            Field::new("sizeInBytes", DataType::Int32, true),
            long("cardinality"),
        ],
    )
}

/// The checkpoint schema (Delta PROTOCOL, "Checkpoint Schema"), without the optional
/// `stats_parsed` and `partitionValues_parsed`.
pub(crate) fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        strukt(
            "txn",
            vec![string("appId"), long("version"), long("lastUpdated")],
        ),
        strukt(
            "add",
            vec![
                string("path"),
                string_map("partitionValues"),
                long("size"),
                long("modificationTime"),
                boolean("dataChange"),
                string("stats"),
                string_map("tags"),
                deletion_vector(),
            ],
        ),
        strukt(
            "remove",
            vec![
                string("path"),
                long("deletionTimestamp"),
                boolean("dataChange"),
                boolean("extendedFileMetadata"),
                string_map("partitionValues"),
                long("size"),
                deletion_vector(),
            ],
        ),
        strukt(
            "metaData",
            vec![
                string("id"),
                string("name"),
                string("description"),
                strukt("format", vec![string("provider"), string_map("options")]),
                string("schemaString"),
                string_list("partitionColumns"),
                string_map("configuration"),
                long("createdTime"),
            ],
        ),
        strukt(
            "protocol",
            vec![
                Field::new("minReaderVersion", DataType::Int32, true),
                Field::new("minWriterVersion", DataType::Int32, true),
                string_list("readerFeatures"),
                string_list("writerFeatures"),
            ],
        ),
    ]))
}

/// `_delta_log/_last_checkpoint`.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct LastCheckpoint {
    /// The checkpoint's version.
    pub version: u64,
    /// Its number of actions (rows).
    pub size: u64,
}

/// Writes the checkpoint of version `version` holding `lines` (protocol, metadata, live
/// files, tombstones still retained), then points `_last_checkpoint` at it. Each file is
/// written in `_ltx/tmp/delta/` and renamed into the log; a crash between the two leaves a
/// checkpoint readers find by listing, and the next sync rewrites `_last_checkpoint`.
pub(crate) fn write(
    layout: &Layout,
    table: &str,
    log_dir: &Path,
    version: u64,
    lines: &[ActionLine],
    crash: &crate::crash::CrashHook,
) -> Result<()> {
    let dst = log_dir.join(checkpoint_name(version));
    let tmp = log::tmp_path(layout, &format!("{table}-{}", checkpoint_name(version)))?;
    let schema = schema();
    let arrow_err = |e: arrow::error::ArrowError| delta_err(table, &dst, e.to_string());
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let file = File::create(&tmp).map_err(io_err(&tmp))?;
    let mut writer =
        ArrowWriter::try_new(file, Arc::clone(&schema), Some(props)).map_err(pq_err(&tmp))?;
    let mut decoder = arrow::json::ReaderBuilder::new(Arc::clone(&schema))
        .with_batch_size(BATCH_ROWS)
        .build_decoder()
        .map_err(arrow_err)?;
    for chunk in lines.chunks(BATCH_ROWS) {
        decoder.serialize(chunk).map_err(arrow_err)?;
        if let Some(batch) = decoder.flush().map_err(arrow_err)? {
            writer.write(&batch).map_err(pq_err(&tmp))?;
        }
    }
    let file = writer.into_inner().map_err(pq_err(&tmp))?;
    file.sync_all().map_err(io_err(&tmp))?;
    drop(file);
    layout::rename(&tmp, &dst)?;
    layout::fsync_dir(log_dir)?;
    crash.check("delta.after_checkpoint")?;
    write_last(layout, table, log_dir, version, lines.len() as u64)
}

/// Points `_last_checkpoint` at `version` (tmp + fsync + rename).
pub(crate) fn write_last(
    layout: &Layout,
    table: &str,
    log_dir: &Path,
    version: u64,
    size: u64,
) -> Result<()> {
    let path = log_dir.join(LAST_CHECKPOINT);
    let bytes = serde_json::to_vec(&LastCheckpoint { version, size }).map_err(|source| {
        crate::error::LoadError::Json {
            path: path.clone(),
            source,
        }
    })?;
    let tmp = log::tmp_path(layout, &format!("{table}-{LAST_CHECKPOINT}"))?;
    layout::write_atomic(&path, &tmp, &bytes, || Ok(()))
}

/// `_last_checkpoint`, or `None` when missing or unreadable (readers then list the log).
pub(crate) fn read_last(log_dir: &Path) -> Option<LastCheckpoint> {
    let bytes = std::fs::read(log_dir.join(LAST_CHECKPOINT)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The number of actions (rows) of a checkpoint file, from its footer.
pub(crate) fn rows(path: &Path) -> Result<u64> {
    let file = File::open(path).map_err(io_err(path))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(pq_err(path))?;
    Ok(u64::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0))
}

/// The actions of a checkpoint file.
pub(crate) fn read(table: &str, path: &Path) -> Result<Vec<ActionLine>> {
    let file = File::open(path).map_err(io_err(path))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.with_batch_size(BATCH_ROWS).build())
        .map_err(pq_err(path))?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| delta_err(table, path, e.to_string()))?;
        let mut json = Vec::new();
        {
            let mut w = arrow::json::ArrayWriter::new(&mut json);
            w.write(&batch)
                .and_then(|()| w.finish())
                .map_err(|e| delta_err(table, path, e.to_string()))?;
        }
        if json.is_empty() {
            continue;
        }
        let rows: Vec<ActionLine> = serde_json::from_slice(&json)
            .map_err(|e| delta_err(table, path, format!("checkpoint row: {e}")))?;
        out.extend(rows);
    }
    Ok(out)
}
