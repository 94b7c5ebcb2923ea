//! A run's last row groups, encoded column by column on several threads at once.
//!
//! While the run streams, each core's [`Encoder`](crate::encoder::Encoder) thread writes
//! whole row groups, one file's groups after another's. When the input ends, what is left
//! is the unfinished group of each open file, and the largest one (the current month's
//! `chat_messages`, up to 128k rows) was encoded by one thread while the other core had
//! nothing left to do. A row group's columns are independent until
//! they are appended to the file in order, so here each thread takes the next column
//! (largest first) through the `parquet` crate's own [`ArrowColumnWriter`]s, and the
//! chunks are appended in schema order: the file is the same as `ArrowWriter` writes it.
//! Every row group written at a file's close goes through here; one smaller than
//! [`MIN_ROWS`] is encoded on the closing thread.

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use arrow::array::RecordBatch;
use parquet::arrow::arrow_writer::{
    compute_leaves, ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory,
};
use parquet::file::writer::SerializedFileWriter;

use crate::error::{pq_err, LoadError, Result};

/// Rows below which a group is written on the caller's thread: starting threads for a
/// small group costs more than it saves.
pub(crate) const MIN_ROWS: usize = 2048;

/// Threads to encode a group of `rows` rows with: one per core for a large group, else 1.
pub(crate) fn threads_for(rows: usize) -> usize {
    if rows < MIN_ROWS {
        return 1;
    }
    crate::encoder::threads()
}

/// Writes `batches` as the next row group of `file`, encoding its columns on `threads`
/// threads. `batches` share one schema (the file's).
pub(crate) fn write_group(
    file: &mut SerializedFileWriter<File>,
    factory: &ArrowRowGroupWriterFactory,
    batches: &[RecordBatch],
    threads: usize,
    path: &Path,
) -> Result<()> {
    let Some(first) = batches.first() else {
        return Ok(());
    };
    let schema = first.schema();
    let writers = factory
        .create_column_writers(file.flushed_row_groups().len())
        .map_err(pq_err(path))?;
    // The writers are per leaf column, in schema order; a field has one leaf unless nested.
    let mut writers = writers.into_iter();
    let mut columns = Vec::with_capacity(schema.fields().len());
    for (i, field) in schema.fields().iter().enumerate() {
        let leaves = compute_leaves(field, first.column(i))
            .map_err(pq_err(path))?
            .len();
        let bytes: usize = batches
            .iter()
            .map(|b| b.column(i).get_array_memory_size())
            .sum();
        columns.push(Column {
            field: i,
            bytes,
            writers: Mutex::new(writers.by_ref().take(leaves).collect()),
            chunks: Mutex::new(None),
        });
    }
    if writers.next().is_some() {
        return Err(LoadError::Encoder(format!(
            "{}: more Parquet columns than Arrow fields",
            path.display()
        )));
    }
    // Largest first, so that no thread starts a big column when the others are done.
    let mut order: Vec<usize> = (0..columns.len()).collect();
    order.sort_by_key(|&c| std::cmp::Reverse(columns[c].bytes));
    let next = AtomicUsize::new(0);
    let work = || {
        while let Some(&c) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
            let col = &columns[c];
            let writers = col
                .writers
                .lock()
                .map(|mut w| std::mem::take(&mut *w))
                .unwrap_or_default();
            let encoded = encode(col.field, writers, batches, path);
            if let Ok(mut slot) = col.chunks.lock() {
                *slot = Some(encoded);
            }
        }
    };
    if threads <= 1 {
        work(); // a small group: on the caller's thread
    } else {
        std::thread::scope(|s| {
            for _ in 0..threads.min(columns.len()) {
                s.spawn(work);
            }
        });
    }
    let mut group = file.next_row_group().map_err(pq_err(path))?;
    for col in columns {
        let chunks = col.chunks.into_inner().ok().flatten().ok_or_else(|| {
            LoadError::Encoder(format!("{}: a column was not encoded", path.display()))
        })??;
        for chunk in chunks {
            chunk
                .append_to_row_group(&mut group)
                .map_err(pq_err(path))?;
        }
    }
    group.close().map_err(pq_err(path))?;
    Ok(())
}

/// One field of the group: its leaf columns' writers, then their encoded chunks.
struct Column {
    field: usize,
    bytes: usize,
    writers: Mutex<Vec<ArrowColumnWriter>>,
    chunks: Mutex<Option<Result<Vec<ArrowColumnChunk>>>>,
}

/// Encodes field `field` of every batch with its leaf columns' writers.
fn encode(
    field: usize,
    mut writers: Vec<ArrowColumnWriter>,
    batches: &[RecordBatch],
    path: &Path,
) -> Result<Vec<ArrowColumnChunk>> {
    for b in batches {
        let schema = b.schema();
        let leaves = compute_leaves(schema.field(field), b.column(field)).map_err(pq_err(path))?;
        for (w, leaf) in writers.iter_mut().zip(leaves) {
            w.write(&leaf).map_err(pq_err(path))?;
        }
    }
    writers
        .into_iter()
        .map(|w| w.close().map_err(pq_err(path)))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use arrow::array::{ArrayRef, Int64Array, StringArray, TimestampMicrosecondArray};
    use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    use parquet::arrow::ArrowWriter;

    use super::*;
    use crate::encoding::writer_props;

    fn batches(rows: usize, per_batch: usize) -> Vec<RecordBatch> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("conversation_id", DataType::Int64, false),
            Field::new("text", DataType::Utf8, true),
            Field::new(
                "created_at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new("sender_type", DataType::Utf8, true),
        ]));
        (0..rows)
            .step_by(per_batch)
            .map(|from| {
                let ids: Vec<i64> = (from..(from + per_batch).min(rows))
                    .map(|i| i as i64)
                    .collect();
                let text: Vec<Option<String>> = ids
                    .iter()
                    .map(|i| {
                        (i % 7 != 0)
                            .then(|| format!("message {i} {}", "x".repeat((*i % 50) as usize)))
                    })
                    .collect();
                let ts: Vec<Option<i64>> = ids
                    .iter()
                    .map(|i| (i % 5 != 0).then_some(i * 1000))
                    .collect();
                let sender: Vec<&str> = ids
                    .iter()
                    .map(|i| if i % 3 == 0 { "employee" } else { "visitor" })
                    .collect();
                let columns: Vec<ArrayRef> = vec![
                    Arc::new(Int64Array::from(ids)),
                    Arc::new(StringArray::from(text)),
                    Arc::new(TimestampMicrosecondArray::from(ts).with_timezone("UTC")),
                    Arc::new(StringArray::from(sender)),
                ];
                RecordBatch::try_new(Arc::clone(&schema), columns).unwrap()
            })
            .collect()
    }

    #[test]
    fn a_group_that_cannot_be_written_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ro.parquet");
        std::fs::write(&path, b"").unwrap();
        let group = batches(20_000, 4096);
        // Opened read-only: every write to it fails.
        let w = ArrowWriter::try_new(
            File::open(&path).unwrap(),
            group[0].schema(),
            Some(writer_props(1 << 20, 1)),
        )
        .unwrap();
        let (mut file, factory) = w.into_serialized_writer().unwrap();
        let err = write_group(&mut file, &factory, &group, 2, &path)
            .and_then(|()| file.finish().map(|_| ()).map_err(pq_err(&path)))
            .unwrap_err()
            .to_string();
        assert!(err.contains("ro.parquet"), "{err}");
    }

    /// The same groups through `ArrowWriter`, and column by column on 1, 2 and 3 threads.
    #[test]
    fn the_file_is_byte_for_byte_what_arrow_writer_writes() {
        let dir = tempfile::tempdir().unwrap();
        let groups = [batches(20_000, 4096), batches(7_000, 1000)];
        let schema = groups[0][0].schema();
        let props = || writer_props(1 << 20, 1);
        let reference = dir.path().join("reference.parquet");
        let mut w = ArrowWriter::try_new(
            File::create(&reference).unwrap(),
            Arc::clone(&schema),
            Some(props()),
        )
        .unwrap();
        for g in &groups {
            for b in g {
                w.write(b).unwrap();
            }
            w.flush().unwrap();
        }
        w.close().unwrap();
        let want = std::fs::read(&reference).unwrap();
        for threads in [1, 2, 3] {
            let path = dir.path().join(format!("by-columns-{threads}.parquet"));
            let w = ArrowWriter::try_new(
                File::create(&path).unwrap(),
                Arc::clone(&schema),
                Some(props()),
            )
            .unwrap();
            let (mut file, factory) = w.into_serialized_writer().unwrap();
            for g in &groups {
                write_group(&mut file, &factory, g, threads, &path).unwrap();
            }
            file.finish().unwrap();
            drop(file);
            assert!(std::fs::read(&path).unwrap() == want, "{threads} threads");
        }
    }
}
