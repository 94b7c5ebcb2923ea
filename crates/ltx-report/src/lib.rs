//! `ltx report`: the stage after load. One self-contained HTML file (inline CSS and SVG, no
//! script, nothing fetched) that an operations lead reads in a minute: KPI tiles against
//! the previous period, conversations and success rate per day, service levels (SLA
//! attainment against the configured targets, per day, department and operator), the
//! hour-of-week load in Moscow time, the channel mix, the lead funnel, the operators ranked,
//! and data quality and run health.
//!
//! Owns: the report's queries ([`data`], over the BI models of `sql/` and the bookkeeping
//! views, every number computed by DuckDB), its charts ([`charts`], plotters → SVG) and its
//! page ([`html`]). Does not own the warehouse (opened read-only through
//! [`ltx_load::Warehouse::open_catalog_readonly`]; this crate names none of its files) nor
//! the models themselves (`sql/`, embedded by `ltx-load`), nor the command line (`ltx-cli`).

pub mod charts;
pub mod data;
pub mod error;
pub mod format;
pub mod html;

use std::path::Path;

use chrono::{Duration, NaiveDate};
use duckdb::Connection;

pub use data::{Filters, Period, ReportData};
pub use error::{ReportError, Result};

/// What to report on: the period (`None`: the last [`data::DEFAULT_DAYS`] days ending at
/// the last day with data) and the filters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReportOptions {
    /// First UTC day (`--from`).
    pub from: Option<NaiveDate>,
    /// Last UTC day, included (`--to`).
    pub to: Option<NaiveDate>,
    /// `--site` and `--department`.
    pub filters: Filters,
}

/// The period `options` asks for: missing ends default to the last day with data (today,
/// in an empty warehouse) and [`data::DEFAULT_DAYS`] days before it.
pub fn resolve_period(conn: &Connection, options: &ReportOptions) -> Result<Period> {
    let to = match options.to {
        Some(to) => to,
        None => {
            let last = data::last_day(conn, &options.filters)?
                .unwrap_or_else(|| chrono::Utc::now().date_naive());
            match options.from {
                // A --from after the last data: a period of the default length from there.
                Some(from) if from > last => from + Duration::days(data::DEFAULT_DAYS - 1),
                _ => last,
            }
        }
    };
    let from = options
        .from
        .unwrap_or(to - Duration::days(data::DEFAULT_DAYS - 1));
    if from > to {
        return Err(ReportError::EmptyPeriod { from, to });
    }
    Ok(Period { from, to })
}

/// Queries the report's numbers on a connection to the warehouse's catalog.
pub fn collect(conn: &Connection, options: &ReportOptions) -> Result<ReportData> {
    let period = resolve_period(conn, options)?;
    data::collect(conn, period, options.filters)
}

/// The report page for `conn`'s warehouse.
pub fn render(conn: &Connection, options: &ReportOptions) -> Result<(ReportData, String)> {
    let started = std::time::Instant::now();
    let data = collect(conn, options)?;
    let generated = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string();
    let page = html::render(&data, &generated)?;
    tracing::debug!(
        from = %data.period.from,
        to = %data.period.to,
        bytes = page.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "report rendered"
    );
    Ok((data, page))
}

/// Opens the warehouse `dir` read-only, renders its report and writes it to `out`
/// (through a temporary file renamed into place: a reader never sees half a page).
pub fn write_report(dir: &Path, options: &ReportOptions, out: &Path) -> Result<ReportData> {
    let catalog = ltx_load::Warehouse::open_catalog_readonly(dir)?;
    let (data, page) = render(catalog.connection(), options)?;
    write_file(out, &page)?;
    Ok(data)
}

/// Writes `page` to `out` atomically (temporary file in the same directory, then rename).
pub fn write_file(out: &Path, page: &str) -> Result<()> {
    let err = |source| ReportError::Write {
        path: out.to_path_buf(),
        source,
    };
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report.html".to_owned());
    let tmp = out.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, page).map_err(err)?;
    std::fs::rename(&tmp, out).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e)
    })
}

#[cfg(test)]
mod tests;
