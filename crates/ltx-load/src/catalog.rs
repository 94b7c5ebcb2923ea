//! The DuckDB catalog `warehouse.duckdb`: views only, rebuilt from the manifest.
//!
//! The catalog holds no data, so it is disposable: it is built into
//! `warehouse.duckdb.tmp-<generation>` and renamed over `warehouse.duckdb`. A reader that
//! has the old file open keeps its snapshot (and the files it references survive the
//! retire grace period); new connections see the new generation. Views use absolute paths
//! so they work from any working directory; after moving the warehouse, `register()` (or
//! the next `open`) rebuilds them. The table `_ltx_catalog` stores the manifest generation,
//! directory and storage version the catalog was built for, so `open` can tell when it is
//! stale (crash between the manifest commit and the rebuild, a moved directory, a changed
//! `destination.duckdb_storage_version`).
//!
//! The same view statements ([`view_statements`]) over an earlier generation's files make
//! the in-memory catalog of `ltx query --as-of` ([`open_as_of`]); the history views' SQL is
//! `history`'s.
//!
//! BI tools embed their own DuckDB, often older than ours, and a DuckDB opens no file in a
//! storage format newer than itself. So the catalog is written in an older format
//! ([`DEFAULT_STORAGE_VERSION`], v1.1.0: every DuckDB from 1.1 on opens it): an in-memory
//! database attaches the file with `STORAGE_VERSION` and creates the views there. The
//! views' SQL must run on those versions too (`sql/README.md`); the `bi_clients`
//! end-to-end test runs it on real 1.1 and 1.4 clients.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::datatypes::SchemaRef;
use ltx_transform::{Table, TableKind};
use parquet::arrow::ArrowWriter;

use crate::columns::conversation_column;
use crate::crash::CrashHook;
use crate::deletes::DELETED_VERSIONS;
use crate::error::{io_err, pq_err, LoadError, Result};
use crate::fnv::fnv64;
use crate::history;
use crate::layout::{self, Layout};
use crate::manifest::{FileEntry, GenerationSnapshot, Manifest, TableFiles};

/// Columns of the `_ltx_runs` view and their DuckDB types (the fields of `RunRecord`).
const RUN_COLUMNS: &[(&str, &str)] = &[
    ("run_id", "VARCHAR"),
    ("pipeline", "VARCHAR"),
    ("window_from", "TIMESTAMPTZ"),
    ("window_to", "TIMESTAMPTZ"),
    ("started_at", "TIMESTAMPTZ"),
    ("finished_at", "TIMESTAMPTZ"),
    ("status", "VARCHAR"),
    ("generation", "BIGINT"),
    ("rows", "JSON"),
    ("conversations", "BIGINT"),
    ("conversations_new", "BIGINT"),
    ("conversations_replaced", "BIGINT"),
    ("conversations_unchanged", "BIGINT"),
    ("retries", "BIGINT"),
    ("http_requests", "BIGINT"),
    ("quality_issues", "BIGINT"),
    ("quality_by_check", "JSON"),
    ("drift_by_field", "JSON"),
    ("rejected", "BIGINT"),
    ("files_written", "BIGINT"),
    ("files_retired", "BIGINT"),
    ("raw_files", "VARCHAR[]"),
    ("error", "VARCHAR"),
];

/// Storage format of `warehouse.duckdb` unless configured otherwise: the oldest that holds
/// our views, so that every DuckDB from 1.1 on opens the catalog.
pub const DEFAULT_STORAGE_VERSION: &str = "v1.1.0";

/// The oldest storage version [`check_storage_version`] accepts: the oldest one tested.
const OLDEST_STORAGE_VERSION: (u32, u32, u32) = (1, 1, 0);

/// The name the catalog file is attached under while it is built. Readers open the file as
/// their main database under another name (`warehouse`, from the file name), so no
/// statement names it: views are created unqualified after `USE`, and DuckDB binds a view's
/// references in the view's own database, whatever that is called when it is read.
const BUILD_ALIAS: &str = "ltx_catalog_build";

/// `(x, y, z)` of a `vX.Y.Z` version string.
fn parse_version(version: &str) -> Option<(u32, u32, u32)> {
    let mut parts = version.strip_prefix('v')?.split('.');
    let mut next = || -> Option<u32> {
        let p = parts.next()?;
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse().ok()
    };
    let v = (next()?, next()?, next()?);
    parts.next().is_none().then_some(v)
}

/// Checks a `destination.duckdb_storage_version`: `vX.Y.Z`, not older than v1.1.0, and a
/// version the bundled DuckDB can write (it is asked, so a version it does not know fails
/// with DuckDB's own list of the valid ones).
pub fn check_storage_version(version: &str) -> Result<()> {
    let err = |message: String| LoadError::StorageVersion {
        version: version.to_owned(),
        message,
    };
    let Some(parsed) = parse_version(version) else {
        return Err(err(
            "expected vX.Y.Z, a DuckDB release such as v1.1.0".to_owned()
        ));
    };
    if parsed < OLDEST_STORAGE_VERSION {
        return Err(err(format!(
            "older than {DEFAULT_STORAGE_VERSION}, the oldest format ltx writes"
        )));
    }
    let config = duckdb::Config::default()
        .threads(1)
        .map_err(|e| err(format!("configuring DuckDB: {e}")))?;
    let conn = duckdb::Connection::open_in_memory_with_flags(config)
        .map_err(|e| err(format!("opening DuckDB in memory: {e}")))?;
    conn.execute_batch(&format!(
        "ATTACH ':memory:' AS probe (STORAGE_VERSION {})",
        lit(version)
    ))
    .map_err(|e| err(e.to_string()))?;
    Ok(())
}

/// SQL string literal.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A file path as a DuckDB file-list entry: DuckDB reads `*`, `?` and `[` in any path given
/// to `read_parquet`/`read_json` as a glob, so a warehouse under `/data/wh[1]` matched no
/// file. Each is escaped as a one-character class (`[[]`, `[*]`, `[?]`), which DuckDB
/// matches literally.
fn path_lit(path: &Path) -> String {
    lit(&glob_escape(path))
}

/// `path` with DuckDB's glob characters escaped (see [`path_lit`]).
fn glob_escape(path: &Path) -> String {
    let text = path.to_string_lossy();
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '[' | '*' | '?' => {
                escaped.push('[');
                escaped.push(c);
                escaped.push(']');
            }
            _ => escaped.push(c),
        }
    }
    escaped
}

/// Quoted SQL identifier.
fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Path of (and, if missing, writes) a zero-row Parquet file with the table's schema, so a
/// table without data still has a view with the right columns and types.
fn empty_file(layout: &Layout, table: Table) -> Result<PathBuf> {
    let schema: SchemaRef = table.schema();
    let hash = fnv64(&format!("{:?}", schema.fields()));
    let path = layout
        .empty_dir()
        .join(format!("{}-{hash:016x}.parquet", table.name()));
    if path.exists() {
        return Ok(path);
    }
    let dir = layout.empty_dir();
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    // Per process: a reader building `--as-of` views may write it while a writer does.
    let tmp = path.with_extension(format!("parquet.tmp-{}", std::process::id()));
    let file = File::create(&tmp).map_err(io_err(&tmp))?;
    let mut w = ArrowWriter::try_new(file, schema, None).map_err(pq_err(&tmp))?;
    w.finish().map_err(pq_err(&tmp))?;
    w.inner().sync_all().map_err(io_err(&tmp))?;
    drop(w);
    layout::rename(&tmp, &path)?;
    Ok(path)
}

/// What the views are built from: the live files per stored table of one generation, and
/// whether the run log may hold records (else `_ltx_runs` is an empty view: `read_json`
/// finds no file to read).
pub(crate) struct Views<'a> {
    /// Live files per stored table name.
    pub tables: &'a BTreeMap<String, TableFiles>,
    /// The generation: `_ltx_runs` shows the runs recorded up to it.
    pub generation: u64,
    /// Whether any run was recorded by then.
    pub runs: bool,
}

impl<'a> From<&'a Manifest> for Views<'a> {
    fn from(m: &'a Manifest) -> Self {
        Views {
            tables: &m.tables,
            generation: m.generation,
            runs: !m.runs.is_empty(),
        }
    }
}

impl Views<'_> {
    fn files(&self, stored_table: &str) -> &[FileEntry] {
        self.tables
            .get(stored_table)
            .map_or(&[], |t| t.files.as_slice())
    }
}

/// The `read_parquet(...)` expression over a table's live files (or its empty file).
fn parquet_source(layout: &Layout, views: &Views<'_>, table: Table) -> Result<String> {
    stored_source(layout, views, table.name(), table)
}

/// The `SELECT` over the live rows of the stored table `stored_table`, whose files have
/// `table`'s schema (its empty file when there is none).
///
/// Files with deleted rows (merge-on-read, see `deletes`) are read apart and anti-joined
/// with the delete records by `(account, conversation, version)`; the other files are read
/// as they are, so a warehouse without pending deletes has the plain `read_parquet` views
/// it always had, and one with some pays the anti-join on the marked files only.
fn stored_source(
    layout: &Layout,
    views: &Views<'_>,
    stored_table: &str,
    table: Table,
) -> Result<String> {
    let files = views.files(stored_table);
    let records = views.files(DELETED_VERSIONS);
    let (dirty, clean): (Vec<&FileEntry>, Vec<&FileEntry>) = match conversation_column(table) {
        Some(_) if !records.is_empty() => files.iter().partition(|f| f.deleted.is_some()),
        _ => (Vec::new(), files.iter().collect()),
    };
    // `_quality_issues` gained columns (`path`, `field`, `expected_type`, `received_type`)
    // after warehouses were written without them: its files are matched by column name,
    // older ones reading as NULL there. Only there: by name, DuckDB reads every file's
    // footer to bind the view, a cost the large tables need not pay.
    let by_name = table == Table::QualityIssues;
    let read = |files: &[&FileEntry]| -> String {
        let paths: Vec<String> = files
            .iter()
            .map(|f| path_lit(&layout.abs(&f.path)))
            .collect();
        let opt = if by_name {
            ", union_by_name = true"
        } else {
            ""
        };
        format!(
            "read_parquet([{}], hive_partitioning = false{opt})",
            paths.join(", ")
        )
    };
    if dirty.is_empty() {
        if clean.is_empty() {
            let empty = path_lit(&empty_file(layout, table)?);
            return Ok(format!(
                "SELECT * FROM read_parquet([{empty}], hive_partitioning = false)"
            ));
        }
        return Ok(format!("SELECT * FROM {}", read(&clean)));
    }
    // One anti-join per account: each reads only its account's records, and joins on the
    // two integer keys (the account's string compare per row left out).
    let mut by_account: BTreeMap<&str, Vec<&FileEntry>> = BTreeMap::new();
    for f in &dirty {
        let account = layout::split_partition(&f.partition).map_or("", |(a, _)| a);
        by_account.entry(account).or_default().push(f);
    }
    let union = if by_name {
        "UNION ALL BY NAME"
    } else {
        "UNION ALL"
    };
    let col = ident(conversation_column(table).unwrap_or("conversation_id"));
    let parts: Vec<String> = by_account
        .iter()
        .map(|(account, files)| {
            format!(
                "SELECT t.* FROM {} AS t ANTI JOIN ({}) AS d \
                 ON d.conversation_id = t.{col} AND d._source_updated_at = t._source_updated_at",
                read(files),
                records_of(layout, records, account)
            )
        })
        .collect();
    let marked = parts.join(&format!(" {union} "));
    if clean.is_empty() {
        return Ok(marked);
    }
    let union = if by_name {
        "UNION ALL BY NAME"
    } else {
        "UNION ALL"
    };
    Ok(format!("SELECT * FROM {} {union} {marked}", read(&clean)))
}

/// `SELECT conversation_id, _source_updated_at` of the delete records of `account`.
fn records_of(layout: &Layout, records: &[FileEntry], account: &str) -> String {
    let paths: Vec<String> = records
        .iter()
        .filter(|f| layout::split_partition(&f.partition).is_some_and(|(a, _)| a == account))
        .map(|f| path_lit(&layout.abs(&f.path)))
        .collect();
    if paths.is_empty() {
        // No record of this account (not written by ltx): nothing to hide.
        return "SELECT NULL::BIGINT AS conversation_id, NULL::TIMESTAMPTZ AS _source_updated_at WHERE false".to_owned();
    }
    format!(
        "SELECT conversation_id, _source_updated_at FROM read_parquet([{}], hive_partitioning = false)",
        paths.join(", ")
    )
}

/// `SELECT 1 FROM <delete records> WHERE` they name the row `alias` of `table`: same
/// account, conversation and version.
fn record_match(layout: &Layout, records: &[FileEntry], table: Table, alias: &str) -> String {
    let col = conversation_column(table).unwrap_or("conversation_id");
    let paths: Vec<String> = records
        .iter()
        .map(|f| path_lit(&layout.abs(&f.path)))
        .collect();
    format!(
        "SELECT 1 FROM read_parquet([{}], hive_partitioning = false) AS d \
         WHERE d.account = {alias}.account AND d.conversation_id = {alias}.{} \
         AND d._source_updated_at = {alias}._source_updated_at",
        paths.join(", "),
        ident(col)
    )
}

/// The superseded conversation versions: the stored ones, and the `conversations` rows
/// marked deleted whose record keeps them for history (until a compaction moves them to
/// the stored ones).
fn superseded_source(layout: &Layout, views: &Views<'_>) -> Result<String> {
    let stored = stored_source(
        layout,
        views,
        history::SUPERSEDED_CONVERSATIONS,
        Table::Conversations,
    )?;
    let records = views.files(DELETED_VERSIONS);
    let dirty: Vec<String> = views
        .files(Table::Conversations.name())
        .iter()
        .filter(|f| f.deleted.is_some())
        .map(|f| path_lit(&layout.abs(&f.path)))
        .collect();
    if dirty.is_empty() || records.is_empty() {
        return Ok(stored);
    }
    Ok(format!(
        "{stored} UNION ALL SELECT t.* FROM read_parquet([{}], hive_partitioning = false) AS t \
         WHERE EXISTS ({} AND d.keep_history)",
        dirty.join(", "),
        record_match(layout, records, Table::Conversations, "t")
    ))
}

/// Every `CREATE VIEW` statement of the catalog except the BI models, in order.
pub(crate) fn view_statements(layout: &Layout, views: &Views<'_>) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for table in Table::ALL {
        let name = table.name();
        let source = parquet_source(layout, views, table)?;
        if table.kind() == TableKind::Dimension {
            // Every stored snapshot; their type-2 versions; the latest per key (which needs
            // no versions).
            let snapshots = format!("{name}_snapshots");
            out.push((
                snapshots.clone(),
                format!("CREATE VIEW {} AS {source}", ident(&snapshots)),
            ));
            let history = format!("{name}_history");
            out.push((
                history.clone(),
                format!(
                    "CREATE VIEW {} AS {}",
                    ident(&history),
                    history::dimension_history_sql(
                        table,
                        &format!("SELECT * FROM {}", ident(&snapshots))
                    )
                ),
            ));
            let keys: Vec<String> = table.key_columns().iter().map(|k| ident(k)).collect();
            out.push((
                name.to_string(),
                format!(
                    "CREATE VIEW {} AS SELECT * FROM {} QUALIFY row_number() OVER (PARTITION BY {} ORDER BY _source_updated_at DESC, _seen_in_conversation_id DESC) = 1",
                    ident(name),
                    ident(&snapshots),
                    keys.join(", ")
                ),
            ));
        } else if table.kind() == TableKind::Rejected {
            // Every sync whose window (or lookback) covers a bad record rejects it again;
            // the view shows each distinct rejection once, as last seen.
            let history = format!("{name}_history");
            out.push((
                history.clone(),
                format!("CREATE VIEW {} AS {source}", ident(&history)),
            ));
            out.push((
                name.to_string(),
                format!(
                    "CREATE VIEW {} AS SELECT * FROM {} QUALIFY row_number() OVER (PARTITION BY account, raw_json, error ORDER BY _synced_at DESC, _run_id DESC) = 1",
                    ident(name),
                    ident(&history),
                ),
            ));
        } else {
            out.push((
                name.to_string(),
                format!("CREATE VIEW {} AS {source}", ident(name)),
            ));
        }
        if table == Table::Conversations {
            let superseded = superseded_source(layout, views)?;
            out.push((
                history::CONVERSATIONS_HISTORY.to_string(),
                format!(
                    "CREATE VIEW {} AS {}",
                    ident(history::CONVERSATIONS_HISTORY),
                    history::conversations_history_sql(&superseded)
                ),
            ));
        }
    }
    let runs_sql = if !views.runs {
        let cols: Vec<String> = RUN_COLUMNS
            .iter()
            .map(|(c, t)| format!("NULL::{t} AS {}", ident(c)))
            .collect();
        format!("SELECT {} WHERE false", cols.join(", "))
    } else {
        // A glob rather than a list: a sync every 15 minutes makes ~35k records a year.
        // The directory part is escaped; only `*.json` is a pattern.
        let glob = lit(&format!(
            "{}{}*.json",
            glob_escape(&layout.runs_dir()),
            std::path::MAIN_SEPARATOR
        ));
        let cols: Vec<String> = RUN_COLUMNS
            .iter()
            // Struct keys as string literals: DuckDB's documented `columns = {'name': 'TYPE'}`.
            .map(|(c, t)| format!("{}: {}", lit(c), lit(t)))
            .collect();
        let names: Vec<String> = RUN_COLUMNS.iter().map(|(c, _)| ident(c)).collect();
        // A record is written just before its run's manifest rename: one left by a run that
        // died in between has a generation the manifest never reached. The next open deletes
        // it; until then the filter keeps it out of the log.
        format!(
            "SELECT {} FROM read_json({glob}, format = 'auto', columns = {{{}}}) WHERE generation <= {}",
            names.join(", "),
            cols.join(", "),
            views.generation
        )
    };
    out.push((
        "_ltx_runs".to_string(),
        format!("CREATE VIEW _ltx_runs AS {runs_sql}"),
    ));
    Ok(out)
}

/// Validates a model name (it becomes a view name).
pub(crate) fn validate_model_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(LoadError::Model {
            name: name.to_string(),
            message: "a model name must be a SQL identifier (letters, digits, '_')".to_string(),
        })
    }
}

/// What a catalog is built from, besides the manifest.
pub(crate) struct CatalogSpec<'a> {
    /// The BI models, `(name, SELECT …)`.
    pub models: &'a [(String, String)],
    /// DuckDB storage version of the file (`vX.Y.Z`).
    pub storage_version: &'a str,
}

/// Rebuilds `warehouse.duckdb` for `manifest` with the BI models of `spec`, in its storage
/// version. A failed build leaves the previous catalog in place and removes its temporary
/// file (unless the failure is an injected crash, which stands for the process dying there).
pub(crate) fn build(
    layout: &Layout,
    manifest: &Manifest,
    spec: &CatalogSpec<'_>,
    crash: &CrashHook,
) -> Result<()> {
    crash.check("catalog.before_build")?;
    let tmp = layout.catalog_tmp(manifest.generation);
    let built = build_at(layout, manifest, spec, crash, &tmp);
    if let Err(e) = &built {
        if !matches!(e, LoadError::InjectedCrash { .. }) {
            let _ = remove_db_files(&tmp);
        }
    }
    built
}

/// [`build`], writing the new catalog at `tmp` and renaming it into place.
fn build_at(
    layout: &Layout,
    manifest: &Manifest,
    spec: &CatalogSpec<'_>,
    crash: &CrashHook,
    tmp: &Path,
) -> Result<()> {
    remove_db_files(tmp)?;
    let cat_err = |message: String| LoadError::Catalog {
        path: tmp.to_path_buf(),
        message,
    };
    let statements = view_statements(layout, &Views::from(manifest))?;
    {
        // One thread: creating views needs no parallelism, and DuckDB otherwise starts a
        // scheduler thread per core for each build, at the end of every run.
        let config = duckdb::Config::default()
            .threads(1)
            .map_err(|e| cat_err(e.to_string()))?;
        // The file is attached, not opened: only ATTACH takes a storage version, and DuckDB
        // then writes the file in that version's format.
        let conn = duckdb::Connection::open_in_memory_with_flags(config)
            .map_err(|e| cat_err(e.to_string()))?;
        // A model needing an extension that is not compiled in (e.g. ICU for time zone
        // functions on TIMESTAMPTZ) must fail at once with DuckDB's message, not try to
        // download it: syncs run on servers without internet access.
        conn.execute_batch("SET autoinstall_known_extensions = false")
            .map_err(|e| cat_err(e.to_string()))?;
        // Every view and model binding reads the footers of the files it names, the same
        // ones many times over (each model binds the table views again): cached, each
        // footer is read once per build.
        conn.execute_batch("SET parquet_metadata_cache = true")
            .map_err(|e| cat_err(e.to_string()))?;
        conn.execute_batch(&format!(
            "ATTACH {} AS {BUILD_ALIAS} (STORAGE_VERSION {})",
            lit(&tmp.to_string_lossy()),
            lit(spec.storage_version)
        ))
        .map_err(|e| cat_err(format!("storage version {}: {e}", spec.storage_version)))?;
        // One transaction: one WAL sync for all the views instead of one per statement.
        conn.execute_batch(&format!("USE {BUILD_ALIAS}; BEGIN TRANSACTION"))
            .map_err(|e| cat_err(e.to_string()))?;
        for (name, sql) in &statements {
            conn.execute_batch(sql)
                .map_err(|e| cat_err(format!("view {name}: {e}")))?;
        }
        for (name, sql) in spec.models {
            validate_model_name(name)?;
            let body = sql.trim().trim_end_matches(';').trim();
            conn.execute_batch(&format!("CREATE VIEW {} AS {body}", ident(name)))
                .map_err(|e| LoadError::Model {
                    name: name.clone(),
                    message: e.to_string(),
                })?;
        }
        conn.execute_batch(&format!(
            "CREATE TABLE _ltx_catalog AS SELECT {}::UBIGINT AS generation, {} AS warehouse_dir, {} AS storage_version, now() AS built_at; COMMIT; CHECKPOINT {BUILD_ALIAS}; USE memory; DETACH {BUILD_ALIAS};",
            manifest.generation,
            lit(&layout.root().to_string_lossy()),
            lit(spec.storage_version)
        ))
        .map_err(|e| cat_err(e.to_string()))?;
        conn.close().map_err(|(_, e)| cat_err(e.to_string()))?;
    }
    layout::remove_file_if_exists(&wal_of(tmp))?;
    layout::fsync_file(tmp)?;
    crash.check("catalog.after_build_tmp")?;
    layout::rename(tmp, &layout.catalog())?;
    layout::fsync_dir(layout.root())?;
    crash.check("catalog.after_rename")?;
    Ok(())
}

/// An in-memory DuckDB whose views show the warehouse at `layout` as it was in the
/// generation of `snapshot`: the table views over that generation's files (dimension and
/// conversation histories included), `_ltx_runs` up to that generation, and the BI models
/// `models`. `warehouse.duckdb` is neither read nor written.
pub(crate) fn open_as_of(
    layout: &Layout,
    snapshot: &GenerationSnapshot,
    models: &[(String, String)],
) -> Result<duckdb::Connection> {
    let cat_err = |message: String| LoadError::Catalog {
        path: layout.generations_dir(),
        message: format!("views of generation {}: {message}", snapshot.generation),
    };
    let runs = std::fs::read_dir(layout.runs_dir()).is_ok_and(|mut d| {
        d.any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".json")))
    });
    let views = Views {
        tables: &snapshot.tables,
        generation: snapshot.generation,
        runs,
    };
    let statements = view_statements(layout, &views)?;
    let conn = duckdb::Connection::open_in_memory().map_err(|e| cat_err(e.to_string()))?;
    conn.execute_batch("SET autoinstall_known_extensions = false")
        .map_err(|e| cat_err(e.to_string()))?;
    for (name, sql) in &statements {
        conn.execute_batch(sql)
            .map_err(|e| cat_err(format!("view {name}: {e}")))?;
    }
    for (name, sql) in models {
        validate_model_name(name)?;
        let body = sql.trim().trim_end_matches(';').trim();
        conn.execute_batch(&format!("CREATE VIEW {} AS {body}", ident(name)))
            .map_err(|e| LoadError::Model {
                name: name.clone(),
                message: e.to_string(),
            })?;
    }
    Ok(conn)
}

/// `<db>.wal`.
fn wal_of(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(".wal");
    PathBuf::from(s)
}

/// Removes a DuckDB file and its WAL.
fn remove_db_files(db: &Path) -> Result<()> {
    layout::remove_file_if_exists(db)?;
    layout::remove_file_if_exists(&wal_of(db))
}

/// The warehouse as it was in an earlier generation: an in-memory DuckDB (see
/// [`Warehouse::open_as_of`](crate::Warehouse::open_as_of)).
pub struct AsOfCatalog {
    pub(crate) connection: duckdb::Connection,
    pub(crate) generation: u64,
    pub(crate) committed_at: chrono::DateTime<chrono::Utc>,
}

impl std::fmt::Debug for AsOfCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsOfCatalog")
            .field("generation", &self.generation)
            .field("committed_at", &self.committed_at)
            .finish_non_exhaustive()
    }
}

impl AsOfCatalog {
    /// The connection.
    pub fn connection(&self) -> &duckdb::Connection {
        &self.connection
    }

    /// The connection, taken out.
    pub fn into_connection(self) -> duckdb::Connection {
        self.connection
    }

    /// The generation its views show.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// When that generation was committed.
    pub fn committed_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.committed_at
    }
}

/// `<dir>/warehouse.duckdb`, opened read-only: other readers and the writer go on.
pub struct ReadonlyCatalog {
    connection: duckdb::Connection,
    behind: Option<(u64, u64)>,
}

impl std::fmt::Debug for ReadonlyCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadonlyCatalog")
            .field("behind", &self.behind)
            .finish_non_exhaustive()
    }
}

impl ReadonlyCatalog {
    /// The read-only connection.
    pub fn connection(&self) -> &duckdb::Connection {
        &self.connection
    }

    /// The read-only connection, taken out.
    pub fn into_connection(self) -> duckdb::Connection {
        self.connection
    }

    /// `(catalog generation, committed generation)` when the views show an older state
    /// than the warehouse holds: a commit whose catalog rebuild failed (its data is safe)
    /// leaves them one or more commits behind until the next open or `register`.
    pub fn behind(&self) -> Option<(u64, u64)> {
        self.behind
    }
}

/// Opens the catalog of the warehouse `dir` read-only. The views hold absolute paths: after
/// a move they find no file (DuckDB's bare "No files found"), and in a copy they silently
/// read the original's files, so a catalog built for another directory is refused
/// ([`LoadError::CatalogElsewhere`]); symlinked or relative spellings of the same directory
/// pass. A catalog without `_ltx_catalog` has nothing to compare and opens as it is.
pub(crate) fn open_readonly(dir: &Path) -> Result<ReadonlyCatalog> {
    let path = dir.join(layout::CATALOG_FILE);
    if !path.exists() {
        return Err(LoadError::CatalogMissing { path });
    }
    let open_err = |message: String| LoadError::CatalogOpen {
        path: path.clone(),
        message,
    };
    let config = duckdb::Config::default()
        .access_mode(duckdb::AccessMode::ReadOnly)
        .map_err(|e| open_err(format!("configuring DuckDB: {e}")))?;
    let connection =
        duckdb::Connection::open_with_flags(&path, config).map_err(|e| open_err(e.to_string()))?;
    let Ok((built_for, generation)) = connection.query_row(
        "SELECT warehouse_dir, generation FROM _ltx_catalog",
        [],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)),
    ) else {
        return Ok(ReadonlyCatalog {
            connection,
            behind: None,
        });
    };
    let here = std::fs::canonicalize(dir).ok();
    let there = std::fs::canonicalize(&built_for).ok();
    if here.is_none() || here != there {
        return Err(LoadError::CatalogElsewhere {
            dir: dir.to_path_buf(),
            built_for,
        });
    }
    let committed = Layout::new(dir).and_then(|l| Manifest::load_generation(&l));
    let behind = match committed {
        Ok(Some(committed)) if committed > generation => Some((generation, committed)),
        _ => None,
    };
    Ok(ReadonlyCatalog { connection, behind })
}

/// `(generation, warehouse_dir, storage_version)` the current catalog was built for; `None`
/// if it is missing or unreadable, or was written before the storage version was recorded
/// (then it is rebuilt).
pub(crate) fn built_for(layout: &Layout) -> Option<(u64, String, String)> {
    let path = layout.catalog();
    if !path.exists() {
        return None;
    }
    let config = duckdb::Config::default()
        .access_mode(duckdb::AccessMode::ReadOnly)
        .ok()?;
    let conn = duckdb::Connection::open_with_flags(&path, config).ok()?;
    conn.query_row(
        "SELECT generation::BIGINT, warehouse_dir, storage_version FROM _ltx_catalog",
        [],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        },
    )
    .ok()
    .map(|(g, d, v)| (g as u64, d, v))
}
