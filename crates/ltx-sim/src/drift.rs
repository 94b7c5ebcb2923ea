//! Schema drift: values of a JSON type our API reference does not describe.
//!
//! A real account sends what its backend sends: a string where the reference documents an
//! object (`employees[].role: "operator"`), an object where a number is documented, and so
//! on, and values of a documented closed set that the reference never listed. With
//! `Faults::drift_rate`, a conversation gets one to three of its values replaced by a value
//! of another JSON type, chosen over every value the model types, at any depth: scalars
//! become `{"ltx-sim-drift": <the value>}`, objects and arrays become the string
//! `"ltx-sim-drift"`, and half of the values of a closed set (a chat's `result`, an
//! employee's `state`, ...) become that string instead. Neither form is one a tolerant reader may accept in their place, so
//! each replaced value is one the warehouse must report as drift; [`paths`] finds them
//! again in the JSON served, which is how the ground truth predicts `_quality_issues`.
//!
//! Never replaced: what identifies a record (every `id`, the conversation's `updated_at`),
//! the arrays that hold rows (`chats`, `messages`, ...) and their elements (the values inside
//! them are), free-form JSON (`visitor_variables`, forms, a chat's `events`, ...), fields the
//! model does not know, and `null` (an absent value of any type is not drift).

use rand::Rng;
use serde_json::{Map, Value};

/// The marker of a replaced value.
pub const MARK: &str = "ltx-sim-drift";

/// Keys whose values are free-form JSON or unknown to the model: any value fits them.
const UNTYPED: [&str; 8] = [
    "visitor_variables",
    "prechat_fields",
    "prechats_chat",
    "prechats_hidden",
    "departments",
    "conversation",
    "bot_session",
    "channel_type",
];

/// Keys whose string values come from a documented closed set, wherever they occur.
const CLOSED_SETS: [&str; 4] = ["result", "visitor_vote", "widget_type", "state"];

/// Keys of arrays whose elements are rows of their own table (at the conversation level,
/// and `messages` of a chat).
const ROW_ARRAYS: [&str; 7] = [
    "chats",
    "calls",
    "leads",
    "complaints",
    "employees",
    "events",
    "messages",
];

/// One step of a path.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

/// Paths of the values of `conv` that may be replaced.
fn candidates(conv: &Value) -> Vec<Vec<Step>> {
    let mut out = Vec::new();
    if let Value::Object(map) = conv {
        walk_object(map, &mut Vec::new(), true, false, &mut out);
    }
    out
}

fn walk_object(
    map: &Map<String, Value>,
    path: &mut Vec<Step>,
    top: bool,
    in_chat: bool,
    out: &mut Vec<Vec<Step>>,
) {
    for (key, value) in map {
        if key == "id" || (top && key == "updated_at") || UNTYPED.contains(&key.as_str()) {
            continue;
        }
        // A chat's `events` is free-form JSON, not the conversation's event rows.
        if in_chat && key == "events" {
            continue;
        }
        path.push(Step::Key(key.clone()));
        let rows = (top && ROW_ARRAYS.contains(&key.as_str()) && key != "messages")
            || (in_chat && key == "messages");
        match value {
            Value::Null => {}
            Value::Array(items) if rows => {
                for (i, item) in items.iter().enumerate() {
                    if let Value::Object(m) = item {
                        path.push(Step::Index(i));
                        walk_object(m, path, false, top && key == "chats", out);
                        path.pop();
                    }
                }
            }
            Value::Object(m) => {
                out.push(path.clone());
                walk_object(m, path, false, false, out);
            }
            _ => out.push(path.clone()),
        }
        path.pop();
    }
}

fn get_mut<'v>(v: &'v mut Value, path: &[Step]) -> Option<&'v mut Value> {
    path.iter().try_fold(v, |v, step| match step {
        Step::Key(k) => v.get_mut(k.as_str()),
        Step::Index(i) => v.get_mut(*i),
    })
}

/// Replaces one to three values of `conv` (see the module docs).
pub(crate) fn apply(conv: &mut Value, rng: &mut impl Rng) {
    let mut all = candidates(conv);
    let n = rng.gen_range(1..=3usize).min(all.len());
    for _ in 0..n {
        let path = all.swap_remove(rng.gen_range(0..all.len()));
        // A value inside one already replaced is gone: skip it.
        let closed = matches!(path.last(), Some(Step::Key(k)) if CLOSED_SETS.contains(&k.as_str()));
        let unknown_value = closed && rng.gen_bool(0.5);
        if let Some(slot) = get_mut(conv, &path) {
            let replaced = match slot.take() {
                Value::String(_) if unknown_value => Value::String(MARK.to_owned()),
                v @ (Value::Object(_) | Value::Array(_)) => {
                    drop(v);
                    Value::String(MARK.to_owned())
                }
                v => {
                    let mut m = Map::new();
                    m.insert(MARK.to_owned(), v);
                    Value::Object(m)
                }
            };
            *slot = replaced;
        }
    }
}

/// Whether `v` is a replaced value.
fn is_mark(v: &Value) -> bool {
    match v {
        Value::String(s) => s == MARK,
        Value::Object(m) => m.len() == 1 && m.contains_key(MARK),
        _ => false,
    }
}

/// The paths (as the warehouse names them: `chats[0].messages[2].created_at`) of the
/// replaced values in `conv`.
pub fn paths(conv: &Value) -> Vec<String> {
    fn walk(v: &Value, path: &mut String, out: &mut Vec<String>) {
        if is_mark(v) {
            out.push(path.clone());
            return;
        }
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    let mark = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(k);
                    walk(child, path, out);
                    path.truncate(mark);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    let mark = path.len();
                    path.push_str(&format!("[{i}]"));
                    walk(child, path, out);
                    path.truncate(mark);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(conv, &mut String::new(), &mut out);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use serde_json::json;

    #[test]
    fn replaces_typed_values_only_and_finds_them_again() {
        let conv = json!({
            "id": 1, "updated_at": "x", "created_at": "y", "visitor_variables": {"a": 1},
            "chats": [{"id": 2, "result": "ok", "events": [1], "messages": [{"id": 3, "text": "t"}],
                       "employee": {"id": 4, "role": {"code": "op"}}}],
            "department": null,
        });
        let all: Vec<String> = candidates(&conv)
            .iter()
            .map(|p| {
                p.iter()
                    .map(|s| match s {
                        Step::Key(k) => format!(".{k}"),
                        Step::Index(i) => format!("[{i}]"),
                    })
                    .collect::<String>()
            })
            .collect();
        assert_eq!(
            all,
            [
                ".chats[0].employee",
                ".chats[0].employee.role",
                ".chats[0].employee.role.code",
                ".chats[0].messages[0].text",
                ".chats[0].result",
                ".created_at"
            ]
        );
        for seed in 0..50 {
            let mut v = conv.clone();
            apply(&mut v, &mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
            let found = paths(&v);
            assert!((1..=3).contains(&found.len()), "{v}");
            assert_eq!(v["id"], json!(1));
            assert_eq!(v["chats"][0]["messages"][0]["id"], json!(3));
        }
    }
}
