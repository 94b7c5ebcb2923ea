//! The blocking half of a run: drains the channel (the API's items, or a file reader's)
//! into the transform pool (one thread per core parses and transforms) and hands the
//! batches it produces to the loader on this thread.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ltx_extract::files::FileItem;
use ltx_extract::Item;
use ltx_load::RunWriter;
use ltx_transform::{Record, TableBatch, TransformConfig, TransformPool, TransformStats};
use tokio::sync::mpsc;

use crate::config::SyncConfig;
use crate::error::{PipelineError, Result};

/// What a run has done so far, for a progress display (see the CLI's progress bar).
#[derive(Debug, Default)]
pub struct Counters {
    /// Conversations handed to the transform.
    pub conversations: AtomicU64,
    /// Rows handed to the loader.
    pub rows: AtomicU64,
}

/// The consuming half's settings.
pub(crate) struct Consumer {
    pub(crate) transform: TransformConfig,
    pub(crate) sync: SyncConfig,
    pub(crate) keep_raw: bool,
    pub(crate) counters: Arc<Counters>,
}

impl Consumer {
    /// Runs [`Consumer::consume`] on a blocking thread.
    pub(crate) fn spawn<T: Into<FileItem> + Send + 'static>(
        self,
        rx: mpsc::Receiver<T>,
        writer: RunWriter,
    ) -> tokio::task::JoinHandle<Result<(RunWriter, TransformStats)>> {
        tokio::task::spawn_blocking(move || self.consume(rx, writer))
    }

    fn consume<T: Into<FileItem>>(
        self,
        mut rx: mpsc::Receiver<T>,
        mut writer: RunWriter,
    ) -> Result<(RunWriter, TransformStats)> {
        let Consumer {
            transform,
            sync,
            keep_raw,
            counters,
        } = self;
        let mut pool = TransformPool::new(transform, sync.workers());
        tracing::debug!(workers = pool.workers(), "transform started");
        let write = |writer: &mut RunWriter, batches: Vec<TableBatch>| -> Result<()> {
            for b in batches {
                if sync.loads(b.table) {
                    counters
                        .rows
                        .fetch_add(b.batch.num_rows() as u64, Ordering::Relaxed);
                    writer.write(b)?;
                }
            }
            Ok(())
        };
        while let Some(item) = rx.blocking_recv() {
            let record = match item.into() {
                FileItem::Record(Item::Conversation(c)) => {
                    if keep_raw {
                        writer.write_raw(c.raw.get())?;
                    }
                    counters.conversations.fetch_add(1, Ordering::Relaxed);
                    match c.origin {
                        Some(origin) => Record::JsonAt {
                            raw: c.raw.into(),
                            origin,
                        },
                        None => Record::Json(c.raw.into()),
                    }
                }
                FileItem::Record(Item::Unreadable(u)) => Record::Unreadable {
                    raw: u.raw.into(),
                    error: format!("{} ({})", u.error, u.origin),
                },
                FileItem::Lines(lines) => {
                    let n = lines.len() as u64;
                    counters.conversations.fetch_add(n, Ordering::Relaxed);
                    Record::Lines(lines)
                }
            };
            pool.push::<PipelineError>(record, &mut |b| write(&mut writer, b))?;
        }
        let stats = pool.finish::<PipelineError>(&mut |b| write(&mut writer, b))?;
        Ok((writer, stats))
    }
}
