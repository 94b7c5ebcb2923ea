//! Row groups are encoded on threads of their own: [`Encoder`].
//!
//! The loader thread also feeds the transform workers (it pushes records into the
//! `TransformPool` and writes the batches it hands back). A full row group (up to 128k
//! rows of `chat_messages`) takes tens of milliseconds to encode and compress, and while
//! the loader thread did that itself the workers ran out of input. Here the loader
//! thread only slices the group off and hands it over with the file's writer; the writer
//! comes back when the group is written, so a file's row groups stay in order.
//!
//! One thread per core: with a single encoding thread the loader still waited for it,
//! and the workers, fed by the loader, waited for input meanwhile.
//!
//! At most [`max_in_flight`] groups are with the encoder at once, and their memory counts
//! in the staging budget until they come back, so memory stays bounded as before.

use std::collections::VecDeque;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use arrow::array::RecordBatch;
use parquet::arrow::ArrowWriter;

use crate::error::{pq_err, LoadError, Result};
use crate::writeback::Writeback;

/// A staging file's key: (table, partition).
pub(crate) type Key = (&'static str, String);

/// Row groups handed over and not yet taken back: one per encoding thread (2 here), and
/// never fewer than 2, so that the loader does not wait when groups of two files fill at
/// once (month ends flush several files).
pub(crate) fn max_in_flight() -> usize {
    threads().max(2)
}

/// Encoding threads: one per core (also the threads of a closing row group, see
/// `by_columns`).
pub(crate) fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// A row group to write: the file's writer travels with it.
struct Job {
    key: Key,
    path: PathBuf,
    writer: ArrowWriter<File>,
    batches: Vec<RecordBatch>,
    bytes: usize,
}

/// A written row group: the writer is handed back, with the outcome.
pub(crate) struct Done {
    /// The file the group belongs to.
    pub key: Key,
    /// Its writer, for the next group.
    pub writer: ArrowWriter<File>,
    /// Whether the group was written.
    pub result: Result<()>,
    /// Memory the group held.
    bytes: usize,
}

impl Job {
    fn run(mut self) -> Done {
        let result = write_group(&mut self.writer, &self.batches, &self.path);
        drop(self.batches);
        Done {
            key: self.key,
            writer: self.writer,
            result,
            bytes: self.bytes,
        }
    }
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

/// The encoding threads and the groups they hold. See the module docs.
pub(crate) struct Encoder {
    jobs: Option<SyncSender<Job>>,
    done: Receiver<Done>,
    threads: Vec<JoinHandle<()>>,
    /// Groups written on the caller's thread (no encoding thread could be started).
    written_here: VecDeque<Done>,
    /// Groups handed over and not yet taken back, and their memory.
    in_flight: usize,
    in_flight_bytes: usize,
    max_in_flight: usize,
}

impl Encoder {
    /// Starts the encoding threads (or, if the OS has none to give, encodes on the
    /// caller's thread as before).
    pub(crate) fn new() -> Self {
        let max_in_flight = max_in_flight();
        let (job_tx, job_rx) = mpsc::sync_channel::<Job>(max_in_flight);
        // Every group in flight fits: a thread never waits to hand one back.
        let (done_tx, done_rx) = mpsc::sync_channel::<Done>(max_in_flight);
        let job_rx = Arc::new(Mutex::new(job_rx));
        let writeback = Writeback::start();
        let mut handles = Vec::new();
        for i in 0..threads() {
            let (job_rx, done_tx) = (Arc::clone(&job_rx), done_tx.clone());
            let writeback = writeback.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("ltx-parquet-{i}"))
                .spawn(move || loop {
                    // The lock is held only while waiting for the next job.
                    let job = match job_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(poisoned) => poisoned.into_inner().recv(),
                    };
                    let Ok(job) = job else { return }; // the staging is done or dropped
                    let done = job.run();
                    if done.result.is_ok() {
                        writeback.request(done.writer.inner());
                    }
                    if done_tx.send(done).is_err() {
                        return; // the staging was dropped: nobody waits for it
                    }
                });
            match spawned {
                Ok(h) => handles.push(h),
                Err(e) => {
                    tracing::warn!(error = %e, "could not start a Parquet encoding thread");
                    break;
                }
            }
        }
        if handles.is_empty() {
            tracing::warn!("no Parquet encoding thread: encoding on the loader thread");
        }
        Self {
            jobs: (!handles.is_empty()).then_some(job_tx),
            done: done_rx,
            threads: handles,
            written_here: VecDeque::new(),
            in_flight: 0,
            in_flight_bytes: 0,
            max_in_flight,
        }
    }

    /// Groups handed over and not yet taken back with [`Encoder::wait`].
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Whether the encoder has room for another group.
    pub(crate) fn has_room(&self) -> bool {
        self.in_flight < self.max_in_flight
    }

    /// Memory of the groups handed over and not yet taken back.
    pub(crate) fn in_flight_bytes(&self) -> usize {
        self.in_flight_bytes
    }

    /// Hands a row group over (`bytes`: its memory). The caller waits for room first
    /// ([`Encoder::has_room`], [`Encoder::wait`]).
    pub(crate) fn submit(
        &mut self,
        key: Key,
        path: PathBuf,
        writer: ArrowWriter<File>,
        batches: Vec<RecordBatch>,
        bytes: usize,
    ) -> Result<()> {
        self.in_flight += 1;
        self.in_flight_bytes += bytes;
        let job = Job {
            key,
            path,
            writer,
            batches,
            bytes,
        };
        let Some(jobs) = &self.jobs else {
            self.written_here.push_back(job.run());
            return Ok(());
        };
        jobs.send(job).map_err(|_| self.stopped())
    }

    /// Waits for a group handed over to be written (whichever is first), and returns it
    /// with its writer.
    pub(crate) fn wait(&mut self) -> Result<Done> {
        let done = match self.written_here.pop_front() {
            Some(done) => done,
            None => self.done.recv().map_err(|_| self.stopped())?,
        };
        self.in_flight -= 1;
        self.in_flight_bytes -= done.bytes;
        Ok(done)
    }

    /// The encoding threads are gone while groups were expected: one panicked (a bug).
    fn stopped(&mut self) -> LoadError {
        self.jobs = None;
        LoadError::Encoder(join_all(
            self.threads.drain(..),
            "the encoding threads stopped",
        ))
    }
}

impl Drop for Encoder {
    /// A staging dropped mid-run (the run failed): the threads finish the groups they hold
    /// and end, so no file of the run's temporary directory is written afterwards. They
    /// never wait to hand a group back: the channel holds every group in flight.
    fn drop(&mut self) {
        self.jobs = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Joins `threads`; the message of the last one that panicked, else `stopped`.
pub(crate) fn join_all<T>(
    threads: impl Iterator<Item = std::thread::JoinHandle<T>>,
    stopped: &str,
) -> String {
    let mut cause = stopped.to_owned();
    for t in threads {
        if let Err(p) = t.join() {
            cause = p
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
        }
    }
    cause
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    fn batch(rows: i64) -> RecordBatch {
        batch_from(0, rows)
    }

    /// Ids `first..first + rows`, with text of varying length.
    fn batch_from(first: i64, rows: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("text", DataType::Utf8, false),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from_iter_values(first..first + rows)),
                Arc::new(StringArray::from_iter_values(
                    (first..first + rows)
                        .map(|i| format!("row {i} {}", "x".repeat(i as usize % 50))),
                )),
            ],
        )
        .unwrap()
    }

    fn writer(file: File) -> ArrowWriter<File> {
        ArrowWriter::try_new(file, batch(1).schema(), None).unwrap()
    }

    #[test]
    fn groups_come_back_with_their_writers_and_each_file_reads_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut e = Encoder::new();
        let files = 5;
        let paths: Vec<PathBuf> = (0..files)
            .map(|i| dir.path().join(format!("{i}.parquet")))
            .collect();
        let mut writers: Vec<Option<ArrowWriter<File>>> = paths
            .iter()
            .map(|p| Some(writer(File::create(p).unwrap())))
            .collect();
        let take_back = |e: &mut Encoder, writers: &mut Vec<Option<ArrowWriter<File>>>| {
            let done = e.wait().unwrap();
            done.result.unwrap();
            let i: usize = done.key.1.parse().unwrap();
            assert!(writers[i].is_none(), "file {i} had one group in flight");
            writers[i] = Some(done.writer);
        };
        // Four groups per file, the files in turn, as the staging hands them over: a
        // file's next group only once its writer is back, and never more than the room.
        for group in 0..4i64 {
            for (i, p) in paths.iter().enumerate() {
                while writers[i].is_none() || !e.has_room() {
                    take_back(&mut e, &mut writers);
                }
                assert!(e.in_flight() < max_in_flight());
                let w = writers[i].take().unwrap();
                let first = group * 1024;
                e.submit(
                    ("t", i.to_string()),
                    p.clone(),
                    w,
                    vec![batch_from(first, 1000), batch_from(first + 1000, 24)],
                    100,
                )
                .unwrap();
                assert_eq!(e.in_flight_bytes(), 100 * e.in_flight());
            }
        }
        while e.in_flight() > 0 {
            take_back(&mut e, &mut writers);
        }
        assert_eq!(e.in_flight_bytes(), 0);
        for (w, p) in writers.into_iter().zip(&paths) {
            w.unwrap().close().unwrap();
            let r = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                File::open(p).unwrap(),
            )
            .unwrap();
            assert_eq!(r.metadata().num_row_groups(), 4);
            let ids: Vec<i64> = r
                .build()
                .unwrap()
                .flat_map(|b| {
                    let b = b.unwrap();
                    let ids = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                    ids.values().to_vec()
                })
                .collect();
            assert_eq!(ids, (0..4 * 1024).collect::<Vec<_>>(), "{}", p.display());
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
        for i in 0..max_in_flight() {
            let p = dir.path().join(format!("{i}.parquet"));
            let w = writer(File::create(&p).unwrap());
            e.submit(("t", i.to_string()), p, w, vec![batch(20_000)], 1)
                .unwrap();
        }
        drop(e); // joins the thread: returns once it wrote what it held
    }
}
