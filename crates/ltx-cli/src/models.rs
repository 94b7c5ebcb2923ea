//! The BI models of `sql/`: embedded and owned by the loader (`ltx_load::models`), which
//! creates them by default; re-exported here for the command's callers.

pub use ltx_load::models::MODELS;
