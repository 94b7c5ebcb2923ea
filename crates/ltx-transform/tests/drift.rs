//! Schema drift over every field the model knows: each field, at every depth (enumerated
//! from the model itself, `LenientMap::fields`, not a hand-kept list), is sent as each other
//! JSON type, and the conversation and all its child rows must still be there.
//!
//! For every (field, JSON type):
//! - the transform never panics;
//! - only the conversation's `id` or `updated_at` may reject it (or be tolerated);
//! - a value no tolerance can read as the field (an object or array for a scalar, a scalar
//!   or non-empty array for an object, a scalar or non-empty object for an array) is a
//!   `schema_drift` row naming exactly that path;
//! - every table has exactly the rows of the same conversation without the drifted value,
//!   except what cannot be a row without it: an array element whose own id drifted, or the
//!   reference object whose id drifted (both kept whole in the parent's `_extra`).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use ltx_model::{Conversation, FieldInfo, LenientMap};
use ltx_transform::Table;
use serde_json::{json, Map, Value};

/// One step of a path into the JSON.
#[derive(Debug, Clone)]
enum Step {
    Key(&'static str),
    Index(usize),
}

/// A field of the model at a path of the base conversation.
#[derive(Debug, Clone)]
struct Site {
    path: Vec<Step>,
    info: FieldInfo,
}

fn path_text(path: &[Step]) -> String {
    let mut out = String::new();
    for s in path {
        match s {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// An object with every field of `fields` set to a valid value (arrays with one element),
/// recording where each field is.
fn fill(fields: &[FieldInfo], path: &mut Vec<Step>, sites: &mut Vec<Site>, ids: &mut i64) -> Value {
    let mut o = Map::new();
    for f in fields {
        path.push(Step::Key(f.key));
        sites.push(Site {
            path: path.clone(),
            info: f.clone(),
        });
        *ids += 1;
        let v = match f.expected {
            _ if !f.values.is_empty() => json!(f.values[0]),
            "integer" if f.key == "id" => json!(*ids),
            "integer" => json!(7),
            "boolean" => json!(true),
            "string" => json!("s"),
            "string id" => json!(format!("sid-{ids}")),
            "datetime" => json!("2026-03-14T18:02:11"),
            "JSON" => json!({"k": 1}),
            "object" => fill(&(f.nested.unwrap())(), path, sites, ids),
            "array" => {
                path.push(Step::Index(0));
                let el = fill(&(f.nested.unwrap())(), path, sites, ids);
                path.pop();
                json!([el])
            }
            other => panic!("a field of a kind this test does not know: {other}"),
        };
        o.insert(f.key.to_owned(), v);
        path.pop();
    }
    Value::Object(o)
}

fn slot<'v>(v: &'v mut Value, path: &[Step]) -> &'v mut Value {
    path.iter().fold(v, |v, s| match s {
        Step::Key(k) => v.get_mut(*k).unwrap(),
        Step::Index(i) => v.get_mut(*i).unwrap(),
    })
}

/// Rows per table (quality and rejected tables aside) of transforming `v`.
fn rows(v: &Value) -> (BTreeMap<&'static str, u64>, Vec<(String, String)>, u64) {
    let text = v.to_string();
    let (batches, stats) = common::run(common::config(1000), [text.as_str()]);
    let q = common::table(&batches, Table::QualityIssues);
    let drift = common::col(&q, "check")
        .into_iter()
        .zip(common::col(&q, "path"))
        .zip(common::col(&q, "expected_type"))
        .filter(|((c, _), _)| c == "schema_drift")
        .map(|((_, p), e)| (p, e))
        .collect();
    let counts = Table::ALL
        .into_iter()
        .filter(|t| !matches!(t, Table::QualityIssues | Table::Rejected))
        .filter(|t| t.kind() != ltx_transform::TableKind::Reference)
        .map(|t| (t.name(), stats.rows_of(t)))
        .collect();
    (counts, drift, stats.rejected)
}

/// JSON types a field of kind `expected` can never be read from.
fn never_fits(f: &FieldInfo, v: &Value) -> bool {
    if !f.values.is_empty() {
        // A closed set: only its documented strings fit.
        return v.is_object() || v.is_array() || v.as_str().is_some_and(|s| !f.values.contains(&s));
    }
    match f.expected {
        "integer" | "boolean" | "string" | "string id" | "datetime" => {
            v.is_object() || v.is_array()
        }
        "object" => {
            v.is_string()
                || v.is_number()
                || v.is_boolean()
                || v.as_array().is_some_and(|a| !a.is_empty())
        }
        "array" => {
            v.is_string()
                || v.is_number()
                || v.is_boolean()
                || v.as_object().is_some_and(|o| !o.is_empty())
        }
        _ => false,
    }
}

#[test]
fn every_field_of_the_model_through_every_json_type_keeps_the_conversation() {
    let mut sites = Vec::new();
    let mut ids = 1000;
    let mut base = fill(
        &Conversation::fields(),
        &mut Vec::new(),
        &mut sites,
        &mut ids,
    );
    base["id"] = json!(1);
    let (base_rows, base_drift, rejected) = rows(&base);
    assert_eq!((base_drift.len(), rejected), (0, 0), "{base_drift:?}");
    assert!(
        base_rows.values().all(|&n| n > 0),
        "every table has a row: {base_rows:?}"
    );
    assert!(sites.len() > 200, "{} fields", sites.len());

    let others = [
        json!("x"),
        json!(1.5),
        json!(true),
        json!({"z": 1}),
        json!([1, 2]),
        Value::Null,
    ];
    let mut checked = 0;
    for site in &sites {
        let at = path_text(&site.path);
        for other in &others {
            let mut v = base.clone();
            *slot(&mut v, &site.path) = other.clone();
            let (got, drift, rejected) = rows(&v);
            let drifted_here = drift.iter().any(|(p, _)| *p == at);
            if at == "id" || at == "updated_at" {
                // What identifies the conversation: rejected, unless a tolerance reads it.
                assert!(rejected == 1 || got["conversations"] == 1, "{at} = {other}");
                continue;
            }
            assert_eq!(rejected, 0, "{at} = {other}: rejected");
            assert_eq!(got["conversations"], 1, "{at} = {other}");
            if never_fits(&site.info, other) {
                assert!(drifted_here, "{at} = {other}: no drift row in {drift:?}");
            }
            // The rows of the same conversation without what cannot be a row without the
            // drifted value: an element or a reference object whose own id did not fit.
            let mut pruned = base.clone();
            if site.info.required && drifted_here {
                let (last, parent) = site.path[..site.path.len() - 1].split_last().unwrap();
                match last {
                    Step::Index(i) => {
                        slot(&mut pruned, parent).as_array_mut().unwrap().remove(*i);
                    }
                    Step::Key(_) => {
                        *slot(&mut pruned, &site.path[..site.path.len() - 1]) = Value::Null
                    }
                }
            } else if drifted_here || other.is_null() {
                *slot(&mut pruned, &site.path) = Value::Null;
            } else {
                // Tolerated: read as some value of the field's type.
                pruned = v.clone();
            }
            let (want, _, _) = rows(&pruned);
            assert_eq!(got, want, "{at} = {other}");
            checked += 1;
        }
    }
    assert!(checked > 1000, "{checked}");
}
