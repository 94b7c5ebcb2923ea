//! End-to-end tests: the real `ltx` binary against an in-process `ltx_sim` server on an
//! ephemeral port. Small accounts keep every test to a few seconds.
//!
//! One test binary (declared in `crates/ltx-cli/Cargo.toml` as `e2e`, so that cargo builds
//! `ltx` first and names it in `CARGO_BIN_EXE_ltx`), one module per topic:
//!
//! - [`cli`]: `--help` snapshots, configuration and usage errors, `ltx demo`, the README's
//!   Quickstart, `ltx sim`
//! - [`sync`]: syncs match the simulator's truth (updates, late arrivals, deletions, both
//!   profiles and modes), rejected records, an unreachable API
//! - [`accounts`]: two accounts with overlapping ids in one warehouse, each equal to its
//!   simulator's truth with its own cursor; `ltx import --account`
//! - [`import`]: `ltx import` of files, corrupt files, quality findings
//! - [`query`]: BI models and `sql/README.md` examples, stale views, `ltx register`
//! - [`history`]: `conversations_history` across syncs, `ltx query --as-of` every run and
//!   instant, before retention, a failed run
//! - [`report`]: `ltx report` rendered in headless Chromium (screenshot, no request, KPIs
//!   equal to `ltx query`), its exit codes, `ltx demo` writing it
//! - [`credentials`]: rejected credentials, no secret in logs, `ltx validate`
//! - [`concurrent_access`]: the writer lock, syncing while the catalog is open
//! - [`crash_recovery`]: a crash at every crash point, then a re-run
//! - [`incremental`]: seeded interleavings of syncs, updates, deleted child rows,
//!   compactions and crashes at every crash point equal the truth and a compacted copy
//! - [`paging_faults`]: paging that cannot spin, short totals, 404s, redirected logins
//! - [`hostile_http`]: `Retry-After`, run deadline, a clock ahead, inflating bodies, records
//!   that are not JSON
//! - [`schema_drift`]: values of undocumented JSON types
//! - [`sla`]: SLA models against the simulator's truth in calendar and business time, a
//!   changed calendar re-derived at the next sync, bad calendars refused
//! - [`object_storage`]: a warehouse in an S3 bucket (moto on loopback): truth from another
//!   machine, a sync killed at every push step, two syncs racing for one commit
//! - [`open_files`]: 20 years of history under `ulimit -n 256`
//! - [`parquet_readers`]: pyarrow and polars read the Parquet files as DuckDB does
//!   (`read_with_pyarrow_polars.py`)
//! - [`delta_readers`]: every table read as a Delta Lake table by deltalake, polars and
//!   chdb equals DuckDB's views, also after a checkpoint and the log's clean-up
//!   (`read_delta.py`)
//! - [`bi_clients`]: DuckDB 1.1 and 1.4 and SQLAlchemy + duckdb-engine open the catalog
//!   read-only and run every view, model and example (`bi_clients.py`); its storage version
//! - `common`: running the binary, the simulator, the scratch pipeline, truth comparison
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

mod accounts;
mod bi_clients;

mod cli;
mod concurrent_access;
mod crash_recovery;
mod credentials;
mod delta_readers;
mod history;
mod hostile_http;
mod import;
mod incremental;
mod object_storage;
mod open_files;
mod paging_faults;
mod parquet_readers;
mod query;
mod report;
mod schema_drift;
mod sla;
mod sync;
