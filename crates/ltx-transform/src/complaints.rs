//! `complaints`: one row per complaint of a conversation.

use ltx_model::Conversation;

use crate::common::{push_lineage, table_builder, ts, Ctx, PiiClass, Scratch};

table_builder! {
    /// Builders of the `complaints` table.
    ComplaintsBuilder {
        complaint_id: str, conversation_id: i64, complaint_order: i64, created_at: ts,
        updated_at: ts, text: str, email: str, phone: str, employee_id: i64, department_id: i64,
        site_id: i64, visitor_id: str,
        _extra: str, _source_updated_at: ts, _synced_at: ts, _run_id: str,
    }
}

impl ComplaintsBuilder {
    /// Appends one row per complaint; returns rows added.
    pub(crate) fn append(&mut self, ctx: &Ctx, s: &mut Scratch, c: &Conversation) -> usize {
        for (order, x) in c.complaints.iter().enumerate() {
            self.complaint_id.append_value(&x.id);
            self.conversation_id.append_value(ctx.conversation_id);
            self.complaint_order.append_value(order as i64);
            self.created_at.append_option(ts(x.created_at));
            self.updated_at.append_option(ts(x.updated_at));
            self.text
                .append_option(s.pii(PiiClass::MessageTexts, x.text.as_deref()));
            self.email
                .append_option(s.pii(PiiClass::Emails, x.email.as_deref()));
            self.phone
                .append_option(s.pii(PiiClass::Phones, x.phone.as_deref()));
            self.employee_id
                .append_option(x.employee.as_ref().map(|e| e.id));
            self.department_id
                .append_option(x.department.as_ref().map(|d| d.id));
            self.site_id.append_option(x.site.as_ref().map(|v| v.id));
            self.visitor_id
                .append_option(x.visitor.as_ref().map(|v| v.id.as_ref()));
            push_lineage!(self, ctx, s, x);
        }
        c.complaints.len()
    }
}
