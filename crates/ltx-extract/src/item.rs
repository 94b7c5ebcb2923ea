//! What the extractor emits: one [`Item`] per conversation, or per record it could not read.
//!
//! Unreadable records are never dropped silently: they travel as [`Item::Unreadable`]
//! so the transform writes them to `_rejected` with the reason and where they came from.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;

/// One JSON value as received, checked to be valid JSON (what a `Box<RawValue>` promises,
/// without having to be one: serde_json can only make a `RawValue` by scanning the text
/// itself, and the JSON Lines reader checks it with [`ltx_model::fast::validate_members`],
/// which is cheaper, falling back to serde only when that cannot tell).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawJson(Box<str>);

impl RawJson {
    /// Checks `text` and keeps it. `Err` with serde_json's message if it is not one JSON
    /// value.
    pub(crate) fn parse(text: &str) -> Result<RawJson, serde_json::Error> {
        match ltx_model::fast::validate(text) {
            Some(true) => Ok(RawJson(text.into())),
            // The fast check failed or could not tell: serde decides (and explains).
            _ => serde_json::from_str::<Box<RawValue>>(text).map(RawJson::from),
        }
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        &self.0
    }
}

impl From<Box<RawValue>> for RawJson {
    fn from(raw: Box<RawValue>) -> Self {
        RawJson(raw.into())
    }
}

impl From<RawJson> for Box<str> {
    fn from(raw: RawJson) -> Self {
        raw.0
    }
}

/// A record's text as received: its JSON, or for a record that is not JSON (see
/// [`crate::page`]) its bytes with every invalid UTF-8 byte and NUL written `\xNN`
/// (lossless; JSON text never holds `\x`, so the escapes stand out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawText(Box<str>);

impl RawText {
    /// The text.
    pub fn get(&self) -> &str {
        &self.0
    }
}

impl From<RawJson> for RawText {
    fn from(raw: RawJson) -> Self {
        RawText(raw.0)
    }
}

impl From<RawText> for Box<str> {
    fn from(raw: RawText) -> Self {
        raw.0
    }
}

/// One record of a list page: JSON, or quarantined bytes (see [`crate::page`]).
///
/// Derefs to the record's JSON, or for a record that is not JSON to its escaped text as
/// a JSON string: code that only hashes or compares records (the pagers' dedupe) handles
/// both alike; [`classify`] and [`child_head`] tell them apart.
#[derive(Debug)]
pub(crate) enum PageRecord {
    /// A record that is valid JSON.
    Json(Box<RawValue>),
    /// A record that is not JSON: its escaped bytes and why.
    NotJson {
        /// The bytes, escaped by [`crate::page::escape_bytes`].
        raw: RawText,
        /// What is wrong with them.
        error: String,
        /// `raw` as a JSON string (what the record derefs to).
        text: Box<RawValue>,
    },
}

impl PageRecord {
    /// A quarantined record.
    pub(crate) fn not_json(raw: String, error: String) -> Self {
        let text =
            serde_json::value::to_raw_value(&raw).unwrap_or_else(|_| RawValue::NULL.to_owned());
        PageRecord::NotJson {
            raw: RawText(raw.into()),
            error,
            text,
        }
    }
}

impl std::ops::Deref for PageRecord {
    type Target = RawValue;

    fn deref(&self) -> &RawValue {
        match self {
            PageRecord::Json(raw) => raw,
            PageRecord::NotJson { text, .. } => text,
        }
    }
}

impl From<Box<RawValue>> for PageRecord {
    fn from(raw: Box<RawValue>) -> Self {
        PageRecord::Json(raw)
    }
}

/// What [`classify`] takes: a record of a page, or anything that is checked JSON.
pub(crate) trait IntoRecord {
    /// The record.
    fn into_record(self) -> Record;
}

/// What [`classify`] reads: checked JSON, or a quarantined record.
pub(crate) enum Record {
    /// Checked JSON.
    Json(RawJson),
    /// Not JSON: its escaped bytes and why.
    NotJson(RawText, String),
}

impl<T: Into<RawJson>> IntoRecord for T {
    fn into_record(self) -> Record {
        Record::Json(self.into())
    }
}

impl IntoRecord for PageRecord {
    fn into_record(self) -> Record {
        match self {
            PageRecord::Json(raw) => Record::Json(raw.into()),
            PageRecord::NotJson { raw, error, .. } => Record::NotJson(raw, error),
        }
    }
}

impl From<crate::page::Piece> for PageRecord {
    fn from(p: crate::page::Piece) -> Self {
        match p {
            crate::page::Piece::Json(raw) => PageRecord::Json(raw),
            crate::page::Piece::NotJson { raw, error } => PageRecord::not_json(raw, error),
        }
    }
}

/// A conversation's `id` and `updated_at`.
type Head = (i64, DateTime<Utc>);

/// `Some(head)` when `text` is valid JSON by [`ltx_model::fast::validate_members`] (the
/// head being `None` when it is not plainly readable, see [`fast_head`]); `None` when
/// that check could not tell.
fn scan_head(text: &str) -> Option<Option<Head>> {
    let mut scan = HeadScan::default();
    (ltx_model::fast::validate_members(text, |k, v| scan.member(k, v)) == Some(true))
        .then(|| scan.finish())
}

/// The top-level members a conversation's head needs: exactly one `id` and one
/// `updated_at`, no escaped key (it could spell either).
#[derive(Default)]
struct HeadScan<'a> {
    id: Option<&'a str>,
    updated_at: Option<&'a str>,
    unsure: bool,
}

impl<'a> HeadScan<'a> {
    fn member(&mut self, key: &'a str, value: &'a str) {
        match key {
            "id" => self.unsure |= self.id.replace(value).is_some(),
            "updated_at" => self.unsure |= self.updated_at.replace(value).is_some(),
            k if k.contains('\\') => self.unsure = true,
            _ => {}
        }
    }

    fn finish(self) -> Option<Head> {
        if self.unsure {
            return None;
        }
        let id = read_id(self.id?)?;
        let updated_at = ltx_model::parse_api_datetime(plain_string(self.updated_at?)?).ok()?;
        Some((id, updated_at))
    }
}

/// One conversation, exactly as received, with the two fields the extractor needs.
#[derive(Debug)]
pub struct Extracted {
    /// Conversation id.
    pub id: i64,
    /// Its `updated_at` (UTC).
    pub updated_at: DateTime<Utc>,
    /// The conversation object as received (bytes untouched).
    pub raw: RawJson,
    /// Where it came from, for records read from files (`FILE record N`): named in the
    /// `_rejected` error if the conversation does not fit the model. `None` from the API
    /// (the row's conversation id and the run's window say enough there).
    pub origin: Option<ltx_model::RecordOrigin>,
}

/// A record whose `id` or `updated_at` could not be read, or that is not JSON at all.
#[derive(Debug)]
pub struct Unreadable {
    /// The record as received (escaped where it is not text, see [`RawText`]).
    pub raw: RawText,
    /// Why it could not be read.
    pub error: String,
    /// Where it came from: `GET URL (window …, offset N) item K` or `FILE record N`.
    pub origin: String,
}

/// An element of the extractor's output stream.
#[derive(Debug)]
pub enum Item {
    /// A readable conversation.
    Conversation(Extracted),
    /// A record to write to `_rejected`.
    Unreadable(Unreadable),
}

/// An id sent as a number or as a numeric string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Id(pub i64);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Id;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer id (number or numeric string)")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Id, E> {
                Ok(Id(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Id, E> {
                i64::try_from(v).map(Id).map_err(E::custom)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Id, E> {
                if v.fract() == 0.0 && v.abs() < 9.0e15 {
                    Ok(Id(v as i64))
                } else {
                    Err(E::custom(format!("id {v} is not an integer")))
                }
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Id, E> {
                v.trim()
                    .parse()
                    .map(Id)
                    .map_err(|_| E::custom(format!("id {v:?} is not numeric")))
            }
        }
        d.deserialize_any(V)
    }
}

/// The fields read from every list record: its own `id`/`updated_at` and, for
/// chats/calls/leads/complaints, the conversation it belongs to.
#[derive(Debug, Deserialize)]
pub(crate) struct RawHead {
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    conversation: Option<ConvRef>,
    #[serde(default)]
    conversation_id: Option<Id>,
}

#[derive(Debug, Deserialize)]
struct ConvRef {
    id: Id,
}

/// `id` and `updated_at` of a conversation.
#[derive(Debug, Deserialize)]
struct ConvHead {
    id: Id,
    updated_at: String,
}

/// Reads a conversation's `id` and `updated_at`.
///
/// Tries [`fast_head`] first: it only answers when serde would give the same answer, so
/// every error and tolerance below is serde's.
pub(crate) fn conversation_head(raw: &str) -> Result<(i64, DateTime<Utc>), String> {
    if let Some(head) = fast_head(raw) {
        return Ok(head);
    }
    serde_head(raw)
}

/// The reference reader: a serde struct (every other field skipped by serde_json).
fn serde_head(text: &str) -> Result<(i64, DateTime<Utc>), String> {
    let head: ConvHead = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let t = ltx_model::parse_api_datetime(&head.updated_at).map_err(|e| e.to_string())?;
    Ok((head.id.0, t))
}

/// `id` and `updated_at` of a conversation, read in one strict pass over its text
/// ([`ltx_model::fast::validate_members`], which reports the top-level members and skips
/// nested values eight bytes at a time); `None` means "ask serde" (not "invalid").
///
/// [`serde_head`] tokenizes every nested value through serde's visitor machinery.
/// This reader answers only in the plain case: an object with exactly one `id` key (an
/// integer of at most 18 digits, or a string without escapes that `Id` reads) and
/// exactly one `updated_at` key (a string without escapes that
/// [`ltx_model::parse_api_datetime`] reads), no top-level key with an escape. Anything
/// else (duplicates, floats, escapes, a missing field, a bad value) goes to serde, so
/// errors stay serde's.
fn fast_head(text: &str) -> Option<Head> {
    scan_head(text).flatten()
}

/// The content of a string value (its whole JSON text) without escapes.
fn plain_string(value: &str) -> Option<&str> {
    let inner = value.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains('\\')).then_some(inner)
}

/// An id (a value's whole JSON text) as [`Id`] reads it, restricted to the plain cases: an
/// integer of at most 18 digits (serde_json reads it exactly, as `u64`/`i64`; `-0` is `0`
/// either way) or a string without escapes (`Id` trims and parses it, as here).
fn read_id(value: &str) -> Option<i64> {
    if value.starts_with('"') {
        return plain_string(value)?.trim().parse().ok();
    }
    let digits = value.strip_prefix('-').unwrap_or(value);
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    value.parse().ok()
}

/// A list record's `updated_at` and (for child resources) its conversation id.
#[derive(Debug)]
pub(crate) struct ChildHead {
    pub updated_at: DateTime<Utc>,
    pub conversation_id: Option<i64>,
}

/// Reads `updated_at` and `conversation.id` / `conversation_id` of a list record.
pub(crate) fn child_head(record: &PageRecord) -> Result<ChildHead, String> {
    let raw = match record {
        PageRecord::Json(raw) => raw,
        PageRecord::NotJson { error, .. } => return Err(error.clone()),
    };
    let head: RawHead = serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
    let s = head.updated_at.ok_or("missing field `updated_at`")?;
    let updated_at = ltx_model::parse_api_datetime(&s).map_err(|e| e.to_string())?;
    let conversation_id = head
        .conversation
        .map(|c| c.id.0)
        .or(head.conversation_id.map(|i| i.0));
    Ok(ChildHead {
        updated_at,
        conversation_id,
    })
}

/// Builds the item for one raw conversation (a record that is not JSON is unreadable).
pub(crate) fn classify(raw: impl IntoRecord, origin: impl FnOnce() -> String) -> Item {
    let raw = match raw.into_record() {
        Record::Json(raw) => raw,
        Record::NotJson(raw, error) => {
            return Item::Unreadable(Unreadable {
                raw,
                error,
                origin: origin(),
            })
        }
    };
    match conversation_head(raw.get()) {
        Ok((id, updated_at)) => Item::Conversation(Extracted {
            id,
            updated_at,
            raw,
            origin: None,
        }),
        Err(error) => Item::Unreadable(Unreadable {
            raw: raw.into(),
            error,
            origin: origin(),
        }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_owned()).unwrap()
    }

    #[test]
    fn ids_may_be_numbers_or_numeric_strings() {
        let (id, t) =
            conversation_head(r#"{"id":"42","updated_at":"2026-03-14T18:31:40","x":[1]}"#).unwrap();
        assert_eq!(id, 42);
        assert_eq!(t.to_rfc3339(), "2026-03-14T15:31:40+00:00");
        assert_eq!(
            conversation_head(r#"{"id":7,"updated_at":"2026-03-14T18:31:40+03:00"}"#)
                .unwrap()
                .0,
            7
        );
    }

    #[test]
    fn unreadable_records_become_unreadable_items() {
        match classify(
            raw(r#"{"id":"x1","updated_at":"2026-03-14T18:31:40"}"#),
            || "here".into(),
        ) {
            Item::Unreadable(u) => {
                assert!(u.error.contains("x1"), "{}", u.error);
                assert_eq!(u.origin, "here");
            }
            Item::Conversation(_) => panic!("must be unreadable"),
        }
        assert!(matches!(
            classify(raw(r#"{"id":1}"#), String::new),
            Item::Unreadable(_)
        ));
        assert!(matches!(
            classify(raw(r#"[1]"#), String::new),
            Item::Unreadable(_)
        ));
    }

    /// Checks the fast head against serde on `text` (valid JSON): when the fast path
    /// answers, serde gives the same answer. Returns whether the fast path answered.
    fn agrees(text: &str) -> bool {
        let fast = fast_head(text);
        if let Some(head) = fast {
            assert_eq!(Ok(head), serde_head(text), "{text}");
        }
        // And the public reader is serde's answer either way.
        assert_eq!(conversation_head(text), serde_head(text), "{text}");
        assert_eq!(RawJson::parse(text).unwrap().get(), text);
        fast.is_some()
    }

    const EXAMPLE: &str = include_str!("../../ltx-model/tests/fixtures/conversation.json");

    fn sim_lines(n: u64) -> Vec<String> {
        ltx_sim::jsonl_lines(&ltx_sim::SimConfig::default(), n).unwrap()
    }

    #[test]
    fn the_example_and_simulator_records_take_the_fast_path() {
        assert!(agrees(EXAMPLE));
        let lines = sim_lines(300);
        assert!(lines.len() >= 300);
        for line in &lines {
            assert!(agrees(line), "{line}");
        }
    }

    #[test]
    fn nested_ids_strings_and_escapes_are_not_misread() {
        let t = r#""updated_at":"2026-03-14T18:31:40""#;
        for (text, fast) in [
            // `id` keys in nested objects and arrays, before and after the real one.
            (
                format!(r#"{{"a":{{"id":1,"b":[{{"id":2}}]}},"id":3,{t}}}"#),
                true,
            ),
            (
                format!(r#"{{"id":3,"a":[[{{"id":1}}],{{"updated_at":"x"}}],{t}}}"#),
                true,
            ),
            // `"id":` inside strings, with escaped quotes and backslashes around it.
            (format!(r#"{{"s":"\"id\":1,","id":4,{t}}}"#), true),
            (format!(r#"{{"s":"\\","id":5,"u":"\\\"id\":9",{t}}}"#), true),
            (
                format!(r#"{{"s":["\\\\",{{"k":"\"}}]"}}],"id":6,{t}}}"#),
                true,
            ),
            (format!(r#"{{"s":"\u0022id\u0022:1","id":7,{t}}}"#), true),
            // Brackets in strings, whitespace everywhere.
            (format!("{{ \"a\" : \"{{[\" ,\n\"id\"\t:\r8 , {t} }}"), true),
            (
                format!(r#"{{"a":"]}}","b":{{"c":"[{{"}},"id":9,{t}}}"#),
                true,
            ),
            // Ids as strings (trimmed, signed) and as numbers.
            (format!(r#"{{"id":" 42 ",{t}}}"#), true),
            (format!(r#"{{"id":"+42",{t}}}"#), true),
            (format!(r#"{{"id":-42,{t}}}"#), true),
            (format!(r#"{{"id":-0,{t}}}"#), true),
            (format!(r#"{{"id":999999999999999999,{t}}}"#), true),
            // serde's cases: escapes, floats, long or odd ids, missing and duplicate keys.
            (format!(r#"{{"i\u0064":1,{t}}}"#), false),
            (format!(r#"{{"\"":1,"id":1,{t}}}"#), false),
            (format!(r#"{{"id":"4\u0032",{t}}}"#), false),
            (
                r#"{"id":1,"updated_at":"2026-03-14T18:31:4\u0030"}"#.to_owned(),
                false,
            ),
            (format!(r#"{{"id":1.0,{t}}}"#), false),
            (format!(r#"{{"id":1e3,{t}}}"#), false),
            (format!(r#"{{"id":1.5,{t}}}"#), false),
            (format!(r#"{{"id":9223372036854775807,{t}}}"#), false),
            (format!(r#"{{"id":9223372036854775808,{t}}}"#), false),
            (format!(r#"{{"id":-99999999999999999999,{t}}}"#), false),
            (format!(r#"{{"id":null,{t}}}"#), false),
            (format!(r#"{{"id":true,{t}}}"#), false),
            (format!(r#"{{"id":"x1",{t}}}"#), false),
            (format!(r#"{{"id":[1],{t}}}"#), false),
            (r#"{"id":1,"updated_at":null}"#.to_owned(), false),
            (r#"{"id":1,"updated_at":"yesterday"}"#.to_owned(), false),
            (r#"{"id":1,"updated_at":20260314}"#.to_owned(), false),
            (format!(r#"{{{t}}}"#), false),
            (r#"{"id":1}"#.to_owned(), false),
            ("{}".to_owned(), false),
            (format!(r#"{{"id":1,"id":2,{t}}}"#), false),
            (format!(r#"{{"id":1,{t},{t}}}"#), false),
            (r#"[1,"2026-03-14T18:31:40"]"#.to_owned(), false),
            ("17".to_owned(), false),
        ] {
            assert_eq!(agrees(&text), fast, "{text}");
        }
    }

    thread_local! {
        /// Short records (random positions then hit structure rather than message
        /// text), the example and a small record full of traps.
        static SAMPLES: Vec<String> = {
            let mut lines = sim_lines(40);
            lines.sort_by_key(String::len);
            let mut picked: Vec<String> = lines.into_iter().take(3).collect();
            picked.push(EXAMPLE.to_owned());
            picked.push(
                r#"{"a":{"id":2,"s":"x\"id\":3"},"id":1,"b":["\\",{"updated_at":5}],"updated_at":"2026-03-14T18:31:40"}"#
                    .to_owned(),
            );
            picked
        };
    }

    /// Snippets inserted into records: keys, values, strings and bare structure.
    const INSERTS: &[&str] = &[
        r#""id":1,"#,
        r#""id":"12","#,
        r#""id":1.0,"#,
        r#""id":"#,
        r#","id":77"#,
        r#""updated_at":"2026-01-01T00:00:00","#,
        r#","updated_at":"2026-01-01""#,
        r#""i\u0064":5,"#,
        r#""x":{"id":3},"#,
        r#""x":["id",{"id":4}],"#,
        r#"\""#,
        r#"\\"#,
        r#"""#,
        r#"\"id\":"#,
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        " ",
        "-",
        "0",
        "9",
        ".5",
        "e3",
        "null",
        "",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        /// Whatever the mutation, when the mutated record is still JSON and the fast
        /// path answers, serde gives the same answer.
        #[test]
        fn mutated_records_never_disagree(
            which in 0usize..5,
            at in proptest::prelude::any::<proptest::sample::Index>(),
            cut in 0usize..6,
            insert in proptest::sample::select(INSERTS),
        ) {
            let text = SAMPLES.with(|s| s[which].clone());
            let mut pos = at.index(text.len());
            while !text.is_char_boundary(pos) {
                pos -= 1;
            }
            let mut end = (pos + cut).min(text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            let mutated = format!("{}{}{}", &text[..pos], insert, &text[end..]);
            if serde_json::from_str::<&RawValue>(&mutated).is_ok() {
                agrees(&mutated);
            }
        }
    }

    /// A JSON value made of strings full of quotes, backslashes and brackets.
    fn tricky_value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        use serde_json::Value;
        let leaf = prop_oneof![
            "[\"\\\\{}\\[\\]:,a-cé ]{0,20}".prop_map(Value::String),
            any::<i32>().prop_map(Value::from),
            Just(Value::Null),
        ];
        leaf.prop_recursive(5, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec(("[\"\\\\{}a]{0,6}", inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// The skipper ends every value where it ends, wherever its bytes fall in the
        /// eight-byte words, and whatever whitespace surrounds its tokens.
        #[test]
        fn values_are_skipped_exactly(
            value in tricky_value(),
            pad in 0usize..16,
            pretty in proptest::prelude::any::<bool>(),
        ) {
            let json = if pretty {
                serde_json::to_string_pretty(&value).unwrap()
            } else {
                serde_json::to_string(&value).unwrap()
            };
            let text = format!("{{\"v\":{}{json},\"id\":1}}", " ".repeat(pad));
            let mut first = None;
            let valid = ltx_model::fast::validate_members(&text, |_, v| {
                first.get_or_insert(v);
            });
            proptest::prop_assert_eq!(valid, Some(true));
            proptest::prop_assert_eq!(first, Some(json.as_str()));
        }
    }

    #[test]
    fn records_that_are_not_json_become_unreadable_items() {
        let bad = PageRecord::not_json(
            r#"{"id":3,"s":"a\xFF"}"#.to_owned(),
            "not valid JSON: invalid UTF-8 byte 0xFF".to_owned(),
        );
        // It derefs to its text as a JSON string (for hashing), never parsed as a record.
        assert_eq!(bad.get(), r#""{\"id\":3,\"s\":\"a\\xFF\"}""#);
        assert!(child_head(&bad).unwrap_err().contains("0xFF"));
        match classify(bad, || "page 1 item 2".into()) {
            Item::Unreadable(u) => {
                assert_eq!(u.raw.get(), r#"{"id":3,"s":"a\xFF"}"#);
                assert!(u.error.contains("0xFF"));
                assert_eq!(u.origin, "page 1 item 2");
            }
            Item::Conversation(_) => panic!("must be unreadable"),
        }
    }

    #[test]
    fn child_heads_read_the_conversation_reference() {
        let h = child_head(&PageRecord::from(raw(
            r#"{"id":5,"updated_at":"2026-03-14T18:31:40","conversation":{"id":"99"}}"#,
        )))
        .unwrap();
        assert_eq!(h.conversation_id, Some(99));
        let h = child_head(&PageRecord::from(raw(
            r#"{"id":"c-1","updated_at":"2026-03-14T18:31:40","conversation_id":12}"#,
        )))
        .unwrap();
        assert_eq!(h.conversation_id, Some(12));
    }
}
