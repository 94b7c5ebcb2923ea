//! `_extra`: the fields the model does not know, of a row's object and of every object
//! nested in it that is not a row of its own.
//!
//! A chat's `employee`, a message's `visitor`, a call's `lead`, ... are references: only
//! their id is stored (their attributes come from the conversation's full objects), so
//! their unknown fields would be lost. They go to the row's `_extra` under the field's
//! name, as does a value kept as sent that no column holds (`chat.conversation`):
//! `{"a":1,"conversation":{"id":7},"employee":{"b":2,"role":{"c":3}}}`.
//! Nested objects without unknown fields are left out, so a row with nothing unknown
//! anywhere still has `{}` (checked without allocating: the common case).

use ltx_model::{
    Call, Chat, Complaint, Conversation, ConversationEvent, Department, Employee, Lead, Message,
    Role, Site, Visitor,
};
use serde_json::{Map, Value};

/// A value nested in a row's object that no column holds.
pub(crate) enum Nested<'x> {
    /// A model object (a reference): its unknown fields and its own nested values.
    Object(&'x dyn Unknowns),
    /// Free-form JSON kept as sent.
    Raw(&'x str),
}

/// A model object whose unknown fields (and those of what is nested in it) go to `_extra`.
pub(crate) trait Unknowns {
    /// The object's own unknown fields.
    fn own(&self) -> &Map<String, Value>;
    /// Calls `f` with each nested value that no column or table holds, by field name.
    fn nested<'x>(&'x self, f: &mut dyn FnMut(&'static str, Nested<'x>));
    /// True when the object and everything nested in it have no unknown fields (and no
    /// raw value): the common case, checked without a call per nested object.
    fn is_empty(&self) -> bool;
}

impl<T: Unknowns + ?Sized> Unknowns for Box<T> {
    fn own(&self) -> &Map<String, Value> {
        (**self).own()
    }
    fn nested<'x>(&'x self, f: &mut dyn FnMut(&'static str, Nested<'x>)) {
        (**self).nested(f)
    }
    fn is_empty(&self) -> bool {
        (**self).is_empty()
    }
}

/// Implements [`Unknowns`] for a model type. Every field of the type is named, in one of:
/// `nested` (a model object that is only a reference: its unknowns go to `_extra`), `raw`
/// (free-form JSON no column holds: goes to `_extra` as sent) or `stored` (a column, or
/// rows of another table). The pattern has no `..`, so a field added to the model does not
/// compile until it is placed here.
macro_rules! unknowns {
    ($ty:ident {
        nested: $($n:ident),* ;
        raw: $($r:ident),* ;
        stored: $($s:ident),* $(,)?
    }) => {
        impl Unknowns for $ty<'_> {
            fn own(&self) -> &Map<String, Value> {
                &self.extra
            }
            #[allow(unused_variables)]
            fn nested<'x>(&'x self, f: &mut dyn FnMut(&'static str, Nested<'x>)) {
                let $ty { $($n,)* $($r,)* $($s: _,)* extra: _ } = self;
                $( if let Some(v) = $n {
                    f(stringify!($n), Nested::Object(v));
                } )*
                $( if let Some(v) = $r {
                    f(stringify!($r), Nested::Raw(v.get()));
                } )*
            }
            #[inline]
            fn is_empty(&self) -> bool {
                let $ty { $($n,)* $($r,)* $($s: _,)* extra } = self;
                extra.is_empty()
                    $( && $n.as_ref().is_none_or(|v| v.is_empty()) )*
                    $( && $r.is_none() )*
            }
        }
    };
}

unknowns!(Conversation {
    nested: ;
    raw: ;
    stored: id, created_at, updated_at, visitor, site, department, result, duration, page_count,
        visit_count, chat_count, call_count, lead_count, message_count, city, country,
        search_engine, search_query, ext_referer, int_referer, entry_page, widget_type,
        widget_id, visitor_variables, prechat_fields, chats, calls, leads, complaints,
        employees, events, drift,
});

unknowns!(Chat {
    nested: employee, department, site, visitor, first_message;
    raw: conversation;
    stored: id, created_at, updated_at, result, duration, queue_time, first_answer_time,
        answer_time_avg, message_count, messages, visitor_vote, is_closed,
        is_contact_info_exist, rem_transfer, rem_auto, rem_empty, rem_long_answer,
        rem_lost_in_queue, is_managed, employee_remark, events, prechats_chat,
        prechats_hidden, visitor_variables, callback_url,
});

unknowns!(Message {
    nested: employee, visitor;
    raw: ;
    stored: id, created_at, text, is_delivered,
});

unknowns!(Call {
    nested: employee, lead, department, site, visitor;
    raw: ;
    stored: id, created_at, updated_at, is_incoming, result, duration, answer_time, recording,
        visitor_vote, employee_vote, page_count, visit_count, ext_referer, int_referer,
        search_engine, search_query, entry_page, rem_transfer, rem_auto, rem_empty,
        rem_long_answer, rem_lost_in_queue, callback_url,
});

unknowns!(Lead {
    nested: created_by, assigned_to, completed_by, locked_by, department, site;
    raw: ;
    stored: id, created_at, updated_at, lead_type, result, name, email, phone, text,
        answer_text, completed_at, duration, is_locked, city, country, ext_referer,
        int_referer, search_engine, search_query, entry_page,
});

unknowns!(Complaint {
    nested: employee, department, site, visitor;
    raw: ;
    stored: id, created_at, updated_at, text, email, phone,
});

unknowns!(ConversationEvent {
    nested: employee;
    raw: ;
    stored: event_type, event_text, created_at, page,
});

unknowns!(Employee {
    nested: role;
    raw: ;
    stored: id, first_name, last_name, email, phone, state, is_active, is_deleted, chat_limit,
        departments, created_at, updated_at,
});

unknowns!(Role {
    nested: ;
    raw: ;
    stored: code, title,
});

unknowns!(Visitor {
    nested: ;
    raw: ;
    stored: id, name, nickname, email, phone, created_at, last_visit_at, last_ip,
        last_user_agent, last_city, last_country, visit_count, chat_count, call_count,
        lead_count, is_banned, banned_at, ban_reason, comment, visitor_variables,
});

unknowns!(Site {
    nested: ;
    raw: ;
    stored: id, url, created_at, updated_at, is_deleted,
});

unknowns!(Department {
    nested: ;
    raw: ;
    stored: id, title, created_at, updated_at, is_deleted,
});

/// `_extra` of a row: `u`'s unknown fields and its non-empty nested values, as a JSON
/// object with sorted keys at every level (`{}` when there is nothing).
pub(crate) fn extra_json<'b, U: Unknowns + ?Sized>(u: &U, buf: &'b mut String) -> &'b str {
    if u.is_empty() {
        return "{}";
    }
    buf.clear();
    write_object(u, buf);
    buf
}

/// One entry of an `_extra` object.
enum Entry<'x> {
    Unknown(&'x Value),
    Nested(Nested<'x>),
}

fn write_object<U: Unknowns + ?Sized>(u: &U, buf: &mut String) {
    let mut entries: Vec<(&str, Entry)> = u
        .own()
        .iter()
        .map(|(k, v)| (k.as_str(), Entry::Unknown(v)))
        .collect();
    u.nested(&mut |name, n| {
        let keep = match n {
            Nested::Object(o) => !o.is_empty(),
            Nested::Raw(_) => true,
        };
        if keep {
            entries.push((name, Entry::Nested(n)));
        }
    });
    // Sorted explicitly: serde_json's map order depends on a feature another crate may
    // enable. Unknown keys never equal a nested field's name (that name is a known key).
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    buf.push('{');
    for (i, (key, entry)) in entries.into_iter().enumerate() {
        if i > 0 {
            buf.push(',');
        }
        // Serializing a string or a Value to JSON cannot fail.
        buf.push_str(&serde_json::to_string(key).unwrap_or_default());
        buf.push(':');
        match entry {
            Entry::Unknown(v) => buf.push_str(&serde_json::to_string(v).unwrap_or_default()),
            Entry::Nested(Nested::Object(o)) => write_object(o, buf),
            Entry::Nested(Nested::Raw(text)) => buf.push_str(text),
        }
    }
    buf.push('}');
}
