//! The wire types: a conversation and every nested type, as `livetex-api.md` describes them.
//!
//! Every field goes through a tolerant deserializer in [`crate::de`]; every type keeps the
//! fields it does not know in `extra` (never dropped). Free-form objects are kept as the
//! JSON text received ([`RawValue`]). Generated once from a field list, then maintained here.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::de;

/// A LiveTex conversation: one visitor's contact with the company, with everything in it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Conversation {
    /// Conversation id.
    #[serde(deserialize_with = "de::req_i64")]
    pub id: i64,
    /// When it started.
    #[serde(deserialize_with = "de::req_datetime")]
    pub created_at: DateTime<Utc>,
    /// Last change (the sync cursor).
    #[serde(deserialize_with = "de::req_datetime")]
    pub updated_at: DateTime<Utc>,
    /// The visitor (full object).
    #[serde(default, deserialize_with = "de::opt_object")]
    pub visitor: Option<Visitor>,
    /// The site (full object).
    #[serde(default, deserialize_with = "de::opt_object")]
    pub site: Option<Site>,
    /// The department, if routed to one.
    #[serde(default, deserialize_with = "de::opt_object")]
    pub department: Option<Department>,
    /// `success`/`failure`, as sent.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub result: Option<String>,
    /// Duration in seconds.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub duration: Option<i64>,
    /// Pages viewed.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub page_count: Option<i64>,
    /// Visits of the visitor.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub visit_count: Option<i64>,
    /// Chats (API counter).
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub chat_count: Option<i64>,
    /// Calls (API counter).
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub call_count: Option<i64>,
    /// Leads (API counter).
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub lead_count: Option<i64>,
    /// Messages over all chats (API counter).
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub message_count: Option<i64>,
    /// Visitor city.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub city: Option<String>,
    /// Visitor country.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub country: Option<String>,
    /// Search engine.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub search_engine: Option<String>,
    /// Search query.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub search_query: Option<String>,
    /// External referer.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub ext_referer: Option<String>,
    /// Internal referer.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub int_referer: Option<String>,
    /// Entry page.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub entry_page: Option<String>,
    /// Widget type (`auto`, `api`, `invite`, ...).
    #[serde(default, deserialize_with = "de::opt_string")]
    pub widget_type: Option<String>,
    /// Widget id (for `invite` the invitation text).
    #[serde(default, deserialize_with = "de::opt_string")]
    pub widget_id: Option<String>,
    /// Free-form visitor variables (JSON as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor_variables: Option<Box<RawValue>>,
    /// Free-form prechat fields (JSON as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prechat_fields: Option<Box<RawValue>>,
    /// Chats, in chronological order.
    #[serde(default, deserialize_with = "de::vec")]
    pub chats: Vec<Chat>,
    /// Calls, in chronological order.
    #[serde(default, deserialize_with = "de::vec")]
    pub calls: Vec<Call>,
    /// Leads, in chronological order.
    #[serde(default, deserialize_with = "de::vec")]
    pub leads: Vec<Lead>,
    /// Complaints, in chronological order.
    #[serde(default, deserialize_with = "de::vec")]
    pub complaints: Vec<Complaint>,
    /// Participating employees, in participation order.
    #[serde(default, deserialize_with = "de::vec")]
    pub employees: Vec<Employee>,
    /// Events, in chronological order.
    #[serde(default, deserialize_with = "de::vec")]
    pub events: Vec<ConversationEvent>,
    /// Fields this model does not know, as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One chat of a conversation.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Chat {
    /// Chat id.
    #[serde(deserialize_with = "de::req_i64")]
    pub id: i64,
    /// Start.
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub created_at: Option<DateTime<Utc>>,
    /// Last change.
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub updated_at: Option<DateTime<Utc>>,
    /// The employee (often abbreviated).
    #[serde(default, deserialize_with = "de::opt_object")]
    pub employee: Option<Employee>,
    /// The department.
    #[serde(default, deserialize_with = "de::opt_object")]
    pub department: Option<Department>,
    /// The site.
    #[serde(default, deserialize_with = "de::opt_object")]
    pub site: Option<Site>,
    /// The visitor.
    #[serde(default, deserialize_with = "de::opt_object")]
    pub visitor: Option<Visitor>,
    /// `missed`, `completed`, `transfer_manual`, `transfer_auto`, as sent.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub result: Option<String>,
    /// Duration (s).
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub duration: Option<i64>,
    /// Time in queue (s).
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub queue_time: Option<i64>,
    /// Time to first answer (s).
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub first_answer_time: Option<i64>,
    /// Average answer time (s).
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub answer_time_avg: Option<i64>,
    /// Messages (API counter).
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub message_count: Option<i64>,
    /// Messages, in chronological order.
    #[serde(default, deserialize_with = "de::vec")]
    pub messages: Vec<Message>,
    /// The first message.
    #[serde(default, deserialize_with = "de::opt_boxed")]
    pub first_message: Option<Box<Message>>,
    /// `positive`, `negative`, `undefined`, as sent.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub visitor_vote: Option<String>,
    /// Closed.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub is_closed: Option<bool>,
    /// Contact info was left.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub is_contact_info_exist: Option<bool>,
    /// Remark: transferred.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub rem_transfer: Option<bool>,
    /// Remark: automatic.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub rem_auto: Option<bool>,
    /// Remark: empty.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub rem_empty: Option<bool>,
    /// Remark: long answer.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub rem_long_answer: Option<bool>,
    /// Remark: lost in queue.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub rem_lost_in_queue: Option<bool>,
    /// Managed.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub is_managed: Option<bool>,
    /// Employee remark.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub employee_remark: Option<String>,
    /// Chat events (JSON as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Box<RawValue>>,
    /// Prechat values (JSON as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prechats_chat: Option<Box<RawValue>>,
    /// Hidden prechat values (JSON as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prechats_hidden: Option<Box<RawValue>>,
    /// Visitor variables (JSON as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor_variables: Option<Box<RawValue>>,
    /// Callback URL.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub callback_url: Option<String>,
    /// Back-reference to the conversation (kept as sent, not used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<Box<RawValue>>,
    /// Fields this model does not know, as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One chat message; exactly one of `employee` (staff) or `visitor` is the sender.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Message {
    /// Message id.
    #[serde(deserialize_with = "de::req_i64")]
    pub id: i64,
    /// When sent.
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub created_at: Option<DateTime<Utc>>,
    /// Text.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub text: Option<String>,
    /// Delivered.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub is_delivered: Option<bool>,
    /// Sender, if staff.
    #[serde(default, deserialize_with = "de::opt_object")]
    pub employee: Option<Employee>,
    /// Sender, if the visitor.
    #[serde(default, deserialize_with = "de::opt_object")]
    pub visitor: Option<Visitor>,
    /// Fields this model does not know, as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One call of a conversation.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Call {
    /// Call id.
    #[serde(deserialize_with = "de::req_i64")]
    pub id: i64,
    /// Start.
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub created_at: Option<DateTime<Utc>>,
    /// Last change.
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub updated_at: Option<DateTime<Utc>>,
    /// The employee.
    #[serde(default, deserialize_with = "de::opt_object")]
    pub employee: Option<Employee>,
    /// Incoming (else outgoing).
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub is_incoming: Option<bool>,
    /// `missed`, `completed`, as sent.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub result: Option<String>,
    /// Duration (s).
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub duration: Option<i64>,
    /// Time to answer (s).
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub answer_time: Option<i64>,
    /// Recording URL.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub recording: Option<String>,
    /// Visitor vote.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub visitor_vote: Option<String>,
    /// Employee vote.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub employee_vote: Option<String>,
    /// The lead an outgoing call was made for.
    #[serde(default, deserialize_with = "de::opt_boxed")]
    pub lead: Option<Box<Lead>>,
    /// The department.
    #[serde(default, deserialize_with = "de::opt_object")]
    pub department: Option<Department>,
    /// The site.
    #[serde(default, deserialize_with = "de::opt_object")]
    pub site: Option<Site>,
    /// The visitor.
    #[serde(default, deserialize_with = "de::opt_object")]
    pub visitor: Option<Visitor>,
    /// Pages viewed.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub page_count: Option<i64>,
    /// Visits.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub visit_count: Option<i64>,
    /// External referer.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub ext_referer: Option<String>,
    /// Internal referer.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub int_referer: Option<String>,
    /// Search engine.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub search_engine: Option<String>,
    /// Search query.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub search_query: Option<String>,
    /// Entry page.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub entry_page: Option<String>,
    /// Remark: transferred.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub rem_transfer: Option<bool>,
    /// Remark: automatic.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub rem_auto: Option<bool>,
    /// Remark: empty.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub rem_empty: Option<bool>,
    /// Remark: long answer.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub rem_long_answer: Option<bool>,
    /// Remark: lost in queue.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub rem_lost_in_queue: Option<bool>,
    /// Callback URL.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub callback_url: Option<String>,
    /// Fields this model does not know, as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One lead (form, callback request, ...) of a conversation.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Lead {
    /// Lead id.
    #[serde(deserialize_with = "de::req_i64")]
    pub id: i64,
    /// Created.
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub created_at: Option<DateTime<Utc>>,
    /// Last change.
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub updated_at: Option<DateTime<Utc>>,
    /// `form`, `callback`, ..., as sent.
    #[serde(default, deserialize_with = "de::opt_string", rename = "type")]
    pub lead_type: Option<String>,
    /// `missed`, `completed`, as sent.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub result: Option<String>,
    /// Name left by the visitor.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub name: Option<String>,
    /// E-mail.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub email: Option<String>,
    /// Phone.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub phone: Option<String>,
    /// Text (≤2000 chars).
    #[serde(default, deserialize_with = "de::opt_string")]
    pub text: Option<String>,
    /// Answer.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub answer_text: Option<String>,
    /// Completed.
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub completed_at: Option<DateTime<Utc>>,
    /// Seconds to completion.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub duration: Option<i64>,
    /// Created by.
    #[serde(default, deserialize_with = "de::opt_object")]
    pub created_by: Option<Employee>,
    /// Assigned to.
    #[serde(default, deserialize_with = "de::opt_object")]
    pub assigned_to: Option<Employee>,
    /// Completed by.
    #[serde(default, deserialize_with = "de::opt_object")]
    pub completed_by: Option<Employee>,
    /// Locked by.
    #[serde(default, deserialize_with = "de::opt_object")]
    pub locked_by: Option<Employee>,
    /// Locked.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub is_locked: Option<bool>,
    /// The department.
    #[serde(default, deserialize_with = "de::opt_object")]
    pub department: Option<Department>,
    /// The site.
    #[serde(default, deserialize_with = "de::opt_object")]
    pub site: Option<Site>,
    /// City.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub city: Option<String>,
    /// Country.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub country: Option<String>,
    /// External referer.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub ext_referer: Option<String>,
    /// Internal referer.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub int_referer: Option<String>,
    /// Search engine.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub search_engine: Option<String>,
    /// Search query.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub search_query: Option<String>,
    /// Entry page.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub entry_page: Option<String>,
    /// Fields this model does not know, as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One complaint of a conversation (its id is a string).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Complaint {
    /// Complaint id (string).
    #[serde(deserialize_with = "de::string_id")]
    pub id: String,
    /// Created.
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub created_at: Option<DateTime<Utc>>,
    /// Last change.
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub updated_at: Option<DateTime<Utc>>,
    /// Text.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub text: Option<String>,
    /// E-mail.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub email: Option<String>,
    /// Phone.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub phone: Option<String>,
    /// The employee complained about.
    #[serde(default, deserialize_with = "de::opt_object")]
    pub employee: Option<Employee>,
    /// The department.
    #[serde(default, deserialize_with = "de::opt_object")]
    pub department: Option<Department>,
    /// The site.
    #[serde(default, deserialize_with = "de::opt_object")]
    pub site: Option<Site>,
    /// The visitor.
    #[serde(default, deserialize_with = "de::opt_object")]
    pub visitor: Option<Visitor>,
    /// Fields this model does not know, as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One event of a conversation (no id of its own).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ConversationEvent {
    /// Type as sent (e.g. `visitor-chat-open`, the misspelt `vistor-navigate`).
    #[serde(default, deserialize_with = "de::opt_string")]
    pub event_type: Option<String>,
    /// Text.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub event_text: Option<String>,
    /// When.
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub created_at: Option<DateTime<Utc>>,
    /// The employee involved.
    #[serde(default, deserialize_with = "de::opt_object")]
    pub employee: Option<Employee>,
    /// The page.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub page: Option<String>,
    /// Fields this model does not know, as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An employee (operator); nested references are often abbreviated to a few fields.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Employee {
    /// Employee id.
    #[serde(deserialize_with = "de::req_i64")]
    pub id: i64,
    /// First name.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub last_name: Option<String>,
    /// E-mail.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub email: Option<String>,
    /// Phone.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub phone: Option<String>,
    /// Role.
    #[serde(default, deserialize_with = "de::opt_object")]
    pub role: Option<Role>,
    /// `online`, `busy`, `offline`, as sent.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub state: Option<String>,
    /// Active.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub is_active: Option<bool>,
    /// Deleted.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub is_deleted: Option<bool>,
    /// Concurrent chat limit.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub chat_limit: Option<i64>,
    /// Departments (ids or objects; JSON as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub departments: Option<Box<RawValue>>,
    /// Created.
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub created_at: Option<DateTime<Utc>>,
    /// Last change.
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub updated_at: Option<DateTime<Utc>>,
    /// Fields this model does not know, as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An employee's role.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Role {
    /// Role code (e.g. `operator`).
    #[serde(default, deserialize_with = "de::opt_string")]
    pub code: Option<String>,
    /// Role title.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub title: Option<String>,
    /// Fields this model does not know, as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A website visitor (id is a string).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Visitor {
    /// Visitor id (string).
    #[serde(deserialize_with = "de::string_id")]
    pub id: String,
    /// Name.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub name: Option<String>,
    /// Nickname.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub nickname: Option<String>,
    /// E-mail.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub email: Option<String>,
    /// Phone.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub phone: Option<String>,
    /// First seen.
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub created_at: Option<DateTime<Utc>>,
    /// Last visit.
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub last_visit_at: Option<DateTime<Utc>>,
    /// Last IP address.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub last_ip: Option<String>,
    /// Last user agent.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub last_user_agent: Option<String>,
    /// Last city.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub last_city: Option<String>,
    /// Last country.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub last_country: Option<String>,
    /// Visits.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub visit_count: Option<i64>,
    /// Chats.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub chat_count: Option<i64>,
    /// Calls.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub call_count: Option<i64>,
    /// Leads.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub lead_count: Option<i64>,
    /// Banned.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub is_banned: Option<bool>,
    /// When banned.
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub banned_at: Option<DateTime<Utc>>,
    /// Ban reason.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub ban_reason: Option<String>,
    /// Comment.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub comment: Option<String>,
    /// Visitor variables (JSON as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor_variables: Option<Box<RawValue>>,
    /// Fields this model does not know, as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A site of the account.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Site {
    /// Site id.
    #[serde(deserialize_with = "de::req_i64")]
    pub id: i64,
    /// URL.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub url: Option<String>,
    /// Created.
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub created_at: Option<DateTime<Utc>>,
    /// Last change.
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub updated_at: Option<DateTime<Utc>>,
    /// Deleted.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub is_deleted: Option<bool>,
    /// Fields this model does not know, as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A department (operator group).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Department {
    /// Department id.
    #[serde(deserialize_with = "de::req_i64")]
    pub id: i64,
    /// Title.
    #[serde(default, deserialize_with = "de::opt_string")]
    pub title: Option<String>,
    /// Created.
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub created_at: Option<DateTime<Utc>>,
    /// Last change.
    #[serde(default, deserialize_with = "de::opt_datetime")]
    pub updated_at: Option<DateTime<Utc>>,
    /// Deleted.
    #[serde(default, deserialize_with = "de::opt_bool")]
    pub is_deleted: Option<bool>,
    /// Fields this model does not know, as received.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
