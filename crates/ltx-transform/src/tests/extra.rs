//! Unknown fields: kept in the row's `_extra` with sorted keys, those of nested objects in
//! their parent row's, at every depth.

use serde_json::json;

use super::*;

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
