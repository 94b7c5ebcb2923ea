//! The faults middleware around every API route: counters, then the fault knobs (rate
//! limits and `Retry-After`, redirects, latency, stalls, 5xx, cut bodies), the hostile
//! answers of [`crate::hostile`], and the `Date` header (skewed by `clock_skew`).

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use rand::Rng;

use super::reply::error;
use super::state::{lock, Shared};
use crate::config::Faults;
use crate::time::fmt_http_date;

pub(super) async fn faults_layer(
    State(s): State<Arc<Shared>>,
    req: Request,
    next: Next,
) -> Response {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| req.uri().path().to_owned());
    if path.starts_with("/_sim/") {
        return with_date(&s, next.run(req).await);
    }
    let _guard = s.stats.begin(&path);
    let f = s.faults();
    let resp = apply_faults(&s, &f, req, next).await;
    let resp = hostile_answer(&s, &f, &path, resp).await;
    s.stats.status(resp.status().as_u16());
    with_skewed_date(&s, resp, f.clock_skew)
}

/// The `non_json_rate` and `inflate_body_mb` faults on a 200 answer (see
/// [`crate::hostile`]).
async fn hostile_answer(s: &Shared, f: &Faults, path: &str, resp: Response) -> Response {
    let non_json =
        f.non_json_rate > 0.0 && matches!(path, "/v2/conversations" | "/conversations/list");
    let inflate = f.inflate_body_mb > 0 && path != "/oauth2/token";
    if resp.status() != StatusCode::OK || !(non_json || inflate) {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "could not render the answer",
        );
    };
    let mut bytes = bytes.to_vec();
    if non_json {
        let (seed, rate) = (s.cfg.seed, f.non_json_rate);
        let kind = |id| crate::hostile::non_json_kind(seed, rate, id);
        if let Some(page) = crate::hostile::non_json_page(&bytes, kind) {
            bytes = page;
        }
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    if inflate {
        parts
            .headers
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        let body = crate::hostile::inflating_gzip(&bytes, f.inflate_body_mb);
        return Response::from_parts(parts, body);
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// A 429's `Retry-After`: the computed wait, or the `retry_after` fault's text.
fn retry_after_value(f: &Faults, secs: u64) -> HeaderValue {
    f.retry_after
        .as_deref()
        .and_then(|v| HeaderValue::from_bytes(v.as_bytes()).ok())
        .unwrap_or_else(|| HeaderValue::from(secs))
}

async fn apply_faults(s: &Shared, f: &Faults, req: Request, next: Next) -> Response {
    if let Some(rate) = f.rate_limit_per_s.filter(|r| *r > 0.0) {
        let wait = {
            let mut b = lock(&s.bucket);
            let now = Instant::now();
            let cap = rate.max(1.0);
            b.tokens = (b.tokens + now.duration_since(b.last).as_secs_f64() * rate).min(cap);
            b.last = now;
            if b.tokens >= 1.0 {
                b.tokens -= 1.0;
                None
            } else {
                Some(((1.0 - b.tokens) / rate).ceil().max(1.0) as u64)
            }
        };
        if let Some(secs) = wait {
            let mut r = error(StatusCode::TOO_MANY_REQUESTS, "too many requests");
            r.headers_mut()
                .insert(header::RETRY_AFTER, retry_after_value(f, secs));
            return r;
        }
    }
    if let Some(to) = &f.redirect_to {
        return redirect(to, &req);
    }
    if !f.latency.is_zero() {
        tokio::time::sleep(f.latency).await;
    }
    if f.rate_limited_rate > 0.0 && s.draw() < f.rate_limited_rate {
        let mut r = error(StatusCode::TOO_MANY_REQUESTS, "too many requests");
        r.headers_mut()
            .insert(header::RETRY_AFTER, retry_after_value(f, 0));
        return r;
    }
    if f.stall_rate > 0.0 && s.draw() < f.stall_rate {
        tokio::time::sleep(f.stall).await;
    }
    if f.error_rate > 0.0 && s.draw() < f.error_rate {
        let status = [
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::BAD_GATEWAY,
            StatusCode::SERVICE_UNAVAILABLE,
        ][lock(&s.fault_rng).gen_range(0..3)];
        return error(status, "simulated server error");
    }
    let resp = next.run(req).await;
    if f.malformed_rate > 0.0 && resp.status() == StatusCode::OK && s.draw() < f.malformed_rate {
        let (mut parts, body) = resp.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap_or_default();
        // Cut the body in half (and never leave a complete JSON value behind).
        let cut = Bytes::copy_from_slice(&bytes[..bytes.len() / 2]);
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, Body::from(cut));
    }
    resp
}

/// The `redirect_to` fault: `307` to `to` + the request's path and query (a 307 keeps the
/// method and body, so a client that follows it re-sends a login's password there).
fn redirect(to: &str, req: &Request) -> Response {
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let location = format!("{}{path}", to.trim_end_matches('/'));
    let mut r = error(StatusCode::TEMPORARY_REDIRECT, "moved");
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn with_date(s: &Shared, resp: Response) -> Response {
    with_skewed_date(s, resp, chrono::TimeDelta::zero())
}

/// The `Date` header, `skew` off the simulated clock (the `clock_skew` fault).
fn with_skewed_date(s: &Shared, mut resp: Response, skew: chrono::TimeDelta) -> Response {
    let now = s.clock.now();
    let date = now.checked_add_signed(skew).unwrap_or(now);
    if let Ok(v) = HeaderValue::from_str(&fmt_http_date(date)) {
        resp.headers_mut().insert(header::DATE, v);
    }
    resp
}
