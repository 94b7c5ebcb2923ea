//! Command-line surface (clap derive): every subcommand, its flags and its `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use ltx_pipeline::{LogFormat, Mode, Overrides, Profile};

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  the run failed (recorded as a failed run in the warehouse)
  2  bad usage or configuration
  3  authentication error (token, login or password rejected)
  4  the warehouse is locked by another sync
  5  the data was committed, but warehouse.duckdb could not be rebuilt (ltx register)";

const SECRETS: &str = "\
Secrets come only from the environment, never from files or flags:
  LIVETEX_API_TOKEN                   v2 profile (Bearer token)
  LIVETEX_LOGIN + LIVETEX_PASSWORD    web-api profile (OAuth password grant)
  LTX_PII_SALT                        salt for [personal_data] = \"hash\"";

/// `ltx`: sync LiveTex conversations into a Parquet + DuckDB warehouse.
#[derive(Debug, Parser)]
#[command(
    name = "ltx",
    version,
    about = "Sync LiveTex customer-support conversations into a Parquet + DuckDB warehouse",
    long_about = None,
    term_width = 100,
    after_help = format!("Start with `ltx demo`: it runs the whole pipeline against a built-in simulator.\n\n{EXIT_CODES}"),
)]
pub struct Cli {
    /// Log format on stderr: text for people, json (one object per line) for schedulers.
    #[arg(
        long,
        global = true,
        value_parser = crate::choices::log_format(),
        env = "LTX_LOG_FORMAT",
        hide_env_values = true
    )]
    pub log_format: Option<LogFormat>,
    /// More log output (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Less output: warnings and errors only, no progress.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole pipeline against a built-in simulator and show what the warehouse holds.
    #[command(
        after_help = "Examples:\n  ltx demo\n  ltx demo --warehouse /tmp/wh --conversations 5000\n  ltx query --warehouse /tmp/wh \"SELECT * FROM channel_mix\""
    )]
    Demo(DemoArgs),
    /// Sync conversations from the LiveTex API into the warehouse (incremental by default).
    #[command(after_help = format!("Examples:\n  LIVETEX_API_TOKEN=… ltx sync\n  ltx sync --pipeline pipelines/livetex.toml --full-refresh\n  ltx sync --from 2026-01-01 --to 2026-02-01 --mode discover\n  LIVETEX_LOGIN=… LIVETEX_PASSWORD=… ltx sync --profile web-api\n\n{SECRETS}\n\n{EXIT_CODES}"))]
    Sync(SyncArgs),
    /// Show the last runs, the cursor, rows per table, quality issues and the warehouse size.
    #[command(
        after_help = "Examples:\n  ltx status\n  ltx status --warehouse /data/livetex --format json"
    )]
    Status(StatusArgs),
    /// Run SQL against the warehouse (read-only) and print the result.
    #[command(
        after_help = "Examples:\n  ltx query \"SELECT * FROM daily_conversation_kpis LIMIT 10\"\n  ltx query -f report.sql --format csv > report.csv\n  ltx query --format json \"SELECT count(*) AS n FROM chats\"\n  ltx query --as-of 2026-12-01 \"SELECT count(*) FROM conversations\"\n  ltx query --as-of 20261203T103707Z-1f3a9c2e \"SELECT * FROM channel_mix\"\n\nTables: conversations, chats, chat_messages, calls, leads, complaints, conversation_employees,\nconversation_events, employees, visitors, sites, departments, _quality_issues, _rejected.\nHistory: conversations_history, employees_history, visitors_history, sites_history,\ndepartments_history (valid_from, valid_to, is_current); <dimension>_snapshots; _ltx_runs.\nModels: daily_conversation_kpis, operator_performance, channel_mix, lead_funnel, geography,\nhourly_load_heatmap, daily_channel_mix, hourly_conversations, daily_operator_performance,\nfirst_answer_times."
    )]
    Query(QueryArgs),
    /// Write a self-contained HTML report: KPIs, charts, operators, run health.
    #[command(
        after_help = "Examples:\n  ltx report\n  ltx report --from 2026-10-01 --to 2026-10-31 --out october.html\n  ltx report --site 3 --department 12 --warehouse /data/livetex\n\nEvery number is computed by DuckDB from the BI models. One HTML file, nothing fetched:\nopen it from disk or send it as an attachment. Days are UTC days."
    )]
    Report(ReportArgs),
    /// Load conversations from files (API pages, JSON arrays, JSONL; plain, .gz or .zst).
    #[command(
        after_help = "Examples:\n  ltx import export/page-*.json\n  ltx import conversations.jsonl.zst --warehouse /data/livetex\n  ltx import acme-export.jsonl --account acme --warehouse /data/holding"
    )]
    Import(ImportArgs),
    /// Fold deleted rows into rewritten files and merge small files.
    #[command(after_help = "Example:\n  ltx compact --warehouse /data/livetex")]
    Compact(WarehouseArgs),
    /// Rebuild the DuckDB views (after moving or copying the warehouse directory).
    #[command(
        after_help = "Example:\n  mv warehouse /data/livetex && ltx register --warehouse /data/livetex"
    )]
    Register(WarehouseArgs),
    /// Serve a simulated LiveTex API (both profiles) until Ctrl-C.
    #[command(
        after_help = "Examples:\n  ltx sim --port 8080 --conversations 10000\n  ltx sim --token-ttl 60 --realtime"
    )]
    Sim(SimArgs),
    /// Check the config and pipeline files, and that the API accepts the credentials.
    #[command(after_help = format!("Examples:\n  ltx validate\n  ltx validate --pipeline pipelines/livetex-webapi.toml --offline\n\n{SECRETS}"))]
    Validate(ValidateArgs),
}

/// Which pipeline file to read.
#[derive(Debug, Clone, Args)]
pub struct PipelineArgs {
    /// Pipeline file (TOML; keys as in config/default.toml). Missing default file = built-in defaults.
    #[arg(
        long,
        value_name = "FILE",
        env = "LTX_PIPELINE",
        hide_env_values = true
    )]
    pub pipeline: Option<PathBuf>,
    /// Warehouse directory [default: the pipeline's destination, else ./warehouse].
    #[arg(
        long,
        value_name = "DIR",
        env = "LTX_WAREHOUSE",
        hide_env_values = true
    )]
    pub warehouse: Option<PathBuf>,
}

/// The default pipeline file, used when `--pipeline` is not given.
pub const DEFAULT_PIPELINE: &str = "pipelines/livetex.toml";

impl PipelineArgs {
    /// The pipeline path and whether the user named it (a named file must exist).
    pub fn pipeline_path(&self) -> (PathBuf, bool) {
        match &self.pipeline {
            Some(p) => (p.clone(), true),
            None => (PathBuf::from(DEFAULT_PIPELINE), false),
        }
    }
}

/// Arguments of commands that only need a warehouse.
#[derive(Debug, Clone, Args)]
pub struct WarehouseArgs {
    /// Pipeline and warehouse.
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

/// Source overrides shared by `sync` and `validate`.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// The LiveTex account synced (source.account) [default: the pipeline's name].
    #[arg(long, value_name = "NAME", env = "LTX_ACCOUNT", hide_env_values = true)]
    pub account: Option<String>,
    /// How conversations are found: list pages the conversations list, discover pages
    /// chats/calls/leads/complaints and fetches each conversation.
    #[arg(long, value_parser = crate::choices::mode(), env = "LTX_MODE", hide_env_values = true)]
    pub mode: Option<Mode>,
    /// API profile.
    #[arg(long, value_parser = crate::choices::profile(), env = "LTX_PROFILE", hide_env_values = true)]
    pub profile: Option<Profile>,
    /// API root URL (without /v2).
    #[arg(long, value_name = "URL", env = "LTX_BASE_URL", hide_env_values = true)]
    pub base_url: Option<String>,
    /// Requests in flight at once.
    #[arg(
        long,
        value_name = "N",
        env = "LTX_CONCURRENCY",
        hide_env_values = true
    )]
    pub concurrency: Option<u32>,
    /// Records per page.
    #[arg(long, value_name = "N", env = "LTX_PAGE_SIZE", hide_env_values = true)]
    pub page_size: Option<u32>,
}

impl SourceArgs {
    /// These flags (and their env variables) as config overrides.
    pub fn overrides(
        &self,
        warehouse: Option<PathBuf>,
        log_format: Option<LogFormat>,
    ) -> Overrides {
        Overrides {
            account: self.account.clone(),
            profile: self.profile,
            mode: self.mode,
            base_url: self.base_url.clone(),
            concurrency: self.concurrency,
            page_size: self.page_size,
            warehouse,
            log_format,
        }
    }
}

/// `ltx demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Warehouse directory to create (an existing demo warehouse is synced again).
    #[arg(long, value_name = "DIR", default_value = "./warehouse")]
    pub warehouse: PathBuf,
    /// Conversations in the simulated account.
    #[arg(long, value_name = "N", default_value_t = 2000)]
    pub conversations: u64,
    /// Seed of the simulated account.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
    /// Simulated time that passes between the full and the incremental sync.
    #[arg(long, value_name = "DURATION", default_value = "2h")]
    pub advance: String,
}

/// `ltx sync`.
#[derive(Debug, Clone, Args)]
pub struct SyncArgs {
    /// Pipeline and warehouse.
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// Source overrides.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Ignore the cursor and read everything since sync.start_date (or --from).
    #[arg(long)]
    pub full_refresh: bool,
    /// Start of the window (LiveTex syntax: 2026-01-01, 2026-01-01T10:00:00 = Moscow time,
    /// or with an offset). Implies a window that does not move the cursor back.
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// End of the window [default: the source's clock].
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
    /// Also keep each conversation's raw JSON in the warehouse.
    #[arg(long)]
    pub keep_raw: bool,
}

/// Output format of `query` and `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Aligned table.
    Table,
    /// CSV with a header row.
    Csv,
    /// A JSON array of objects.
    Json,
}

/// `ltx status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Pipeline and warehouse.
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// Output format (json prints the loader's status object).
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    /// Runs to show.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub runs: usize,
}

/// `ltx query`.
#[derive(Debug, Clone, Args)]
pub struct QueryArgs {
    /// The SQL to run.
    #[arg(
        value_name = "SQL",
        required_unless_present = "file",
        conflicts_with = "file"
    )]
    pub sql: Option<String>,
    /// Read the SQL from a file.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    /// Answer from the warehouse as it was right after this run committed, or at this
    /// instant (RFC 3339; a date is its Moscow midnight, as in sync.start_date). Earlier
    /// states are kept for destination.retain_history (30d by default).
    #[arg(long, value_name = "RUN_ID|INSTANT")]
    pub as_of: Option<String>,
    /// Pipeline and warehouse.
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

/// `ltx report`.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// First day of the period (UTC, YYYY-MM-DD) [default: 30 days before --to].
    #[arg(long, value_name = "DATE")]
    pub from: Option<chrono::NaiveDate>,
    /// Last day of the period, included (UTC, YYYY-MM-DD) [default: the last day with data].
    #[arg(long, value_name = "DATE")]
    pub to: Option<chrono::NaiveDate>,
    /// Output file [default: <warehouse>/report.html].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Only this site (site_id).
    #[arg(long, value_name = "ID")]
    pub site: Option<i64>,
    /// Only this department (department_id).
    #[arg(long, value_name = "ID")]
    pub department: Option<i64>,
    /// Pipeline and warehouse.
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

/// `ltx import`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// Files to load.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// The LiveTex account the files are of (source.account) [default: the pipeline's name].
    #[arg(long, value_name = "NAME", env = "LTX_ACCOUNT", hide_env_values = true)]
    pub account: Option<String>,
    /// Pipeline and warehouse.
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

/// `ltx sim`.
#[derive(Debug, Clone, Args)]
pub struct SimArgs {
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Conversations in the simulated account.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub conversations: u64,
    /// Seed of the simulated account.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
    /// Lifetime of web-api access tokens in seconds.
    #[arg(long, value_name = "SECS")]
    pub token_ttl: Option<u64>,
    /// Let the simulated clock tick with wall time (new conversations keep arriving).
    #[arg(long)]
    pub realtime: bool,
    /// Fault: fraction of conversations served with schema drift (1-3 values of a JSON
    /// type the reference does not document, at any depth).
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    pub drift_rate: f64,
    /// Fault: fraction of conversations served with an unreadable `updated_at`.
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    pub bad_record_rate: f64,
    /// Fault: list endpoints ignore `offset` and always serve the first page.
    #[arg(long)]
    pub ignore_offset: bool,
    /// Fault: fraction of list pages at an offset > 0 served as the page before.
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    pub repeat_page_rate: f64,
    /// Fault: add N to every list page's `total` (records announced, never served).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub total_inflate: u64,
    /// Fault: every list page's `total` grows by one per list request.
    #[arg(long)]
    pub total_growing: bool,
    /// Fault: fraction of single-conversation (`show`) requests answered 404.
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    pub show_404_rate: f64,
    /// Fault: answer every API request with a 307 redirect to this base URL.
    #[arg(long, value_name = "URL")]
    pub redirect_to: Option<String>,
    /// Fault: fraction of API requests answered 429 (with `Retry-After: 0` unless
    /// --retry-after says otherwise).
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    pub rate_limited_rate: f64,
    /// Fault: the `Retry-After` sent verbatim with every 429 (e.g. 10000000000000000000,
    /// -5, soon, 1.5, or an HTTP date).
    #[arg(long, value_name = "TEXT")]
    pub retry_after: Option<String>,
    /// Fault: the `Date` header is this many seconds off the simulated clock (e.g. 172800:
    /// two days ahead; negative: behind).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub clock_skew_s: i64,
    /// Fault: 200 answers are gzip bodies that inflate by N MiB (2048 = 2 GiB).
    #[arg(long, value_name = "MIB", default_value_t = 0)]
    pub inflate_body_mb: u64,
    /// Fault: fraction of conversations rendered in list pages as a record that is not JSON.
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    pub non_json_rate: f64,
}

/// `ltx validate`.
#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// Pipeline and warehouse.
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// Source overrides.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Only check the files; do not call the API.
    #[arg(long)]
    pub offline: bool,
}
