//! `conversations`: one row per conversation.

use ltx_model::Conversation;

use crate::common::{push_lineage, raw, table_builder, Ctx, MskClock, Scratch};

table_builder! {
    /// Builders of the `conversations` table.
    ConversationsBuilder {
        conversation_id: i64, created_at: ts, created_at_msk: tsn, updated_at: ts,
        visitor_id: str, site_id: i64, department_id: i64, result: str, duration_s: i64,
        page_count: i64, visit_count: i64, chat_count: i64, call_count: i64, lead_count: i64,
        message_count: i64, complaint_count: i64, city: str, country: str, search_engine: str,
        search_query: str, ext_referer: str, int_referer: str, entry_page: str, widget_type: str,
        widget_id: str, visitor_variables: str, prechat_fields: str,
        _extra: str, _source_updated_at: ts, _synced_at: ts, _run_id: str,
    }
}

impl ConversationsBuilder {
    /// Appends the conversation's row; returns rows added (1).
    pub(crate) fn append(
        &mut self,
        ctx: &Ctx,
        s: &mut Scratch,
        msk: &mut MskClock,
        c: &Conversation,
    ) -> usize {
        self.conversation_id.append_value(c.id);
        self.created_at
            .append_option(c.created_at.map(|t| t.timestamp_micros()));
        self.created_at_msk
            .append_option(c.created_at.map(|t| msk.naive_micros(t)));
        self.updated_at
            .append_value(c.updated_at.timestamp_micros());
        self.visitor_id
            .append_option(c.visitor.as_ref().map(|v| v.id.as_ref()));
        self.site_id.append_option(c.site.as_ref().map(|v| v.id));
        self.department_id
            .append_option(c.department.as_ref().map(|v| v.id));
        self.result.append_option(c.result.as_deref());
        self.duration_s.append_option(c.duration);
        self.page_count.append_option(c.page_count);
        self.visit_count.append_option(c.visit_count);
        self.chat_count.append_option(c.chat_count);
        self.call_count.append_option(c.call_count);
        self.lead_count.append_option(c.lead_count);
        self.message_count.append_option(c.message_count);
        self.complaint_count.append_value(c.complaints.len() as i64);
        self.city.append_option(c.city.as_deref());
        self.country.append_option(c.country.as_deref());
        self.search_engine.append_option(c.search_engine.as_deref());
        self.search_query.append_option(c.search_query.as_deref());
        self.ext_referer.append_option(c.ext_referer.as_deref());
        self.int_referer.append_option(c.int_referer.as_deref());
        self.entry_page.append_option(c.entry_page.as_deref());
        self.widget_type.append_option(c.widget_type.as_deref());
        self.widget_id.append_option(c.widget_id.as_deref());
        self.visitor_variables
            .append_option(s.form(raw(&c.visitor_variables)));
        self.prechat_fields
            .append_option(s.form(raw(&c.prechat_fields)));
        push_lineage!(self, ctx, s, c);
        1
    }
}
