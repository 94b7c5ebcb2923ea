//! ltx-extract
