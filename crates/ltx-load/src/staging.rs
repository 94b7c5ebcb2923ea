//! Staging: a run's batches are streamed into Parquet files under `_ltx/tmp/<run_id>/`
//! (one `ArrowWriter` per (table, partition) at a time); at the end the conversation ids and
//! versions of the run are read back from the staged `conversations` files for the merge.
//!
//! At most [`crate::LoadOptions::max_open_staging_files`] files are open at once: before
//! opening another, the least recently written file is finished early on a thread of its
//! own, and later rows of its (table, partition) go to a new file (see the `open_files`
//! module). A partition may so have several staged files; nothing downstream assumes one.
//!
//! A writer's unfinished row group is kept as the Arrow batches the transform produced
//! (no copy) and handed to its `ArrowWriter` only when the row group is written out, so
//! column encoders (a zstd context, dictionary and page buffers per column, ~128 KiB each)
//! exist for one row group at a time instead of for every open one. Feeding the writer
//! batch by batch kept them alive for all open groups: counted in the budget they left
//! room for small row groups only, and the loader thread spent its time re-creating
//! encoders and compressing small pages.
//! A full row group is written out by the encoding thread, not the loader's (see the
//! `encoder` module); at the end the files are closed on [`CLOSERS`] threads, a large
//! last row group's columns encoded on one thread per core (the `by_columns` module).
//!
//! Memory stays bounded whatever the run size:
//! * each writer buffers at most one row group, and only [`MAX_OPEN_GROUPS`] writers may
//!   hold one at a time: the least recently written is flushed (input sorted by time
//!   leaves the writers of past months idle; their half-filled row groups would otherwise
//!   stay in memory until the commit);
//! * when the buffered batches together exceed the staging budget the largest groups are
//!   written early (a smaller row group is a far better trade than an out-of-memory kill);
//! * nothing per conversation is kept while writing: the run's versions are read back
//!   from the staged files after the writers are closed, into a sorted vector
//!   ([`RunConversations`], 16 bytes per conversation), so the writers' memory and the
//!   versions' never add up.

use std::collections::HashMap;
use std::fs::File;
use std::path::PathBuf;

use arrow::array::{Array, RecordBatch};
use ltx_transform::{Table, TableBatch};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

use crate::by_columns;
use crate::columns::{
    conversation_column, i64_column, min_max, open_reader, ts_column, widen, VERSION_COLUMN,
};
use crate::crash::CrashHook;
use crate::encoder::{Encoder, Key};
use crate::error::{arrow_err, io_err, pq_err, LoadError, Result};
use crate::layout::validate_partition;
use crate::open_files::Closer;

/// The conversations of a run and their newest version, sorted by id (16 bytes each;
/// a hash map took ~35 bytes per conversation, and twice that while it grew).
#[derive(Debug, Default)]
pub(crate) struct RunConversations {
    /// (conversation id, newest `_source_updated_at` µs in the run), sorted, ids unique.
    versions: Vec<(i64, i64)>,
    /// Ids that occur more than once in the run, sorted.
    duplicates: Vec<i64>,
}

impl RunConversations {
    /// From (id, version) pairs in any order and with repeats.
    pub(crate) fn from_pairs(mut pairs: Vec<(i64, i64)>) -> Self {
        pairs.sort_unstable();
        let mut duplicates = Vec::new();
        let mut out = 0usize;
        for i in 0..pairs.len() {
            let (id, ts) = pairs[i];
            if out > 0 && pairs[out - 1].0 == id {
                // Sorted by (id, ts): the later pair is the newer version.
                pairs[out - 1].1 = ts;
                if duplicates.last() != Some(&id) {
                    duplicates.push(id);
                }
            } else {
                pairs[out] = (id, ts);
                out += 1;
            }
        }
        pairs.truncate(out);
        pairs.shrink_to_fit();
        Self {
            versions: pairs,
            duplicates,
        }
    }

    /// Distinct conversations.
    pub(crate) fn len(&self) -> usize {
        self.versions.len()
    }

    /// The newest version of `id` in the run.
    pub(crate) fn get(&self, id: i64) -> Option<i64> {
        self.index_of(id).map(|i| self.versions[i].1)
    }

    /// Position of `id` in [`RunConversations::iter`] order.
    pub(crate) fn index_of(&self, id: i64) -> Option<usize> {
        self.versions.binary_search_by_key(&id, |v| v.0).ok()
    }

    /// (id, version) by ascending id.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.versions.iter().copied()
    }

    /// True when some id lies in `min..=max`.
    pub(crate) fn any_in(&self, min: Option<i64>, max: Option<i64>) -> bool {
        let (Some(min), Some(max)) = (min, max) else {
            return false;
        };
        let i = self.versions.partition_point(|v| v.0 < min);
        self.versions.get(i).is_some_and(|v| v.0 <= max)
    }

    /// Ids that occur more than once in the run, sorted.
    pub(crate) fn duplicates(&self) -> &[i64] {
        &self.duplicates
    }

    /// Whether `id` occurs more than once in the run.
    pub(crate) fn is_duplicate(&self, id: i64) -> bool {
        self.duplicates.binary_search(&id).is_ok()
    }
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
    /// `None` while a row group of this file is with the [`Encoder`].
    writer: Option<ArrowWriter<File>>,
    rows: u64,
    range: (Option<i64>, Option<i64>),
    /// Write tick of the last batch (for the least-recently-written flush).
    last_write: u64,
    /// Batches of the unfinished row group, not yet handed to the writer.
    pending: Vec<RecordBatch>,
    /// Rows in `pending`.
    pending_rows: usize,
    /// Memory of `pending` (Arrow buffers).
    pending_bytes: usize,
}

impl OpenFile {
    /// Whether an unfinished row group is buffered.
    fn has_group(&self) -> bool {
        self.pending_rows > 0
    }

    /// Memory of the unfinished row group: its Arrow batches (the writer holds no encoder
    /// between row groups).
    fn memory(&self) -> usize {
        self.pending_bytes
    }

    /// Buffers a batch (full row groups are handed to the encoder by the caller).
    fn push(&mut self, batch: RecordBatch) {
        self.pending_rows += batch.num_rows();
        self.pending_bytes += batch.get_array_memory_size();
        self.pending.push(batch);
    }

    /// Writes out what is buffered, finishes the file and syncs it to disk. The caller
    /// took the writer back from the encoder.
    fn close(mut self, group_rows: usize) -> Result<StagedFile> {
        let writer = self.writer.take().ok_or_else(|| {
            LoadError::Encoder(format!(
                "{} closed while its row group was being written",
                self.path.display()
            ))
        })?;
        // Column by column, on one thread per core for a large group: this is the run's
        // tail, where the other cores may have nothing left to do (see `by_columns`).
        let (mut file, factory) = writer
            .into_serialized_writer()
            .map_err(pq_err(&self.path))?;
        while self.pending_rows > 0 {
            let (group, _) = self.take_group(group_rows);
            let rows = group.iter().map(RecordBatch::num_rows).sum();
            let threads = by_columns::threads_for(rows);
            by_columns::write_group(&mut file, &factory, &group, threads, &self.path)?;
        }
        file.finish().map_err(pq_err(&self.path))?;
        file.inner().sync_all().map_err(io_err(&self.path))?;
        Ok(StagedFile {
            table: self.table,
            partition: self.partition,
            path: self.path,
            rows: self.rows,
            min: self.range.0,
            max: self.range.1,
        })
    }

    /// Takes the first `group_rows` buffered rows (or all, if fewer) as one row group's
    /// batches (slices, no copy), with their memory.
    fn take_group(&mut self, group_rows: usize) -> (Vec<RecordBatch>, usize) {
        let mut need = group_rows.min(self.pending_rows);
        let mut group = Vec::new();
        let mut rest = Vec::new();
        for b in std::mem::take(&mut self.pending) {
            if need == 0 {
                rest.push(b);
            } else if b.num_rows() <= need {
                need -= b.num_rows();
                group.push(b);
            } else {
                group.push(b.slice(0, need));
                rest.push(b.slice(need, b.num_rows() - need));
                need = 0;
            }
        }
        let bytes = self.pending_bytes;
        self.pending_rows = rest.iter().map(RecordBatch::num_rows).sum();
        self.pending_bytes = rest.iter().map(RecordBatch::get_array_memory_size).sum();
        self.pending = rest;
        (group, bytes - self.pending_bytes.min(bytes))
    }
}

/// Writers that may hold an unfinished row group at once (one month of every table, plus
/// the next month's while the input crosses a month boundary).
pub(crate) const MAX_OPEN_GROUPS: usize = 16;

/// All open staging writers of a run.
pub(crate) struct Staging {
    dir: PathBuf,
    props: WriterProperties,
    /// Rows per row group (from `props`).
    group_rows: usize,
    memory_budget: usize,
    writers: HashMap<Key, OpenFile>,
    /// Encodes full row groups on its own thread.
    encoder: Encoder,
    next_file: usize,
    tick: u64,
    /// The run's conversations, known once [`Staging::finish`] ran.
    pub convs: RunConversations,
    /// Rows received per table.
    pub rows_in: HashMap<&'static str, u64>,
    crash: CrashHook,
    wrote_any: bool,
    /// Staging files open at once at most ([`crate::LoadOptions::max_open_staging_files`]).
    max_open: usize,
    /// A staging file this large is finished ([`crate::LoadOptions::target_file_bytes`]).
    max_file_bytes: u64,
    /// Finishes the files let go of to stay within `max_open`.
    closer: Closer<StagedFile>,
}

impl Staging {
    pub(crate) fn new(
        dir: PathBuf,
        props: WriterProperties,
        memory_budget: usize,
        max_open: usize,
        max_file_bytes: u64,
        crash: CrashHook,
    ) -> Self {
        let group_rows = props.max_row_group_row_count().unwrap_or(1 << 20).max(1);
        Self {
            dir,
            props,
            group_rows,
            memory_budget,
            writers: HashMap::new(),
            encoder: Encoder::new(),
            next_file: 0,
            tick: 0,
            convs: RunConversations::default(),
            rows_in: HashMap::new(),
            crash,
            wrote_any: false,
            // At least the file being written.
            max_open: max_open.max(1),
            max_file_bytes: max_file_bytes.max(1),
            closer: Closer::new(),
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
        validate_partition(&partition)?;
        check_schema(table, &partition, &batch)?;
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let range = match conversation_column(table) {
            Some(col) => min_max(i64_column(&batch, col, name)?),
            None => (None, None),
        };
        self.tick += 1;
        let key: Key = (name, partition);
        self.limit_file_size(&key)?;
        if !self.writers.contains_key(&key) {
            self.limit_open_files()?;
        }
        let opens_group = !self.writers.get(&key).is_some_and(OpenFile::has_group);
        if opens_group {
            self.limit_open_groups()?;
        }
        let open = match self.writers.entry(key.clone()) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                self.next_file += 1;
                let partition = v.key().1.clone();
                // One flat directory: the partition's `/` (after the account) becomes `_`.
                let path = self.dir.join(format!(
                    "stage-{:05}-{name}-{}.parquet",
                    self.next_file,
                    partition.replace('/', "_")
                ));
                std::fs::create_dir_all(&self.dir).map_err(io_err(&self.dir))?;
                let file = File::create(&path).map_err(io_err(&path))?;
                let writer = ArrowWriter::try_new(file, table.schema(), Some(self.props.clone()))
                    .map_err(pq_err(&path))?;
                v.insert(OpenFile {
                    table,
                    partition,
                    path,
                    writer: Some(writer),
                    rows: 0,
                    range: (None, None),
                    last_write: 0,
                    pending: Vec::new(),
                    pending_rows: 0,
                    pending_bytes: 0,
                })
            }
        };
        let rows = batch.num_rows();
        open.push(batch);
        open.rows += rows as u64;
        open.range = widen(open.range, range);
        open.last_write = self.tick;
        let group_rows = self.group_rows;
        while self
            .writers
            .get(&key)
            .is_some_and(|w| w.pending_rows >= group_rows)
        {
            self.write_group(&key)?;
        }
        *self.rows_in.entry(name).or_default() += rows as u64;
        self.enforce_budget()?;
        if !self.wrote_any {
            self.wrote_any = true;
            self.crash.check("staging.after_first_write")?;
        }
        Ok(())
    }

    /// Finishes the file of `key` once its written row groups reach
    /// [`Staging::max_file_bytes`]: later rows of its (table, partition) go to a new file,
    /// so that no data file (and no later rewrite of one) is much larger than that.
    fn limit_file_size(&mut self, key: &Key) -> Result<()> {
        let full = self.writers.get(key).is_some_and(|w| {
            w.writer
                .as_ref()
                .is_some_and(|wr| wr.bytes_written() as u64 >= self.max_file_bytes)
        });
        if !full {
            return Ok(());
        }
        if let Some(file) = self.writers.remove(key) {
            tracing::debug!(table = key.0, partition = %key.1, rows = file.rows, "staging file finished: size bound reached");
            let group_rows = self.group_rows;
            self.closer.submit(move || file.close(group_rows))?;
        }
        Ok(())
    }

    /// Before a file is opened: finishes the least recently written open files so that at
    /// most [`Staging::max_open`] are open afterwards. Their rows stay in the run; the
    /// file is finished on the [`Closer`]'s thread.
    fn limit_open_files(&mut self) -> Result<()> {
        while self.writers.len() >= self.max_open {
            let Some(key) = self
                .writers
                .iter()
                .min_by_key(|(_, w)| w.last_write)
                .map(|(k, _)| k.clone())
            else {
                return Ok(());
            };
            // Its writer may be with the encoder.
            while self.writers.get(&key).is_some_and(|w| w.writer.is_none()) {
                self.take_back()?;
            }
            let Some(file) = self.writers.remove(&key) else {
                return Ok(());
            };
            tracing::debug!(
                table = key.0,
                partition = %key.1,
                rows = file.rows,
                open = self.writers.len(),
                "staging file finished early: too many open files"
            );
            let group_rows = self.group_rows;
            self.closer.submit(move || file.close(group_rows))?;
        }
        Ok(())
    }

    /// Before a writer opens a row group: flushes the least recently written open groups
    /// so that at most [`MAX_OPEN_GROUPS`] exist afterwards.
    fn limit_open_groups(&mut self) -> Result<()> {
        let mut open: Vec<(u64, Key)> = self
            .writers
            .iter()
            .filter(|(_, w)| w.has_group())
            .map(|(k, w)| (w.last_write, k.clone()))
            .collect();
        if open.len() < MAX_OPEN_GROUPS {
            return Ok(());
        }
        open.sort_unstable_by_key(|(tick, _)| *tick);
        let excess = open.len() + 1 - MAX_OPEN_GROUPS;
        for (_, key) in open.into_iter().take(excess) {
            self.flush(&key)?;
        }
        Ok(())
    }

    /// Hands everything buffered for the file `key` to the encoder.
    fn flush(&mut self, key: &Key) -> Result<()> {
        while self.writers.get(key).is_some_and(OpenFile::has_group) {
            self.write_group(key)?;
        }
        Ok(())
    }

    /// Hands the next row group of the file `key` to the encoder, once its writer is back
    /// and the encoder has room.
    fn write_group(&mut self, key: &Key) -> Result<()> {
        while self.writers.get(key).is_some_and(|w| w.writer.is_none()) || !self.encoder.has_room()
        {
            self.take_back()?;
        }
        let Some(w) = self.writers.get_mut(key) else {
            return Ok(());
        };
        let (group, bytes) = w.take_group(self.group_rows);
        let Some(writer) = w.writer.take() else {
            return Ok(()); // unreachable: the loop above took it back
        };
        self.encoder
            .submit(key.clone(), w.path.clone(), writer, group, bytes)
    }

    /// Waits for the oldest row group with the encoder and gives its file its writer back.
    fn take_back(&mut self) -> Result<()> {
        let done = self.encoder.wait()?;
        if let Some(w) = self.writers.get_mut(&done.key) {
            w.writer = Some(done.writer);
        }
        done.result
    }

    /// Writes out the biggest buffered row groups until they fit in half the budget.
    ///
    /// Measured as the Arrow memory of the buffered batches and of the row groups with the
    /// encoder: encoders exist only while a row group is written out (see the module docs).
    /// Groups with the encoder free their memory once written, so they are waited for
    /// first: flushing buffered groups early instead would only make row groups smaller.
    fn enforce_budget(&mut self) -> Result<()> {
        let buffered = |s: &Self| s.writers.values().map(OpenFile::memory).sum::<usize>();
        while self.encoder.in_flight() > 0
            && buffered(self) + self.encoder.in_flight_bytes() > self.memory_budget
        {
            self.take_back()?;
        }
        let total = buffered(self);
        if total <= self.memory_budget {
            return Ok(());
        }
        let mut sizes: Vec<(usize, Key)> = self
            .writers
            .iter()
            .map(|(k, w)| (w.memory(), k.clone()))
            .filter(|(size, _)| *size > 0)
            .collect();
        sizes.sort_by_key(|s| std::cmp::Reverse(s.0));
        let mut remaining = total;
        for (size, key) in sizes {
            if remaining <= self.memory_budget / 2 {
                break;
            }
            self.flush(&key)?;
            remaining = remaining.saturating_sub(size);
        }
        Ok(())
    }

    /// Closes and fsyncs every staging file, then reads the run's conversation versions
    /// back from the staged `conversations` files. The files come sorted by table,
    /// partition and path (the order they were opened in, within a partition).
    pub(crate) fn finish(&mut self) -> Result<Vec<StagedFile>> {
        let mut open: Vec<OpenFile> = self.writers.drain().map(|(_, v)| v).collect();
        open.sort_by(|a, b| (a.table.name(), &a.partition).cmp(&(b.table.name(), &b.partition)));
        let early = self.closer.count();
        if early > 0 {
            tracing::info!(
                files = early,
                budget = self.max_open,
                "staging files finished early to bound open files"
            );
        }
        let mut out = self.closer.finish()?;
        for _ in &out {
            self.crash.check("staging.after_file")?;
        }
        out.reserve(open.len());
        for closed in close_all(open, self.group_rows, &mut self.encoder)? {
            out.push(closed?);
            self.crash.check("staging.after_file")?;
        }
        out.sort_by(|a, b| {
            (a.table.name(), &a.partition, &a.path).cmp(&(b.table.name(), &b.partition, &b.path))
        });
        self.convs = read_versions(&out)?;
        Ok(out)
    }
}

/// Files closed at once at the end of a run (see [`close_all`]).
const CLOSERS: usize = 8;

/// Closes every file (its last row groups encoded, the footer written, the file synced),
/// on [`CLOSERS`] threads: this is the serial tail of a run, and a file's encoding (CPU)
/// overlaps another's `fsync` (disk) and the encoder's last row groups: a file whose
/// writer is with the encoder is closed once it comes back. Results come back in the
/// order of `open`; the outer error is the encoder's.
fn close_all(
    open: Vec<OpenFile>,
    group_rows: usize,
    encoder: &mut Encoder,
) -> Result<Vec<Result<StagedFile>>> {
    // More closers than cores: once its last row group is encoded a closer mostly waits
    // for its file's `fsync` (10-30 ms each for the large files here), and with one closer
    // per core those waits ran one after another at the end of every run.
    let threads = CLOSERS.min(open.len());
    let count = open.len();
    let (queue_tx, queue_rx) = std::sync::mpsc::channel::<(usize, OpenFile)>();
    let queue = std::sync::Mutex::new(queue_rx);
    let done = std::sync::Mutex::new(Vec::with_capacity(count));
    let mut with_encoder = HashMap::new();
    for (i, f) in open.into_iter().enumerate() {
        if f.writer.is_some() {
            // Cannot fail: the receiver lives until the end of this function.
            let _ = queue_tx.send((i, f));
        } else {
            with_encoder.insert((f.table.name(), f.partition.clone()), (i, f));
        }
    }
    let encoder_result = std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                // A poisoned lock means another closer panicked: the scope re-raises it.
                let next = queue.lock().ok().and_then(|q| q.recv().ok());
                let Some((i, f)) = next else {
                    return;
                };
                let closed = f.close(group_rows);
                if let Ok(mut d) = done.lock() {
                    d.push((i, closed));
                }
            });
        }
        // Each file has at most one row group with the encoder.
        let mut result = Ok(());
        while encoder.in_flight() > 0 {
            let back = match encoder.wait() {
                Ok(back) => back,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            };
            if let Err(e) = back.result {
                result = Err(e);
                break;
            }
            if let Some((i, mut f)) = with_encoder.remove(&back.key) {
                f.writer = Some(back.writer);
                let _ = queue_tx.send((i, f));
            }
        }
        drop(queue_tx); // the closers end when the queue is empty
        if let Some((_, f)) = with_encoder.values().next().filter(|_| result.is_ok()) {
            // Not expected: the file's writer never came back, so it cannot be finished.
            result = Err(LoadError::Encoder(format!(
                "{} was not handed back",
                f.path.display()
            )));
        }
        result
    });
    encoder_result?;
    let mut done = done.into_inner().unwrap_or_else(|e| e.into_inner());
    done.sort_by_key(|(i, _)| *i);
    Ok(done.into_iter().map(|(_, closed)| closed).collect())
}

/// (conversation id, version) of every row of the staged `conversations` files.
fn read_versions(staged: &[StagedFile]) -> Result<RunConversations> {
    let files: Vec<&StagedFile> = staged
        .iter()
        .filter(|f| f.table == Table::Conversations)
        .collect();
    let rows: u64 = files.iter().map(|f| f.rows).sum();
    let mut pairs = Vec::with_capacity(usize::try_from(rows).unwrap_or(0));
    let name = Table::Conversations.name();
    for f in files {
        let reader = open_reader(&f.path, Some(&["conversation_id", VERSION_COLUMN]))?;
        for batch in reader {
            let batch = batch.map_err(arrow_err(name))?;
            let ids = i64_column(&batch, "conversation_id", name)?;
            let ts = ts_column(&batch, VERSION_COLUMN, name)?;
            for i in 0..ids.len() {
                if ids.is_null(i) {
                    continue;
                }
                let t = if ts.is_null(i) { i64::MIN } else { ts.value(i) };
                pairs.push((ids.value(i), t));
            }
        }
    }
    Ok(RunConversations::from_pairs(pairs))
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::encoding::writer_props;

    #[test]
    fn run_conversations_keep_the_newest_version_and_flag_repeats() {
        let c =
            RunConversations::from_pairs(vec![(5, 10), (3, 7), (5, 30), (9, 1), (5, 20), (3, 7)]);
        assert_eq!(c.iter().collect::<Vec<_>>(), [(3, 7), (5, 30), (9, 1)]);
        assert_eq!(c.duplicates(), [3, 5]);
        assert_eq!(c.len(), 3);
        assert_eq!(c.get(5), Some(30));
        assert_eq!(c.get(4), None);
        assert_eq!(c.index_of(9), Some(2));
        assert!(c.is_duplicate(3) && !c.is_duplicate(9));
        assert!(c.any_in(Some(4), Some(5)));
        assert!(!c.any_in(Some(6), Some(8)));
        assert!(!c.any_in(None, Some(8)));
    }

    /// A staging in `dir` and the batches of `n` simulator conversations.
    fn staging_and_batches(
        dir: &std::path::Path,
        group_rows: usize,
        budget: usize,
        n: u64,
    ) -> (Staging, Vec<TableBatch>, ltx_transform::TransformStats) {
        staging_with_open_files(dir, group_rows, budget, n, crate::open_files::MAX_BUDGET)
    }

    /// [`staging_and_batches`] keeping at most `max_open` files open.
    fn staging_with_open_files(
        dir: &std::path::Path,
        group_rows: usize,
        budget: usize,
        n: u64,
        max_open: usize,
    ) -> (Staging, Vec<TableBatch>, ltx_transform::TransformStats) {
        let s = Staging::new(
            dir.to_path_buf(),
            writer_props(group_rows, 1),
            budget,
            max_open,
            u64::MAX,
            CrashHook::disabled(),
        );
        let mut t = ltx_transform::Transformer::new(ltx_transform::TransformConfig::new(
            "run",
            chrono::Utc::now(),
        ));
        for line in ltx_sim::jsonl_lines(&ltx_sim::SimConfig::default(), n).unwrap() {
            t.push_json(&line);
        }
        let (batches, stats) = t.finish();
        (s, batches, stats)
    }

    #[test]
    fn only_a_bounded_number_of_row_groups_stay_open() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, batches, stats) = staging_and_batches(dir.path(), 1 << 20, usize::MAX, 300);
        let tables: std::collections::HashSet<_> = batches
            .iter()
            .map(|b| (b.table, b.partition.clone()))
            .collect();
        assert!(
            tables.len() > MAX_OPEN_GROUPS,
            "test needs more writers than the cap"
        );
        for b in batches {
            s.write(b).unwrap();
            let open = s.writers.values().filter(|w| w.has_group()).count();
            assert!(open <= MAX_OPEN_GROUPS);
        }
        let staged = s.finish().unwrap();
        let rows: u64 = staged
            .iter()
            .filter(|f| f.table == Table::Conversations)
            .map(|f| f.rows)
            .sum();
        assert_eq!(rows, stats.conversations);
        assert_eq!(s.convs.len() as u64, stats.conversations);
    }

    /// Small row groups and a small budget: many groups with the encoder, some at the end
    /// of the run; every row reaches the staged files, in order within each file.
    #[test]
    fn every_row_reaches_the_files_through_the_encoder() {
        let (groups, _) = every_row_is_staged_in_order(97, 256 << 10, 400, 64, false);
        assert!(
            groups.len() > 100,
            "the test needs many row groups, got {}",
            groups.len()
        );
    }

    /// One unlimited row group per file: all of it is written when the files close, the
    /// large ones column by column on several threads (`by_columns`).
    #[test]
    fn every_row_reaches_the_files_written_by_columns_at_the_close() {
        let (groups, _) = every_row_is_staged_in_order(1 << 20, usize::MAX, 800, 64, false);
        assert!(
            groups
                .iter()
                .any(|rows| *rows >= crate::by_columns::MIN_ROWS as i64),
            "the test needs a closing group of at least {} rows, got {groups:?}",
            crate::by_columns::MIN_ROWS
        );
    }

    /// Three open files for the ~36 (table, month) of the input, each written in two halves
    /// (all first halves first): files are finished early (with row groups still with the
    /// encoder, and with rows buffered), every partition gets a second file, and every row
    /// is staged once, in order.
    #[test]
    fn a_bounded_number_of_files_stay_open_and_every_row_is_staged() {
        let (_, files) = every_row_is_staged_in_order(97, 256 << 10, 400, 3, true);
        let partitions: std::collections::HashSet<_> = files
            .iter()
            .map(|f| (f.table, f.partition.clone()))
            .collect();
        assert!(
            files.len() >= 2 * partitions.len() - 3,
            "the test needs partitions with several files: {} files, {} partitions",
            files.len(),
            partitions.len()
        );
    }

    /// Stages `n` simulator conversations with at most `max_open` files open and checks
    /// each partition's conversation ids against the transform's output, in order; returns
    /// the rows of every row group and the staged files. `revisit`: each batch is written
    /// in two halves, all first halves before any second one.
    fn every_row_is_staged_in_order(
        group_rows: usize,
        budget: usize,
        n: u64,
        max_open: usize,
        revisit: bool,
    ) -> (Vec<i64>, Vec<StagedFile>) {
        type Ids = std::collections::BTreeMap<(&'static str, String), Vec<i64>>;
        fn add(ids: &mut Ids, table: Table, partition: &str, batch: &RecordBatch) {
            if let Some(col) = conversation_column(table) {
                let col = i64_column(batch, col, table.name()).unwrap();
                ids.entry((table.name(), partition.to_owned()))
                    .or_default()
                    .extend(col.iter().map(Option::unwrap_or_default));
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let (mut s, batches, stats) =
            staging_with_open_files(dir.path(), group_rows, budget, n, max_open);
        let batches = if revisit {
            let halves = |first: bool| {
                batches.iter().map(move |b| {
                    let half = b.batch.num_rows() / 2;
                    let (offset, len) = if first {
                        (0, half)
                    } else {
                        (half, b.batch.num_rows() - half)
                    };
                    TableBatch {
                        table: b.table,
                        partition: b.partition.clone(),
                        batch: b.batch.slice(offset, len),
                    }
                })
            };
            halves(true).chain(halves(false)).collect()
        } else {
            batches
        };
        let mut want = Ids::new();
        for b in &batches {
            add(&mut want, b.table, &b.partition, &b.batch);
        }
        for b in batches {
            s.write(b).unwrap();
            assert!(s.encoder.in_flight() <= crate::encoder::max_in_flight());
            assert!(s.writers.len() <= max_open);
        }
        let staged = s.finish().unwrap();
        assert_eq!(s.convs.len() as u64, stats.conversations);
        let mut got = Ids::new();
        let mut groups = Vec::new();
        for f in &staged {
            let r = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                File::open(&f.path).unwrap(),
            )
            .unwrap();
            groups.extend(r.metadata().row_groups().iter().map(|g| g.num_rows()));
            for b in r.build().unwrap() {
                add(&mut got, f.table, &f.partition, &b.unwrap());
            }
        }
        assert_eq!(got, want);
        (groups, staged)
    }
}
