//! ltx-load
