//! The SLA facts of one conversation model ([`crate::SlaTruth`]): read off the model's
//! chats, leads, complaints, messages and events, not off the JSON.

use super::generate::{Conv, Sender};
use super::pools::Pools;
use crate::sla::{ChatSla, ComplaintSla, LeadSla, SlaTruth};
use crate::time::from_secs;

impl Conv {
    /// Appends this conversation's chats, leads and complaints to `out`.
    pub(super) fn sla_into(&self, pools: &Pools, out: &mut SlaTruth) {
        let department_id = self.department.map(|d| pools.departments[d].id);
        let site_id = pools.sites[self.site].id;
        out.chats.extend(self.chats.iter().map(|c| ChatSla {
            chat_id: c.id,
            conversation_id: self.id,
            site_id,
            department_id,
            employee_id: Some(pools.employees[c.employee].id),
            created_at: from_secs(c.created),
            first_answered_at: c.answered.map(from_secs),
            ended_at: from_secs(c.ended()),
        }));
        out.leads.extend(self.leads.iter().map(|l| LeadSla {
            lead_id: l.id,
            conversation_id: self.id,
            department_id,
            created_at: from_secs(l.created),
            answered_at: l.completed.map(|(at, _, _)| from_secs(at)),
        }));
        out.complaints
            .extend(self.complaints.iter().map(|c| ComplaintSla {
                complaint_id: c.id.clone(),
                conversation_id: self.id,
                created_at: from_secs(c.created),
                first_action_at: self.first_employee_action(c.created).map(from_secs),
            }));
    }

    /// The first employee chat message or employee-attributed event at or after `from`.
    fn first_employee_action(&self, from: i64) -> Option<i64> {
        let messages = self
            .chats
            .iter()
            .flat_map(|c| &c.messages)
            .filter(|m| matches!(m.sender, Sender::Employee(_)) && m.at >= from)
            .map(|m| m.at);
        let events = self
            .events
            .iter()
            .filter(|e| e.employee.is_some() && e.at >= from)
            .map(|e| e.at);
        messages.chain(events).min()
    }
}
