//! The HTTP client: one place for retries, backoff, 429 handling, the client-side rate
//! limit, the concurrency limit, authentication and the source's clock.
//!
//! Order of a request: rate-limit slot → concurrency permit → bearer token (a login,
//! if due, runs inside the caller's permit so in-flight requests never exceed
//! `concurrency`) → send → classify. Transient failures (5xx, 408, 429, timeouts,
//! connection errors, malformed JSON) are retried with exponential backoff and full
//! jitter up to `max_attempts`; a 429's (or 503's) `Retry-After` pauses every task.
//!
//! Hostile answers are bounded: a `Retry-After` in any form (seconds, fractional, an HTTP
//! date, negative, garbage, 10^19) is read without overflow and honoured up to
//! `max_retry_wait`, beyond which the run fails at once (negative or garbage = no hint:
//! normal backoff); a body is read as a stream and given up past `max_response_mb`
//! (decompressed), a deterministic failure that is not retried; a page with records that
//! are not JSON keeps its other records ([`crate::page`]); the server's `Date` is the
//! sync's "now" only within `max_clock_skew` of the local clock ([`Client::server_now`]).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use rand::Rng;
use reqwest::header::{HeaderMap, DATE, RETRY_AFTER};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::value::RawValue;
use tracing::Instrument;

use crate::auth::{parse_token_answer, Auth, Granted};
use crate::config::ExtractConfig;
use crate::error::ExtractError;
use crate::item::PageRecord;
use crate::metrics::Metrics;
use crate::profile::{Params, Profile, Resource, Verb};

/// Requests per second, shared by every task; also carries 429 pauses.
struct RateLimiter {
    interval: Duration,
    next: Mutex<Instant>,
}

impl RateLimiter {
    fn new(rate: Option<f64>) -> Self {
        let interval = rate
            .and_then(|r| Duration::try_from_secs_f64(1.0 / r).ok())
            .unwrap_or(Duration::ZERO);
        Self {
            interval,
            next: Mutex::new(Instant::now()),
        }
    }

    /// Waits for the next slot (burst 1: slots are `interval` apart).
    async fn acquire(&self) {
        let at = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let at = (*next).max(now);
            *next = at + self.interval;
            at
        };
        tokio::time::sleep_until(at).await;
    }

    /// No slot before `until` (a 429's Retry-After applies to every task).
    fn pause_until(&self, until: Instant) {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        if *next < until {
            *next = until;
        }
    }
}

/// A list page: `{"total": N, "results": [...]}`. Its records that are not JSON are
/// [`PageRecord::NotJson`] (see [`crate::page`]); the page still counts them.
#[derive(Debug)]
pub(crate) struct Page {
    pub total: Option<u64>,
    pub results: Vec<PageRecord>,
}

/// A page as serde reads it when the whole body is JSON (the common, fast path).
#[derive(Deserialize)]
struct StrictPage {
    #[serde(default, deserialize_with = "de_total")]
    total: Option<u64>,
    results: Vec<Box<RawValue>>,
}

fn de_total<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v: Option<serde_json::Value> = Option::deserialize(d)?;
    Ok(crate::page::total_of(v))
}

/// A response body the client decodes. `Err` means the body is broken (a transfer cut
/// short, say) and the request is retried; a deterministic defect inside an otherwise good
/// body must decode (quarantined), or every retry and every later sync would fail on it.
pub(crate) trait Decode: Sized {
    /// Decodes a whole body (already decompressed and size-checked).
    fn decode(body: &[u8]) -> Result<Self, String>;
}

impl Decode for Box<RawValue> {
    fn decode(body: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(body).map_err(|e| format!("malformed JSON body: {e}"))
    }
}

impl Decode for Page {
    fn decode(body: &[u8]) -> Result<Self, String> {
        let strict = match serde_json::from_slice::<StrictPage>(body) {
            Ok(p) => {
                return Ok(Page {
                    total: p.total,
                    results: p.results.into_iter().map(PageRecord::Json).collect(),
                })
            }
            Err(e) => e,
        };
        // Not JSON as a whole: read it record by record. Only a page that holds records
        // that are not JSON is taken from there; any other failure (the envelope broken,
        // most often a body cut short) stays what it was, a transient error.
        match crate::page::salvage(body) {
            Ok(s)
                if s.records
                    .iter()
                    .any(|r| matches!(r, crate::page::Piece::NotJson { .. })) =>
            {
                let bad = s
                    .records
                    .iter()
                    .filter(|r| matches!(r, crate::page::Piece::NotJson { .. }))
                    .count();
                tracing::warn!(
                    records = s.records.len(),
                    not_json = bad,
                    "a page holds records that are not valid JSON; they go to _rejected, the rest of the page loads"
                );
                Ok(Page {
                    total: s.total,
                    results: s.records.into_iter().map(PageRecord::from).collect(),
                })
            }
            Ok(_) => Err(format!("malformed JSON body: {strict}")),
            Err(why) => {
                tracing::debug!(error = %why, "the page could not be read record by record either");
                Err(format!("malformed JSON body: {strict}"))
            }
        }
    }
}

/// What a request is, for sending and for error messages.
pub(crate) struct Request {
    pub verb: Verb,
    pub path: String,
    pub params: Params,
    /// ` (resource, window …, offset N)` for pages.
    pub context: String,
    /// Answer `None` on 404 instead of failing (discover fetches).
    pub allow_404: bool,
}

/// A failed attempt that may succeed when repeated.
struct Transient {
    error: String,
    /// Delay before the next attempt that pauses every task (a 429 or 503).
    retry_after: Option<Duration>,
    /// The `Retry-After` the server sent, checked against `max_retry_wait`.
    asked: Option<Asked>,
}

/// A usable `Retry-After` header and the answer that carried it.
#[derive(Debug, Clone)]
struct Asked {
    wait: Duration,
    header: String,
    status: u16,
}

enum AttemptError {
    Transient(Transient),
    Fatal(ExtractError),
    /// 401 on a renewable token of this generation.
    Unauthorized(u64),
}

struct Shared {
    http: reqwest::Client,
    base: String,
    cfg: ExtractConfig,
    auth: Auth,
    limiter: RateLimiter,
    permits: tokio::sync::Semaphore,
    metrics: Arc<Metrics>,
    server_now: Mutex<Option<DateTime<Utc>>>,
    /// Set by [`Client::server_now`] when the server's clock was not trusted.
    clock_warning: Mutex<Option<String>>,
}

/// LiveTex HTTP client; cheap to clone (shared state behind an `Arc`).
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.shared.base)
            .field("profile", &self.shared.cfg.profile)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Builds a client (validates `cfg`; no request is sent yet).
    pub fn new(cfg: &ExtractConfig, metrics: Arc<Metrics>) -> Result<Self, ExtractError> {
        cfg.validate()?;
        crate::auth::validate_credentials(&cfg.auth)?;
        let http = reqwest::Client::builder()
            .timeout(cfg.request_timeout)
            .connect_timeout(cfg.request_timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("ltx-warehouse/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(cfg.concurrency.max(1))
            .redirect(crate::redirect::policy())
            .build()
            .map_err(|e| ExtractError::Config {
                key: "source.base_url",
                message: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(Self {
            shared: Arc::new(Shared {
                http,
                base: cfg.effective_base_url(),
                cfg: cfg.clone(),
                auth: Auth::new(cfg.auth.clone()),
                limiter: RateLimiter::new(cfg.rate_limit_per_s),
                permits: tokio::sync::Semaphore::new(cfg.concurrency),
                metrics,
                server_now: Mutex::new(None),
                clock_warning: Mutex::new(None),
            }),
        })
    }

    /// The configuration this client was built from.
    pub fn config(&self) -> &ExtractConfig {
        &self.shared.cfg
    }

    /// The API profile.
    pub fn profile(&self) -> Profile {
        self.shared.cfg.profile
    }

    /// The live counters.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.shared.metrics
    }

    /// The source's clock: sends one cheap authenticated request (a one-record list
    /// page, which also checks the credentials) and returns its HTTP `Date` header,
    /// falling back to the local clock when the server sends none.
    ///
    /// The `Date` is trusted only within `max_clock_skew` of the local clock. Beyond it
    /// this returns the earlier of the two, so that the sync's end, and so the cursor,
    /// never passes either clock. A server dated ahead (a server or a proxy with a wrong
    /// clock) would otherwise move the cursor past records that change meanwhile, and they
    /// would never be fetched: that warns ([`Client::clock_warning`]), since the newest
    /// records then wait for a later sync. A server dated behind is only logged: its clock
    /// stamps the records, so it is the right "now", and nothing is delayed.
    pub async fn server_now(&self) -> Result<DateTime<Utc>, ExtractError> {
        let profile = self.profile();
        let (verb, path) = profile.list_endpoint(Resource::Conversations);
        let req = Request {
            verb,
            path,
            params: profile.probe_params(),
            context: " (clock probe)".into(),
            allow_404: false,
        };
        let _: Option<Page> = self.send_json(&req).await?;
        let date = *self
            .shared
            .server_now
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let local = Utc::now();
        let Some(server) = date else {
            return Ok(local);
        };
        let (now, note) = trust_clock(server, local, self.shared.cfg.max_clock_skew);
        let warning = match note {
            Some(Clock::Ahead(w)) => {
                tracing::warn!(server = %server, local = %local, "{w}");
                Some(w)
            }
            Some(Clock::Behind(w)) => {
                tracing::info!(server = %server, local = %local, "{w}");
                None
            }
            None => None,
        };
        *self
            .shared
            .clock_warning
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = warning;
        Ok(now)
    }

    /// Why [`Client::server_now`] did not take the server's clock (it was ahead of the local
    /// one by more than `max_clock_skew`), if it did not: for the run summary.
    pub fn clock_warning(&self) -> Option<String> {
        self.shared
            .clock_warning
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The `Date` of the latest response seen, if any.
    pub fn last_server_date(&self) -> Option<DateTime<Utc>> {
        *self
            .shared
            .server_now
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.shared.base, path)
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let cfg = &self.shared.cfg;
        let exp = cfg
            .backoff_base
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(20)));
        let cap = exp.min(cfg.backoff_max);
        let ms = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::thread_rng().gen_range(0..=ms))
    }

    fn note_date(&self, headers: &HeaderMap) {
        let Some(date) = headers
            .get(DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| DateTime::parse_from_rfc2822(s).ok())
        else {
            return;
        };
        *self
            .shared
            .server_now
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(date.with_timezone(&Utc));
    }

    /// Sends a request with retries and parses the JSON answer. `Ok(None)` only for a
    /// 404 when `req.allow_404`.
    pub(crate) async fn send_json<T: Decode>(
        &self,
        req: &Request,
    ) -> Result<Option<T>, ExtractError> {
        let max = self.shared.cfg.max_attempts;
        let url = self.url(&req.path);
        let mut attempt = 0u32;
        let mut renewed = false;
        loop {
            attempt += 1;
            match self.attempt::<T>(req, &url, attempt).await {
                Ok(v) => return Ok(v),
                Err(AttemptError::Fatal(e)) => return Err(e),
                Err(AttemptError::Unauthorized(generation)) => {
                    if renewed {
                        return Err(ExtractError::Auth {
                            message: format!(
                                "a freshly obtained token for login {:?} was rejected (HTTP 401) by {} {url}; \
                                 check that the account may use this API",
                                self.shared.auth.login().unwrap_or(""),
                                req.verb.as_str()
                            ),
                        });
                    }
                    // One renewal per request; it does not count as a failed attempt.
                    renewed = true;
                    attempt -= 1;
                    self.shared.auth.invalidate(generation);
                }
                Err(AttemptError::Transient(t)) => {
                    if let Some(asked) = &t.asked {
                        self.check_wait(asked, req.verb.as_str(), &url, &req.context)?;
                    }
                    if attempt >= max {
                        return Err(ExtractError::RetriesExhausted {
                            method: req.verb.as_str(),
                            url,
                            context: req.context.clone(),
                            attempts: attempt,
                            last_error: t.error,
                        });
                    }
                    Metrics::inc(&self.shared.metrics.retries);
                    let delay = t.retry_after.unwrap_or_else(|| self.backoff(attempt));
                    tracing::debug!(attempt, delay_ms = delay.as_millis() as u64, error = %t.error, "retrying {} {url}", req.verb.as_str());
                    if t.retry_after.is_some() {
                        self.shared.limiter.pause_until(later(delay));
                    } else {
                        tokio::time::sleep(delay).await;
                    }
                }
            }
        }
    }

    /// `Err` when the server asked for a longer wait than `max_retry_wait`.
    fn check_wait(
        &self,
        asked: &Asked,
        method: &'static str,
        url: &str,
        context: &str,
    ) -> Result<(), ExtractError> {
        let cap = self.shared.cfg.max_retry_wait;
        if asked.wait <= cap {
            return Ok(());
        }
        Err(ExtractError::RetryAfterTooLong {
            method,
            url: url.to_owned(),
            context: context.to_owned(),
            wait: Box::new(crate::error::TooLongWait {
                status: asked.status,
                wait: readable(asked.wait),
                header: asked.header.clone(),
                cap: readable(cap),
            }),
        })
    }

    async fn attempt<T: Decode>(
        &self,
        req: &Request,
        url: &str,
        attempt: u32,
    ) -> Result<Option<T>, AttemptError> {
        let sh = &self.shared;
        sh.limiter.acquire().await;
        let _permit = sh
            .permits
            .acquire()
            .await
            .map_err(|_| AttemptError::Fatal(ExtractError::ChannelClosed))?;
        let bearer = sh
            .auth
            .bearer(|| self.login())
            .await
            .map_err(AttemptError::Fatal)?;
        let method = match req.verb {
            Verb::Get => reqwest::Method::GET,
            Verb::Post => reqwest::Method::POST,
        };
        Metrics::inc(&sh.metrics.requests);
        let started = Instant::now();
        let resp = sh
            .http
            .request(method, url)
            .query(&req.params)
            .bearer_auth(bearer.token.expose())
            .send()
            .await
            .map_err(|e| transient(describe(&e)))?;
        self.note_date(resp.headers());
        let status = resp.status();
        if status.is_success() {
            let limit = sh.cfg.max_response_bytes();
            let body = match read_body(resp, limit, false).await {
                Ok(body) => body,
                Err(BodyError::TooLarge) => {
                    return Err(AttemptError::Fatal(ExtractError::ResponseTooLarge {
                        method: req.verb.as_str(),
                        url: url.to_owned(),
                        context: req.context.clone(),
                        limit_mb: sh.cfg.max_response_mb,
                    }))
                }
                Err(BodyError::Read(e)) => {
                    return Err(transient(format!("reading body: {}", describe(&e))))
                }
            };
            Metrics::add(&sh.metrics.bytes, body.len() as u64);
            tracing::trace!(
                attempt,
                status = status.as_u16(),
                bytes = body.len(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "{} {url}",
                req.verb.as_str()
            );
            return T::decode(&body).map(Some).map_err(transient);
        }
        if status.is_redirection() {
            return Err(AttemptError::Fatal(crate::redirect::refused(
                req.verb.as_str(),
                url,
                status.as_u16(),
                resp.headers(),
                &req.context,
            )));
        }
        let asked = parse_retry_after(resp.headers()).map(|wait| Asked {
            wait,
            header: header_text(resp.headers()),
            status: status.as_u16(),
        });
        let body = read_body(resp, ERROR_BODY_LIMIT, true)
            .await
            .unwrap_or_default();
        tracing::debug!(
            attempt,
            status = status.as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "{} {url}",
            req.verb.as_str()
        );
        match status {
            StatusCode::UNAUTHORIZED if sh.auth.is_static() => {
                Err(AttemptError::Fatal(ExtractError::Auth {
                    message: format!(
                        "the API token was rejected (HTTP 401) by {} {url}; set a valid token in \
                         LIVETEX_API_TOKEN",
                        req.verb.as_str()
                    ),
                }))
            }
            StatusCode::UNAUTHORIZED => Err(AttemptError::Unauthorized(bearer.generation)),
            StatusCode::FORBIDDEN => Err(AttemptError::Fatal(ExtractError::Auth {
                message: format!(
                    "access denied (HTTP 403) by {} {url}: the credentials are valid but lack \
                     access to this resource; check the account's API permissions{}",
                    req.verb.as_str(),
                    body_message(&body)
                        .map(|m| format!(" ({m})"))
                        .unwrap_or_default()
                ),
            })),
            StatusCode::NOT_FOUND if req.allow_404 => Ok(None),
            StatusCode::TOO_MANY_REQUESTS => {
                Metrics::inc(&sh.metrics.rate_limited);
                Err(AttemptError::Transient(Transient {
                    error: "HTTP 429 Too Many Requests".into(),
                    retry_after: Some(
                        asked
                            .as_ref()
                            .map_or_else(|| self.backoff(attempt), |a| a.wait),
                    ),
                    asked,
                }))
            }
            s if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT => {
                let error = format!(
                    "HTTP {}{}",
                    s.as_u16(),
                    body_message(&body)
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                );
                // A 503 may say when to come back (RFC 9110); other errors back off.
                let asked = asked.filter(|_| s == StatusCode::SERVICE_UNAVAILABLE);
                Err(AttemptError::Transient(Transient {
                    error,
                    retry_after: asked.as_ref().map(|a| a.wait),
                    asked,
                }))
            }
            s => Err(AttemptError::Fatal(ExtractError::Http {
                method: req.verb.as_str(),
                url: url.to_owned(),
                status: s.as_u16(),
                context: req.context.clone(),
                message: body_message(&body).unwrap_or_default(),
            })),
        }
    }

    /// `POST {base}/oauth2/token` with the password grant, retried on transient errors.
    async fn login(&self) -> Result<Granted, ExtractError> {
        let sh = &self.shared;
        let Some((login, password)) = sh.auth.credentials() else {
            return Err(ExtractError::Auth {
                message: "no credentials to log in with".into(),
            });
        };
        let url = self.url(sh.cfg.profile.token_path());
        let span = tracing::info_span!("login", login = %login);
        async {
            let mut attempt = 0u32;
            loop {
                attempt += 1;
                sh.limiter.acquire().await;
                Metrics::inc(&sh.metrics.requests);
                let form = [
                    ("grant_type", "password"),
                    ("username", login),
                    ("password", password.expose()),
                ];
                let error = match sh.http.post(&url).form(&form).send().await {
                    Err(e) => describe(&e),
                    Ok(resp) => {
                        self.note_date(resp.headers());
                        let status = resp.status();
                        if status.is_redirection() {
                            return Err(crate::redirect::refused(
                                "POST",
                                &url,
                                status.as_u16(),
                                resp.headers(),
                                &format!(" (login {login:?})"),
                            ));
                        }
                        let retry_after = parse_retry_after(resp.headers());
                        let header = header_text(resp.headers());
                        // A token answer is small: a body past the limit is cut and fails
                        // to parse like any broken answer.
                        let body = read_body(resp, ERROR_BODY_LIMIT, true)
                            .await
                            .unwrap_or_default();
                        if status.is_success() {
                            match parse_token_answer(&body) {
                                Some(g) => {
                                    Metrics::inc(&sh.metrics.logins);
                                    return Ok(g);
                                }
                                None => "token answer without access_token".to_owned(),
                            }
                        } else if status.is_server_error()
                            || status == StatusCode::TOO_MANY_REQUESTS
                        {
                            if let Some(wait) = retry_after {
                                let asked = Asked {
                                    wait,
                                    header,
                                    status: status.as_u16(),
                                };
                                let context = format!(" (login {login:?})");
                                self.check_wait(&asked, "POST", &url, &context)?;
                                sh.limiter.pause_until(later(wait));
                            }
                            format!("HTTP {}", status.as_u16())
                        } else {
                            // Quote the server's reason, masking the password should it echo it.
                            let reason = body_message(&body)
                                .map(|m| format!(": {}", m.replace(password.expose(), "***")))
                                .unwrap_or_default();
                            return Err(ExtractError::Auth {
                                message: format!(
                                    "login {login:?} was rejected (HTTP {}) by POST {url}{reason}; \
                                     check LIVETEX_LOGIN and LIVETEX_PASSWORD",
                                    status.as_u16()
                                ),
                            });
                        }
                    }
                };
                if attempt >= sh.cfg.max_attempts {
                    return Err(ExtractError::RetriesExhausted {
                        method: "POST",
                        url: url.clone(),
                        context: format!(" (login {login:?})"),
                        attempts: attempt,
                        last_error: error,
                    });
                }
                Metrics::inc(&sh.metrics.retries);
                tokio::time::sleep(self.backoff(attempt)).await;
            }
        }
        .instrument(span)
        .await
    }
}

fn transient(error: String) -> AttemptError {
    AttemptError::Transient(Transient {
        error,
        retry_after: None,
        asked: None,
    })
}

/// An error answer is read for its message only: this much, the rest dropped.
const ERROR_BODY_LIMIT: u64 = 64 * 1024;

/// Why a body was not read whole.
#[derive(Debug)]
enum BodyError {
    /// Longer than the limit (decompressed).
    TooLarge,
    /// The transfer or the decompression failed.
    Read(reqwest::Error),
}

/// Reads a body as a stream (reqwest decompresses gzip on the way), never holding more
/// than `limit` bytes: past it, `TooLarge`, or with `truncate` the first `limit` bytes. A
/// body that inflates to gigabytes therefore costs at most `limit` of memory.
async fn read_body(
    mut resp: reqwest::Response,
    limit: u64,
    truncate: bool,
) -> Result<Vec<u8>, BodyError> {
    // Known only for an uncompressed body; a lying length is capped by the limit anyway.
    let announced = resp.content_length();
    if !truncate && announced.is_some_and(|n| n > limit) {
        return Err(BodyError::TooLarge);
    }
    let cap = usize::try_from(announced.unwrap_or(0).min(limit)).unwrap_or(0);
    let mut body = Vec::with_capacity(cap);
    while let Some(chunk) = resp.chunk().await.map_err(BodyError::Read)? {
        let room = usize::try_from(limit)
            .unwrap_or(usize::MAX)
            .saturating_sub(body.len());
        if chunk.len() > room {
            if truncate {
                body.extend_from_slice(&chunk[..room]);
                break;
            }
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `now + d`, or a year from now when that cannot be represented (a cap beyond that
/// is a configuration nobody means).
fn later(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(365 * 86_400)))
        .unwrap_or(now)
}

/// A duration for people: `90s`, `5m`, `2h30m`, `3d`, and for absurd ones the years too.
fn readable(d: Duration) -> String {
    let secs = d.as_secs();
    let frac = d.subsec_millis();
    let plain = match secs {
        0..=119 if frac > 0 => format!("{secs}.{frac:03}s"),
        0..=119 => format!("{secs}s"),
        120..=7199 if secs.is_multiple_of(60) => format!("{}m", secs / 60),
        120..=7199 => format!("{}m{}s", secs / 60, secs % 60),
        7200..=172_799 => format!("{}h{}m", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d{}h", secs / 86_400, secs % 86_400 / 3600),
    };
    if secs >= 365 * 86_400 {
        format!("{secs}s (~{:.2e} years)", secs as f64 / (365.25 * 86_400.0))
    } else {
        plain
    }
}

/// The `Retry-After` header as received, for messages (at most 100 characters).
fn header_text(headers: &HeaderMap) -> String {
    headers
        .get(RETRY_AFTER)
        .map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .chars()
                .take(100)
                .collect()
        })
        .unwrap_or_default()
}

/// How the server's clock disagreed with the local one, and what that meant.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Clock {
    /// Ahead: the local clock was taken.
    Ahead(String),
    /// Behind: the server's clock was taken, as within the tolerance.
    Behind(String),
}

/// Which clock is the sync's "now": the server's when it agrees with the local clock
/// within `tolerance`, else the earlier of the two, with what to tell.
fn trust_clock(
    server: DateTime<Utc>,
    local: DateTime<Utc>,
    tolerance: Duration,
) -> (DateTime<Utc>, Option<Clock>) {
    let skew = server - local;
    let tolerance = TimeDelta::from_std(tolerance).unwrap_or(TimeDelta::MAX);
    if skew.abs() <= tolerance {
        return (server, None);
    }
    let by = readable(skew.abs().to_std().unwrap_or(Duration::MAX));
    let tol = readable(tolerance.to_std().unwrap_or(Duration::MAX));
    let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let note = if skew > TimeDelta::zero() {
        Clock::Ahead(format!(
            "the API's clock (Date: {}) is {by} ahead of the local clock ({}), more than max_clock_skew ({tol}): the sync ends at the local time, so the cursor does not pass it; records the API stamps later than that wait for a later sync. Check the clocks",
            fmt(server),
            fmt(local)
        ))
    } else {
        Clock::Behind(format!(
            "the API's clock (Date: {}) is {by} behind the local clock ({}), more than max_clock_skew ({tol}): the sync ends at the API's time, the earlier one",
            fmt(server),
            fmt(local)
        ))
    };
    (server.min(local), Some(note))
}

/// A reqwest error without its URL (ours carry no secret, but the message stays short).
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "body error"
    } else {
        "request error"
    };
    // The URL is already in our error; keep the causes only.
    let mut msg = kind.to_owned();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

/// `Retry-After` as the wait it asks for; `None` when it gives no usable hint (absent,
/// negative, garbage: then the normal backoff applies). Accepts delay-seconds (also
/// fractional, and any size: a value too large for a `Duration` saturates, so that the
/// caller's cap check, not an overflow, decides) and an HTTP date in the three forms of
/// RFC 9110 (IMF-fixdate, RFC 850, asctime), measured from the answer's own `Date` (the
/// server's clock) or the local clock. A date in the past means now.
fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Some(secs) = delay_seconds(v) {
        return Some(secs);
    }
    let at = http_date(v)?;
    let now = headers
        .get(DATE)
        .and_then(|d| d.to_str().ok())
        .and_then(http_date)
        .unwrap_or_else(Utc::now);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// `123` or `1.5` (digits only: no sign, exponent, `inf` or `NaN`), saturating.
fn delay_seconds(v: &str) -> Option<Duration> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    let digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) || (v.contains('.') && frac.is_empty()) {
        return None;
    }
    // Finite for any digit string below ~1e308; beyond, infinite: both saturate.
    let secs: f64 = v.parse().ok()?;
    Some(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX))
}

/// An HTTP date: IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), RFC 850
/// (`Sunday, 06-Nov-94 08:49:37 GMT`) or asctime (`Sun Nov  6 08:49:37 1994`).
fn http_date(v: &str) -> Option<DateTime<Utc>> {
    if let Ok(d) = DateTime::parse_from_rfc2822(v) {
        return Some(d.with_timezone(&Utc));
    }
    let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
    ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(&v, f).ok())
        .map(|n| n.and_utc())
}

/// The `message` of an error body, or its first 200 characters.
fn body_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct ErrBody {
        message: Option<String>,
    }
    if body.is_empty() {
        return None;
    }
    if let Ok(ErrBody { message: Some(m) }) = serde_json::from_slice::<ErrBody>(body) {
        return Some(m);
    }
    let s = String::from_utf8_lossy(body);
    Some(s.chars().take(200).collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_seconds_or_http_date() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(2)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Sun, 01 Nov 2026 00:00:05 GMT"),
        );
        h.insert(
            DATE,
            HeaderValue::from_static("Sun, 01 Nov 2026 00:00:02 GMT"),
        );
        assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(parse_retry_after(&h), None);
    }

    fn retry_after(value: &[u8], date: Option<&'static str>) -> Option<Duration> {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_bytes(value).unwrap());
        if let Some(d) = date {
            h.insert(DATE, HeaderValue::from_static(d));
        }
        parse_retry_after(&h)
    }

    #[test]
    fn hostile_retry_after_values_never_panic() {
        let date = Some("Sun, 01 Nov 2026 00:00:00 GMT");
        let secs = Duration::from_secs;
        // Seconds: plain, fractional, padded, zero, huge (saturating, no overflow).
        assert_eq!(retry_after(b"0", None), Some(Duration::ZERO));
        assert_eq!(retry_after(b" 7 ", None), Some(secs(7)));
        assert_eq!(retry_after(b"1.5", None), Some(Duration::from_millis(1500)));
        assert_eq!(
            retry_after(b"10000000000000000000", None),
            Some(secs(10_000_000_000_000_000_000))
        );
        assert_eq!(
            retry_after(b"100000000000000000000000000000", None),
            Some(Duration::MAX)
        );
        assert_eq!(retry_after(&[b'9'; 400], None), Some(Duration::MAX));
        // No hint: negative, signs, exponents, non-numbers, empty, not text.
        for v in [
            &b"-5"[..],
            b"-0.5",
            b"+5",
            b"1e3",
            b"inf",
            b"NaN",
            b"5.",
            b".5",
            b"",
            b"soon",
            b"5 s",
            b"\xff",
            b"Sun, 99 Nov 2026 00:00:00 GMT",
        ] {
            assert_eq!(retry_after(v, date), None, "{}", String::from_utf8_lossy(v));
        }
        // HTTP dates in the three forms, from the server's Date; the past is now.
        assert_eq!(
            retry_after(b"Sun, 01 Nov 2026 00:00:05 GMT", date),
            Some(secs(5))
        );
        assert_eq!(
            retry_after(b"Sunday, 01-Nov-26 00:01:00 GMT", date),
            Some(secs(60))
        );
        assert_eq!(
            retry_after(b"Sun Nov  1 00:00:09 2026", date),
            Some(secs(9))
        );
        assert_eq!(
            retry_after(b"Sat, 31 Oct 2026 00:00:00 GMT", date),
            Some(Duration::ZERO)
        );
        assert_eq!(
            retry_after(b"Fri, 31 Dec 9999 23:59:59 GMT", date),
            Some(secs(251_608_809_599))
        );
        // Huge waits reach the cap check and never an Instant.
        let _ = later(Duration::MAX);
        assert!(readable(secs(10_000_000_000_000_000_000)).contains("e11 years"));
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(readable(Duration::from_millis(1500)), "1.500s");
        assert_eq!(readable(Duration::from_secs(300)), "5m");
        assert_eq!(readable(Duration::from_secs(301)), "5m1s");
        assert_eq!(readable(Duration::from_secs(9000)), "2h30m");
        assert_eq!(readable(Duration::from_secs(2 * 86_400 + 3600)), "2d1h");
    }

    #[test]
    fn the_server_clock_is_trusted_only_near_the_local_one() {
        let local: DateTime<Utc> = "2026-11-01T00:00:00Z".parse().unwrap();
        let tol = Duration::from_secs(300);
        let (now, warn) = trust_clock(local + TimeDelta::seconds(200), local, tol);
        assert_eq!((now, warn), (local + TimeDelta::seconds(200), None));
        let (now, warn) = trust_clock(local - TimeDelta::seconds(299), local, tol);
        assert_eq!((now, warn), (local - TimeDelta::seconds(299), None));
        // Ahead: the local clock, with a warning.
        let (now, note) = trust_clock(local + TimeDelta::days(2), local, tol);
        assert_eq!(now, local);
        let Some(Clock::Ahead(warn)) = note else {
            panic!("{note:?}")
        };
        assert!(
            warn.contains("2d0h ahead") && warn.contains("max_clock_skew"),
            "{warn}"
        );
        // Behind: the server's, the earlier one, noted.
        let (now, note) = trust_clock(local - TimeDelta::days(30), local, tol);
        assert_eq!(now, local - TimeDelta::days(30));
        assert!(matches!(note, Some(Clock::Behind(_))));
    }

    #[test]
    fn error_bodies_are_summarised() {
        assert_eq!(
            body_message(br#"{"code":403,"message":"no access"}"#).unwrap(),
            "no access"
        );
        assert_eq!(body_message(b"oops").unwrap(), "oops");
        assert_eq!(body_message(b""), None);
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limiter_spaces_slots_and_honours_pauses() {
        // Virtual time: exact, not a timing race.
        let l = RateLimiter::new(Some(100.0));
        let start = Instant::now();
        for _ in 0..5 {
            l.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::from_millis(40));
        l.pause_until(Instant::now() + Duration::from_secs(2));
        l.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_millis(2040));
    }
}
