//! End-to-end tests: the real `ltx` binary against an in-process `ltx_sim` server on an
//! ephemeral port, one test binary (declared in `crates/ltx-cli/Cargo.toml` so that cargo
//! builds `ltx` first and names it in `CARGO_BIN_EXE_ltx`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

mod e2e;
mod hostile_http;
mod open_files;
mod paging_faults;
mod parquet_readers;
mod schema_drift;
