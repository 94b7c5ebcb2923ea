//! The transform on several threads: [`TransformPool`].
//!
//! Parsing JSON is most of the transform's CPU time and needs no shared state, so the pool
//! runs `workers` threads, each with its own [`Transformer`], fed chunks of records from a
//! bounded channel. The caller (one thread: the loader's) pushes records and receives full
//! batches through a sink callback, so it keeps writing while the workers transform, and
//! memory stays bounded on both sides: a full input channel makes [`TransformPool::push`]
//! wait — writing whatever batches are ready meanwhile — and a slow sink makes the workers
//! wait.
//!
//! Each record is transformed by exactly one worker, so a conversation's rows stay together
//! whatever the interleaving. Batches arrive in no particular order across workers; the
//! loader already resolves versions by `_source_updated_at`, not by arrival order.
//! Dimension rows (latest attributes per key) are emitted by every worker at the end; the
//! loader keeps the newest per key in the same way.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::{TableBatch, TransformConfig, TransformStats, Transformer};

/// Records per chunk handed to a worker (amortizes channel and lock costs).
pub const CHUNK_RECORDS: usize = 128;

/// What a worker sends back: full batches, or the error that stopped it.
type Output = Result<Vec<TableBatch>, PoolError>;

/// One input record of the pool.
#[derive(Debug)]
pub enum Record {
    /// A conversation as JSON text (the API's bytes, unchanged).
    Json(Box<str>),
    /// An item the extractor could not key (e.g. not JSON): becomes a `_rejected` row.
    Unreadable {
        /// The raw text as received.
        raw: Box<str>,
        /// Why it could not be read, with its origin.
        error: String,
    },
    /// A conversation as JSON text read from a file: as [`Record::Json`], with `origin`
    /// (`FILE record N`) named in the `_rejected` error if it does not fit the model.
    JsonAt {
        /// The record as read.
        raw: Box<str>,
        /// Where it was read.
        origin: ltx_model::RecordOrigin,
    },
    /// Conversations from a JSON Lines file, not yet checked to be JSON: the worker's
    /// parse checks them, and a record that is not a UTF-8 JSON object stops the pool with
    /// [`PoolError::BadRecord`] (the file is truncated or corrupt).
    Lines(ltx_model::JsonLines),
}

impl Record {
    /// Conversations it holds, for sizing chunks.
    fn weight(&self) -> usize {
        match self {
            Record::Lines(lines) => lines.len(),
            _ => 1,
        }
    }
}

/// Why the pool stopped.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// A worker thread panicked (a bug): its records are lost for this run, so the run must
    /// fail rather than commit a partial result.
    #[error("a transform worker panicked: {0}")]
    WorkerPanicked(String),
    /// A record of a [`Record::Lines`] block is not a UTF-8 JSON object.
    #[error("{file}: record {record}: {message}")]
    BadRecord {
        /// The file.
        file: String,
        /// 1-based number of the record in its file.
        record: u64,
        /// What is wrong with it.
        message: String,
    },
}

/// N transform threads behind bounded channels. See the module docs.
pub struct TransformPool {
    chunk: Vec<Record>,
    /// Conversations in `chunk`.
    chunk_weight: usize,
    input: Option<SyncSender<Vec<Record>>>,
    output: Receiver<Output>,
    workers: Vec<JoinHandle<TransformStats>>,
}

impl std::fmt::Debug for TransformPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransformPool")
            .field("workers", &self.workers.len())
            .field("pending", &self.chunk.len())
            .finish()
    }
}

/// The number of transform threads to use by default: one per core.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

impl TransformPool {
    /// Starts `workers` (at least 1) threads, each with a [`Transformer`] of `config`.
    pub fn new(config: TransformConfig, workers: usize) -> Self {
        let workers = workers.max(1);
        let (in_tx, in_rx) = mpsc::sync_channel::<Vec<Record>>(workers * 2);
        let (out_tx, out_rx) = mpsc::sync_channel::<Output>(workers * 2);
        let in_rx = Arc::new(Mutex::new(in_rx));
        let handles = (0..workers)
            .map(|i| {
                let in_rx = Arc::clone(&in_rx);
                let out_tx = out_tx.clone();
                let config = config.clone();
                std::thread::Builder::new()
                    .name(format!("ltx-transform-{i}"))
                    .spawn(move || work(config, &in_rx, &out_tx))
            })
            .collect::<Result<Vec<_>, _>>();
        let handles = match handles {
            Ok(h) => h,
            // Spawning fails only when the OS is out of threads; run what we have.
            Err(e) => {
                tracing::warn!(error = %e, "could not start transform threads");
                Vec::new()
            }
        };
        Self {
            chunk: Vec::with_capacity(CHUNK_RECORDS),
            chunk_weight: 0,
            input: Some(in_tx),
            output: out_rx,
            workers: handles,
        }
    }

    /// Worker threads running.
    pub fn workers(&self) -> usize {
        self.workers.len()
    }

    /// Queues one record. Full batches produced meanwhile are handed to `sink`; while the
    /// input channel is full this waits, handing batches to `sink` as they come.
    pub fn push<E: From<PoolError>>(
        &mut self,
        record: Record,
        sink: &mut dyn FnMut(Vec<TableBatch>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.chunk_weight += record.weight();
        self.chunk.push(record);
        if self.chunk_weight >= CHUNK_RECORDS {
            self.send_chunk(sink)?;
        }
        Ok(())
    }

    /// Hands every batch that is ready to `sink` without waiting.
    pub fn drain_ready<E: From<PoolError>>(
        &mut self,
        sink: &mut dyn FnMut(Vec<TableBatch>) -> Result<(), E>,
    ) -> Result<(), E> {
        while let Ok(batches) = self.output.try_recv() {
            sink(batches?)?;
        }
        Ok(())
    }

    fn send_chunk<E: From<PoolError>>(
        &mut self,
        sink: &mut dyn FnMut(Vec<TableBatch>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut chunk = std::mem::replace(&mut self.chunk, Vec::with_capacity(CHUNK_RECORDS));
        self.chunk_weight = 0;
        loop {
            let Some(input) = &self.input else {
                return Err(self.stopped().into());
            };
            match input.try_send(chunk) {
                Ok(()) => return self.drain_ready(sink),
                Err(TrySendError::Full(c)) => {
                    chunk = c;
                    match self.output.recv_timeout(Duration::from_millis(2)) {
                        Ok(batches) => sink(batches?)?,
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => return Err(self.stopped().into()),
                    }
                }
                Err(TrySendError::Disconnected(_)) => return Err(self.stopped().into()),
            }
        }
    }

    /// Every worker is gone although input remained: one panicked. Joins them for the cause.
    fn stopped(&mut self) -> PoolError {
        self.input = None;
        let mut cause = String::from("transform workers stopped");
        for h in self.workers.drain(..) {
            if let Err(p) = h.join() {
                cause = panic_message(&p);
            }
        }
        // Or the last one stopped at a bad record, and said so (the batches are moot now).
        if let Some(Err(e)) = self.output.try_iter().find(Result::is_err) {
            return e;
        }
        PoolError::WorkerPanicked(cause)
    }

    /// Transforms what is queued, hands every remaining batch (including the dimensions)
    /// to `sink`, and returns the summed counts of all workers.
    pub fn finish<E: From<PoolError>>(
        mut self,
        sink: &mut dyn FnMut(Vec<TableBatch>) -> Result<(), E>,
    ) -> Result<TransformStats, E> {
        if !self.chunk.is_empty() {
            self.send_chunk(sink)?;
        }
        self.input = None; // workers finish once the queue is empty
        for batches in self.output.iter() {
            sink(batches?)?;
        }
        let mut total = TransformStats::default();
        for h in std::mem::take(&mut self.workers) {
            match h.join() {
                Ok(stats) => total.merge(&stats),
                Err(p) => return Err(PoolError::WorkerPanicked(panic_message(&p)).into()),
            }
        }
        Ok(total)
    }
}

fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

/// One worker: chunks in, full batches out, the rest (and its counts) at the end.
fn work(
    config: TransformConfig,
    input: &Mutex<Receiver<Vec<Record>>>,
    output: &SyncSender<Output>,
) -> TransformStats {
    let mut t = Transformer::new(config);
    loop {
        // The lock is held only while waiting for the next chunk.
        let next = match input.lock() {
            Ok(rx) => rx.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        let Ok(chunk) = next else { break };
        for record in chunk {
            match record {
                Record::Json(raw) => t.push_json(&raw),
                Record::JsonAt { raw, origin } => t.push_json_at(&raw, &origin),
                Record::Unreadable { raw, error } => t.push_unreadable(&raw, &error),
                Record::Lines(lines) => {
                    for (record, line) in lines.iter() {
                        let origin = || format!("{} record {record}", lines.source);
                        if let Err(message) = t.push_line(line, origin) {
                            // The caller stops at the first error: nothing else to send.
                            let _ = output.send(Err(PoolError::BadRecord {
                                file: lines.source.to_string(),
                                record,
                                message,
                            }));
                            return t.stats();
                        }
                    }
                }
            }
        }
        let full = t.drain_full();
        if !full.is_empty() && output.send(Ok(full)).is_err() {
            // The caller is gone (it failed); nothing left to deliver to.
            return t.stats();
        }
    }
    let (rest, stats) = t.finish();
    if !rest.is_empty() {
        // Ignoring a send error is right here: the caller is gone only if it failed.
        let _ = output.send(Ok(rest));
    }
    stats
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::Table;
    use chrono::{TimeZone, Utc};
    use std::collections::BTreeMap;

    fn config(batch_rows: usize) -> TransformConfig {
        TransformConfig {
            batch_rows,
            ..TransformConfig::new(
                "pool-test",
                Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
            )
        }
    }

    fn records(n: u64) -> Vec<String> {
        ltx_sim::jsonl_lines(&ltx_sim::SimConfig::default(), n).unwrap()
    }

    /// Rows per table from batches.
    fn count(batches: &[TableBatch]) -> BTreeMap<&'static str, u64> {
        let mut m = BTreeMap::new();
        for b in batches {
            *m.entry(b.table.name()).or_insert(0) += b.batch.num_rows() as u64;
        }
        m
    }

    #[test]
    fn pool_emits_the_same_rows_as_one_transformer() {
        let lines = records(700);
        let mut single = Transformer::new(config(256));
        let mut expected = Vec::new();
        for l in &lines {
            single.push_json(l);
            expected.extend(single.drain_full());
        }
        single.push_unreadable("not json", "bad body");
        let (rest, single_stats) = single.finish();
        expected.extend(rest);

        for workers in [1, 2, 3] {
            let mut pool = TransformPool::new(config(256), workers);
            let mut got = Vec::new();
            let mut sink = |b: Vec<TableBatch>| -> Result<(), PoolError> {
                got.extend(b);
                Ok(())
            };
            for l in &lines {
                pool.push(Record::Json(l.clone().into()), &mut sink)
                    .unwrap();
            }
            pool.push(
                Record::Unreadable {
                    raw: "not json".into(),
                    error: "bad body".into(),
                },
                &mut sink,
            )
            .unwrap();
            let stats = pool.finish(&mut sink).unwrap();
            assert_eq!(stats.conversations, single_stats.conversations);
            assert_eq!(stats.rejected, 1);
            assert_eq!(stats.quality_issues, single_stats.quality_issues);
            let (a, b) = (count(&got), count(&expected));
            // Conversation-scoped tables match exactly; dimensions may repeat a key once per
            // worker (the loader keeps the newest), so they are at least as many.
            for t in Table::ALL {
                let (x, y) = (a.get(t.name()), b.get(t.name()));
                if matches!(
                    t,
                    Table::Employees | Table::Visitors | Table::Sites | Table::Departments
                ) {
                    assert!(x >= y, "{} with {workers} workers", t.name());
                } else {
                    assert_eq!(x, y, "{} with {workers} workers", t.name());
                }
            }
        }
    }

    /// `lines` as JSON Lines blocks of `size` records of the file `f.jsonl`.
    fn blocks(lines: &[Vec<u8>], size: usize) -> Vec<ltx_model::JsonLines> {
        let source: std::sync::Arc<str> = "f.jsonl".into();
        let mut out = Vec::new();
        for (i, chunk) in lines.chunks(size).enumerate() {
            let mut block = ltx_model::JsonLines {
                source: source.clone(),
                first_record: (i * size) as u64 + 1,
                ..Default::default()
            };
            for line in chunk {
                let start = block.text.len();
                block.text.extend_from_slice(line);
                block.records.push(start..block.text.len());
                block.text.push(b'\n');
            }
            out.push(block);
        }
        out
    }

    /// Runs `records` through a pool of `workers`: the rows per table, or the error.
    fn run(
        records: Vec<Record>,
        workers: usize,
    ) -> Result<(BTreeMap<&'static str, u64>, Vec<String>), PoolError> {
        let mut pool = TransformPool::new(config(256), workers);
        let mut got = Vec::new();
        let mut sink = |b: Vec<TableBatch>| -> Result<(), PoolError> {
            got.extend(b);
            Ok(())
        };
        for r in records {
            pool.push(r, &mut sink)?;
        }
        pool.finish(&mut sink)?;
        let errors = got
            .iter()
            .filter(|b| b.table == Table::Rejected)
            .flat_map(|b| {
                let col = b.batch.column_by_name("error").unwrap();
                let col = col
                    .as_any()
                    .downcast_ref::<arrow::array::StringArray>()
                    .unwrap();
                col.iter()
                    .map(|e| e.unwrap_or_default().to_owned())
                    .collect::<Vec<_>>()
            })
            .collect();
        Ok((count(&got), errors))
    }

    #[test]
    fn json_lines_blocks_give_the_rows_of_single_records() {
        let mut lines: Vec<Vec<u8>> = records(300).into_iter().map(String::into_bytes).collect();
        // A JSON object without a readable id is a bad conversation, not a bad file.
        lines.insert(
            40,
            br#"{"id":"abc","updated_at":"2026-03-14T18:31:40"}"#.to_vec(),
        );
        let singles = lines
            .iter()
            .map(|l| Record::Json(String::from_utf8(l.clone()).unwrap().into()))
            .collect();
        let (expected, _) = run(singles, 2).unwrap();
        let (got, errors) = run(
            blocks(&lines, 32).into_iter().map(Record::Lines).collect(),
            2,
        )
        .unwrap();
        assert_eq!(got, expected);
        assert_eq!(got.get("_rejected"), Some(&1));
        assert_eq!(errors.len(), 1);
        assert!(errors[0].ends_with("(f.jsonl record 41)"), "{}", errors[0]);
        // Records of array and envelope files carry their origin one by one.
        let located = lines
            .iter()
            .enumerate()
            .map(|(k, l)| Record::JsonAt {
                raw: String::from_utf8(l.clone()).unwrap().into(),
                origin: ltx_model::RecordOrigin {
                    file: "f.json".into(),
                    record: k as u64 + 1,
                },
            })
            .collect();
        let (got, errors) = run(located, 2).unwrap();
        assert_eq!(got, expected);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].ends_with("(f.json record 41)"), "{}", errors[0]);
    }

    #[test]
    fn a_line_that_is_not_a_json_object_stops_the_pool_naming_file_and_record() {
        let good = records(100);
        let mut half = good[7].len() / 2;
        while !good[7].is_char_boundary(half) {
            half -= 1;
        }
        let cut = &good[7][..half];
        // Cut after a field the model rejects: its parse stops there, the cut still counts.
        let misfit_then_cut = br#"{"id": 7, "created_at": "yesterday", "chats": [{"id": 1"#;
        let cases: [(&[u8], &str); 7] = [
            (cut.as_bytes(), "truncated file?"),
            (misfit_then_cut, "truncated file?"),
            (b"{\"id\": \"\xff\"}", "UTF-8"),
            (b"[1, 2]", "JSON object"),
            (b"42", "JSON object"),
            (b"{\"id\": 1} {\"id\": 2}", "trailing characters"),
            (b"{\"id\": 1,}", "key must be a string"),
        ];
        for (bad, expected) in cases {
            let mut lines: Vec<Vec<u8>> = good.iter().map(|l| l.clone().into_bytes()).collect();
            lines.insert(70, bad.to_vec());
            for workers in [1, 2] {
                let records = blocks(&lines, 32).into_iter().map(Record::Lines).collect();
                match run(records, workers) {
                    Err(PoolError::BadRecord {
                        file,
                        record,
                        message,
                    }) => {
                        assert_eq!((file.as_str(), record), ("f.jsonl", 71), "{message}");
                        assert!(message.contains(expected), "{expected}: {message}");
                    }
                    other => panic!("{expected}, {workers}: unexpected {:?}", other.map(|r| r.0)),
                }
            }
        }
    }

    #[test]
    fn a_bad_record_is_reported_even_when_its_worker_is_gone_first() {
        // One worker that stops at the first record, and a caller that only comes back
        // after it is gone (as when the loader is busy flushing): the next push finds no
        // worker left, and must still say why.
        let mut lines: Vec<Vec<u8>> = records(2 * CHUNK_RECORDS as u64)
            .into_iter()
            .map(String::into_bytes)
            .collect();
        lines.insert(0, b"{\"id\": 1".to_vec());
        let mut pool = TransformPool::new(config(256), 1);
        let mut sink = |_: Vec<TableBatch>| -> Result<(), PoolError> { Ok(()) };
        // The first push may already see the error (a fast worker); any push must.
        let mut sleep_once = Some(Duration::from_millis(300));
        let err = blocks(&lines, CHUNK_RECORDS)
            .into_iter()
            .map(|b| {
                let pushed = pool.push(Record::Lines(b), &mut sink);
                if let Some(d) = sleep_once.take() {
                    std::thread::sleep(d);
                }
                pushed
            })
            .find_map(Result::err);
        // A worker slower than the sleep leaves the error to `finish`.
        let err = match err {
            Some(e) => Some(e),
            None => pool.finish(&mut sink).err(),
        };
        assert!(
            matches!(err, Some(PoolError::BadRecord { record: 1, .. })),
            "{err:?}"
        );
    }

    #[test]
    fn a_failing_sink_stops_the_pool_without_hanging() {
        let lines = records(400);
        let mut pool = TransformPool::new(config(64), 2);
        let mut sink = |_: Vec<TableBatch>| -> Result<(), PoolError> {
            Err(PoolError::WorkerPanicked("disk full".into()))
        };
        let mut failed = false;
        for l in &lines {
            if pool
                .push(Record::Json(l.clone().into()), &mut sink)
                .is_err()
            {
                failed = true;
                break;
            }
        }
        if !failed {
            failed = pool.finish(&mut sink).is_err();
        }
        // Dropping the pool after the error must not hang (workers see a closed channel).
        assert!(failed);
    }
}
