//! `_ltx/remote.json` in the local copy: which remote commit the copy equals, and what a
//! push in progress uploaded before its commit (so that the next pull can remove it if the
//! commit never happened).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{io_err, LoadError, Result};
use crate::layout::{self, Layout};
use crate::manifest::Manifest;

/// The local copy's relation to the remote.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct MirrorState {
    /// The remote warehouse.
    pub url: String,
    /// The remote commit the local copy was brought to (0: none).
    pub seq: u64,
    /// Generation and commit instant of that commit's manifest: a local manifest that
    /// differs was committed locally but never pushed, and is discarded by the next pull.
    pub generation: u64,
    /// See `generation`.
    pub committed_at: Option<DateTime<Utc>>,
    /// Keys (relative) uploaded by a push whose commit is not known to have happened.
    #[serde(default)]
    pub pending: Vec<String>,
}

impl MirrorState {
    fn path(layout: &Layout) -> std::path::PathBuf {
        layout.ltx_dir().join("remote.json")
    }

    /// The state, `None` when the copy was never pulled.
    pub fn load(layout: &Layout) -> Result<Option<Self>> {
        let path = Self::path(layout);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|source| LoadError::Json { path, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    /// Writes the state atomically.
    pub fn store(&self, layout: &Layout) -> Result<()> {
        let path = Self::path(layout);
        let bytes = serde_json::to_vec_pretty(self).map_err(|source| LoadError::Json {
            path: path.clone(),
            source,
        })?;
        let mut tmp = path.clone().into_os_string();
        tmp.push(".tmp");
        layout::write_atomic(&path, std::path::Path::new(&tmp), &bytes, || Ok(()))
    }

    /// Whether `manifest` is the one this state was brought to.
    pub fn matches(&self, manifest: &Manifest) -> bool {
        self.generation == manifest.generation && self.committed_at == Some(manifest.committed_at)
    }

    /// A state at commit `seq` with `manifest` (none: the empty remote).
    pub fn at(url: &str, seq: u64, manifest: Option<&Manifest>) -> Self {
        Self {
            url: url.to_owned(),
            seq,
            generation: manifest.map_or(0, |m| m.generation),
            committed_at: manifest.map(|m| m.committed_at),
            pending: Vec::new(),
        }
    }
}
