//! ltx-pipeline: one pipeline's configuration and the one run skeleton.
//!
//! Owns: the configuration ([`config`]: `config/default.toml` embedded as the defaults,
//! a pipeline file over it, flags and `LTX_…` variables over that; one duration syntax,
//! [`duration`]), built into each stage's own settings (`ExtractConfig`,
//! `TransformConfig`, `LoadOptions`), whose own validation checks the ranges they own;
//! secrets from the environment ([`credentials`]); and the run ([`run`]) that `ltx sync`
//! and `ltx import` share: a source (the API or files) → bounded channel → transform pool
//! ([`consume`]) → loader → one commit → the run record, with its deadline
//! (`deadline`), its id ([`run_id`]), where the cursor goes ([`policy`]), the failed
//! run it records, and its result ([`report`]) or error ([`error`]).
//!
//! Does not own: HTTP and windows (ltx-extract), tables (ltx-transform), files, commits,
//! the catalog and the cursor's storage (ltx-load), arguments, exit codes, progress
//! display and printing (ltx-cli).

pub mod config;
pub mod consume;
pub mod credentials;
pub(crate) mod deadline;
pub mod duration;
pub mod error;
pub mod policy;
pub mod report;
pub mod run;
pub mod run_id;

pub use config::{Config, ConfigError, Loaded, LogFormat, Mode, Overrides, Profile};
pub use consume::Counters;
pub use credentials::auth_from_env;
pub use duration::parse_duration;
pub use error::{DeadlineExceeded, PipelineError};
pub use report::RunReport;
pub use run::{import, open_warehouse, refresh_local_copy, sync, SyncOptions, Watch};
