//! Reconciliation and schema drift: counter mismatches and drifted values become
//! `_quality_issues` rows while the data itself is still loaded.

use serde_json::json;

use super::*;

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
