//! LiveTex API types (serde) and nothing else.
//!
//! Owns: the wire shape of a conversation and every nested type, the tolerance
//! rules for what the API really sends (numbers as strings, `null` arrays, `[]`
//! for objects, naive Moscow datetimes), capture of unknown fields, and errors
//! that name the conversation and field path. Does not own: HTTP (ltx-extract),
//! table layout (ltx-transform), storage (ltx-load).

pub mod time;

pub use time::{format_api_datetime, parse_api_datetime, utc_to_moscow, DateTimeError};
