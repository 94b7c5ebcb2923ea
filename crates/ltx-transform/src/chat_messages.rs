//! `chat_messages`: one row per message of a chat.

use ltx_model::Conversation;

use crate::common::{push_lineage, table_builder, ts, Ctx, PiiClass, Scratch};

table_builder! {
    /// Builders of the `chat_messages` table.
    ChatMessagesBuilder {
        message_id: i64, chat_id: i64, conversation_id: i64, message_order: i64, created_at: ts,
        sender_type: str, employee_id: i64, visitor_id: str, text: str, text_length: i64,
        is_delivered: bool,
        _extra: str, _source_updated_at: ts, _synced_at: ts, _run_id: str,
    }
}

impl ChatMessagesBuilder {
    /// Appends one row per message of every chat; returns rows added.
    pub(crate) fn append(&mut self, ctx: &Ctx, s: &mut Scratch, c: &Conversation) -> usize {
        let mut rows = 0;
        for ch in &c.chats {
            for (order, m) in ch.messages.iter().enumerate() {
                self.message_id.append_value(m.id);
                self.chat_id.append_value(ch.id);
                self.conversation_id.append_value(ctx.conversation_id);
                self.message_order.append_value(order as i64);
                self.created_at.append_option(ts(m.created_at));
                // The API sets exactly one sender; neither means a system message.
                let sender = if m.employee.is_some() {
                    "employee"
                } else if m.visitor.is_some() {
                    "visitor"
                } else {
                    "system"
                };
                self.sender_type.append_value(sender);
                self.employee_id
                    .append_option(m.employee.as_ref().map(|e| e.id));
                self.visitor_id
                    .append_option(m.visitor.as_ref().map(|v| v.id.as_ref()));
                let text = m.text.as_deref();
                // Length in characters, kept whatever the policy does to the text.
                self.text_length
                    .append_option(text.map(|t| t.chars().count() as i64));
                self.text.append_option(s.pii(PiiClass::MessageTexts, text));
                self.is_delivered.append_option(m.is_delivered);
                push_lineage!(self, ctx, s, m);
            }
            rows += ch.messages.len();
        }
        rows
    }
}
