//! Staging files are written to disk while the run goes on, not all at its end.
//!
//! The kernel keeps what the encoder writes in the page cache until something syncs it,
//! so the `fsync` of each staging file at the commit wrote the whole run's data at once
//! while the cores sat idle waiting for it. After each row group the encoder
//! asks this thread to `fdatasync` the file, so the final `fsync` finds little left to
//! write. A request is only an early start: if the thread is busy it is dropped, and an
//! error here is ignored, because the staging file's own `fsync` before the commit is what
//! makes it durable and reports a failure.

use std::fs::File;
use std::sync::mpsc::{self, SyncSender, TrySendError};

/// Requests waiting at most (one per file is enough; more are dropped).
const QUEUE: usize = 16;

/// Sends files to the writeback thread; cheap to clone. The thread ends when every clone
/// is dropped.
#[derive(Clone)]
pub(crate) struct Writeback {
    tx: Option<SyncSender<File>>,
}

impl Writeback {
    /// Starts the writeback thread (without one, requests do nothing).
    pub(crate) fn start() -> Self {
        let (tx, rx) = mpsc::sync_channel::<File>(QUEUE);
        let spawned = std::thread::Builder::new()
            .name("ltx-writeback".into())
            .spawn(move || {
                for file in rx {
                    let _ = file.sync_data(); // see the module docs
                }
            });
        match spawned {
            Ok(_) => Self { tx: Some(tx) },
            Err(e) => {
                tracing::debug!(error = %e, "no writeback thread: staging files sync at the commit only");
                Self { tx: None }
            }
        }
    }

    /// Asks for `file`'s written data to go to disk soon.
    pub(crate) fn request(&self, file: &File) {
        let Some(tx) = &self.tx else { return };
        let Ok(clone) = file.try_clone() else { return };
        match tx.try_send(clone) {
            Ok(()) | Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {}
        }
    }
}
