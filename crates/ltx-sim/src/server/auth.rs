//! Credentials of both profiles: the web-api login (`/oauth2/token`) that issues tokens,
//! and one middleware per profile ([`v2_auth`], [`web_auth`]) that answers 401 to a
//! request without valid credentials before it reaches a handler.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use rand::Rng;
use serde_json::json;

use super::reply::error;
use super::state::{lock, Shared};

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// `Some(401 response)` when the v2 token is missing or wrong.
fn check_v2(s: &Shared, headers: &HeaderMap) -> Option<Response> {
    match bearer(headers) {
        Some(t) if t == s.cfg.token => None,
        Some(_) => {
            s.stats.unauthorized();
            Some(error(StatusCode::UNAUTHORIZED, "invalid access token"))
        }
        None => {
            s.stats.unauthorized();
            Some(error(StatusCode::UNAUTHORIZED, "missing access token"))
        }
    }
}

/// `Some(401 response)` when the web-api token is missing, unknown or expired.
fn check_web(s: &Shared, headers: &HeaderMap) -> Option<Response> {
    let Some(t) = bearer(headers) else {
        s.stats.unauthorized();
        return Some(error(StatusCode::UNAUTHORIZED, "missing access token"));
    };
    let issued = lock(&s.tokens).get(t).copied();
    match issued {
        Some(at) if at.elapsed() < s.cfg.token_ttl => None,
        Some(_) => {
            s.stats.stale();
            Some(error(StatusCode::UNAUTHORIZED, "token expired"))
        }
        None => {
            s.stats.unauthorized();
            Some(error(StatusCode::UNAUTHORIZED, "invalid access token"))
        }
    }
}

/// Middleware of the v2 routes: the static Bearer token.
///
/// Both layers run inside the faults layer, on matched methods only, where each handler
/// used to check the credentials itself. The optional `{id}` is extracted first, as those
/// handlers did before checking: a malformed id is a 400 whatever the credentials.
pub(super) async fn v2_auth(
    State(s): State<Arc<Shared>>,
    _id: Option<Path<String>>,
    req: Request,
    next: Next,
) -> Response {
    match check_v2(&s, req.headers()) {
        Some(r) => r,
        None => next.run(req).await,
    }
}

/// Middleware of the web-api routes: a token issued by [`oauth_token`], not expired.
pub(super) async fn web_auth(
    State(s): State<Arc<Shared>>,
    _id: Option<Path<String>>,
    req: Request,
    next: Next,
) -> Response {
    match check_web(&s, req.headers()) {
        Some(r) => r,
        None => next.run(req).await,
    }
}

/// `POST /oauth2/token`: the password grant of the web-api profile; issues a token valid
/// for `token_ttl`.
pub(super) async fn oauth_token(
    State(s): State<Arc<Shared>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let ok = form.get("grant_type").map(String::as_str) == Some("password")
        && form.get("username") == Some(&s.cfg.login)
        && form.get("password") == Some(&s.cfg.password);
    if !ok {
        return error(StatusCode::UNAUTHORIZED, "invalid_grant");
    }
    let n = s.token_seq.fetch_add(1, Ordering::SeqCst);
    let salt: u64 = lock(&s.fault_rng).gen();
    let token = format!("wa-{n}-{salt:016x}");
    lock(&s.tokens).insert(token.clone(), Instant::now());
    s.stats.login();
    Json(json!({"results": {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": s.cfg.token_ttl.as_secs(),
    }}))
    .into_response()
}
