//! LiveTex API types (serde) and reading them, nothing else.
//!
//! Owns: the wire shape of a conversation and every nested type, the tolerance
//! rules for what the API really sends (numbers as strings, `null` arrays, `[]`
//! for objects, naive Moscow datetimes), capture of unknown fields, and errors
//! that name the conversation and field path. Two readers of the same model: a
//! strict fast parser ([`fast`]) for records as the API normally sends them, and
//! serde ([`de`]) for everything else and for errors. Does not own: HTTP
//! (ltx-extract), table layout (ltx-transform), storage (ltx-load).

pub mod de;
pub mod fast;
mod json_lines;
mod json_text;
pub mod lenient;
mod scan;
pub mod time;
mod types;

pub use json_lines::{json_error_message, line_text, JsonLines, RecordOrigin};
pub use json_text::JsonText;
pub use lenient::{field_of, Drift, FieldInfo, LenientMap};
pub use scan::scan_id;
pub use time::{format_api_datetime, parse_api_datetime, utc_to_moscow, DateTimeError};
pub use types::{
    Call, Chat, Complaint, Conversation, ConversationEvent, Department, Employee, Lead, Message,
    Role, Site, Visitor,
};

use serde::Deserialize;

/// A conversation that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("conversation {}: {path}: {message}", display_id(.conversation_id))]
pub struct ModelError {
    /// The conversation's id, if it could be recovered from the record.
    pub conversation_id: Option<i64>,
    /// Where in the record: `chats[0].messages[3].created_at` (`.` for the record itself).
    pub path: String,
    /// What was wrong, without serde_json's line/column (the path says where).
    pub message: String,
}

fn display_id(id: &Option<i64>) -> String {
    id.map_or_else(|| "<unknown id>".to_owned(), |id| id.to_string())
}

impl<'a> Conversation<'a> {
    /// Parses one conversation object (as the API sends it) with every tolerance of [`de`].
    ///
    /// Text fields and free-form JSON borrow from `raw` where the JSON string has no
    /// escapes, so the result lives as long as `raw`. Thread-safe (no shared state but the
    /// time zone cache), so it can run on another thread than the transform: see
    /// `ltx_transform::Transformer::push_parsed` for the two-core pattern.
    pub fn from_json(raw: &'a str) -> Result<Conversation<'a>, ModelError> {
        // The fast path first (see `fast`): serde only sees records it bails on.
        // Then plain serde_json: path tracking allocates a String per key, which would
        // dominate the hot path. Only a failing record is parsed again, with tracking,
        // to name the field.
        if let Some(conversation) = fast::conversation(raw) {
            return Ok(conversation);
        }
        match serde_json::from_str::<Conversation>(raw) {
            Ok(conversation) => Ok(conversation),
            Err(plain) => Self::from_json_lenient(raw).map_err(|drift| match drift {
                Some(d) => ModelError {
                    conversation_id: recover_id(raw),
                    message: match lenient::top_level_member(raw, &d.path) {
                        Some(value) => {
                            format!("{} where {} expected: {value}", d.received, d.expected)
                        }
                        None => format!("{} where {} expected", d.received, d.expected),
                    },
                    path: d.path,
                },
                None => Self::explain(raw, plain),
            }),
        }
    }

    /// Reads a record the strict readers refused, member by member (see [`lenient`]): every
    /// value that does not fit is kept in `extra` and listed in `drift`. `Err(Some(drift))`
    /// names the unusable `id` or `updated_at`; `Err(None)` when `raw` is not a JSON object.
    pub fn from_json_lenient(raw: &'a str) -> Result<Conversation<'a>, Option<Drift>> {
        let mut cx = lenient::Cx::default();
        match <Conversation as lenient::LenientMap>::lenient_map(raw, false, &mut cx) {
            Ok(Some(mut c)) => {
                let mut drifts = cx.into_drifts();
                // A second `id` or `updated_at` makes the record's identity ambiguous.
                if let Some(i) = drifts
                    .iter()
                    .position(|d| d.path == "id" || d.path == "updated_at")
                {
                    return Err(Some(drifts.swap_remove(i)));
                }
                c.drift = drifts;
                Ok(c)
            }
            // `empty_is_none` is false: an object always reads as `Some`.
            Ok(None) => Err(None),
            // Only a required member fails the conversation: `id` or `updated_at`.
            Err(lenient::Unusable) => {
                let mut drifts = cx.into_drifts();
                let at = drifts
                    .iter()
                    .rposition(|d| d.path == "id" || d.path == "updated_at");
                Err(at.map(|i| drifts.swap_remove(i)).or_else(|| drifts.pop()))
            }
        }
    }

    /// Re-parses a record that failed, tracking the path to the offending field.
    fn explain(raw: &str, plain: serde_json::Error) -> ModelError {
        let conversation_id = recover_id(raw);
        let mut de = serde_json::Deserializer::from_str(raw);
        match serde_path_to_error::deserialize::<_, Conversation>(&mut de) {
            Err(err) => ModelError {
                conversation_id,
                path: err.path().to_string(),
                message: strip_position(err.inner()),
            },
            // The object itself parsed: the error was after it (trailing characters).
            Ok(_) => ModelError {
                conversation_id,
                path: ".".to_owned(),
                message: strip_position(&plain),
            },
        }
    }
}

/// The id of a record that failed to parse, by a second, minimal parse (only on errors).
pub fn recover_id(raw: &str) -> Option<i64> {
    #[derive(Deserialize)]
    struct IdOnly {
        #[serde(default, deserialize_with = "de::opt_i64")]
        id: Option<i64>,
    }
    // Only objects have ids (serde would read a struct from an array positionally).
    if !raw.trim_start().starts_with('{') {
        return None;
    }
    // A stream deserializer tolerates trailing garbage after the object.
    let mut stream = serde_json::Deserializer::from_str(raw).into_iter::<IdOnly>();
    stream.next().and_then(Result::ok).and_then(|r| r.id)
}

/// serde_json appends " at line L column C"; the field path is more useful, so drop it.
fn strip_position(err: &serde_json::Error) -> String {
    let text = err.to_string();
    if err.line() == 0 {
        return text;
    }
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    match text.strip_suffix(&suffix) {
        Some(s) => s.to_owned(),
        None => text,
    }
}
