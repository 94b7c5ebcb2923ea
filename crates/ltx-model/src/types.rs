//! The wire types: a conversation and every nested type, as `livetex-api.md` describes them.
//!
//! Every field goes through a tolerant deserializer in [`crate::de`]; every type keeps the
//! fields it does not know in `extra` (never dropped). Free-form objects are kept as the
//! JSON text received ([`JsonText`]). Generated once from a field list, then maintained here.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::de;
use crate::JsonText;

/// `result` of a conversation, as documented.
const CONVERSATION_RESULT: de::OptEnum = de::OptEnum {
    values: &["success", "failure"],
    expected: "one of success, failure",
};
/// `widget_type` of a conversation, as documented.
const WIDGET_TYPE: de::OptEnum = de::OptEnum {
    values: &[
        "auto",
        "api",
        "invite",
        "label",
        "sound-label",
        "button",
        "sound-button",
    ],
    expected: "one of auto, api, invite, label, sound-label, button, sound-button",
};
/// `result` of a chat, as documented.
const CHAT_RESULT: de::OptEnum = de::OptEnum {
    values: &["missed", "completed", "transfer_manual", "transfer_auto"],
    expected: "one of missed, completed, transfer_manual, transfer_auto",
};
/// `result` of a call or a lead, as documented.
const MISSED_COMPLETED: de::OptEnum = de::OptEnum {
    values: &["missed", "completed"],
    expected: "one of missed, completed",
};
/// `visitor_vote` of a chat (and of a call, which the reference lists without values).
const VOTE: de::OptEnum = de::OptEnum {
    values: &["positive", "negative", "undefined"],
    expected: "one of positive, negative, undefined",
};
/// `state` of an employee, as documented.
const EMPLOYEE_STATE: de::OptEnum = de::OptEnum {
    values: &["online", "busy", "offline"],
    expected: "one of online, busy, offline",
};

/// Declares a model struct (its fields plus `extra`) and its hand-written deserializer.
///
/// Each field is `name: Type = req(seed)` or `opt(seed)` (missing → `Default`), with an
/// optional JSON key when it differs from the name: `opt(seed, "type")`. The generated
/// visitor matches known keys and deserializes their values with the [`de`] seed given,
/// and puts every other key into `extra` as a `Value` directly. `#[serde(flatten)]` did
/// the same but buffered every unknown value as `Content` first and collected the keys
/// into a `Vec` per object, about a fifth of parse time. Field paths in errors still come
/// from `serde_path_to_error`, which sees the keys through `next_key_seed`.
macro_rules! model {
    (
        $(#[$m:meta])*
        $name:ident<'a> {
            $(
                $(#[$fm:meta])*
                $f:ident : $t:ty = $kind:ident($seed:expr $(, $key:literal)?)
            ),* $(,)?
        }
        $( + {
            $(
                $(#[$xm:meta])*
                $xf:ident : $xt:ty
            ),* $(,)?
        } )?
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, Serialize)]
        pub struct $name<'a> {
            $( $(#[$fm])* pub $f: $t, )*
            /// Fields this model does not know, as received.
            #[serde(flatten)]
            pub extra: Map<String, Value>,
            $( $( $(#[$xm])* #[serde(skip)] pub $xf: $xt, )* )?
        }

        impl<'a> de::FromMap<'a> for $name<'a> {
            fn from_map<A: serde::de::MapAccess<'a>>(
                mut map: A,
                empty_is_none: bool,
            ) -> Result<Option<Self>, A::Error> {
                let mut seen = false;
                $( let mut $f: Option<$t> = None; )*
                let mut extra = Map::new();
                while let Some(key) = map.next_key_seed(de::MapKeySeed)? {
                    seen = true;
                    match key.as_str() {
                        $( model!(@key $f $(, $key)?) => {
                            if $f.is_some() {
                                return Err(serde::de::Error::duplicate_field(model!(@key $f $(, $key)?)));
                            }
                            $f = Some(map.next_value_seed($seed)?);
                        } )*
                        _ => {
                            let value: Value = map.next_value()?;
                            extra.insert(key.into_string(), value);
                        }
                    }
                }
                if !seen && empty_is_none {
                    return Ok(None);
                }
                Ok(Some($name {
                    $( $f: model!(@finish $kind $f, model!(@key $f $(, $key)?)), )*
                    extra,
                    $( $( $xf: Default::default(), )* )?
                }))
            }
        }

        impl<'a> crate::fast::FastMap<'a> for $name<'a> {
            fn fast_map(
                p: &mut crate::fast::Parser<'a>,
                empty_is_none: bool,
            ) -> crate::fast::R<Option<Self>> {
                use crate::fast::{key_order as m, FastSeed};
                /// The fields, by position.
                #[allow(non_camel_case_types)]
                #[derive(Clone, Copy)]
                enum F { $( $f, )* }
                const ALL: &[F] = &[ $( F::$f, )* ];
                const KEYS: &[&str] = &[ $( model!(@key $f $(, $key)?), )* ];
                const _: () = assert!(ALL.len() < m::MAX_FIELDS);
                fn lookup(key: &str) -> usize {
                    match key {
                        $( model!(@key $f $(, $key)?) => F::$f as usize, )*
                        _ => m::UNKNOWN,
                    }
                }
                // The order this thread last saw the keys in (see `Successors`).
                thread_local! {
                    static NEXT: m::Successors = const { m::Successors::new() };
                }
                NEXT.with(|next| {
                    let mut seen = false;
                    $( let mut $f: Option<$t> = None; )*
                    let mut extra = Map::new();
                    let mut more = p.object_begin()?;
                    let mut prev = m::START;
                    while more {
                        seen = true;
                        let guess = next.get(prev);
                        let idx = match KEYS.get(guess) {
                            Some(k) if p.try_key(k) => guess,
                            _ => {
                                let key = p.key()?;
                                let idx = lookup(key);
                                next.set(prev, idx);
                                if idx == m::UNKNOWN {
                                    let value = p.extra_value()?;
                                    extra.insert(key.to_owned(), value);
                                }
                                idx
                            }
                        };
                        match ALL.get(idx) {
                            $( Some(F::$f) => {
                                if $f.is_some() {
                                    return Err(crate::fast::Bail);
                                }
                                $f = Some($seed.fast(p)?);
                            } )*
                            None => {}
                        }
                        prev = idx;
                        more = p.object_next()?;
                    }
                    if !seen && empty_is_none {
                        return Ok(None);
                    }
                    Ok(Some($name {
                        $( $f: model!(@fast_finish $kind $f), )*
                        extra,
                        $( $( $xf: Default::default(), )* )?
                    }))
                })
            }
        }

        impl<'a> crate::lenient::LenientMap<'a> for $name<'a> {
            fn fields() -> Vec<crate::lenient::FieldInfo> {
                vec![ $( crate::lenient::field_info::<_, $t>(
                    &$seed, model!(@key $f $(, $key)?), model!(@required $kind),
                ), )* ]
            }

            fn lenient_map(
                text: &'a str,
                empty_is_none: bool,
                cx: &mut crate::lenient::Cx,
            ) -> Result<Option<Self>, crate::lenient::Unusable> {
                #[allow(unused_imports)]
                use crate::lenient::LenientSeed as _;
                let Ok(members) = serde_json::from_str::<crate::lenient::Members<'a>>(text) else {
                    return Err(crate::lenient::Unusable);
                };
                if members.0.is_empty() && empty_is_none {
                    return Ok(None);
                }
                $( let mut $f: Option<$t> = None; )*
                let mut extra = Map::new();
                for (key, value) in members.0 {
                    match key.as_str() {
                        $( model!(@key $f $(, $key)?) => crate::lenient::member(
                            $seed, model!(@key $f $(, $key)?), value, &mut $f, cx, &mut extra,
                        ), )*
                        _ => {
                            let v = serde_json::from_str::<Value>(value.get())
                                .unwrap_or_else(|_| Value::String(value.get().to_owned()));
                            extra.insert(key.into_string(), v);
                        }
                    }
                }
                Ok(Some($name {
                    $( $f: model!(@lenient_finish $kind $f, model!(@key $f $(, $key)?), $seed, cx), )*
                    extra,
                    $( $( $xf: Default::default(), )* )?
                }))
            }
        }

        impl<'a> Deserialize<'a> for $name<'a> {
            fn deserialize<D: serde::Deserializer<'a>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_map(de::Struct::<Self>::default())
            }
        }
    };
    (@key $f:ident) => { stringify!($f) };
    (@key $f:ident, $key:literal) => { $key };
    (@finish req $f:ident, $key:expr) => {
        $f.ok_or_else(|| serde::de::Error::missing_field($key))?
    };
    (@finish opt $f:ident, $key:expr) => { $f.unwrap_or_default() };
    (@fast_finish req $f:ident) => { $f.ok_or(crate::fast::Bail)? };
    (@fast_finish opt $f:ident) => { $f.unwrap_or_default() };
    (@required req) => { true };
    (@required opt) => { false };
    (@lenient_finish req $f:ident, $key:expr, $seed:expr, $cx:expr) => {
        crate::lenient::required($f, $key, crate::lenient::expected_of(&$seed), $cx)?
    };
    (@lenient_finish opt $f:ident, $key:expr, $seed:expr, $cx:expr) => { $f.unwrap_or_default() };
}

model! {
    /// A LiveTex conversation: one visitor's contact with the company, with everything in it.
    Conversation<'a> {
        /// Conversation id.
        id: i64 = req(de::ReqI64),
        /// When it started (`None` when not sent or unreadable: see `lenient`).
        created_at: Option<DateTime<Utc>> = opt(de::OptDateTime),
        /// Last change (the sync cursor).
        updated_at: DateTime<Utc> = req(de::ReqDateTime),
        /// The visitor (full object).
        visitor: Option<Visitor<'a>> = opt(de::Object::default()),
        /// The site (full object).
        site: Option<Site<'a>> = opt(de::Object::default()),
        /// The department, if routed to one.
        department: Option<Department<'a>> = opt(de::Object::default()),
        /// `success`/`failure`, as sent.
        result: Option<Cow<'a, str>> = opt(CONVERSATION_RESULT),
        /// Duration in seconds.
        duration: Option<i64> = opt(de::OptI64),
        /// Pages viewed.
        page_count: Option<i64> = opt(de::OptI64),
        /// Visits of the visitor.
        visit_count: Option<i64> = opt(de::OptI64),
        /// Chats (API counter).
        chat_count: Option<i64> = opt(de::OptI64),
        /// Calls (API counter).
        call_count: Option<i64> = opt(de::OptI64),
        /// Leads (API counter).
        lead_count: Option<i64> = opt(de::OptI64),
        /// Messages over all chats (API counter).
        message_count: Option<i64> = opt(de::OptI64),
        /// Visitor city.
        city: Option<Cow<'a, str>> = opt(de::OptString),
        /// Visitor country.
        country: Option<Cow<'a, str>> = opt(de::OptString),
        /// Search engine.
        search_engine: Option<Cow<'a, str>> = opt(de::OptString),
        /// Search query.
        search_query: Option<Cow<'a, str>> = opt(de::OptString),
        /// External referer.
        ext_referer: Option<Cow<'a, str>> = opt(de::OptString),
        /// Internal referer.
        int_referer: Option<Cow<'a, str>> = opt(de::OptString),
        /// Entry page.
        entry_page: Option<Cow<'a, str>> = opt(de::OptString),
        /// Widget type (`auto`, `api`, `invite`, ...).
        widget_type: Option<Cow<'a, str>> = opt(WIDGET_TYPE),
        /// Widget id (for `invite` the invitation text).
        widget_id: Option<Cow<'a, str>> = opt(de::OptString),
        /// Free-form visitor variables (JSON as sent).
        #[serde(skip_serializing_if = "Option::is_none")]
        visitor_variables: Option<JsonText<'a>> = opt(de::Plain::default()),
        /// Free-form prechat fields (JSON as sent).
        #[serde(skip_serializing_if = "Option::is_none")]
        prechat_fields: Option<JsonText<'a>> = opt(de::Plain::default()),
        /// Chats, in chronological order.
        chats: Vec<Chat<'a>> = opt(de::Seq::default()),
        /// Calls, in chronological order.
        calls: Vec<Call<'a>> = opt(de::Seq::default()),
        /// Leads, in chronological order.
        leads: Vec<Lead<'a>> = opt(de::Seq::default()),
        /// Complaints, in chronological order.
        complaints: Vec<Complaint<'a>> = opt(de::Seq::default()),
        /// Participating employees, in participation order.
        employees: Vec<Employee<'a>> = opt(de::Seq::default()),
        /// Events, in chronological order.
        events: Vec<ConversationEvent<'a>> = opt(de::Seq::default()),
    } + {
        /// Values that did not fit the model (kept in the rows' `_extra`): empty unless
        /// the record was read by [`crate::lenient`].
        drift: Vec<crate::Drift>,
    }
}

model! {
    /// One chat of a conversation.
    Chat<'a> {
        /// Chat id.
        id: i64 = req(de::ReqI64),
        /// Start.
        created_at: Option<DateTime<Utc>> = opt(de::OptDateTime),
        /// Last change.
        updated_at: Option<DateTime<Utc>> = opt(de::OptDateTime),
        /// The employee (often abbreviated).
        employee: Option<Box<Employee<'a>>> = opt(de::Boxed::default()),
        /// The department.
        department: Option<Department<'a>> = opt(de::Object::default()),
        /// The site.
        site: Option<Site<'a>> = opt(de::Object::default()),
        /// The visitor.
        visitor: Option<Box<Visitor<'a>>> = opt(de::Boxed::default()),
        /// `missed`, `completed`, `transfer_manual`, `transfer_auto`, as sent.
        result: Option<Cow<'a, str>> = opt(CHAT_RESULT),
        /// Duration (s).
        duration: Option<i64> = opt(de::OptI64),
        /// Time in queue (s).
        queue_time: Option<i64> = opt(de::OptI64),
        /// Time to first answer (s).
        first_answer_time: Option<i64> = opt(de::OptI64),
        /// Average answer time (s).
        answer_time_avg: Option<i64> = opt(de::OptI64),
        /// Messages (API counter).
        message_count: Option<i64> = opt(de::OptI64),
        /// Messages, in chronological order.
        messages: Vec<Message<'a>> = opt(de::Seq::default()),
        /// The first message.
        first_message: Option<Box<Message<'a>>> = opt(de::Boxed::default()),
        /// `positive`, `negative`, `undefined`, as sent.
        visitor_vote: Option<Cow<'a, str>> = opt(VOTE),
        /// Closed.
        is_closed: Option<bool> = opt(de::OptBool),
        /// Contact info was left.
        is_contact_info_exist: Option<bool> = opt(de::OptBool),
        /// Remark: transferred.
        rem_transfer: Option<bool> = opt(de::OptBool),
        /// Remark: automatic.
        rem_auto: Option<bool> = opt(de::OptBool),
        /// Remark: empty.
        rem_empty: Option<bool> = opt(de::OptBool),
        /// Remark: long answer.
        rem_long_answer: Option<bool> = opt(de::OptBool),
        /// Remark: lost in queue.
        rem_lost_in_queue: Option<bool> = opt(de::OptBool),
        /// Managed.
        is_managed: Option<bool> = opt(de::OptBool),
        /// Employee remark.
        employee_remark: Option<Cow<'a, str>> = opt(de::OptString),
        /// Chat events (JSON as sent).
        #[serde(skip_serializing_if = "Option::is_none")]
        events: Option<JsonText<'a>> = opt(de::Plain::default()),
        /// Prechat values (JSON as sent).
        #[serde(skip_serializing_if = "Option::is_none")]
        prechats_chat: Option<JsonText<'a>> = opt(de::Plain::default()),
        /// Hidden prechat values (JSON as sent).
        #[serde(skip_serializing_if = "Option::is_none")]
        prechats_hidden: Option<JsonText<'a>> = opt(de::Plain::default()),
        /// Visitor variables (JSON as sent).
        #[serde(skip_serializing_if = "Option::is_none")]
        visitor_variables: Option<JsonText<'a>> = opt(de::Plain::default()),
        /// Callback URL.
        callback_url: Option<Cow<'a, str>> = opt(de::OptString),
        /// Back-reference to the conversation (kept as sent; no column of its own).
        #[serde(skip_serializing_if = "Option::is_none")]
        conversation: Option<JsonText<'a>> = opt(de::Plain::default()),
    }
}

model! {
    /// One chat message; exactly one of `employee` (staff) or `visitor` is the sender.
    Message<'a> {
        /// Message id.
        id: i64 = req(de::ReqI64),
        /// When sent.
        created_at: Option<DateTime<Utc>> = opt(de::OptDateTime),
        /// Text.
        text: Option<Cow<'a, str>> = opt(de::OptString),
        /// Delivered.
        is_delivered: Option<bool> = opt(de::OptBool),
        /// Sender, if staff.
        employee: Option<Box<Employee<'a>>> = opt(de::Boxed::default()),
        /// Sender, if the visitor.
        visitor: Option<Box<Visitor<'a>>> = opt(de::Boxed::default()),
    }
}

model! {
    /// One call of a conversation.
    Call<'a> {
        /// Call id.
        id: i64 = req(de::ReqI64),
        /// Start.
        created_at: Option<DateTime<Utc>> = opt(de::OptDateTime),
        /// Last change.
        updated_at: Option<DateTime<Utc>> = opt(de::OptDateTime),
        /// The employee.
        employee: Option<Box<Employee<'a>>> = opt(de::Boxed::default()),
        /// Incoming (else outgoing).
        is_incoming: Option<bool> = opt(de::OptBool),
        /// `missed`, `completed`, as sent.
        result: Option<Cow<'a, str>> = opt(MISSED_COMPLETED),
        /// Duration (s).
        duration: Option<i64> = opt(de::OptI64),
        /// Time to answer (s).
        answer_time: Option<i64> = opt(de::OptI64),
        /// Recording URL.
        recording: Option<Cow<'a, str>> = opt(de::OptString),
        /// Visitor vote.
        visitor_vote: Option<Cow<'a, str>> = opt(VOTE),
        /// Employee vote.
        employee_vote: Option<Cow<'a, str>> = opt(de::OptString),
        /// The lead an outgoing call was made for.
        lead: Option<Box<Lead<'a>>> = opt(de::Boxed::default()),
        /// The department.
        department: Option<Department<'a>> = opt(de::Object::default()),
        /// The site.
        site: Option<Site<'a>> = opt(de::Object::default()),
        /// The visitor.
        visitor: Option<Box<Visitor<'a>>> = opt(de::Boxed::default()),
        /// Pages viewed.
        page_count: Option<i64> = opt(de::OptI64),
        /// Visits.
        visit_count: Option<i64> = opt(de::OptI64),
        /// External referer.
        ext_referer: Option<Cow<'a, str>> = opt(de::OptString),
        /// Internal referer.
        int_referer: Option<Cow<'a, str>> = opt(de::OptString),
        /// Search engine.
        search_engine: Option<Cow<'a, str>> = opt(de::OptString),
        /// Search query.
        search_query: Option<Cow<'a, str>> = opt(de::OptString),
        /// Entry page.
        entry_page: Option<Cow<'a, str>> = opt(de::OptString),
        /// Remark: transferred.
        rem_transfer: Option<bool> = opt(de::OptBool),
        /// Remark: automatic.
        rem_auto: Option<bool> = opt(de::OptBool),
        /// Remark: empty.
        rem_empty: Option<bool> = opt(de::OptBool),
        /// Remark: long answer.
        rem_long_answer: Option<bool> = opt(de::OptBool),
        /// Remark: lost in queue.
        rem_lost_in_queue: Option<bool> = opt(de::OptBool),
        /// Callback URL.
        callback_url: Option<Cow<'a, str>> = opt(de::OptString),
    }
}

model! {
    /// One lead (form, callback request, ...) of a conversation.
    Lead<'a> {
        /// Lead id.
        id: i64 = req(de::ReqI64),
        /// Created.
        created_at: Option<DateTime<Utc>> = opt(de::OptDateTime),
        /// Last change.
        updated_at: Option<DateTime<Utc>> = opt(de::OptDateTime),
        /// `form`, `callback`, ..., as sent.
        #[serde(rename = "type")]
        lead_type: Option<Cow<'a, str>> = opt(de::OptString, "type"),
        /// `missed`, `completed`, as sent.
        result: Option<Cow<'a, str>> = opt(MISSED_COMPLETED),
        /// Name left by the visitor.
        name: Option<Cow<'a, str>> = opt(de::OptString),
        /// E-mail.
        email: Option<Cow<'a, str>> = opt(de::OptString),
        /// Phone.
        phone: Option<Cow<'a, str>> = opt(de::OptString),
        /// Text (≤2000 chars).
        text: Option<Cow<'a, str>> = opt(de::OptString),
        /// Answer.
        answer_text: Option<Cow<'a, str>> = opt(de::OptString),
        /// Completed.
        completed_at: Option<DateTime<Utc>> = opt(de::OptDateTime),
        /// Seconds to completion.
        duration: Option<i64> = opt(de::OptI64),
        /// Created by.
        created_by: Option<Box<Employee<'a>>> = opt(de::Boxed::default()),
        /// Assigned to.
        assigned_to: Option<Box<Employee<'a>>> = opt(de::Boxed::default()),
        /// Completed by.
        completed_by: Option<Box<Employee<'a>>> = opt(de::Boxed::default()),
        /// Locked by.
        locked_by: Option<Box<Employee<'a>>> = opt(de::Boxed::default()),
        /// Locked.
        is_locked: Option<bool> = opt(de::OptBool),
        /// The department.
        department: Option<Department<'a>> = opt(de::Object::default()),
        /// The site.
        site: Option<Site<'a>> = opt(de::Object::default()),
        /// City.
        city: Option<Cow<'a, str>> = opt(de::OptString),
        /// Country.
        country: Option<Cow<'a, str>> = opt(de::OptString),
        /// External referer.
        ext_referer: Option<Cow<'a, str>> = opt(de::OptString),
        /// Internal referer.
        int_referer: Option<Cow<'a, str>> = opt(de::OptString),
        /// Search engine.
        search_engine: Option<Cow<'a, str>> = opt(de::OptString),
        /// Search query.
        search_query: Option<Cow<'a, str>> = opt(de::OptString),
        /// Entry page.
        entry_page: Option<Cow<'a, str>> = opt(de::OptString),
    }
}

model! {
    /// One complaint of a conversation (its id is a string).
    Complaint<'a> {
        /// Complaint id (string).
        id: Cow<'a, str> = req(de::StringId),
        /// Created.
        created_at: Option<DateTime<Utc>> = opt(de::OptDateTime),
        /// Last change.
        updated_at: Option<DateTime<Utc>> = opt(de::OptDateTime),
        /// Text.
        text: Option<Cow<'a, str>> = opt(de::OptString),
        /// E-mail.
        email: Option<Cow<'a, str>> = opt(de::OptString),
        /// Phone.
        phone: Option<Cow<'a, str>> = opt(de::OptString),
        /// The employee complained about.
        employee: Option<Box<Employee<'a>>> = opt(de::Boxed::default()),
        /// The department.
        department: Option<Department<'a>> = opt(de::Object::default()),
        /// The site.
        site: Option<Site<'a>> = opt(de::Object::default()),
        /// The visitor.
        visitor: Option<Box<Visitor<'a>>> = opt(de::Boxed::default()),
    }
}

model! {
    /// One event of a conversation (no id of its own).
    ConversationEvent<'a> {
        /// Type as sent (e.g. `visitor-chat-open`, the misspelt `vistor-navigate`).
        event_type: Option<Cow<'a, str>> = opt(de::OptString),
        /// Text.
        event_text: Option<Cow<'a, str>> = opt(de::OptString),
        /// When.
        created_at: Option<DateTime<Utc>> = opt(de::OptDateTime),
        /// The employee involved.
        employee: Option<Box<Employee<'a>>> = opt(de::Boxed::default()),
        /// The page.
        page: Option<Cow<'a, str>> = opt(de::OptString),
    }
}

model! {
    /// An employee (operator); nested references are often abbreviated to a few fields.
    Employee<'a> {
        /// Employee id.
        id: i64 = req(de::ReqI64),
        /// First name.
        first_name: Option<Cow<'a, str>> = opt(de::OptString),
        /// Last name.
        last_name: Option<Cow<'a, str>> = opt(de::OptString),
        /// E-mail.
        email: Option<Cow<'a, str>> = opt(de::OptString),
        /// Phone.
        phone: Option<Cow<'a, str>> = opt(de::OptString),
        /// Role.
        role: Option<Role<'a>> = opt(de::Object::default()),
        /// `online`, `busy`, `offline`, as sent.
        state: Option<Cow<'a, str>> = opt(EMPLOYEE_STATE),
        /// Active.
        is_active: Option<bool> = opt(de::OptBool),
        /// Deleted.
        is_deleted: Option<bool> = opt(de::OptBool),
        /// Concurrent chat limit.
        chat_limit: Option<i64> = opt(de::OptI64),
        /// Departments (ids or objects; JSON as sent).
        #[serde(skip_serializing_if = "Option::is_none")]
        departments: Option<JsonText<'a>> = opt(de::Plain::default()),
        /// Created.
        created_at: Option<DateTime<Utc>> = opt(de::OptDateTime),
        /// Last change.
        updated_at: Option<DateTime<Utc>> = opt(de::OptDateTime),
    }
}

model! {
    /// An employee's role.
    Role<'a> {
        /// Role code (e.g. `operator`).
        code: Option<Cow<'a, str>> = opt(de::OptString),
        /// Role title.
        title: Option<Cow<'a, str>> = opt(de::OptString),
    }
}

model! {
    /// A website visitor (id is a string).
    Visitor<'a> {
        /// Visitor id (string).
        id: Cow<'a, str> = req(de::StringId),
        /// Name.
        name: Option<Cow<'a, str>> = opt(de::OptString),
        /// Nickname.
        nickname: Option<Cow<'a, str>> = opt(de::OptString),
        /// E-mail.
        email: Option<Cow<'a, str>> = opt(de::OptString),
        /// Phone.
        phone: Option<Cow<'a, str>> = opt(de::OptString),
        /// First seen.
        created_at: Option<DateTime<Utc>> = opt(de::OptDateTime),
        /// Last visit.
        last_visit_at: Option<DateTime<Utc>> = opt(de::OptDateTime),
        /// Last IP address.
        last_ip: Option<Cow<'a, str>> = opt(de::OptString),
        /// Last user agent.
        last_user_agent: Option<Cow<'a, str>> = opt(de::OptString),
        /// Last city.
        last_city: Option<Cow<'a, str>> = opt(de::OptString),
        /// Last country.
        last_country: Option<Cow<'a, str>> = opt(de::OptString),
        /// Visits.
        visit_count: Option<i64> = opt(de::OptI64),
        /// Chats.
        chat_count: Option<i64> = opt(de::OptI64),
        /// Calls.
        call_count: Option<i64> = opt(de::OptI64),
        /// Leads.
        lead_count: Option<i64> = opt(de::OptI64),
        /// Banned.
        is_banned: Option<bool> = opt(de::OptBool),
        /// When banned.
        banned_at: Option<DateTime<Utc>> = opt(de::OptDateTime),
        /// Ban reason.
        ban_reason: Option<Cow<'a, str>> = opt(de::OptString),
        /// Comment.
        comment: Option<Cow<'a, str>> = opt(de::OptString),
        /// Visitor variables (JSON as sent).
        #[serde(skip_serializing_if = "Option::is_none")]
        visitor_variables: Option<JsonText<'a>> = opt(de::Plain::default()),
    }
}

model! {
    /// A site of the account.
    Site<'a> {
        /// Site id.
        id: i64 = req(de::ReqI64),
        /// URL.
        url: Option<Cow<'a, str>> = opt(de::OptString),
        /// Created.
        created_at: Option<DateTime<Utc>> = opt(de::OptDateTime),
        /// Last change.
        updated_at: Option<DateTime<Utc>> = opt(de::OptDateTime),
        /// Deleted.
        is_deleted: Option<bool> = opt(de::OptBool),
    }
}

model! {
    /// A department (operator group).
    Department<'a> {
        /// Department id.
        id: i64 = req(de::ReqI64),
        /// Title.
        title: Option<Cow<'a, str>> = opt(de::OptString),
        /// Created.
        created_at: Option<DateTime<Utc>> = opt(de::OptDateTime),
        /// Last change.
        updated_at: Option<DateTime<Utc>> = opt(de::OptDateTime),
        /// Deleted.
        is_deleted: Option<bool> = opt(de::OptBool),
    }
}
