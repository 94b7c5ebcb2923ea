//! `leads`: one row per lead of a conversation.

use ltx_model::Conversation;

use crate::common::{push_lineage, table_builder, ts, Ctx, PiiClass, Scratch};

table_builder! {
    /// Builders of the `leads` table.
    LeadsBuilder {
        lead_id: i64, conversation_id: i64, lead_order: i64, created_at: ts, updated_at: ts,
        lead_type: str, result: str, name: str, email: str, phone: str, text: str,
        answer_text: str, completed_at: ts, duration_s: i64, created_by_id: i64,
        assigned_to_id: i64, completed_by_id: i64, locked_by_id: i64, is_locked: bool,
        department_id: i64, site_id: i64, city: str, country: str, ext_referer: str,
        int_referer: str, search_engine: str, search_query: str, entry_page: str,
        _extra: str, _source_updated_at: ts, _synced_at: ts, _run_id: str,
    }
}

impl LeadsBuilder {
    /// Appends one row per lead; returns rows added.
    pub(crate) fn append(&mut self, ctx: &Ctx, s: &mut Scratch, c: &Conversation) -> usize {
        for (order, x) in c.leads.iter().enumerate() {
            self.lead_id.append_value(x.id);
            self.conversation_id.append_value(ctx.conversation_id);
            self.lead_order.append_value(order as i64);
            self.created_at.append_option(ts(x.created_at));
            self.updated_at.append_option(ts(x.updated_at));
            self.lead_type.append_option(x.lead_type.as_deref());
            self.result.append_option(x.result.as_deref());
            self.name
                .append_option(s.pii(PiiClass::Names, x.name.as_deref()));
            self.email
                .append_option(s.pii(PiiClass::Emails, x.email.as_deref()));
            self.phone
                .append_option(s.pii(PiiClass::Phones, x.phone.as_deref()));
            self.text
                .append_option(s.pii(PiiClass::MessageTexts, x.text.as_deref()));
            self.answer_text
                .append_option(s.pii(PiiClass::MessageTexts, x.answer_text.as_deref()));
            self.completed_at.append_option(ts(x.completed_at));
            self.duration_s.append_option(x.duration);
            self.created_by_id
                .append_option(x.created_by.as_ref().map(|e| e.id));
            self.assigned_to_id
                .append_option(x.assigned_to.as_ref().map(|e| e.id));
            self.completed_by_id
                .append_option(x.completed_by.as_ref().map(|e| e.id));
            self.locked_by_id
                .append_option(x.locked_by.as_ref().map(|e| e.id));
            self.is_locked.append_option(x.is_locked);
            self.department_id
                .append_option(x.department.as_ref().map(|d| d.id));
            self.site_id.append_option(x.site.as_ref().map(|v| v.id));
            self.city.append_option(x.city.as_deref());
            self.country.append_option(x.country.as_deref());
            self.ext_referer.append_option(x.ext_referer.as_deref());
            self.int_referer.append_option(x.int_referer.as_deref());
            self.search_engine.append_option(x.search_engine.as_deref());
            self.search_query.append_option(x.search_query.as_deref());
            self.entry_page.append_option(x.entry_page.as_deref());
            push_lineage!(self, ctx, s, x);
        }
        c.leads.len()
    }
}
