//! Exit codes and the mapping from errors to them (documented in `--help` and the README).

use std::process::ExitCode;

use crate::config::ConfigError;

/// The documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: success.
    Ok = 0,
    /// 1: the run failed.
    Failed = 1,
    /// 2: bad usage or configuration.
    Usage = 2,
    /// 3: authentication error.
    Auth = 3,
    /// 4: the warehouse is locked by another sync.
    Locked = 4,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// A usage problem the CLI itself detects (bad flag combination, unreadable SQL file...).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Which exit code an error chain maps to: the first recognised error wins.
pub fn classify(err: &anyhow::Error) -> Exit {
    for cause in err.chain() {
        if cause.downcast_ref::<ConfigError>().is_some()
            || cause.downcast_ref::<UsageError>().is_some()
        {
            return Exit::Usage;
        }
        if let Some(e) = cause.downcast_ref::<ltx_extract::ExtractError>() {
            return match e {
                ltx_extract::ExtractError::Auth { .. } => Exit::Auth,
                ltx_extract::ExtractError::Config { .. } => Exit::Usage,
                _ => Exit::Failed,
            };
        }
        match cause.downcast_ref::<ltx_load::LoadError>() {
            Some(ltx_load::LoadError::Locked { .. }) => return Exit::Locked,
            Some(ltx_load::LoadError::UnsupportedPath { .. }) => return Exit::Usage,
            _ => {}
        }
    }
    Exit::Failed
}
