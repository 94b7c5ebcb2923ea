//! The crate's error type: every variant names the file, table, run or model involved.

use std::path::PathBuf;

/// Everything that can go wrong while loading into or reading the warehouse.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Another process (or another handle in this process) holds the writer lock.
    #[error("another sync ({holder}) holds the warehouse {path}")]
    Locked {
        /// The warehouse directory.
        path: PathBuf,
        /// Who holds it, as written in the lock file ("pid N, started …").
        holder: String,
    },
    /// A file system operation failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The thread that encodes row groups stopped (a bug): the run's data is incomplete.
    #[error("the Parquet encoding thread stopped: {0}")]
    Encoder(String),
    /// Reading or writing a Parquet file failed.
    #[error("Parquet error on {path}: {source}")]
    Parquet {
        /// The Parquet file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// An Arrow compute kernel failed on a batch of a table.
    #[error("Arrow error in table {table}: {source}")]
    Arrow {
        /// The table whose batch was processed.
        table: String,
        /// The underlying error.
        #[source]
        source: arrow::error::ArrowError,
    },
    /// A JSON file of the warehouse (manifest, run record) could not be read or written.
    #[error("JSON error on {path}: {source}")]
    Json {
        /// The JSON file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// The manifest was written by a newer ltx.
    #[error("manifest {path} has format_version {found}; this ltx understands up to {supported}")]
    UnsupportedManifest {
        /// The manifest file.
        path: PathBuf,
        /// The version found in the file.
        found: u32,
        /// The newest version this build understands.
        supported: u32,
    },
    /// `data/` holds Parquet files but the manifest is missing: refuse to start over
    /// (orphan cleanup would otherwise delete all data).
    #[error(
        "the warehouse {dir} has data files but no manifest {manifest}; refusing to treat it as empty (restore the manifest or move data/ away)"
    )]
    ManifestMissing {
        /// The warehouse directory.
        dir: PathBuf,
        /// The expected manifest path.
        manifest: PathBuf,
    },
    /// A warehouse directory DuckDB cannot hold its catalog in.
    #[error("cannot use {path} as a warehouse: {reason}")]
    UnsupportedPath {
        /// The directory.
        path: PathBuf,
        /// Why.
        reason: &'static str,
    },
    /// Building the DuckDB catalog failed.
    #[error("DuckDB catalog {path}: {message}")]
    Catalog {
        /// The catalog file being built.
        path: PathBuf,
        /// What DuckDB said, with the statement that failed.
        message: String,
    },
    /// A warehouse directory without a DuckDB catalog (nothing committed there yet, or no
    /// warehouse at all).
    #[error("no warehouse catalog at {path}")]
    CatalogMissing {
        /// The catalog file that does not exist.
        path: PathBuf,
    },
    /// A DuckDB storage version for the catalog that is malformed, too old, or unknown to
    /// the bundled DuckDB.
    #[error("DuckDB storage version {version:?}: {message}")]
    StorageVersion {
        /// The version as configured.
        version: String,
        /// What is wrong (DuckDB's message, with the valid versions, when it refused it).
        message: String,
    },
    /// The catalog could not be opened read-only.
    #[error("opening {path} read-only: {message}")]
    CatalogOpen {
        /// The catalog file.
        path: PathBuf,
        /// What DuckDB said.
        message: String,
    },
    /// The catalog's views point at another directory: the warehouse was moved or copied
    /// since the catalog was built (a copy's views would read the original's files).
    #[error("the catalog in {dir} was built for the warehouse at {built_for}; this directory was moved or copied since")]
    CatalogElsewhere {
        /// The warehouse directory, as given.
        dir: PathBuf,
        /// The directory the views read from.
        built_for: String,
    },
    /// A BI model (sql/<name>.sql) failed to create as a view.
    #[error("BI model {name}: {message}")]
    Model {
        /// The model name (its file stem).
        name: String,
        /// Why: invalid name or DuckDB's error for `CREATE VIEW`.
        message: String,
    },
    /// A batch does not have the schema of its table.
    #[error("batch for table {table} (partition {partition}) does not match the table schema: {message}")]
    SchemaMismatch {
        /// The table name.
        table: String,
        /// The partition of the batch.
        partition: String,
        /// The first difference found.
        message: String,
    },
    /// A batch's partition is not of the run's account.
    #[error("batch for table {table} has partition {partition:?}, which is not of the run's account {account:?} (partitions are <account>/<month>)")]
    AccountMismatch {
        /// The table name.
        table: String,
        /// The batch's partition.
        partition: String,
        /// The run's account.
        account: String,
    },
    /// A run id, partition, pipeline or model name would not make a safe file name.
    #[error("invalid {what} {value:?}: only ASCII letters, digits, '-', '_' and '.' are allowed")]
    InvalidName {
        /// What kind of name ("run id", "partition", "pipeline", "model").
        what: &'static str,
        /// The rejected value.
        value: String,
    },
    /// The run id was already committed.
    #[error("run {run_id} is already recorded in the warehouse {dir}")]
    DuplicateRun {
        /// The run id.
        run_id: String,
        /// The warehouse directory.
        dir: PathBuf,
    },
    /// `begin_run` while another `RunWriter` of this handle is alive.
    #[error("a run is already in progress on this warehouse handle ({dir})")]
    RunInProgress {
        /// The warehouse directory.
        dir: PathBuf,
    },
    /// A mutating call on a handle from `open_readonly`.
    #[error("the warehouse {dir} was opened read-only")]
    ReadOnly {
        /// The warehouse directory.
        dir: PathBuf,
    },
    /// `--as-of` a run the warehouse has no record of.
    #[error("no run {run_id} is recorded in the warehouse {dir}")]
    AsOfUnknownRun {
        /// The run id asked for.
        run_id: String,
        /// The warehouse directory.
        dir: PathBuf,
    },
    /// `--as-of` a failed run: it committed nothing, so no generation is its.
    #[error("run {run_id} failed, so it committed nothing and no state of the warehouse is its: ask for an earlier run or an instant (its error: {error})")]
    AsOfFailedRun {
        /// The run id asked for.
        run_id: String,
        /// The run's error.
        error: String,
    },
    /// `--as-of` a generation that is no longer (or not yet) retained.
    #[error("no retained generation of the warehouse answers --as-of {asked}: the oldest retained is {oldest} (destination.retain_history sets how long generations are kept)")]
    AsOfNotRetained {
        /// What was asked (a run or an instant).
        asked: String,
        /// The oldest generation retained, its commit instant and the oldest run available.
        oldest: String,
    },
    /// A retained generation lists a file that is gone (deleted by a writer while reading,
    /// or by an ltx that did not keep generations).
    #[error("generation {generation} is no longer readable: its file {path} was deleted")]
    AsOfFilesGone {
        /// The generation.
        generation: u64,
        /// The first missing file.
        path: PathBuf,
    },
    /// The deleted rows a manifest entry records (a deletion vector) could not be read.
    #[error("deleted rows of {path} (manifest entry): {message}")]
    DeletedRows {
        /// The data file's path, relative to the warehouse.
        path: String,
        /// What is wrong with the vector.
        message: String,
    },
    /// A table's Delta Lake log (`data/<table>/_delta_log/`) could not be read or
    /// brought up to the manifest.
    #[error("Delta log of table {table} ({path}): {message}")]
    Delta {
        /// The stored table.
        table: String,
        /// The log file or directory involved.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Another writer committed to the remote warehouse first (conditional write refused):
    /// this run's objects were deleted again and nothing of it is in the warehouse.
    #[error(
        "another sync committed to {url} first (commit {seq} exists): this run's data was not committed and its uploads were removed; the next run starts from the new state"
    )]
    RemoteConflict {
        /// The remote warehouse.
        url: String,
        /// The commit number both writers wanted.
        seq: u64,
    },
    /// A request to the object store failed.
    #[error("object storage error on {url}/{key} while {action}: {source}")]
    Remote {
        /// The remote warehouse.
        url: String,
        /// The object key (relative to the warehouse prefix).
        key: String,
        /// What was being done.
        action: &'static str,
        /// The underlying error (boxed: it is large, and every `Result` of the crate
        /// carries this enum).
        #[source]
        source: Box<object_store::Error>,
    },
    /// A remote warehouse URL or its settings are unusable.
    #[error("remote warehouse {url}: {reason}")]
    RemoteConfig {
        /// The URL as given.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The local copy of a remote warehouse cannot be pushed: an earlier push of this
    /// handle failed, so its state is not the remote's any more.
    #[error("the local copy {dir} of {url} is behind the remote after a failed push; the next run brings it up to date")]
    RemoteDiverged {
        /// The remote warehouse.
        url: String,
        /// The local copy.
        dir: PathBuf,
    },
    /// A fault injected by the crash hook in error mode (tests only).
    #[error("injected crash at {point}")]
    InjectedCrash {
        /// The crash point name (one of `CRASH_POINTS`).
        point: String,
    },
}

/// Shorthand used throughout the crate.
pub type Result<T, E = LoadError> = std::result::Result<T, E>;

/// Builds a closure mapping an `io::Error` to [`LoadError::Io`] for `path`.
pub(crate) fn io_err(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> LoadError + '_ {
    move |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Builds a closure mapping a `ParquetError` to [`LoadError::Parquet`] for `path`.
pub(crate) fn pq_err(
    path: &std::path::Path,
) -> impl FnOnce(parquet::errors::ParquetError) -> LoadError + '_ {
    move |source| LoadError::Parquet {
        path: path.to_path_buf(),
        source,
    }
}

/// Builds a closure mapping an `ArrowError` to [`LoadError::Arrow`] for `table`.
pub(crate) fn arrow_err(table: &str) -> impl FnOnce(arrow::error::ArrowError) -> LoadError + '_ {
    move |source| LoadError::Arrow {
        table: table.to_string(),
        source,
    }
}
