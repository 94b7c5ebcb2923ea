//! The fast parser's contract: whenever it returns a conversation, serde returns an equal
//! one (compared as `Debug` text, which shows every field, `extra` and raw JSON included);
//! it never accepts a record serde rejects. Checked on simulator output, on the example,
//! on the tolerance cases, and on randomly mutated records.
#![allow(missing_docs, clippy::unwrap_used)]

use ltx_model::{fast, Conversation};
use proptest::prelude::*;

const EXAMPLE: &str = include_str!("fixtures/conversation.json");

fn sim_lines(n: u64) -> Vec<String> {
    ltx_sim::jsonl_lines(&ltx_sim::SimConfig::default(), n).unwrap()
}

/// `Some(true)`: fast path took it and agrees; `Some(false)`: fast path bailed.
/// Panics when the fast path accepted something serde rejects or reads differently.
fn check(raw: &str) -> bool {
    let Some(fast) = fast::conversation(raw) else {
        return false;
    };
    let serde = match serde_json::from_str::<Conversation>(raw) {
        Ok(c) => c,
        Err(e) => panic!("fast path accepted a record serde rejects ({e}): {raw}"),
    };
    assert_eq!(
        format!("{fast:?}"),
        format!("{serde:?}"),
        "records differ: {raw}"
    );
    true
}

/// `fast::validate` never calls valid what serde rejects, nor invalid what it accepts.
fn check_validate(raw: &str) {
    let serde = serde_json::from_str::<&serde_json::value::RawValue>(raw).is_ok();
    if let Some(valid) = fast::validate(raw) {
        assert_eq!(valid, serde, "validate says {valid}: {raw}");
    }
}

#[test]
fn validation_agrees_with_serde() {
    for line in sim_lines(300) {
        assert_eq!(fast::validate(&line), Some(true));
    }
    assert_eq!(fast::validate(EXAMPLE), Some(true));
    let cases = [
        "",
        " ",
        "{",
        "}",
        "[]",
        "[1,]",
        "{\"a\":}",
        "{\"a\" 1}",
        "{\"a\":1,}",
        "{1:2}",
        "01",
        "-",
        "-0",
        "1.",
        "1.5e",
        "1e+5",
        "1E-2",
        "0.0",
        "tru",
        "true false",
        "nul",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\u0041\"",
        "\"\\ud800\"",
        "\"a\u{1}\"",
        "\"\u{7f}\"",
        "[[[[]]]]",
        " {\"a\" : [ 1 , 2 ] } ",
        "\"open",
        "{\"a\":1}}",
        "[1 2]",
        "{\"a\":1 \"b\":2}",
    ];
    for case in cases {
        check_validate(case);
    }
    let deep = format!("{}{}", "[".repeat(150), "]".repeat(150));
    check_validate(&deep);
}

#[test]
fn validation_reports_the_top_level_members() {
    let text = r#" { "id" : 5, "a\"b": {"id": 6, "x": [1, "id"]}, "updated_at":"2024-01-02" } "#;
    let mut members = Vec::new();
    let valid = fast::validate_members(text, |k, v| members.push((k.to_owned(), v.to_owned())));
    assert_eq!(valid, Some(true));
    assert_eq!(
        members,
        [
            ("id".to_owned(), "5".to_owned()),
            (
                r#"a\"b"#.to_owned(),
                r#"{"id": 6, "x": [1, "id"]}"#.to_owned()
            ),
            ("updated_at".to_owned(), r#""2024-01-02""#.to_owned()),
        ]
    );
    // Every member of a simulator record, values equal to serde's view of them.
    for line in sim_lines(50) {
        let mut members = Vec::new();
        assert_eq!(
            fast::validate_members(&line, |k, v| members.push((k.to_owned(), v.to_owned()))),
            Some(true)
        );
        let serde: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&line).unwrap();
        assert_eq!(members.len(), serde.len());
        for (k, v) in members {
            assert_eq!(
                serde_json::from_str::<serde_json::Value>(&v).unwrap(),
                serde[&k],
                "{k}"
            );
        }
    }
}

#[test]
fn simulator_conversations_take_the_fast_path_and_equal_serde() {
    let lines = sim_lines(3000);
    let fast = lines.iter().filter(|l| check(l)).count();
    eprintln!(
        "fast path: {fast} of {} simulator conversations",
        lines.len()
    );
    // The simulator sends some tolerances on purpose (e.g. durations as strings), which the
    // fast path reads too; what it leaves to serde must stay the exception.
    assert!(
        fast * 100 >= lines.len() * 95,
        "only {fast} of {} on the fast path",
        lines.len()
    );
}

#[test]
fn the_example_takes_the_fast_path() {
    assert!(check(EXAMPLE));
    // Pretty-printed or compact, same result.
    let compact =
        serde_json::to_string(&serde_json::from_str::<serde_json::Value>(EXAMPLE).unwrap())
            .unwrap();
    assert!(check(&compact));
}

#[test]
fn tolerances_agree_or_go_to_serde() {
    let base = r#"{"id":5,"created_at":"2024-01-02T10:00:00","updated_at":"2024-01-02T10:00:00"#;
    let cases = [
        r#""}"#,
        r#"","duration":"120","chat_count":" 3 ","page_count":""}"#,
        r#"","duration":12.0}"#,
        r#"","duration":1e3}"#,
        r#"","duration":-0}"#,
        r#"","duration":01}"#,
        r#"","duration":123456789012345678901}"#,
        r#"","duration":true}"#,
        r#"","chats":{},"calls":null,"leads":[],"events":{"a":1}}"#,
        r#"","visitor":[],"site":{},"department":null}"#,
        r#"","visitor":[1]}"#,
        r#"","visitor":{"id":7},"site":{"id":"8"}}"#,
        r#"","visitor":{"id":""}}"#,
        r#"","visitor":{"name":"x"}}"#,
        r#"","chats":[{"id":1,"is_closed":"1","rem_auto":0,"is_managed":"yes"}]}"#,
        r#"","chats":[{"id":1,"is_closed":2}]}"#,
        r#"","chats":[{}]}"#,
        r#"","chats":[{"id":1},]}"#,
        r#"","chats":[{"id":1,"created_at":"","updated_at":"0000-00-00 00:00:00"}]}"#,
        r#"","chats":[{"id":1,"created_at":"yesterday"}]}"#,
        r#"","widget_id":17,"result":false,"city":null}"#,
        r#"","widget_id":1.5}"#,
        r#"","unknown":{"deep":[1,2.5,"x",null,true]},"other":"\u0416"}"#,
        r#"","visitor_variables":{"a":"\ud83d\ude00"},"prechat_fields":[ {"k" : "v"} ]}"#,
        r#"","city":"\ud83d\ude00"}"#,
        r#"","city":"a\u0000b"}"#,
        r#"","id":6}"#,
        r#"","c\u0069ty":"x"}"#,
        r#"","city":"x"} "#,
        r#"","city":"x"}x"#,
        r#"","city":"x",}"#,
        r#"" , "city" : "x" }"#,
    ];
    let mut taken = 0;
    for case in cases {
        let raw = format!("{base}{case}");
        let took = check(&raw);
        eprintln!("{}: {case}", if took { "fast " } else { "serde" });
        taken += usize::from(took);
    }
    assert!(taken >= 10, "fast path took only {taken} cases");
}

/// Edits that make records unusual in every way the parser has to notice.
const INSERTS: &[&str] = &[
    "\"",
    "\\",
    ",",
    "}",
    "]",
    "{",
    "[",
    ":",
    " ",
    "null",
    "true",
    "0",
    "-0",
    "01",
    "1.5",
    "1e2",
    "\"x\"",
    "{}",
    "[]",
    "\\u0000",
    "\\ud800",
    "\u{1}",
    "\"\\n\"",
    "99999999999999999999",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn mutated_records_never_disagree(
        which in 0usize..4,
        at in any::<prop::sample::Index>(),
        cut in 0usize..4,
        insert in prop::sample::select(INSERTS),
    ) {
        let lines = SAMPLES.with(|s| s.clone());
        let raw = &lines[which];
        // A char boundary near a random position.
        let mut pos = at.index(raw.len());
        while !raw.is_char_boundary(pos) {
            pos -= 1;
        }
        let mut end = (pos + cut).min(raw.len());
        while !raw.is_char_boundary(end) {
            end += 1;
        }
        let mutated = format!("{}{}{}", &raw[..pos], insert, &raw[end..]);
        check(&mutated);
        check_validate(&mutated);
    }
}

thread_local! {
    static SAMPLES: Vec<String> = {
        let mut lines = sim_lines(40);
        // Short records make random positions hit structure rather than message text.
        lines.sort_by_key(String::len);
        let mut picked: Vec<String> = lines.into_iter().take(3).collect();
        picked.push(EXAMPLE.to_owned());
        picked
    };
}

/// Writes `v` with every object's keys in an order chosen by `order` (0: sorted,
/// 1: reversed, 2: rotated by the depth), so key prediction misses and relearns.
fn reorder(v: &serde_json::Value, order: usize, depth: usize, out: &mut String) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            match order {
                1 => entries.reverse(),
                2 if !entries.is_empty() => {
                    let n = depth % entries.len();
                    entries.rotate_left(n);
                }
                _ => {}
            }
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).unwrap());
                out.push(':');
                reorder(v, order, depth + 1, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                reorder(item, order, depth + 1 + i, out);
            }
            out.push(']');
        }
        other => out.push_str(&serde_json::to_string(other).unwrap()),
    }
}

#[test]
fn any_key_order_reads_the_same_as_serde() {
    // Interleaved orders on one thread: every prediction learnt from one record is wrong
    // for the next, and the result must not depend on it.
    let lines = sim_lines(60);
    for (i, line) in lines.iter().enumerate() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        for order in [i % 3, (i + 1) % 3, (i + 2) % 3] {
            let mut text = String::new();
            reorder(&value, order, 0, &mut text);
            assert!(
                check(&text),
                "record {i} in order {order} left the fast path"
            );
        }
    }
}
