//! The sync run loop: wiring of extract → transform → load with backpressure end to end.
//!
//! The extractor runs on the async runtime and sends [`Item`]s through a bounded channel;
//! the transform and the loader run on one blocking thread that drains it. When the
//! loader is slow the channel fills, the extractor's `send` waits, and no more pages are
//! requested. One commit at the end publishes the data, the cursor and the run record
//! together; on failure a failed run is recorded and the cursor does not move.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use ltx_extract::files::{self, FileItem};
use ltx_extract::{AuthConfig, ExtractConfig, Item, Secret};
use ltx_load::{CommitReport, LoadOptions, RunInfo, RunOutcome, RunWriter, Warehouse};
use ltx_transform::{Record, TableBatch, TransformConfig, TransformPool, TransformStats};
use tokio::sync::mpsc;
use tracing::Instrument as _;

use crate::cli::SyncArgs;
use crate::config::{parse_duration, Config, Mode, Profile};
use crate::exit::UsageError;
use crate::models::MODELS;
use crate::progress::{Counters, Progress};
use crate::Context;

/// What a finished sync or import reports.
#[derive(Debug, Clone)]
pub struct SyncReport {
    /// The run's id.
    pub run_id: String,
    /// Covered `updated_at` range (`None` for imports).
    pub window: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Conversations transformed.
    pub conversations: u64,
    /// Rows per table produced by the transform (dimension rows once per worker).
    pub stats: TransformStats,
    /// What the commit did: rows added per table, new/replaced/unchanged conversations.
    pub commit: CommitReport,
    /// HTTP requests (0 for imports).
    pub requests: u64,
    /// What the run found short of what the API announced (one line each; see
    /// `ltx_extract::completeness`), also in `_ltx_runs.quality_by_check`.
    pub warnings: Vec<String>,
    /// Wall time.
    pub elapsed: Duration,
}

impl SyncReport {
    /// One summary line for logs and the terminal.
    pub fn summary(&self) -> String {
        let rows: u64 = self.commit.tables.values().map(|t| t.rows_added).sum();
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        let c = &self.commit;
        format!(
            "run {}: {} conversations ({} new, {} updated, {} unchanged), {} rows written, {} rejected, {}, in {:.2}s ({:.0} conversations/s){}",
            self.run_id,
            self.conversations,
            c.conversations_new,
            c.conversations_replaced,
            c.conversations_unchanged,
            rows,
            self.stats.rejected,
            quality_summary(&self.stats),
            self.elapsed.as_secs_f64(),
            self.conversations as f64 / secs,
            match self.window {
                Some((f, t)) => format!(
                    ", window [{}, {})",
                    f.format("%Y-%m-%dT%H:%M:%SZ"),
                    t.format("%Y-%m-%dT%H:%M:%SZ")
                ),
                None => String::new(),
            }
        ) + &self
            .warnings
            .iter()
            .map(|w| format!("\nWARNING: {w}"))
            .collect::<String>()
    }

    /// The schema drift of the run, one line per drifted field and kind, most frequent
    /// first (at most `limit`, then a count of the rest); empty when there was none.
    pub fn drift_lines(&self, limit: usize) -> Vec<String> {
        drift_lines(&self.stats.drift, limit)
    }
}

/// See [`SyncReport::drift_lines`]: `  employees[].role: string where object expected, 1,912 conversations`.
pub fn drift_lines(drift: &BTreeMap<String, u64>, limit: usize) -> Vec<String> {
    if drift.is_empty() {
        return Vec::new();
    }
    let mut kinds: Vec<(&String, &u64)> = drift.iter().collect();
    kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut out = vec![
        "schema drift (typed column null, value as received in the row's _extra; rows in _quality_issues):"
            .to_owned(),
    ];
    for (kind, n) in kinds.iter().take(limit) {
        out.push(format!("  {kind}, {} conversations", thousands(**n)));
    }
    if kinds.len() > limit {
        out.push(format!("  … and {} more kinds", kinds.len() - limit));
    }
    out
}

/// `1912` → `1,912`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// "0 quality issues", or "101 quality issues (message_count 98, chat_count 3)".
fn quality_summary(stats: &TransformStats) -> String {
    let by_check = quality_by_check(stats);
    let total: u64 = by_check.values().sum();
    if total == 0 {
        return "0 quality issues".to_owned();
    }
    let mut parts: Vec<(&String, &u64)> = by_check.iter().collect();
    parts.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let parts: Vec<String> = parts.iter().map(|(k, v)| format!("{k} {v}")).collect();
    format!("{total} quality issues ({})", parts.join(", "))
}

/// Credentials from the environment (the only place secrets come from).
pub fn auth_from_env(profile: Profile) -> Result<AuthConfig, UsageError> {
    let get = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    // A stray CR/LF (Windows env file) is a configuration error naming the variable.
    let checked = |k: &str, v: String| {
        crate::config::check_credential(k, &v)
            .map(|()| v)
            .map_err(|e| UsageError(e.to_string()))
    };
    match profile {
        Profile::V2 => match get("LIVETEX_API_TOKEN") {
            Some(t) => Ok(AuthConfig::Token {
                token: Secret::new(checked("LIVETEX_API_TOKEN", t)?),
            }),
            None => Err(UsageError(
                "the v2 profile needs LIVETEX_API_TOKEN in the environment".into(),
            )),
        },
        Profile::WebApi => match (get("LIVETEX_LOGIN"), get("LIVETEX_PASSWORD")) {
            (Some(login), Some(password)) => Ok(AuthConfig::Password {
                login: checked("LIVETEX_LOGIN", login)?,
                password: Secret::new(checked("LIVETEX_PASSWORD", password)?),
            }),
            _ => Err(UsageError(
                "the web-api profile needs LIVETEX_LOGIN and LIVETEX_PASSWORD in the environment"
                    .into(),
            )),
        },
    }
}

/// The extractor's configuration from ours (one mapping, so the two stay in step).
pub fn extract_config(config: &Config, auth: AuthConfig) -> anyhow::Result<ExtractConfig> {
    let s = &config.source;
    let profile = match s.profile {
        Profile::V2 => ltx_extract::Profile::V2,
        Profile::WebApi => ltx_extract::Profile::WebApi,
    };
    let mut e = ExtractConfig::new(profile, auth);
    e.base_url = Some(s.effective_base_url().to_owned());
    e.mode = match s.mode {
        Mode::List => ltx_extract::Mode::List,
        Mode::Discover => ltx_extract::Mode::Discover,
    };
    e.page_size = (s.page_size > 0).then_some(s.page_size);
    e.concurrency = s.concurrency as usize;
    e.rate_limit_per_s = (s.rate_limit_per_s > 0.0).then_some(s.rate_limit_per_s);
    e.max_attempts = s.max_retries + 1;
    e.request_timeout = Duration::from_secs(s.timeout_s);
    e.window = parse_duration(&config.sync.window).map_err(UsageError)?;
    e.settle = parse_duration(&config.sync.settle).map_err(UsageError)?;
    e.lookback = config.sync.lookback_duration()?;
    e.start_date = Some(config.sync.start()?);
    e.channel_capacity = config.sync.channel_capacity;
    e.max_retry_wait = parse_duration(&s.max_retry_wait).map_err(UsageError)?;
    e.max_response_mb = s.max_response_mb;
    e.max_clock_skew = parse_duration(&s.max_clock_skew).map_err(UsageError)?;
    e.validate()?;
    Ok(e)
}

fn new_run_id(now: DateTime<Utc>) -> String {
    // Sortable by time, unique across processes.
    format!("{}-{}", now.format("%Y%m%dT%H%M%SZ"), &uuid_like()[..8])
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{:016x}",
        (nanos as u64) ^ (u64::from(std::process::id()) << 32)
    )
    .chars()
    .rev()
    .collect()
}

fn parse_date_flag(flag: &str, value: &str) -> Result<DateTime<Utc>, UsageError> {
    ltx_model::parse_api_datetime(value).map_err(|e| {
        UsageError(format!(
            "{flag}: {e}; expected e.g. 2026-01-01 or 2026-01-01T10:00:00 (Moscow) or an offset"
        ))
    })
}

/// The blocking half of a run: drains the channel (the API's items, or a file reader's)
/// into the transform pool (one thread per core parses and transforms) and writes the
/// batches it produces on this thread.
fn consume<T: Into<FileItem>>(
    mut rx: mpsc::Receiver<T>,
    mut writer: RunWriter,
    tcfg: TransformConfig,
    config: Config,
    keep_raw: bool,
    counters: Arc<Counters>,
) -> anyhow::Result<(RunWriter, TransformStats)> {
    let mut pool = TransformPool::new(tcfg, config.sync.workers());
    tracing::debug!(workers = pool.workers(), "transform started");
    let write = |writer: &mut RunWriter, batches: Vec<TableBatch>| -> anyhow::Result<()> {
        for b in batches {
            if config.sync.loads(b.table) {
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
        pool.push(record, &mut |b| write(&mut writer, b))?;
    }
    let stats = pool.finish(&mut |b| write(&mut writer, b))?;
    Ok((writer, stats))
}

/// The loader's options: defaults (which arm `LTX_CRASH_AT`) plus the embedded BI models.
pub fn load_options() -> LoadOptions {
    LoadOptions {
        models: MODELS
            .iter()
            .map(|(n, sql)| ((*n).to_owned(), (*sql).to_owned()))
            .collect(),
        ..LoadOptions::default()
    }
}

/// Opens the warehouse on a blocking thread (it takes the lock and may clean up orphans).
pub async fn open_warehouse(dir: &Path) -> anyhow::Result<Warehouse> {
    let dir = dir.to_path_buf();
    let wh = tokio::task::spawn_blocking(move || Warehouse::open(&dir, load_options())).await??;
    Ok(wh)
}

/// `ltx sync`.
pub async fn command(ctx: &Context, args: &SyncArgs) -> anyhow::Result<()> {
    let from = args
        .from
        .as_deref()
        .map(|v| parse_date_flag("--from", v))
        .transpose()?;
    let to = args
        .to
        .as_deref()
        .map(|v| parse_date_flag("--to", v))
        .transpose()?;
    require_pii_salt(&ctx.config)?;
    let auth = auth_from_env(ctx.config.source.profile)?;
    let ecfg = extract_config(&ctx.config, auth)?;
    let report = run_sync(
        &ctx.config,
        ecfg,
        SyncOptions {
            full_refresh: args.full_refresh,
            from,
            to,
            keep_raw: args.keep_raw,
            quiet: ctx.quiet,
        },
    )
    .await?;
    println!("{}", report.summary());
    for line in report.drift_lines(20) {
        println!("{line}");
    }
    crate::exit::catalog_rebuilt(report.commit.catalog_error.as_ref())?;
    Ok(())
}

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
    /// No progress display.
    pub quiet: bool,
}

/// One sync: source clock (and credentials) → open (lock) → cursor → window → extract ∥
/// transform+load → one commit. A failure after the warehouse was opened is recorded as a
/// failed run; the cursor only moves with a successful commit.
pub async fn run_sync(
    config: &Config,
    ecfg: ExtractConfig,
    opts: SyncOptions,
) -> anyhow::Result<SyncReport> {
    let started = Instant::now();
    let started_at = Utc::now();
    let run_id = new_run_id(started_at);
    let span = tracing::info_span!("sync", run_id = %run_id, pipeline = %config.name);
    let metrics = Arc::new(ltx_extract::Metrics::default());
    let client = ltx_extract::Client::new(&ecfg, metrics.clone())?;
    let deadline = Deadline::start(
        config.sync.max_run_time()?,
        &config.sync.max_duration,
        metrics.clone(),
    );
    let mut info = RunInfo {
        run_id: run_id.clone(),
        pipeline: config.name.clone(),
        window_from: None,
        window_to: None,
        started_at,
        keep_raw: opts.keep_raw,
    };
    let mut outcome = RunOutcome::default();
    // "Now" is the source's clock (its Date header). Asking for it first also checks the
    // credentials before the warehouse is touched: a bad password leaves no trace there.
    let probe = deadline.bound("asking the API for its clock", client.server_now());
    let now = match tracing::Instrument::instrument(probe, span.clone()).await {
        Ok(now) => now,
        Err(e) => {
            // The API down (the commonest failure of a scheduled sync) is a failed run of
            // an existing warehouse like any other; a rejected login is not recorded.
            let dir = &config.destination.warehouse;
            if crate::exit::classify(&e) == crate::exit::Exit::Failed && Warehouse::exists(dir) {
                outcome.http_requests = metrics.requests.load(std::sync::atomic::Ordering::Relaxed);
                match open_warehouse(dir).await {
                    Ok(wh) => record_failure(&wh, &info, &outcome, &e).await,
                    Err(err) => tracing::error!(error = %err, "could not record the failed run"),
                }
            }
            return Err(e);
        }
    };
    let wh = open_warehouse(&config.destination.warehouse).await?;
    let result = async {
        let cursor = wh.cursor(&config.name)?;
        let range = ltx_extract::plan(&ltx_extract::PlanParams {
            cursor,
            lookback: ecfg.lookback,
            start_date: ecfg.start_date,
            now,
            settle: ecfg.settle,
            full_refresh: opts.full_refresh,
            from: opts.from,
            to: opts.to,
            window_size: ecfg.window,
        })?;
        info.window_from = Some(range.from);
        info.window_to = Some(range.to);
        outcome.window_to = Some(range.to);
        tracing::info!(
            source_now = %now,
            cursor = ?cursor,
            from = %range.from,
            to = %range.to,
            windows = range.windows.len(),
            "window planned"
        );
        let writer = wh.begin_run(info.clone())?;
        let (tx, rx) = mpsc::channel(ecfg.channel_capacity);
        let counters = Arc::new(Counters::default());
        let progress = Progress::start("sync", Some(metrics.clone()), counters.clone(), opts.quiet);
        let consumer = spawn_consumer(
            rx,
            writer,
            config,
            &run_id,
            started_at,
            opts.keep_raw,
            counters,
        );
        // Past the deadline the extraction is dropped (its requests with it): the channel
        // closes, the consumer ends, and the run fails below without a commit.
        let extracted = deadline
            .bound("extracting", ltx_extract::extract_with(&client, &range, tx))
            .await;
        // The consumer ends when the extractor drops its sender (done or failed).
        let consumed = consumer.await.context("the transform thread panicked")?;
        progress.finish().await;
        let summary = extracted?;
        let (writer, stats) = consumed?;
        outcome.http_requests = summary.requests;
        outcome.retries = summary.retries;
        // Only a complete extraction moves the cursor: to the end of the covered range,
        // unless an explicit --from/--to window was asked for (a backfill).
        let backfill = opts.from.is_some() || opts.to.is_some();
        outcome.cursor = if backfill { cursor } else { Some(range.to) };
        outcome.quality_by_check = quality_by_check(&stats);
        // What the API announced but did not serve is recorded with the run.
        for w in &summary.warnings {
            outcome.quality_by_check.insert(w.check.to_owned(), w.count);
        }
        outcome.drift_by_field = stats.drift.clone();
        let o = outcome.clone();
        let report = tokio::task::spawn_blocking(move || writer.commit(o)).await??;
        anyhow::Ok((range, stats, summary, report))
    }
    .instrument(span.clone())
    .await;
    match result {
        Ok((range, stats, summary, report)) => {
            tracing::info!(
                parent: &span,
                conversations = stats.conversations,
                new = report.conversations_new,
                replaced = report.conversations_replaced,
                unchanged = report.conversations_unchanged,
                files = report.files_written,
                quality_issues = stats.quality_issues.values().sum::<u64>(),
                rejected = stats.rejected,
                requests = summary.requests,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "sync committed"
            );
            Ok(SyncReport {
                run_id,
                window: Some((range.from, range.to)),
                conversations: stats.conversations,
                stats,
                commit: report,
                requests: summary.requests,
                warnings: summary.warnings.iter().map(|w| w.message.clone()).collect(),
                elapsed: started.elapsed(),
            })
        }
        Err(e) => {
            record_failure(&wh, &info, &outcome, &e).await;
            Err(e)
        }
    }
}

/// `sync.max_duration`: the whole run's deadline, so that a stalled or throttling API
/// cannot hold the warehouse lock for ever. It bounds the clock probe and the extraction;
/// the commit (local work, crash-safe) is never cut short.
struct Deadline {
    at: Option<tokio::time::Instant>,
    /// The limit as configured (`2h`).
    limit: String,
    metrics: Arc<ltx_extract::Metrics>,
}

/// A run that passed `sync.max_duration`.
#[derive(Debug, thiserror::Error)]
#[error(
    "the run exceeded sync.max_duration ({limit}) while {what} ({requests} requests, {retries} retries, {rate_limited} answered 429, {conversations} conversations received): nothing of it was committed and the cursor did not move. The API may be stalled or throttling (see the log); for a first sync that needs longer, raise sync.max_duration or backfill in pieces with --from/--to"
)]
pub struct DeadlineExceeded {
    limit: String,
    what: &'static str,
    requests: u64,
    retries: u64,
    rate_limited: u64,
    conversations: u64,
}

impl Deadline {
    fn start(limit: Option<Duration>, label: &str, metrics: Arc<ltx_extract::Metrics>) -> Self {
        Self {
            at: limit.and_then(|d| tokio::time::Instant::now().checked_add(d)),
            limit: label.trim().to_owned(),
            metrics,
        }
    }

    /// `fut`, or `DeadlineExceeded` once the deadline passes (`fut` is then dropped).
    async fn bound<T, E>(
        &self,
        what: &'static str,
        fut: impl std::future::Future<Output = Result<T, E>>,
    ) -> anyhow::Result<T>
    where
        anyhow::Error: From<E>,
    {
        let Some(at) = self.at else {
            return Ok(fut.await?);
        };
        match tokio::time::timeout_at(at, fut).await {
            Ok(result) => Ok(result?),
            Err(_) => {
                let m = &self.metrics;
                let get = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
                let e = DeadlineExceeded {
                    limit: self.limit.clone(),
                    what,
                    requests: get(&m.requests),
                    retries: get(&m.retries),
                    rate_limited: get(&m.rate_limited),
                    conversations: get(&m.conversations),
                };
                tracing::error!("{e}");
                Err(e.into())
            }
        }
    }
}

/// The transform's reconciliation counts, keyed for the run record.
fn quality_by_check(stats: &TransformStats) -> BTreeMap<String, u64> {
    stats
        .quality_issues
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(check, n)| ((*check).to_owned(), *n))
        .collect()
}

/// Records a failed run (the cursor does not move); a failure to record is only logged.
async fn record_failure(wh: &Warehouse, info: &RunInfo, outcome: &RunOutcome, e: &anyhow::Error) {
    let message = format!("{e:#}");
    let (wh, info, outcome) = (wh.clone(), info.clone(), outcome.clone());
    let recorded =
        tokio::task::spawn_blocking(move || wh.record_failed_run(&info, &outcome, &message)).await;
    match recorded {
        Ok(Ok(_)) => {}
        Ok(Err(err)) => tracing::error!(error = %err, "could not record the failed run"),
        Err(err) => tracing::error!(error = %err, "could not record the failed run"),
    }
}

fn spawn_consumer<T: Into<FileItem> + Send + 'static>(
    rx: mpsc::Receiver<T>,
    writer: RunWriter,
    config: &Config,
    run_id: &str,
    started_at: DateTime<Utc>,
    keep_raw: bool,
    counters: Arc<Counters>,
) -> tokio::task::JoinHandle<anyhow::Result<(RunWriter, TransformStats)>> {
    let tcfg = TransformConfig {
        batch_rows: config.sync.batch_rows,
        pii: config.personal_data.policy(pii_salt()),
        run_id: run_id.to_owned(),
        synced_at: started_at,
    };
    let config = config.clone();
    tokio::task::spawn_blocking(move || consume(rx, writer, tcfg, config, keep_raw, counters))
}

/// A pipeline that hashes personal data needs `LTX_PII_SALT` (checked before any work).
pub fn require_pii_salt(config: &Config) -> Result<(), UsageError> {
    if config.personal_data.hashes_anything() && pii_salt().is_empty() {
        return Err(UsageError(
            "[personal_data] hashes some columns: set LTX_PII_SALT in the environment \
             (a secret, stable salt; without it hashes of phones and e-mails are reversible)"
                .into(),
        ));
    }
    Ok(())
}

fn pii_salt() -> String {
    std::env::var("LTX_PII_SALT").unwrap_or_default()
}

/// `ltx import`: files through the same transform + load path and commit protocol.
pub async fn import(ctx: &Context, paths: &[PathBuf]) -> anyhow::Result<()> {
    for p in paths {
        if !p.is_file() {
            return Err(UsageError(format!("no such file: {}", p.display())).into());
        }
    }
    let config = &ctx.config;
    let started = Instant::now();
    let started_at = Utc::now();
    let run_id = new_run_id(started_at);
    let wh = open_warehouse(&config.destination.warehouse).await?;
    let info = RunInfo {
        run_id: run_id.clone(),
        pipeline: config.name.clone(),
        window_from: None,
        window_to: None,
        started_at,
        keep_raw: false,
    };
    let result = async {
        // An import does not move the cursor: files say nothing about what the API holds.
        let cursor = wh.cursor(&config.name)?;
        let writer = wh.begin_run(info.clone())?;
        let (tx, rx) = mpsc::channel(files::channel_items(config.sync.channel_capacity));
        let counters = Arc::new(Counters::default());
        let progress = Progress::start("import", None, counters.clone(), ctx.quiet);
        let consumer = spawn_consumer(rx, writer, config, &run_id, started_at, false, counters);
        let read = files::spawn_files(paths.to_vec(), tx).await;
        let consumed = consumer.await.context("the transform thread panicked")?;
        progress.finish().await;
        // The transform's error first: when it stopped, the reader only saw a closed channel.
        let (writer, stats) = consumed?;
        read.context("the file reader panicked")??;
        let outcome = RunOutcome {
            cursor,
            quality_by_check: quality_by_check(&stats),
            drift_by_field: stats.drift.clone(),
            ..RunOutcome::default()
        };
        let commit = tokio::task::spawn_blocking(move || writer.commit(outcome)).await??;
        anyhow::Ok((stats, commit))
    }
    .await;
    match result {
        Ok((stats, commit)) => {
            let report = SyncReport {
                run_id,
                window: None,
                conversations: stats.conversations,
                stats,
                commit,
                requests: 0,
                warnings: Vec::new(),
                elapsed: started.elapsed(),
            };
            println!("{}", report.summary());
            for line in report.drift_lines(20) {
                println!("{line}");
            }
            crate::exit::catalog_rebuilt(report.commit.catalog_error.as_ref())?;
            Ok(())
        }
        Err(e) => {
            record_failure(&wh, &info, &RunOutcome::default(), &e).await;
            Err(e)
        }
    }
}
