//! Property tests of the normalization invariants over generated conversations:
//! rows per child table equal the array lengths, keys are unique, positions are 0..n,
//! every child joins back to its conversation, nothing is dropped, whatever the
//! batch size and however the API spells numbers, booleans and empty values.
#![allow(clippy::unwrap_used)]

mod common;

use proptest::prelude::*;
use serde_json::{json, Value};

/// The shape of one generated conversation; ids are assigned when rendering.
#[derive(Debug, Clone)]
struct Shape {
    month: u32,
    day: u32,
    chats: Vec<usize>,
    calls: usize,
    leads: usize,
    complaints: usize,
    employees: usize,
    events: usize,
    /// Spell numbers as strings and booleans as 0/1.
    stringly: bool,
    /// Send `null` instead of `[]` for empty arrays, `[]` for missing objects.
    php_empties: bool,
    with_unknown: bool,
    counters_right: bool,
}

fn shape() -> impl Strategy<Value = Shape> {
    (
        (
            1u32..=12,
            1u32..=28,
            prop::collection::vec(0usize..5, 0..4),
            0usize..3,
            0usize..3,
        ),
        (
            0usize..3,
            0usize..4,
            0usize..5,
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (month, day, chats, calls, leads),
                (complaints, employees, events, stringly, php, unknown, right),
            )| Shape {
                month,
                day,
                chats,
                calls,
                leads,
                complaints,
                employees,
                events,
                stringly,
                php_empties: php,
                with_unknown: unknown,
                counters_right: right,
            },
        )
}

struct Ids(i64);
impl Ids {
    fn next(&mut self) -> i64 {
        self.0 += 1;
        self.0
    }
}

fn num(stringly: bool, n: i64) -> Value {
    if stringly {
        json!(n.to_string())
    } else {
        json!(n)
    }
}

fn array(s: &Shape, items: Vec<Value>) -> Value {
    if items.is_empty() && s.php_empties {
        Value::Null
    } else {
        Value::Array(items)
    }
}

fn render(s: &Shape, conv_id: i64, ids: &mut Ids) -> Value {
    let at = |h: u32| format!("2025-{:02}-{:02}T{:02}:15:00", s.month, s.day, h);
    let flag = |b: bool| {
        if s.stringly {
            json!(u8::from(b))
        } else {
            json!(b)
        }
    };
    let visitor = json!({"id": format!("v-{conv_id}"), "name": "Имя", "email": "v@example.ru"});
    let employee = |id: i64| json!({"id": id, "first_name": "Оператор", "role": {"code": "operator", "title": "Оператор"}});
    let chats: Vec<Value> = s
        .chats
        .iter()
        .map(|&n| {
            let messages: Vec<Value> = (0..n)
                .map(|i| {
                    let sender = if i % 2 == 0 { json!({"visitor": {"id": format!("v-{conv_id}")}}) } else { json!({"employee": {"id": 7}}) };
                    let mut m = json!({"id": ids.next(), "created_at": at(10), "text": "привет", "is_delivered": flag(true)});
                    m.as_object_mut().unwrap().extend(sender.as_object().unwrap().clone());
                    m
                })
                .collect();
            json!({"id": num(s.stringly, ids.next()), "created_at": at(10), "message_count": n, "is_closed": flag(true),
                   "employee": employee(7), "messages": array(s, messages)})
        })
        .collect();
    let total: usize = s.chats.iter().sum();
    let skew = i64::from(!s.counters_right);
    let mut v = json!({
        "id": num(s.stringly, conv_id),
        "created_at": at(9),
        "updated_at": at(11),
        "visitor": if s.php_empties { json!([]) } else { visitor },
        "site": {"id": 1, "url": "https://example.ru"},
        "chat_count": s.chats.len() as i64 + skew,
        "message_count": num(s.stringly, total as i64),
        "call_count": s.calls,
        "lead_count": s.leads,
        "chats": array(s, chats),
        "calls": array(s, (0..s.calls).map(|_| json!({"id": ids.next(), "is_incoming": flag(false), "duration": num(s.stringly, 30)})).collect()),
        "leads": array(s, (0..s.leads).map(|_| json!({"id": ids.next(), "type": "form", "name": "Имя"})).collect()),
        "complaints": array(s, (0..s.complaints).map(|_| json!({"id": format!("c{}", ids.next()), "text": "жалоба"})).collect()),
        "employees": array(s, (0..s.employees).map(|_| employee(ids.next())).collect()),
        "events": array(s, (0..s.events).map(|_| json!({"event_type": "visitor-chat-open", "created_at": at(10)})).collect()),
    });
    if s.with_unknown {
        v["brand_new_field"] = json!({"x": 1});
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn normalization_invariants(shapes in prop::collection::vec(shape(), 1..12), batch_rows in 1usize..8) {
        let mut ids = Ids(1_000_000);
        let values: Vec<Value> = shapes.iter().enumerate().map(|(i, s)| render(s, 10 + i as i64, &mut ids)).collect();
        let raws: Vec<String> = values.iter().map(Value::to_string).collect();
        let (batches, stats) = common::run(common::config(batch_rows), raws.iter().map(String::as_str));
        prop_assert_eq!(stats.rejected, 0);
        prop_assert_eq!(stats.conversations, shapes.len() as u64);
        prop_assert!(batches.iter().all(|b| b.batch.num_rows() <= batch_rows));
        common::check_invariants(&batches, &values);
        // One chat_count issue per conversation sent with a wrong counter, and no others.
        let wrong = shapes.iter().filter(|s| !s.counters_right).count() as u64;
        prop_assert_eq!(stats.quality_issues["chat_count"], wrong);
        prop_assert_eq!(stats.quality_issues["message_count"], 0);
        prop_assert_eq!(stats.quality_issues["chat_message_count"], 0);
        // Unknown fields are kept, never dropped.
        let with_unknown = shapes.iter().filter(|s| s.with_unknown).count();
        let extras = common::col(&common::table(&batches, ltx_transform::Table::Conversations), "_extra");
        prop_assert_eq!(extras.iter().filter(|e| e.contains("brand_new_field")).count(), with_unknown);
    }
}
