//! Ground truth for service-level models: when each chat was first answered, each lead
//! completed and each complaint first acted on, per version of the account.
//!
//! Taken from the generator's own model (never from the JSON it serves), so a test can hold
//! a warehouse's SLA figures against it. Ids and attributes are those of the JSON: the
//! warehouse's `chats.chat_id`, `leads.lead_id`, `complaints.complaint_id`, and the
//! department, site and employee ids the chat or lead carries. Instants are whole seconds.
//! Business-hours figures follow [`crate::working_seconds`].

use chrono::{DateTime, Utc};

/// SLA facts of every chat, lead and complaint of the conversations visible at one instant
/// (each in its latest version then), in conversation id order, then array order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlaTruth {
    /// One per chat.
    pub chats: Vec<ChatSla>,
    /// One per lead.
    pub leads: Vec<LeadSla>,
    /// One per complaint.
    pub complaints: Vec<ComplaintSla>,
}

/// When a chat started, was first answered and ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatSla {
    /// `chats[].id`.
    pub chat_id: i64,
    /// The conversation's `id`.
    pub conversation_id: i64,
    /// `chats[].site.id`.
    pub site_id: i64,
    /// `chats[].department.id` (null when the conversation has no department).
    pub department_id: Option<i64>,
    /// `chats[].employee.id`: the operator the chat was assigned to.
    pub employee_id: Option<i64>,
    /// `chats[].created_at`: the visitor's first message.
    pub created_at: DateTime<Utc>,
    /// The first employee message (`created_at + first_answer_time`); `None` while nobody
    /// has answered (`first_answer_time` is null then).
    pub first_answered_at: Option<DateTime<Utc>>,
    /// The last message or event of the chat (`created_at + duration`).
    pub ended_at: DateTime<Utc>,
}

/// When a lead was left and answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadSla {
    /// `leads[].id`.
    pub lead_id: i64,
    /// The conversation's `id`.
    pub conversation_id: i64,
    /// `leads[].department.id`.
    pub department_id: Option<i64>,
    /// `leads[].created_at`.
    pub created_at: DateTime<Utc>,
    /// `leads[].completed_at`; `None` while the lead is not completed.
    pub answered_at: Option<DateTime<Utc>>,
}

/// When a complaint was made and an employee first acted after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplaintSla {
    /// `complaints[].id` (a string).
    pub complaint_id: String,
    /// The conversation's `id`.
    pub conversation_id: i64,
    /// `complaints[].created_at`.
    pub created_at: DateTime<Utc>,
    /// The first employee chat message or employee-attributed conversation event of the
    /// same conversation at or after `created_at`; `None` if there is none yet.
    pub first_action_at: Option<DateTime<Utc>>,
}
