//! Exit codes and the mapping from errors to them (documented in `--help` and the README).

use std::process::ExitCode;

use ltx_pipeline::{ConfigError, PipelineError};

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
    /// 4: the warehouse is locked by another sync (or, on object storage, another sync
    /// committed first).
    Locked = 4,
    /// 5: the run's data was committed, but `warehouse.duckdb` could not be rebuilt.
    CatalogNotRebuilt = 5,
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

/// A commit whose data is in, but whose DuckDB catalog could not be rebuilt: the views still
/// show the previous commit. Not a failed run (re-running would load nothing new), but a
/// scheduler must hear of it, or dashboards go stale without anyone knowing.
#[derive(Debug, thiserror::Error)]
#[error(
    "the data was committed, but the DuckDB catalog could not be rebuilt, so its views still show the previous commit: {0}. The next run retries; `ltx register` rebuilds it now"
)]
pub struct CatalogNotRebuilt(pub String);

/// `Err(CatalogNotRebuilt)` when a commit (or compaction) reported a catalog error (which
/// names the catalog file).
pub fn catalog_rebuilt(catalog_error: Option<&String>) -> Result<(), CatalogNotRebuilt> {
    match catalog_error {
        None => Ok(()),
        Some(reason) => Err(CatalogNotRebuilt(reason.clone())),
    }
}

/// Which exit code an error chain maps to: the first recognised error wins.
pub fn classify(err: &anyhow::Error) -> Exit {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<PipelineError>() {
            return match e {
                PipelineError::Config(_) | PipelineError::NoSuchFile(_) => Exit::Usage,
                PipelineError::Extract(e) => extract_exit(e),
                PipelineError::Load(e) => load_exit(e),
                _ => Exit::Failed,
            };
        }
        if cause.downcast_ref::<CatalogNotRebuilt>().is_some() {
            return Exit::CatalogNotRebuilt;
        }
        if cause.downcast_ref::<ConfigError>().is_some()
            || cause.downcast_ref::<UsageError>().is_some()
        {
            return Exit::Usage;
        }
        if let Some(e) = cause.downcast_ref::<ltx_extract::ExtractError>() {
            return extract_exit(e);
        }
        if let Some(e) = cause.downcast_ref::<ltx_load::LoadError>() {
            match load_exit(e) {
                Exit::Failed => {}
                code => return code,
            }
        }
    }
    Exit::Failed
}

fn extract_exit(e: &ltx_extract::ExtractError) -> Exit {
    match e {
        ltx_extract::ExtractError::Auth { .. } => Exit::Auth,
        ltx_extract::ExtractError::Config { .. } => Exit::Usage,
        _ => Exit::Failed,
    }
}

fn load_exit(e: &ltx_load::LoadError) -> Exit {
    match e {
        ltx_load::LoadError::Locked { .. } | ltx_load::LoadError::RemoteConflict { .. } => {
            Exit::Locked
        }
        ltx_load::LoadError::UnsupportedPath { .. }
        | ltx_load::LoadError::AsOfUnknownRun { .. }
        | ltx_load::LoadError::AsOfFailedRun { .. }
        | ltx_load::LoadError::AsOfNotRetained { .. } => Exit::Usage,
        _ => Exit::Failed,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_commit_without_its_catalog_exits_5_and_says_how_to_repair() {
        assert!(catalog_rebuilt(None).is_ok());
        let reason = "/srv/wh/warehouse.duckdb: DuckDB catalog /srv/wh/warehouse.duckdb.tmp-7: No space left on device".to_owned();
        let err =
            anyhow::Error::from(catalog_rebuilt(Some(&reason)).unwrap_err()).context("import");
        assert_eq!(classify(&err), Exit::CatalogNotRebuilt);
        assert_eq!(Exit::CatalogNotRebuilt as u8, 5);
        let message = format!("{err:#}");
        for part in [
            "the data was committed",
            "/srv/wh/warehouse.duckdb",
            "No space left on device",
            "ltx register",
        ] {
            assert!(message.contains(part), "{part:?} in {message}");
        }
    }
}
