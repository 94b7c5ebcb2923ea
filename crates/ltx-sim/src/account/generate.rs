//! The conversation model and its generation: version 0 drawn from `(seed, id)` along the
//! conversation's timing plan (`timing`), then each later version or mutation applied as a
//! [`Change`]. No JSON here (see `render`).
//!
//! Invariants the renderer and the SLA truth rely on: a chat's first employee message is
//! at `answered` (nothing but visitor and system messages before it), `answered` never
//! moves once set, and a chat ends at its last message or event.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::pools::{Pools, Visitor};
use super::rng::{rng_for, S_CONTENT, S_DRIFT, S_QUIRK};
use super::timing::{ChatPlan, Plan};
use crate::vocab::*;

/// Deterministic per-conversation quirks (real-world data shapes).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Quirks {
    pub(super) offset_dates: bool,
    pub(super) numbers_as_strings: bool,
    pub(super) null_arrays: bool,
    pub(super) department_empty_array: bool,
    pub(super) missing_optional: bool,
    pub(super) unknown_fields: bool,
    pub(super) count_mismatch: bool,
    pub(super) bad_record: bool,
    /// The seed of this conversation's drift, when it has any.
    pub(super) drift: Option<u64>,
}

impl Quirks {
    pub(super) fn new(seed: u64, id: i64, bad_record_rate: f64, drift_rate: f64) -> Self {
        let mut r = rng_for(seed, id, S_QUIRK);
        Self {
            offset_dates: r.gen_bool(0.02),
            numbers_as_strings: r.gen_bool(0.02),
            null_arrays: r.gen_bool(0.02),
            department_empty_array: r.gen_bool(0.015),
            missing_optional: r.gen_bool(0.03),
            unknown_fields: r.gen_bool(0.02),
            count_mismatch: r.gen_bool(0.005),
            bad_record: r.gen::<f64>() < bad_record_rate,
            // Drawn last and from a stream of its own, so that turning it on changes no
            // other quirk of any conversation.
            drift: {
                let mut d = rng_for(seed, id, S_DRIFT);
                (drift_rate > 0.0 && d.gen::<f64>() < drift_rate).then(|| d.gen::<u64>())
            },
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Change {
    Append,
    DeleteMessage,
    DeleteChat,
    Vote,
    /// The planned answers and lead completions due at this version's instant.
    FollowUp,
    /// Child rows deleted, as operators and spam removal delete them (see
    /// `Conv::prune`; stamped by [`crate::SimHandle::prune`]).
    Prune,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Sender {
    Visitor,
    Employee(usize),
    System,
}

#[derive(Debug, Clone)]
pub(super) struct Msg {
    pub(super) id: i64,
    pub(super) at: i64,
    pub(super) text: String,
    pub(super) sender: Sender,
    pub(super) delivered: bool,
}

#[derive(Debug, Clone)]
pub(super) struct Event {
    pub(super) kind: &'static str,
    pub(super) text: String,
    pub(super) at: i64,
    pub(super) employee: Option<usize>,
    pub(super) page: Option<String>,
}

#[derive(Debug, Clone)]
pub(super) struct Chat {
    pub(super) id: i64,
    pub(super) created: i64,
    pub(super) updated: i64,
    pub(super) employee: usize,
    /// The result once answered (`missed`: meant never to be answered).
    pub(super) outcome: &'static str,
    /// The first employee message's time; `None` while nobody has answered.
    pub(super) answered: Option<i64>,
    /// When a later version answers it (the chat stays open until then).
    pub(super) pending: Option<i64>,
    pub(super) queue_time: i64,
    pub(super) answer_time_avg: i64,
    pub(super) vote: &'static str,
    pub(super) contact: bool,
    /// `rem_empty` (fewer than two messages when it was opened) and `rem_long_answer`.
    pub(super) empty: bool,
    pub(super) long_answer: bool,
    pub(super) remark: Option<&'static str>,
    pub(super) callback_url: Option<String>,
    pub(super) prechats: Vec<(&'static str, String)>,
    pub(super) messages: Vec<Msg>,
    pub(super) events: Vec<Event>,
}

impl Chat {
    /// The result as the API reports it: `missed` while nobody has answered.
    pub(super) fn result(&self) -> &'static str {
        match (self.answered, self.outcome) {
            (None, _) => "missed",
            (Some(_), "missed") => "completed",
            (Some(_), outcome) => outcome,
        }
    }

    /// Seconds from the chat's start to its first answer.
    pub(super) fn first_answer_time(&self) -> Option<i64> {
        self.answered.map(|at| at - self.created)
    }

    /// The chat's end: its last message or event (its start when it has neither).
    pub(super) fn ended(&self) -> i64 {
        let msgs = self.messages.iter().map(|m| m.at);
        let events = self.events.iter().map(|e| e.at);
        msgs.chain(events).fold(self.created, i64::max)
    }

    /// Position of the first employee message (the answer), if any.
    fn answer_position(&self) -> Option<usize> {
        self.messages
            .iter()
            .position(|m| matches!(m.sender, Sender::Employee(_)))
    }

    /// Positions of the messages a version may delete: never the first message (it is
    /// also `first_message`) nor the answer (the chat's `first_answer_time` stays what it
    /// was).
    fn spare_messages(&self) -> Vec<usize> {
        let keep = self.answer_position();
        (1..self.messages.len())
            .filter(|&k| Some(k) != keep)
            .collect()
    }
}

#[derive(Debug, Clone)]
pub(super) struct Call {
    pub(super) id: i64,
    pub(super) created: i64,
    pub(super) updated: i64,
    pub(super) employee: usize,
    pub(super) incoming: bool,
    pub(super) result: &'static str,
    pub(super) duration: i64,
    pub(super) answer_time: i64,
    pub(super) lead: Option<i64>,
}

#[derive(Debug, Clone)]
pub(super) struct Lead {
    pub(super) id: i64,
    pub(super) created: i64,
    pub(super) updated: i64,
    pub(super) kind: &'static str,
    pub(super) completed: Option<(i64, usize, &'static str)>,
    /// When a later version completes it.
    pub(super) due: Option<i64>,
    pub(super) assigned: usize,
    pub(super) locked: bool,
    pub(super) text: &'static str,
}

#[derive(Debug, Clone)]
pub(super) struct Complaint {
    pub(super) id: String,
    pub(super) created: i64,
    pub(super) employee: Option<usize>,
    pub(super) text: &'static str,
}

/// One conversation at one version, before rendering.
#[derive(Debug, Clone)]
pub(crate) struct Conv {
    pub(crate) id: i64,
    pub(super) created: i64,
    pub(crate) updated: i64,
    pub(super) visitor: Visitor,
    pub(super) site: usize,
    pub(super) department: Option<usize>,
    pub(super) result: &'static str,
    pub(super) duration: i64,
    pub(super) page_count: i64,
    pub(super) search: Option<(&'static str, &'static str)>,
    pub(super) ext_referer: Option<String>,
    pub(super) int_referer: String,
    pub(super) entry_page: String,
    pub(super) widget_type: &'static str,
    pub(super) widget_id: String,
    pub(super) visitor_variables: Vec<(&'static str, String)>,
    pub(super) employees: Vec<usize>,
    pub(super) chats: Vec<Chat>,
    pub(super) calls: Vec<Call>,
    pub(super) leads: Vec<Lead>,
    pub(super) complaints: Vec<Complaint>,
    pub(super) events: Vec<Event>,
    pub(super) quirks: Quirks,
    pub(super) msg_seq: i64,
    pub(super) chat_seq: i64,
}

fn pick<T: Copy>(rng: &mut ChaCha8Rng, xs: &[T]) -> T {
    xs[rng.gen_range(0..xs.len())]
}

fn message_text(rng: &mut ChaCha8Rng, visitor: bool) -> String {
    let pool = if visitor {
        VISITOR_PHRASES
    } else {
        EMPLOYEE_PHRASES
    };
    let mut s = pick(rng, pool).to_owned();
    if rng.gen_bool(0.25) {
        s.push(if rng.gen_bool(0.5) { '\n' } else { ' ' });
        s.push_str(pick(rng, pool));
    }
    let r: f64 = rng.gen();
    if r < 0.01 {
        s.push_str("\tсм. C:\\Users\\docs\\заказ.pdf");
    } else if r < 0.03 {
        s = format!("> {s}\n«цитата»");
    }
    s
}

impl Conv {
    /// Version 0: the conversation as it closed at `v0`.
    pub(super) fn base(
        seed: u64,
        id: i64,
        created: i64,
        v0: i64,
        pools: &Pools,
        bad_rate: f64,
        drift_rate: f64,
    ) -> Self {
        let mut rng = rng_for(seed, id, S_CONTENT);
        // Zipf-ish reuse: low visitor numbers come back often.
        let u: f64 = rng.gen();
        let vnum = ((pools.visitors as f64) * u * u * u) as u64;
        let visitor = Visitor::new(pools.seed, vnum);
        let site = rng.gen_range(0..pools.sites.len());
        let department = rng
            .gen_bool(0.9)
            .then(|| rng.gen_range(0..pools.departments.len()));
        let staff = pools.staff_of(department);
        let theme_page =
            |rng: &mut ChaCha8Rng| format!("{}{}", pools.sites[site].url, pick(rng, PAGES));
        let search = rng.gen_bool(0.45).then(|| {
            (
                pick(&mut rng, &["Yandex", "Google"]),
                pick(&mut rng, QUERIES),
            )
        });
        let ext_referer = match search {
            Some(("Google", q)) => Some(format!(
                "https://www.google.com/search?q={}",
                q.replace(' ', "+")
            )),
            Some((_, q)) => Some(format!(
                "https://yandex.ru/search/?text={}",
                q.replace(' ', "%20")
            )),
            None => rng.gen_bool(0.3).then(|| {
                pick(
                    &mut rng,
                    &[
                        "https://vk.com/away.php",
                        "https://t.me/",
                        "https://2gis.ru/",
                    ],
                )
                .to_owned()
            }),
        };
        let entry_page = theme_page(&mut rng);
        let int_referer = theme_page(&mut rng);
        let widget_type = pick(
            &mut rng,
            &[
                "button",
                "button",
                "button",
                "auto",
                "label",
                "invite",
                "api",
                "sound-button",
                "sound-label",
            ],
        );
        let widget_id = match widget_type {
            "invite" => pick(&mut rng, INVITES).to_owned(),
            "api" => String::new(),
            _ => format!("{}", 5_500 + rng.gen_range(0..40)),
        };
        let mut visitor_variables =
            vec![("client_id", format!("A-{}", rng.gen_range(10_000..99_999)))];
        if rng.gen_bool(0.5) {
            visitor_variables.push(("cart_total", format!("{}", rng.gen_range(500..150_000))));
        }
        if let Some((engine, _)) = search {
            visitor_variables.push(("utm_source", engine.to_lowercase()));
        }

        let plan = Plan::new(seed, id, created, v0);

        let mut conv = Conv {
            id,
            created,
            updated: v0,
            visitor,
            site,
            department,
            result: "success",
            duration: v0 - created,
            page_count: rng.gen_range(1..15),
            search,
            ext_referer,
            int_referer,
            entry_page: entry_page.clone(),
            widget_type,
            widget_id,
            visitor_variables,
            employees: Vec::new(),
            chats: Vec::new(),
            calls: Vec::new(),
            leads: Vec::new(),
            complaints: Vec::new(),
            events: Vec::new(),
            quirks: Quirks::new(seed, id, bad_rate, drift_rate),
            msg_seq: 0,
            chat_seq: 0,
        };
        conv.events.push(Event {
            kind: "vistor-navigate",
            text: "Посетитель перешёл на страницу".to_owned(),
            at: created,
            employee: None,
            page: Some(entry_page),
        });

        // The dialogues lie where the plan puts them inside [created, v0].
        for chat in &plan.chats {
            let emp = pick(&mut rng, &staff);
            conv.add_chat(&mut rng, emp, chat, pools);
        }
        for (k, &start) in plan.calls.iter().enumerate() {
            let emp = pick(&mut rng, &staff);
            conv.note_employee(emp);
            let duration = rng.gen_range(0..(plan.slot - 1).max(1)).min(1_800);
            let missed = rng.gen_bool(0.2);
            conv.calls.push(Call {
                id: id * 10 + k as i64,
                created: start,
                updated: start + duration,
                employee: emp,
                incoming: rng.gen_bool(0.7),
                result: if missed { "missed" } else { "completed" },
                duration: if missed { 0 } else { duration },
                answer_time: rng.gen_range(2..40),
                lead: None,
            });
            conv.events.push(Event {
                kind: "visitor-call-start",
                text: "Посетитель позвонил".to_owned(),
                at: start,
                employee: Some(emp),
                page: None,
            });
        }
        for (k, lead) in plan.leads.iter().enumerate() {
            let emp = pick(&mut rng, &staff);
            let completed = lead.done.map(|at| (at, emp, pick(&mut rng, LEAD_ANSWERS)));
            if completed.is_some() {
                conv.note_employee(emp);
            }
            let lead_id = id * 10 + k as i64;
            if let Some(call) = conv.calls.first_mut() {
                if !call.incoming {
                    call.lead = Some(lead_id);
                }
            }
            conv.leads.push(Lead {
                id: lead_id,
                created: lead.from,
                updated: lead.done.unwrap_or(lead.from),
                kind: pick(&mut rng, &["form", "callback"]),
                completed,
                due: lead.due,
                assigned: emp,
                locked: rng.gen_bool(0.05),
                text: pick(&mut rng, LEAD_TEXTS),
            });
        }
        for k in 0..plan.complaints {
            // Half at the very end (usually after the last employee action: nobody acts
            // on it unless a later version does), half anywhere in the conversation.
            let at = if rng.gen_bool(0.5) {
                v0 - 1
            } else {
                created + rng.gen_range(0..(v0 - created).max(1))
            };
            conv.complaints.push(Complaint {
                id: format!("cmp-{id}-{k}"),
                created: at.max(created),
                employee: conv.employees.first().copied(),
                text: pick(&mut rng, COMPLAINTS),
            });
        }
        if conv.chats.iter().all(|c| c.answered.is_none())
            && conv.calls.iter().all(|c| c.result == "missed")
        {
            conv.result = "failure";
        }
        conv.events.sort_by_key(|e| e.at);
        conv
    }

    fn note_employee(&mut self, emp: usize) {
        if !self.employees.contains(&emp) {
            self.employees.push(emp);
        }
    }

    fn next_msg_id(&mut self) -> i64 {
        self.msg_seq += 1;
        self.id * 10_000 + self.msg_seq
    }

    /// A message of `sender` at `at`, with its text.
    fn message(&mut self, rng: &mut ChaCha8Rng, sender: Sender, at: i64) -> Msg {
        let text = match sender {
            Sender::System => "Чат передан другому оператору".to_owned(),
            Sender::Visitor => message_text(rng, true),
            Sender::Employee(_) => message_text(rng, false),
        };
        Msg {
            id: self.next_msg_id(),
            at,
            text,
            sender,
            delivered: rng.gen_bool(0.97),
        }
    }

    /// Adds a chat as `plan` times it: the visitor writes first; the employee's first
    /// message is the answer (when it lies inside this version), the dialogue goes on
    /// until the slot's end (or the answer, when that is later); the close event ends it,
    /// unless the chat waits open for a later version's answer.
    fn add_chat(&mut self, rng: &mut ChaCha8Rng, emp: usize, plan: &ChatPlan, pools: &Pools) {
        let from = plan.from;
        let end = plan.answer.map_or(plan.to, |a| plan.to.max(a)).max(from);
        let n_msgs: usize = match rng.gen_range(0..100) {
            0..=14 => rng.gen_range(1..=2),
            15..=89 => rng.gen_range(3..=12),
            _ => rng.gen_range(13..=50),
        };
        self.note_employee(emp);
        let chat_id = self.id * 10 + self.chat_seq;
        self.chat_seq += 1;
        let mut messages = Vec::with_capacity(n_msgs.max(2));
        let first = self.message(rng, Sender::Visitor, from);
        messages.push(first);
        match plan.answer {
            None => {
                // Nobody answers (yet): the visitor writes once or twice more, at most.
                let n = n_msgs.min(3) - 1;
                let step = (end - from) / (n as i64 + 1);
                let mut t = from;
                for _ in 0..n {
                    t += if step > 0 { rng.gen_range(0..=step) } else { 0 };
                    let m = self.message(rng, Sender::Visitor, t.min(end));
                    messages.push(m);
                }
            }
            Some(a) => {
                let mut before = 1;
                if n_msgs >= 3 && a - from >= 2 && rng.gen_bool(0.3) {
                    let at = rng.gen_range(from + 1..a);
                    let m = self.message(rng, Sender::Visitor, at);
                    messages.push(m);
                    before += 1;
                }
                let answer = self.message(rng, Sender::Employee(emp), a);
                messages.push(answer);
                let rest = n_msgs.saturating_sub(before + 1);
                let step = (end - a) / rest.max(1) as i64;
                let mut t = a;
                for k in 0..rest {
                    t += if step > 0 { rng.gen_range(0..=step) } else { 0 };
                    let sender = if rng.gen_bool(0.03) {
                        Sender::System
                    } else if k % 2 == 0 {
                        Sender::Visitor
                    } else {
                        Sender::Employee(emp)
                    };
                    let m = self.message(rng, sender, t.min(end));
                    messages.push(m);
                }
            }
        }
        let name = self.visitor.display_name().to_owned();
        let e = &pools.employees[emp];
        let open = Event {
            kind: "visitor-chat-open",
            text: format!(
                "{name} начал(а) переписку с оператором {} {}",
                e.first, e.last
            ),
            at: from,
            employee: Some(emp),
            page: None,
        };
        let mut chat_events = vec![open.clone()];
        self.events.push(open);
        if rng.gen_bool(0.05) {
            let ev = Event {
                kind: FILE_UPLOAD,
                text: "Посетитель отправил файл photo.jpg".to_owned(),
                at: (from + 1).min(end),
                employee: None,
                page: None,
            };
            chat_events.push(ev.clone());
            self.events.push(ev);
        }
        if plan.pending.is_none() {
            let close = close_event(end);
            chat_events.push(close.clone());
            self.events.push(close);
        }
        let mut prechats = Vec::new();
        if let Some(n) = self.visitor.name {
            prechats.push(("Имя", n.to_owned()));
        }
        if let Some(p) = &self.visitor.phone {
            if rng.gen_bool(0.5) {
                prechats.push(("Телефон", p.clone()));
            }
        }
        let queue_time = rng.gen_range(0..60);
        self.chats.push(Chat {
            id: chat_id,
            created: from,
            updated: end,
            employee: emp,
            outcome: plan.outcome,
            answered: plan.answer,
            pending: plan.pending,
            // In the queue no longer than until the answer.
            queue_time: plan.answer.map_or(queue_time, |a| queue_time.min(a - from)),
            answer_time_avg: rng.gen_range(10..120),
            vote: pick(
                rng,
                &[
                    "undefined",
                    "undefined",
                    "undefined",
                    "positive",
                    "negative",
                ],
            ),
            contact: self.visitor.phone.is_some() || self.visitor.email.is_some(),
            empty: messages.len() < 2,
            long_answer: rng.gen_bool(0.05),
            remark: rng.gen_bool(0.05).then_some("Клиент просил перезвонить"),
            callback_url: rng
                .gen_bool(0.02)
                .then(|| format!("https://crm.example.ru/hooks/livetex/{chat_id}")),
            prechats,
            messages,
            events: chat_events,
        });
    }

    /// Whether a planned answer or lead completion is due at `t` (a follow-up version).
    pub(super) fn follow_up_at(&self, t: i64) -> bool {
        self.chats.iter().any(|c| c.pending == Some(t))
            || self.leads.iter().any(|l| l.due == Some(t))
    }

    pub(super) fn apply(&mut self, change: Change, t: i64, rng: &mut ChaCha8Rng, pools: &Pools) {
        let done = match change {
            Change::Append => false,
            Change::FollowUp => self.follow_up(t, rng),
            Change::Prune => self.prune(t, rng),
            Change::DeleteMessage => {
                let mut done = false;
                for chat in &mut self.chats {
                    let candidates = chat.spare_messages();
                    if candidates.is_empty() {
                        continue;
                    }
                    let k = candidates[rng.gen_range(0..candidates.len())];
                    chat.messages.remove(k);
                    chat.updated = t;
                    done = true;
                    break;
                }
                done
            }
            Change::DeleteChat => {
                // Only when another chat remains, so discovery through /chats still sees
                // the conversation change (the remaining chats are touched).
                if self.chats.len() >= 2 {
                    let k = rng.gen_range(0..self.chats.len());
                    self.chats.remove(k);
                    for c in &mut self.chats {
                        c.updated = t;
                    }
                    true
                } else {
                    false
                }
            }
            Change::Vote => {
                if let Some(chat) = self.chats.iter_mut().rev().find(|c| c.vote == "undefined") {
                    chat.vote = pick(rng, &["positive", "negative"]);
                    chat.updated = t;
                    true
                } else {
                    false
                }
            }
        };
        if !done {
            self.append(t, rng, pools);
        }
        self.updated = t;
    }

    /// Whether [`Change::Prune`] finds something to delete in this state.
    pub(super) fn can_prune(&self) -> bool {
        self.chats.iter().any(|c| !c.spare_messages().is_empty()) || !self.prune_extras().is_empty()
    }

    /// What a prune may delete besides messages: a whole chat while another remains, a
    /// lead while another child that changes (chat, call, lead) remains, an uploaded
    /// file's event. Each leaves something to carry the new version, so discovery through
    /// the child lists still sees the conversation change.
    fn prune_extras(&self) -> Vec<Extra> {
        let changing = self.chats.len() + self.calls.len() + self.leads.len();
        let mut out = Vec::new();
        if self.chats.len() >= 2 {
            out.push(Extra::Chat);
        }
        if !self.leads.is_empty() && changing >= 2 {
            out.push(Extra::Lead);
        }
        if self.events.iter().any(|e| e.kind == FILE_UPLOAD) {
            out.push(Extra::FileEvent);
        }
        out
    }

    /// Deletes child rows at `t`: one or two spare messages of every chat (see
    /// `Chat::spare_messages`), and half the time (always when no message could go) one of
    /// [`Conv::prune_extras`]. A remaining chat (else lead, else call) carries version `t`.
    /// False if nothing could go (the caller appends instead).
    fn prune(&mut self, t: i64, rng: &mut ChaCha8Rng) -> bool {
        let mut done = false;
        for chat in &mut self.chats {
            for _ in 0..rng.gen_range(1..=2) {
                let candidates = chat.spare_messages();
                if candidates.is_empty() {
                    break;
                }
                chat.messages
                    .remove(candidates[rng.gen_range(0..candidates.len())]);
                chat.updated = t;
                done = true;
            }
        }
        let extras = self.prune_extras();
        if !extras.is_empty() && (!done || rng.gen_bool(0.5)) {
            match extras[rng.gen_range(0..extras.len())] {
                Extra::Chat => {
                    self.chats.remove(rng.gen_range(0..self.chats.len()));
                }
                Extra::Lead => {
                    let lead = self.leads.remove(rng.gen_range(0..self.leads.len()));
                    // Its calls no longer point at it.
                    for call in &mut self.calls {
                        if call.lead == Some(lead.id) {
                            call.lead = None;
                        }
                    }
                }
                Extra::FileEvent => {
                    // Spam removal: the file goes from the conversation's and its chat's
                    // events.
                    if let Some(k) = self.events.iter().position(|e| e.kind == FILE_UPLOAD) {
                        let e = self.events.remove(k);
                        for chat in &mut self.chats {
                            if let Some(j) = chat
                                .events
                                .iter()
                                .position(|x| x.kind == FILE_UPLOAD && x.at == e.at)
                            {
                                chat.events.remove(j);
                                chat.updated = t;
                                break;
                            }
                        }
                    }
                }
            }
            done = true;
        }
        if done {
            let carried = self.chats.iter().any(|c| c.updated == t)
                || self.leads.iter().any(|l| l.updated == t)
                || self.calls.iter().any(|c| c.updated == t);
            if !carried {
                if let Some(c) = self.chats.last_mut() {
                    c.updated = t;
                } else if let Some(l) = self.leads.last_mut() {
                    l.updated = t;
                } else if let Some(c) = self.calls.last_mut() {
                    c.updated = t;
                }
            }
        }
        done
    }

    /// The answers and completions planned for `t`: each waiting chat gets its first
    /// employee message and is closed; each due lead is completed. False if none was due
    /// any more (an earlier version answered the chat, or deleted it).
    fn follow_up(&mut self, t: i64, rng: &mut ChaCha8Rng) -> bool {
        let mut done = false;
        for k in 0..self.chats.len() {
            if self.chats[k].pending != Some(t) {
                continue;
            }
            let emp = self.chats[k].employee;
            let answer = self.message(rng, Sender::Employee(emp), t);
            let close = close_event(t);
            self.events.push(close.clone());
            let chat = &mut self.chats[k];
            chat.messages.push(answer);
            chat.events.push(close);
            chat.answered = Some(t);
            chat.pending = None;
            chat.updated = t;
            self.note_employee(emp);
            done = true;
        }
        for k in 0..self.leads.len() {
            if self.leads[k].due != Some(t) {
                continue;
            }
            let emp = self.leads[k].assigned;
            let lead = &mut self.leads[k];
            lead.completed = Some((t, emp, pick(rng, LEAD_ANSWERS)));
            lead.due = None;
            lead.updated = t;
            self.note_employee(emp);
            done = true;
        }
        done
    }

    /// The visitor writes again: 1–3 messages in the last chat (a new chat if none), the
    /// employee replying in the same second. Only in a chat somebody has answered: the
    /// first answer of a chat is the timing plan's, never an append's (a chat waiting for
    /// the morning gets the visitor's messages and still its planned answer).
    fn append(&mut self, t: i64, rng: &mut ChaCha8Rng, pools: &Pools) {
        if self.chats.is_empty() || self.chat_seq >= 10 {
            if self.chat_seq < 10 {
                let staff = pools.staff_of(self.department);
                let emp = pick(rng, &staff);
                // A new chat; nobody answers it (no version is planned for that).
                let plan = ChatPlan {
                    from: t,
                    to: t,
                    outcome: "completed",
                    answer: None,
                    pending: None,
                };
                self.add_chat(rng, emp, &plan, pools);
                return;
            }
            if self.chats.is_empty() {
                return;
            }
        }
        let n = rng.gen_range(1..=3);
        let mut new = Vec::with_capacity(n);
        let emp = self.chats.last().map(|c| c.employee).unwrap_or(0);
        let answered = self.chats.last().is_some_and(|c| c.answered.is_some());
        for k in 0..n {
            let sender = if k % 2 == 0 || !answered {
                Sender::Visitor
            } else {
                Sender::Employee(emp)
            };
            let id = self.next_msg_id();
            new.push(Msg {
                id,
                at: t,
                text: message_text(rng, sender == Sender::Visitor),
                sender,
                delivered: true,
            });
        }
        if let Some(chat) = self.chats.last_mut() {
            chat.messages.extend(new);
            chat.updated = t;
        }
    }
}

/// What a prune deletes besides messages (see `Conv::prune_extras`).
#[derive(Debug, Clone, Copy)]
enum Extra {
    Chat,
    Lead,
    FileEvent,
}

/// The kind of the event a visitor's file upload leaves.
const FILE_UPLOAD: &str = "file-upload";

/// The visitor closing a chat at `at`.
fn close_event(at: i64) -> Event {
    Event {
        kind: "visitor-chat-close",
        text: "Посетитель закрыл чат".to_owned(),
        at,
        employee: None,
        page: None,
    }
}
