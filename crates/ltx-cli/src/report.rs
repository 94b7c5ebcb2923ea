//! `ltx report`: writes the warehouse's HTML report (`ltx-report`) and prints its path.

use std::path::{Path, PathBuf};

use ltx_report::{Filters, ReportError, ReportOptions};

use crate::cli::ReportArgs;
use crate::exit::UsageError;

/// The file name of the report inside the warehouse directory (the default `--out`).
pub const DEFAULT_FILE: &str = "report.html";

/// `ltx report`: opens the catalog read-only (the same checks and messages as `ltx query`),
/// renders the report and writes it.
pub fn command(warehouse: &Path, args: &ReportArgs) -> anyhow::Result<()> {
    let options = ReportOptions {
        from: args.from,
        to: args.to,
        filters: Filters {
            site: args.site,
            department: args.department,
        },
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| warehouse.join(DEFAULT_FILE));
    let data = write(warehouse, &options, &out)?;
    println!(
        "report of {} – {} written to {}",
        data.period.from,
        data.period.to,
        out.display()
    );
    Ok(())
}

/// Renders the report of `warehouse` into `out`; a period that cannot be is a usage error.
pub fn write(
    warehouse: &Path,
    options: &ReportOptions,
    out: &Path,
) -> anyhow::Result<ltx_report::ReportData> {
    let conn = crate::query::open_catalog(warehouse)?;
    let (data, page) = ltx_report::render(&conn, options).map_err(usage)?;
    ltx_report::write_file(out, &page)?;
    Ok(data)
}

fn usage(e: ReportError) -> anyhow::Error {
    match e {
        ReportError::EmptyPeriod { .. } => UsageError(e.to_string()).into(),
        other => other.into(),
    }
}

/// Where `ltx demo` writes its report: beside the warehouse's catalog.
pub fn demo_path(warehouse: &Path) -> PathBuf {
    warehouse.join(DEFAULT_FILE)
}
