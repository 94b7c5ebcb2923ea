//! ltx-sim
