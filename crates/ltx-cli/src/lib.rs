//! ltx-cli
