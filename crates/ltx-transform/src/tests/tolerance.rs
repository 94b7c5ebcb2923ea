//! Tolerance end to end: numbers as strings, nulls and missing arrays, the Moscow wall clock
//! across the 2014 offset change, escaped strings decoded and free-form JSON kept as sent.

use serde_json::json;

use super::*;

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
    assert_eq!(parts.into_iter().collect::<Vec<_>>(), ["default/2014-10"]);
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
