//! The HTTP client: one place for retries, backoff, 429 handling, the client-side rate
//! limit, the concurrency limit, authentication and the source's clock.
//!
//! Order of a request: rate-limit slot → concurrency permit → bearer token (a login,
//! if due, runs inside the caller's permit so in-flight requests never exceed
//! `concurrency`) → send → classify. Transient failures (5xx, 408, 429, timeouts,
//! connection errors, malformed JSON) are retried with exponential backoff and full
//! jitter up to `max_attempts`; a 429's `Retry-After` pauses every task.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use chrono::{DateTime, Utc};
use rand::Rng;
use reqwest::header::{HeaderMap, DATE, RETRY_AFTER};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;
use tracing::Instrument;

use crate::auth::{parse_token_answer, Auth, Granted};
use crate::config::ExtractConfig;
use crate::error::ExtractError;
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

/// A list page: `{"total": N, "results": [...]}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Page {
    #[serde(default, deserialize_with = "de_total")]
    pub total: Option<u64>,
    pub results: Vec<Box<RawValue>>,
}

fn de_total<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v: Option<serde_json::Value> = Option::deserialize(d)?;
    Ok(match v {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
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
    /// Server-mandated delay (Retry-After).
    retry_after: Option<Duration>,
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
                key: "extract.base_url",
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
        Ok(date.unwrap_or_else(Utc::now))
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
    pub(crate) async fn send_json<T: DeserializeOwned>(
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
                        self.shared.limiter.pause_until(Instant::now() + delay);
                    } else {
                        tokio::time::sleep(delay).await;
                    }
                }
            }
        }
    }

    async fn attempt<T: DeserializeOwned>(
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
            let body = resp
                .bytes()
                .await
                .map_err(|e| transient(format!("reading body: {}", describe(&e))))?;
            Metrics::add(&sh.metrics.bytes, body.len() as u64);
            tracing::trace!(
                attempt,
                status = status.as_u16(),
                bytes = body.len(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "{} {url}",
                req.verb.as_str()
            );
            return serde_json::from_slice(&body)
                .map(Some)
                .map_err(|e| transient(format!("malformed JSON body: {e}")));
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
        let retry_after = parse_retry_after(resp.headers());
        let body = resp.bytes().await.unwrap_or_default();
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
                         extract.auth.token (or its environment variable)",
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
                    retry_after: Some(retry_after.unwrap_or_else(|| self.backoff(attempt))),
                }))
            }
            s if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT => {
                Err(transient(format!(
                    "HTTP {}{}",
                    s.as_u16(),
                    body_message(&body)
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                )))
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
                        let body = resp.bytes().await.unwrap_or_default();
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
                            if let Some(d) = retry_after {
                                sh.limiter.pause_until(Instant::now() + d);
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
                                     check extract.auth.login and extract.auth.password",
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
    })
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

/// `Retry-After` as seconds or an HTTP date.
fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim().to_owned();
    if let Ok(secs) = v.parse::<f64>() {
        return Duration::try_from_secs_f64(secs.max(0.0)).ok();
    }
    let at = DateTime::parse_from_rfc2822(&v).ok()?.with_timezone(&Utc);
    // A date in the past means "now"; compare against the server's own `Date` when present.
    let now = headers
        .get(DATE)
        .and_then(|d| d.to_str().ok())
        .and_then(|d| DateTime::parse_from_rfc2822(d).ok())
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(Utc::now);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
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
