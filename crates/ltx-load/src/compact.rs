//! Compaction: merges the small files of a (table, partition) into one, with the same
//! commit protocol as a run (new file staged, renamed, manifest swap, old files retired).
//!
//! Every 15-minute sync adds a file per touched (table, partition) and rewrites the files
//! holding updated conversations, so without compaction file counts grow without bound and
//! queries slow down. Only files under a size threshold are merged, so a big partition is
//! not rewritten every time a few small files pile up next to it. The superseded
//! conversation versions (`conversations_history`) are compacted like any table: merging
//! files changes no row, and their intervals come from the rows alone.

use std::collections::BTreeMap;

use parquet::file::properties::WriterProperties;

use crate::clock::now_micros;
use crate::columns::stored_table;
use crate::crash::CrashHook;
use crate::error::Result;
use crate::layout::{self, Layout};
use crate::manifest::{FileEntry, Manifest};
use crate::merge;
use crate::txn::Txn;
pub use crate::types::CompactReport;

/// Merges, per (table, partition) holding more than `min_files` live files, all files
/// smaller than `small_bytes` (if there are at least two). Commits a new manifest into
/// `manifest` and returns the report plus retired files kept long enough (`keep`).
pub(crate) fn compact(
    layout: &Layout,
    props: &WriterProperties,
    crash: &CrashHook,
    keep: std::time::Duration,
    manifest: &mut Manifest,
    small_bytes: u64,
    min_files: usize,
) -> Result<(CompactReport, Vec<String>)> {
    let mut report = CompactReport {
        generation: manifest.generation,
        ..CompactReport::default()
    };
    let now = now_micros();
    let id = format!(
        "compact-g{}-{}",
        manifest.generation + 1,
        now.format("%Y%m%dT%H%M%S")
    );
    let mut txn: Option<Txn> = None;
    for (table_name, files) in &manifest.tables {
        let Some(table) = stored_table(table_name) else {
            continue;
        };
        let mut groups: BTreeMap<&str, Vec<&FileEntry>> = BTreeMap::new();
        for f in &files.files {
            groups.entry(f.partition.as_str()).or_default().push(f);
        }
        for (partition, group) in groups {
            if group.len() <= min_files {
                continue;
            }
            let small: Vec<_> = group
                .into_iter()
                .filter(|f| f.bytes < small_bytes)
                .collect();
            if small.len() < 2 {
                continue;
            }
            let t = match txn.as_mut() {
                Some(t) => t,
                None => txn.insert(Txn::new(layout, &id)?),
            };
            let srcs: Vec<_> = small.iter().map(|f| layout.abs(&f.path)).collect();
            let (tmp, name) = t.new_file();
            let stats = merge::rewrite(&srcs, &tmp, props, table, None)?;
            if let Some(stats) = stats {
                report.rows += stats.rows;
                t.add(table_name, partition, tmp, &name, stats);
                report.files_written += 1;
            }
            for f in &small {
                t.retire(f);
            }
            report.partitions += 1;
            report.files_merged += small.len() as u64;
            crash.check("compact.after_file")?;
        }
    }
    let Some(txn) = txn else {
        return Ok((report, Vec::new()));
    };
    txn.publish(layout, crash, None)?;
    crash.check("compact.after_renames")?;
    let mut next = manifest.clone();
    let expired = txn.apply(&mut next, now, keep);
    next.store(layout, crash, [None, None, None])?;
    *manifest = next;
    crash.check("compact.after_manifest_rename")?;
    layout::remove_dir_if_exists(&txn.tmp)?;
    report.generation = manifest.generation;
    tracing::info!(
        partitions = report.partitions,
        files_merged = report.files_merged,
        rows = report.rows,
        "compacted"
    );
    Ok((report, expired))
}
