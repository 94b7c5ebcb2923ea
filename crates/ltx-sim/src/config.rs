//! Simulator configuration: the generated account and the fault knobs.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

/// Everything that shapes the simulated account and its API.
///
/// The same `seed` and `conversations` always give the same account, byte for byte.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Seed of every generated value (content, timeline, fault draws).
    pub seed: u64,
    /// Number of conversations visible at `start_clock`.
    pub conversations: u64,
    /// Static Bearer token of the v2 profile.
    pub token: String,
    /// Login (e-mail) of the web-api profile (`POST /oauth2/token`).
    pub login: String,
    /// Password of the web-api profile.
    pub password: String,
    /// Lifetime of web-api access tokens, measured in wall-clock time.
    pub token_ttl: Duration,
    /// Days of history before `start_clock` over which the initial conversations are spread.
    pub history_days: u32,
    /// Fault injection (all off by default).
    pub faults: Faults,
    /// Simulated clock at start.
    pub start_clock: DateTime<Utc>,
    /// When true the clock also ticks with wall time (`start_clock` + elapsed + advances).
    pub realtime: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            conversations: 1_000,
            token: "sim-token".to_owned(),
            login: "admin@example.ru".to_owned(),
            password: "sim-password".to_owned(),
            token_ttl: Duration::from_secs(24 * 3600),
            history_days: 90,
            faults: Faults::default(),
            start_clock: default_start_clock(),
            realtime: false,
        }
    }
}

/// 2026-11-01T00:00:00Z, the default simulated "now".
pub fn default_start_clock() -> DateTime<Utc> {
    // A constant, valid date: `single()` cannot fail here; fall back to the epoch anyway.
    Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// Fault knobs; every one is off by default. Random draws come from a seeded RNG.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Extra delay added to every API response.
    pub latency: Duration,
    /// Token bucket (requests per second, burst = max(1, rate)); excess gets 429 + `Retry-After`.
    pub rate_limit_per_s: Option<f64>,
    /// Fraction of API requests answered 429 with `Retry-After: 0` (a momentary limit,
    /// independent of the clock; `rate_limit_per_s` gives real, whole-second waits).
    pub rate_limited_rate: f64,
    /// Fraction of API requests answered 500/502/503.
    pub error_rate: f64,
    /// Fraction of API requests delayed by `stall` before being answered.
    pub stall_rate: f64,
    /// Delay of a stalled request (meant to exceed client timeouts).
    pub stall: Duration,
    /// Fraction of 200 responses whose JSON body is truncated (invalid JSON).
    pub malformed_rate: f64,
    /// Probability per list request that 1–3 matching conversations get a new version
    /// stamped at the current clock before the page is cut (offset paging shifts).
    pub mutate_rate: f64,
    /// Fraction of conversations whose JSON carries one child with an unparsable `created_at`.
    pub bad_record_rate: f64,
    /// List endpoints ignore `offset` and always serve the first page of the range asked
    /// for (a server bug that offset paging must detect, not loop on or skip past).
    pub ignore_offset: bool,
    /// Fraction of list requests at an offset > 0 answered with the page before the one
    /// asked for (as if `offset - limit` had been asked: a stale cache, a cursor bug).
    pub repeat_page_rate: f64,
    /// Added to the `total` of every list page: records announced but never served.
    pub total_inflate: u64,
    /// The `total` of every list page grows by one with every list request served
    /// (a count that never settles).
    pub total_growing: bool,
    /// Fraction of `show` requests (one conversation by id) answered 404 although the
    /// conversation exists (an endpoint that differs, a token without that right).
    pub show_404_rate: f64,
    /// Every API request (login, lists, show) is answered `307 Temporary Redirect` to this
    /// base URL plus the request's path and query (a redirect to another host or port).
    pub redirect_to: Option<String>,
}
