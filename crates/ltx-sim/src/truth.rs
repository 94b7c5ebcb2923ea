//! Ground truth per warehouse table: which rows a correct warehouse holds after syncing
//! a set of conversations, derived from the conversation JSON the simulator serves.
//!
//! It reads only the JSON (never the generator's internal model, never `ltx-transform`),
//! applying the table rules documented in `sql/README.md`: one row per array element,
//! child positions 0-based in the array as sent, keys as listed there, every fact row
//! stamped with its conversation's `updated_at` (a dimension key with the latest of the
//! conversations mentioning it). A test compares these keys and timestamps with the
//! warehouse's views; it does not predict column values other than keys.
//!
//! It assumes every conversation parses (`bad_record_rate` 0): what the warehouse keeps of
//! a rejected conversation is the loader's policy, not something the JSON can tell.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::SimError;
use crate::time::parse_param;

/// Every table the truth covers, with its key columns (as `sql/README.md` lists them).
pub const TRUTH_TABLES: [(&str, &[&str]); 13] = [
    ("conversations", &["conversation_id"]),
    ("chats", &["chat_id"]),
    ("chat_messages", &["message_id"]),
    ("calls", &["call_id"]),
    ("leads", &["lead_id"]),
    ("complaints", &["complaint_id"]),
    (
        "conversation_employees",
        &["conversation_id", "participation_order"],
    ),
    ("conversation_events", &["conversation_id", "event_order"]),
    ("employees", &["employee_id"]),
    ("visitors", &["visitor_id"]),
    ("sites", &["site_id"]),
    ("departments", &["department_id"]),
    ("_quality_issues", &["conversation_id", "check", "path"]),
];

/// Tables whose view keeps one row per key out of one snapshot per mentioning conversation.
const DIMENSIONS: [&str; 4] = ["employees", "visitors", "sites", "departments"];

/// The rows one warehouse table (its view) should show.
#[derive(Debug, Clone, PartialEq)]
pub struct TableTruth {
    /// Table (view) name in the warehouse.
    pub name: &'static str,
    /// Key columns, in the order their values are joined in [`TableTruth::rows`].
    pub key_columns: &'static [&'static str],
    /// Key → `_source_updated_at` of the row. The key is the text of each key column
    /// joined by `/` (integers in decimal, strings as sent), as DuckDB renders
    /// `CAST(k1 AS VARCHAR) || '/' || CAST(k2 AS VARCHAR)`. Fact rows carry their
    /// conversation's `updated_at`; a dimension key the latest `updated_at` among the
    /// conversations that mention it (the view keeps that snapshot).
    pub rows: BTreeMap<String, DateTime<Utc>>,
}

/// Expected rows of every table in [`TRUTH_TABLES`], as of one set of conversations.
#[derive(Debug, Clone, PartialEq)]
pub struct WarehouseTruth {
    /// Per table name.
    pub tables: BTreeMap<&'static str, TableTruth>,
}

impl Default for WarehouseTruth {
    fn default() -> Self {
        let tables = TRUTH_TABLES
            .iter()
            .map(|&(name, key_columns)| {
                let t = TableTruth {
                    name,
                    key_columns,
                    rows: BTreeMap::new(),
                };
                (name, t)
            })
            .collect();
        Self { tables }
    }
}

/// Why a conversation document does not give a truth (a generator bug, or foreign JSON).
fn bad(id: Option<i64>, field: &str, reason: &str) -> SimError {
    SimError::Truth {
        id,
        field: field.to_owned(),
        reason: reason.to_owned(),
    }
}

/// An integer as the API may send it: a number or a numeric string.
fn int(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_f64().map(|f| f as i64))
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// The elements of an array field; null or absent is empty.
fn items<'a>(v: &'a Value, field: &str) -> &'a [Value] {
    v.get(field)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A key value as DuckDB's `CAST(... AS VARCHAR)` shows it.
fn key_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(_) => int(v).map(|n| n.to_string()),
        _ => None,
    }
}

impl WarehouseTruth {
    /// The truth for `conversations` (each the latest version of a distinct conversation,
    /// as the API serves it).
    pub fn from_conversations<I>(conversations: I) -> Result<Self, SimError>
    where
        I: IntoIterator<Item = Value>,
    {
        let mut truth = Self::default();
        for c in conversations {
            truth.add(&c)?;
        }
        Ok(truth)
    }

    /// The rows of table `name`, if the truth covers it.
    pub fn table(&self, name: &str) -> Option<&TableTruth> {
        self.tables.get(name)
    }

    /// Rows per table.
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        self.tables
            .iter()
            .map(|(n, t)| (*n, t.rows.len()))
            .collect()
    }

    fn insert(&mut self, table: &'static str, key: String, at: DateTime<Utc>) -> bool {
        let Some(t) = self.tables.get_mut(table) else {
            return false;
        };
        if DIMENSIONS.contains(&table) {
            let e = t.rows.entry(key).or_insert(at);
            *e = (*e).max(at);
            true
        } else {
            t.rows.insert(key, at).is_none()
        }
    }

    /// Adds the rows of one conversation document. A fact key seen twice is an error:
    /// the comparison would be meaningless.
    pub fn add(&mut self, c: &Value) -> Result<(), SimError> {
        let id = c
            .get("id")
            .and_then(int)
            .ok_or_else(|| bad(None, "id", "missing or not an integer"))?;
        let at = c
            .get("updated_at")
            .and_then(Value::as_str)
            .and_then(parse_param)
            .ok_or_else(|| bad(Some(id), "updated_at", "missing or not a datetime"))?;
        let mut rows: Vec<(&'static str, String, &str)> =
            vec![("conversations", id.to_string(), "id")];
        let child_key = |item: &Value, field: &'static str| {
            item.get("id")
                .and_then(key_text)
                .ok_or_else(|| bad(Some(id), field, "child without an id"))
        };
        let mut messages = 0i64;
        let mut chat_counter_off = false;
        for chat in items(c, "chats") {
            rows.push(("chats", child_key(chat, "chats[].id")?, "chats[].id"));
            let msgs = items(chat, "messages");
            for m in msgs {
                rows.push((
                    "chat_messages",
                    child_key(m, "chats[].messages[].id")?,
                    "chats[].messages[].id",
                ));
            }
            messages += msgs.len() as i64;
            let counter = chat.get("message_count").and_then(int);
            if counter.is_some_and(|n| n != msgs.len() as i64) {
                chat_counter_off = true;
            }
        }
        for (table, field) in [
            ("calls", "calls[].id"),
            ("leads", "leads[].id"),
            ("complaints", "complaints[].id"),
        ] {
            for item in items(c, table) {
                rows.push((table, child_key(item, field)?, field));
            }
        }
        for (k, e) in items(c, "employees").iter().enumerate() {
            rows.push(("conversation_employees", format!("{id}/{k}"), "employees"));
            rows.push((
                "employees",
                child_key(e, "employees[].id")?,
                "employees[].id",
            ));
        }
        for k in 0..items(c, "events").len() {
            rows.push(("conversation_events", format!("{id}/{k}"), "events"));
        }
        for (table, field) in [
            ("visitors", "visitor"),
            ("sites", "site"),
            ("departments", "department"),
        ] {
            // Only the conversation's own full object (a department may be null or `[]`).
            if let Some(obj) = c.get(field).filter(|v| v.is_object()) {
                rows.push((table, child_key(obj, field)?, field));
            }
        }
        // `_quality_issues`: one row per counter that was sent and disagrees with the arrays.
        let counters = [
            ("chat_count", items(c, "chats").len() as i64),
            ("call_count", items(c, "calls").len() as i64),
            ("lead_count", items(c, "leads").len() as i64),
            ("message_count", messages),
        ];
        for (check, actual) in counters {
            if c.get(check).and_then(int).is_some_and(|n| n != actual) {
                rows.push(("_quality_issues", format!("{id}/{check}/{check}"), check));
            }
        }
        if chat_counter_off {
            rows.push((
                "_quality_issues",
                format!("{id}/chat_message_count/chats[].message_count"),
                "chats[].message_count",
            ));
        }
        // Schema drift: one row per value the simulator served in a type the model does
        // not expect (`Faults::drift_rate`), by its path.
        for path in crate::drift::paths(c) {
            rows.push((
                "_quality_issues",
                format!("{id}/schema_drift/{path}"),
                "schema drift",
            ));
        }
        for (table, key, field) in rows {
            if !self.insert(table, key.clone(), at) {
                let reason = format!("duplicate key {key} in {table}");
                return Err(bad(Some(id), field, &reason));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn keys(t: &WarehouseTruth, table: &str) -> Vec<String> {
        t.table(table).unwrap().rows.keys().cloned().collect()
    }

    #[test]
    fn rows_keys_and_timestamps_follow_the_table_rules() {
        let doc = |id: i64, updated: &str| {
            json!({
                "id": id, "updated_at": updated, "chat_count": 2, "call_count": "1",
                "lead_count": 0, "message_count": 4,
                "chats": [
                    {"id": id * 10, "message_count": 1, "messages": [{"id": id * 100}]},
                    {"id": id * 10 + 1, "message_count": 3,
                     "messages": [{"id": id * 100 + 1}, {"id": id * 100 + 2}]},
                ],
                "calls": [{"id": id * 10}], "leads": null,
                "complaints": [{"id": format!("cmp-{id}-0")}],
                "employees": [{"id": 7}, {"id": 9}],
                "events": [{"event_type": "a"}, {"event_type": "b"}, {"event_type": "c"}],
                "visitor": {"id": "v-1"}, "site": {"id": 5}, "department": [],
            })
        };
        let t = WarehouseTruth::from_conversations([
            doc(1, "2026-03-14T18:00:00"),
            doc(2, "2026-03-14T19:00:00+03:00"),
        ])
        .unwrap();
        assert_eq!(keys(&t, "conversations"), ["1", "2"]);
        assert_eq!(keys(&t, "chats"), ["10", "11", "20", "21"]);
        assert_eq!(
            keys(&t, "chat_messages"),
            ["100", "101", "102", "200", "201", "202"]
        );
        assert_eq!(keys(&t, "calls"), ["10", "20"]);
        assert!(keys(&t, "leads").is_empty());
        assert_eq!(keys(&t, "complaints"), ["cmp-1-0", "cmp-2-0"]);
        assert_eq!(
            keys(&t, "conversation_employees"),
            ["1/0", "1/1", "2/0", "2/1"]
        );
        assert_eq!(
            keys(&t, "conversation_events"),
            ["1/0", "1/1", "1/2", "2/0", "2/1", "2/2"]
        );
        assert_eq!(keys(&t, "employees"), ["7", "9"]);
        assert_eq!(keys(&t, "visitors"), ["v-1"]);
        assert_eq!(keys(&t, "sites"), ["5"]);
        assert!(keys(&t, "departments").is_empty(), "[] is no department");
        // 3 messages against a counter of 4; the second chat says 3 but holds 2.
        assert_eq!(
            keys(&t, "_quality_issues"),
            [
                "1/chat_message_count/chats[].message_count",
                "1/message_count/message_count",
                "2/chat_message_count/chats[].message_count",
                "2/message_count/message_count"
            ]
        );
        // Moscow time to UTC; facts carry their conversation's, dimensions the latest.
        let at = |table: &str, key: &str| t.table(table).unwrap().rows[key].to_rfc3339();
        assert_eq!(at("chat_messages", "101"), "2026-03-14T15:00:00+00:00");
        assert_eq!(at("chat_messages", "201"), "2026-03-14T16:00:00+00:00");
        assert_eq!(at("employees", "7"), "2026-03-14T16:00:00+00:00");
        assert_eq!(t.counts().len(), TRUTH_TABLES.len());

        let err = WarehouseTruth::from_conversations(vec![doc(1, "2026-03-14T18:00:00"); 2]);
        assert!(
            matches!(&err, Err(SimError::Truth { id: Some(1), .. })),
            "{err:?}"
        );
    }
}
