//! Rendering: the conversation model and its children as the API sends them (dates,
//! quirks, drift), and the child timings the child-list index sorts by.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map, Value};

use super::generate::{Conv, Event, Msg, Sender};
use super::index::{ChildKind, ChildTimes};
use super::pools::Pools;
use super::rng::DAY;
use crate::time::{fmt_msk, fmt_msk_offset};
use crate::vocab::CITIES;

impl Pools {
    pub(super) fn employee_full(&self, i: usize, dt: &dyn Fn(i64) -> String) -> Value {
        let e = &self.employees[i];
        json!({
            "id": e.id, "first_name": e.first, "last_name": e.last, "email": e.email,
            "phone": e.phone, "role": {"code": e.role.0, "title": e.role.1},
            "state": e.state, "is_active": true, "is_deleted": false, "chat_limit": e.chat_limit,
            "departments": e.departments.iter().map(|&d| json!({"id": self.departments[d].id})).collect::<Vec<_>>(),
            "created_at": dt(e.created), "updated_at": dt(e.updated),
        })
    }

    pub(super) fn employee_ref(&self, i: usize) -> Value {
        let e = &self.employees[i];
        json!({"id": e.id, "first_name": e.first})
    }

    pub(super) fn employee_id(&self, i: usize) -> Value {
        json!({"id": self.employees[i].id})
    }
}

impl Conv {
    fn dt(&self) -> impl Fn(i64) -> String {
        let offset = self.quirks.offset_dates;
        move |t| {
            if offset {
                fmt_msk_offset(t)
            } else {
                fmt_msk(t)
            }
        }
    }

    fn num(&self, n: i64) -> Value {
        if self.quirks.numbers_as_strings {
            Value::String(n.to_string())
        } else {
            json!(n)
        }
    }

    fn message_total(&self) -> i64 {
        let n: i64 = self.chats.iter().map(|c| c.messages.len() as i64).sum();
        if self.quirks.count_mismatch {
            n + 1
        } else {
            n
        }
    }

    fn visitor_ref(&self) -> Value {
        json!({"id": self.visitor.uuid, "name": self.visitor.display_name()})
    }

    fn site_ref(&self, pools: &Pools) -> Value {
        let s = &pools.sites[self.site];
        json!({"id": s.id, "url": s.url})
    }

    fn dept_ref(&self, pools: &Pools, with_title: bool) -> Value {
        match self.department {
            Some(d) if with_title => {
                json!({"id": pools.departments[d].id, "title": pools.departments[d].title})
            }
            Some(d) => json!({"id": pools.departments[d].id}),
            None => Value::Null,
        }
    }

    fn render_event(&self, e: &Event, pools: &Pools) -> Value {
        let dt = self.dt();
        json!({
            "event_type": e.kind, "event_text": e.text, "created_at": dt(e.at),
            "employee": e.employee.map(|i| pools.employee_id(i)), "page": e.page,
        })
    }

    fn render_msg(&self, m: &Msg, pools: &Pools) -> Value {
        let dt = self.dt();
        let (visitor, employee) = match m.sender {
            Sender::Visitor => (json!({"id": self.visitor.uuid}), Value::Null),
            Sender::Employee(i) => (Value::Null, pools.employee_ref(i)),
            Sender::System => (Value::Null, Value::Null),
        };
        json!({"id": m.id, "created_at": dt(m.at), "text": m.text, "is_delivered": m.delivered,
               "visitor": visitor, "employee": employee})
    }

    /// Renders chat `k` (as inside the conversation).
    pub(crate) fn render_chat(&self, k: usize, pools: &Pools) -> Value {
        let c = &self.chats[k];
        let dt = self.dt();
        let msgs: Vec<Value> = c
            .messages
            .iter()
            .map(|m| self.render_msg(m, pools))
            .collect();
        // From the start to the last message or event; null `first_answer_time` while
        // nobody has answered (the warehouse counts answered chats by it).
        let duration = c.ended() - c.created;
        let result = c.result();
        let mut v = json!({
            "id": c.id, "created_at": dt(c.created), "updated_at": dt(c.updated),
            "result": result, "duration": self.num(duration), "queue_time": c.queue_time,
            "first_answer_time": c.first_answer_time(), "answer_time_avg": c.answer_time_avg,
            "message_count": c.messages.len(), "visitor_vote": c.vote,
            "is_closed": c.pending.is_none(), "is_contact_info_exist": c.contact,
            "rem_transfer": result.starts_with("transfer"), "rem_auto": result == "transfer_auto",
            "rem_empty": c.empty, "rem_long_answer": c.long_answer,
            "rem_lost_in_queue": c.answered.is_none(),
            "is_managed": false,
            "employee": pools.employee_ref(c.employee),
            "department": self.dept_ref(pools, true),
            "site": self.site_ref(pools),
            "visitor": self.visitor_ref(),
            "prechats_chat": c.prechats.iter().map(|(t, v)| json!({"title": t, "value": v})).collect::<Vec<_>>(),
            "prechats_hidden": [],
            "employee_remark": c.remark,
            "callback_url": c.callback_url,
            "visitor_variables": self.vars(),
        });
        // Large arrays are moved in after the macro: `json!` would deep-copy a `Value`.
        v["first_message"] = msgs.first().cloned().unwrap_or(Value::Null);
        v["messages"] = Value::Array(msgs);
        v["events"] = Value::Array(
            c.events
                .iter()
                .map(|e| self.render_event(e, pools))
                .collect(),
        );
        if self.quirks.unknown_fields {
            v["bot_session"] = json!({"bot_id": 3, "handoff": true, "intent": "delivery"});
        }
        v
    }

    fn vars(&self) -> Value {
        Value::Object(
            self.visitor_variables
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Value::String(v.clone())))
                .collect::<Map<String, Value>>(),
        )
    }

    /// Renders call `k`.
    pub(crate) fn render_call(&self, k: usize, pools: &Pools) -> Value {
        let c = &self.calls[k];
        let dt = self.dt();
        json!({
            "id": c.id, "created_at": dt(c.created), "updated_at": dt(c.updated),
            "is_incoming": c.incoming, "result": c.result, "duration": self.num(c.duration),
            "answer_time": c.answer_time,
            "recording": (c.result == "completed").then(|| format!("https://records.example.ru/{}.mp3", c.id)),
            "visitor_vote": "undefined", "employee_vote": Value::Null,
            "employee": pools.employee_ref(c.employee),
            "lead": c.lead.map(|id| json!({"id": id})),
            "department": self.dept_ref(pools, false), "site": {"id": pools.sites[self.site].id},
            "visitor": {"id": self.visitor.uuid},
            "page_count": self.page_count, "visit_count": self.visitor.visit_count,
            "ext_referer": self.ext_referer, "int_referer": self.int_referer,
            "search_engine": self.search.map(|s| s.0), "search_query": self.search.map(|s| s.1),
            "entry_page": self.entry_page,
            "rem_transfer": false, "rem_auto": false, "rem_empty": c.result == "missed",
            "rem_long_answer": false, "rem_lost_in_queue": false, "callback_url": Value::Null,
        })
    }

    /// Renders lead `k`.
    pub(crate) fn render_lead(&self, k: usize, pools: &Pools) -> Value {
        let l = &self.leads[k];
        let dt = self.dt();
        let (city, country, _) = CITIES[self.visitor.city];
        json!({
            "id": l.id, "created_at": dt(l.created), "updated_at": dt(l.updated), "type": l.kind,
            "result": if l.completed.is_some() { "completed" } else { "missed" },
            "name": self.visitor.display_name(), "email": self.visitor.email, "phone": self.visitor.phone,
            "text": l.text, "answer_text": l.completed.map(|c| c.2),
            "completed_at": l.completed.map(|c| dt(c.0)),
            "duration": l.completed.map(|c| self.num(c.0 - l.created)),
            "created_by": Value::Null, "assigned_to": pools.employee_id(l.assigned),
            "completed_by": l.completed.map(|c| pools.employee_id(c.1)),
            "locked_by": if l.locked { pools.employee_id(l.assigned) } else { Value::Null },
            "is_locked": l.locked,
            "department": self.dept_ref(pools, false), "site": {"id": pools.sites[self.site].id},
            "city": city, "country": country,
            "ext_referer": self.ext_referer, "int_referer": self.int_referer,
            "search_engine": self.search.map(|s| s.0), "search_query": self.search.map(|s| s.1),
            "entry_page": self.entry_page,
        })
    }

    /// Renders complaint `k`.
    pub(crate) fn render_complaint(&self, k: usize, pools: &Pools) -> Value {
        let c = &self.complaints[k];
        let dt = self.dt();
        json!({
            "id": c.id, "created_at": dt(c.created), "updated_at": dt(c.created), "text": c.text,
            "email": self.visitor.email, "phone": self.visitor.phone,
            "employee": c.employee.map(|i| pools.employee_id(i)),
            "department": self.dept_ref(pools, false), "site": {"id": pools.sites[self.site].id},
            "visitor": {"id": self.visitor.uuid},
        })
    }

    /// Timings of every child, for the child-list index (no rendering).
    pub(super) fn child_times(&self) -> ChildTimes {
        let pos = |k: usize| u32::try_from(k).unwrap_or(u32::MAX);
        let chats = self
            .chats
            .iter()
            .enumerate()
            .map(|(k, c)| (ChildKind::Chats.slot() as u8, pos(k), c.updated, c.created));
        let calls = self
            .calls
            .iter()
            .enumerate()
            .map(|(k, c)| (ChildKind::Calls.slot() as u8, pos(k), c.updated, c.created));
        let leads = self
            .leads
            .iter()
            .enumerate()
            .map(|(k, l)| (ChildKind::Leads.slot() as u8, pos(k), l.updated, l.created));
        // A complaint never changes: its updated_at is its created_at.
        let complaints = self.complaints.iter().enumerate().map(|(k, c)| {
            (
                ChildKind::Complaints.slot() as u8,
                pos(k),
                c.created,
                c.created,
            )
        });
        chats.chain(calls).chain(leads).chain(complaints).collect()
    }

    /// Renders child `position` of `kind`, if it exists.
    pub(crate) fn render_child(
        &self,
        kind: ChildKind,
        position: usize,
        pools: &Pools,
    ) -> Option<Value> {
        let exists = match kind {
            ChildKind::Chats => position < self.chats.len(),
            ChildKind::Calls => position < self.calls.len(),
            ChildKind::Leads => position < self.leads.len(),
            ChildKind::Complaints => position < self.complaints.len(),
        };
        exists.then(|| match kind {
            ChildKind::Chats => self.render_chat(position, pools),
            ChildKind::Calls => self.render_call(position, pools),
            ChildKind::Leads => self.render_lead(position, pools),
            ChildKind::Complaints => self.render_complaint(position, pools),
        })
    }

    /// Children of one kind with their `updated_at` (secs) and rendered JSON.
    #[cfg(test)]
    pub(crate) fn children(&self, kind: ChildKind, pools: &Pools) -> Vec<(i64, i64, Value)> {
        match kind {
            ChildKind::Chats => (0..self.chats.len())
                .map(|k| {
                    (
                        self.chats[k].updated,
                        self.chats[k].created,
                        self.render_chat(k, pools),
                    )
                })
                .collect(),
            ChildKind::Calls => (0..self.calls.len())
                .map(|k| {
                    (
                        self.calls[k].updated,
                        self.calls[k].created,
                        self.render_call(k, pools),
                    )
                })
                .collect(),
            ChildKind::Leads => (0..self.leads.len())
                .map(|k| {
                    (
                        self.leads[k].updated,
                        self.leads[k].created,
                        self.render_lead(k, pools),
                    )
                })
                .collect(),
            ChildKind::Complaints => (0..self.complaints.len())
                .map(|k| {
                    let c = &self.complaints[k];
                    (c.created, c.created, self.render_complaint(k, pools))
                })
                .collect(),
        }
    }

    /// Renders the whole conversation as the API sends it.
    pub(crate) fn render(&self, pools: &Pools) -> Value {
        let dt = self.dt();
        let q = self.quirks;
        let v = &self.visitor;
        let (city, country, _) = CITIES[v.city];
        let site = &pools.sites[self.site];
        let array = |items: Vec<Value>| {
            if items.is_empty() && q.null_arrays {
                Value::Null
            } else {
                Value::Array(items)
            }
        };
        let chats: Vec<Value> = (0..self.chats.len())
            .map(|k| self.render_chat(k, pools))
            .collect();
        let calls: Vec<Value> = (0..self.calls.len())
            .map(|k| self.render_call(k, pools))
            .collect();
        let events: Vec<Value> = self
            .events
            .iter()
            .map(|e| self.render_event(e, pools))
            .collect();
        let mut o = json!({
            "id": self.id,
            "created_at": dt(self.created),
            "updated_at": dt(self.updated),
            "result": self.result,
            "duration": self.num(self.duration),
            "page_count": self.page_count,
            "visit_count": v.visit_count,
            "chat_count": self.chats.len(),
            "call_count": self.calls.len(),
            "lead_count": self.leads.len(),
            "message_count": self.message_total(),
            "city": city,
            "country": country,
            "search_engine": self.search.map(|s| s.0),
            "search_query": self.search.map(|s| s.1),
            "ext_referer": self.ext_referer,
            "int_referer": self.int_referer,
            "entry_page": self.entry_page,
            "widget_type": self.widget_type,
            "widget_id": self.widget_id,
            "visitor_variables": self.vars(),
            "prechat_fields": Value::Object(
                self.chats.first().map(|c| c.prechats.iter()
                    .map(|(k, v)| ((*k).to_owned(), Value::String(v.clone()))).collect())
                    .unwrap_or_default()),
            "visitor": {
                "id": v.uuid, "name": v.display_name(), "nickname": v.nickname, "email": v.email,
                "phone": v.phone, "created_at": dt(v.created),
                "last_visit_at": dt((self.created - 60).max(v.created)), "last_ip": v.ip,
                "last_user_agent": v.ua, "last_city": city, "last_country": country,
                "visit_count": v.visit_count, "chat_count": v.chat_count, "call_count": v.call_count,
                "lead_count": v.lead_count, "is_banned": v.banned,
                "banned_at": v.banned.then(|| dt(v.created + DAY)),
                "ban_reason": v.banned.then_some("spam"),
                "comment": Value::Null,
                "visitor_variables": self.vars(),
            },
            "site": {"id": site.id, "url": site.url, "is_deleted": false,
                     "created_at": dt(site.created), "updated_at": dt(site.updated)},
            "department": match self.department {
                Some(d) => {
                    let d = &pools.departments[d];
                    json!({"id": d.id, "title": d.title, "is_deleted": false,
                           "created_at": dt(d.created), "updated_at": dt(d.updated)})
                }
                None if q.department_empty_array => json!([]),
                None => Value::Null,
            },
        });
        if let Some(map) = o.as_object_mut() {
            // Moved in after the macro: `json!` would deep-copy each nested `Value`.
            let employees = self
                .employees
                .iter()
                .map(|&i| pools.employee_full(i, &dt))
                .collect();
            map.insert("employees".to_owned(), Value::Array(employees));
            map.insert("chats".to_owned(), array(chats));
            map.insert("calls".to_owned(), array(calls));
            let leads = (0..self.leads.len())
                .map(|k| self.render_lead(k, pools))
                .collect();
            map.insert("leads".to_owned(), array(leads));
            let complaints = (0..self.complaints.len())
                .map(|k| self.render_complaint(k, pools))
                .collect();
            map.insert("complaints".to_owned(), array(complaints));
            map.insert("events".to_owned(), array(events));
        }
        if let Some(map) = o.as_object_mut() {
            if q.missing_optional {
                for k in [
                    "city",
                    "country",
                    "search_engine",
                    "search_query",
                    "widget_id",
                    "prechat_fields",
                ] {
                    map.remove(k);
                }
            }
            if q.unknown_fields {
                map.insert("channel_type".to_owned(), json!("whatsapp"));
            }
            if q.bad_record {
                // A conversation that cannot be versioned: the `_rejected` path.
                map.insert("updated_at".to_owned(), json!("31.02.2026 25:61"));
            }
        }
        if let Some(seed) = q.drift {
            crate::drift::apply(&mut o, &mut ChaCha8Rng::seed_from_u64(seed));
        }
        o
    }
}
