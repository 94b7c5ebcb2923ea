//! The crate's one error type.

/// What can go wrong compiling calendars.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// A configuration value is invalid; `key` is its full path, e.g.
    /// `calendars.schedules.moscow.week.mon[0]`.
    #[error("key `{key}`: {message}")]
    Key {
        /// Full path of the key in the configuration.
        key: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// A production calendar embedded in the crate does not read (a broken data file;
    /// the crate's tests read every one).
    #[error("production calendar data {file}: {message}")]
    ProductionData {
        /// The data file, e.g. `data/ru.toml`.
        file: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl CalendarError {
    pub(crate) fn key(key: impl Into<String>, message: impl Into<String>) -> Self {
        CalendarError::Key {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// A result of this crate.
pub type Result<T> = std::result::Result<T, CalendarError>;
