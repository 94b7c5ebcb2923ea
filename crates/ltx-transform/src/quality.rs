//! `_quality_issues`: reconciliation of the API's counters with the arrays it sent.
//!
//! Checks (one row per failed check and conversation, only when the counter was sent):
//! - `chat_count`, `call_count`, `lead_count`: counter vs array length;
//! - `message_count`: the conversation's counter vs messages over all chats;
//! - `chat_message_count`: each chat's `message_count` vs its `messages`; one row per
//!   conversation, summing counter and length over the chats that disagree.

use ltx_model::Conversation;

use crate::common::{push_lineage, table_builder, Ctx};

table_builder! {
    /// Builders of the `_quality_issues` table.
    QualityIssuesBuilder {
        conversation_id: i64, check: str, expected: i64, actual: i64,
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
            push_lineage!(self, ctx);
        }
    }
}
