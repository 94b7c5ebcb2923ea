//! The one typed configuration of `ltx`: `config/default.toml` (embedded, it *is* the
//! defaults) overlaid by a pipeline file, then by environment / command-line overrides.
//!
//! Validated on load; every error names the file, the key and what is allowed. Secrets
//! never live here: they come from the environment when a command needs them
//! ([`crate::credentials`]). The configuration is built into each stage's own settings
//! ([`Config::extract_config`], [`Config::transform_config`], [`Config::load_options`]);
//! a range a stage owns is checked by that stage's validation, once, and reported here
//! under the key of this file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Datelike, Utc};
use ltx_calendar::{Calendars, CalendarsConfig};
use ltx_extract::{AuthConfig, ExtractConfig, ExtractError, Secret};
use ltx_load::LoadOptions;
use ltx_transform::{
    PiiAction, PiiPolicy, ReferenceLineage, SlaClock, SlaMetric, SlaTarget, Table, TableBatch,
    TableKind, TransformConfig, TransformError,
};
use serde::Deserialize;

pub use crate::duration::parse_duration;
pub use ltx_extract::{Mode, Profile};

/// The documented defaults, embedded so that `ltx` works from any directory.
pub const DEFAULT_TOML: &str = include_str!("../../../config/default.toml");

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {file}: {source}")]
    Read {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{file} is not valid TOML: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A key is unknown or has a value of the wrong type / not among the allowed ones.
    #[error("{file}: key `{key}`: {message}")]
    Key {
        /// The file (or `--flag / LTX_ENV` for overrides).
        file: String,
        /// Dotted key path, e.g. `source.mode`.
        key: String,
        /// What is wrong and what is allowed.
        message: String,
    },
}

/// Log line format on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (for schedulers).
    Json,
}

/// The whole configuration (sections as in `config/default.toml`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Name of the job, recorded with every run.
    pub name: String,
    /// Where the data comes from.
    pub source: SourceConfig,
    /// Windows and batching of a sync.
    pub sync: SyncConfig,
    /// Personal-data policy.
    pub personal_data: PersonalData,
    /// Where the data goes.
    pub destination: Destination,
    /// Business calendars: working hours, holidays, who follows which.
    pub calendars: CalendarsConfig,
    /// SLA targets.
    pub sla: SlaConfig,
    /// Logging.
    pub log: LogConfig,
}

/// `[sla]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaConfig {
    /// The targets; the most specific one of a metric wins for an item.
    pub targets: Vec<SlaTargetConfig>,
}

/// One entry of `sla.targets`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaTargetConfig {
    /// What is measured.
    pub metric: SlaMetric,
    /// The promise (`60s`, `4h`, `1d`).
    pub target: String,
    /// Business (working time of the item's calendar, the default) or calendar time.
    #[serde(default = "business_clock")]
    pub clock: SlaClock,
    /// Only items of this site.
    #[serde(default)]
    pub site_id: Option<i64>,
    /// Only items of this department.
    #[serde(default)]
    pub department_id: Option<i64>,
}

fn business_clock() -> SlaClock {
    SlaClock::Business
}

/// `[source]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// The LiveTex account synced; empty = derived from the pipeline's name
    /// ([`Config::account`]).
    pub account: String,
    /// API profile.
    pub profile: Profile,
    /// Root URL; empty = the profile's public URL.
    pub base_url: String,
    /// list or discover.
    pub mode: Mode,
    /// Records per page (0 = the profile's maximum).
    pub page_size: u32,
    /// Requests in flight.
    pub concurrency: u32,
    /// Requests per second (0 = unlimited).
    pub rate_limit_per_s: f64,
    /// Request timeout in seconds.
    pub timeout_s: u64,
    /// Retries per request.
    pub max_retries: u32,
    /// Longest `Retry-After` honoured (`5m`); a longer one fails the run at once.
    pub max_retry_wait: String,
    /// Largest response body read, in MiB after decompression.
    pub max_response_mb: u64,
    /// How far the API's `Date` may be from the local clock and still be trusted (`5m`).
    pub max_clock_skew: String,
}

impl SourceConfig {
    /// `base_url`, or the profile's public URL when empty.
    pub fn effective_base_url(&self) -> &str {
        if self.base_url.trim().is_empty() {
            self.profile.default_base_url()
        } else {
            self.base_url.trim()
        }
    }
}

/// `[sync]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncConfig {
    /// First date a full sync reads from (LiveTex datetime syntax; naive = Moscow).
    pub start_date: String,
    /// Overlap re-read before the cursor (`1h`, `90s`, `1h30m`).
    pub lookback: String,
    /// Conversations buffered between extract and transform.
    pub channel_capacity: usize,
    /// Rows per Arrow batch.
    pub batch_rows: usize,
    /// Transform threads (0 = one per core).
    pub transform_workers: usize,
    /// Size of the windows a sync range is split into (paged concurrently).
    pub window: String,
    /// The newest `settle` of source time is left to the next sync (records still changing).
    pub settle: String,
    /// Tables to load (empty = all).
    pub tables: Vec<String>,
    /// Deadline of a whole run (`2h`; `0` = none): past it the run fails, nothing of it is
    /// committed, and the warehouse lock is released.
    pub max_duration: String,
    /// Keep every conversation version a sync replaces (`conversations_history`); off,
    /// replaced versions are discarded.
    pub history: bool,
}

impl SyncConfig {
    /// Transform threads to start: `transform_workers`, or one per core when 0.
    pub fn workers(&self) -> usize {
        match self.transform_workers {
            0 => ltx_transform::pool::default_workers(),
            n => n,
        }
    }

    /// `start_date` as UTC (validated on load).
    pub fn start(&self) -> Result<DateTime<Utc>, ConfigError> {
        ltx_model::parse_api_datetime(&self.start_date).map_err(|e| ConfigError::Key {
            file: "config".into(),
            key: "sync.start_date".into(),
            message: format!("{e}; expected a date like 2024-01-01 or a datetime"),
        })
    }

    /// `lookback` as a duration (validated on load).
    pub fn lookback_duration(&self) -> Result<Duration, ConfigError> {
        parse_duration(&self.lookback).map_err(|message| ConfigError::Key {
            file: "config".into(),
            key: "sync.lookback".into(),
            message,
        })
    }

    /// `max_duration` as a deadline; `None` for `0` (validated on load).
    pub fn max_run_time(&self) -> Result<Option<Duration>, ConfigError> {
        let d = parse_duration(&self.max_duration).map_err(|message| ConfigError::Key {
            file: "config".into(),
            key: "sync.max_duration".into(),
            message,
        })?;
        Ok((!d.is_zero()).then_some(d))
    }

    /// Whether batches of `table` are written (quality, rejected and reference rows always
    /// are).
    pub fn loads(&self, table: Table) -> bool {
        matches!(
            table.kind(),
            TableKind::Quality | TableKind::Rejected | TableKind::Reference
        ) || self.tables.is_empty()
            || self.tables.iter().any(|t| t == table.name())
    }
}

/// `[personal_data]`: one action per class of personal data.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonalData {
    /// Names (visitors.name/nickname, leads.name).
    pub names: PiiAction,
    /// Every email column.
    pub emails: PiiAction,
    /// Every phone column.
    pub phones: PiiAction,
    /// visitors.last_ip.
    pub ips: PiiAction,
    /// Free text written by or about people: chat_messages.text, leads.text/answer_text,
    /// complaints.text, conversation_events.event_text, chats.employee_remark,
    /// visitors.comment/ban_reason.
    pub message_texts: PiiAction,
    /// Prechat forms, prechats and visitor variables (free-form JSON): keep, hash (same
    /// shape, every value hashed) or drop; unset = the strictest of names, emails, phones.
    #[serde(default)]
    pub form_fields: Option<PiiAction>,
}

impl PersonalData {
    /// The transform's policy, with the salt (a secret from `LTX_PII_SALT`).
    pub fn policy(&self, salt: String) -> PiiPolicy {
        PiiPolicy {
            names: self.names,
            emails: self.emails,
            phones: self.phones,
            ips: self.ips,
            message_texts: self.message_texts,
            form_fields: self.form_fields,
            salt,
        }
    }

    /// Whether any class is hashed (then a salt is needed).
    pub fn hashes_anything(&self) -> bool {
        [
            self.names,
            self.emails,
            self.phones,
            self.ips,
            self.message_texts,
            self.form_fields.unwrap_or_default(),
        ]
        .contains(&PiiAction::Hash)
    }
}

/// `[destination]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Destination {
    /// Warehouse directory.
    pub warehouse: PathBuf,
    /// DuckDB storage version of `warehouse.duckdb` (`vX.Y.Z`): the oldest DuckDB that
    /// can open the catalog.
    pub duckdb_storage_version: String,
    /// How long earlier states stay readable with `ltx query --as-of` (`30d`; `0` = only the
    /// grace period readers of an older catalog get), with the files they need.
    pub retain_history: String,
}

impl Destination {
    /// `retain_history` as a duration (validated on load).
    pub fn retain_history_duration(&self) -> Result<Duration, ConfigError> {
        parse_duration(&self.retain_history).map_err(|message| ConfigError::Key {
            file: "config".into(),
            key: "destination.retain_history".into(),
            message,
        })
    }
}

/// `[log]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// text or json.
    pub format: LogFormat,
    /// tracing filter directives.
    pub level: String,
}

/// Values from flags and `LTX_…` variables (clap reads both; flags win), applied over the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--account` / `LTX_ACCOUNT`.
    pub account: Option<String>,
    /// `--profile` / `LTX_PROFILE`.
    pub profile: Option<Profile>,
    /// `--mode` / `LTX_MODE`.
    pub mode: Option<Mode>,
    /// `--base-url` / `LTX_BASE_URL`.
    pub base_url: Option<String>,
    /// `--concurrency` / `LTX_CONCURRENCY`.
    pub concurrency: Option<u32>,
    /// `--page-size` / `LTX_PAGE_SIZE`.
    pub page_size: Option<u32>,
    /// `--warehouse` / `LTX_WAREHOUSE`.
    pub warehouse: Option<PathBuf>,
    /// `--log-format` / `LTX_LOG_FORMAT`.
    pub log_format: Option<LogFormat>,
}

/// Where the configuration came from (for messages).
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The merged, validated configuration.
    pub config: Config,
    /// The pipeline file, if one was read.
    pub file: Option<PathBuf>,
}

impl Config {
    /// The embedded defaults (`config/default.toml`).
    pub fn defaults() -> Result<Config, ConfigError> {
        let value = parse_toml("config/default.toml (built in)", DEFAULT_TOML)?;
        from_value("config/default.toml (built in)", value)
    }

    /// Defaults overlaid by `file` (when given), then by `overrides`; validated.
    ///
    /// A missing file is an error only when `required` (the user named it); the
    /// default pipeline path may be absent.
    pub fn load(
        file: Option<&Path>,
        required: bool,
        overrides: &Overrides,
    ) -> Result<Loaded, ConfigError> {
        let mut merged = parse_toml("config/default.toml (built in)", DEFAULT_TOML)?;
        let mut used = None;
        let mut label = "config/default.toml (built in)".to_owned();
        if let Some(path) = file {
            match std::fs::read_to_string(path) {
                Ok(text) => {
                    label = path.display().to_string();
                    let overlay = parse_toml(&label, &text)?;
                    merge(&mut merged, overlay);
                    used = Some(path.to_path_buf());
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {}
                Err(source) => {
                    return Err(ConfigError::Read {
                        file: path.to_path_buf(),
                        source,
                    })
                }
            }
        }
        let mut config = from_value(&label, merged)?;
        config.apply(overrides);
        config.validate(&label)?;
        Ok(Loaded { config, file: used })
    }

    fn apply(&mut self, o: &Overrides) {
        if let Some(a) = &o.account {
            self.source.account = a.clone();
        }
        if let Some(p) = o.profile {
            self.source.profile = p;
        }
        if let Some(m) = o.mode {
            self.source.mode = m;
        }
        if let Some(u) = &o.base_url {
            self.source.base_url = u.clone();
        }
        if let Some(c) = o.concurrency {
            self.source.concurrency = c;
        }
        if let Some(p) = o.page_size {
            self.source.page_size = p;
        }
        if let Some(w) = &o.warehouse {
            self.destination.warehouse = w.clone();
        }
        if let Some(f) = o.log_format {
            self.log.format = f;
        }
    }

    /// Checks ranges and syntax of every value; `file` names where values came from.
    pub fn validate(&self, file: &str) -> Result<(), ConfigError> {
        let err = |key: &str, message: String| ConfigError::Key {
            file: file.to_owned(),
            key: key.to_owned(),
            message,
        };
        let name_ok = !self.name.is_empty()
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !name_ok {
            return Err(err(
                "name",
                format!(
                    "{:?} is not allowed; use ASCII letters, digits, '-', '_' and '.'",
                    self.name
                ),
            ));
        }
        if let Err(reason) = ltx_transform::valid_account(&self.account()) {
            return Err(err("source.account", reason));
        }
        parse_duration(&self.sync.max_duration).map_err(|m| err("sync.max_duration", m))?;
        if self.sync.channel_capacity == 0 || self.sync.channel_capacity > 1_000_000 {
            return Err(err(
                "sync.channel_capacity",
                format!(
                    "{} is out of range; allowed 1..=1000000",
                    self.sync.channel_capacity
                ),
            ));
        }
        if self.sync.transform_workers > 256 {
            return Err(err(
                "sync.transform_workers",
                format!(
                    "{} is out of range; allowed 0..=256 (0 = one per CPU core)",
                    self.sync.transform_workers
                ),
            ));
        }
        for t in &self.sync.tables {
            let ok = Table::from_name(t)
                .is_some_and(|t| matches!(t.kind(), TableKind::Fact | TableKind::Dimension));
            if !ok {
                let allowed: Vec<&str> = Table::ALL
                    .iter()
                    .filter(|t| matches!(t.kind(), TableKind::Fact | TableKind::Dimension))
                    .map(|t| t.name())
                    .collect();
                return Err(err(
                    "sync.tables",
                    format!("unknown table {t:?}; allowed: {}", allowed.join(", ")),
                ));
            }
        }
        self.calendars().map_err(|e| match e {
            ltx_calendar::CalendarError::Key { key, message } => err(&key, message),
            other => err("calendars", other.to_string()),
        })?;
        self.sla_targets()
            .map_err(|(key, message)| err(&key, message))?;
        if self.destination.warehouse.as_os_str().is_empty() {
            return Err(err("destination.warehouse", "must not be empty".to_owned()));
        }
        parse_duration(&self.destination.retain_history)
            .map_err(|m| err("destination.retain_history", m))?;
        let version = &self.destination.duckdb_storage_version;
        ltx_load::check_storage_version(version).map_err(|e| {
            let message = match e {
                ltx_load::LoadError::StorageVersion { message, .. } => message,
                other => other.to_string(),
            };
            err(
                "destination.duckdb_storage_version",
                format!("{version:?}: {message}"),
            )
        })?;
        if self.log.level.trim().is_empty() {
            return Err(err(
                "log.level",
                "must not be empty; e.g. info, debug, ltx_extract=debug".to_owned(),
            ));
        }
        // The stages check the ranges they own; their keys are this file's keys.
        self.build_extract_config(AuthConfig::Token {
            token: Secret::new(String::new()),
        })
        .map_err(|e| e.in_file(file))?;
        self.transform_config("validate", Utc::now(), String::new())
            .map_err(|e| e.in_file(file))?;
        Ok(())
    }

    /// The LiveTex account synced: `source.account`, or when empty the pipeline's name
    /// made an account name (see [`ltx_transform::account_from_pipeline`]).
    pub fn account(&self) -> String {
        let set = self.source.account.trim();
        if set.is_empty() {
            ltx_transform::account_from_pipeline(&self.name)
        } else {
            set.to_owned()
        }
    }

    /// The extractor's settings, with the credentials (from the environment, see
    /// [`crate::credentials::auth_from_env`]); validated.
    pub fn extract_config(&self, auth: AuthConfig) -> Result<ExtractConfig, ConfigError> {
        ltx_extract::auth::validate_credentials(&auth).map_err(extract_key)?;
        self.build_extract_config(auth)
    }

    fn build_extract_config(&self, auth: AuthConfig) -> Result<ExtractConfig, ConfigError> {
        let s = &self.source;
        let duration = |key: &str, text: &str| {
            parse_duration(text).map_err(|message| ConfigError::Key {
                file: "config".into(),
                key: key.to_owned(),
                message,
            })
        };
        let mut e = ExtractConfig::new(s.profile, auth);
        e.base_url = Some(s.effective_base_url().to_owned());
        e.mode = s.mode;
        e.page_size = (s.page_size > 0).then_some(s.page_size);
        e.concurrency = s.concurrency as usize;
        e.rate_limit_per_s = (s.rate_limit_per_s != 0.0).then_some(s.rate_limit_per_s);
        e.max_attempts = s.max_retries.saturating_add(1);
        e.request_timeout = Duration::from_secs(s.timeout_s);
        e.window = duration("sync.window", &self.sync.window)?;
        e.settle = duration("sync.settle", &self.sync.settle)?;
        e.lookback = self.sync.lookback_duration()?;
        e.start_date = Some(self.sync.start()?);
        e.max_retry_wait = duration("source.max_retry_wait", &s.max_retry_wait)?;
        e.max_response_mb = s.max_response_mb;
        e.max_clock_skew = duration("source.max_clock_skew", &s.max_clock_skew)?;
        e.validate().map_err(extract_key)?;
        Ok(e)
    }

    /// The transform's settings for one run; `salt` is `LTX_PII_SALT`'s value.
    pub fn transform_config(
        &self,
        run_id: &str,
        synced_at: DateTime<Utc>,
        salt: String,
    ) -> Result<TransformConfig, ConfigError> {
        let t = TransformConfig {
            batch_rows: self.sync.batch_rows,
            pii: self.personal_data.policy(salt),
            run_id: run_id.to_owned(),
            synced_at,
            account: self.account(),
        };
        t.validate().map_err(|e| match e {
            TransformError::InvalidConfig { key, reason } => ConfigError::Key {
                file: "config".into(),
                key: format!("sync.{key}"),
                message: reason,
            },
            other => ConfigError::Key {
                file: "config".into(),
                key: "sync".into(),
                message: other.to_string(),
            },
        })?;
        Ok(t)
    }

    /// The compiled business calendars (validated on load).
    pub fn calendars(&self) -> Result<Calendars, ltx_calendar::CalendarError> {
        self.calendars.compile()
    }

    /// The SLA targets, checked: a duration above zero, one target per metric, site and
    /// department. The error is `(key, message)`.
    pub fn sla_targets(&self) -> Result<Vec<SlaTarget>, (String, String)> {
        let mut out: Vec<SlaTarget> = Vec::with_capacity(self.sla.targets.len());
        for (i, t) in self.sla.targets.iter().enumerate() {
            let key = format!("sla.targets[{i}].target");
            let d = parse_duration(&t.target).map_err(|m| (key.clone(), m))?;
            let target_s = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            if target_s == 0 {
                return Err((key, format!("{:?} must be at least 1s", t.target)));
            }
            if let Some(o) = out.iter().find(|o| {
                o.metric == t.metric && o.site_id == t.site_id && o.department_id == t.department_id
            }) {
                return Err((
                    format!("sla.targets[{i}]"),
                    format!(
                        "a second {} target for site {:?} and department {:?} (the first says {}s)",
                        t.metric.name(),
                        t.site_id,
                        t.department_id,
                        o.target_s
                    ),
                ));
            }
            out.push(SlaTarget {
                metric: t.metric,
                site_id: t.site_id,
                department_id: t.department_id,
                clock: t.clock,
                target_s,
            });
        }
        Ok(out)
    }

    /// The reference tables of a run (business intervals, calendar assignments, SLA
    /// targets) for the years from the earlier of `sync.start_date` and the first year of
    /// the Russian production calendar to next year; warns about years up to `now` that a
    /// production calendar in use does not cover.
    pub fn reference_batches(
        &self,
        run_id: &str,
        synced_at: DateTime<Utc>,
    ) -> Result<Vec<TableBatch>, ConfigError> {
        let key = |key: &str, message: String| ConfigError::Key {
            file: "config".into(),
            key: key.into(),
            message,
        };
        let calendars = self
            .calendars()
            .map_err(|e| key("calendars", e.to_string()))?;
        let targets = self.sla_targets().map_err(|(k, m)| key(&k, m))?;
        let this_year = synced_at.year();
        let first = ltx_calendar::ru_years()
            .first()
            .copied()
            .unwrap_or(this_year)
            .min(self.sync.start()?.year());
        let (batches, missing) = ltx_transform::reference_batches(
            &calendars,
            first..=this_year + 1,
            &targets,
            ReferenceLineage {
                synced_at,
                run_id,
                account: &self.account(),
            },
        )
        .map_err(|e| key("calendars", e.to_string()))?;
        let missing: Vec<i32> = missing.into_iter().filter(|y| *y <= this_year).collect();
        if !missing.is_empty() {
            tracing::warn!(
                years = ?missing,
                "the production calendar has no data for these years: business time there follows the weekly hours only (add holidays to the schedule)"
            );
        }
        Ok(batches)
    }

    /// The loader's settings: its defaults (the embedded BI models; `LTX_CRASH_AT` armed
    /// for tests), the catalog's storage version and what history it keeps.
    pub fn load_options(&self) -> LoadOptions {
        let defaults = LoadOptions::default();
        LoadOptions {
            duckdb_storage_version: self.destination.duckdb_storage_version.clone(),
            history: self.sync.history,
            // A warehouse written before accounts becomes this pipeline's account's.
            legacy_account: Some(self.account()),
            // Validated on load: a configuration that reaches here parses.
            retain_history: self
                .destination
                .retain_history_duration()
                .unwrap_or(defaults.retain_history),
            ..defaults
        }
    }
}

/// An extractor configuration error under this file's key.
fn extract_key(e: ExtractError) -> ConfigError {
    match e {
        ExtractError::Config { key, message } => ConfigError::Key {
            // Credentials come from the environment, everything else from the file.
            file: if key.starts_with("LIVETEX_") {
                "environment".into()
            } else {
                "config".into()
            },
            key: key.to_owned(),
            message,
        },
        other => ConfigError::Key {
            file: "config".into(),
            key: "source".into(),
            message: other.to_string(),
        },
    }
}

impl ConfigError {
    /// The same error, naming `file` as where the value came from.
    fn in_file(self, file: &str) -> ConfigError {
        match self {
            ConfigError::Key { key, message, .. } => ConfigError::Key {
                file: file.to_owned(),
                key,
                message,
            },
            other => other,
        }
    }
}

fn parse_toml(file: &str, text: &str) -> Result<toml::Value, ConfigError> {
    text.parse::<toml::Table>()
        .map(toml::Value::Table)
        .map_err(|e| ConfigError::Syntax {
            file: file.to_owned(),
            message: e.to_string().trim().to_owned(),
        })
}

fn from_value(file: &str, value: toml::Value) -> Result<Config, ConfigError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner().to_string();
        // serde names an unknown field but not the section it was found in; the path does.
        ConfigError::Key {
            file: file.to_owned(),
            key: if key == "." {
                "(top level)".to_owned()
            } else {
                key
            },
            message: inner,
        }
    })
}

/// Overlays `overlay` on `base`, table by table (arrays and scalars are replaced).
fn merge(base: &mut toml::Value, overlay: toml::Value) {
    match (base, overlay) {
        (toml::Value::Table(b), toml::Value::Table(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing) if existing.is_table() && v.is_table() => merge(existing, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[test]
    fn the_documented_calendars_and_targets_are_the_built_in_ones() {
        let c = Config::defaults().unwrap();
        assert_eq!(c.calendars, ltx_calendar::CalendarsConfig::default());
        let targets = c.sla_targets().unwrap();
        let metrics: Vec<&str> = targets.iter().map(|t| t.metric.name()).collect();
        assert_eq!(
            metrics,
            ["chat_first_answer", "lead_answer", "complaint_first_action"]
        );
        assert_eq!(targets[0].target_s, 60);
        assert_eq!(targets[1].target_s, 4 * 3600);
    }

    use super::*;

    fn write(dir: &tempfile::TempDir, text: &str) -> PathBuf {
        let p = dir.path().join("p.toml");
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn defaults_parse_and_validate() {
        let c = Config::defaults().unwrap();
        c.validate("default").unwrap();
        assert_eq!(c.source.profile, Profile::V2);
        assert_eq!(c.source.mode, Mode::List);
        assert_eq!(
            c.sync.lookback_duration().unwrap(),
            Duration::from_secs(3600)
        );
        assert_eq!(c.source.max_retry_wait, "5m");
        assert_eq!(c.source.max_response_mb, 64);
        assert_eq!(c.source.max_clock_skew, "5m");
        assert_eq!(
            c.sync.max_run_time().unwrap(),
            Some(Duration::from_secs(2 * 3600))
        );
    }

    #[test]
    fn hostile_api_limits_are_validated_and_zero_means_no_deadline() {
        let d = tempfile::tempdir().unwrap();
        for (text, key) in [
            (
                "[source]\nmax_retry_wait = \"soon\"\n",
                "source.max_retry_wait",
            ),
            ("[source]\nmax_response_mb = 0\n", "source.max_response_mb"),
            (
                "[source]\nmax_clock_skew = \"-5m\"\n",
                "source.max_clock_skew",
            ),
            ("[sync]\nmax_duration = \"2 hours\"\n", "sync.max_duration"),
        ] {
            let e = Config::load(Some(&write(&d, text)), true, &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(e.contains(key), "{e}");
        }
        let c = Config::load(
            Some(&write(&d, "[sync]\nmax_duration = \"0\"\n")),
            true,
            &Overrides::default(),
        )
        .unwrap()
        .config;
        assert_eq!(c.sync.max_run_time().unwrap(), None);
    }

    #[test]
    fn shipped_pipelines_are_valid() {
        for f in ["livetex.toml", "livetex-webapi.toml"] {
            let p = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../pipelines")
                .join(f);
            let l = Config::load(Some(&p), true, &Overrides::default()).unwrap();
            assert!(l.file.is_some());
        }
    }

    #[test]
    fn form_fields_are_configurable_and_default_to_the_strictest_contact_class() {
        let d = tempfile::tempdir().unwrap();
        let load = |text: &str| {
            Config::load(Some(&write(&d, text)), true, &Overrides::default())
                .unwrap()
                .config
                .personal_data
        };
        // Unset: derived by the transform from names/emails/phones (phones drop here).
        let pd = load("[personal_data]\nphones = \"drop\"\n");
        assert_eq!(pd.form_fields, None);
        let policy = pd.policy(String::new());
        assert_eq!(policy.form_fields_action(), PiiAction::Drop);
        assert!(!pd.hashes_anything());
        // Set: as given, and a hashed form needs the salt.
        let pd = load("[personal_data]\nform_fields = \"hash\"\n");
        assert_eq!(pd.form_fields, Some(PiiAction::Hash));
        assert!(pd.hashes_anything());
        let e = Config::load(
            Some(&write(&d, "[personal_data]\nform_fields = \"mask\"\n")),
            true,
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("form_fields") && e.contains("hash"), "{e}");
    }

    #[test]
    fn unknown_key_names_section_and_file() {
        let d = tempfile::tempdir().unwrap();
        let p = write(&d, "[source]\npagesize = 10\n");
        let e = Config::load(Some(&p), true, &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("p.toml"), "{e}");
        assert!(e.contains("source"), "{e}");
        assert!(e.contains("pagesize"), "{e}");
        assert!(e.contains("page_size"), "{e}"); // the allowed keys are listed
    }

    #[test]
    fn bad_enum_lists_allowed_values() {
        let d = tempfile::tempdir().unwrap();
        let p = write(&d, "[source]\nmode = \"lst\"\n");
        let e = Config::load(Some(&p), true, &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("source.mode"), "{e}");
        assert!(e.contains("list") && e.contains("discover"), "{e}");
    }

    #[test]
    fn range_errors_name_key() {
        let d = tempfile::tempdir().unwrap();
        let p = write(&d, "[source]\nprofile = \"web-api\"\npage_size = 100\n");
        let e = Config::load(Some(&p), true, &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("source.page_size") && e.contains("1..=50"),
            "{e}"
        );
        let p = write(&d, "[sync]\ntables = [\"chatz\"]\n");
        let e = Config::load(Some(&p), true, &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("sync.tables") && e.contains("chat_messages"),
            "{e}"
        );
    }

    #[test]
    fn duckdb_storage_version_is_checked_and_reaches_the_loader() {
        let d = tempfile::tempdir().unwrap();
        let c = Config::defaults().unwrap();
        assert_eq!(c.load_options().duckdb_storage_version, "v1.1.0");
        let p = write(&d, "[destination]\nduckdb_storage_version = \"v1.4.0\"\n");
        let c = Config::load(Some(&p), true, &Overrides::default())
            .unwrap()
            .config;
        assert_eq!(c.load_options().duckdb_storage_version, "v1.4.0");
        for (bad, why) in [
            ("1.4", "expected vX.Y.Z"),
            ("v1.0.0", "older than v1.1.0"),
            ("v9.9.9", "not a known DuckDB version"),
        ] {
            let text = format!("[destination]\nduckdb_storage_version = \"{bad}\"\n");
            let p = write(&d, &text);
            let e = Config::load(Some(&p), true, &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("destination.duckdb_storage_version") && e.contains(why),
                "{e}"
            );
        }
    }

    #[test]
    fn history_settings_reach_the_loader_and_are_validated() {
        let d = tempfile::tempdir().unwrap();
        let c = Config::defaults().unwrap();
        assert!(c.load_options().history);
        assert_eq!(
            c.load_options().retain_history,
            Duration::from_secs(30 * 86_400)
        );
        let p = write(
            &d,
            "[sync]\nhistory = false\n[destination]\nretain_history = \"0\"\n",
        );
        let c = Config::load(Some(&p), true, &Overrides::default())
            .unwrap()
            .config;
        let o = c.load_options();
        assert!(!o.history);
        assert_eq!(o.retain_history, Duration::ZERO);
        assert_eq!(o.keep_retired(), o.retire_grace);
        let p = write(&d, "[destination]\nretain_history = \"a month\"\n");
        let e = Config::load(Some(&p), true, &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("destination.retain_history"), "{e}");
    }

    #[test]
    fn overrides_beat_file() {
        let d = tempfile::tempdir().unwrap();
        let p = write(&d, "[source]\nmode = \"discover\"\nconcurrency = 2\n");
        let o = Overrides {
            mode: Some(Mode::List),
            warehouse: Some("/tmp/w".into()),
            ..Overrides::default()
        };
        let c = Config::load(Some(&p), true, &o).unwrap().config;
        assert_eq!(c.source.mode, Mode::List);
        assert_eq!(c.source.concurrency, 2);
        assert_eq!(c.destination.warehouse, PathBuf::from("/tmp/w"));
    }

    #[test]
    fn account_defaults_to_the_pipeline_name() {
        let d = tempfile::tempdir().unwrap();
        let c = Config::defaults().unwrap();
        assert_eq!(c.source.account, "");
        assert_eq!(c.account(), "livetex");
        let p = write(&d, "name = \"Acme.Holding EU\"\n");
        let o = Overrides::default();
        let e = Config::load(Some(&p), true, &o).unwrap_err().to_string();
        // The name itself may not hold a space; with a valid name the account is derived.
        assert!(e.contains("`name`"), "{e}");
        let p = write(&d, "name = \"Acme.Holding-EU\"\n");
        let c = Config::load(Some(&p), true, &o).unwrap().config;
        assert_eq!(c.account(), "acme_holding-eu");
        let c = c.transform_config("r1", Utc::now(), String::new()).unwrap();
        assert_eq!(c.account, "acme_holding-eu");
    }

    #[test]
    fn account_is_set_in_the_file_and_overridden_by_flag_or_env() {
        let d = tempfile::tempdir().unwrap();
        let p = write(&d, "[source]\naccount = \"acme\"\n");
        let c = Config::load(Some(&p), true, &Overrides::default())
            .unwrap()
            .config;
        assert_eq!(c.account(), "acme");
        let o = Overrides {
            account: Some("globex-2".into()),
            ..Overrides::default()
        };
        let c = Config::load(Some(&p), true, &o).unwrap().config;
        assert_eq!(c.account(), "globex-2");
        let lineage = c
            .reference_batches("r1", Utc::now())
            .unwrap()
            .into_iter()
            .map(|b| b.partition)
            .collect::<Vec<_>>();
        assert!(lineage.iter().all(|p| p == "globex-2/all"), "{lineage:?}");
    }

    #[test]
    fn invalid_accounts_are_refused_naming_the_key() {
        let d = tempfile::tempdir().unwrap();
        let long = "a".repeat(65);
        for bad in [
            "Acme",
            "-acme",
            "_acme",
            "ac me",
            "acme/eu",
            "é",
            long.as_str(),
        ] {
            let p = write(&d, &format!("[source]\naccount = {bad:?}\n"));
            let e = Config::load(Some(&p), true, &Overrides::default())
                .unwrap_err()
                .to_string();
            assert!(e.contains("`source.account`"), "{bad}: {e}");
            // The same from the flag or LTX_ACCOUNT.
            let o = Overrides {
                account: Some(bad.to_owned()),
                ..Overrides::default()
            };
            let e = Config::load(None, false, &o).unwrap_err().to_string();
            assert!(e.contains("`source.account`"), "{bad}: {e}");
        }
        for ok in ["a", "0acme", "acme_eu-2", "a".repeat(64).as_str()] {
            let o = Overrides {
                account: Some(ok.to_owned()),
                ..Overrides::default()
            };
            assert!(Config::load(None, false, &o).is_ok(), "{ok}");
        }
    }

    #[test]
    fn missing_default_file_is_fine_named_file_is_not() {
        let p = Path::new("/nonexistent/ltx.toml");
        assert!(Config::load(Some(p), false, &Overrides::default()).is_ok());
        assert!(Config::load(Some(p), true, &Overrides::default()).is_err());
    }

    #[test]
    fn tables_filter_keeps_quality() {
        let mut c = Config::defaults().unwrap();
        c.sync.tables = vec!["conversations".into()];
        assert!(c.sync.loads(Table::Conversations));
        assert!(!c.sync.loads(Table::Chats));
        assert!(c.sync.loads(Table::QualityIssues));
        assert!(c.sync.loads(Table::Rejected));
    }
}
