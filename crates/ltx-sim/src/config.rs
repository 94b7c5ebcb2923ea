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
    /// Fraction of conversations served with an `updated_at` that cannot be read: they
    /// cannot be versioned, so the warehouse keeps them in `_rejected`.
    pub bad_record_rate: f64,
    /// Fraction of conversations served with schema drift: one to three values, anywhere in
    /// the record, of a JSON type the model does not expect (see [`crate::drift`]).
    pub drift_rate: f64,
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
    /// The `Retry-After` sent, verbatim, with every 429 (of `rate_limited_rate` and
    /// `rate_limit_per_s`) instead of the computed wait: any text a hostile server might
    /// send (`10000000000000000000`, `-5`, `soon`, `1.5`, an HTTP date).
    pub retry_after: Option<String>,
    /// Offset of the `Date` header of API answers from the simulated clock (a server or a
    /// proxy with a wrong clock; the data keeps the simulated time).
    pub clock_skew: chrono::TimeDelta,
    /// When > 0, every 200 API answer but the token's is sent gzip-compressed
    /// (`Content-Encoding: gzip`) behind this many MiB of spaces: still the same JSON, but
    /// it inflates ~1000x (2048 = 2 GiB from ~2 MB on the wire). Generated as a stream:
    /// the simulator holds one compressed MiB, whatever the size.
    pub inflate_body_mb: u64,
    /// Fraction of conversations rendered in conversation list pages as a record that is
    /// not JSON: kinds cycle with the id through an invalid UTF-8 byte in a string, a raw
    /// control character in a string, and the record cut short inside a string (see
    /// `SimHandle::non_json_kind`; the same conversations in every answer).
    pub non_json_rate: f64,
}
