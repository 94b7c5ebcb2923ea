//! [`PipelineError`]: why a run did not commit, with the stage it came from.

use std::path::PathBuf;

use crate::config::ConfigError;

/// Why a sync or an import failed.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The configuration (file, flags or environment) is not usable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A file named for import does not exist.
    #[error("no such file: {}", .0.display())]
    NoSuchFile(PathBuf),
    /// The API or a file source failed.
    #[error(transparent)]
    Extract(#[from] ltx_extract::ExtractError),
    /// The transform stopped (a worker panicked, a JSON Lines record is unusable).
    #[error(transparent)]
    Transform(#[from] ltx_transform::pool::PoolError),
    /// The warehouse failed (locked, disk full, …).
    #[error(transparent)]
    Load(#[from] ltx_load::LoadError),
    /// The run passed `sync.max_duration`.
    #[error(transparent)]
    Deadline(#[from] DeadlineExceeded),
    /// A thread of the run panicked (a bug); nothing of the run was committed.
    #[error("the {what} panicked: {message}")]
    Panicked {
        /// Which thread.
        what: &'static str,
        /// The panic's message.
        message: String,
    },
}

impl PipelineError {
    /// Whether the failure is recorded as a failed run in the warehouse: everything but
    /// what a person must fix before anything runs (configuration, credentials).
    pub fn is_recorded(&self) -> bool {
        !matches!(
            self,
            PipelineError::Config(_)
                | PipelineError::NoSuchFile(_)
                | PipelineError::Extract(
                    ltx_extract::ExtractError::Auth { .. }
                        | ltx_extract::ExtractError::Config { .. }
                )
        )
    }

    pub(crate) fn panicked(what: &'static str, e: tokio::task::JoinError) -> Self {
        PipelineError::Panicked {
            what,
            message: e.to_string(),
        }
    }
}

/// A run that passed `sync.max_duration`.
#[derive(Debug, thiserror::Error)]
#[error(
    "the run exceeded sync.max_duration ({limit}) while {what} ({requests} requests, {retries} retries, {rate_limited} answered 429, {conversations} conversations received): nothing of it was committed and the cursor did not move. The API may be stalled or throttling (see the log); for a first sync that needs longer, raise sync.max_duration or backfill in pieces with --from/--to"
)]
pub struct DeadlineExceeded {
    pub(crate) limit: String,
    pub(crate) what: &'static str,
    pub(crate) requests: u64,
    pub(crate) retries: u64,
    pub(crate) rate_limited: u64,
    pub(crate) conversations: u64,
}

/// A run's result.
pub type Result<T> = std::result::Result<T, PipelineError>;
