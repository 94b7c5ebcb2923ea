//! Row groups are encoded on a thread of their own: [`Encoder`].
//!
//! The loader thread also feeds the transform workers (it pushes records into the
//! `TransformPool` and writes the batches it hands back). A full row group (up to 128k
//! rows of `chat_messages`) takes tens of milliseconds to encode and compress, and while
//! the loader thread did that itself the workers ran out of input: in an `ltx import` of
//! 100k conversations each worker waited for input 37% of its time. Here the loader
//! thread only slices the group off and hands it over with the file's writer; the writer
//! comes back when the group is written, so a file's row groups stay in order.
//!
//! At most [`MAX_IN_FLIGHT`] groups are with the encoder at once, and their memory counts
//! in the staging budget until they come back, so memory stays bounded as before.

use std::collections::VecDeque;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;

use arrow::array::RecordBatch;
use parquet::arrow::ArrowWriter;

use crate::error::{pq_err, LoadError, Result};

/// A staging file's key: (table, partition).
pub(crate) type Key = (&'static str, String);

/// Row groups handed over and not yet written. Two, so that the loader does not wait when
/// groups of two files fill at once (month ends flush several files).
pub(crate) const MAX_IN_FLIGHT: usize = 2;

/// A row group to write: the file's writer travels with it.
struct Job {
    key: Key,
    path: PathBuf,
    writer: ArrowWriter<File>,
    batches: Vec<RecordBatch>,
}

/// A written row group: the writer is handed back, with the outcome.
pub(crate) struct Done {
    /// The file the group belongs to.
    pub key: Key,
    /// Its writer, for the next group.
    pub writer: ArrowWriter<File>,
    /// Whether the group was written.
    pub result: Result<()>,
}

/// Writes `batches` as one row group of `writer` (the writer's encoders live only for
/// this call; see the staging module docs).
pub(crate) fn write_group(
    writer: &mut ArrowWriter<File>,
    batches: &[RecordBatch],
    path: &Path,
) -> Result<()> {
    for b in batches {
        writer.write(b).map_err(pq_err(path))?;
    }
    writer.flush().map_err(pq_err(path))
}

/// The encoding thread and the groups it holds. See the module docs.
pub(crate) struct Encoder {
    jobs: Option<SyncSender<Job>>,
    done: Receiver<Done>,
    thread: Option<JoinHandle<()>>,
    /// Groups written on the caller's thread (no encoding thread could be started).
    written_here: VecDeque<Done>,
    /// Memory of each group handed over, oldest first (they come back in order).
    in_flight: VecDeque<usize>,
}

impl Encoder {
    /// Starts the encoding thread (or, if the OS has no thread to give, encodes on the
    /// caller's thread as before).
    pub(crate) fn new() -> Self {
        let (job_tx, job_rx) = mpsc::sync_channel::<Job>(MAX_IN_FLIGHT);
        let (done_tx, done_rx) = mpsc::sync_channel::<Done>(MAX_IN_FLIGHT);
        let thread = std::thread::Builder::new()
            .name("ltx-parquet".into())
            .spawn(move || {
                for mut job in job_rx {
                    let result = write_group(&mut job.writer, &job.batches, &job.path);
                    drop(job.batches);
                    let done = Done {
                        key: job.key,
                        writer: job.writer,
                        result,
                    };
                    if done_tx.send(done).is_err() {
                        return; // the staging was dropped: nobody waits for it
                    }
                }
            });
        let thread = match thread {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::warn!(error = %e, "could not start the Parquet encoding thread; encoding on the loader thread");
                None
            }
        };
        Self {
            jobs: thread.as_ref().map(|_| job_tx),
            done: done_rx,
            thread,
            written_here: VecDeque::new(),
            in_flight: VecDeque::new(),
        }
    }

    /// Groups handed over and not yet taken back with [`Encoder::wait`].
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Memory of the groups handed over and not yet taken back.
    pub(crate) fn in_flight_bytes(&self) -> usize {
        self.in_flight.iter().sum()
    }

    /// Hands a row group over (`bytes`: its memory). The caller keeps at most
    /// [`MAX_IN_FLIGHT`] groups handed over (see [`Encoder::wait`]).
    pub(crate) fn submit(
        &mut self,
        key: Key,
        path: PathBuf,
        mut writer: ArrowWriter<File>,
        batches: Vec<RecordBatch>,
        bytes: usize,
    ) -> Result<()> {
        self.in_flight.push_back(bytes);
        let Some(jobs) = &self.jobs else {
            let result = write_group(&mut writer, &batches, &path);
            self.written_here.push_back(Done {
                key,
                writer,
                result,
            });
            return Ok(());
        };
        jobs.send(Job {
            key,
            path,
            writer,
            batches,
        })
        .map_err(|_| self.stopped())
    }

    /// Waits for the oldest group handed over to be written, and returns its writer.
    pub(crate) fn wait(&mut self) -> Result<Done> {
        let done = match self.written_here.pop_front() {
            Some(done) => done,
            None => self.done.recv().map_err(|_| self.stopped())?,
        };
        self.in_flight.pop_front();
        Ok(done)
    }

    /// The encoding thread is gone while groups were expected: it panicked (a bug).
    fn stopped(&mut self) -> LoadError {
        self.jobs = None;
        let cause = match self.thread.take().map(JoinHandle::join) {
            Some(Err(p)) => p
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned()),
            _ => "it stopped".to_owned(),
        };
        LoadError::Encoder(cause)
    }
}

impl Drop for Encoder {
    /// A staging dropped mid-run (the run failed): the thread finishes the group it holds
    /// and ends, so no file of the run's temporary directory is written afterwards. It
    /// never waits to hand a group back: the channel holds every group in flight.
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    fn batch(rows: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("text", DataType::Utf8, false),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from_iter_values(0..rows)),
                Arc::new(StringArray::from_iter_values(
                    (0..rows).map(|i| format!("row {i} {}", "x".repeat(i as usize % 50))),
                )),
            ],
        )
        .unwrap()
    }

    fn writer(file: File) -> ArrowWriter<File> {
        ArrowWriter::try_new(file, batch(1).schema(), None).unwrap()
    }

    #[test]
    fn groups_come_back_in_order_with_their_writers_and_the_file_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut e = Encoder::new();
        let paths: Vec<PathBuf> = (0..2)
            .map(|i| dir.path().join(format!("{i}.parquet")))
            .collect();
        let mut writers: Vec<Option<ArrowWriter<File>>> = paths
            .iter()
            .map(|p| Some(writer(File::create(p).unwrap())))
            .collect();
        // Three groups per file, alternating files, at most MAX_IN_FLIGHT handed over.
        for round in 0..3 {
            for (i, p) in paths.iter().enumerate() {
                let key: Key = ("t", i.to_string());
                let w = writers[i].take().unwrap();
                e.submit(key, p.clone(), w, vec![batch(1000), batch(24)], 100)
                    .unwrap();
                assert!(e.in_flight() <= MAX_IN_FLIGHT);
                assert_eq!(e.in_flight_bytes(), 100 * e.in_flight());
                if e.in_flight() == MAX_IN_FLIGHT {
                    let done = e.wait().unwrap();
                    done.result.unwrap();
                    let back: usize = done.key.1.parse().unwrap();
                    assert_eq!(back, (i + 1) % 2, "oldest first (round {round})");
                    writers[back] = Some(done.writer);
                }
            }
        }
        while e.in_flight() > 0 {
            let done = e.wait().unwrap();
            done.result.unwrap();
            writers[done.key.1.parse::<usize>().unwrap()] = Some(done.writer);
        }
        for (w, p) in writers.into_iter().zip(&paths) {
            w.unwrap().close().unwrap();
            let r = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                File::open(p).unwrap(),
            )
            .unwrap();
            assert_eq!(r.metadata().num_row_groups(), 3);
            let rows: usize = r.build().unwrap().map(|b| b.unwrap().num_rows()).sum();
            assert_eq!(rows, 3 * 1024);
        }
    }

    #[test]
    fn a_group_that_cannot_be_written_comes_back_as_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ro.parquet");
        std::fs::write(&path, b"").unwrap();
        // Opened read-only: every write to it fails.
        let w = writer(File::open(&path).unwrap());
        let mut e = Encoder::new();
        e.submit(("t", "p".into()), path.clone(), w, vec![batch(50_000)], 1)
            .unwrap();
        let done = e.wait().unwrap();
        let err = done.result.unwrap_err().to_string();
        assert!(err.contains("ro.parquet"), "{err}");
        assert_eq!(e.in_flight(), 0);
    }

    #[test]
    fn dropping_with_groups_in_flight_ends_the_thread() {
        let dir = tempfile::tempdir().unwrap();
        let mut e = Encoder::new();
        for i in 0..MAX_IN_FLIGHT {
            let p = dir.path().join(format!("{i}.parquet"));
            let w = writer(File::create(&p).unwrap());
            e.submit(("t", i.to_string()), p, w, vec![batch(20_000)], 1)
                .unwrap();
        }
        drop(e); // joins the thread: returns once it wrote what it held
    }
}
