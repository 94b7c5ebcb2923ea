//! `ltx sync` and `ltx import`: flags → the pipeline's run (`ltx_pipeline::run`) under a
//! progress display → the printed summary.

use std::future::Future;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use ltx_pipeline::{PipelineError, RunReport, SyncOptions, Watch};

use crate::cli::SyncArgs;
use crate::exit::UsageError;
use crate::progress::Progress;
use crate::Context;

/// `ltx sync`.
pub async fn command(ctx: &Context, args: &SyncArgs) -> anyhow::Result<()> {
    let opts = SyncOptions {
        full_refresh: args.full_refresh,
        from: date_flag("--from", args.from.as_deref())?,
        to: date_flag("--to", args.to.as_deref())?,
        keep_raw: args.keep_raw,
    };
    let auth = ltx_pipeline::auth_from_env(ctx.config.source.profile)?;
    let report = watched("sync", true, ctx.quiet, |watch| {
        ltx_pipeline::sync(&ctx.config, auth, opts, watch)
    })
    .await?;
    crate::summary::print(&report);
    crate::exit::catalog_rebuilt(report.commit.catalog_error.as_ref())?;
    Ok(())
}

/// `ltx import`: files through the same run; the cursor does not move.
pub async fn import(ctx: &Context, paths: &[PathBuf]) -> anyhow::Result<()> {
    let report = watched("import", false, ctx.quiet, |watch| {
        ltx_pipeline::import(&ctx.config, paths, watch)
    })
    .await?;
    crate::summary::print(&report);
    crate::exit::catalog_rebuilt(report.commit.catalog_error.as_ref())?;
    Ok(())
}

/// Runs `run` under a progress display (none when `quiet`); `api` shows the extractor's
/// requests too.
pub async fn watched<F, Fut>(
    label: &'static str,
    api: bool,
    quiet: bool,
    run: F,
) -> Result<RunReport, PipelineError>
where
    F: FnOnce(Watch) -> Fut,
    Fut: Future<Output = Result<RunReport, PipelineError>>,
{
    let watch = Watch::default();
    let progress = Progress::start(
        label,
        api.then(|| watch.metrics.clone()),
        watch.counters.clone(),
        quiet,
    );
    let result = run(watch.clone()).await;
    progress.finish().await;
    result
}

fn date_flag(flag: &str, value: Option<&str>) -> Result<Option<DateTime<Utc>>, UsageError> {
    value
        .map(|v| {
            ltx_model::parse_api_datetime(v).map_err(|e| {
                UsageError(format!(
                    "{flag}: {e}; expected e.g. 2026-01-01 or 2026-01-01T10:00:00 (Moscow) or an offset"
                ))
            })
        })
        .transpose()
}
