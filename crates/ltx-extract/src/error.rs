//! The one error type of the crate. Every variant names what a user needs to act:
//! the config key, the URL (never carrying a secret: tokens travel in headers only),
//! the window and offset of a page, the login (never the password), the file and record.

use std::path::PathBuf;

/// Everything that can stop an extraction.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// A configuration value is missing or out of range.
    #[error("invalid extract config `{key}`: {message}")]
    Config {
        /// The config key, e.g. `extract.page_size`.
        key: &'static str,
        /// What is wrong and what is expected.
        message: String,
    },
    /// Authentication failed: bad static token, rejected login, or a renewed token
    /// rejected again. The message says what to check; it never contains a secret.
    #[error("authentication failed: {message}")]
    Auth {
        /// Actionable explanation (names the login, never the password or token).
        message: String,
    },
    /// The API answered with a status that retrying cannot fix (400, 403, 404 on a list…).
    #[error("HTTP {status} from {method} {url}{context}: {message}")]
    Http {
        /// HTTP method.
        method: &'static str,
        /// Request URL (the token is never part of it).
        url: String,
        /// HTTP status code.
        status: u16,
        /// ` (window …, offset …)` for pages, empty otherwise.
        context: String,
        /// The body's `message` (or the start of the body).
        message: String,
    },
    /// A transient failure (5xx, 429, timeout, connection, malformed JSON) persisted
    /// through every allowed attempt.
    #[error("{method} {url}{context} failed after {attempts} attempts: {last_error}")]
    RetriesExhausted {
        /// HTTP method.
        method: &'static str,
        /// Request URL (the token is never part of it).
        url: String,
        /// ` (window …, offset …)` for pages, empty otherwise.
        context: String,
        /// Attempts made.
        attempts: u32,
        /// The last failure seen.
        last_error: String,
    },
    /// The consumer dropped the receiving end of the channel.
    #[error("the conversation channel was closed by its receiver; extraction stopped")]
    ChannelClosed,
    /// A list cannot be paged on without looping or skipping records: the server ignores
    /// or repeats `offset`, or its pages never end (see `guard`).
    #[error("{method} {url}{context}: paging stopped: {message}")]
    Paging {
        /// HTTP method.
        method: &'static str,
        /// Request URL (the token is never part of it).
        url: String,
        /// ` (resource, window …, offset N)`.
        context: String,
        /// What the server did and why going on would loop or skip.
        message: String,
    },
    /// Far fewer records arrived than the API announced (e.g. most discovered
    /// conversations answered 404): committing would be a silent loss.
    #[error("{method} {url}: {message}")]
    Shortfall {
        /// HTTP method.
        method: &'static str,
        /// The endpoint (a path template such as `…/conversations/{id}`).
        url: String,
        /// The counts and what to check.
        message: String,
    },
    /// The API answered with a redirect that is not followed: to another host or port, or
    /// from https to http (requests carry the token, the login carries the password).
    #[error("{method} {url}{context} answered HTTP {status} redirecting to {location}; not followed: {reason}")]
    Redirect {
        /// HTTP method.
        method: &'static str,
        /// Request URL.
        url: String,
        /// ` (resource, window …, offset N)` for pages, empty otherwise.
        context: String,
        /// The 3xx status.
        status: u16,
        /// The `Location` (without its query), or `(none)`.
        location: String,
        /// Why it is refused and what to check.
        reason: String,
    },
    /// A file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file's content is not valid JSON of a supported shape (or is truncated).
    #[error("{path}: record {record}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// 1-based number of the record being read when it failed.
        record: u64,
        /// What went wrong (with line/column when known).
        message: String,
    },
}

/// Formats the page context of an error: ` (resource, window FROM..TO, offset N)`.
pub(crate) fn page_context(
    resource: &str,
    window: Option<&crate::window::Window>,
    offset: u64,
) -> String {
    match window {
        Some(w) => format!(" ({resource}, window {w}, offset {offset})"),
        None => format!(" ({resource}, offset {offset})"),
    }
}
