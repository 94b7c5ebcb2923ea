//! `conversation_events`: one row per conversation-level event (events have no id).

use ltx_model::Conversation;

use crate::common::{push_lineage, table_builder, ts, Ctx, PiiClass, Scratch};

table_builder! {
    /// Builders of the `conversation_events` table.
    ConversationEventsBuilder {
        conversation_id: i64, event_order: i64, event_type: str, event_text: str,
        employee_id: i64, page: str, created_at: ts,
        _extra: str, _source_updated_at: ts, _synced_at: ts, _run_id: str,
    }
}

impl ConversationEventsBuilder {
    /// Appends one row per event; returns rows added.
    pub(crate) fn append(&mut self, ctx: &Ctx, s: &mut Scratch, c: &Conversation) -> usize {
        for (order, x) in c.events.iter().enumerate() {
            self.conversation_id.append_value(ctx.conversation_id);
            self.event_order.append_value(order as i64);
            self.event_type.append_option(x.event_type.as_deref());
            // System text that embeds visitor and employee names.
            self.event_text
                .append_option(s.pii(PiiClass::MessageTexts, x.event_text.as_deref()));
            self.employee_id
                .append_option(x.employee.as_ref().map(|e| e.id));
            self.page.append_option(x.page.as_deref());
            self.created_at.append_option(ts(x.created_at));
            push_lineage!(self, ctx, s, x);
        }
        c.events.len()
    }
}
