//! A transaction's files: new data files written under `_ltx/tmp/<id>/`, renamed into
//! `data/` (still unreferenced), and the manifest change that makes them live and retires
//! the files they replace. A run's commit and a compaction both go through one; the
//! manifest rename that commits it is theirs (see `commit` and `compact`).

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::crash::CrashHook;
use crate::deletion::DeletedRows;
use crate::error::{io_err, Result};
use crate::layout::{self, Layout};
use crate::manifest::{FileEntry, Manifest, RetiredFile};
use crate::merge::FileStats;

/// The files a transaction adds and retires.
pub(crate) struct Txn {
    pub id: String,
    pub tmp: PathBuf,
    next: usize,
    /// (tmp path, stored table name, entry): the table a data file is listed under in the
    /// manifest (a [`Table`](ltx_transform::Table)'s name, or an internal table such as
    /// the superseded conversation versions).
    pub added: Vec<(PathBuf, String, FileEntry)>,
    /// (path, bytes) of the live files the transaction supersedes.
    pub retired: Vec<(String, u64)>,
    /// Live files that get (more) deleted rows: their new [`DeletedRows`], by path.
    pub marked: Vec<(String, DeletedRows)>,
}

impl Txn {
    /// Starts a transaction whose files are staged in `_ltx/tmp/<id>/`.
    pub(crate) fn new(layout: &Layout, id: &str) -> Result<Self> {
        let tmp = layout.tmp_txn_dir(id);
        std::fs::create_dir_all(&tmp).map_err(io_err(&tmp))?;
        Ok(Self {
            id: id.to_string(),
            tmp,
            next: 0,
            added: Vec::new(),
            retired: Vec::new(),
            marked: Vec::new(),
        })
    }

    /// A fresh final file name (`<id>-<n>.parquet`) and the tmp path to write it at.
    pub(crate) fn new_file(&mut self) -> (PathBuf, String) {
        self.next += 1;
        let name = format!("{}-{:05}.parquet", self.id, self.next);
        (self.tmp.join(format!("out-{name}")), name)
    }

    /// Registers a finished tmp file as a new live file of the stored table `table`.
    pub(crate) fn add(
        &mut self,
        table: &str,
        partition: &str,
        tmp: PathBuf,
        name: &str,
        stats: FileStats,
    ) {
        self.added.push((
            tmp,
            table.to_string(),
            FileEntry {
                path: Layout::data_rel(table, partition, name),
                partition: partition.to_string(),
                rows: stats.rows,
                bytes: stats.bytes,
                min_conversation_id: stats.min,
                max_conversation_id: stats.max,
                written_by: self.id.clone(),
                content_hash: None,
                deleted: None,
            },
        ));
    }

    /// Step 2: renames every new file into `data/` and fsyncs the directories.
    pub(crate) fn publish(
        &self,
        layout: &Layout,
        crash: &CrashHook,
        per_file: Option<&'static str>,
    ) -> Result<()> {
        let mut dirs = BTreeSet::new();
        for (tmp, _, entry) in &self.added {
            let dst = layout.abs(&entry.path);
            if let Some(parent) = dst.parent() {
                if !parent.exists() {
                    std::fs::create_dir_all(parent).map_err(io_err(parent))?;
                    // Every directory created (`<table>/<account>/<month>` may all be new)
                    // is durable only once its parent is fsynced.
                    let data = layout.data_dir();
                    for dir in parent.ancestors().skip(1) {
                        if dir == data || !dir.starts_with(&data) {
                            break;
                        }
                        dirs.insert(dir.to_path_buf());
                    }
                }
                dirs.insert(parent.to_path_buf());
            }
            layout::rename(tmp, &dst)?;
            if let Some(p) = per_file {
                crash.check(p)?;
            }
        }
        if !dirs.is_empty() {
            dirs.insert(layout.data_dir());
        }
        for d in dirs {
            layout::fsync_dir(&d)?;
        }
        Ok(())
    }

    /// Sets the deleted rows of the live file `path` (all of them: the old ones included).
    pub(crate) fn mark(&mut self, path: &str, deleted: DeletedRows) {
        self.marked.push((path.to_owned(), deleted));
    }

    /// Marks a live file as superseded by this transaction.
    pub(crate) fn retire(&mut self, file: &FileEntry) {
        self.retired.push((file.path.clone(), file.bytes));
    }

    /// Applies the transaction to a manifest copy: retire, add, purge expired retirees.
    /// `keep` is how long retired files stay (the grace period for readers of older
    /// catalogs, or longer for the generations `retain_history` keeps). Returns the paths
    /// kept long enough (to delete after the commit).
    pub(crate) fn apply(
        &self,
        m: &mut Manifest,
        now: DateTime<Utc>,
        keep: std::time::Duration,
    ) -> Vec<String> {
        let retired: HashSet<&str> = self.retired.iter().map(|(p, _)| p.as_str()).collect();
        for t in m.tables.values_mut() {
            t.files.retain(|f| !retired.contains(f.path.as_str()));
        }
        if !self.marked.is_empty() {
            let marked: std::collections::HashMap<&str, &DeletedRows> =
                self.marked.iter().map(|(p, d)| (p.as_str(), d)).collect();
            for f in m.tables.values_mut().flat_map(|t| t.files.iter_mut()) {
                if let Some(d) = marked.get(f.path.as_str()) {
                    f.deleted = Some((*d).clone());
                }
            }
        }
        for (_, table, entry) in &self.added {
            m.tables
                .entry(table.clone())
                .or_default()
                .files
                .push(entry.clone());
        }
        let expired = expire_retired(m, now, keep);
        for (path, bytes) in &self.retired {
            m.retired.push(RetiredFile {
                path: path.clone(),
                retired_at: now,
                bytes: Some(*bytes),
            });
        }
        m.generation += 1;
        m.committed_at = now;
        expired
    }
}

/// Drops from `m.retired` the files retired at least `keep` before `now`; returns their
/// paths (to delete once the manifest without them is committed).
pub(crate) fn expire_retired(
    m: &mut Manifest,
    now: DateTime<Utc>,
    keep: std::time::Duration,
) -> Vec<String> {
    let keep = chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::MAX);
    let mut expired = Vec::new();
    m.retired.retain(|r| {
        let kept = now.signed_duration_since(r.retired_at) < keep;
        if !kept {
            expired.push(r.path.clone());
        }
        kept
    });
    expired
}
