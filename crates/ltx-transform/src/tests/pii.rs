//! The personal-data policy: each class hashed, dropped or kept in every table, in forms,
//! events and `_extra`, and in `_rejected`; form fields' default; the policy's config format.

use serde_json::json;
use sha2::{Digest, Sha256};

use super::*;
use crate::{PiiAction, PiiPolicy};

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
