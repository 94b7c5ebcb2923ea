//! [`SimError`]: what can go wrong when starting the simulator, writing generated data or
//! deriving a ground truth. A file of its own so that every module can name it without
//! importing the crate root.

use std::net::SocketAddr;

/// What can go wrong when starting the simulator or writing generated data.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The listening socket could not be bound.
    #[error("cannot bind the simulator to {addr}: {source}")]
    Bind {
        /// Address asked for.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// A configuration value is out of range.
    #[error("invalid simulator config {key}: {reason}")]
    InvalidConfig {
        /// The config key (e.g. `faults.error_rate`).
        key: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Writing generated JSON Lines failed.
    #[error("cannot write generated conversation {id}: {source}")]
    Write {
        /// Conversation being written.
        id: i64,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A conversation document does not give a ground truth (see
    /// [`WarehouseTruth`](crate::WarehouseTruth)).
    #[error("no ground truth from conversation {id:?}: {field}: {reason}")]
    Truth {
        /// The conversation, if its id could be read.
        id: Option<i64>,
        /// The JSON field at fault.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An internal task failed (a bug).
    #[error("simulator internal error: {0}")]
    Internal(String),
}
