//! Dimension snapshots: `employees`, `visitors`, `sites`, `departments`.
//!
//! One row per (conversation, entity) from the FULL objects of the conversation
//! (`visitor`, `site`, `department`, `employees[]`), never from the abbreviated
//! references nested in chats or messages (those would overwrite attributes with nulls).
//! The loader's view keeps the row with the latest `_source_updated_at` per key.

use ltx_model::{Conversation, Employee};
use serde_json::Value;

use crate::common::{push_lineage, raw, table_builder, ts, Ctx, PiiClass, Scratch};

table_builder! {
    /// Builders of the `employees` table.
    EmployeesBuilder {
        employee_id: i64, first_name: str, last_name: str, email: str, phone: str,
        role_code: str, role_title: str, state: str, is_active: bool, is_deleted: bool,
        chat_limit: i64, department_ids: str, created_at: ts, updated_at: ts,
        _seen_in_conversation_id: i64,
        _extra: str, _source_updated_at: ts, _synced_at: ts, _run_id: str,
    }
}

table_builder! {
    /// Builders of the `visitors` table.
    VisitorsBuilder {
        visitor_id: str, name: str, nickname: str, email: str, phone: str, created_at: ts,
        last_visit_at: ts, last_ip: str, last_user_agent: str, last_city: str,
        last_country: str, visit_count: i64, chat_count: i64, call_count: i64, lead_count: i64,
        is_banned: bool, banned_at: ts, ban_reason: str, comment: str, visitor_variables: str,
        _seen_in_conversation_id: i64,
        _extra: str, _source_updated_at: ts, _synced_at: ts, _run_id: str,
    }
}

table_builder! {
    /// Builders of the `sites` table.
    SitesBuilder {
        site_id: i64, url: str, created_at: ts, updated_at: ts, is_deleted: bool,
        _seen_in_conversation_id: i64,
        _extra: str, _source_updated_at: ts, _synced_at: ts, _run_id: str,
    }
}

table_builder! {
    /// Builders of the `departments` table.
    DepartmentsBuilder {
        department_id: i64, title: str, created_at: ts, updated_at: ts, is_deleted: bool,
        _seen_in_conversation_id: i64,
        _extra: str, _source_updated_at: ts, _synced_at: ts, _run_id: str,
    }
}

/// `departments` of an employee as a JSON array of ids: objects (`{"id": 302, ...}`) are
/// reduced to their id, anything else is kept; a non-array is kept as sent.
fn department_ids(e: &Employee) -> Option<String> {
    let text = raw(&e.departments)?;
    Some(simple_ids(text).unwrap_or_else(|| ids_of_value(text)))
}

/// The usual shape, `[{"id": 302, ...}, ...]` with an integer `id` in every object, read
/// without building a `Value` per item; `None` for anything else (then [`ids_of_value`]
/// decides, so the result is the same either way).
fn simple_ids(text: &str) -> Option<String> {
    use serde::de::{Deserializer as _, IgnoredAny, MapAccess, SeqAccess, Visitor};

    struct Ids;
    impl<'de> Visitor<'de> for Ids {
        type Value = String;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an array of objects with an integer id")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<String, A::Error> {
            let mut out = String::from("[");
            while let Some(IdOf(id)) = seq.next_element()? {
                if out.len() > 1 {
                    out.push(',');
                }
                out.push_str(&id.to_string());
            }
            out.push(']');
            Ok(out)
        }
    }

    /// An object's integer `id`; exactly one `id` key, written without escapes.
    struct IdOf(i64);
    impl<'de> serde::Deserialize<'de> for IdOf {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_map(IdOfVisitor)
        }
    }
    struct IdOfVisitor;
    impl<'de> Visitor<'de> for IdOfVisitor {
        type Value = IdOf;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object with an integer id")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<IdOf, A::Error> {
            let mut id = None;
            // A key with escapes fails as a borrowed `&str`: the general path takes it.
            while let Some(key) = map.next_key::<&str>()? {
                if key != "id" {
                    map.next_value::<IgnoredAny>()?;
                } else if id.is_some() {
                    return Err(serde::de::Error::custom("duplicate id"));
                } else {
                    // An i64 prints as `Value` prints it; floats and huge u64 fail here.
                    id = Some(map.next_value::<i64>()?);
                }
            }
            id.map(IdOf)
                .ok_or_else(|| serde::de::Error::custom("no id"))
        }
    }

    let mut de = serde_json::Deserializer::from_str(text);
    let ids = (&mut de).deserialize_seq(Ids).ok()?;
    de.end().ok()?;
    Some(ids)
}

/// `departments` through a `Value`: any shape.
fn ids_of_value(text: &str) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => {
            let ids: Vec<Value> = items
                .into_iter()
                .map(|item| match item {
                    Value::Object(mut o) => o.remove("id").unwrap_or(Value::Object(o)),
                    other => other,
                })
                .collect();
            Value::Array(ids).to_string()
        }
        _ => text.to_owned(),
    }
}

impl EmployeesBuilder {
    /// Appends one snapshot row per employee of `conversation.employees`; returns rows added.
    pub(crate) fn append(&mut self, ctx: &Ctx, s: &mut Scratch, c: &Conversation) -> usize {
        for e in &c.employees {
            self.employee_id.append_value(e.id);
            self.first_name.append_option(e.first_name.as_deref());
            self.last_name.append_option(e.last_name.as_deref());
            self.email
                .append_option(s.pii(PiiClass::Emails, e.email.as_deref()));
            self.phone
                .append_option(s.pii(PiiClass::Phones, e.phone.as_deref()));
            let role = e.role.as_ref();
            self.role_code
                .append_option(role.and_then(|r| r.code.as_deref()));
            self.role_title
                .append_option(role.and_then(|r| r.title.as_deref()));
            self.state.append_option(e.state.as_deref());
            self.is_active.append_option(e.is_active);
            self.is_deleted.append_option(e.is_deleted);
            self.chat_limit.append_option(e.chat_limit);
            self.department_ids.append_option(department_ids(e));
            self.created_at.append_option(ts(e.created_at));
            self.updated_at.append_option(ts(e.updated_at));
            self._seen_in_conversation_id
                .append_value(ctx.conversation_id);
            // Unknown role fields are kept too, under "role" (see `unknown`).
            push_lineage!(self, ctx, s, e);
        }
        c.employees.len()
    }
}

impl VisitorsBuilder {
    /// Appends the conversation's visitor, if any; returns rows added.
    pub(crate) fn append(&mut self, ctx: &Ctx, s: &mut Scratch, c: &Conversation) -> usize {
        let Some(v) = &c.visitor else { return 0 };
        self.visitor_id.append_value(&v.id);
        self.name
            .append_option(s.pii(PiiClass::Names, v.name.as_deref()));
        self.nickname
            .append_option(s.pii(PiiClass::Names, v.nickname.as_deref()));
        self.email
            .append_option(s.pii(PiiClass::Emails, v.email.as_deref()));
        self.phone
            .append_option(s.pii(PiiClass::Phones, v.phone.as_deref()));
        self.created_at.append_option(ts(v.created_at));
        self.last_visit_at.append_option(ts(v.last_visit_at));
        self.last_ip
            .append_option(s.pii(PiiClass::Ips, v.last_ip.as_deref()));
        self.last_user_agent
            .append_option(v.last_user_agent.as_deref());
        self.last_city.append_option(v.last_city.as_deref());
        self.last_country.append_option(v.last_country.as_deref());
        self.visit_count.append_option(v.visit_count);
        self.chat_count.append_option(v.chat_count);
        self.call_count.append_option(v.call_count);
        self.lead_count.append_option(v.lead_count);
        self.is_banned.append_option(v.is_banned);
        self.banned_at.append_option(ts(v.banned_at));
        self.ban_reason
            .append_option(s.pii(PiiClass::MessageTexts, v.ban_reason.as_deref()));
        self.comment
            .append_option(s.pii(PiiClass::MessageTexts, v.comment.as_deref()));
        self.visitor_variables
            .append_option(s.form(raw(&v.visitor_variables)));
        self._seen_in_conversation_id
            .append_value(ctx.conversation_id);
        push_lineage!(self, ctx, s, v);
        1
    }
}

impl SitesBuilder {
    /// Appends the conversation's site, if any; returns rows added.
    pub(crate) fn append(&mut self, ctx: &Ctx, s: &mut Scratch, c: &Conversation) -> usize {
        let Some(x) = &c.site else { return 0 };
        self.site_id.append_value(x.id);
        self.url.append_option(x.url.as_deref());
        self.created_at.append_option(ts(x.created_at));
        self.updated_at.append_option(ts(x.updated_at));
        self.is_deleted.append_option(x.is_deleted);
        self._seen_in_conversation_id
            .append_value(ctx.conversation_id);
        push_lineage!(self, ctx, s, x);
        1
    }
}

impl DepartmentsBuilder {
    /// Appends the conversation's department, if any; returns rows added.
    pub(crate) fn append(&mut self, ctx: &Ctx, s: &mut Scratch, c: &Conversation) -> usize {
        let Some(x) = &c.department else { return 0 };
        self.department_id.append_value(x.id);
        self.title.append_option(x.title.as_deref());
        self.created_at.append_option(ts(x.created_at));
        self.updated_at.append_option(ts(x.updated_at));
        self.is_deleted.append_option(x.is_deleted);
        self._seen_in_conversation_id
            .append_value(ctx.conversation_id);
        push_lineage!(self, ctx, s, x);
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_ids_agree_with_the_value_path() {
        let fast = [
            "[]",
            " [ ] ",
            r#"[{"id":302}]"#,
            r#"[{"id": 302, "title": "Продажи", "nested": {"id": 1}}, {"x": [1], "id": 7}]"#,
            r#"[{"id":-5},{"id":9223372036854775807}]"#,
        ];
        for text in fast {
            assert_eq!(simple_ids(text), Some(ids_of_value(text)), "{text}");
        }
        let general = [
            r#"[{"id":18446744073709551615}]"#,
            r#"[{"id":302.0}]"#,
            r#"[{"id":"302"}]"#,
            r#"[{"id":1,"id":2}]"#,
            r#"[{"\u0069d":3}]"#,
            r#"[{"title":"no id"}]"#,
            "[302, 303]",
            r#"[{"id":1}, 2]"#,
            r#"{"id":1}"#,
            "null",
            "302",
        ];
        for text in general {
            assert_eq!(simple_ids(text), None, "{text}");
        }
    }
}
