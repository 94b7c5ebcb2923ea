//! `ltx query`: SQL against the warehouse's DuckDB catalog, opened read-only, printed as an
//! aligned table, CSV or JSON (Arrow writers over the record batches DuckDB returns). With
//! `--as-of`, against the views of an earlier generation the loader builds in memory.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use std::sync::Arc;

use arrow::datatypes::{DataType, FieldRef, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use duckdb::Connection;
use ltx_load::{AsOf, LoadError, Warehouse};

use crate::cli::OutputFormat;
use crate::exit::UsageError;

/// Opens the warehouse's DuckDB catalog read-only (other readers and the writer can go on).
/// A missing catalog and one built for another directory (moved or copied) are usage
/// errors naming the fix; views behind the last commit are only a warning.
pub fn open_catalog(warehouse: &Path) -> anyhow::Result<Connection> {
    let catalog = Warehouse::open_catalog_readonly(warehouse).map_err(|e| match e {
        LoadError::CatalogMissing { .. } => UsageError(format!(
            "{e} (run `ltx sync` or `ltx demo` first, or pass --warehouse)"
        ))
        .into(),
        LoadError::CatalogElsewhere { .. } => UsageError(format!(
            "{e}. Run `ltx register --warehouse {}` to point its views here",
            warehouse.display()
        ))
        .into(),
        other => anyhow::Error::from(other),
    })?;
    // A commit whose catalog rebuild failed (logged by that sync, which still exits 0: its
    // data is safe) leaves views one or more commits behind.
    if let Some((catalog_generation, committed_generation)) = catalog.behind() {
        tracing::warn!(
            catalog_generation,
            committed_generation,
            "the views show an older state than the warehouse holds (a sync may be finishing; if it persists, run `ltx register --warehouse {}`)",
            warehouse.display()
        );
    }
    Ok(catalog.into_connection())
}

/// The warehouse as it was after the run `as_of` names, or at the instant it spells (RFC
/// 3339, or LiveTex's syntax: a date is its Moscow midnight). A run id that is neither, a
/// failed run and a state no longer retained are usage errors naming what is available.
pub fn open_as_of(warehouse: &Path, as_of: &str) -> anyhow::Result<Connection> {
    let asked = if Warehouse::has_run(warehouse, as_of) {
        AsOf::Run(as_of.to_owned())
    } else {
        match ltx_model::parse_api_datetime(as_of) {
            Ok(t) => AsOf::Instant(t),
            Err(_) => AsOf::Run(as_of.to_owned()),
        }
    };
    let catalog = Warehouse::open_as_of(warehouse, &asked).map_err(|e| match e {
        LoadError::AsOfUnknownRun { .. } => UsageError(format!(
            "--as-of {as_of}: {e}, and it is not an instant either (RFC 3339 such as 2026-12-01T10:00:00Z, or a date for its Moscow midnight)"
        ))
        .into(),
        LoadError::AsOfFailedRun { .. } | LoadError::AsOfNotRetained { .. } => {
            UsageError(format!("--as-of {as_of}: {e}")).into()
        }
        LoadError::CatalogMissing { .. } => UsageError(format!(
            "no warehouse at {} (run `ltx sync` or `ltx demo` first, or pass --warehouse)",
            warehouse.display()
        ))
        .into(),
        other => anyhow::Error::from(other),
    })?;
    tracing::info!(
        generation = catalog.generation(),
        committed_at = %catalog.committed_at(),
        "answering from the warehouse as of {asked}"
    );
    Ok(catalog.into_connection())
}

/// DuckDB's own message, without the driver's "Error code 1: Unknown error code" suffix.
fn duckdb_message(e: &duckdb::Error) -> String {
    let text = e.to_string();
    text.trim_end_matches(": Error code 1: Unknown error code")
        .trim_end()
        .to_owned()
}

/// Runs `sql` and returns its schema and batches.
pub fn run(conn: &Connection, sql: &str) -> anyhow::Result<(SchemaRef, Vec<RecordBatch>)> {
    let mut stmt = conn
        .prepare(sql)
        .map_err(|e| anyhow::anyhow!("the query failed: {}", duckdb_message(&e)))?;
    let batches: Vec<RecordBatch> = stmt
        .query_arrow([])
        .map_err(|e| anyhow::anyhow!("the query failed: {}", duckdb_message(&e)))?
        .collect();
    let schema = batches
        .first()
        .map(|b| b.schema())
        .unwrap_or_else(|| stmt.schema());
    printable(schema, batches)
}

/// `DataType` with every named time zone replaced by `+00:00`. DuckDB hands `TIMESTAMPTZ`
/// (all the warehouse's timestamps) over as `Timestamp(_, "UTC")`, and Arrow's printers only
/// understand offsets without the `chrono-tz` tables; the values are UTC instants, so the
/// offset changes nothing but the label.
fn printable_type(t: &DataType) -> DataType {
    let field = |f: &FieldRef| -> FieldRef {
        Arc::new(
            f.as_ref()
                .clone()
                .with_data_type(printable_type(f.data_type())),
        )
    };
    match t {
        DataType::Timestamp(unit, Some(tz))
            if tz.parse::<arrow::array::timezone::Tz>().is_err() =>
        {
            DataType::Timestamp(*unit, Some("+00:00".into()))
        }
        DataType::List(f) => DataType::List(field(f)),
        DataType::LargeList(f) => DataType::LargeList(field(f)),
        DataType::FixedSizeList(f, n) => DataType::FixedSizeList(field(f), *n),
        DataType::Struct(fields) => DataType::Struct(fields.iter().map(field).collect()),
        DataType::Map(f, sorted) => DataType::Map(field(f), *sorted),
        other => other.clone(),
    }
}

/// The query's result with its time zones made printable (see [`printable_type`]).
fn printable(
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
) -> anyhow::Result<(SchemaRef, Vec<RecordBatch>)> {
    let fields: Vec<FieldRef> = schema
        .fields()
        .iter()
        .map(|f| {
            Arc::new(
                f.as_ref()
                    .clone()
                    .with_data_type(printable_type(f.data_type())),
            )
        })
        .collect();
    if fields.iter().zip(schema.fields()).all(|(a, b)| a == b) {
        return Ok((schema, batches));
    }
    let printable_schema = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    let batches = batches
        .iter()
        .map(|b| {
            let columns = b
                .columns()
                .iter()
                .zip(printable_schema.fields())
                .map(|(c, f)| arrow::compute::cast(c, f.data_type()))
                .collect::<Result<Vec<_>, _>>()?;
            RecordBatch::try_new(printable_schema.clone(), columns)
        })
        .collect::<Result<Vec<_>, _>>()
        .context("preparing timestamps for printing")?;
    Ok((printable_schema, batches))
}

/// Writes batches to `out` in `format`.
pub fn write(
    out: &mut dyn Write,
    format: OutputFormat,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> anyhow::Result<()> {
    match format {
        OutputFormat::Table => {
            let table =
                arrow::util::pretty::pretty_format_batches_with_schema(schema.clone(), batches)?;
            writeln!(out, "{table}")?;
        }
        OutputFormat::Csv => {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut *out);
            if batches.is_empty() {
                // The CSV writer writes a header only with a batch: give it an empty one.
                w.write(&RecordBatch::new_empty(schema.clone()))?;
            }
            for b in batches {
                w.write(b)?;
            }
        }
        OutputFormat::Json => {
            let mut w = arrow::json::WriterBuilder::new()
                .with_explicit_nulls(true)
                .build::<_, arrow::json::writer::JsonArray>(&mut *out);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
            drop(w);
            writeln!(out)?;
        }
    }
    Ok(())
}

/// `ltx query`: reads the SQL (argument or file), runs it (`--as-of`: on an earlier
/// generation), prints to stdout.
pub fn command(
    warehouse: &Path,
    sql: &str,
    format: OutputFormat,
    as_of: Option<&str>,
) -> anyhow::Result<()> {
    let conn = match as_of {
        None => open_catalog(warehouse)?,
        Some(as_of) => open_as_of(warehouse, as_of)?,
    };
    let (schema, batches) = run(&conn, sql)?;
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    write(&mut lock, format, &schema, &batches)?;
    lock.flush()?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sample() -> (SchemaRef, Vec<RecordBatch>) {
        let conn = Connection::open_in_memory().unwrap();
        run(&conn, "SELECT 1::BIGINT AS n, 'a,b' AS s, NULL::VARCHAR AS z UNION ALL SELECT 2, 'c', 'x' ORDER BY n").unwrap()
    }

    fn render(format: OutputFormat) -> String {
        let (schema, batches) = sample();
        let mut out = Vec::new();
        write(&mut out, format, &schema, &batches).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn formats() {
        insta::assert_snapshot!(render(OutputFormat::Table));
        assert_eq!(render(OutputFormat::Csv), "n,s,z\n1,\"a,b\",\n2,c,x\n");
        let v: serde_json::Value = serde_json::from_str(&render(OutputFormat::Json)).unwrap();
        assert_eq!(v[0]["s"], "a,b");
        assert!(v[0]["z"].is_null());
        assert_eq!(v[1]["n"], 2);
    }

    #[test]
    fn timestamps_with_time_zones_print_in_every_format() {
        // DuckDB returns TIMESTAMPTZ as Timestamp(µs, "UTC"), which Arrow's printers
        // rejected ("Invalid timezone"): every `SELECT *` on a warehouse table failed.
        let conn = Connection::open_in_memory().unwrap();
        let (schema, batches) = run(
            &conn,
            "SELECT TIMESTAMPTZ '2026-08-03 04:15:02+00' AS t, \
             [TIMESTAMPTZ '2014-10-26 01:30:00+00'] AS l, \
             {'at': TIMESTAMPTZ '2026-01-01 00:00:00+00'} AS s, \
             NULL::TIMESTAMPTZ AS n, TIMESTAMP '2026-08-03 04:15:02' AS plain",
        )
        .unwrap();
        let print = |format| {
            let mut out = Vec::new();
            write(&mut out, format, &schema, &batches).unwrap();
            String::from_utf8(out).unwrap()
        };
        let table = print(OutputFormat::Table);
        assert!(table.contains("2026-08-03T04:15:02Z"), "{table}");
        assert!(table.contains("2014-10-26T01:30:00Z"), "{table}");
        assert!(table.contains("2026-01-01T00:00:00Z"), "{table}");
        assert!(table.contains("2026-08-03T04:15:02 "), "{table}");
        let json: serde_json::Value = serde_json::from_str(&print(OutputFormat::Json)).unwrap();
        assert_eq!(json[0]["t"], "2026-08-03T04:15:02Z");
        assert!(json[0]["n"].is_null());
        // CSV has no nested values: the scalar columns alone.
        let (schema, batches) = run(
            &conn,
            "SELECT TIMESTAMPTZ '2026-08-03 04:15:02+00' AS t, NULL::TIMESTAMPTZ AS n",
        )
        .unwrap();
        let mut out = Vec::new();
        write(&mut out, OutputFormat::Csv, &schema, &batches).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "t,n\n2026-08-03T04:15:02Z,\n"
        );
    }

    #[test]
    fn empty_results_keep_the_header() {
        let conn = Connection::open_in_memory().unwrap();
        let (schema, batches) = run(&conn, "SELECT 1 AS n WHERE false").unwrap();
        let mut out = Vec::new();
        write(&mut out, OutputFormat::Csv, &schema, &batches).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "n\n");
    }
}
