//! Bounded open files: how many staging files a run keeps open, and the threads that
//! finish the ones it lets go of.
//!
//! A run used to keep one open staging file per (table, month) until its commit: an import
//! of 12 years of history (14 tables × 144 months) failed with "Too many open files" under
//! `ulimit -n 256`. The staging now keeps at most [`budget`] files open; to open another it
//! finishes the least recently written one early (its last row group, footer and `fsync`),
//! and rows of that (table, month) arriving later go to a new staging file. A partition may
//! so get several files in one run, which the commit handles as it handles the files of
//! several runs. Input sorted by time (an export, a sync's windows) leaves the files of past
//! months idle, so in practice a file is finished early once, when its month is over.
//!
//! Finishing a file costs an `fsync` (10–30 ms for a large file), so it is done on threads
//! of their own ([`Closer`]) instead of holding up the loader thread, which feeds the
//! transform workers: an input sorted by time finishes a month's ~14 files at once when the
//! next month starts. At most [`CLOSE_QUEUE`] files wait for them, which bounds the files
//! they hold open too ([`CLOSE_QUEUE`] + [`CLOSE_THREADS`]).

use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::error::{LoadError, Result};

/// Staging files kept open when the limit cannot be read, and at most in any case: the
/// files of four months of every table (a sync's window and its lookback). More open
/// files would only be idle ones of months the input has left.
pub(crate) const MAX_BUDGET: usize = 64;

/// Staging files kept open at least, even under a very low limit: the writers that may
/// hold an unfinished row group (see `staging::MAX_OPEN_GROUPS`).
pub(crate) const MIN_BUDGET: usize = 16;

/// Staging files a run keeps open at once: a quarter of the process's soft limit on open
/// files, within [[`MIN_BUDGET`], [`MAX_BUDGET`]]. The other three quarters are for the
/// rest of the process: the writeback thread's file handles (up to 17), files waiting for
/// the [`Closer`], the input file, HTTP connections, the lock, and DuckDB building the
/// catalog at the commit. Under `ulimit -n 256` that is 64.
pub(crate) fn budget() -> usize {
    budget_for(soft_limit())
}

/// [`budget`] for a soft limit (`None`: unknown or unlimited).
fn budget_for(limit: Option<u64>) -> usize {
    match limit {
        Some(n) => usize::try_from(n / 4)
            .unwrap_or(MAX_BUDGET)
            .clamp(MIN_BUDGET, MAX_BUDGET),
        None => MAX_BUDGET,
    }
}

/// The soft `RLIMIT_NOFILE` of this process, from `/proc/self/limits` (Linux; reading it
/// with `getrlimit` would need `unsafe`, which this workspace forbids). `None` elsewhere,
/// when unlimited, or when the file cannot be read.
fn soft_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_soft_limit(&text)
}

/// The soft limit of the "Max open files" line of a `/proc/<pid>/limits` text.
fn parse_soft_limit(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Files waiting for the [`Closer`] at most: the loader waits when it is this far behind.
pub(crate) const CLOSE_QUEUE: usize = 4;

/// Threads of the [`Closer`]. More than cores, as for the files closed at the end of a run
/// (`staging::CLOSERS`): a closing thread mostly waits for its file's `fsync`.
pub(crate) const CLOSE_THREADS: usize = 4;

/// A job of the [`Closer`]: finishes one file.
type Job<T> = Box<dyn FnOnce() -> Result<T> + Send>;

/// Runs file-finishing jobs on [`CLOSE_THREADS`] threads, started with the first job (a
/// run that never exceeds its budget starts none); see the module docs.
pub(crate) struct Closer<T> {
    /// Where jobs go; `None` before the first job, or when no thread could be started
    /// (then jobs run on the caller's thread).
    jobs: Option<SyncSender<Job<T>>>,
    /// Results; `None` until the threads are started.
    done: Option<Receiver<Result<T>>>,
    threads: Vec<JoinHandle<()>>,
    /// Whether starting the threads was tried.
    started: bool,
    /// Jobs handed over and not yet collected.
    pending: usize,
    /// Results collected while handing over jobs.
    finished: Vec<T>,
}

impl<T: Send + 'static> Closer<T> {
    /// A closer with no thread yet.
    pub(crate) fn new() -> Self {
        Self {
            jobs: None,
            done: None,
            threads: Vec::new(),
            started: false,
            pending: 0,
            finished: Vec::new(),
        }
    }

    /// Starts the threads (without any, jobs run on the caller's thread).
    fn start(&mut self) {
        self.started = true;
        let (job_tx, job_rx) = mpsc::sync_channel::<Job<T>>(CLOSE_QUEUE);
        let (done_tx, done_rx) = mpsc::channel();
        let job_rx = Arc::new(Mutex::new(job_rx));
        for i in 0..CLOSE_THREADS {
            let (job_rx, done_tx) = (Arc::clone(&job_rx), done_tx.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("ltx-close-{i}"))
                .spawn(move || loop {
                    // The lock is held only while waiting for the next job.
                    let job = match job_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(poisoned) => poisoned.into_inner().recv(),
                    };
                    let Ok(job) = job else { return }; // the staging is done or dropped
                    if done_tx.send(job()).is_err() {
                        return; // the staging was dropped: nobody waits for it
                    }
                });
            match spawned {
                Ok(h) => self.threads.push(h),
                Err(e) => {
                    tracing::warn!(error = %e, "could not start a thread to finish staging files");
                    break;
                }
            }
        }
        if self.threads.is_empty() {
            tracing::warn!(
                "no thread to finish staging files: finishing them on the loader thread"
            );
            return;
        }
        self.jobs = Some(job_tx);
        self.done = Some(done_rx);
    }

    /// Hands a job over (waits while [`CLOSE_QUEUE`] jobs are waiting). Fails with the
    /// error of a job that already failed, so a full disk stops the run now, not at its end.
    pub(crate) fn submit(
        &mut self,
        job: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<()> {
        if !self.started {
            self.start();
        }
        self.collect_ready()?;
        let Some(jobs) = &self.jobs else {
            self.finished.push(job()?);
            return Ok(());
        };
        jobs.send(Box::new(job)).map_err(|_| self.stopped())?;
        self.pending += 1;
        Ok(())
    }

    /// Takes the results of the jobs done so far; the first error is returned.
    fn collect_ready(&mut self) -> Result<()> {
        let Some(done) = &self.done else {
            return Ok(());
        };
        while let Ok(r) = done.try_recv() {
            self.pending -= 1;
            self.finished.push(r?);
        }
        Ok(())
    }

    /// Waits for every job and returns their results (in the order they finished).
    pub(crate) fn finish(&mut self) -> Result<Vec<T>> {
        while self.pending > 0 {
            let r = match &self.done {
                Some(done) => done.recv().map_err(|_| self.stopped())?,
                None => break, // unreachable: jobs are pending only with threads
            };
            self.pending -= 1;
            self.finished.push(r?);
        }
        Ok(std::mem::take(&mut self.finished))
    }

    /// Jobs finished or handed over so far.
    pub(crate) fn count(&self) -> usize {
        self.finished.len() + self.pending
    }

    /// The threads are gone while jobs were expected: a job panicked (a bug).
    fn stopped(&mut self) -> LoadError {
        self.jobs = None;
        LoadError::Encoder(crate::encoder::join_all(
            self.threads.drain(..),
            "the threads finishing staging files stopped",
        ))
    }
}

impl<T> Drop for Closer<T> {
    /// A staging dropped mid-run (the run failed): the threads finish the jobs they hold
    /// and end, so no file of the run's temporary directory is written afterwards.
    fn drop(&mut self) {
        self.jobs = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_a_quarter_of_the_soft_limit_within_bounds() {
        assert_eq!(budget_for(Some(256)), 64);
        assert_eq!(budget_for(Some(128)), 32);
        assert_eq!(budget_for(Some(20)), MIN_BUDGET);
        assert_eq!(budget_for(Some(1 << 20)), MAX_BUDGET);
        assert_eq!(budget_for(None), MAX_BUDGET);
        assert!((MIN_BUDGET..=MAX_BUDGET).contains(&budget()));
    }

    #[test]
    fn the_soft_limit_is_read_from_proc_limits() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \n\
                    Max cpu time              unlimited            unlimited            seconds   \n\
                    Max open files            256                  524288               files     \n";
        assert_eq!(parse_soft_limit(text), Some(256));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(parse_soft_limit(unlimited), None);
        assert_eq!(parse_soft_limit(""), None);
    }

    #[test]
    fn every_job_comes_back_and_a_failure_is_reported() {
        let mut c = Closer::new();
        for i in 0..20 {
            c.submit(move || Ok(i)).unwrap();
        }
        assert_eq!(c.count(), 20);
        let mut done = c.finish().unwrap();
        done.sort_unstable();
        assert_eq!(done, (0..20).collect::<Vec<_>>());
        c.submit(|| Err(LoadError::Encoder("disk full".into())))
            .unwrap();
        let err = c.finish().unwrap_err().to_string();
        assert!(err.contains("disk full"), "{err}");
    }
}
