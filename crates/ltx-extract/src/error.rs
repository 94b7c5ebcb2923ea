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
    /// The server asked (`Retry-After`) for a wait longer than `max_retry_wait`: the run
    /// stops at once rather than sleeping on the warehouse lock.
    #[error(
        "{method} {url}{context} {wait}; the run stops instead of holding the warehouse lock that long"
    )]
    RetryAfterTooLong {
        /// HTTP method.
        method: &'static str,
        /// Request URL (the token is never part of it).
        url: String,
        /// ` (window …, offset …)` for pages, empty otherwise.
        context: String,
        /// What was asked, and the cap.
        wait: Box<TooLongWait>,
    },
    /// A response body (decompressed) is larger than `max_response_mb`. Not retried: the
    /// same request would get the same body.
    #[error(
        "{method} {url}{context}: the response body is larger than {limit_mb} MiB after decompression (max_response_mb); not read further and not retried. Lower the page size, or raise max_response_mb if the API really sends pages this large"
    )]
    ResponseTooLarge {
        /// HTTP method.
        method: &'static str,
        /// Request URL (the token is never part of it).
        url: String,
        /// ` (window …, offset …)` for pages, empty otherwise.
        context: String,
        /// The limit in MiB.
        limit_mb: u64,
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

/// A `Retry-After` past `max_retry_wait`: what the answer asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLongWait {
    /// HTTP status of the answer that carried the header.
    pub status: u16,
    /// The wait asked for, readable (e.g. `10000000000000000000s (~3.17e11 years)`).
    pub wait: String,
    /// The header as received (first 100 characters).
    pub header: String,
    /// The configured cap, readable.
    pub cap: String,
}

impl std::fmt::Display for TooLongWait {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "answered HTTP {} asking to wait {} before retrying (Retry-After: {:?}), longer than max_retry_wait ({})",
            self.status, self.wait, self.header, self.cap
        )
    }
}
