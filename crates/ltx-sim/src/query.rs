//! List parameters of both API profiles: paging, sort, fields and search criteria.

use std::collections::HashMap;

use crate::time::parse_param;

/// Which API profile a request came through (they differ in criteria syntax and limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Profile {
    /// `GET /v2/...`, criteria separated by `;`, `limit` up to 100.
    V2,
    /// `POST /.../list`, criteria separated by a space, `limit` up to 50.
    Web,
}

impl Profile {
    fn max_limit(self) -> usize {
        match self {
            Profile::V2 => 100,
            Profile::Web => 50,
        }
    }
}

/// Sort orders the API accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sort {
    UpdatedAsc,
    UpdatedDesc,
    CreatedAsc,
    CreatedDesc,
}

/// An inclusive range of unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Range {
    pub(crate) lo: i64,
    pub(crate) hi: i64,
}

impl Default for Range {
    fn default() -> Self {
        Self {
            lo: i64::MIN,
            hi: i64::MAX,
        }
    }
}

impl Range {
    pub(crate) fn contains(&self, t: i64) -> bool {
        self.lo <= t && t <= self.hi
    }

    pub(crate) fn is_full(&self) -> bool {
        *self == Range::default()
    }
}

/// A parsed list request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ListQuery {
    pub(crate) offset: usize,
    pub(crate) limit: usize,
    pub(crate) sort: Sort,
    pub(crate) fields: Option<Vec<String>>,
    pub(crate) updated: Range,
    pub(crate) created: Range,
    /// `ids=` (on conversations: conversation ids; on children: their own numeric ids).
    pub(crate) ids: Option<Vec<String>>,
    /// `conversation_ids=` (children lists).
    pub(crate) conversation_ids: Option<Vec<i64>>,
}

/// Applies `op value` to a range (second resolution, bounds made inclusive).
fn narrow(range: &mut Range, op: &str, value: &str) -> Result<(), String> {
    let t = parse_param(value).ok_or_else(|| format!("invalid datetime {value:?}"))?;
    let secs = t.timestamp();
    let frac = t.timestamp_subsec_nanos() > 0;
    let ceil = if frac { secs + 1 } else { secs };
    match op {
        ">=" => range.lo = range.lo.max(ceil),
        ">" => range.lo = range.lo.max(secs + 1),
        "<" => range.hi = range.hi.min(ceil - 1),
        "<=" => range.hi = range.hi.min(secs),
        "=" => {
            range.lo = range.lo.max(secs);
            range.hi = range.hi.min(secs);
        }
        _ => return Err(format!("unsupported operator {op:?}")),
    }
    Ok(())
}

/// Splits `field<op>value` (operators longest first).
fn split_criterion(c: &str) -> Option<(&str, &str, &str)> {
    let pos = c.find(['<', '>', '='])?;
    let field = &c[..pos];
    let rest = &c[pos..];
    let op_len = if rest.starts_with(">=") || rest.starts_with("<=") {
        2
    } else {
        1
    };
    if field.is_empty()
        || !field
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
    {
        return None;
    }
    Some((field, &rest[..op_len], &rest[op_len..]))
}

/// Splits a `q` value into criteria: `;` for v2; spaces for web-api, where a token that
/// does not start a criterion continues the previous value (datetimes contain a space).
fn criteria(q: &str, profile: Profile) -> Vec<String> {
    match profile {
        Profile::V2 => q
            .split(';')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
        Profile::Web => {
            let mut out: Vec<String> = Vec::new();
            for tok in q.split(' ').filter(|s| !s.is_empty()) {
                match (split_criterion(tok), out.last_mut()) {
                    (None, Some(last)) => {
                        last.push(' ');
                        last.push_str(tok);
                    }
                    _ => out.push(tok.to_owned()),
                }
            }
            out
        }
    }
}

fn parse_usize(params: &HashMap<String, String>, key: &str) -> Result<Option<usize>, String> {
    params
        .get(key)
        .map(|v| {
            v.trim()
                .parse::<usize>()
                .map_err(|_| format!("parameter {key} must be a non-negative integer, got {v:?}"))
        })
        .transpose()
}

/// Splits a comma-separated parameter (`ids`, `fields`), dropping empty items.
pub(crate) fn list_of(v: &str) -> Vec<String> {
    v.split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Parses the query parameters of a list request; the error is the 400 message.
pub(crate) fn parse_list(
    params: &HashMap<String, String>,
    profile: Profile,
) -> Result<ListQuery, String> {
    let offset = parse_usize(params, "offset")?.unwrap_or(0);
    let limit = parse_usize(params, "limit")?
        .unwrap_or(50)
        .min(profile.max_limit());
    let sort = match params.get("sort").map(|s| s.trim()) {
        None | Some("") | Some("updated_at:a") | Some("updated_at") => Sort::UpdatedAsc,
        Some("updated_at:d") => Sort::UpdatedDesc,
        Some("created_at:a") | Some("created_at") => Sort::CreatedAsc,
        Some("created_at:d") => Sort::CreatedDesc,
        Some(other) => return Err(format!("unsupported sort {other:?}")),
    };
    let fields = params.get("fields").map(|f| list_of(f));
    let mut q = ListQuery {
        offset,
        limit,
        sort,
        fields,
        updated: Range::default(),
        created: Range::default(),
        ids: None,
        conversation_ids: None,
    };
    for (key, field, op) in [
        ("updated_at_from", "updated_at", ">="),
        ("updated_at_to", "updated_at", "<"),
        ("created_at_from", "created_at", ">="),
        ("created_at_to", "created_at", "<"),
    ] {
        if let Some(v) = params.get(key) {
            apply(&mut q, field, op, v)?;
        }
    }
    for key in ["ids", "conversation_ids"] {
        if let Some(v) = params.get(key) {
            apply(&mut q, key, "=", v)?;
        }
    }
    if let Some(text) = params.get("q") {
        for c in criteria(text, profile) {
            let (field, op, value) =
                split_criterion(&c).ok_or_else(|| format!("invalid criterion {c:?} in q"))?;
            apply(&mut q, field, op, value)?;
        }
    }
    Ok(q)
}

fn apply(q: &mut ListQuery, field: &str, op: &str, value: &str) -> Result<(), String> {
    match field {
        "updated_at" => narrow(&mut q.updated, op, value),
        "created_at" => narrow(&mut q.created, op, value),
        "ids" if op == "=" => {
            q.ids = Some(list_of(value));
            Ok(())
        }
        "conversation_ids" if op == "=" => {
            let ids = list_of(value)
                .iter()
                .map(|s| s.parse::<i64>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| format!("conversation_ids must be integers, got {value:?}"))?;
            q.conversation_ids = Some(ids);
            Ok(())
        }
        other => Err(format!("unsupported criterion {other}{op}")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::time::parse_param;

    fn params(kv: &[(&str, &str)]) -> HashMap<String, String> {
        kv.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn v2_and_web_criteria_agree() {
        let v2 = parse_list(
            &params(&[(
                "q",
                "updated_at>=2026-10-01T00:00:00+03:00;updated_at<2026-10-02T00:00:00",
            )]),
            Profile::V2,
        )
        .unwrap();
        let web = parse_list(
            &params(&[(
                "q",
                "updated_at>=2026-10-01 00:00:00 updated_at<2026-10-02 00:00:00",
            )]),
            Profile::Web,
        )
        .unwrap();
        let plain = parse_list(
            &params(&[
                ("updated_at_from", "2026-09-30T21:00:00Z"),
                ("updated_at_to", "2026-10-02T00:00:00+03:00"),
            ]),
            Profile::V2,
        )
        .unwrap();
        assert_eq!(v2.updated, web.updated);
        assert_eq!(v2.updated, plain.updated);
        let lo = parse_param("2026-09-30T21:00:00Z").unwrap().timestamp();
        assert_eq!(
            v2.updated,
            Range {
                lo,
                hi: lo + 86_399
            }
        );
    }

    #[test]
    fn rejects_unknown_sort_and_criteria_and_caps_limit() {
        assert!(parse_list(&params(&[("sort", "id:a")]), Profile::V2).is_err());
        assert!(parse_list(&params(&[("q", "visitor_name=x")]), Profile::V2).is_err());
        assert!(parse_list(&params(&[("offset", "-1")]), Profile::V2).is_err());
        let q = parse_list(&params(&[("limit", "1000")]), Profile::Web).unwrap();
        assert_eq!(q.limit, 50);
        let q = parse_list(&params(&[("limit", "1000"), ("q", "ids=1,2")]), Profile::V2).unwrap();
        assert_eq!(q.limit, 100);
        assert_eq!(q.ids, Some(vec!["1".to_owned(), "2".to_owned()]));
    }
}
