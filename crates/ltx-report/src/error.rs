//! What can go wrong while building a report.

use std::path::PathBuf;

use chrono::NaiveDate;

/// An error of `ltx report`, naming what failed (the warehouse, the panel's query, the chart,
/// the output file).
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The warehouse's catalog could not be opened read-only.
    #[error("cannot open the warehouse for the report: {0}")]
    Catalog(#[from] ltx_load::LoadError),
    /// `--from` is after `--to`.
    #[error("the report period is empty: --from {from} is after --to {to}")]
    EmptyPeriod {
        /// First day asked for.
        from: NaiveDate,
        /// Last day asked for.
        to: NaiveDate,
    },
    /// A panel's query failed in DuckDB.
    #[error("the query of the report's {panel} panel failed: {message}\n{sql}")]
    Query {
        /// The panel the query feeds.
        panel: &'static str,
        /// The SQL that failed.
        sql: String,
        /// DuckDB's message.
        message: String,
    },
    /// A chart could not be drawn.
    #[error("cannot draw the report's {chart} chart: {message}")]
    Chart {
        /// The chart.
        chart: &'static str,
        /// What plotters said.
        message: String,
    },
    /// The HTML file could not be written.
    #[error("cannot write the report {path}: {source}")]
    Write {
        /// The output file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// `Result` of this crate.
pub type Result<T, E = ReportError> = std::result::Result<T, E>;
