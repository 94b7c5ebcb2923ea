//! `calls`: one row per call of a conversation.

use ltx_model::Conversation;

use crate::common::{push_lineage, table_builder, ts, Ctx, Scratch};

table_builder! {
    /// Builders of the `calls` table.
    CallsBuilder {
        call_id: i64, conversation_id: i64, call_order: i64, created_at: ts, updated_at: ts,
        employee_id: i64, is_incoming: bool, result: str, duration_s: i64, answer_time_s: i64,
        recording_url: str, visitor_vote: str, employee_vote: str, lead_id: i64,
        department_id: i64, site_id: i64, visitor_id: str, page_count: i64, visit_count: i64,
        ext_referer: str, int_referer: str, search_engine: str, search_query: str, entry_page: str,
        rem_transfer: bool, rem_auto: bool, rem_empty: bool, rem_long_answer: bool,
        rem_lost_in_queue: bool, callback_url: str,
        _extra: str, _source_updated_at: ts, _synced_at: ts, _run_id: str,
    }
}

impl CallsBuilder {
    /// Appends one row per call; returns rows added.
    pub(crate) fn append(&mut self, ctx: &Ctx, s: &mut Scratch, c: &Conversation) -> usize {
        for (order, x) in c.calls.iter().enumerate() {
            self.call_id.append_value(x.id);
            self.conversation_id.append_value(ctx.conversation_id);
            self.call_order.append_value(order as i64);
            self.created_at.append_option(ts(x.created_at));
            self.updated_at.append_option(ts(x.updated_at));
            self.employee_id
                .append_option(x.employee.as_ref().map(|e| e.id));
            self.is_incoming.append_option(x.is_incoming);
            self.result.append_option(x.result.as_deref());
            self.duration_s.append_option(x.duration);
            self.answer_time_s.append_option(x.answer_time);
            self.recording_url.append_option(x.recording.as_deref());
            self.visitor_vote.append_option(x.visitor_vote.as_deref());
            self.employee_vote.append_option(x.employee_vote.as_deref());
            self.lead_id.append_option(x.lead.as_ref().map(|l| l.id));
            self.department_id
                .append_option(x.department.as_ref().map(|d| d.id));
            self.site_id.append_option(x.site.as_ref().map(|v| v.id));
            self.visitor_id
                .append_option(x.visitor.as_ref().map(|v| v.id.as_ref()));
            self.page_count.append_option(x.page_count);
            self.visit_count.append_option(x.visit_count);
            self.ext_referer.append_option(x.ext_referer.as_deref());
            self.int_referer.append_option(x.int_referer.as_deref());
            self.search_engine.append_option(x.search_engine.as_deref());
            self.search_query.append_option(x.search_query.as_deref());
            self.entry_page.append_option(x.entry_page.as_deref());
            self.rem_transfer.append_option(x.rem_transfer);
            self.rem_auto.append_option(x.rem_auto);
            self.rem_empty.append_option(x.rem_empty);
            self.rem_long_answer.append_option(x.rem_long_answer);
            self.rem_lost_in_queue.append_option(x.rem_lost_in_queue);
            self.callback_url.append_option(x.callback_url.as_deref());
            push_lineage!(self, ctx, s, x);
        }
        c.calls.len()
    }
}
