//! Compaction: folds deleted rows into rewritten files and merges small files, with the
//! same commit protocol as a run (new files staged, renamed, manifest swap, old files
//! retired for the grace period).
//!
//! A run marks the rows of replaced conversations deleted instead of rewriting the files
//! holding them (merge-on-read, see `commit`), and adds a file per touched (table,
//! partition). Compaction keeps both in check, at a cost bounded per file:
//!
//! * **Fold** — a file whose deleted rows reach [`Policy::fold_share`] of its rows (any
//!   deleted row, for `ltx compact`) is rewritten alone without them. The deleted rows of
//!   `conversations` move to the superseded versions
//!   ([`crate::history::SUPERSEDED_CONVERSATIONS`]) unless their version was superseded
//!   with history off. A partition whose files no longer have any deleted row gets its
//!   delete records ([`DELETED_VERSIONS`]) retired: nothing is left for them to hide.
//! * **Merge** — a (table, partition) with more than `min_files` live files gets its files
//!   under [`Policy::small_bytes`] merged, in groups of at most [`Policy::target_bytes`]
//!   of input, so no merge writes a file much larger than the target (their deleted rows
//!   are folded on the way). A file at or above the small size is never rewritten by a
//!   merge, only by a fold, so a busy month's large files are not rewritten every time a
//!   few small files pile up next to them.
//!
//! The superseded conversation versions (`conversations_history`) are compacted like any
//! table: merging files changes no row, and their intervals come from the rows alone.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use ltx_transform::Table;
use parquet::file::properties::WriterProperties;

use crate::clock::now_micros;
use crate::columns::{conversation_column, stored_table};
use crate::crash::CrashHook;
use crate::deletes::{self, DELETED_VERSIONS};
use crate::deletion;
use crate::error::Result;
use crate::history::SUPERSEDED_CONVERSATIONS;
use crate::layout::{self, Layout};
use crate::manifest::{FileEntry, Manifest};
use crate::merge::{self, FoldSource};
use crate::txn::Txn;
pub use crate::types::CompactReport;

/// When compaction rewrites what.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Policy {
    /// Fold every file with deleted rows (`ltx compact`), whatever their share.
    pub fold_all: bool,
    /// Fold a file when this share of its rows is deleted.
    pub fold_share: f64,
    /// Merge the small files of a (table, partition) with more live files than this.
    pub min_files: usize,
    /// Files under this size are merged.
    pub small_bytes: u64,
    /// A merge reads at most this many bytes of input per output file.
    pub target_bytes: u64,
}

/// One output of the compaction: its inputs (one file for a fold, several for a merge).
struct Group<'a> {
    table_name: &'a str,
    table: Table,
    partition: &'a str,
    files: Vec<&'a FileEntry>,
}

/// Compacts `manifest` by `policy`, commits the new manifest into it and returns the
/// report plus the retired files kept long enough (`keep`).
pub(crate) fn compact(
    layout: &Layout,
    props: &WriterProperties,
    crash: &CrashHook,
    keep: std::time::Duration,
    manifest: &mut Manifest,
    policy: Policy,
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
    let mut groups = plan(manifest, policy);
    let retire_records = records_to_retire(manifest, &mut groups);
    if groups.is_empty() && retire_records.is_empty() {
        return Ok((report, Vec::new()));
    }
    let mut txn = Txn::new(layout, &id)?;
    let mut not_kept: BTreeMap<&str, HashSet<(i64, i64)>> = BTreeMap::new();
    let mut touched = BTreeSet::new();
    for g in &groups {
        let history = g.table_name == Table::Conversations.name()
            && g.files.iter().any(|f| f.deleted.is_some());
        let not_kept = if history {
            match not_kept.entry(g.partition) {
                std::collections::btree_map::Entry::Occupied(o) => &*o.into_mut(),
                std::collections::btree_map::Entry::Vacant(v) => {
                    let records: Vec<_> = manifest
                        .files(DELETED_VERSIONS)
                        .iter()
                        .filter(|f| f.partition == g.partition)
                        .map(|f| layout.abs(&f.path))
                        .collect();
                    &*v.insert(deletes::not_kept_for_history(&records)?)
                }
            }
        } else {
            &HashSet::new()
        };
        let mut srcs = Vec::with_capacity(g.files.len());
        for f in &g.files {
            srcs.push(FoldSource {
                path: layout.abs(&f.path),
                deleted: deletion::positions_of_entry(f)?,
            });
        }
        let (tmp, name) = txn.new_file();
        let old = history.then(|| txn.new_file());
        let folded = merge::fold(
            &srcs,
            &tmp,
            old.as_ref().map(|(p, _)| p.as_path()),
            not_kept,
            props,
            g.table,
        )?;
        if let Some(stats) = folded.kept {
            report.rows += stats.rows;
            report.files_written += 1;
            txn.add(g.table_name, g.partition, tmp, &name, stats);
        }
        if let (Some(stats), Some((old_tmp, old_name))) = (folded.superseded, old) {
            report.files_written += 1;
            txn.add(
                SUPERSEDED_CONVERSATIONS,
                g.partition,
                old_tmp,
                &old_name,
                stats,
            );
        }
        let deleted: u64 = g
            .files
            .iter()
            .filter_map(|f| f.deleted.as_ref())
            .map(|d| d.rows)
            .sum();
        report.deleted_rows_folded += deleted;
        for f in &g.files {
            txn.retire(f);
        }
        touched.insert((g.table_name, g.partition));
        report.files_merged += g.files.len() as u64;
        crash.check(if g.files.len() == 1 {
            "compact.after_fold_file"
        } else {
            "compact.after_file"
        })?;
    }
    for f in &retire_records {
        txn.retire(f);
        report.delete_files_retired += 1;
    }
    report.partitions = touched.len() as u64;
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
        deleted_rows_folded = report.deleted_rows_folded,
        delete_files_retired = report.delete_files_retired,
        "compacted"
    );
    Ok((report, expired))
}

/// The share of a file's rows that are deleted.
fn deleted_share(f: &FileEntry) -> f64 {
    match &f.deleted {
        Some(d) if f.rows > 0 => d.rows as f64 / f.rows as f64,
        Some(_) => 1.0,
        None => 0.0,
    }
}

/// The folds and merges `policy` asks for, per stored table and partition.
fn plan(manifest: &Manifest, policy: Policy) -> Vec<Group<'_>> {
    let mut out = Vec::new();
    for (table_name, files) in &manifest.tables {
        let Some(table) = stored_table(table_name).or_else(|| {
            // The delete records have no transform table; they are merged by size only.
            (table_name == DELETED_VERSIONS).then_some(Table::Conversations)
        }) else {
            continue;
        };
        let mut by_partition: BTreeMap<&str, Vec<&FileEntry>> = BTreeMap::new();
        for f in &files.files {
            by_partition
                .entry(f.partition.as_str())
                .or_default()
                .push(f);
        }
        for (partition, group) in by_partition {
            let count = group.len();
            let mut small = Vec::new();
            for f in group {
                let fold = f.deleted.is_some()
                    && (policy.fold_all || deleted_share(f) >= policy.fold_share);
                if fold && f.bytes >= policy.small_bytes {
                    out.push(Group {
                        table_name,
                        table,
                        partition,
                        files: vec![f],
                    });
                } else if f.bytes < policy.small_bytes {
                    small.push((f, fold));
                }
            }
            // Small files: merged when the partition has too many files, folded alone
            // otherwise (when their deleted share asks for it).
            let merge = count > policy.min_files && small.len() >= 2;
            if !merge {
                for (f, fold) in small {
                    if fold {
                        out.push(Group {
                            table_name,
                            table,
                            partition,
                            files: vec![f],
                        });
                    }
                }
                continue;
            }
            let mut chunk: Vec<&FileEntry> = Vec::new();
            let mut bytes = 0u64;
            for (f, _) in small {
                if !chunk.is_empty() && bytes + f.bytes > policy.target_bytes {
                    out.push(Group {
                        table_name,
                        table,
                        partition,
                        files: std::mem::take(&mut chunk),
                    });
                    bytes = 0;
                }
                bytes += f.bytes;
                chunk.push(f);
            }
            if !chunk.is_empty() {
                out.push(Group {
                    table_name,
                    table,
                    partition,
                    files: chunk,
                });
            }
        }
    }
    // A lone small file without deleted rows gains nothing from a rewrite.
    out.retain(|g| g.files.len() > 1 || g.files.iter().any(|f| f.deleted.is_some()));
    out
}

/// The delete-record files of partitions where, once `groups` are written, no live file
/// has deleted rows any more: nothing is left for them to hide. Merges of those files are
/// dropped from `groups`.
fn records_to_retire<'a>(
    manifest: &'a Manifest,
    groups: &mut Vec<Group<'a>>,
) -> Vec<&'a FileEntry> {
    let rewritten: HashSet<&'a str> = groups
        .iter()
        .flat_map(|g| g.files.iter().map(|f| f.path.as_str()))
        .collect();
    let mut still_deleted: HashSet<&str> = HashSet::new();
    for (name, files) in &manifest.tables {
        let scoped = stored_table(name).is_some_and(|t| conversation_column(t).is_some());
        if !scoped {
            continue;
        }
        for f in &files.files {
            if f.deleted.is_some() && !rewritten.contains(f.path.as_str()) {
                still_deleted.insert(f.partition.as_str());
            }
        }
    }
    let clean: Vec<&'a FileEntry> = manifest
        .files(DELETED_VERSIONS)
        .iter()
        .filter(|f| !still_deleted.contains(f.partition.as_str()))
        .collect();
    groups.retain(|g| g.table_name != DELETED_VERSIONS || still_deleted.contains(g.partition));
    clean
}
