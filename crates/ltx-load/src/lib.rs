//! ltx-load: the warehouse — where synced data is kept.
//!
//! **Owns**: the Parquet data files and their encodings, the manifest and its commit
//! protocol, the writer lock, the run log, the raw archive, compaction, crash recovery, the
//! DuckDB catalog (`warehouse.duckdb`, views only, and opening it read-only for readers) and
//! the BI models it creates (`sql/*.sql`, embedded in [`models`]). **Does not own**:
//! fetching (ltx-extract), turning conversations into Arrow batches, their schemas and
//! their columns' roles (ltx-transform), configuration and scheduling (ltx-cli).
//!
//! # Guarantees and how they are kept
//! Users sync every 15 minutes for years; the warehouse must never lose a conversation,
//! never show one twice, and survive a crash at any instant.
//!
//! * **Layout** — `<wh>/data/<table>/<account>/<YYYY-MM>/<run_id>-<n>.parquet` (zstd, ~128k-row row
//!   groups, page statistics): plain Parquet any engine can read. `<wh>/_ltx/manifest.json`
//!   is the single source of truth of which files are live; a file not listed there does
//!   not exist for readers. See [`layout`].
//! * **Immutable files, merge-on-read** — a conversation's rows in *all* tables are one
//!   unit. A run's rows are streamed into staging files; at commit the loader reads the
//!   stored versions (`conversation_id`, `_source_updated_at` of the row groups of the
//!   `conversations` files whose id statistics may hold an incoming id), keeps only
//!   incoming conversations that are strictly newer (replays are idempotent and old
//!   imports never regress data) and only the newest copy of a conversation that occurs
//!   twice in a run. A replaced version's rows are not rewritten away: the files holding
//!   them get those rows marked deleted (row positions kept in the manifest entry, encoded
//!   as a Delta deletion vector: [`deletion`]) and one delete record per replaced version
//!   goes to a small stored table ([`deletes`]); the views anti-join the records by
//!   `(account, conversation, version)`, Delta readers skip the marked rows. Deleted
//!   messages and chats vanish with the old version. A run so writes its new rows plus a
//!   few bytes per replaced conversation, whatever the size of the files holding the old
//!   ones (50 updated conversations in a 1M-conversation warehouse: ~2 MB instead of the
//!   whole warehouse). [`compact`] folds the marks into rewritten files once a file's
//!   deleted share passes `compact_fold_share` (after a run) or at `ltx compact`. Nothing
//!   is ever modified in place, so a reader never sees a half-written file.
//!
//!   *Why inline deletion vectors and delete records, not copy-on-write*: copy-on-write
//!   rewrote every file holding an updated conversation's rows, so a 15-minute sync cost
//!   as much as the months it touched. Delta's deletion vectors express "these rows of
//!   this file no longer count" in the open table format itself, so Delta readers (polars,
//!   delta-rs's query engine, ClickHouse) read exactly the live rows without any rewrite;
//!   DuckDB's views get the same answer from the records (DuckDB reads no deletion
//!   vector without its `delta` extension, which is not available offline), paying an
//!   anti-join on the marked files only, and none once compaction folded them.
//! * **Bounded rewrites** — staging finishes a file once it reaches `target_file_bytes`
//!   (128 MiB), merges read at most that much per file they write, and a large file is
//!   rewritten only to fold its deleted rows: no compaction rewrites a month at once.
//! * **Atomic commit** — new files are fsynced in `_ltx/tmp/`, renamed into `data/`
//!   (unreferenced), the run record is written, and the new manifest is renamed over the
//!   old one: that rename is the commit. `open` deletes everything unreferenced, so a crash
//!   before the rename leaves the previous state and a crash after it a complete run. See
//!   [`commit`]; every step has a named fault-injection point ([`CRASH_POINTS`]).
//! * **Readers are never broken** — the catalog is rebuilt into a new file and renamed over
//!   `warehouse.duckdb`; superseded files are kept for a grace period (1 h) so a reader
//!   holding the previous catalog keeps working. See [`catalog`].
//! * **History** — the conversation rows a newer version replaces are kept (a stored table
//!   of their own, written in the same transaction as the rewrite) behind
//!   `conversations_history`, and the dimension views collapse snapshots into type-2
//!   versions; see [`history`]. Each commit also writes its generation's file lists to
//!   `_ltx/generations/`, and superseded files stay while a retained generation lists them
//!   (`LoadOptions::retain_history`), so [`Warehouse::open_as_of`] can show any retained
//!   generation; see [`generations`].
//! * **Delta Lake** — every stored table is also a Delta table rooted at `data/<table>/`:
//!   after each manifest commit (and at every writable open) its
//!   `data/<table>/_delta_log/` gets one version per table the commit changed, adding
//!   the new files and removing the superseded ones, with a Parquet checkpoint every 10
//!   versions. The manifest stays the source of truth: a log only follows it, a crash or
//!   failure in between leaves it behind until the next open or commit catches it up, and
//!   old log versions are deleted with the retention of the data files. Delta readers
//!   (delta-rs, polars, ClickHouse, Spark, Trino) read exactly the live files. See
//!   [`delta`].
//! * **Accounts** — every table starts with `account`, every partition with the account
//!   and every key with `account`: one warehouse holds several LiveTex accounts whose ids
//!   overlap. A run syncs one account ([`RunInfo::account`]); its merge looks up and
//!   rewrites only that account's files, and its cursor is kept per account and pipeline.
//! * **One writer** — `_ltx/lock` is held with `File::try_lock` for the life of a writable
//!   [`Warehouse`]; a second sync fails at once with [`LoadError::Locked`].
//! * **Bounded memory** — at most 16 staging writers hold an unfinished row group (the
//!   least recently written is flushed), and they flush early above a memory budget that
//!   counts their buffered Arrow batches (encoders exist only while a row group is
//!   written out); merges and compaction stream
//!   record batches. Nothing per conversation is held while writing: the run's ids and
//!   versions are read back from the staged files at commit (16 bytes per conversation).
//!   Keys, instants and free text are written without dictionaries and free text without
//!   statistics, chosen from each column's role in the transform's schema (see the
//!   `encoding` module): that is what the loader's CPU time and memory are mostly spent on.
//! * **Bounded open files** — a run keeps at most 64 staging files open (a quarter of the
//!   soft `RLIMIT_NOFILE` when that is lower, never under 16), not one per (table, month)
//!   it touches: the least recently written is finished early and later rows of its
//!   partition go to another file, so an import of 20 years of history works under
//!   `ulimit -n 256`. Merges, compaction and the catalog read one file at a time.
//!
//! # Modules
//! Each file has one job, and the files use each other in one direction only (no module
//! reaches back to one that uses it):
//!
//! * values and leaves — `types` (options, run info, reports), `error`, `clock` (instants
//!   truncated to µs), [`history`] (the history tables and views' SQL), `columns` (the
//!   columns the loader reads, opening Parquet files), `encoding` (writer properties per
//!   column), [`models`], [`layout`], [`crash`];
//! * storage — [`manifest`], [`runs`] (the run log), [`raw`], [`lock`];
//! * writing a run — [`staging`] (with `encoder`, `by_columns`, `open_files`, `writeback`),
//!   [`merge`], [`deletion`] (deleted rows of a file), [`deletes`] (the delete records),
//!   `txn` (a transaction's files), [`commit`], [`compact`];
//! * around it — [`generations`] (retained generations, `--as-of`), `recovery` (what
//!   `open` repairs), `upgrade` (warehouses written before accounts), [`catalog`],
//!   [`delta`] (the Delta Lake logs), `status`;
//! * the handle — `warehouse` ([`Warehouse`], [`RunWriter`]), which sequences the others.
//!
//! # Usage
//! ```no_run
//! # fn demo(batches: Vec<ltx_transform::TableBatch>) -> Result<(), ltx_load::LoadError> {
//! use ltx_load::{LoadOptions, RunInfo, RunOutcome, Warehouse};
//! let wh = Warehouse::open("warehouse", LoadOptions::default())?;
//! let mut run = wh.begin_run(RunInfo::new("20260301T120000Z-1a2b", "livetex"))?;
//! for b in batches {
//!     run.write(b)?;
//! }
//! let report = run.commit(RunOutcome { cursor: None, ..Default::default() })?;
//! println!("{} conversations, generation {}", report.conversations, report.generation);
//! # Ok(()) }
//! ```

mod by_columns;
pub mod catalog;
mod clock;
mod columns;
pub mod commit;
pub mod compact;
pub mod crash;
pub mod deletes;
pub mod deletion;
pub mod delta;
mod encoder;
mod encoding;
pub mod error;
mod fnv;
pub mod generations;
pub mod history;
pub mod layout;
pub mod lock;
pub mod manifest;
pub mod merge;
pub mod models;
mod open_files;
pub mod raw;
mod recovery;
mod reference;
pub mod remote;
pub mod runs;
pub mod staging;
mod status;
mod txn;
mod types;
mod upgrade;
mod warehouse;
mod writeback;

pub use catalog::{check_storage_version, AsOfCatalog, ReadonlyCatalog, DEFAULT_STORAGE_VERSION};
pub use crash::{CrashHook, CrashMode, CRASH_POINTS, REMOTE_CRASH_POINTS};
pub use error::{LoadError, Result};
pub use generations::AsOf;
pub use manifest::{FileEntry, GenerationSnapshot, Manifest, PipelineState, RetiredFile};
pub use raw::{read_raw_page, RawArchive};
pub use remote::{is_remote, PullReport, PushReport, RemoteWarehouse};
pub use runs::{RunRecord, RunStatus};
pub use status::{HistoryStatus, TableStatus, WarehouseStatus};
pub use types::{CommitReport, CompactReport, LoadOptions, RunInfo, RunOutcome, TableChange};
pub use warehouse::{RunWriter, Warehouse};
