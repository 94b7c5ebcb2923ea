//! The HTTP server: both API profiles, the fault middleware and the `/_sim/` control routes.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use tokio::task::JoinHandle;

use crate::account::{Account, ChildIndex, ChildKind, ChildRow, Conv, Snapshot};
use crate::config::{Faults, SimConfig};
use crate::error::SimError;
use crate::query::{list_of, parse_list, ListQuery, Profile, Sort};
use crate::stats::{SimStats, StatsCollector};
use crate::time::{fmt_http_date, from_secs, parse_param};
use crate::truth::WarehouseTruth;

/// The simulated clock: manual offsets, plus wall time when `realtime` is set.
#[derive(Debug)]
struct Clock {
    start: DateTime<Utc>,
    offset_ms: AtomicI64,
    realtime: bool,
    wall_start: Instant,
}

impl Clock {
    fn now(&self) -> DateTime<Utc> {
        let mut ms = self.offset_ms.load(Ordering::SeqCst);
        if self.realtime {
            ms += self.wall_start.elapsed().as_millis() as i64;
        }
        self.start + chrono::Duration::milliseconds(ms)
    }
}

/// Token bucket for the `rate_limit_per_s` fault.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// State shared by every handler and the handle.
#[derive(Debug)]
pub(crate) struct Shared {
    cfg: SimConfig,
    account: Arc<Account>,
    clock: Clock,
    faults: RwLock<Faults>,
    fault_rng: Mutex<ChaCha8Rng>,
    bucket: Mutex<Bucket>,
    tokens: Mutex<HashMap<String, Instant>>,
    token_seq: AtomicI64,
    stats: StatsCollector,
    /// List requests served (the `total_growing` fault).
    list_requests: AtomicI64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means a handler panicked; the data is still coherent.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn faults(&self) -> Faults {
        self.faults
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn draw(&self) -> f64 {
        lock(&self.fault_rng).gen()
    }

    fn now_secs(&self) -> i64 {
        self.clock.now().timestamp()
    }
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let body = json!({"code": status.as_u16(), "message": message.into()});
    (status, Json(body)).into_response()
}

// ---------------------------------------------------------------------------------------
// Middleware: stats, faults, the Date header.

async fn faults_layer(State(s): State<Arc<Shared>>, req: Request, next: Next) -> Response {
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

// ---------------------------------------------------------------------------------------
// Auth.

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

async fn oauth_token(
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

// ---------------------------------------------------------------------------------------
// Lists.

fn restrict(v: Value, fields: &Option<Vec<String>>) -> Value {
    match (fields, v) {
        (Some(fields), Value::Object(mut map)) => {
            map.retain(|k, _| k == "id" || fields.iter().any(|f| f == k));
            Value::Object(map)
        }
        (_, v) => v,
    }
}

/// Matching conversation ids in the requested order, without copying the common case.
enum Matches {
    /// A window of the updated_at-sorted snapshot (no other filter): O(1) per page.
    Window {
        snap: Arc<Snapshot>,
        lo: usize,
        hi: usize,
        desc: bool,
    },
    /// An explicit list of (updated_at, id) (other filters or created_at order).
    List(Vec<(i64, i64)>),
}

impl Matches {
    fn len(&self) -> usize {
        match self {
            Matches::Window { lo, hi, .. } => hi - lo,
            Matches::List(v) => v.len(),
        }
    }

    /// The i-th match as (updated_at in the matched state, id).
    fn get(&self, i: usize) -> Option<(i64, i64)> {
        match self {
            Matches::Window { snap, lo, hi, desc } => {
                if i >= hi - lo {
                    return None;
                }
                let k = if *desc { hi - 1 - i } else { lo + i };
                snap.by_updated.get(k).copied()
            }
            Matches::List(v) => v.get(i).copied(),
        }
    }
}

/// Matching conversation ids, in the requested order.
fn conversation_matches(s: &Shared, q: &ListQuery, at: i64) -> Matches {
    let snap = s.account.snapshot(at);
    if matches!(q.sort, Sort::UpdatedAsc | Sort::UpdatedDesc)
        && q.ids.is_none()
        && q.created.is_full()
    {
        let lo = snap.by_updated.partition_point(|&(t, _)| t < q.updated.lo);
        let hi = snap
            .by_updated
            .partition_point(|&(t, _)| t <= q.updated.hi)
            .max(lo);
        let desc = q.sort == Sort::UpdatedDesc;
        return Matches::Window { snap, lo, hi, desc };
    }
    let id_filter: Option<Vec<i64>> = q
        .ids
        .as_ref()
        .map(|v| v.iter().filter_map(|x| x.parse().ok()).collect());
    let created_ok = |id: i64| {
        q.created.is_full()
            || s.account
                .created_secs(id)
                .is_some_and(|c| q.created.contains(c))
    };
    let id_ok = |id: i64| id_filter.as_ref().is_none_or(|f| f.contains(&id));
    match q.sort {
        Sort::UpdatedAsc | Sort::UpdatedDesc => {
            let lo = snap.by_updated.partition_point(|&(t, _)| t < q.updated.lo);
            let hi = snap.by_updated.partition_point(|&(t, _)| t <= q.updated.hi);
            let slice = &snap.by_updated[lo..hi.max(lo)];
            let mut ids: Vec<(i64, i64)> = slice
                .iter()
                .copied()
                .filter(|&(_, id)| id_ok(id) && created_ok(id))
                .collect();
            if q.sort == Sort::UpdatedDesc {
                ids.reverse();
            }
            Matches::List(ids)
        }
        Sort::CreatedAsc | Sort::CreatedDesc => {
            let upd: HashMap<i64, i64> = snap.by_updated.iter().map(|&(t, id)| (id, t)).collect();
            let mut ids: Vec<(i64, i64)> = snap
                .by_created
                .iter()
                .filter_map(|&id| upd.get(&id).map(|&t| (t, id)))
                .filter(|&(t, id)| id_ok(id) && created_ok(id) && q.updated.contains(t))
                .collect();
            if q.sort == Sort::CreatedDesc {
                ids.reverse();
            }
            Matches::List(ids)
        }
    }
}

/// The `mutate_rate` fault: 1–3 of the `len` matching conversations (the i-th given by
/// `get`) get a version at `now`.
fn maybe_mutate(s: &Shared, len: usize, get: impl Fn(usize) -> Option<i64>, now: i64) -> bool {
    let f = s.faults();
    if f.mutate_rate <= 0.0 || len == 0 || s.draw() >= f.mutate_rate {
        return false;
    }
    let picks: Vec<i64> = {
        let mut rng = lock(&s.fault_rng);
        let n = rng.gen_range(1..=3);
        (0..n).filter_map(|_| get(rng.gen_range(0..len))).collect()
    };
    let mut done = 0;
    for id in picks {
        if s.account.mutate(id, now) {
            done += 1;
        }
    }
    s.stats.mutation(done);
    done > 0
}

/// A list page; the `total_inflate` and `total_growing` faults lie in its `total`.
fn page_response(s: &Shared, total: usize, results: Vec<Value>) -> Response {
    let f = s.faults();
    let mut total = (total as u64).saturating_add(f.total_inflate);
    if f.total_growing {
        let n = s.list_requests.fetch_add(1, Ordering::SeqCst) + 1;
        total = total.saturating_add(n.unsigned_abs());
    }
    Json(json!({"total": total, "results": results})).into_response()
}

/// The offset a list request is served at: the `ignore_offset` fault serves the first
/// page, `repeat_page_rate` the page before the one asked for.
fn served_offset(s: &Shared, q: &ListQuery) -> usize {
    let f = s.faults();
    if f.ignore_offset {
        return 0;
    }
    if q.offset > 0 && f.repeat_page_rate > 0.0 && s.draw() < f.repeat_page_rate {
        return q.offset.saturating_sub(q.limit);
    }
    q.offset
}

fn list_conversations(s: &Shared, params: &HashMap<String, String>, profile: Profile) -> Response {
    let q = match parse_list(params, profile) {
        Ok(q) => q,
        Err(m) => return error(StatusCode::BAD_REQUEST, m),
    };
    let at = s.now_secs();
    let mut ids = conversation_matches(s, &q, at);
    if maybe_mutate(s, ids.len(), |i| ids.get(i).map(|(_, id)| id), at) {
        ids = conversation_matches(s, &q, at);
    }
    let offset = served_offset(s, &q);
    let results = (offset..offset.saturating_add(q.limit))
        .map_while(|i| ids.get(i))
        // Rendered in the matched state: a version added meanwhile by a concurrent
        // request must not contradict this page's order.
        .filter_map(|(version, id)| s.account.conversation_json_upto(id, at, version))
        .map(|v| restrict(v, &q.fields))
        .collect();
    page_response(s, ids.len(), results)
}

/// Child rows matching a query, in the requested order, without copying the common case.
enum ChildMatches {
    /// A window of the `updated_at`-sorted index (no other filter): O(log N) per page.
    Window {
        index: Arc<ChildIndex>,
        kind: ChildKind,
        lo: usize,
        hi: usize,
        desc: bool,
    },
    /// An explicit list (other filters or created_at order).
    List(Vec<ChildRow>),
}

impl ChildMatches {
    fn len(&self) -> usize {
        match self {
            ChildMatches::Window { lo, hi, .. } => hi - lo,
            ChildMatches::List(v) => v.len(),
        }
    }

    fn get(&self, i: usize) -> Option<ChildRow> {
        match self {
            ChildMatches::Window {
                index,
                kind,
                lo,
                hi,
                desc,
            } => {
                if i >= hi - lo {
                    return None;
                }
                let k = if *desc { hi - 1 - i } else { lo + i };
                index.rows(*kind).get(k).copied()
            }
            ChildMatches::List(v) => v.get(i).copied(),
        }
    }
}

/// The child's own `id` as the `ids=` filter compares it (complaint ids are strings).
fn child_own_id(item: &Value) -> String {
    match &item["id"] {
        Value::String(x) => x.clone(),
        other => other.to_string(),
    }
}

/// Children of `kind` matching `q` at `at`, in the requested order.
fn child_matches(s: &Shared, kind: ChildKind, q: &ListQuery, at: i64) -> ChildMatches {
    let index = s.account.child_index(at);
    let all = index.rows(kind);
    let lo = all.partition_point(|r| r.updated < q.updated.lo);
    let hi = all.partition_point(|r| r.updated <= q.updated.hi).max(lo);
    if matches!(q.sort, Sort::UpdatedAsc | Sort::UpdatedDesc)
        && q.created.is_full()
        && q.ids.is_none()
        && q.conversation_ids.is_none()
    {
        let desc = q.sort == Sort::UpdatedDesc;
        return ChildMatches::Window {
            index,
            kind,
            lo,
            hi,
            desc,
        };
    }
    let mut rows: Vec<ChildRow> = all[lo..hi]
        .iter()
        .filter(|r| {
            q.created.contains(r.created)
                && q.conversation_ids
                    .as_ref()
                    .is_none_or(|c| c.contains(&r.conversation))
        })
        .copied()
        .collect();
    if let Some(ids) = &q.ids {
        // Own ids are not in the index: render the (already narrowed) candidates.
        rows.retain(|r| {
            render_child(s, kind, r, at).is_some_and(|item| ids.contains(&child_own_id(&item)))
        });
    }
    match q.sort {
        Sort::UpdatedAsc => {}
        Sort::UpdatedDesc => rows.reverse(),
        Sort::CreatedAsc => rows.sort_by_key(|r| (r.created, r.conversation, r.position)),
        Sort::CreatedDesc => {
            rows.sort_by_key(|r| std::cmp::Reverse((r.created, r.conversation, r.position)))
        }
    }
    ChildMatches::List(rows)
}

/// Renders one child row at `at` as the list returns it (with its `conversation`).
fn render_child(s: &Shared, kind: ChildKind, row: &ChildRow, at: i64) -> Option<Value> {
    let conv = s.account.build_upto(row.conversation, at, row.version)?;
    render_from(s, &conv, kind, row)
}

fn render_from(s: &Shared, conv: &Conv, kind: ChildKind, row: &ChildRow) -> Option<Value> {
    let position = usize::try_from(row.position).ok()?;
    let mut item = conv.render_child(kind, position, s.account.pools())?;
    item["conversation"] = json!({"id": row.conversation});
    Some(item)
}

fn list_children(
    s: &Shared,
    kind: ChildKind,
    params: &HashMap<String, String>,
    profile: Profile,
) -> Response {
    let q = match parse_list(params, profile) {
        Ok(q) => q,
        Err(m) => return error(StatusCode::BAD_REQUEST, m),
    };
    let at = s.now_secs();
    let mut rows = child_matches(s, kind, &q, at);
    let mutated = maybe_mutate(s, rows.len(), |i| rows.get(i).map(|r| r.conversation), at);
    if mutated {
        rows = child_matches(s, kind, &q, at);
    }
    // Only the page is rendered; consecutive rows of one conversation share its build.
    let mut results = Vec::new();
    let mut built: Option<Conv> = None;
    let offset = served_offset(s, &q);
    for i in offset..offset.saturating_add(q.limit) {
        let Some(row) = rows.get(i) else {
            break;
        };
        if built
            .as_ref()
            .is_none_or(|c| c.id != row.conversation || c.updated != row.version)
        {
            built = s.account.build_upto(row.conversation, at, row.version);
        }
        if let Some(item) = built.as_ref().and_then(|c| render_from(s, c, kind, &row)) {
            results.push(restrict(item, &q.fields));
        }
    }
    page_response(s, rows.len(), results)
}

/// One conversation; `fields` (comma-separated) restricts it as on lists.
fn one_conversation(s: &Shared, id: &str, params: &HashMap<String, String>) -> Response {
    let Ok(id) = id.trim().parse::<i64>() else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("invalid conversation id {id:?}"),
        );
    };
    let fields = params.get("fields").map(|f| list_of(f));
    let f = s.faults();
    if f.show_404_rate > 0.0 && s.draw() < f.show_404_rate {
        return error(
            StatusCode::NOT_FOUND,
            format!("conversation {id} not found"),
        );
    }
    match s.account.conversation_json(id, from_secs(s.now_secs())) {
        Some(v) => Json(restrict(v, &fields)).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            format!("conversation {id} not found"),
        ),
    }
}

type Params = Query<HashMap<String, String>>;

async fn v2_conversations(
    State(s): State<Arc<Shared>>,
    h: HeaderMap,
    Query(p): Params,
) -> Response {
    if let Some(r) = check_v2(&s, &h) {
        return r;
    }
    list_conversations(&s, &p, Profile::V2)
}

async fn v2_conversation(
    State(s): State<Arc<Shared>>,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(p): Params,
) -> Response {
    if let Some(r) = check_v2(&s, &h) {
        return r;
    }
    one_conversation(&s, &id, &p)
}

async fn web_conversations(
    State(s): State<Arc<Shared>>,
    h: HeaderMap,
    Query(p): Params,
) -> Response {
    if let Some(r) = check_web(&s, &h) {
        return r;
    }
    list_conversations(&s, &p, Profile::Web)
}

async fn web_conversation(
    State(s): State<Arc<Shared>>,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(p): Params,
) -> Response {
    if let Some(r) = check_web(&s, &h) {
        return r;
    }
    one_conversation(&s, &id, &p)
}

async fn web_conversation_get(
    State(s): State<Arc<Shared>>,
    h: HeaderMap,
    Query(p): Params,
) -> Response {
    if let Some(r) = check_web(&s, &h) {
        return r;
    }
    match p.get("id") {
        Some(id) => one_conversation(&s, id, &p),
        None => error(StatusCode::BAD_REQUEST, "parameter id is required"),
    }
}

macro_rules! child_handlers {
    ($v2:ident, $web:ident, $kind:expr) => {
        async fn $v2(State(s): State<Arc<Shared>>, h: HeaderMap, Query(p): Params) -> Response {
            if let Some(r) = check_v2(&s, &h) {
                return r;
            }
            list_children(&s, $kind, &p, Profile::V2)
        }
        async fn $web(State(s): State<Arc<Shared>>, h: HeaderMap, Query(p): Params) -> Response {
            if let Some(r) = check_web(&s, &h) {
                return r;
            }
            list_children(&s, $kind, &p, Profile::Web)
        }
    };
}

child_handlers!(v2_chats, web_chats, ChildKind::Chats);
child_handlers!(v2_calls, web_calls, ChildKind::Calls);
child_handlers!(v2_leads, web_leads, ChildKind::Leads);
child_handlers!(v2_complaints, web_complaints, ChildKind::Complaints);

// ---------------------------------------------------------------------------------------
// Control routes.

async fn sim_advance(State(s): State<Arc<Shared>>, Query(p): Params) -> Response {
    let Some(secs) = p.get("seconds").and_then(|v| v.trim().parse::<f64>().ok()) else {
        return error(
            StatusCode::BAD_REQUEST,
            "parameter seconds (a number) is required",
        );
    };
    s.clock
        .offset_ms
        .fetch_add((secs * 1000.0) as i64, Ordering::SeqCst);
    Json(json!({"now": s.clock.now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)}))
        .into_response()
}

async fn sim_truth(State(s): State<Arc<Shared>>, Query(p): Params) -> Response {
    let at = match p.get("at") {
        Some(v) => match parse_param(v) {
            Some(t) => t,
            None => return error(StatusCode::BAD_REQUEST, format!("invalid datetime {v:?}")),
        },
        None => s.clock.now(),
    };
    let list: Vec<Value> = s
        .account
        .visible(at)
        .into_iter()
        .map(|(id, t)| {
            json!({"id": id, "updated_at": t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)})
        })
        .collect();
    Json(
        json!({"at": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), "conversations": list}),
    )
    .into_response()
}

async fn sim_stats(State(s): State<Arc<Shared>>) -> Response {
    Json(s.stats.snapshot()).into_response()
}

async fn sim_now(State(s): State<Arc<Shared>>) -> Response {
    Json(json!({"now": s.clock.now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)}))
        .into_response()
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v2/conversations", get(v2_conversations))
        .route("/v2/conversations/{id}", get(v2_conversation))
        .route("/v2/chats", get(v2_chats))
        .route("/v2/calls", get(v2_calls))
        .route("/v2/leads", get(v2_leads))
        .route("/v2/complaints", get(v2_complaints))
        .route("/oauth2/token", post(oauth_token))
        .route("/conversations/list", post(web_conversations))
        .route("/conversations/get", post(web_conversation_get))
        .route("/conversations/{id}", get(web_conversation))
        .route("/chats/list", post(web_chats))
        .route("/calls/list", post(web_calls))
        .route("/leads/list", post(web_leads))
        .route("/complaints/list", post(web_complaints))
        .route("/_sim/advance", post(sim_advance))
        .route("/_sim/truth", get(sim_truth))
        .route("/_sim/stats", get(sim_stats))
        .route("/_sim/now", get(sim_now))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such endpoint") })
        .layer(middleware::from_fn_with_state(
            Arc::clone(&shared),
            faults_layer,
        ))
        .with_state(shared)
}

// ---------------------------------------------------------------------------------------
// Public entry points.

/// Starts simulated LiveTex servers.
#[derive(Debug)]
pub struct SimServer;

impl SimServer {
    /// Builds the account and serves it on `127.0.0.1:0` (an ephemeral port).
    pub async fn start(cfg: SimConfig) -> Result<SimHandle, SimError> {
        Self::start_on(cfg, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Builds the account and serves it on `addr` (for `ltx sim --port`).
    pub async fn start_on(cfg: SimConfig, addr: SocketAddr) -> Result<SimHandle, SimError> {
        validate(&cfg)?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| SimError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| SimError::Bind { addr, source })?;
        // Building the index of a large account takes a moment: keep it off the reactor.
        let cfg2 = cfg.clone();
        let account = tokio::task::spawn_blocking(move || Account::new(&cfg2))
            .await
            .map_err(|e| SimError::Internal(format!("account generation failed: {e}")))?;
        let shared = Arc::new(Shared {
            account: Arc::new(account),
            clock: Clock {
                start: cfg.start_clock,
                offset_ms: AtomicI64::new(0),
                realtime: cfg.realtime,
                wall_start: Instant::now(),
            },
            faults: RwLock::new(cfg.faults.clone()),
            fault_rng: Mutex::new(ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x5EED_FA17)),
            bucket: Mutex::new(Bucket {
                tokens: cfg.faults.rate_limit_per_s.unwrap_or(1.0).max(1.0),
                last: Instant::now(),
            }),
            tokens: Mutex::new(HashMap::new()),
            token_seq: AtomicI64::new(1),
            stats: StatsCollector::new(),
            list_requests: AtomicI64::new(0),
            cfg,
        });
        let app = router(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "simulator server stopped");
            }
        });
        tracing::info!(addr = %local, "ltx-sim listening");
        Ok(SimHandle {
            shared,
            addr: local,
            task,
        })
    }
}

fn validate(cfg: &SimConfig) -> Result<(), SimError> {
    let f = &cfg.faults;
    for (name, v) in [
        ("faults.error_rate", f.error_rate),
        ("faults.rate_limited_rate", f.rate_limited_rate),
        ("faults.stall_rate", f.stall_rate),
        ("faults.malformed_rate", f.malformed_rate),
        ("faults.mutate_rate", f.mutate_rate),
        ("faults.bad_record_rate", f.bad_record_rate),
        ("faults.drift_rate", f.drift_rate),
        ("faults.repeat_page_rate", f.repeat_page_rate),
        ("faults.show_404_rate", f.show_404_rate),
        ("faults.non_json_rate", f.non_json_rate),
    ] {
        if !(0.0..=1.0).contains(&v) {
            return Err(SimError::InvalidConfig {
                key: name,
                reason: format!("must be within 0..=1, got {v}"),
            });
        }
    }
    if cfg.history_days == 0 {
        return Err(SimError::InvalidConfig {
            key: "history_days",
            reason: "must be at least 1".to_owned(),
        });
    }
    Ok(())
}

/// A running simulator. Dropping it stops the server.
#[derive(Debug)]
pub struct SimHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl SimHandle {
    /// `http://127.0.0.1:PORT` (v2 under `/v2`, web-api paths at the root).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The static v2 Bearer token.
    pub fn token(&self) -> &str {
        &self.shared.cfg.token
    }

    /// The web-api login.
    pub fn login(&self) -> &str {
        &self.shared.cfg.login
    }

    /// The web-api password.
    pub fn password(&self) -> &str {
        &self.shared.cfg.password
    }

    /// The configuration the server runs with (faults as at start).
    pub fn config(&self) -> &SimConfig {
        &self.shared.cfg
    }

    /// The simulated clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.shared.clock.now()
    }

    /// Moves the simulated clock by `by`.
    pub fn advance(&self, by: chrono::Duration) {
        self.shared
            .clock
            .offset_ms
            .fetch_add(by.num_milliseconds(), Ordering::SeqCst);
    }

    /// Replaces the fault knobs (takes effect on the next request).
    pub fn set_faults(&self, faults: Faults) {
        self.shared
            .account
            .set_bad_record_rate(faults.bad_record_rate);
        self.shared.account.set_drift_rate(faults.drift_rate);
        *self
            .shared
            .faults
            .write()
            .unwrap_or_else(|e| e.into_inner()) = faults;
    }

    /// Gives the first `n` visible conversations (by id) a new version at the current
    /// clock, so that they share one second: a crowded second, which clients page by
    /// offset. Returns how many got one.
    pub fn touch(&self, n: usize) -> usize {
        let now = self.shared.now_secs();
        let ids = self.shared.account.ground_truth(self.now());
        ids.keys()
            .take(n)
            .filter(|&&id| self.shared.account.mutate(id, now))
            .count()
    }

    /// The current fault knobs.
    pub fn faults(&self) -> Faults {
        self.shared.faults()
    }

    /// How conversation `id` is broken in list pages by the `non_json_rate` fault now, if
    /// it is (the same every time; see [`crate::hostile::non_json_kind`]).
    pub fn non_json_kind(&self, id: i64) -> Option<crate::hostile::NonJson> {
        crate::hostile::non_json_kind(self.shared.cfg.seed, self.faults().non_json_rate, id)
    }

    /// id → `updated_at` of every conversation visible at `at` (latest version as of `at`,
    /// mid-paging mutations included).
    pub fn ground_truth(&self, at: DateTime<Utc>) -> BTreeMap<i64, DateTime<Utc>> {
        self.shared.account.ground_truth(at)
    }

    /// Ground truth per warehouse table at `at` (keys and `_source_updated_at` of every
    /// row a correct warehouse shows after syncing everything visible then).
    pub fn table_truth(&self, at: DateTime<Utc>) -> Result<WarehouseTruth, SimError> {
        self.shared.account.table_truth(at)
    }

    /// Full JSON of every conversation visible at `at`, in id order, generated lazily.
    pub fn ground_truth_conversations(
        &self,
        at: DateTime<Utc>,
    ) -> impl Iterator<Item = Value> + Send + 'static {
        let account = Arc::clone(&self.shared.account);
        let ids = account.visible(at);
        ids.into_iter()
            .filter_map(move |(id, _)| account.conversation_json(id, at))
    }

    /// The generator behind the server.
    pub fn account(&self) -> Arc<Account> {
        Arc::clone(&self.shared.account)
    }

    /// Counters since start.
    pub fn stats(&self) -> SimStats {
        self.shared.stats.snapshot()
    }

    /// Stops the server (in-flight requests, stalled ones included, are dropped).
    pub async fn shutdown(mut self) {
        self.task.abort();
        // Wait until the listener is really closed; the cancellation error is expected.
        let _ = (&mut self.task).await;
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}
