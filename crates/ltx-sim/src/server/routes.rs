//! The router: the v2 and web-api routes, each group behind its profile's auth layer,
//! the login and `/_sim/` control routes outside them, everything inside the faults
//! layer; and the handlers, which only pick the page or answer to serve.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::auth::{oauth_token, v2_auth, web_auth};
use super::faults::faults_layer;
use super::pages::{list_children, list_conversations, one_conversation};
use super::reply::error;
use super::state::Shared;
use crate::account::ChildKind;
use crate::query::Profile;
use crate::time::parse_param;

type Params = Query<HashMap<String, String>>;

// Credentials are checked by the auth layer of each profile (see `router`).

async fn v2_conversations(State(s): State<Arc<Shared>>, Query(p): Params) -> Response {
    list_conversations(&s, &p, Profile::V2)
}

async fn web_conversations(State(s): State<Arc<Shared>>, Query(p): Params) -> Response {
    list_conversations(&s, &p, Profile::Web)
}

/// `/v2/conversations/{id}` and `/conversations/{id}`.
async fn conversation(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    Query(p): Params,
) -> Response {
    one_conversation(&s, &id, &p)
}

async fn web_conversation_get(State(s): State<Arc<Shared>>, Query(p): Params) -> Response {
    match p.get("id") {
        Some(id) => one_conversation(&s, id, &p),
        None => error(StatusCode::BAD_REQUEST, "parameter id is required"),
    }
}

macro_rules! child_handlers {
    ($v2:ident, $web:ident, $kind:expr) => {
        async fn $v2(State(s): State<Arc<Shared>>, Query(p): Params) -> Response {
            list_children(&s, $kind, &p, Profile::V2)
        }
        async fn $web(State(s): State<Arc<Shared>>, Query(p): Params) -> Response {
            list_children(&s, $kind, &p, Profile::Web)
        }
    };
}

child_handlers!(v2_chats, web_chats, ChildKind::Chats);
child_handlers!(v2_calls, web_calls, ChildKind::Calls);
child_handlers!(v2_leads, web_leads, ChildKind::Leads);
child_handlers!(v2_complaints, web_complaints, ChildKind::Complaints);

// The `/_sim/` control routes (no credentials; the faults layer only adds the `Date`).

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

/// Every route of the simulator. Each profile's routes sit behind one auth layer of that
/// profile, which runs only on a matched method: a wrong method stays a 405 and an unknown
/// path a 404 without a credentials check, as when each handler checked them. The layer is
/// added per route (`MethodRouter::route_layer`) because `Router::route_layer` would also
/// wrap the 405. The faults layer wraps everything, so it runs before the auth layers, as
/// it ran before the handlers' checks. `/oauth2/token` and `/_sim/` have no auth layer.
pub(super) fn router(shared: Arc<Shared>) -> Router {
    let v2_auth = middleware::from_fn_with_state(Arc::clone(&shared), v2_auth);
    let v2 = [
        ("/v2/conversations", get(v2_conversations)),
        ("/v2/conversations/{id}", get(conversation)),
        ("/v2/chats", get(v2_chats)),
        ("/v2/calls", get(v2_calls)),
        ("/v2/leads", get(v2_leads)),
        ("/v2/complaints", get(v2_complaints)),
    ]
    .into_iter()
    .fold(Router::new(), |r, (path, m)| {
        r.route(path, m.route_layer(v2_auth.clone()))
    });
    let web_auth = middleware::from_fn_with_state(Arc::clone(&shared), web_auth);
    let web = [
        ("/conversations/list", post(web_conversations)),
        ("/conversations/get", post(web_conversation_get)),
        ("/conversations/{id}", get(conversation)),
        ("/chats/list", post(web_chats)),
        ("/calls/list", post(web_calls)),
        ("/leads/list", post(web_leads)),
        ("/complaints/list", post(web_complaints)),
    ]
    .into_iter()
    .fold(Router::new(), |r, (path, m)| {
        r.route(path, m.route_layer(web_auth.clone()))
    });
    Router::new()
        .merge(v2)
        .merge(web)
        .route("/oauth2/token", post(oauth_token))
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
