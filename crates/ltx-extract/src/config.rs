//! `ExtractConfig`: the extractor's settings (built by `ltx-pipeline` from the one
//! configuration file) and their validation.
//!
//! This is the one place where the ranges of the source settings are checked; errors name
//! the key as the configuration file spells it (`source.page_size`, `sync.window`), because
//! that is where a user changes it.

use std::fmt;
use std::ops::RangeInclusive;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::error::ExtractError;
use crate::profile::Profile;

/// A secret string (token, password). Debug and Display print `***`; the value is
/// only reachable through [`Secret::expose`], used when building a request.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Page the conversations list itself (full objects).
    #[default]
    List,
    /// Page chats/calls/leads/complaints, collect conversation ids, fetch each.
    Discover,
}

impl Mode {
    /// The mode's name as written in configuration files and `--mode`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::List => "list",
            Mode::Discover => "discover",
        }
    }
}

/// Configuration of one extractor (one LiveTex account).
#[derive(Debug, Clone)]
pub struct ExtractConfig {
    /// Base URL; `None` takes the profile's default (`https://api.livetex.ru` / `https://web-api.livetex.ru`).
    pub base_url: Option<String>,
    /// API profile (`v2` or `web-api`).
    pub profile: Profile,
    /// Credentials.
    pub auth: AuthConfig,
    /// `list` or `discover`.
    pub mode: Mode,
    /// Records per page; `None` = the profile's default (100 v2, 50 web-api), capped by the profile.
    pub page_size: Option<u32>,
    /// Maximum concurrent requests (and concurrently paged windows).
    pub concurrency: usize,
    /// Client-side request rate limit (requests per second, shared by all tasks).
    pub rate_limit_per_s: Option<f64>,
    /// Attempts per request before giving up on transient failures.
    pub max_attempts: u32,
    /// Timeout of one HTTP request (connect + body).
    pub request_timeout: Duration,
    /// First backoff step; attempt n sleeps a random time in `[0, min(max, base·2ⁿ))`.
    pub backoff_base: Duration,
    /// Backoff ceiling.
    pub backoff_max: Duration,
    /// Size of the windows a sync range is split into (paged concurrently).
    pub window: Duration,
    /// The newest `settle` of source time is left to the next sync (records still changing).
    pub settle: Duration,
    /// An incremental sync starts `lookback` before the cursor (late arrivals).
    pub lookback: Duration,
    /// Start of the first sync and of full refreshes.
    pub start_date: Option<DateTime<Utc>>,
    /// Top-level conversation fields requested (`fields=`) on conversation list and
    /// single-conversation requests; `None` = every stored field
    /// ([`crate::fields::CONVERSATION_FIELDS`]). Must include `id` and `updated_at`.
    pub fields: Option<Vec<String>>,
    /// The longest `Retry-After` honoured. A server asking for a longer wait fails the
    /// run at once, naming the request and the wait, instead of holding the warehouse
    /// lock for it.
    pub max_retry_wait: Duration,
    /// Largest response body read, in MiB, after decompression: a larger one fails the
    /// request (not retried: the same request would send the same body), so one response
    /// cannot take the process's memory.
    pub max_response_mb: u64,
    /// How far the API's `Date` may be from the local clock and still be the sync's "now".
    /// Beyond it ltx warns and takes the earlier of the two clocks, so that the cursor never
    /// passes local time (a server dated ahead would otherwise skip what changes meanwhile).
    pub max_clock_skew: Duration,
}

/// Requests in flight (`source.concurrency`).
pub const CONCURRENCY: RangeInclusive<usize> = 1..=64;
/// Seconds of one request's timeout (`source.timeout_s`).
pub const TIMEOUT_S: RangeInclusive<u64> = 1..=600;
/// Attempts per request: one plus `source.max_retries` (0..=20).
pub const MAX_ATTEMPTS: RangeInclusive<u32> = 1..=21;
/// Largest response body in MiB (`source.max_response_mb`).
pub const MAX_RESPONSE_MB: RangeInclusive<u64> = 1..=4096;
/// The smallest sync window (`sync.window`).
pub const MIN_WINDOW: Duration = Duration::from_secs(60);

impl ExtractConfig {
    /// A config with every default, for the given profile and credentials.
    pub fn new(profile: Profile, auth: AuthConfig) -> Self {
        Self {
            base_url: None,
            profile,
            auth,
            mode: Mode::default(),
            page_size: None,
            concurrency: 4,
            rate_limit_per_s: None,
            max_attempts: 6,
            request_timeout: Duration::from_secs(30),
            backoff_base: Duration::from_millis(250),
            backoff_max: Duration::from_secs(30),
            window: Duration::from_secs(24 * 3600),
            settle: Duration::from_secs(10),
            lookback: Duration::from_secs(3600),
            start_date: None,
            fields: None,
            max_retry_wait: Duration::from_secs(300),
            max_response_mb: 64,
            max_clock_skew: Duration::from_secs(300),
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

    /// Checks every setting except the credentials ([`crate::auth::validate_credentials`]
    /// checks those); the error names the key as the configuration file spells it.
    pub fn validate(&self) -> Result<(), ExtractError> {
        let bad = |key: &'static str, message: String| Err(ExtractError::Config { key, message });
        let out_of_range = |value: &dyn fmt::Display, range: &dyn fmt::Debug| {
            format!("{value} is out of range; allowed {range:?}")
        };
        let base = self.effective_base_url();
        match url::Url::parse(&base) {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {}
            _ => {
                return bad(
                    "source.base_url",
                    format!("{base:?} is not an http:// or https:// URL"),
                )
            }
        }
        if let Some(p) = self.page_size {
            let cap = self.profile.max_page_size();
            if p == 0 || p > cap {
                return bad(
                    "source.page_size",
                    format!(
                        "{p} is out of range; allowed 1..={cap} for profile {} (0 = {cap})",
                        self.profile.name()
                    ),
                );
            }
        }
        if !CONCURRENCY.contains(&self.concurrency) {
            return bad(
                "source.concurrency",
                out_of_range(&self.concurrency, &CONCURRENCY),
            );
        }
        if let Some(r) = self.rate_limit_per_s {
            if !(r.is_finite() && r > 0.0) {
                return bad(
                    "source.rate_limit_per_s",
                    format!("{r} is not allowed; use a number >= 0 (0 = no limit)"),
                );
            }
        }
        if !MAX_ATTEMPTS.contains(&self.max_attempts) {
            return bad(
                "source.max_retries",
                out_of_range(&self.max_attempts.saturating_sub(1), &(0..=20)),
            );
        }
        let timeout_ok = self.request_timeout.subsec_nanos() == 0
            && TIMEOUT_S.contains(&self.request_timeout.as_secs());
        if !timeout_ok {
            return bad(
                "source.timeout_s",
                out_of_range(&self.request_timeout.as_secs_f64(), &TIMEOUT_S),
            );
        }
        if self.backoff_max < self.backoff_base {
            return bad(
                "source.backoff",
                "the backoff ceiling must not be smaller than its first step".into(),
            );
        }
        if self.window < MIN_WINDOW {
            return bad(
                "sync.window",
                format!(
                    "{}s is too small; allowed: at least 1m",
                    self.window.as_secs_f64()
                ),
            );
        }
        if !MAX_RESPONSE_MB.contains(&self.max_response_mb) {
            return bad(
                "source.max_response_mb",
                out_of_range(&self.max_response_mb, &MAX_RESPONSE_MB),
            );
        }
        if let Some(list) = &self.fields {
            crate::fields::check(list).or_else(|m| bad("source.fields", m))?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn token() -> AuthConfig {
        AuthConfig::Token {
            token: Secret::new("t0ken"),
        }
    }

    #[test]
    fn defaults_are_valid() {
        let cfg = ExtractConfig::new(Profile::V2, token());
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
        let web = ExtractConfig::new(Profile::WebApi, token());
        assert_eq!(web.effective_page_size(), 50);
        assert_eq!(web.effective_base_url(), "https://web-api.livetex.ru");
        web.validate().unwrap();
    }

    #[test]
    fn validation_names_the_key() {
        let mut cfg = ExtractConfig::new(Profile::WebApi, token());
        cfg.page_size = Some(100);
        let err = cfg.validate().unwrap_err().to_string();
        assert!(
            err.contains("source.page_size") && err.contains("1..=50"),
            "{err}"
        );
        cfg.page_size = None;
        cfg.concurrency = 0;
        assert!(cfg
            .validate()
            .unwrap_err()
            .to_string()
            .contains("source.concurrency"));
        cfg.concurrency = 65;
        let err = cfg.validate().unwrap_err().to_string();
        assert!(
            err.contains("source.concurrency") && err.contains("1..=64"),
            "{err}"
        );
        cfg.concurrency = 1;
        cfg.window = Duration::from_secs(59);
        assert!(cfg
            .validate()
            .unwrap_err()
            .to_string()
            .contains("sync.window"));
        cfg.window = MIN_WINDOW;
        cfg.max_response_mb = 0;
        assert!(cfg
            .validate()
            .unwrap_err()
            .to_string()
            .contains("source.max_response_mb"));
        cfg.max_response_mb = 1;
        cfg.base_url = Some("ftp://example.org".into());
        assert!(cfg
            .validate()
            .unwrap_err()
            .to_string()
            .contains("source.base_url"));
        cfg.base_url = None;
        cfg.validate().unwrap();
    }

    #[test]
    fn configured_field_lists_are_checked() {
        let mut c = ExtractConfig::new(Profile::V2, token());
        c.fields = Some(vec!["id".into(), "updated_at".into(), "chats".into()]);
        c.validate().unwrap();
        c.fields = Some(vec!["id".into(), "chats".into()]);
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("source.fields") && e.contains("updated_at"),
            "{e}"
        );
        c.fields = Some(vec!["id".into(), "updated_at".into(), "a,b".into()]);
        assert!(c.validate().is_err());
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
}
