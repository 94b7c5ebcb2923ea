//! ltx-transform
