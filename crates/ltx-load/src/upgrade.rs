//! The one-time upgrade of a warehouse written before accounts (manifest format 1): its
//! files have no `account` column and its partitions are `YYYY-MM` alone.
//!
//! Left as they are, the views would read those files next to newer ones with a NULL
//! account (or fail to bind), and a sync of any account would merge against them: rows
//! of two accounts would mix. So the first writable open rewrites every live file with the
//! `account` column in front (one account for all of them: [`legacy_account`]) into
//! `<account>/<partition>`, moves the pipelines' cursors under that account, and commits it
//! all with one manifest rename, as a compaction does: a crash before the rename leaves the
//! old warehouse (the next open starts over), after it the upgraded one. The old files are
//! retired like any superseded file, so readers of the old catalog keep working for the
//! grace period.
//!
//! Generations committed before the upgrade stay readable with `--as-of` only through
//! their own files, which have no `account` column: the BI models do not bind there.

use std::fs::File;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, RecordBatchReader, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

use crate::clock::now_micros;
use crate::columns::{open_reader, stored_table};
use crate::crash::CrashHook;
use crate::error::{arrow_err, io_err, pq_err, Result};
use crate::layout::{self, Layout};
use crate::manifest::{pipeline_key, Manifest, ACCOUNTS_FORMAT, FORMAT_VERSION};
use crate::merge::FileStats;
use crate::txn::Txn;

/// The account a format 1 warehouse's rows are given: `wanted` (the account of the
/// pipeline opening it), else the account derived from the one pipeline its manifest
/// records, else [`ltx_transform::DEFAULT_ACCOUNT`].
pub(crate) fn legacy_account(manifest: &Manifest, wanted: Option<&str>) -> String {
    if let Some(a) = wanted {
        return a.to_owned();
    }
    let mut names = manifest.pipelines.keys();
    match (names.next(), names.next()) {
        (Some(only), None) => ltx_transform::account_from_pipeline(only),
        _ => ltx_transform::DEFAULT_ACCOUNT.to_owned(),
    }
}

/// Upgrades `manifest` (format 1) to the format with accounts, giving every row
/// `account`; commits it. A no-op for a warehouse already upgraded. Returns the retired
/// files whose grace period is over (to delete once committed, as after a compaction).
pub(crate) fn upgrade(
    layout: &Layout,
    props: &WriterProperties,
    crash: &CrashHook,
    keep: std::time::Duration,
    manifest: &mut Manifest,
    account: &str,
) -> Result<Vec<String>> {
    if manifest.format_version >= ACCOUNTS_FORMAT {
        return Ok(Vec::new());
    }
    let now = now_micros();
    let id = format!(
        "upgrade-g{}-{}",
        manifest.generation + 1,
        now.format("%Y%m%dT%H%M%S")
    );
    let mut txn = Txn::new(layout, &id)?;
    let mut files = 0u64;
    for (table_name, table_files) in &manifest.tables {
        // Internal files of other kinds (none today) are left as they are.
        if stored_table(table_name).is_none() {
            continue;
        }
        for f in &table_files.files {
            let src = layout.abs(&f.path);
            let (tmp, name) = txn.new_file();
            let rows = add_account(&src, &tmp, props, account, table_name)?;
            let bytes = std::fs::metadata(&tmp).map_err(io_err(&tmp))?.len();
            let partition = format!("{account}/{}", f.partition);
            txn.add(
                table_name,
                &partition,
                tmp,
                &name,
                FileStats {
                    rows,
                    bytes,
                    min: f.min_conversation_id,
                    max: f.max_conversation_id,
                },
            );
            txn.retire(f);
            files += 1;
        }
    }
    txn.publish(layout, crash, None)?;
    let mut next = manifest.clone();
    let expired = txn.apply(&mut next, now, keep);
    next.format_version = FORMAT_VERSION;
    next.pipelines = std::mem::take(&mut next.pipelines)
        .into_iter()
        .map(|(name, state)| (pipeline_key(account, &name), state))
        .collect();
    next.store(layout, crash, [None, None, None])?;
    *manifest = next;
    layout::remove_dir_if_exists(&txn.tmp)?;
    tracing::info!(
        account,
        files,
        generation = manifest.generation,
        "warehouse upgraded: every row now carries its account"
    );
    Ok(expired)
}

/// Copies the Parquet file `src` to `dst` with a first column `account` (every row
/// `account`); returns the rows copied. The file's own columns are kept as they are (an
/// older `_quality_issues` file without the newer columns stays without them).
fn add_account(
    src: &std::path::Path,
    dst: &std::path::Path,
    props: &WriterProperties,
    account: &str,
    table: &str,
) -> Result<u64> {
    let reader = open_reader(src, None)?;
    let old = reader.schema();
    let schema: SchemaRef = Arc::new(Schema::new(
        std::iter::once(Arc::new(Field::new("account", DataType::Utf8, false)))
            .chain(old.fields().iter().cloned())
            .collect::<Vec<_>>(),
    ));
    let file = File::create(dst).map_err(io_err(dst))?;
    let mut w = ArrowWriter::try_new(file, Arc::clone(&schema), Some(props.clone()))
        .map_err(pq_err(dst))?;
    let mut rows = 0u64;
    for batch in reader {
        let batch = batch.map_err(arrow_err(table))?;
        let n = batch.num_rows();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns() + 1);
        columns.push(Arc::new(StringArray::from_iter_values(
            std::iter::repeat_n(account, n),
        )));
        columns.extend(batch.columns().iter().cloned());
        let out = RecordBatch::try_new(Arc::clone(&schema), columns).map_err(arrow_err(table))?;
        w.write(&out).map_err(pq_err(dst))?;
        rows += n as u64;
    }
    w.finish().map_err(pq_err(dst))?;
    w.inner().sync_all().map_err(io_err(dst))?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{LoadOptions, RunInfo, RunOutcome, Warehouse};

    /// Turns a warehouse written by this build back into what a build before accounts
    /// wrote: files without the `account` column under `data/<table>/<month>/`, partitions
    /// `<month>`, cursors keyed by pipeline name, manifest format 1.
    fn make_legacy(dir: &std::path::Path) {
        let layout = Layout::new(dir).unwrap();
        let mut m = Manifest::load(&layout).unwrap().unwrap();
        for (table, files) in m.tables.iter_mut() {
            for f in &mut files.files {
                let (_, month) = layout::split_partition(&f.partition).unwrap();
                let name = f.path.rsplit('/').next().unwrap().to_owned();
                let path = Layout::data_rel(table, month, &name);
                let reader = open_reader(&layout.abs(&f.path), None).unwrap();
                let schema = reader.schema();
                assert_eq!(schema.field(0).name(), "account");
                let old: SchemaRef = Arc::new(Schema::new(schema.fields()[1..].to_vec()));
                let dst = layout.abs(&path);
                std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
                let mut w =
                    ArrowWriter::try_new(File::create(&dst).unwrap(), old.clone(), None).unwrap();
                for b in reader {
                    let b = b.unwrap();
                    w.write(&RecordBatch::try_new(old.clone(), b.columns()[1..].to_vec()).unwrap())
                        .unwrap();
                }
                w.close().unwrap();
                std::fs::remove_file(layout.abs(&f.path)).unwrap();
                f.path = path;
                f.partition = month.to_owned();
            }
        }
        m.pipelines = std::mem::take(&mut m.pipelines)
            .into_iter()
            .map(|(k, v)| (k.split_once('/').unwrap().1.to_owned(), v))
            .collect();
        m.format_version = 1;
        m.store(&layout, &CrashHook::disabled(), [None, None, None])
            .unwrap();
        std::fs::remove_file(layout.catalog()).unwrap();
    }

    fn options() -> LoadOptions {
        LoadOptions {
            crash: CrashHook::disabled(),
            ..LoadOptions::default()
        }
    }

    fn batches(account: &str, n: u64) -> Vec<ltx_transform::TableBatch> {
        let mut config = ltx_transform::TransformConfig::new("r", chrono::Utc::now());
        config.account = account.to_owned();
        let mut t = ltx_transform::Transformer::new(config);
        for line in ltx_sim::jsonl_lines(&ltx_sim::SimConfig::default(), n).unwrap() {
            t.push_json(&line);
        }
        t.finish().0
    }

    fn query(wh: &Warehouse, sql: &str) -> Vec<(String, i64)> {
        let conn = duckdb::Connection::open(wh.catalog_path()).unwrap();
        let mut stmt = conn.prepare(sql).unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn a_warehouse_written_before_accounts_is_upgraded_at_the_first_writable_open() {
        let dir = tempfile::tempdir().unwrap();
        let cursor: chrono::DateTime<chrono::Utc> = "2026-03-02T00:00:00Z".parse().unwrap();
        {
            let wh = Warehouse::open(dir.path(), options()).unwrap();
            let mut run = wh.begin_run(RunInfo::new("r1", "livetex")).unwrap();
            run.write_all(batches("default", 60)).unwrap();
            run.commit(RunOutcome {
                cursor: Some(cursor),
                ..RunOutcome::default()
            })
            .unwrap();
        }
        make_legacy(dir.path());
        // A read-only handle leaves it as it is.
        let ro = Warehouse::open_readonly(dir.path()).unwrap();
        assert_eq!(ro.state().unwrap().format_version, 1);
        drop(ro);

        // The one pipeline recorded, `livetex`, gives the account.
        let wh = Warehouse::open(dir.path(), options()).unwrap();
        let m = wh.state().unwrap();
        assert_eq!(m.format_version, FORMAT_VERSION);
        assert!(m.all_live().all(|f| f.partition.starts_with("livetex/")
            && f.path.contains("/livetex/")
            && f.rows > 0));
        assert_eq!(wh.cursor("livetex", "livetex").unwrap(), Some(cursor));
        assert_eq!(
            query(
                &wh,
                "SELECT account, count(*) FROM conversations GROUP BY ALL"
            ),
            [("livetex".to_owned(), 60)]
        );
        // The next sync of that account merges with the upgraded rows: nothing doubles.
        let mut info = RunInfo::new("r2", "livetex");
        info.account = "livetex".into();
        let mut run = wh.begin_run(info).unwrap();
        run.write_all(batches("livetex", 60)).unwrap();
        let report = run.commit(RunOutcome::default()).unwrap();
        assert_eq!(report.conversations_new, 0);
        assert_eq!(
            query(
                &wh,
                "SELECT account, count(*) FROM chats GROUP BY ALL ORDER BY 1"
            )
            .len(),
            1
        );
        // And another account's rows sit next to them.
        let mut info = RunInfo::new("r3", "other");
        info.account = "other".into();
        let mut run = wh.begin_run(info).unwrap();
        run.write_all(batches("other", 60)).unwrap();
        assert_eq!(
            run.commit(RunOutcome::default()).unwrap().conversations_new,
            60
        );
        assert_eq!(
            query(
                &wh,
                "SELECT account, count(*) FROM conversations GROUP BY ALL ORDER BY 1"
            ),
            [("livetex".to_owned(), 60), ("other".to_owned(), 60)]
        );
    }

    #[test]
    fn the_legacy_account_is_the_callers_else_the_one_pipelines_else_default() {
        let mut m = Manifest::empty(chrono::Utc::now());
        assert_eq!(legacy_account(&m, None), "default");
        m.pipelines.insert("Live.Tex".into(), Default::default());
        assert_eq!(legacy_account(&m, None), "live_tex");
        assert_eq!(legacy_account(&m, Some("acme")), "acme");
        m.pipelines.insert("other".into(), Default::default());
        assert_eq!(legacy_account(&m, None), "default");
    }
}
