//! The `ltx` command: argument parsing, exit codes, progress and printing.
//!
//! Owns: the CLI surface ([`cli`], [`choices`]), exit codes ([`exit`]), logging and the
//! progress display, and what each command prints ([`summary`], [`query`], [`status`],
//! [`demo`], [`report`]). Does not own any pipeline logic: the configuration and the run that sync and
//! import share are `ltx-pipeline`'s, HTTP and windows `ltx-extract`'s, tables
//! `ltx-transform`'s, files, commits, views and the catalog `ltx-load`'s, and the
//! simulated API `ltx-sim`'s.

pub mod choices;
pub mod cli;
pub mod demo;
pub mod exit;
pub mod logging;
pub mod progress;
pub mod query;
pub mod report;
pub mod sim;
pub mod status;
pub mod summary;
pub mod sync;
pub mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, PipelineArgs};
use crate::exit::{Exit, UsageError};
use ltx_pipeline::{Config, LogFormat, Overrides};

/// Parses the command line, runs the command, maps the outcome to an exit code.
pub fn main_entry() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version print to stdout and exit 0; usage errors exit 2.
            let _ = e.print();
            return ExitCode::from(e.exit_code().clamp(0, 255) as u8);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return Exit::Failed.into();
        }
    };
    let json_logs = cli.log_format == Some(LogFormat::Json);
    match runtime.block_on(dispatch(cli)) {
        Ok(()) => Exit::Ok.into(),
        Err(err) => {
            let code = classify_and_report(&err, json_logs);
            code.into()
        }
    }
}

fn classify_and_report(err: &anyhow::Error, json_logs: bool) -> Exit {
    let code = exit::classify(err);
    let message = format!("{err:#}");
    if json_logs {
        tracing::error!(exit_code = code as u8, error = %message, "ltx failed");
    }
    eprintln!("error: {message}");
    code
}

/// A loaded pipeline configuration plus the flags that apply to every command.
pub struct Context {
    /// The merged configuration.
    pub config: Config,
    /// The pipeline file that was read, if any.
    pub pipeline_file: Option<PathBuf>,
    /// `-q`.
    pub quiet: bool,
}

fn load_context(
    cli: &Cli,
    pipeline: &PipelineArgs,
    overrides: Overrides,
) -> anyhow::Result<Context> {
    let (path, required) = pipeline.pipeline_path();
    let loaded = Config::load(Some(&path), required, &overrides)?;
    logging::init(
        loaded.config.log.format,
        &loaded.config.log.level,
        cli.verbose,
        cli.quiet,
    );
    if let Some(f) = &loaded.file {
        tracing::debug!(pipeline = %f.display(), "configuration loaded");
    }
    Ok(Context {
        config: loaded.config,
        pipeline_file: loaded.file,
        quiet: cli.quiet,
    })
}

fn simple_overrides(cli: &Cli, pipeline: &PipelineArgs) -> Overrides {
    Overrides {
        warehouse: pipeline.warehouse.clone(),
        log_format: cli.log_format,
        ..Overrides::default()
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Demo(args) => {
            logging::init(
                cli.log_format.unwrap_or(LogFormat::Text),
                "warn",
                cli.verbose,
                cli.quiet,
            );
            demo::run(args, cli.quiet).await
        }
        Command::Sim(args) => {
            logging::init(
                cli.log_format.unwrap_or(LogFormat::Text),
                "info",
                cli.verbose,
                cli.quiet,
            );
            sim::run(args).await
        }
        Command::Sync(args) => {
            let o = args
                .source
                .overrides(args.pipeline.warehouse.clone(), cli.log_format);
            let ctx = load_context(&cli, &args.pipeline, o)?;
            sync::command(&ctx, args).await
        }
        Command::Validate(args) => {
            let o = args
                .source
                .overrides(args.pipeline.warehouse.clone(), cli.log_format);
            let ctx = load_context(&cli, &args.pipeline, o)?;
            validate::command(&ctx, args).await
        }
        Command::Status(args) => {
            let ctx = load_context(&cli, &args.pipeline, simple_overrides(&cli, &args.pipeline))?;
            ltx_pipeline::refresh_local_copy(&ctx.config).await?;
            status::command(&ctx, args)
        }
        Command::Query(args) => {
            let ctx = load_context(&cli, &args.pipeline, simple_overrides(&cli, &args.pipeline))?;
            let sql = match (&args.sql, &args.file) {
                (Some(sql), _) => sql.clone(),
                (None, Some(file)) => std::fs::read_to_string(file).map_err(|e| {
                    UsageError(format!("cannot read SQL file {}: {e}", file.display()))
                })?,
                (None, None) => return Err(UsageError("give SQL or -f FILE".into()).into()),
            };
            ltx_pipeline::refresh_local_copy(&ctx.config).await?;
            let warehouse = ctx.config.destination.warehouse.clone();
            let format = args.format;
            let as_of = args.as_of.clone();
            tokio::task::spawn_blocking(move || {
                query::command(&warehouse, &sql, format, as_of.as_deref())
            })
            .await?
        }
        Command::Report(args) => {
            let ctx = load_context(&cli, &args.pipeline, simple_overrides(&cli, &args.pipeline))?;
            ltx_pipeline::refresh_local_copy(&ctx.config).await?;
            let warehouse = ctx.config.destination.warehouse.clone();
            let args = args.clone();
            tokio::task::spawn_blocking(move || report::command(&warehouse, &args)).await?
        }
        Command::Import(args) => {
            let o = Overrides {
                account: args.account.clone(),
                ..simple_overrides(&cli, &args.pipeline)
            };
            let ctx = load_context(&cli, &args.pipeline, o)?;
            sync::import(&ctx, &args.paths).await
        }
        Command::Compact(args) => {
            let ctx = load_context(&cli, &args.pipeline, simple_overrides(&cli, &args.pipeline))?;
            status::compact(&ctx)
        }
        Command::Register(args) => {
            let ctx = load_context(&cli, &args.pipeline, simple_overrides(&cli, &args.pipeline))?;
            status::register(&ctx)
        }
    }
}
