//! What the model accepts: the example conversation and every tolerance of `de.rs`.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Utc};
use ltx_model::{Conversation, ModelError};
use serde_json::json;

const EXAMPLE: &str = include_str!("fixtures/conversation.json");

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A minimal valid conversation with `patch` merged into its top level.
/// (The text is leaked: a conversation borrows from its JSON, and tests are short-lived.)
fn conv(patch: serde_json::Value) -> Result<Conversation<'static>, ModelError> {
    let mut base =
        json!({"id": 1, "created_at": "2026-03-14T18:02:11", "updated_at": "2026-03-14T18:31:40"});
    for (k, v) in patch.as_object().unwrap() {
        base[k] = v.clone();
    }
    Conversation::from_json(Box::leak(base.to_string().into_boxed_str()))
}

#[test]
fn example_conversation_parses() {
    let c = Conversation::from_json(EXAMPLE).unwrap();
    assert_eq!(c.id, 48211093);
    assert_eq!(c.created_at, Some(utc("2026-03-14T15:02:11Z")));
    assert_eq!(
        c.visitor.as_ref().unwrap().id,
        "f3c2a9e0-4b1d-4c55-9b0e-0d5d2f6b7a11"
    );
    assert_eq!(c.site.as_ref().unwrap().id, 7781);
    assert_eq!(
        c.department.as_ref().unwrap().title.as_deref(),
        Some("Продажи")
    );
    assert_eq!(c.chats.len(), 1);
    let chat = &c.chats[0];
    assert_eq!(chat.messages.len(), 3);
    assert!(chat.messages[0].employee.is_none());
    assert_eq!(chat.messages[1].employee.as_ref().unwrap().id, 90117);
    assert_eq!(chat.first_message.as_ref().unwrap().id, 5501);
    assert_eq!(
        chat.prechats_chat.as_ref().unwrap().get(),
        r#"[{"title": "Имя", "value": "Ольга"}]"#
    );
    assert_eq!(c.calls[0].lead.as_ref().unwrap().id, 3300712);
    assert_eq!(c.leads[0].lead_type.as_deref(), Some("callback"));
    assert_eq!(c.leads[0].assigned_to.as_ref().unwrap().id, 90117);
    assert!(c.leads[0].created_by.is_none());
    assert!(c.complaints.is_empty());
    assert_eq!(c.events.len(), 4);
    assert_eq!(c.events[0].event_type.as_deref(), Some("vistor-navigate"));
    assert_eq!(
        c.employees[0].role.as_ref().unwrap().code.as_deref(),
        Some("operator")
    );
    assert!(
        c.extra.is_empty(),
        "example has no unknown fields: {:?}",
        c.extra.keys()
    );
}

#[test]
fn numbers_as_strings_and_floats() {
    let c = conv(
        json!({"id": "77", "duration": "120", "page_count": 12.0, "visit_count": " 3 ",
                        "chat_count": "2.0", "call_count": 1.6, "lead_count": ""}),
    )
    .unwrap();
    assert_eq!(c.id, 77);
    assert_eq!(c.duration, Some(120));
    assert_eq!(c.page_count, Some(12));
    assert_eq!(c.visit_count, Some(3));
    assert_eq!(c.chat_count, Some(2));
    assert_eq!(
        c.call_count,
        Some(2),
        "fractions round to the nearest second"
    );
    assert_eq!(c.lead_count, None);
}

/// `(path, expected, received)` of each drift of a conversation that was kept.
fn drifts(c: &Conversation) -> Vec<(String, &'static str, &'static str)> {
    c.drift
        .iter()
        .map(|d| (d.path.clone(), d.expected, d.received))
        .collect()
}

fn d(
    path: &str,
    expected: &'static str,
    received: &'static str,
) -> (String, &'static str, &'static str) {
    (path.to_owned(), expected, received)
}

#[test]
fn non_numeric_string_for_a_number_is_drift_kept_in_extra() {
    let c = conv(json!({"duration": "long"})).unwrap();
    assert_eq!(c.duration, None);
    assert_eq!(c.extra["duration"], json!("long"));
    assert_eq!(drifts(&c), [d("duration", "integer", "string")]);
}

#[test]
fn booleans_as_numbers_and_strings() {
    let c = conv(json!({"chats": [{"id": 1, "is_closed": 1, "rem_auto": 0, "rem_empty": "true",
                                   "rem_transfer": "0", "is_managed": null, "rem_long_answer": ""}]}))
    .unwrap();
    let ch = &c.chats[0];
    assert_eq!(ch.is_closed, Some(true));
    assert_eq!(ch.rem_auto, Some(false));
    assert_eq!(ch.rem_empty, Some(true));
    assert_eq!(ch.rem_transfer, Some(false));
    assert_eq!(ch.is_managed, None);
    assert_eq!(ch.rem_long_answer, None);
    let c = conv(json!({"chats": [{"id": 1, "is_closed": 2}]})).unwrap();
    assert_eq!(c.chats[0].is_closed, None);
    assert_eq!(c.chats[0].extra["is_closed"], json!(2));
    assert_eq!(drifts(&c), [d("chats[0].is_closed", "boolean", "number")]);
}

#[test]
fn null_and_empty_object_arrays_are_empty() {
    let c = conv(json!({"chats": null, "calls": {}, "leads": [], "events": null})).unwrap();
    assert!(c.chats.is_empty() && c.calls.is_empty() && c.leads.is_empty() && c.events.is_empty());
    let c = conv(json!({"chats": [{"id": 5, "messages": null}]})).unwrap();
    assert!(c.chats[0].messages.is_empty());
    let c = conv(json!({"chats": {"a": 1}})).unwrap();
    assert!(c.chats.is_empty());
    assert_eq!(c.extra["chats"], json!({"a": 1}));
    assert_eq!(drifts(&c), [d("chats", "array", "object")]);
}

#[test]
fn null_empty_array_and_empty_object_where_an_object_is_expected_are_none() {
    let c = conv(json!({"visitor": null, "site": [], "department": {}})).unwrap();
    assert!(c.visitor.is_none() && c.site.is_none() && c.department.is_none());
    let c = conv(json!({"chats": [{"id": 5, "employee": [], "first_message": {}}]})).unwrap();
    assert!(c.chats[0].employee.is_none() && c.chats[0].first_message.is_none());
    let c = conv(json!({"site": [1]})).unwrap();
    assert!(c.site.is_none());
    assert_eq!(c.extra["site"], json!([1]));
    assert_eq!(drifts(&c), [d("site", "object", "array")]);
}

#[test]
fn missing_optional_fields_are_none_and_arrays_empty() {
    let c = conv(json!({})).unwrap();
    assert!(c.visitor.is_none() && c.result.is_none() && c.duration.is_none());
    assert!(c.chats.is_empty() && c.employees.is_empty());
    assert!(c.visitor_variables.is_none());
}

#[test]
fn string_ids_accept_numbers() {
    let c =
        conv(json!({"visitor": {"id": 12345}, "complaints": [{"id": 9, "text": "x"}]})).unwrap();
    assert_eq!(c.visitor.unwrap().id, "12345");
    assert_eq!(c.complaints[0].id, "9");
    assert_eq!(
        conv(json!({"widget_id": 5513}))
            .unwrap()
            .widget_id
            .as_deref(),
        Some("5513")
    );
}

#[test]
fn datetimes_moscow_offsets_and_empties() {
    let c = conv(
        json!({"created_at": "2014-10-25T12:00:00", "updated_at": "2014-10-26T12:00:00+03:00",
                        "chats": [{"id": 1, "created_at": "", "updated_at": null}],
                        "leads": [{"id": 2, "completed_at": "0000-00-00 00:00:00"}]}),
    )
    .unwrap();
    assert_eq!(
        c.created_at,
        Some(utc("2014-10-25T08:00:00Z")),
        "UTC+4 before 2014-10-26"
    );
    assert_eq!(c.updated_at, utc("2014-10-26T09:00:00Z"));
    assert!(c.chats[0].created_at.is_none() && c.chats[0].updated_at.is_none());
    assert!(c.leads[0].completed_at.is_none());
}

#[test]
fn unknown_fields_are_captured_at_every_level() {
    let c = conv(json!({"new_top": {"a": 1}, "visitor": {"id": "v", "loyalty": 3},
                        "chats": [{"id": 1, "tags": ["x"], "messages": [{"id": 2, "attachments": [1, 2]}]}],
                        "employees": [{"id": 3, "role": {"code": "op", "level": 2}}]}))
    .unwrap();
    assert_eq!(c.extra["new_top"], json!({"a": 1}));
    assert_eq!(c.visitor.as_ref().unwrap().extra["loyalty"], json!(3));
    assert_eq!(c.chats[0].extra["tags"], json!(["x"]));
    assert_eq!(c.chats[0].messages[0].extra["attachments"], json!([1, 2]));
    assert_eq!(
        c.employees[0].role.as_ref().unwrap().extra["level"],
        json!(2)
    );
    // And they survive a serialize → parse round trip.
    let text = serde_json::to_string(&c).unwrap();
    let again = Conversation::from_json(&text).unwrap();
    assert_eq!(again.extra, c.extra);
    assert_eq!(
        again.chats[0].messages[0].extra,
        c.chats[0].messages[0].extra
    );
    assert_eq!(again.created_at, c.created_at);
}

#[test]
fn a_datetime_that_does_not_parse_is_drift_and_every_child_is_kept() {
    let mut v: serde_json::Value = serde_json::from_str(EXAMPLE).unwrap();
    v["chats"][0]["messages"][2]["created_at"] = json!("yesterday");
    let text = v.to_string();
    let c = Conversation::from_json(&text).unwrap();
    let strict: serde_json::Value = serde_json::from_str(EXAMPLE).unwrap();
    assert_eq!(
        c.chats[0].messages.len(),
        strict["chats"][0]["messages"].as_array().unwrap().len()
    );
    let m = &c.chats[0].messages[2];
    assert_eq!(m.created_at, None);
    assert_eq!(m.extra["created_at"], json!("yesterday"));
    assert_eq!(
        drifts(&c),
        [d("chats[0].messages[2].created_at", "datetime", "string")]
    );
    assert_eq!(c.drift[0].field(), "chats[].messages[].created_at");
}

#[test]
fn a_child_without_a_usable_id_is_kept_whole_in_its_parent() {
    let c =
        conv(json!({"chats": [{"id": 1}, {"id": "x", "duration": 5}, "oops", {"id": 3}]})).unwrap();
    let ids: Vec<i64> = c.chats.iter().map(|ch| ch.id).collect();
    assert_eq!(ids, [1, 3]);
    assert_eq!(c.extra["chats[1]"], json!({"id": "x", "duration": 5}));
    assert_eq!(c.extra["chats[2]"], json!("oops"));
    assert_eq!(
        drifts(&c),
        [
            d("chats[1].id", "integer", "string"),
            d("chats[2]", "object", "string")
        ]
    );
}

#[test]
fn hostile_inputs_are_errors_not_panics() {
    for raw in ["", "[]", "null", "42", "{", "{\"id\": 1}", "{\"id\": null, \"created_at\": \"2026-01-01T00:00:00\"}",
                "{\"id\": 1, \"created_at\": \"2026-01-01T00:00:00\", \"updated_at\": \"2026-01-01T00:00:00\"} trailing"] {
        let err = Conversation::from_json(raw).unwrap_err();
        assert!(!err.message.is_empty(), "{raw}");
    }
    let err = Conversation::from_json("{\"id\": 5, \"created_at\": 17}").unwrap_err();
    assert_eq!(err.conversation_id, Some(5));
    assert_eq!(err.path, "updated_at");
    assert_eq!(err.message, "missing where datetime expected");
    let err = Conversation::from_json("{\"id\": \"x5\", \"updated_at\": \"2026-01-01T00:00:00\"}")
        .unwrap_err();
    assert_eq!(
        (err.path.as_str(), err.message.as_str()),
        ("id", "string where integer expected: \"x5\"")
    );
    // Only `id` and `updated_at` identify a conversation: an unreadable `created_at` is drift.
    let c = Conversation::from_json(
        "{\"id\": 5, \"created_at\": 17, \"updated_at\": \"2026-01-01T00:00:00\"}",
    )
    .unwrap();
    assert_eq!(c.created_at, None);
    assert_eq!(drifts(&c), [d("created_at", "datetime", "number")]);
    assert_eq!(
        Conversation::from_json("[1]").unwrap_err().conversation_id,
        None
    );
}

#[test]
fn unknown_fields_are_captured_in_every_type() {
    let c = conv(json!({
        "site": {"id": 1, "u_site": 1}, "department": {"id": 2, "u_dep": 2},
        "chats": [{"id": 3, "u_chat": 3, "first_message": {"id": 4, "u_first": 4},
                   "employee": {"id": 5, "u_emp": 5}}],
        "calls": [{"id": 6, "u_call": 6, "lead": {"id": 7, "u_call_lead": 7}}],
        "leads": [{"id": 8, "type": "form", "u_lead": 8}],
        "complaints": [{"id": "c9", "u_complaint": 9}],
        "events": [{"event_type": "x", "u_event": 10}],
    }))
    .unwrap();
    assert_eq!(c.site.unwrap().extra["u_site"], json!(1));
    assert_eq!(c.department.unwrap().extra["u_dep"], json!(2));
    let ch = &c.chats[0];
    assert_eq!(ch.extra["u_chat"], json!(3));
    assert_eq!(
        ch.first_message.as_ref().unwrap().extra["u_first"],
        json!(4)
    );
    assert_eq!(ch.employee.as_ref().unwrap().extra["u_emp"], json!(5));
    assert_eq!(c.calls[0].extra["u_call"], json!(6));
    assert_eq!(
        c.calls[0].lead.as_ref().unwrap().extra["u_call_lead"],
        json!(7)
    );
    assert_eq!(c.leads[0].extra["u_lead"], json!(8));
    assert_eq!(c.leads[0].lead_type.as_deref(), Some("form"));
    assert!(
        !c.leads[0].extra.contains_key("type"),
        "renamed key is known"
    );
    assert_eq!(c.complaints[0].extra["u_complaint"], json!(9));
    assert_eq!(c.events[0].extra["u_event"], json!(10));
    // Known fields never leak into `extra`.
    assert_eq!(c.extra.len(), 0);
}

#[test]
fn escaped_keys_are_matched_and_captured() {
    // `\u0069d` is `id` and `t\u0065xt` is `text`: escapes in keys do not hide known fields.
    let raw = r#"{"\u0069d": 9, "created_at": "2026-03-14T18:02:11", "updated_at": "2026-03-14T18:31:40",
                  "chats": [{"id": 1, "messages": [{"id": 2, "t\u0065xt": "a\"b\n", "new\tkey": [1]}]}]}"#;
    let c = Conversation::from_json(raw).unwrap();
    assert_eq!(c.id, 9);
    let m = &c.chats[0].messages[0];
    assert_eq!(m.text.as_deref(), Some("a\"b\n"));
    assert_eq!(m.extra["new\tkey"], json!([1]));
}

#[test]
fn duplicate_and_missing_required_fields() {
    let c = conv(json!({"chats": [{"messages": []}]})).unwrap();
    assert!(c.chats.is_empty());
    assert_eq!(c.extra["chats[0]"], json!({"messages": []}));
    assert_eq!(drifts(&c), [d("chats[0].id", "integer", "missing")]);
    // A conversation id sent twice is ambiguous: the record is refused.
    let raw = r#"{"id": 1, "id": 2, "created_at": "2026-03-14T18:02:11", "updated_at": "2026-03-14T18:31:40"}"#;
    let err = Conversation::from_json(raw).unwrap_err();
    assert_eq!(err.path, "id");
    assert!(err.message.contains("a second value"), "{err}");
    // Any other key sent twice: the first value is read, the second kept.
    let raw = r#"{"id": 1, "duration": 3, "duration": 4, "updated_at": "2026-03-14T18:31:40"}"#;
    let c = Conversation::from_json(raw).unwrap();
    assert_eq!(c.duration, Some(3));
    assert_eq!(c.extra["duration#2"], json!(4));
}
