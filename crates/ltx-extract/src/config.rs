//! `ExtractConfig`: the serde config of the extractor, its defaults and validation.
//!
//! Durations are written as a number of seconds (`30`, `0.5`) or a string with a
//! unit (`"500ms"`, `"30s"`, `"10m"`, `"1h"`, `"1d"`). Datetimes accept everything
//! [`ltx_model::parse_api_datetime`] reads (naive values are Moscow time).

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

use crate::error::ExtractError;
use crate::profile::Profile;

/// A secret string (token, password). Debug and Display print `***`; the value is
/// only reachable through [`Secret::expose`], used when building a request.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only to put it on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How requests are authenticated.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(tag = "method", rename_all = "lowercase", deny_unknown_fields)]
pub enum AuthConfig {
    /// A static Bearer token (the v2 API).
    Token {
        /// The access token.
        token: Secret,
    },
    /// OAuth 2.0 password grant at `POST {base}/oauth2/token` (the web-api).
    Password {
        /// The account login (e-mail).
        login: String,
        /// The account password.
        password: Secret,
    },
}

/// Which endpoints enumerate changed conversations.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Page the conversations list itself (full objects).
    #[default]
    List,
    /// Page chats/calls/leads/complaints, collect conversation ids, fetch each.
    Discover,
}

/// Configuration of one extractor (one LiveTex account).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractConfig {
    /// Base URL; `None` takes the profile's default (`https://api.livetex.ru` / `https://web-api.livetex.ru`).
    #[serde(default)]
    pub base_url: Option<String>,
    /// API profile (`v2` or `web-api`).
    #[serde(default)]
    pub profile: Profile,
    /// Credentials.
    pub auth: AuthConfig,
    /// `list` or `discover`.
    #[serde(default)]
    pub mode: Mode,
    /// Records per page; `None` = the profile's default (100 v2, 50 web-api), capped by the profile.
    #[serde(default)]
    pub page_size: Option<u32>,
    /// Maximum concurrent requests (and concurrently paged windows).
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Client-side request rate limit (requests per second, shared by all tasks).
    #[serde(default)]
    pub rate_limit_per_s: Option<f64>,
    /// Attempts per request before giving up on transient failures.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Timeout of one HTTP request (connect + body).
    #[serde(default = "default_request_timeout", deserialize_with = "de_duration")]
    pub request_timeout: Duration,
    /// First backoff step; attempt n sleeps a random time in `[0, min(max, base·2ⁿ))`.
    #[serde(default = "default_backoff_base", deserialize_with = "de_duration")]
    pub backoff_base: Duration,
    /// Backoff ceiling.
    #[serde(default = "default_backoff_max", deserialize_with = "de_duration")]
    pub backoff_max: Duration,
    /// Size of the windows a sync range is split into (paged concurrently).
    #[serde(default = "default_window", deserialize_with = "de_duration")]
    pub window: Duration,
    /// The newest `settle` of source time is left to the next sync (records still changing).
    #[serde(default = "default_settle", deserialize_with = "de_duration")]
    pub settle: Duration,
    /// An incremental sync starts `lookback` before the cursor (late arrivals).
    #[serde(default = "default_lookback", deserialize_with = "de_duration")]
    pub lookback: Duration,
    /// Start of the first sync and of full refreshes.
    #[serde(default, deserialize_with = "de_opt_datetime")]
    pub start_date: Option<DateTime<Utc>>,
    /// Capacity of the conversation channel the CLI creates (backpressure).
    #[serde(default = "default_channel_capacity")]
    pub channel_capacity: usize,
    /// Top-level conversation fields requested (`fields=`) on conversation list and
    /// single-conversation requests; `None` = every stored field
    /// ([`crate::fields::CONVERSATION_FIELDS`]). Must include `id` and `updated_at`.
    #[serde(default)]
    pub fields: Option<Vec<String>>,
    /// The longest `Retry-After` honoured. A server asking for a longer wait fails the
    /// run at once, naming the request and the wait, instead of holding the warehouse
    /// lock for it.
    #[serde(default = "default_max_retry_wait", deserialize_with = "de_duration")]
    pub max_retry_wait: Duration,
    /// Largest response body read, in MiB, after decompression: a larger one fails the
    /// request (not retried: the same request would send the same body), so one response
    /// cannot take the process's memory.
    #[serde(default = "default_max_response_mb")]
    pub max_response_mb: u64,
    /// How far the API's `Date` may be from the local clock and still be the sync's "now".
    /// Beyond it ltx warns and takes the earlier of the two clocks, so that the cursor never
    /// passes local time (a server dated ahead would otherwise skip what changes meanwhile).
    #[serde(default = "default_max_clock_skew", deserialize_with = "de_duration")]
    pub max_clock_skew: Duration,
}

fn default_concurrency() -> usize {
    4
}
fn default_max_attempts() -> u32 {
    6
}
fn default_request_timeout() -> Duration {
    Duration::from_secs(30)
}
fn default_backoff_base() -> Duration {
    Duration::from_millis(250)
}
fn default_backoff_max() -> Duration {
    Duration::from_secs(30)
}
fn default_window() -> Duration {
    Duration::from_secs(24 * 3600)
}
fn default_settle() -> Duration {
    Duration::from_secs(10)
}
fn default_lookback() -> Duration {
    Duration::from_secs(3600)
}
fn default_channel_capacity() -> usize {
    1024
}
fn default_max_retry_wait() -> Duration {
    Duration::from_secs(300)
}
fn default_max_response_mb() -> u64 {
    64
}
fn default_max_clock_skew() -> Duration {
    Duration::from_secs(300)
}

impl ExtractConfig {
    /// A config with every default, for the given profile and credentials.
    pub fn new(profile: Profile, auth: AuthConfig) -> Self {
        Self {
            base_url: None,
            profile,
            auth,
            mode: Mode::default(),
            page_size: None,
            concurrency: default_concurrency(),
            rate_limit_per_s: None,
            max_attempts: default_max_attempts(),
            request_timeout: default_request_timeout(),
            backoff_base: default_backoff_base(),
            backoff_max: default_backoff_max(),
            window: default_window(),
            settle: default_settle(),
            lookback: default_lookback(),
            start_date: None,
            channel_capacity: default_channel_capacity(),
            fields: None,
            max_retry_wait: default_max_retry_wait(),
            max_response_mb: default_max_response_mb(),
            max_clock_skew: default_max_clock_skew(),
        }
    }

    /// The base URL in effect (configured or the profile's default), without a trailing `/`.
    pub fn effective_base_url(&self) -> String {
        self.base_url
            .clone()
            .unwrap_or_else(|| self.profile.default_base_url().to_owned())
            .trim_end_matches('/')
            .to_owned()
    }

    /// The page size in effect: configured or the profile default, capped by the profile.
    pub fn effective_page_size(&self) -> u32 {
        self.page_size
            .unwrap_or(self.profile.default_page_size())
            .clamp(1, self.profile.max_page_size())
    }

    /// [`ExtractConfig::max_response_mb`] in bytes.
    pub fn max_response_bytes(&self) -> u64 {
        self.max_response_mb.saturating_mul(1 << 20)
    }

    /// Checks every value; the error names the offending key.
    pub fn validate(&self) -> Result<(), ExtractError> {
        let bad = |key: &'static str, message: String| Err(ExtractError::Config { key, message });
        let base = self.effective_base_url();
        match url::Url::parse(&base) {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {}
            Ok(u) => {
                return bad(
                    "extract.base_url",
                    format!("scheme must be http or https, got {:?}", u.scheme()),
                )
            }
            Err(e) => return bad("extract.base_url", format!("{base:?} is not a URL: {e}")),
        }
        match &self.auth {
            AuthConfig::Token { token } if token.expose().trim().is_empty() => {
                return bad(
                    "extract.auth.token",
                    "is empty (set it in the config or the environment)".into(),
                )
            }
            AuthConfig::Password { login, .. } if login.trim().is_empty() => {
                return bad("extract.auth.login", "is empty".into())
            }
            AuthConfig::Password { password, .. } if password.expose().is_empty() => {
                return bad("extract.auth.password", "is empty".into())
            }
            _ => {}
        }
        if let Some(p) = self.page_size {
            let cap = self.profile.max_page_size();
            if p == 0 || p > cap {
                return bad(
                    "extract.page_size",
                    format!(
                        "{p} is out of range 1..={cap} for profile {}",
                        self.profile.name()
                    ),
                );
            }
        }
        if self.concurrency == 0 || self.concurrency > 256 {
            return bad(
                "extract.concurrency",
                format!("{} is out of range 1..=256", self.concurrency),
            );
        }
        if let Some(r) = self.rate_limit_per_s {
            if !(r.is_finite() && r > 0.0) {
                return bad(
                    "extract.rate_limit_per_s",
                    format!("{r} must be a positive number"),
                );
            }
        }
        if self.max_attempts == 0 {
            return bad("extract.max_attempts", "must be at least 1".into());
        }
        if self.request_timeout.is_zero() {
            return bad("extract.request_timeout", "must be positive".into());
        }
        if self.backoff_max < self.backoff_base {
            return bad(
                "extract.backoff_max",
                "must not be smaller than extract.backoff_base".into(),
            );
        }
        if self.window < Duration::from_secs(1) {
            return bad("extract.window", "must be at least 1 second".into());
        }
        if self.channel_capacity == 0 {
            return bad("extract.channel_capacity", "must be at least 1".into());
        }
        if !(1..=4096).contains(&self.max_response_mb) {
            return bad(
                "extract.max_response_mb",
                format!("{} is out of range 1..=4096", self.max_response_mb),
            );
        }
        if let Some(list) = &self.fields {
            crate::fields::check(list).or_else(|m| bad("extract.fields", m))?;
        }
        Ok(())
    }
}

/// Parses `30`, `0.5`, `"500ms"`, `"30s"`, `"10m"`, `"1h"`, `"1d"`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration {s:?} (expected e.g. 30s, 10m, 1h, 1d)"))?;
    let factor = match unit.trim() {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        other => return Err(format!("invalid duration unit {other:?} in {s:?}")),
    };
    Duration::try_from_secs_f64(value * factor).map_err(|e| format!("invalid duration {s:?}: {e}"))
}

fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Num(f64),
        Str(String),
    }
    match Raw::deserialize(d)? {
        Raw::Num(n) => Duration::try_from_secs_f64(n).map_err(serde::de::Error::custom),
        Raw::Str(s) => parse_duration(&s).map_err(serde::de::Error::custom),
    }
}

fn de_opt_datetime<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let raw: Option<String> = Option::deserialize(d)?;
    raw.map(|s| ltx_model::parse_api_datetime(&s).map_err(serde::de::Error::custom))
        .transpose()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_a_minimal_config() {
        let cfg: ExtractConfig =
            toml::from_str("[auth]\nmethod = \"token\"\ntoken = \"t0ken\"\n").unwrap();
        assert_eq!(cfg.profile, Profile::V2);
        assert_eq!(cfg.mode, Mode::List);
        assert_eq!(cfg.effective_page_size(), 100);
        assert_eq!(cfg.concurrency, 4);
        assert_eq!(cfg.max_attempts, 6);
        assert_eq!(cfg.window, Duration::from_secs(86400));
        assert_eq!(cfg.effective_base_url(), "https://api.livetex.ru");
        assert_eq!(cfg.max_retry_wait, Duration::from_secs(300));
        assert_eq!(cfg.max_response_bytes(), 64 << 20);
        assert_eq!(cfg.max_clock_skew, Duration::from_secs(300));
        cfg.validate().unwrap();
    }

    #[test]
    fn web_api_password_config_parses_durations_and_dates() {
        let cfg: ExtractConfig = toml::from_str(
            r#"
            profile = "web-api"
            mode = "discover"
            window = "6h"
            settle = 5
            request_timeout = "1500ms"
            start_date = "2026-01-01T00:00:00"
            [auth]
            method = "password"
            login = "a@b.ru"
            password = "hunter2"
            "#,
        )
        .unwrap();
        assert_eq!(cfg.profile, Profile::WebApi);
        assert_eq!(cfg.effective_page_size(), 50);
        assert_eq!(cfg.window, Duration::from_secs(6 * 3600));
        assert_eq!(cfg.settle, Duration::from_secs(5));
        assert_eq!(cfg.request_timeout, Duration::from_millis(1500));
        assert_eq!(
            cfg.start_date.unwrap().to_rfc3339(),
            "2025-12-31T21:00:00+00:00"
        );
        assert!(!format!("{cfg:?}").contains("hunter2"));
        cfg.validate().unwrap();
    }

    #[test]
    fn validation_names_the_key() {
        let mut cfg = ExtractConfig::new(
            Profile::WebApi,
            AuthConfig::Token {
                token: Secret::new("x"),
            },
        );
        cfg.page_size = Some(100);
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains("extract.page_size"), "{err}");
        cfg.page_size = None;
        cfg.concurrency = 0;
        assert!(cfg
            .validate()
            .unwrap_err()
            .to_string()
            .contains("extract.concurrency"));
        cfg.concurrency = 1;
        cfg.auth = AuthConfig::Token {
            token: Secret::new("  "),
        };
        assert!(cfg
            .validate()
            .unwrap_err()
            .to_string()
            .contains("extract.auth.token"));
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("top-secret");
        assert_eq!(format!("{s} {s:?}"), "*** ***");
        let auth = AuthConfig::Password {
            login: "me".into(),
            password: s,
        };
        assert!(!format!("{auth:?}").contains("top-secret"));
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1d").unwrap(), Duration::from_secs(86400));
        assert_eq!(parse_duration("2.5").unwrap(), Duration::from_millis(2500));
        assert!(parse_duration("5 parsecs").is_err());
    }
}
