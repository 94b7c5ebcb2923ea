//! `conversation_employees`: which employees took part, in participation order (a link table).

use ltx_model::Conversation;

use crate::common::{push_lineage, table_builder, Ctx};

table_builder! {
    /// Builders of the `conversation_employees` table.
    ConversationEmployeesBuilder {
        conversation_id: i64, employee_id: i64, participation_order: i64,
        _source_updated_at: ts, _synced_at: ts, _run_id: str,
    }
}

impl ConversationEmployeesBuilder {
    /// Appends one row per listed employee; returns rows added.
    pub(crate) fn append(&mut self, ctx: &Ctx, c: &Conversation) -> usize {
        for (order, e) in c.employees.iter().enumerate() {
            self.conversation_id.append_value(ctx.conversation_id);
            self.employee_id.append_value(e.id);
            self.participation_order.append_value(order as i64);
            push_lineage!(self, ctx);
        }
        c.employees.len()
    }
}
