//! `chats`: one row per chat of a conversation.

use ltx_model::Conversation;

use crate::common::{push_lineage, raw, table_builder, ts, Ctx, PiiClass, Scratch};

table_builder! {
    /// Builders of the `chats` table.
    ChatsBuilder {
        chat_id: i64, conversation_id: i64, chat_order: i64, created_at: ts, updated_at: ts,
        employee_id: i64, department_id: i64, site_id: i64, visitor_id: str, result: str,
        duration_s: i64, queue_time_s: i64, first_answer_time_s: i64, answer_time_avg_s: i64,
        message_count: i64, visitor_vote: str, is_closed: bool, is_contact_info_exist: bool,
        rem_transfer: bool, rem_auto: bool, rem_empty: bool, rem_long_answer: bool,
        rem_lost_in_queue: bool, is_managed: bool, employee_remark: str, callback_url: str,
        first_message_id: i64, prechats_chat: str, prechats_hidden: str, visitor_variables: str,
        events: str,
        _extra: str, _source_updated_at: ts, _synced_at: ts, _run_id: str,
    }
}

impl ChatsBuilder {
    /// Appends one row per chat; returns rows added.
    pub(crate) fn append(&mut self, ctx: &Ctx, s: &mut Scratch, c: &Conversation) -> usize {
        for (order, ch) in c.chats.iter().enumerate() {
            self.chat_id.append_value(ch.id);
            self.conversation_id.append_value(ctx.conversation_id);
            self.chat_order.append_value(order as i64);
            self.created_at.append_option(ts(ch.created_at));
            self.updated_at.append_option(ts(ch.updated_at));
            self.employee_id
                .append_option(ch.employee.as_ref().map(|e| e.id));
            self.department_id
                .append_option(ch.department.as_ref().map(|d| d.id));
            self.site_id.append_option(ch.site.as_ref().map(|x| x.id));
            self.visitor_id
                .append_option(ch.visitor.as_ref().map(|v| v.id.as_ref()));
            self.result.append_option(ch.result.as_deref());
            self.duration_s.append_option(ch.duration);
            self.queue_time_s.append_option(ch.queue_time);
            self.first_answer_time_s.append_option(ch.first_answer_time);
            self.answer_time_avg_s.append_option(ch.answer_time_avg);
            self.message_count.append_option(ch.message_count);
            self.visitor_vote.append_option(ch.visitor_vote.as_deref());
            self.is_closed.append_option(ch.is_closed);
            self.is_contact_info_exist
                .append_option(ch.is_contact_info_exist);
            self.rem_transfer.append_option(ch.rem_transfer);
            self.rem_auto.append_option(ch.rem_auto);
            self.rem_empty.append_option(ch.rem_empty);
            self.rem_long_answer.append_option(ch.rem_long_answer);
            self.rem_lost_in_queue.append_option(ch.rem_lost_in_queue);
            self.is_managed.append_option(ch.is_managed);
            self.employee_remark
                .append_option(s.pii(PiiClass::MessageTexts, ch.employee_remark.as_deref()));
            self.callback_url.append_option(ch.callback_url.as_deref());
            self.first_message_id
                .append_option(ch.first_message.as_ref().map(|m| m.id));
            self.prechats_chat
                .append_option(s.form(raw(&ch.prechats_chat)));
            self.prechats_hidden
                .append_option(s.form(raw(&ch.prechats_hidden)));
            self.visitor_variables
                .append_option(s.form(raw(&ch.visitor_variables)));
            // Chat events hold `event_text` (and employee references): redacted by key.
            self.events
                .append_option(raw(&ch.events).and_then(|e| s.redact_checked_json(e)));
            push_lineage!(self, ctx, s, ch);
        }
        c.chats.len()
    }
}
