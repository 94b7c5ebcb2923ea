//! The one run skeleton of `ltx sync` and `ltx import`: a source (the API or files) →
//! bounded channel → transform pool → loader → one commit → run record.
//!
//! The source runs on the async runtime and sends items through a bounded channel; the
//! transform and the loader run on one blocking thread that drains it. When the loader is
//! slow the channel fills, the source's `send` waits, and nothing more is read. One commit
//! at the end publishes the data, the cursor and the run record together; a failure after
//! the warehouse was opened is recorded as a failed run, and the cursor does not move.

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use ltx_extract::files::{self, FileItem};
use ltx_extract::{AuthConfig, ExtractSummary, Metrics};
use ltx_load::{CommitReport, RunInfo, RunOutcome, Warehouse};
use ltx_transform::TransformStats;
use tokio::sync::mpsc;
use tracing::Instrument as _;

use crate::config::Config;
use crate::consume::{Consumer, Counters};
use crate::credentials::{pii_salt, require_pii_salt};
use crate::deadline::Deadline;
use crate::error::{PipelineError, Result};
use crate::policy::{next_cursor, RunKind};
use crate::report::{quality_by_check, RunReport};
use crate::run_id::new_run_id;

/// Flags of one sync.
#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Ignore the cursor.
    pub full_refresh: bool,
    /// Explicit window start.
    pub from: Option<DateTime<Utc>>,
    /// Explicit window end.
    pub to: Option<DateTime<Utc>>,
    /// Archive raw JSON.
    pub keep_raw: bool,
}

/// What a caller watches while a run goes on (a progress display reads these).
#[derive(Debug, Clone, Default)]
pub struct Watch {
    /// The extractor's counters (requests, pages, windows…; untouched by an import).
    pub metrics: Arc<Metrics>,
    /// Conversations transformed and rows loaded.
    pub counters: Arc<Counters>,
}

/// Opens the warehouse for writing on a blocking thread (it takes the lock and may repair
/// what a crash left).
pub async fn open_warehouse(config: &Config) -> Result<Warehouse> {
    let dir = config.destination.warehouse.clone();
    let options = config.load_options();
    tokio::task::spawn_blocking(move || Warehouse::open(&dir, options))
        .await
        .map_err(|e| PipelineError::panicked("warehouse opener", e))?
        .map_err(PipelineError::from)
}

/// For a warehouse on object storage, brings its local copy to the bucket's last commit
/// before it is read (`ltx query`, `report`, `status`). While a sync of this machine holds
/// the copy, it is read as it is (that sync brought it up to date when it started).
pub async fn refresh_local_copy(config: &Config) -> Result<()> {
    let Some(url) = &config.destination.remote else {
        return Ok(());
    };
    match open_warehouse(config).await {
        Ok(_) => Ok(()),
        Err(PipelineError::Load(ltx_load::LoadError::Locked { .. })) => {
            tracing::warn!(url = %url, "a sync holds the local copy; reading it as that sync left it");
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// One sync: source clock (and credentials) → open (lock) → cursor → window → extract ∥
/// transform+load → one commit.
pub async fn sync(
    config: &Config,
    auth: AuthConfig,
    opts: SyncOptions,
    watch: Watch,
) -> Result<RunReport> {
    require_pii_salt(config)?;
    let ecfg = config.extract_config(auth)?;
    let started = Instant::now();
    let info = RunInfo {
        keep_raw: opts.keep_raw,
        ..run_info(config)
    };
    let span = tracing::info_span!("sync", run_id = %info.run_id, pipeline = %config.name);
    let metrics = watch.metrics.clone();
    let client = ltx_extract::Client::new(&ecfg, metrics.clone())?;
    let deadline = Deadline::start(
        config.sync.max_run_time()?,
        &config.sync.max_duration,
        metrics.clone(),
    );
    // "Now" is the source's clock (its Date header). Asking for it first also checks the
    // credentials before the warehouse is touched: a bad password leaves no trace there.
    let probe = deadline.bound("asking the API for its clock", client.server_now());
    let now = match probe.instrument(span.clone()).await {
        Ok(now) => now,
        Err(e) => {
            // The API down (the commonest failure of a scheduled sync) is a failed run of
            // an existing warehouse like any other; a rejected login is not recorded.
            if e.is_recorded() && Warehouse::exists(&config.destination.warehouse) {
                let outcome = RunOutcome {
                    http_requests: metrics.requests.load(Ordering::Relaxed),
                    ..RunOutcome::default()
                };
                match open_warehouse(config).await {
                    Ok(wh) => record_failure(&wh, &info, &outcome, &e).await,
                    Err(err) => tracing::error!(error = %err, "could not record the failed run"),
                }
            }
            return Err(e);
        }
    };
    let wh = open_warehouse(config).await?;
    let cursor = wh.cursor(&config.account(), &config.name)?;
    let range = match ltx_extract::plan(&ltx_extract::PlanParams {
        cursor,
        lookback: ecfg.lookback,
        start_date: ecfg.start_date,
        now,
        settle: ecfg.settle,
        full_refresh: opts.full_refresh,
        from: opts.from,
        to: opts.to,
        window_size: ecfg.window,
    }) {
        Ok(range) => range,
        Err(e) => {
            let e = PipelineError::from(e);
            record_failure(&wh, &info, &RunOutcome::default(), &e).await;
            return Err(e);
        }
    };
    tracing::info!(
        parent: &span,
        source_now = %now,
        cursor = ?cursor,
        from = %range.from,
        to = %range.to,
        windows = range.windows.len(),
        "window planned"
    );
    let info = RunInfo {
        window_from: Some(range.from),
        window_to: Some(range.to),
        ..info
    };
    let kind = if opts.from.is_some() || opts.to.is_some() {
        RunKind::Backfill
    } else {
        RunKind::Sync
    };
    let skeleton = Skeleton {
        wh: &wh,
        config,
        info,
        keep_raw: opts.keep_raw,
        counters: watch.counters.clone(),
        capacity: config.sync.channel_capacity,
    };
    // Past the deadline the extraction is dropped (its requests with it): the channel
    // closes, the consumer ends, and the run fails without a commit.
    let extract = |tx| async {
        deadline
            .bound("extracting", ltx_extract::extract_with(&client, &range, tx))
            .await
    };
    let outcome = |summary: &ExtractSummary, stats: &TransformStats| {
        let mut quality = quality_by_check(stats);
        // What the API announced but did not serve is recorded with the run.
        for w in &summary.warnings {
            quality.insert(w.check.to_owned(), w.count);
        }
        RunOutcome {
            cursor: next_cursor(kind, cursor, Some(range.to)),
            window_to: Some(range.to),
            http_requests: summary.requests,
            retries: summary.retries,
            quality_by_check: quality,
            drift_by_field: stats.drift.clone(),
        }
    };
    let failed = || RunOutcome {
        window_to: Some(range.to),
        http_requests: metrics.requests.load(Ordering::Relaxed),
        retries: metrics.retries.load(Ordering::Relaxed),
        ..RunOutcome::default()
    };
    let (stats, summary, commit) = skeleton
        .run(extract, outcome, failed)
        .instrument(span.clone())
        .await?;
    tracing::info!(
        parent: &span,
        conversations = stats.conversations,
        new = commit.conversations_new,
        replaced = commit.conversations_replaced,
        unchanged = commit.conversations_unchanged,
        files = commit.files_written,
        quality_issues = stats.quality_issues.values().sum::<u64>(),
        rejected = stats.rejected,
        requests = summary.requests,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "sync committed"
    );
    Ok(RunReport {
        run_id: skeleton.info.run_id.clone(),
        window: Some((range.from, range.to)),
        conversations: stats.conversations,
        stats,
        commit,
        requests: summary.requests,
        warnings: summary.warnings.iter().map(|w| w.message.clone()).collect(),
        elapsed: started.elapsed(),
    })
}

/// `ltx import`: files through the same skeleton; the cursor does not move.
pub async fn import(config: &Config, paths: &[PathBuf], watch: Watch) -> Result<RunReport> {
    if let Some(missing) = paths.iter().find(|p| !p.is_file()) {
        return Err(PipelineError::NoSuchFile(missing.clone()));
    }
    require_pii_salt(config)?;
    let started = Instant::now();
    let info = run_info(config);
    let span = tracing::info_span!("import", run_id = %info.run_id, pipeline = %config.name);
    let wh = open_warehouse(config).await?;
    let cursor = wh.cursor(&config.account(), &config.name)?;
    let skeleton = Skeleton {
        wh: &wh,
        config,
        info,
        keep_raw: false,
        counters: watch.counters.clone(),
        capacity: files::channel_items(config.sync.channel_capacity),
    };
    let read = |tx| async move {
        files::spawn_files(paths.to_vec(), tx)
            .await
            .map_err(|e| PipelineError::panicked("file reader", e))?
            .map_err(PipelineError::from)
    };
    let outcome = |_: &files::FileSummary, stats: &TransformStats| RunOutcome {
        cursor: next_cursor(RunKind::Import, cursor, None),
        quality_by_check: quality_by_check(stats),
        drift_by_field: stats.drift.clone(),
        ..RunOutcome::default()
    };
    let (stats, _, commit) = skeleton
        .run(read, outcome, RunOutcome::default)
        .instrument(span)
        .await?;
    Ok(RunReport {
        run_id: skeleton.info.run_id.clone(),
        window: None,
        conversations: stats.conversations,
        stats,
        commit,
        requests: 0,
        warnings: Vec::new(),
        elapsed: started.elapsed(),
    })
}

/// A new run of `config`'s pipeline, starting now.
fn run_info(config: &Config) -> RunInfo {
    let started_at = Utc::now();
    RunInfo {
        run_id: new_run_id(started_at),
        pipeline: config.name.clone(),
        account: config.account(),
        window_from: None,
        window_to: None,
        started_at,
        keep_raw: false,
    }
}

/// The part of a run that sync and import share, once the warehouse is open.
struct Skeleton<'a> {
    wh: &'a Warehouse,
    config: &'a Config,
    info: RunInfo,
    keep_raw: bool,
    counters: Arc<Counters>,
    /// Items buffered between the source and the transform.
    capacity: usize,
}

impl Skeleton<'_> {
    /// begin → source ∥ transform+load → commit with `outcome`; on failure, a failed run
    /// with `failed()` is recorded and the error returned.
    async fn run<T, S, Src, Fut>(
        &self,
        source: Src,
        outcome: impl FnOnce(&S, &TransformStats) -> RunOutcome,
        failed: impl FnOnce() -> RunOutcome,
    ) -> Result<(TransformStats, S, CommitReport)>
    where
        T: Into<FileItem> + Send + 'static,
        Src: FnOnce(mpsc::Sender<T>) -> Fut,
        Fut: Future<Output = Result<S>>,
    {
        match self.load(source, outcome).await {
            Ok(done) => Ok(done),
            Err(e) => {
                record_failure(self.wh, &self.info, &failed(), &e).await;
                Err(e)
            }
        }
    }

    async fn load<T, S, Src, Fut>(
        &self,
        source: Src,
        outcome: impl FnOnce(&S, &TransformStats) -> RunOutcome,
    ) -> Result<(TransformStats, S, CommitReport)>
    where
        T: Into<FileItem> + Send + 'static,
        Src: FnOnce(mpsc::Sender<T>) -> Fut,
        Fut: Future<Output = Result<S>>,
    {
        // Derived from the configuration alone: built first, so a bad calendar fails the run
        // before anything is read.
        let reference = self
            .config
            .reference_batches(&self.info.run_id, self.info.started_at)?;
        let writer = self.wh.begin_run(self.info.clone())?;
        let (tx, rx) = mpsc::channel(self.capacity);
        let consumer = Consumer {
            transform: self.config.transform_config(
                &self.info.run_id,
                self.info.started_at,
                pii_salt(),
            )?,
            sync: self.config.sync.clone(),
            keep_raw: self.keep_raw,
            counters: self.counters.clone(),
        }
        .spawn(rx, writer);
        let produced = source(tx).await;
        // The consumer ends when the source drops its sender (done or failed).
        let consumed = consumer
            .await
            .map_err(|e| PipelineError::panicked("transform thread", e))?;
        // The transform's error first: when it stopped, the source only saw a closed channel.
        let (mut writer, stats) = consumed?;
        writer.write_all(reference)?;
        let summary = produced?;
        let outcome = outcome(&summary, &stats);
        let commit = tokio::task::spawn_blocking(move || writer.commit(outcome))
            .await
            .map_err(|e| PipelineError::panicked("commit", e))??;
        Ok((stats, summary, commit))
    }
}

/// Records a failed run (the cursor does not move); a failure to record is only logged.
async fn record_failure(wh: &Warehouse, info: &RunInfo, outcome: &RunOutcome, e: &PipelineError) {
    let message = error_chain(e);
    let (wh, info, outcome) = (wh.clone(), info.clone(), outcome.clone());
    let recorded =
        tokio::task::spawn_blocking(move || wh.record_failed_run(&info, &outcome, &message)).await;
    match recorded {
        Ok(Ok(_)) => {}
        Ok(Err(err)) => tracing::error!(error = %err, "could not record the failed run"),
        Err(err) => tracing::error!(error = %err, "could not record the failed run"),
    }
}

/// `e` and its causes, `: `-separated (as the CLI prints it).
fn error_chain(e: &PipelineError) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = s.source();
    }
    message
}
