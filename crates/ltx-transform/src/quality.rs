//! `_quality_issues`: reconciliation of the API's counters with the arrays it sent.
//!
//! Checks (one row per failed check and conversation, only when the counter was sent):
//! - `chat_count`, `call_count`, `lead_count`: counter vs array length;
//! - `message_count`: the conversation's counter vs messages over all chats;
//! - `chat_message_count`: each chat's `message_count` vs its `messages`; one row per
//!   conversation, summing counter and length over the chats that disagree.
//!
//! `path` and `field` name the counter (`chats[].message_count` for the last).
//!
//! And schema drift (`schema_drift`, one row per value): a value the model could not read
//! (kept in its row's `_extra` by the lenient reader), named by `path`
//! (`employees[3].role`), `field` (`employees[].role`), `expected_type` and
//! `received_type`; and a conversation sent without a readable `created_at`.

use ltx_model::{Conversation, Drift};

use crate::common::{push_lineage, table_builder, Ctx};

table_builder! {
    /// Builders of the `_quality_issues` table.
    QualityIssuesBuilder {
        conversation_id: i64, check: str, expected: i64, actual: i64,
        path: str, field: str, expected_type: str, received_type: str,
        _source_updated_at: ts, _synced_at: ts, _run_id: str,
    }
}

/// Names of the checks, as stored in the `check` column.
pub(crate) const CHECKS: [&str; 5] = [
    "chat_count",
    "call_count",
    "lead_count",
    "message_count",
    "chat_message_count",
];

/// The `check` of a schema drift row.
pub(crate) const SCHEMA_DRIFT: &str = "schema_drift";

/// The drift of a conversation: what the lenient reader found, plus a `created_at` that
/// was not sent at all (the strict readers read it as `None` without a word).
pub(crate) fn drift<'c>(c: &'c Conversation) -> std::borrow::Cow<'c, [Drift]> {
    if c.created_at.is_some() || c.drift.iter().any(|d| d.path == "created_at") {
        return std::borrow::Cow::Borrowed(&c.drift);
    }
    let mut all = c.drift.clone();
    all.push(Drift {
        path: "created_at".to_owned(),
        expected: "datetime",
        received: "missing",
    });
    std::borrow::Cow::Owned(all)
}

/// Every failed check of a conversation: (check, expected, actual).
pub(crate) fn issues(c: &Conversation) -> impl Iterator<Item = (&'static str, i64, i64)> {
    let messages: usize = c.chats.iter().map(|ch| ch.messages.len()).sum();
    let (mut expected, mut actual, mut bad) = (0i64, 0i64, false);
    for ch in &c.chats {
        if let Some(n) = ch.message_count {
            if n != ch.messages.len() as i64 {
                expected += n;
                actual += ch.messages.len() as i64;
                bad = true;
            }
        }
    }
    let counters = [
        (CHECKS[0], c.chat_count, c.chats.len()),
        (CHECKS[1], c.call_count, c.calls.len()),
        (CHECKS[2], c.lead_count, c.leads.len()),
        (CHECKS[3], c.message_count, messages),
    ];
    counters
        .into_iter()
        .filter_map(|(check, counter, len)| {
            let len = len as i64;
            counter.filter(|&n| n != len).map(|n| (check, n, len))
        })
        .chain(bad.then_some((CHECKS[4], expected, actual)))
}

impl QualityIssuesBuilder {
    /// Appends one row per issue.
    pub(crate) fn append(&mut self, ctx: &Ctx, issues: &[(&'static str, i64, i64)]) {
        for &(check, expected, actual) in issues {
            self.conversation_id.append_value(ctx.conversation_id);
            self.check.append_value(check);
            self.expected.append_value(expected);
            self.actual.append_value(actual);
            // The counter that disagrees (over all chats for `chat_message_count`).
            let path = if check == "chat_message_count" {
                "chats[].message_count"
            } else {
                check
            };
            self.path.append_value(path);
            self.field.append_value(path);
            self.expected_type.append_null();
            self.received_type.append_null();
            push_lineage!(self, ctx);
        }
    }

    /// Appends one `schema_drift` row per drifted value.
    pub(crate) fn append_drift(&mut self, ctx: &Ctx, drift: &[Drift]) {
        for d in drift {
            self.conversation_id.append_value(ctx.conversation_id);
            self.check.append_value(SCHEMA_DRIFT);
            self.expected.append_null();
            self.actual.append_null();
            self.path.append_value(&d.path);
            self.field.append_value(d.field());
            self.expected_type.append_value(d.expected);
            self.received_type.append_value(d.received);
            push_lineage!(self, ctx);
        }
    }
}
