//! Paging and rendering of pages: which conversations or children match a list query,
//! the page served (with the `mutate_rate`, `ignore_offset`, `repeat_page_rate` and
//! `total_*` faults), and one conversation (`show_404_rate`).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand::Rng;
use serde_json::{json, Value};

use super::reply::error;
use super::state::{lock, Shared};
use crate::account::{ChildIndex, ChildKind, ChildRow, Conv, Snapshot};
use crate::query::{list_of, parse_list, ListQuery, Profile, Sort};
use crate::time::from_secs;

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

pub(super) fn list_conversations(
    s: &Shared,
    params: &HashMap<String, String>,
    profile: Profile,
) -> Response {
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

pub(super) fn list_children(
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
pub(super) fn one_conversation(s: &Shared, id: &str, params: &HashMap<String, String>) -> Response {
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
