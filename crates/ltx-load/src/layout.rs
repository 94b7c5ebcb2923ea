//! Where every file of a warehouse lives, and the small file-system primitives
//! (atomic replace, directory fsync) the commit protocol is built from.
//!
//! ```text
//! <wh>/warehouse.duckdb                       DuckDB catalog: views only, rebuilt from the manifest
//! <wh>/data/<table>/<account>/<YYYY-MM>/<id>-<n>.parquet   immutable data files
//!                                             (partition = `<account>/<YYYY-MM>`)
//! <wh>/_ltx/manifest.json                     the single source of truth
//! <wh>/_ltx/runs/<run_id>.json                one record per run
//! <wh>/_ltx/generations/<g>-<committed>.json.zst   file lists of each retained generation
//! <wh>/data/_conversations_superseded/<partition>/…  conversation versions replaced by newer ones
//! <wh>/_ltx/lock                              writer lock (pid + start time inside)
//! <wh>/_ltx/raw/<run_id>/page-<n>.jsonl.zst   raw conversations (--keep-raw)
//! <wh>/_ltx/empty/<table>-<hash>.parquet      empty file per schema, for tables without data
//! <wh>/_ltx/tmp/<run_id>/                     staging; never referenced, wiped on open
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::error::{io_err, LoadError, Result};

/// File name of the DuckDB catalog inside a warehouse directory.
pub const CATALOG_FILE: &str = "warehouse.duckdb";

/// Paths of one warehouse directory.
#[derive(Clone, Debug)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// Layout rooted at `root` (made absolute so views work from any cwd).
    pub fn new(root: &Path) -> Result<Self> {
        let root = if root.is_absolute() {
            root.to_path_buf()
        } else {
            std::env::current_dir().map_err(io_err(root))?.join(root)
        };
        if root.to_string_lossy().contains('?') {
            // DuckDB takes what follows a `?` in a database path for URI parameters (its
            // WAL for `/a?/wh.duckdb` becomes `/a.wal?/wh.duckdb`): the catalog would fail
            // after every commit. Refused up front instead.
            return Err(LoadError::UnsupportedPath {
                path: root,
                reason: "DuckDB cannot open a database under a path containing '?'; use another directory name",
            });
        }
        Ok(Self { root })
    }

    /// The warehouse directory (absolute).
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// `<wh>/data`.
    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }
    /// `<wh>/_ltx`.
    pub fn ltx_dir(&self) -> PathBuf {
        self.root.join("_ltx")
    }
    /// `<wh>/_ltx/manifest.json`.
    pub fn manifest(&self) -> PathBuf {
        self.ltx_dir().join("manifest.json")
    }
    /// `<wh>/_ltx/manifest.json.tmp`.
    pub fn manifest_tmp(&self) -> PathBuf {
        self.ltx_dir().join("manifest.json.tmp")
    }
    /// `<wh>/_ltx/runs`.
    pub fn runs_dir(&self) -> PathBuf {
        self.ltx_dir().join("runs")
    }
    /// `<wh>/_ltx/runs/<run_id>.json`.
    pub fn run_file(&self, run_id: &str) -> PathBuf {
        self.runs_dir().join(format!("{run_id}.json"))
    }
    /// `<wh>/_ltx/generations`.
    pub fn generations_dir(&self) -> PathBuf {
        self.ltx_dir().join("generations")
    }
    /// `<wh>/_ltx/generations/<generation>-<committed_at>.json.zst`: the generation number
    /// zero-padded (names sort by generation) and the commit instant in µs (UTC), so that
    /// listing the directory tells which generations exist and when each was committed.
    pub fn generation_file(&self, generation: u64, committed_at: DateTime<Utc>) -> PathBuf {
        self.generations_dir().join(format!(
            "{generation:012}-{}{GENERATION_SUFFIX}",
            committed_at.format("%Y%m%dT%H%M%S%.6fZ")
        ))
    }
    /// `<wh>/_ltx/lock`.
    pub fn lock(&self) -> PathBuf {
        self.ltx_dir().join("lock")
    }
    /// `<wh>/_ltx/raw`.
    pub fn raw_dir(&self) -> PathBuf {
        self.ltx_dir().join("raw")
    }
    /// `<wh>/_ltx/empty`.
    pub fn empty_dir(&self) -> PathBuf {
        self.ltx_dir().join("empty")
    }
    /// `<wh>/_ltx/tmp`.
    pub fn tmp_dir(&self) -> PathBuf {
        self.ltx_dir().join("tmp")
    }
    /// `<wh>/_ltx/tmp/<txn_id>`.
    pub fn tmp_txn_dir(&self, txn_id: &str) -> PathBuf {
        self.tmp_dir().join(txn_id)
    }
    /// `<wh>/warehouse.duckdb`.
    pub fn catalog(&self) -> PathBuf {
        self.root.join(CATALOG_FILE)
    }
    /// `<wh>/warehouse.duckdb.tmp-<generation>`.
    pub fn catalog_tmp(&self, generation: u64) -> PathBuf {
        self.root.join(format!("{CATALOG_FILE}.tmp-{generation}"))
    }
    /// Relative path (with `/`) of a data file.
    pub fn data_rel(table: &str, partition: &str, file_name: &str) -> String {
        format!("data/{table}/{partition}/{file_name}")
    }
    /// Absolute path of a warehouse-relative path.
    pub fn abs(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Creates the directory skeleton.
    pub fn create_dirs(&self) -> Result<()> {
        for d in [
            self.root.clone(),
            self.data_dir(),
            self.ltx_dir(),
            self.runs_dir(),
            self.generations_dir(),
            self.raw_dir(),
            self.tmp_dir(),
            self.empty_dir(),
        ] {
            fs::create_dir_all(&d).map_err(io_err(&d))?;
        }
        Ok(())
    }
}

/// File name suffix of a generation snapshot.
const GENERATION_SUFFIX: &str = ".json.zst";

/// `(generation, committed_at)` of a generation snapshot's file name (see
/// [`Layout::generation_file`]); `None` for any other name (temporary files included).
pub fn parse_generation_file(name: &str) -> Option<(u64, DateTime<Utc>)> {
    let stem = name.strip_suffix(GENERATION_SUFFIX)?;
    let (generation, at) = stem.split_once('-')?;
    if generation.is_empty() || !generation.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let generation = generation.parse().ok()?;
    let at = chrono::NaiveDateTime::parse_from_str(at, "%Y%m%dT%H%M%S%.6fZ").ok()?;
    Some((generation, at.and_utc()))
}

/// Checks that `value` is a safe single path component.
pub fn validate_name(what: &'static str, value: &str) -> Result<()> {
    let ok = !value.is_empty()
        && value.len() <= 200
        && value != "."
        && value != ".."
        && !value.starts_with('.')
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(LoadError::InvalidName {
            what,
            value: value.to_string(),
        })
    }
}

/// `(account, rest)` of a partition `<account>/<YYYY-MM>` (or `<account>/all`); `None` for
/// a partition without an account (a warehouse written before accounts).
pub fn split_partition(partition: &str) -> Option<(&str, &str)> {
    partition.split_once('/')
}

/// Checks a partition: `<account>/<name>`, both safe single path components, the account
/// a valid account name.
pub fn validate_partition(partition: &str) -> Result<()> {
    let invalid = || LoadError::InvalidName {
        what: "partition",
        value: partition.to_string(),
    };
    let (account, rest) = split_partition(partition).ok_or_else(invalid)?;
    ltx_transform::valid_account(account).map_err(|_| invalid())?;
    validate_name("partition", rest).map_err(|_| invalid())
}

/// fsyncs a directory so that renames/creates inside it are durable.
pub fn fsync_dir(dir: &Path) -> Result<()> {
    let f = File::open(dir).map_err(io_err(dir))?;
    f.sync_all().map_err(io_err(dir))
}

/// fsyncs a file's data and metadata.
pub fn fsync_file(path: &Path) -> Result<()> {
    let f = File::open(path).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))
}

/// Renames `from` to `to` (same file system).
pub fn rename(from: &Path, to: &Path) -> Result<()> {
    fs::rename(from, to).map_err(|source| LoadError::Io {
        path: from.to_path_buf(),
        source,
    })
}

/// Writes `bytes` to `tmp`, fsyncs it and renames it over `path`, then fsyncs the directory.
/// `after_tmp` runs between the tmp write and the rename (crash point hook).
pub fn write_atomic(
    path: &Path,
    tmp: &Path,
    bytes: &[u8],
    after_tmp: impl FnOnce() -> Result<()>,
) -> Result<()> {
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(tmp)
            .map_err(io_err(tmp))?;
        f.write_all(bytes).map_err(io_err(tmp))?;
        f.sync_all().map_err(io_err(tmp))?;
    }
    after_tmp()?;
    rename(tmp, path)?;
    if let Some(dir) = path.parent() {
        fsync_dir(dir)?;
    }
    Ok(())
}

/// Removes a file if it exists.
pub fn remove_file_if_exists(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// Removes a directory tree if it exists.
pub fn remove_dir_if_exists(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// Total size in bytes of all files under `dir` (0 if missing).
pub fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn generation_file_names_round_trip() {
        let layout = Layout::new(Path::new("/wh")).unwrap();
        let at: DateTime<Utc> = "2026-03-01T12:00:00.123456Z".parse().unwrap();
        let path = layout.generation_file(42, at);
        let name = path.file_name().map(|n| n.to_string_lossy().to_string());
        assert_eq!(
            name.as_deref(),
            Some("000000000042-20260301T120000.123456Z.json.zst")
        );
        assert_eq!(
            parse_generation_file(name.as_deref().unwrap()),
            Some((42, at))
        );
        for other in [
            "x.json.zst",
            "42.json.zst",
            "-1-20260301T120000.000000Z.json.zst",
            "000000000042-20260301T120000.123456Z.json.zst.tmp",
        ] {
            assert_eq!(parse_generation_file(other), None, "{other}");
        }
    }

    #[test]
    fn partitions_are_an_account_and_a_name() {
        assert_eq!(split_partition("acme/2026-03"), Some(("acme", "2026-03")));
        assert_eq!(split_partition("2026-03"), None);
        for ok in ["acme/2026-03", "a_b-1/all"] {
            assert!(validate_partition(ok).is_ok(), "{ok}");
        }
        for bad in [
            "2026-03",
            "Acme/2026-03",
            "acme/..",
            "acme/a/b",
            "/2026-03",
            "acme/",
        ] {
            assert!(validate_partition(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_must_be_single_safe_components() {
        for ok in ["2026-03", "run_1.a", "20260301T120000Z-ab12"] {
            assert!(validate_name("x", ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "../x", "a/b", ".hidden", "a b", "é"] {
            assert!(validate_name("x", bad).is_err(), "{bad}");
        }
    }
}
