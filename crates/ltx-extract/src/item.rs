//! What the extractor emits: one [`Item`] per conversation, or per record it could not read.
//!
//! Unreadable records are never dropped silently: they travel as [`Item::Unreadable`]
//! so the transform writes them to `_rejected` with the reason and where they came from.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;

/// One conversation, exactly as received, with the two fields the extractor needs.
#[derive(Debug)]
pub struct Extracted {
    /// Conversation id.
    pub id: i64,
    /// Its `updated_at` (UTC).
    pub updated_at: DateTime<Utc>,
    /// The conversation object as received (bytes untouched).
    pub raw: Box<RawValue>,
}

/// A record whose `id` or `updated_at` could not be read.
#[derive(Debug)]
pub struct Unreadable {
    /// The record as received.
    pub raw: Box<RawValue>,
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
pub(crate) fn conversation_head(raw: &RawValue) -> Result<(i64, DateTime<Utc>), String> {
    let head: ConvHead = serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
    let t = ltx_model::parse_api_datetime(&head.updated_at).map_err(|e| e.to_string())?;
    Ok((head.id.0, t))
}

/// A list record's `updated_at` and (for child resources) its conversation id.
#[derive(Debug)]
pub(crate) struct ChildHead {
    pub updated_at: DateTime<Utc>,
    pub conversation_id: Option<i64>,
}

/// Reads `updated_at` and `conversation.id` / `conversation_id` of a list record.
pub(crate) fn child_head(raw: &RawValue) -> Result<ChildHead, String> {
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

/// Builds the item for one raw conversation.
pub(crate) fn classify(raw: Box<RawValue>, origin: impl FnOnce() -> String) -> Item {
    match conversation_head(&raw) {
        Ok((id, updated_at)) => Item::Conversation(Extracted {
            id,
            updated_at,
            raw,
        }),
        Err(error) => Item::Unreadable(Unreadable {
            raw,
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
        let (id, t) = conversation_head(&raw(
            r#"{"id":"42","updated_at":"2026-03-14T18:31:40","x":[1]}"#,
        ))
        .unwrap();
        assert_eq!(id, 42);
        assert_eq!(t.to_rfc3339(), "2026-03-14T15:31:40+00:00");
        assert_eq!(
            conversation_head(&raw(r#"{"id":7,"updated_at":"2026-03-14T18:31:40+03:00"}"#))
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

    #[test]
    fn child_heads_read_the_conversation_reference() {
        let h = child_head(&raw(
            r#"{"id":5,"updated_at":"2026-03-14T18:31:40","conversation":{"id":"99"}}"#,
        ))
        .unwrap();
        assert_eq!(h.conversation_id, Some(99));
        let h = child_head(&raw(
            r#"{"id":"c-1","updated_at":"2026-03-14T18:31:40","conversation_id":12}"#,
        ))
        .unwrap();
        assert_eq!(h.conversation_id, Some(12));
    }
}
