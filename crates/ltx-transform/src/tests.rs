//! Unit tests of the transformer: per-table semantics, tolerance end to end, PII,
//! reconciliation, rejected records, partitioning and batch splitting.
#![allow(clippy::unwrap_used)]

use arrow::array::{Array, BooleanArray, Int64Array, StringArray, TimestampMicrosecondArray};
use arrow::compute::concat_batches;
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Utc};
use ltx_model::Conversation;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::{
    PiiAction, PiiPolicy, Table, TableBatch, TransformConfig, TransformStats, Transformer,
};

const EXAMPLE: &str = include_str!("../tests/fixtures/conversation.json");

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn config() -> TransformConfig {
    TransformConfig::new("run-1", utc("2026-04-02T10:00:00Z"))
}

/// A personal-data policy salted with "pepper": names, emails, phones, ips, message texts,
/// form fields (`None`: the strictest of the first three).
fn pii(
    names: PiiAction,
    emails: PiiAction,
    phones: PiiAction,
    ips: PiiAction,
    message_texts: PiiAction,
    form_fields: Option<PiiAction>,
) -> PiiPolicy {
    PiiPolicy {
        names,
        emails,
        phones,
        ips,
        message_texts,
        form_fields,
        salt: "pepper".to_owned(),
    }
}

fn run(config: TransformConfig, raws: &[String]) -> (Vec<TableBatch>, TransformStats) {
    let mut t = Transformer::new(config);
    let mut out = Vec::new();
    for raw in raws {
        t.push_json(raw);
        out.extend(t.drain_full());
    }
    let (rest, stats) = t.finish();
    out.extend(rest);
    (out, stats)
}

/// All rows of `table` over every partition, as one batch.
fn table(batches: &[TableBatch], table: Table) -> RecordBatch {
    let parts: Vec<&RecordBatch> = batches
        .iter()
        .filter(|b| b.table == table)
        .map(|b| &b.batch)
        .collect();
    concat_batches(&table.schema(), parts).unwrap()
}

fn strs(b: &RecordBatch, col: &str) -> Vec<Option<String>> {
    let a = b
        .column_by_name(col)
        .unwrap()
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    (0..a.len())
        .map(|i| a.is_valid(i).then(|| a.value(i).to_owned()))
        .collect()
}

fn ints(b: &RecordBatch, col: &str) -> Vec<Option<i64>> {
    let a = b
        .column_by_name(col)
        .unwrap()
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap();
    (0..a.len())
        .map(|i| a.is_valid(i).then(|| a.value(i)))
        .collect()
}

fn tss(b: &RecordBatch, col: &str) -> Vec<Option<i64>> {
    let a = b
        .column_by_name(col)
        .unwrap()
        .as_any()
        .downcast_ref::<TimestampMicrosecondArray>()
        .unwrap();
    (0..a.len())
        .map(|i| a.is_valid(i).then(|| a.value(i)))
        .collect()
}

fn bools(b: &RecordBatch, col: &str) -> Vec<Option<bool>> {
    let a = b
        .column_by_name(col)
        .unwrap()
        .as_any()
        .downcast_ref::<BooleanArray>()
        .unwrap();
    (0..a.len())
        .map(|i| a.is_valid(i).then(|| a.value(i)))
        .collect()
}

fn example() -> Value {
    serde_json::from_str(EXAMPLE).unwrap()
}

#[test]
fn builders_match_schemas() {
    use crate::{calls::*, chat_messages::*, chats::*, complaints::*, conversation_employees::*};
    use crate::{
        conversation_events::*, conversations::*, dimensions::*, leads::*, quality::*, rejected::*,
    };
    let pairs: [(Table, &[&str]); 14] = [
        (Table::Conversations, ConversationsBuilder::COLUMNS),
        (Table::Chats, ChatsBuilder::COLUMNS),
        (Table::ChatMessages, ChatMessagesBuilder::COLUMNS),
        (Table::Calls, CallsBuilder::COLUMNS),
        (Table::Leads, LeadsBuilder::COLUMNS),
        (Table::Complaints, ComplaintsBuilder::COLUMNS),
        (
            Table::ConversationEmployees,
            ConversationEmployeesBuilder::COLUMNS,
        ),
        (
            Table::ConversationEvents,
            ConversationEventsBuilder::COLUMNS,
        ),
        (Table::Employees, EmployeesBuilder::COLUMNS),
        (Table::Visitors, VisitorsBuilder::COLUMNS),
        (Table::Sites, SitesBuilder::COLUMNS),
        (Table::Departments, DepartmentsBuilder::COLUMNS),
        (Table::QualityIssues, QualityIssuesBuilder::COLUMNS),
        (Table::Rejected, RejectedBuilder::COLUMNS),
    ];
    for (t, cols) in pairs {
        let schema = t.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, cols, "{}", t.name());
    }
}

#[test]
fn example_conversation_fills_every_table() {
    let (batches, stats) = run(config(), &[EXAMPLE.to_owned()]);
    let expected = [
        (Table::Conversations, 1),
        (Table::Chats, 1),
        (Table::ChatMessages, 3),
        (Table::Calls, 1),
        (Table::Leads, 1),
        (Table::Complaints, 0),
        (Table::ConversationEmployees, 1),
        (Table::ConversationEvents, 4),
        (Table::Employees, 1),
        (Table::Visitors, 1),
        (Table::Sites, 1),
        (Table::Departments, 1),
        (Table::QualityIssues, 0),
        (Table::Rejected, 0),
    ];
    for (t, n) in expected {
        assert_eq!(table(&batches, t).num_rows(), n, "{}", t.name());
        assert_eq!(stats.rows_of(t), n as u64, "{}", t.name());
    }
    assert!(batches.iter().all(|b| b.partition == "2026-03"));
    assert_eq!(stats.conversations, 1);

    let conv = table(&batches, Table::Conversations);
    assert_eq!(ints(&conv, "conversation_id"), [Some(48211093)]);
    assert_eq!(
        tss(&conv, "created_at"),
        [Some(utc("2026-03-14T15:02:11Z").timestamp_micros())]
    );
    // Naive Moscow wall clock, as written by the API.
    assert_eq!(
        tss(&conv, "created_at_msk"),
        [Some(utc("2026-03-14T18:02:11Z").timestamp_micros())]
    );
    assert_eq!(
        strs(&conv, "visitor_id"),
        [Some("f3c2a9e0-4b1d-4c55-9b0e-0d5d2f6b7a11".to_owned())]
    );
    assert_eq!(ints(&conv, "site_id"), [Some(7781)]);
    assert_eq!(ints(&conv, "department_id"), [Some(302)]);
    assert_eq!(ints(&conv, "complaint_count"), [Some(0)]);
    assert_eq!(strs(&conv, "_extra"), [Some("{}".to_owned())]);
    assert_eq!(strs(&conv, "_run_id"), [Some("run-1".to_owned())]);
    let vv: Value =
        serde_json::from_str(strs(&conv, "visitor_variables")[0].as_deref().unwrap()).unwrap();
    assert_eq!(vv["client_id"], "A-99812");
    assert_eq!(
        tss(&conv, "_source_updated_at"),
        [Some(utc("2026-03-14T15:31:40Z").timestamp_micros())]
    );

    let msgs = table(&batches, Table::ChatMessages);
    assert_eq!(
        strs(&msgs, "sender_type")
            .iter()
            .map(|s| s.as_deref().unwrap())
            .collect::<Vec<_>>(),
        ["visitor", "employee", "visitor"]
    );
    assert_eq!(ints(&msgs, "message_order"), [Some(0), Some(1), Some(2)]);
    assert_eq!(ints(&msgs, "employee_id"), [None, Some(90117), None]);
    assert_eq!(ints(&msgs, "chat_id"), [Some(771200345); 3]);
    assert_eq!(
        ints(&msgs, "text_length")[2],
        Some("Отлично 👍 \"Орион\", серый".chars().count() as i64)
    );

    let chats = table(&batches, Table::Chats);
    assert_eq!(ints(&chats, "first_message_id"), [Some(5501)]);
    assert_eq!(ints(&chats, "employee_id"), [Some(90117)]);
    assert_eq!(bools(&chats, "is_closed"), [Some(true)]);
    let events: Value =
        serde_json::from_str(strs(&chats, "events")[0].as_deref().unwrap()).unwrap();
    assert_eq!(events[0]["event_type"], "visitor-chat-open");

    let calls = table(&batches, Table::Calls);
    assert_eq!(ints(&calls, "lead_id"), [Some(3300712)]);
    assert_eq!(
        strs(&calls, "recording_url"),
        [Some("https://records.example.ru/66120091.mp3".to_owned())]
    );
    let leads = table(&batches, Table::Leads);
    assert_eq!(ints(&leads, "assigned_to_id"), [Some(90117)]);
    assert_eq!(ints(&leads, "created_by_id"), [None]);
    let ev = table(&batches, Table::ConversationEvents);
    assert_eq!(
        strs(&ev, "event_type")[0].as_deref(),
        Some("vistor-navigate")
    );
    let emp = table(&batches, Table::Employees);
    assert_eq!(strs(&emp, "role_code"), [Some("operator".to_owned())]);
    assert_eq!(ints(&emp, "_seen_in_conversation_id"), [Some(48211093)]);
}

#[test]
fn unknown_fields_land_in_extra_with_sorted_keys() {
    let mut v = example();
    v["zeta"] = json!(1);
    v["alpha"] = json!({"b": [1, 2]});
    v["chats"][0]["messages"][1]["attachments"] = json!(["a.png"]);
    v["employees"][0]["role"]["level"] = json!(3);
    let (batches, _) = run(config(), &[v.to_string()]);
    let conv = table(&batches, Table::Conversations);
    assert_eq!(
        strs(&conv, "_extra")[0].as_deref(),
        Some(r#"{"alpha":{"b":[1,2]},"zeta":1}"#)
    );
    let msgs = table(&batches, Table::ChatMessages);
    assert_eq!(
        strs(&msgs, "_extra"),
        [
            Some("{}".to_owned()),
            Some(r#"{"attachments":["a.png"]}"#.to_owned()),
            Some("{}".to_owned())
        ]
    );
    let emp = table(&batches, Table::Employees);
    assert_eq!(
        strs(&emp, "_extra")[0].as_deref(),
        Some(r#"{"role":{"level":3}}"#)
    );
}

/// The example with every reference of the model filled in (and `chat.conversation` sent),
/// so that each kind of nested object occurs at least once.
fn every_reference() -> Value {
    let mut v = example();
    let emp = json!({"id": 90117});
    v["chats"][0]["employee"]["role"] = json!({"code": "operator"});
    v["chats"][0]["first_message"]["employee"] = emp.clone();
    v["chats"][0]["conversation"] = json!({"id": 48211093, "updated_at": "2026-03-14T18:31:40"});
    v["calls"][0]["lead"] = json!({"id": 3300712, "created_by": emp, "completed_by": emp,
        "assigned_to": {"id": 90117, "role": {"code": "operator"}}, "locked_by": emp,
        "department": {"id": 302}, "site": {"id": 7781}});
    v["leads"][0]["created_by"] = emp.clone();
    v["leads"][0]["locked_by"] = emp.clone();
    v["complaints"] = json!([{"id": "c-1", "text": "Долго ждала ответа", "employee": emp,
        "department": {"id": 302}, "site": {"id": 7781},
        "visitor": {"id": "f3c2a9e0-4b1d-4c55-9b0e-0d5d2f6b7a11"}}]);
    v["events"][1]["employee"]["role"] = json!({"code": "operator"});
    v
}

/// Adds `"zz_probe": "probe:<path>"` to every object in `v`; returns the probes added.
fn add_probes(v: &mut Value, path: &str, probes: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                add_probes(child, &format!("{path}.{k}"), probes);
            }
            let probe = format!("probe:{path}");
            map.insert("zz_probe".to_owned(), json!(probe));
            probes.push(probe);
        }
        Value::Array(items) => {
            for (i, child) in items.iter_mut().enumerate() {
                add_probes(child, &format!("{path}[{i}]"), probes);
            }
        }
        _ => {}
    }
}

/// Every non-null string cell of every batch.
fn all_strings(batches: &[TableBatch]) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        for col in b.batch.columns() {
            if let Some(a) = col.as_any().downcast_ref::<StringArray>() {
                out.extend(a.iter().flatten().map(str::to_owned));
            }
        }
    }
    out
}

#[test]
fn unknown_fields_of_nested_objects_reach_the_parent_rows_extra() {
    // Without unknown fields, nested objects add nothing: `_extra` stays `{}` (only
    // `chat.conversation`, which no column holds, is kept, as sent).
    let plain = every_reference();
    let (batches, _) = run(config(), &[plain.to_string()]);
    for b in &batches {
        if let Ok(i) = b.batch.schema().index_of("_extra") {
            let extra = b
                .batch
                .column(i)
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap();
            for e in extra.iter() {
                let want = if b.table == Table::Chats {
                    r#"{"conversation":{"id":48211093,"updated_at":"2026-03-14T18:31:40"}}"#
                } else {
                    "{}"
                };
                assert_eq!(e, Some(want), "{}", b.table.name());
            }
        }
    }

    // An unknown field in every object of the record, at every depth: each one ends up in
    // some cell (the nested references' in their parent row's `_extra`).
    let mut v = every_reference();
    let mut probes = Vec::new();
    add_probes(&mut v, "", &mut probes);
    let (batches, stats) = run(config(), &[v.to_string()]);
    assert_eq!(stats.rejected, 0);
    let cells = all_strings(&batches);
    let lost: Vec<&String> = probes
        .iter()
        .filter(|p| !cells.iter().any(|c| c.contains(&format!("\"{p}\""))))
        .collect();
    assert!(lost.is_empty(), "unknown fields dropped: {lost:?}");

    // Where they land: under the field's name, at the reference's depth.
    let extra = |t: Table, row: usize| -> Value {
        serde_json::from_str(strs(&table(&batches, t), "_extra")[row].as_deref().unwrap()).unwrap()
    };
    let chat = extra(Table::Chats, 0);
    assert_eq!(chat["zz_probe"], "probe:.chats[0]");
    assert_eq!(chat["employee"]["zz_probe"], "probe:.chats[0].employee");
    assert_eq!(
        chat["employee"]["role"]["zz_probe"],
        "probe:.chats[0].employee.role"
    );
    assert_eq!(
        chat["first_message"]["visitor"]["zz_probe"],
        "probe:.chats[0].first_message.visitor"
    );
    assert_eq!(
        chat["conversation"], v["chats"][0]["conversation"],
        "as sent"
    );
    assert!(
        chat.get("messages").is_none(),
        "messages are rows of their own"
    );
    let msg = extra(Table::ChatMessages, 1);
    assert_eq!(
        msg["employee"]["zz_probe"],
        "probe:.chats[0].messages[1].employee"
    );
    let msg = extra(Table::ChatMessages, 0);
    assert_eq!(
        msg["visitor"]["zz_probe"],
        "probe:.chats[0].messages[0].visitor"
    );
    let call = extra(Table::Calls, 0);
    assert_eq!(
        call["lead"]["assigned_to"]["role"]["zz_probe"],
        "probe:.calls[0].lead.assigned_to.role"
    );
    assert_eq!(
        extra(Table::Leads, 0)["locked_by"]["zz_probe"],
        "probe:.leads[0].locked_by"
    );
    assert_eq!(
        extra(Table::Complaints, 0)["visitor"]["zz_probe"],
        "probe:.complaints[0].visitor"
    );
    assert_eq!(
        extra(Table::ConversationEvents, 1)["employee"]["role"]["zz_probe"],
        "probe:.events[1].employee.role"
    );
    assert_eq!(
        extra(Table::Employees, 0)["role"]["zz_probe"],
        "probe:.employees[0].role"
    );
    // Keys sorted at every level.
    let text = strs(&table(&batches, Table::Chats), "_extra")[0]
        .clone()
        .unwrap();
    assert!(text.starts_with(r#"{"conversation":"#), "{text}");
}

#[test]
fn tolerance_end_to_end_strings_nulls_missing_arrays() {
    let raw = json!({"id": "501", "created_at": "2026-01-05 10:00:00", "updated_at": "2026-01-05T11:00:00",
        "duration": "120", "chat_count": "1", "chats": [{"id": "9", "is_closed": 1, "messages": null, "message_count": 0}],
        "calls": null, "visitor": [], "site": {}, "employees": {}});
    let (batches, stats) = run(config(), &[raw.to_string()]);
    assert_eq!(stats.rejected, 0);
    let conv = table(&batches, Table::Conversations);
    assert_eq!(ints(&conv, "conversation_id"), [Some(501)]);
    assert_eq!(ints(&conv, "duration_s"), [Some(120)]);
    assert_eq!(strs(&conv, "visitor_id"), [None]);
    assert_eq!(ints(&conv, "site_id"), [None]);
    assert_eq!(table(&batches, Table::Chats).num_rows(), 1);
    assert_eq!(
        bools(&table(&batches, Table::Chats), "is_closed"),
        [Some(true)]
    );
    assert_eq!(table(&batches, Table::Visitors).num_rows(), 0);
    assert_eq!(table(&batches, Table::QualityIssues).num_rows(), 0);
}

#[test]
fn moscow_wall_clock_across_2014_10_26() {
    let mk = |id: i64, created: &str| {
        json!({"id": id, "created_at": created, "updated_at": created}).to_string()
    };
    let (batches, _) = run(
        config(),
        &[mk(1, "2014-10-25T12:00:00"), mk(2, "2014-10-27T12:00:00")],
    );
    let conv = table(&batches, Table::Conversations);
    let by_id: Vec<(i64, i64, i64)> = ints(&conv, "conversation_id")
        .into_iter()
        .zip(
            tss(&conv, "created_at")
                .into_iter()
                .zip(tss(&conv, "created_at_msk")),
        )
        .map(|(id, (c, m))| (id.unwrap(), c.unwrap(), m.unwrap()))
        .collect();
    for (id, created, msk) in by_id {
        let (want_utc, want_msk) = if id == 1 {
            ("2014-10-25T08:00:00Z", "2014-10-25T12:00:00Z") // UTC+4
        } else {
            ("2014-10-27T09:00:00Z", "2014-10-27T12:00:00Z") // UTC+3
        };
        assert_eq!(created, utc(want_utc).timestamp_micros(), "{id}");
        assert_eq!(msk, utc(want_msk).timestamp_micros(), "{id}");
    }
    let parts: std::collections::BTreeSet<&str> =
        batches.iter().map(|b| b.partition.as_str()).collect();
    assert_eq!(parts.into_iter().collect::<Vec<_>>(), ["2014-10"]);
}

fn sha(salt: &str, v: &str) -> String {
    hex::encode(Sha256::digest(format!("{salt}{v}").as_bytes()))
}

/// The example with personal data in every place it can hold some, and the values that
/// must not appear in clear anywhere under a policy that hashes or drops every class.
fn personal() -> (Value, Vec<String>) {
    let mut v = example();
    v["visitor"]["email"] = json!("olga@example.ru");
    v["visitor"]["comment"] = json!("Ольга просила не звонить до 10");
    v["visitor"]["ban_reason"] = json!("Спам с номера +79120001122");
    v["visitor"]["visitor_variables"] = json!({"crm_id": "CRM-661-OLGA", "score": 987654321});
    v["chats"][0]["employee_remark"] = json!("Клиентка Ольга, перезвонить");
    v["chats"][0]["prechats_hidden"] = json!([{"title": "Источник", "value": "hidden-src-8812"}]);
    v["chats"][0]["visitor_variables"] =
        json!({"client_id": "A-99812", "cart_total": 4599012345u64});
    v["leads"][0]["email"] = json!("olga.lead@example.ru");
    v["complaints"] = json!([{"id": "c-1", "text": "Оператор грубил, жалуется Ольга",
        "email": "olga.c@example.ru", "phone": "+79365550101", "employee": {"id": 90117}}]);
    let mut secret: Vec<String> = [
        "Ольга",
        "+79120001122",
        "+7 912 000-11-22",
        "+79365550101",
        "olga@example.ru",
        "olga.lead@example.ru",
        "olga.c@example.ru",
        "d.sokolov@mebel.example.ru",
        "198.51.100.23",
        "A-99812",
        "hidden-src-8812",
        "CRM-661-OLGA",
        "987654321",
        "4599012345",
    ]
    .map(str::to_owned)
    .to_vec();
    let texts = [
        &v["chats"][0]["messages"][0]["text"],
        &v["chats"][0]["messages"][1]["text"],
        &v["chats"][0]["messages"][2]["text"],
        &v["chats"][0]["employee_remark"],
        &v["chats"][0]["events"][0]["event_text"],
        &v["leads"][0]["text"],
        &v["leads"][0]["answer_text"],
        &v["complaints"][0]["text"],
        &v["visitor"]["comment"],
        &v["visitor"]["ban_reason"],
        &v["events"][0]["event_text"],
        &v["events"][1]["event_text"],
        &v["events"][2]["event_text"],
        &v["events"][3]["event_text"],
    ];
    secret.extend(texts.map(|t| t.as_str().unwrap().to_owned()));
    (v, secret)
}

/// The personal record, and a copy that is rejected (so `_rejected` is checked too).
fn personal_records() -> (Value, Vec<String>, Vec<String>) {
    let (v, secret) = personal();
    let mut bad = v.clone();
    bad["id"] = json!(48211094);
    // An unreadable `updated_at`: the record cannot be versioned, so it is rejected whole.
    bad["updated_at"] = json!("yesterday");
    (v.clone(), vec![v.to_string(), bad.to_string()], secret)
}

/// Values of `secret` found in some string cell of some table, with where.
fn leaks(batches: &[TableBatch], secret: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for b in batches {
        let schema = b.batch.schema();
        for (f, col) in schema.fields().iter().zip(b.batch.columns()) {
            let Some(a) = col.as_any().downcast_ref::<StringArray>() else {
                continue;
            };
            for cell in a.iter().flatten() {
                for s in secret.iter().filter(|s| cell.contains(s.as_str())) {
                    found.push(format!("{s:?} in {}.{}: {cell}", b.table, f.name()));
                }
            }
        }
    }
    found
}

#[test]
fn pii_hash_and_drop() {
    let mut cfg = config();
    use PiiAction::{Drop, Hash};
    // Form fields unset: the strictest of names, emails and phones (drop).
    cfg.pii = pii(Hash, Drop, Hash, Drop, Drop, None);
    let (v, raws, secret) = personal_records();
    let (batches, stats) = run(cfg, &raws);
    assert_eq!(stats.rejected, 1);
    // No value in clear in any column of any table, `_rejected` included.
    let found = leaks(&batches, &secret);
    assert!(found.is_empty(), "{found:#?}");

    let vis = table(&batches, Table::Visitors);
    assert_eq!(strs(&vis, "name"), [Some(sha("pepper", "Ольга"))]);
    assert_eq!(strs(&vis, "nickname"), [None], "null stays null");
    assert_eq!(strs(&vis, "phone"), [Some(sha("pepper", "+79120001122"))]);
    assert_eq!(strs(&vis, "last_ip"), [None]);
    assert_eq!(strs(&vis, "comment"), [None]);
    assert_eq!(strs(&vis, "ban_reason"), [None]);
    assert_eq!(strs(&vis, "visitor_variables"), [None]);
    let leads = table(&batches, Table::Leads);
    assert_eq!(strs(&leads, "name"), [Some(sha("pepper", "Ольга"))]);
    assert_eq!(strs(&leads, "text"), [None]);
    assert_eq!(strs(&leads, "answer_text"), [None]);
    assert_eq!(strs(&table(&batches, Table::Complaints), "text"), [None]);
    assert_eq!(strs(&table(&batches, Table::Employees), "email"), [None]);
    let msgs = table(&batches, Table::ChatMessages);
    assert_eq!(strs(&msgs, "text"), [None, None, None]);
    assert!(
        ints(&msgs, "text_length").iter().all(|l| l.unwrap() > 0),
        "text_length kept"
    );
    let conv = table(&batches, Table::Conversations);
    assert_eq!(strs(&conv, "prechat_fields"), [None]);
    assert_eq!(strs(&conv, "visitor_variables"), [None]);
    let chats = table(&batches, Table::Chats);
    for col in ["prechats_chat", "prechats_hidden", "visitor_variables"] {
        assert_eq!(strs(&chats, col), [None], "{col}");
    }
    assert_eq!(strs(&chats, "employee_remark"), [None]);
    // Chat events keep their structure; only the text goes.
    let events: Value =
        serde_json::from_str(strs(&chats, "events")[0].as_deref().unwrap()).unwrap();
    assert_eq!(events[0]["event_text"], Value::Null);
    assert_eq!(
        events[0]["event_type"],
        v["chats"][0]["events"][0]["event_type"]
    );
    let ev = table(&batches, Table::ConversationEvents);
    assert_eq!(strs(&ev, "event_text"), [None, None, None, None]);
    assert_eq!(
        strs(&ev, "event_type")[0].as_deref(),
        Some("vistor-navigate")
    );
    assert_eq!(sha("pepper", "x").len(), 64);
}

#[test]
fn pii_hash_keeps_the_shape_of_forms_and_events() {
    let mut cfg = config();
    use PiiAction::Hash;
    cfg.pii = pii(Hash, Hash, Hash, Hash, Hash, Some(Hash));
    let (v, raws, secret) = personal_records();
    let (batches, _) = run(cfg, &raws);
    let found = leaks(&batches, &secret);
    assert!(found.is_empty(), "{found:#?}");
    let h = |s: &str| json!(sha("pepper", s));

    // Forms: same shape, keys kept, every string and number hashed (a number as its text).
    let json_of = |t: Table, col: &str| -> Value {
        serde_json::from_str(strs(&table(&batches, t), col)[0].as_deref().unwrap()).unwrap()
    };
    assert_eq!(
        json_of(Table::Conversations, "prechat_fields"),
        json!({"Имя": h("Ольга"), "Телефон": h("+7 912 000-11-22")})
    );
    assert_eq!(
        json_of(Table::Chats, "prechats_chat"),
        json!([{"title": h("Имя"), "value": h("Ольга")}])
    );
    assert_eq!(
        json_of(Table::Chats, "prechats_hidden"),
        json!([{"title": h("Источник"), "value": h("hidden-src-8812")}])
    );
    assert_eq!(
        json_of(Table::Chats, "visitor_variables"),
        json!({"client_id": h("A-99812"), "cart_total": h("4599012345")})
    );
    assert_eq!(
        json_of(Table::Visitors, "visitor_variables"),
        json!({"crm_id": h("CRM-661-OLGA"), "score": h("987654321")})
    );
    // A hashed form value equals the hashed column value (same salt, same text).
    let vis = table(&batches, Table::Visitors);
    assert_eq!(json!(strs(&vis, "name")[0]), h("Ольга"));
    // Free text is hashed like the other classes.
    let leads = table(&batches, Table::Leads);
    assert_eq!(
        json!(strs(&leads, "text")[0]),
        h(v["leads"][0]["text"].as_str().unwrap())
    );
    let ev = table(&batches, Table::ConversationEvents);
    assert_eq!(
        json!(strs(&ev, "event_text")[1]),
        h(v["events"][1]["event_text"].as_str().unwrap())
    );
    let events = json_of(Table::Chats, "events");
    assert_eq!(
        events[0]["event_text"],
        h(v["chats"][0]["events"][0]["event_text"].as_str().unwrap())
    );
    assert_eq!(
        events[0]["employee"],
        v["chats"][0]["events"][0]["employee"]
    );
    // `_rejected` follows the same rules.
    let rejected: Value = serde_json::from_str(
        strs(&table(&batches, Table::Rejected), "raw_json")[0]
            .as_deref()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        rejected["prechat_fields"],
        json_of(Table::Conversations, "prechat_fields")
    );
    assert_eq!(
        rejected["visitor"]["comment"],
        h("Ольга просила не звонить до 10")
    );
}

#[test]
fn pii_keep_stores_everything_as_received() {
    let (v, raws, secret) = personal_records();
    let (batches, _) = run(config(), &raws);
    let cells = all_strings(&batches);
    for s in &secret {
        assert!(
            cells.iter().any(|c| c.contains(s.as_str())),
            "{s} not stored"
        );
    }
    let conv = table(&batches, Table::Conversations);
    assert_eq!(
        strs(&conv, "prechat_fields")[0],
        Some(v["prechat_fields"].to_string())
    );
    assert_eq!(
        strs(&conv, "visitor_variables")[0],
        Some(v["visitor_variables"].to_string())
    );
    let chats = table(&batches, Table::Chats);
    for col in [
        "prechats_chat",
        "prechats_hidden",
        "visitor_variables",
        "events",
    ] {
        assert_eq!(
            strs(&chats, col)[0],
            Some(v["chats"][0][col].to_string()),
            "{col}"
        );
    }
    assert_eq!(
        strs(&chats, "employee_remark")[0].as_deref(),
        v["chats"][0]["employee_remark"].as_str()
    );
    let leads = table(&batches, Table::Leads);
    assert_eq!(
        strs(&leads, "answer_text")[0].as_deref(),
        v["leads"][0]["answer_text"].as_str()
    );
    let ev = table(&batches, Table::ConversationEvents);
    assert_eq!(
        strs(&ev, "event_text")[1].as_deref(),
        v["events"][1]["event_text"].as_str()
    );
    assert_eq!(
        strs(&table(&batches, Table::Rejected), "raw_json")[0],
        Some(raws[1].clone())
    );
}

#[test]
fn form_fields_default_to_the_strictest_of_names_emails_phones() {
    use PiiAction::{Drop, Hash, Keep};
    let cases = [
        (pii(Keep, Keep, Keep, Drop, Drop, None), Keep),
        (pii(Hash, Keep, Keep, Keep, Keep, None), Hash),
        (pii(Hash, Hash, Drop, Keep, Keep, None), Drop),
        (pii(Keep, Drop, Hash, Keep, Keep, None), Drop),
        (pii(Keep, Keep, Drop, Keep, Keep, Some(Keep)), Keep),
        (pii(Keep, Keep, Keep, Keep, Keep, Some(Hash)), Hash),
    ];
    for (p, want) in cases {
        assert_eq!(p.form_fields_action(), want, "{p:?}");
    }
    // Unset, under a policy that drops phones: the form's phone is dropped too.
    let mut cfg = config();
    cfg.pii = pii(Keep, Keep, Drop, Keep, Keep, None);
    let (batches, _) = run(cfg, &[EXAMPLE.to_owned()]);
    assert_eq!(
        strs(&table(&batches, Table::Conversations), "prechat_fields"),
        [None]
    );
}

#[test]
fn rejected_records_follow_the_personal_data_policy() {
    let mut bad = example();
    bad["updated_at"] = json!("yesterday");
    bad["visitor"]["email"] = json!("olga@example.ru");
    let raw = bad.to_string();
    // Values of the classed fields (visitor.phone, visitor.email, the prechat form's phone).
    let clear = ["+79120001122", "olga@example.ru", "+7 912 000-11-22"];
    for v in clear {
        assert!(raw.contains(v), "fixture lacks {v}");
    }
    // Keep everything: the record is stored exactly as received.
    let (batches, _) = run(config(), std::slice::from_ref(&raw));
    let stored = strs(&table(&batches, Table::Rejected), "raw_json");
    assert_eq!(stored, [Some(raw.clone())]);
    // Hash names, drop e-mails and phones: no clear value survives; names hash as in
    // the tables; the error and the conversation id are still there.
    let mut cfg = config();
    cfg.pii = pii(
        PiiAction::Hash,
        PiiAction::Drop,
        PiiAction::Drop,
        PiiAction::Keep,
        PiiAction::Keep,
        None,
    );
    let mut t = Transformer::new(cfg);
    t.push_json(&raw);
    t.push_unreadable("<html>+79120001122</html>", "page 3: not JSON");
    let (batches, stats) = t.finish();
    assert_eq!(stats.rejected, 2);
    let rej = table(&batches, Table::Rejected);
    let stored: Vec<String> = strs(&rej, "raw_json")
        .into_iter()
        .map(Option::unwrap)
        .collect();
    for v in clear {
        assert!(!stored[0].contains(v), "{v} survived in {}", stored[0]);
        assert!(!stored[1].contains(v), "{v} survived in {}", stored[1]);
    }
    let redacted: Value = serde_json::from_str(&stored[0]).unwrap();
    assert_eq!(redacted["visitor"]["name"], json!(sha("pepper", "Ольга")));
    assert_eq!(redacted["visitor"]["email"], Value::Null);
    // Forms as in the tables: dropped whole (the strictest of names, emails, phones).
    assert_eq!(redacted["prechat_fields"], Value::Null);
    assert_eq!(redacted["chats"][0]["prechats_chat"], Value::Null);
    // Texts are kept under this policy, here as in the tables.
    assert_eq!(
        redacted["events"][1]["event_text"],
        json!("Ольга начала переписку с оператором Дмитрий Соколов")
    );
    assert_eq!(redacted["leads"][0]["name"], json!(sha("pepper", "Ольга")));
    assert_eq!(redacted["updated_at"], json!("yesterday"));
    assert_eq!(ints(&rej, "conversation_id"), [Some(48211093), None]);
    assert!(strs(&rej, "error")[0]
        .as_deref()
        .unwrap()
        .contains("yesterday"));
}

#[test]
fn pii_policy_deserializes_lowercase() {
    let p: PiiPolicy =
        serde_json::from_value(json!({"names": "hash", "message_texts": "drop", "salt": "s"}))
            .unwrap();
    assert_eq!(p.names, PiiAction::Hash);
    assert_eq!(p.message_texts, PiiAction::Drop);
    assert_eq!(p.emails, PiiAction::Keep);
    assert_eq!(p.form_fields, None, "unset: resolved by form_fields_action");
    let p: PiiPolicy = serde_json::from_value(json!({"form_fields": "keep"})).unwrap();
    assert_eq!(p.form_fields, Some(PiiAction::Keep));
    assert!(serde_json::from_value::<PiiPolicy>(json!({"names": "Hash"})).is_err());
    assert!(serde_json::from_value::<PiiPolicy>(json!({"form_fields": "Drop"})).is_err());
}

#[test]
fn counter_mismatches_become_quality_issues() {
    let mut v = example();
    v["chat_count"] = json!(2);
    v["message_count"] = json!(5);
    v["chats"][0]["message_count"] = json!(4);
    v["lead_count"] = json!(1);
    v["call_count"] = json!(null);
    let (batches, stats) = run(config(), &[v.to_string()]);
    let q = table(&batches, Table::QualityIssues);
    let rows: Vec<(String, i64, i64)> = strs(&q, "check")
        .into_iter()
        .zip(ints(&q, "expected").into_iter().zip(ints(&q, "actual")))
        .map(|(c, (e, a))| (c.unwrap(), e.unwrap(), a.unwrap()))
        .collect();
    assert_eq!(
        rows,
        [
            ("chat_count".to_owned(), 2, 1),
            ("message_count".to_owned(), 5, 3),
            ("chat_message_count".to_owned(), 4, 3)
        ]
    );
    assert_eq!(ints(&q, "conversation_id"), [Some(48211093); 3]);
    assert_eq!(stats.quality_issues["chat_count"], 1);
    assert_eq!(stats.quality_issues["lead_count"], 0);
    assert_eq!(stats.quality_issues["chat_message_count"], 1);
    // The data itself is still loaded.
    assert_eq!(table(&batches, Table::ChatMessages).num_rows(), 3);
}

#[test]
fn pii_policy_applies_to_drifted_values_kept_in_extra() {
    use PiiAction::{Drop, Hash};
    let (mut v, secret) = personal();
    // Personal data in a shape the model does not expect: kept in `_extra` by key, where
    // the policy of the key's class still applies.
    v["visitor"]["name"] = json!({"full": "Ольга"});
    v["visitor"]["email"] = json!(["olga@example.ru"]);
    v["chats"][0]["messages"][0]["text"] = json!({"body": "Ольга просила не звонить до 10"});
    v["leads"][0]["phone"] = json!({"mobile": "+79365550101"});
    for policy in [
        pii(Hash, Drop, Hash, Drop, Drop, None),
        pii(Drop, Hash, Drop, Hash, Hash, None),
    ] {
        let mut cfg = config();
        cfg.pii = policy;
        let (batches, stats) = run(cfg, &[v.to_string()]);
        assert_eq!((stats.conversations, stats.rejected), (1, 0));
        assert_eq!(stats.quality_issues["schema_drift"], 4);
        let found = leaks(&batches, &secret);
        assert!(found.is_empty(), "{found:#?}");
    }
    // Kept as received under the policy that keeps everything.
    let (batches, _) = run(config(), &[v.to_string()]);
    let vis = table(&batches, Table::Visitors);
    let extra: Value = serde_json::from_str(strs(&vis, "_extra")[0].as_deref().unwrap()).unwrap();
    assert_eq!(extra["name"], json!({"full": "Ольга"}));
    assert_eq!(extra["email"], json!(["olga@example.ru"]));
}

#[test]
fn drifted_values_keep_the_conversation_and_every_child_row() {
    let mut v = example();
    let strict = run(config(), &[v.to_string()]).1;
    v["employees"][0]["role"] = json!("operator");
    v["chats"][0]["messages"][1]["created_at"] = json!("yesterday");
    v["duration"] = json!({"seconds": 5});
    v["calls"][0]["is_incoming"] = json!(7);
    let (batches, stats) = run(config(), &[v.to_string()]);
    assert_eq!((stats.conversations, stats.rejected), (1, 0));
    for t in Table::ALL {
        if t != Table::QualityIssues {
            assert_eq!(stats.rows_of(t), strict.rows_of(t), "{}", t.name());
        }
    }
    let q = table(&batches, Table::QualityIssues);
    type Row = (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let mut drift: Vec<Row> = (0..q.num_rows())
        .filter(|&i| strs(&q, "check")[i].as_deref() == Some("schema_drift"))
        .map(|i| {
            (
                strs(&q, "path")[i].clone(),
                strs(&q, "field")[i].clone(),
                strs(&q, "expected_type")[i].clone(),
                strs(&q, "received_type")[i].clone(),
            )
        })
        .collect();
    drift.sort();
    let row = |p: &str, f: &str, e: &str, r: &str| -> Row {
        (
            Some(p.into()),
            Some(f.into()),
            Some(e.into()),
            Some(r.into()),
        )
    };
    assert_eq!(
        drift,
        [
            row(
                "calls[0].is_incoming",
                "calls[].is_incoming",
                "boolean",
                "number"
            ),
            row(
                "chats[0].messages[1].created_at",
                "chats[].messages[].created_at",
                "datetime",
                "string"
            ),
            row("duration", "duration", "integer", "object"),
            row("employees[0].role", "employees[].role", "object", "string"),
        ]
    );
    assert_eq!(
        stats.drift["employees[].role: string where object expected"],
        1
    );
    // The typed column is null; the value as received is in the row's `_extra`.
    let conv = table(&batches, Table::Conversations);
    assert_eq!(ints(&conv, "duration_s"), [None]);
    let extra: Value = serde_json::from_str(strs(&conv, "_extra")[0].as_deref().unwrap()).unwrap();
    assert_eq!(extra["duration"], json!({"seconds": 5}));
    let msgs = table(&batches, Table::ChatMessages);
    let extra: Value = serde_json::from_str(strs(&msgs, "_extra")[1].as_deref().unwrap()).unwrap();
    assert_eq!(extra["created_at"], json!("yesterday"));
}

#[test]
fn bad_records_become_rejected_rows_and_the_run_continues() {
    let mut bad_time = example();
    bad_time["updated_at"] = json!("yesterday");
    let raws = [
        bad_time.to_string(),
        "[1,2]".to_owned(),
        "{\"id\": 7, \"created_at\": {}}".to_owned(),
        EXAMPLE.to_owned(),
    ];
    let mut t = Transformer::new(config());
    for r in &raws {
        t.push_json(r);
    }
    t.push_unreadable("<html>502</html>", "page 3: not JSON");
    let (batches, stats) = t.finish();
    assert_eq!(stats.rejected, 4);
    assert_eq!(stats.conversations, 1);
    let rej = table(&batches, Table::Rejected);
    assert_eq!(
        ints(&rej, "conversation_id"),
        [Some(48211093), None, Some(7), None]
    );
    assert_eq!(strs(&rej, "field_path")[0].as_deref(), Some("updated_at"));
    assert_eq!(
        strs(&rej, "error")[0].as_deref(),
        Some("conversation 48211093: updated_at: string where datetime expected: \"yesterday\"")
    );
    assert_eq!(strs(&rej, "field_path")[3], None);
    assert_eq!(strs(&rej, "error")[3].as_deref(), Some("page 3: not JSON"));
    assert_eq!(strs(&rej, "raw_json")[1].as_deref(), Some("[1,2]"));
    // `_rejected` is partitioned by the month of `_synced_at`.
    assert!(batches
        .iter()
        .filter(|b| b.table == Table::Rejected)
        .all(|b| b.partition == "2026-04"));
    assert_eq!(table(&batches, Table::Conversations).num_rows(), 1);
}

#[test]
fn batches_are_split_at_batch_rows_and_partitioned_by_month() {
    let mut cfg = config();
    cfg.batch_rows = 2;
    let mut t = Transformer::new(cfg);
    let mut drained = Vec::new();
    for i in 0..5 {
        let month = if i % 2 == 0 {
            "2026-01-10T12:00:00"
        } else {
            "2026-02-10T12:00:00"
        };
        let mut v = example();
        v["id"] = json!(1000 + i);
        v["created_at"] = json!(month);
        t.push_json(&v.to_string());
        drained.extend(t.drain_full());
    }
    // Three January conversations with three messages each: full batches were drained early.
    assert!(drained.iter().any(|b| b.table == Table::ChatMessages));
    let (rest, stats) = t.finish();
    let all: Vec<TableBatch> = drained.into_iter().chain(rest).collect();
    assert!(all
        .iter()
        .all(|b| b.batch.num_rows() <= 2 && b.batch.num_rows() > 0));
    let conv_jan: usize = all
        .iter()
        .filter(|b| b.table == Table::Conversations && b.partition == "2026-01")
        .map(|b| b.batch.num_rows())
        .sum();
    let conv_feb: usize = all
        .iter()
        .filter(|b| b.table == Table::Conversations && b.partition == "2026-02")
        .map(|b| b.batch.num_rows())
        .sum();
    assert_eq!((conv_jan, conv_feb), (3, 2));
    assert_eq!(table(&all, Table::ChatMessages).num_rows(), 15);
    assert_eq!(stats.rows_of(Table::ChatMessages), 15);
    for b in &all {
        assert_eq!(b.batch.schema(), b.table.schema());
    }
}

#[test]
fn drain_full_emits_nothing_below_batch_rows() {
    let mut t = Transformer::new(config());
    t.push_json(EXAMPLE);
    assert!(t.drain_full().is_empty());
    let (rest, _) = t.finish();
    assert_eq!(
        rest.len(),
        11,
        "one batch per non-empty table (no complaints, issues, rejects)"
    );
}

#[test]
fn escaped_strings_are_decoded_and_free_form_json_kept_as_sent() {
    // Strings are borrowed from the input when they have no escapes; escaped ones must
    // still come out decoded, and free-form objects byte for byte as sent.
    let mut v = example();
    v["city"] = json!("Санкт-\"Петербург\"\n");
    v["chats"][0]["messages"][0]["text"] = json!("tab\there \u{1F600} \\ end");
    v["visitor"]["id"] = json!("id/with\\backslash");
    let raw = v
        .to_string()
        .replace(r#""client_id":"A-99812""#, r#""client_id" : "A-\u0039""#);
    let (batches, stats) = run(config(), &[raw]);
    assert_eq!(stats.rejected, 0);
    let conv = table(&batches, Table::Conversations);
    assert_eq!(
        strs(&conv, "city")[0].as_deref(),
        Some("Санкт-\"Петербург\"\n")
    );
    assert_eq!(
        strs(&conv, "visitor_id")[0].as_deref(),
        Some("id/with\\backslash")
    );
    let vars = strs(&conv, "visitor_variables")[0].clone().unwrap();
    assert!(vars.contains(r#""client_id" : "A-\u0039""#), "{vars}");
    let msgs = table(&batches, Table::ChatMessages);
    assert_eq!(
        strs(&msgs, "text")[0].as_deref(),
        Some("tab\there \u{1F600} \\ end")
    );
    assert_eq!(ints(&msgs, "text_length")[0], Some(16));
}

#[test]
fn parsing_on_another_thread_gives_the_same_batches() {
    let mut bad = example();
    bad["updated_at"] = json!("yesterday");
    let mut raws: Vec<String> = (0..6)
        .map(|i| {
            let mut v = example();
            v["id"] = json!(1000 + i);
            v.to_string()
        })
        .collect();
    raws.insert(3, bad.to_string());
    let (expected, expected_stats) = run(config(), &raws);

    let mut t = Transformer::new(config());
    let (first, second) = raws.split_at(raws.len() / 2);
    std::thread::scope(|s| {
        let worker = s.spawn(|| {
            first
                .iter()
                .map(|r| Conversation::from_json(r))
                .collect::<Vec<_>>()
        });
        let mine: Vec<_> = second.iter().map(|r| Conversation::from_json(r)).collect();
        let theirs = worker.join().unwrap();
        for (raw, parsed) in raws.iter().zip(theirs.into_iter().chain(mine)) {
            t.push_parsed(raw, parsed);
        }
    });
    let (got, stats) = t.finish();
    assert_eq!(stats, expected_stats);
    assert_eq!(stats.rejected, 1);
    assert_eq!(got.len(), expected.len());
    for (a, b) in got.iter().zip(&expected) {
        assert_eq!((a.table, &a.partition), (b.table, &b.partition));
        assert_eq!(a.batch, b.batch, "{}", a.table.name());
    }
}

#[test]
fn months_beyond_the_open_partition_limit_lose_no_row() {
    // 30 months in time order, then back, then scattered; batches larger than the input,
    // so rows leave the transformer early only when a partition is closed.
    let months: Vec<u32> = (0..30)
        .chain((0..30).rev())
        .chain((0..30).step_by(7))
        .collect();
    let raws: Vec<String> = months
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let at = format!("{}-{:02}-10T12:00:00", 2020 + m / 12, m % 12 + 1);
            let mut c = example();
            c["id"] = json!(1000 + i);
            c["created_at"] = json!(at);
            c["updated_at"] = json!(at);
            c.to_string()
        })
        .collect();
    let mut cfg = config();
    cfg.batch_rows = 1_000_000;
    let mut t = Transformer::new(cfg.clone());
    let mut batches = Vec::new();
    let mut early = 0;
    for raw in &raws {
        t.push_json(raw);
        assert!(t.open_partitions() <= super::transformer::MAX_OPEN_PARTITIONS);
        let drained = t.drain_full();
        early += drained.len();
        batches.extend(drained);
    }
    assert!(early > 0, "no partition was closed");
    let (rest, stats) = t.finish();
    batches.extend(rest);
    assert_eq!(stats.conversations, raws.len() as u64);
    // Rows per table: the sum of each conversation transformed on its own.
    for tbl in Table::ALL {
        let got: u64 = batches
            .iter()
            .filter(|b| b.table == tbl)
            .map(|b| b.batch.num_rows() as u64)
            .sum();
        let want: u64 = raws
            .iter()
            .map(|r| run(cfg.clone(), std::slice::from_ref(r)).1.rows[tbl.name()])
            .sum();
        assert_eq!(got, want, "{}", tbl.name());
    }
    // Every conversation once, in its own month's partition.
    let mut ids = Vec::new();
    for b in batches.iter().filter(|b| b.table == Table::Conversations) {
        let created = tss(&b.batch, "created_at");
        for (id, at) in ints(&b.batch, "conversation_id").into_iter().zip(created) {
            let at = DateTime::from_timestamp_micros(at.unwrap()).unwrap();
            assert_eq!(b.partition, super::transformer::month_of(at));
            ids.push(id.unwrap());
        }
    }
    ids.sort_unstable();
    assert_eq!(ids, (1000..1000 + raws.len() as i64).collect::<Vec<_>>());
}
