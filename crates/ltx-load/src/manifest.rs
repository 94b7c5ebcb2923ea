//! The manifest: the single source of truth of what the warehouse contains.
//!
//! A data file exists for readers only once the manifest lists it, and the manifest changes
//! only by writing `manifest.json.tmp`, fsyncing it and renaming it over `manifest.json` —
//! the rename is the commit point of every run. `generation` increases by one per commit, so
//! the DuckDB catalog can tell whether it is behind.
//!
//! Before the rename, the file lists of the generation being committed are written to
//! `_ltx/generations/` ([`GenerationSnapshot`]): what `ltx query --as-of` reads the warehouse
//! of an earlier generation from. A snapshot whose generation the manifest never reached
//! (a crash in between) is deleted by the next open.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::crash::CrashHook;
use crate::deletion::DeletedRows;
use crate::error::{io_err, LoadError, Result};
use crate::layout::{self, Layout};

/// The manifest format this build writes and the newest it reads. 2: every table has the
/// `account` column and every partition starts with the account (`<account>/<YYYY-MM>`);
/// a format 1 warehouse is upgraded by its first writable open (see `upgrade`).
pub const FORMAT_VERSION: u32 = 2;

/// The first format whose files carry the `account` column.
pub const ACCOUNTS_FORMAT: u32 = 2;

/// Key of a pipeline's state in [`Manifest::pipelines`]: `<account>/<pipeline>`, so that
/// every account keeps its own cursor, also when one pipeline file syncs several accounts
/// (`LTX_ACCOUNT` set per job).
pub fn pipeline_key(account: &str, pipeline: &str) -> String {
    format!("{account}/{pipeline}")
}

/// Contents of `_ltx/manifest.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    /// Format of this file; bumped on incompatible changes.
    pub format_version: u32,
    /// Increases by one with every commit.
    pub generation: u64,
    /// When the warehouse was created.
    pub created_at: DateTime<Utc>,
    /// When this generation was committed.
    pub committed_at: DateTime<Utc>,
    /// Live files per table name.
    pub tables: BTreeMap<String, TableFiles>,
    /// Sync state per account and pipeline name ([`pipeline_key`]: `<account>/<pipeline>`;
    /// a format 1 manifest keyed by pipeline name alone).
    pub pipelines: BTreeMap<String, PipelineState>,
    /// Ids of all recorded runs, oldest first (their records are `_ltx/runs/<id>.json`).
    pub runs: Vec<String>,
    /// Superseded files kept for readers of older catalogs until the grace period ends.
    pub retired: Vec<RetiredFile>,
}

/// The live files of one table.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct TableFiles {
    /// Live files, in commit order.
    pub files: Vec<FileEntry>,
}

/// One live Parquet file.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FileEntry {
    /// Path relative to the warehouse root, with `/` (`data/<table>/<partition>/<name>`).
    pub path: String,
    /// Partition (`<account>/<YYYY-MM>`, reference tables `<account>/all`; before format 2
    /// `YYYY-MM` alone).
    pub partition: String,
    /// Number of rows.
    pub rows: u64,
    /// File size in bytes.
    pub bytes: u64,
    /// Smallest conversation id in the file (None for `_rejected` or no ids).
    pub min_conversation_id: Option<i64>,
    /// Largest conversation id in the file.
    pub max_conversation_id: Option<i64>,
    /// The run or compaction that wrote it.
    pub written_by: String,
    /// Fingerprint of a reference table's content (lineage left out): the next run
    /// rewrites the table only when its content differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
    /// Rows of the file that no longer count: rows of conversation versions a newer one
    /// superseded, marked by a run instead of rewriting the file (merge-on-read), until a
    /// compaction folds them (see `deletion`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<DeletedRows>,
}

impl FileEntry {
    /// True when the file's id range may contain one of the sorted `ids`.
    pub fn may_contain_any(&self, sorted_ids: &[i64]) -> bool {
        let (Some(min), Some(max)) = (self.min_conversation_id, self.max_conversation_id) else {
            return false;
        };
        let i = sorted_ids.partition_point(|x| *x < min);
        sorted_ids.get(i).is_some_and(|x| *x <= max)
    }
}

/// A superseded file awaiting deletion: kept for readers of older catalogs and for the
/// retained generations that list it (`destination.retain_history`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RetiredFile {
    /// Path relative to the warehouse root.
    pub path: String,
    /// When it stopped being live.
    pub retired_at: DateTime<Utc>,
    /// Its size in bytes (absent in manifests written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
}

/// The live files of one committed generation, as `_ltx/generations/<g>-<committed>.json.zst`
/// holds them (zstd-compressed JSON): everything needed to rebuild the views of the
/// warehouse as it was right after that commit.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct GenerationSnapshot {
    /// Format of the snapshot (the manifest's).
    pub format_version: u32,
    /// The generation.
    pub generation: u64,
    /// When it was committed.
    pub committed_at: DateTime<Utc>,
    /// Live files per table name, as the manifest of that generation listed them.
    pub tables: BTreeMap<String, TableFiles>,
}

/// zstd level of generation snapshots: their file lists repeat paths and partitions, and
/// compress ~10-20 times at any level; 3 is zstd's default.
const SNAPSHOT_ZSTD_LEVEL: i32 = 3;

impl GenerationSnapshot {
    /// Reads a snapshot file.
    pub fn load(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(io_err(path))?;
        let decoder = zstd::Decoder::new(file).map_err(io_err(path))?;
        serde_json::from_reader(std::io::BufReader::new(decoder)).map_err(|source| {
            LoadError::Json {
                path: path.to_path_buf(),
                source,
            }
        })
    }

    /// Writes the snapshot atomically (tmp + fsync + rename), replacing any other snapshot
    /// of the same generation (one left by a commit that failed before its manifest rename).
    fn store(&self, layout: &Layout) -> Result<()> {
        let dir = layout.generations_dir();
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let path = layout.generation_file(self.generation, self.committed_at);
        let json = serde_json::to_vec(self).map_err(|source| LoadError::Json {
            path: path.clone(),
            source,
        })?;
        // One shot with the size known: zstd sizes its tables to the input (a streaming
        // encoder allocates them for any size, megabytes at the end of an import).
        let bytes = zstd::bulk::compress(&json, SNAPSHOT_ZSTD_LEVEL).map_err(io_err(&path))?;
        for entry in std::fs::read_dir(&dir).map_err(io_err(&dir))?.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if layout::parse_generation_file(&name).is_some_and(|(g, _)| g == self.generation) {
                layout::remove_file_if_exists(&entry.path())?;
            }
        }
        let mut tmp = path.clone().into_os_string();
        tmp.push(".tmp");
        layout::write_atomic(&path, Path::new(&tmp), &bytes, || Ok(()))
    }
}

/// Incremental state of one pipeline.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct PipelineState {
    /// High-water mark passed by the caller with the last successful commit.
    pub cursor: Option<DateTime<Utc>>,
    /// Last successful run.
    pub last_success_run: Option<String>,
    /// When the last successful run finished.
    pub last_success_at: Option<DateTime<Utc>>,
}

/// The fields every manifest format starts with.
#[derive(Deserialize)]
struct Head {
    format_version: u32,
    generation: u64,
}

/// The manifest's bytes and head, checked to be a format this ltx understands; `None`
/// when there is no manifest.
fn read_head(layout: &Layout) -> Result<Option<(Vec<u8>, Head)>> {
    let path = layout.manifest();
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(&path)(e)),
    };
    let head: Head = serde_json::from_slice(&bytes).map_err(|source| LoadError::Json {
        path: path.clone(),
        source,
    })?;
    if head.format_version > FORMAT_VERSION {
        return Err(LoadError::UnsupportedManifest {
            path,
            found: head.format_version,
            supported: FORMAT_VERSION,
        });
    }
    Ok(Some((bytes, head)))
}

impl Manifest {
    /// A new, empty manifest (generation 0).
    pub fn empty(now: DateTime<Utc>) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            generation: 0,
            created_at: now,
            committed_at: now,
            tables: BTreeMap::new(),
            pipelines: BTreeMap::new(),
            runs: Vec::new(),
            retired: Vec::new(),
        }
    }

    /// Live files of `table` (empty slice if none).
    pub fn files(&self, table: &str) -> &[FileEntry] {
        self.tables.get(table).map_or(&[], |t| t.files.as_slice())
    }

    /// Every live file of every table.
    pub fn all_live(&self) -> impl Iterator<Item = &FileEntry> {
        self.tables.values().flat_map(|t| t.files.iter())
    }

    /// Reads the manifest; `Ok(None)` when the file does not exist.
    pub fn load(layout: &Layout) -> Result<Option<Self>> {
        let Some((bytes, _)) = read_head(layout)? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| LoadError::Json {
                path: layout.manifest(),
                source,
            })
    }

    /// The committed generation alone, without building the file lists (which grow with
    /// the warehouse); `None` when there is no manifest.
    pub fn load_generation(layout: &Layout) -> Result<Option<u64>> {
        Ok(read_head(layout)?.map(|(_, head)| head.generation))
    }

    /// The snapshot of this manifest's live files (see [`GenerationSnapshot`]).
    pub fn snapshot(&self) -> GenerationSnapshot {
        GenerationSnapshot {
            format_version: self.format_version,
            generation: self.generation,
            committed_at: self.committed_at,
            tables: self.tables.clone(),
        }
    }

    /// Commits this manifest: its generation's snapshot (from generation 1 on: generation 0
    /// is the empty warehouse, where nothing was committed), then tmp write + fsync, rename
    /// over `manifest.json`, fsync the dir. `pre`/`post` name the crash points around the tmp
    /// write; `after_rename` the one after the rename (the commit point).
    pub(crate) fn store(
        &self,
        layout: &Layout,
        crash: &CrashHook,
        points: [Option<&'static str>; 3],
    ) -> Result<()> {
        let check = |p: Option<&'static str>| p.map_or(Ok(()), |p| crash.check(p));
        if self.generation > 0 {
            self.snapshot().store(layout)?;
        }
        let path = layout.manifest();
        let bytes = serde_json::to_vec_pretty(self).map_err(|source| LoadError::Json {
            path: path.clone(),
            source,
        })?;
        check(points[0])?;
        layout::write_atomic(&path, &layout.manifest_tmp(), &bytes, || check(points[1]))?;
        check(points[2])
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn entry(min: i64, max: i64) -> FileEntry {
        FileEntry {
            path: "data/t/2026-03/x.parquet".into(),
            partition: "2026-03".into(),
            rows: 1,
            bytes: 1,
            min_conversation_id: Some(min),
            max_conversation_id: Some(max),
            written_by: "r".into(),
            content_hash: None,
            deleted: None,
        }
    }

    #[test]
    fn id_range_pruning() {
        let f = entry(10, 20);
        assert!(f.may_contain_any(&[1, 15, 30]));
        assert!(f.may_contain_any(&[10]));
        assert!(f.may_contain_any(&[20]));
        assert!(!f.may_contain_any(&[1, 9, 21, 30]));
        assert!(!f.may_contain_any(&[]));
    }

    #[test]
    fn newer_format_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path()).unwrap();
        layout.create_dirs().unwrap();
        let mut m = Manifest::empty(Utc::now());
        m.format_version = FORMAT_VERSION + 1;
        std::fs::write(layout.manifest(), serde_json::to_vec(&m).unwrap()).unwrap();
        assert!(matches!(
            Manifest::load(&layout),
            Err(LoadError::UnsupportedManifest { found, .. }) if found == FORMAT_VERSION + 1
        ));
    }
}
