//! Bringing the local copy to the remote's last commit.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use object_store::{ObjectStore, PutPayload};
use tokio::io::AsyncWriteExt;

use super::state::MirrorState;
use super::{commit_rel, kept_paths, RemoteWarehouse, HEAD_REL};
use crate::error::{io_err, LoadError, Result};
use crate::layout::{self, Layout};
use crate::manifest::Manifest;

/// Requests in flight at once for downloads, uploads and deletes.
pub(super) const CONCURRENCY: usize = 8;

/// What a pull did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PullReport {
    /// The remote commit the local copy now equals (0: the remote is empty).
    pub seq: u64,
    /// True when the copy was already current (no listing, no download).
    pub current: bool,
    /// Objects downloaded.
    pub downloaded: u64,
    /// Bytes downloaded.
    pub bytes: u64,
    /// Objects of an interrupted push of this copy removed from the bucket.
    pub orphans_removed: u64,
}

pub(super) async fn pull(
    remote: &RemoteWarehouse,
    store: Arc<dyn ObjectStore>,
    layout: &Layout,
) -> Result<PullReport> {
    let state = MirrorState::load(layout)?;
    let seq = head(remote, &store).await?;
    let local = Manifest::load(layout)?;
    if let (Some(st), Some(local)) = (&state, &local) {
        if st.url == remote.url && st.seq == seq && st.pending.is_empty() && st.matches(local) {
            remote.set_base((seq > 0).then(|| local.clone()));
            return Ok(PullReport {
                seq,
                current: true,
                ..PullReport::default()
            });
        }
    }
    let mut report = PullReport {
        seq,
        ..PullReport::default()
    };
    let manifest = if seq == 0 {
        None
    } else {
        let rel = commit_rel(seq);
        let bytes = get_bytes(remote, &store, &rel).await?;
        let m: Manifest = serde_json::from_slice(&bytes).map_err(|source| LoadError::Json {
            path: format!("{}/{rel}", remote.url).into(),
            source,
        })?;
        Some((bytes, m))
    };
    // What an interrupted push of this copy uploaded and no commit lists.
    if let Some(st) = state.as_ref().filter(|s| s.url == remote.url) {
        let kept = manifest
            .as_ref()
            .map(|(_, m)| referenced(m))
            .unwrap_or_default();
        let orphans: Vec<String> = st
            .pending
            .iter()
            .filter(|k| !kept.contains(*k))
            .cloned()
            .collect();
        report.orphans_removed = delete_all(remote, &store, orphans).await?;
    }
    match &manifest {
        None => wipe(layout)?,
        Some((bytes, m)) => {
            let (n, b) = download_missing(remote, &store, layout, m).await?;
            report.downloaded = n;
            report.bytes = b;
            // Data files and run records no commit lists are removed by the open that
            // follows (`recovery`), as after any interrupted run.
            let path = layout.manifest();
            layout::write_atomic(&path, &layout.manifest_tmp(), bytes, || Ok(()))?;
            // The catalog may show a local commit that never reached the bucket at the
            // same generation number: rebuilt by the open that follows.
            layout::remove_file_if_exists(&layout.catalog())?;
        }
    }
    let m = manifest.map(|(_, m)| m);
    MirrorState::at(&remote.url, seq, m.as_ref()).store(layout)?;
    tracing::info!(
        url = %remote.url,
        seq,
        downloaded = report.downloaded,
        bytes = report.bytes,
        orphans_removed = report.orphans_removed,
        "local copy brought to the remote's last commit"
    );
    remote.set_base(m);
    Ok(report)
}

/// The last commit: the hint, then forward while the next commit exists.
pub(super) async fn head(remote: &RemoteWarehouse, store: &Arc<dyn ObjectStore>) -> Result<u64> {
    let mut seq = match store.get(&remote.key(HEAD_REL)).await {
        Ok(r) => {
            let bytes = r
                .bytes()
                .await
                .map_err(remote.remote_err(HEAD_REL, "reading"))?;
            serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| v.get("seq").and_then(serde_json::Value::as_u64))
                .unwrap_or(0)
        }
        Err(object_store::Error::NotFound { .. }) => 0,
        Err(e) => return Err(remote.remote_err(HEAD_REL, "reading")(e)),
    };
    loop {
        let next = commit_rel(seq + 1);
        match store.head(&remote.key(&next)).await {
            Ok(_) => seq += 1,
            Err(object_store::Error::NotFound { .. }) => return Ok(seq),
            Err(e) => return Err(remote.remote_err(&next, "looking for")(e)),
        }
    }
}

/// Every key (relative) a commit refers to: files, run records, generation snapshots are
/// listed by name in the manifest (runs) or derived from it.
fn referenced(m: &Manifest) -> BTreeSet<String> {
    let mut keys = kept_paths(m);
    keys.extend(m.runs.iter().map(|r| format!("_ltx/runs/{r}.json")));
    keys
}

async fn get_bytes(
    remote: &RemoteWarehouse,
    store: &Arc<dyn ObjectStore>,
    rel: &str,
) -> Result<bytes::Bytes> {
    store
        .get(&remote.key(rel))
        .await
        .map_err(remote.remote_err(rel, "reading"))?
        .bytes()
        .await
        .map_err(remote.remote_err(rel, "reading"))
}

/// Relative keys and sizes of the objects under `dir_rel/`.
pub(super) async fn list(
    remote: &RemoteWarehouse,
    store: &Arc<dyn ObjectStore>,
    dir_rel: &str,
) -> Result<BTreeMap<String, u64>> {
    let prefix = remote.key(dir_rel);
    let metas: Vec<_> = store
        .list(Some(&prefix))
        .try_collect()
        .await
        .map_err(remote.remote_err(dir_rel, "listing"))?;
    Ok(metas
        .into_iter()
        .filter_map(|m| remote.rel(&m.location).map(|r| (r, m.size)))
        .collect())
}

/// Downloads what the local copy lacks: live files, run records, generation snapshots
/// and Delta logs (the last two mirrored exactly: extra local ones are removed).
async fn download_missing(
    remote: &RemoteWarehouse,
    store: &Arc<dyn ObjectStore>,
    layout: &Layout,
    m: &Manifest,
) -> Result<(u64, u64)> {
    let mut wanted: BTreeMap<String, Option<u64>> = m
        .all_live()
        .map(|f| (f.path.clone(), Some(f.bytes)))
        .collect();
    for run in &m.runs {
        wanted.insert(format!("_ltx/runs/{run}.json"), None);
    }
    let mut mirrored_dirs = vec!["_ltx/generations".to_owned()];
    mirrored_dirs.extend(m.tables.keys().map(|t| format!("data/{t}/_delta_log")));
    for dir in &mirrored_dirs {
        let listed = list(remote, store, dir).await?;
        let local_dir = layout.abs(dir);
        if let Ok(entries) = std::fs::read_dir(&local_dir) {
            for e in entries.flatten() {
                let rel = format!("{dir}/{}", e.file_name().to_string_lossy());
                if !listed.contains_key(&rel) {
                    layout::remove_file_if_exists(&e.path())?;
                }
            }
        }
        // `_last_checkpoint` is rewritten in place: always fetched.
        for (rel, size) in listed {
            let always = rel.ends_with("/_last_checkpoint");
            wanted.insert(rel, if always { None } else { Some(size) });
        }
    }
    let todo: Vec<(String, Option<u64>)> = wanted
        .into_iter()
        .filter(|(rel, size)| {
            let local = std::fs::metadata(layout.abs(rel)).ok().map(|md| md.len());
            match (local, size) {
                (Some(have), Some(want)) => have != *want,
                (Some(_), None) => rel.ends_with("/_last_checkpoint"),
                (None, _) => true,
            }
        })
        .collect();
    let results: Vec<u64> = futures::stream::iter(todo)
        .map(|(rel, _)| async move { download(remote, store, layout, &rel).await })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    Ok((results.len() as u64, results.iter().sum()))
}

/// Streams one object into the local copy (a `.part` file renamed into place). A run
/// record missing remotely is skipped (a record is informational; the commit is what
/// matters).
async fn download(
    remote: &RemoteWarehouse,
    store: &Arc<dyn ObjectStore>,
    layout: &Layout,
    rel: &str,
) -> Result<u64> {
    let path = layout.abs(rel);
    let got = match store.get(&remote.key(rel)).await {
        Ok(g) => g,
        Err(object_store::Error::NotFound { .. }) if rel.starts_with("_ltx/runs/") => {
            tracing::warn!(key = rel, "run record missing in the bucket");
            return Ok(0);
        }
        Err(e) => return Err(remote.remote_err(rel, "downloading")(e)),
    };
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await.map_err(io_err(dir))?;
    }
    let part = path.with_extension("part");
    let mut file = tokio::fs::File::create(&part)
        .await
        .map_err(io_err(&part))?;
    let mut stream = got.into_stream();
    let mut bytes = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(remote.remote_err(rel, "downloading"))?;
        bytes += chunk.len() as u64;
        file.write_all(&chunk).await.map_err(io_err(&part))?;
    }
    file.flush().await.map_err(io_err(&part))?;
    drop(file);
    layout::rename(&part, &path)?;
    Ok(bytes)
}

/// The remote is empty: so is the local copy (it held only commits that never reached it).
fn wipe(layout: &Layout) -> Result<()> {
    layout::remove_dir_if_exists(&layout.data_dir())?;
    for dir in [
        layout.runs_dir(),
        layout.generations_dir(),
        layout.raw_dir(),
    ] {
        layout::remove_dir_if_exists(&dir)?;
    }
    layout::remove_file_if_exists(&layout.manifest())?;
    layout::remove_file_if_exists(&layout.catalog())?;
    layout.create_dirs()
}

/// Deletes `rels` from the bucket (missing ones are fine); how many were deleted.
pub(super) async fn delete_all(
    remote: &RemoteWarehouse,
    store: &Arc<dyn ObjectStore>,
    rels: Vec<String>,
) -> Result<u64> {
    let n = rels.len() as u64;
    futures::stream::iter(rels)
        .map(|rel| async move {
            match store.delete(&remote.key(&rel)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(remote.remote_err(&rel, "deleting")(e)),
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(n)
}

/// Puts `bytes` at `rel` unconditionally.
pub(super) async fn put_bytes(
    remote: &RemoteWarehouse,
    store: &Arc<dyn ObjectStore>,
    rel: &str,
    bytes: Vec<u8>,
) -> Result<()> {
    store
        .put(&remote.key(rel), PutPayload::from(bytes))
        .await
        .map(|_| ())
        .map_err(remote.remote_err(rel, "writing"))
}
