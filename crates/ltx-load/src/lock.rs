//! The writer lock: one sync at a time per warehouse.
//!
//! `_ltx/lock` is locked with `File::try_lock` (flock on Unix) for the lifetime of a
//! writable [`Warehouse`](crate::Warehouse). The OS releases it when the process dies, so a
//! crashed sync never leaves a stale lock behind; the pid and start time written inside are
//! only there to tell the user who holds it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{io_err, LoadError, Result};

/// A held writer lock; released on drop.
#[derive(Debug)]
pub(crate) struct WriterLock {
    _file: File,
}

impl WriterLock {
    /// Takes the lock at `path` at once or fails with [`LoadError::Locked`].
    pub(crate) fn acquire(path: &Path, warehouse: &Path) -> Result<Self> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io_err(path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(LoadError::Locked {
                    path: PathBuf::from(warehouse),
                    holder: if holder.is_empty() {
                        "unknown process".to_string()
                    } else {
                        holder.to_string()
                    },
                });
            }
            Err(TryLockError::Error(e)) => return Err(io_err(path)(e)),
        }
        let text = format!(
            "pid {}, started {}",
            std::process::id(),
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
        );
        file.set_len(0).map_err(io_err(path))?;
        file.seek(SeekFrom::Start(0)).map_err(io_err(path))?;
        file.write_all(text.as_bytes()).map_err(io_err(path))?;
        file.flush().map_err(io_err(path))?;
        Ok(Self { _file: file })
    }
}
