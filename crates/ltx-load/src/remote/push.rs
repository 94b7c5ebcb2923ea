//! Publishing a local commit: upload what is new, create the next commit object if no one
//! else did, then the Delta logs, the hint and the deletions that follow from it.

use std::collections::BTreeSet;
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use object_store::buffered::BufWriter;
use object_store::{ObjectStore, PutMode, PutOptions, PutPayload};
use tokio::io::AsyncWriteExt;

use super::pull::{delete_all, list, put_bytes, CONCURRENCY};
use super::state::MirrorState;
use super::{commit_rel, kept_paths, RemoteWarehouse, FULL_COMMITS_KEPT, HEAD_REL};
use crate::error::{io_err, LoadError, Result};
use crate::layout::{self, Layout};
use crate::manifest::Manifest;

/// What a push did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PushReport {
    /// The remote commit created (the previous one when there was nothing to push).
    pub seq: u64,
    /// Objects uploaded before the commit (data files, run records, snapshots).
    pub uploaded: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Delta log objects uploaded after the commit.
    pub delta_logs: u64,
    /// Objects deleted after the commit (files past their grace period, old snapshots).
    pub deleted: u64,
}

pub(super) async fn push(
    remote: &RemoteWarehouse,
    store: Arc<dyn ObjectStore>,
    layout: &Layout,
    manifest: &Manifest,
) -> Result<PushReport> {
    let Some(mut state) = MirrorState::load(layout)?.filter(|s| s.url == remote.url) else {
        return Err(LoadError::RemoteDiverged {
            url: remote.url.clone(),
            dir: layout.root().to_path_buf(),
        });
    };
    let base = remote.base();
    let empty = Manifest::empty(manifest.created_at);
    let base_ref = base.as_ref().unwrap_or(&empty);
    if base.as_ref() == Some(manifest) {
        return Ok(PushReport {
            seq: state.seq,
            ..PushReport::default()
        });
    }
    let uploads = new_objects(layout, base_ref, manifest);
    state.pending = uploads.clone();
    state.store(layout)?;
    remote.crash.check("remote.after_pending")?;
    let sizes: Vec<u64> = futures::stream::iter(uploads.iter().cloned())
        .map(|rel| {
            let store = Arc::clone(&store);
            async move {
                let n = upload(remote, store, layout, &rel).await?;
                remote.crash.check("remote.after_upload_file")?;
                Ok::<u64, LoadError>(n)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    remote.crash.check("remote.after_uploads")?;
    let seq = state.seq + 1;
    let rel = commit_rel(seq);
    let bytes = serde_json::to_vec_pretty(manifest).map_err(|source| LoadError::Json {
        path: layout.manifest(),
        source,
    })?;
    let create = PutOptions {
        mode: PutMode::Create,
        ..PutOptions::default()
    };
    match store
        .put_opts(&remote.key(&rel), PutPayload::from(bytes), create)
        .await
    {
        Ok(_) => {}
        Err(
            object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. },
        ) => {
            // Lost the race: remove what this run uploaded, so nothing of it is left.
            // The state keeps the list: should this fail, the next pull retries it.
            let removed = delete_all(remote, &store, uploads).await;
            if let Err(e) = removed {
                tracing::warn!(error = %e, "could not remove every upload of the losing commit");
            }
            return Err(LoadError::RemoteConflict {
                url: remote.url.clone(),
                seq,
            });
        }
        Err(e) => return Err(remote.remote_err(&rel, "committing")(e)),
    }
    remote.crash.check("remote.after_commit")?;
    MirrorState::at(&remote.url, seq, Some(manifest)).store(layout)?;
    remote.set_base(Some(manifest.clone()));
    let mut report = PushReport {
        seq,
        uploaded: sizes.len() as u64,
        bytes: sizes.iter().sum(),
        ..PushReport::default()
    };
    // Everything below follows from the commit and is redone by the next push: a failure
    // is a warning, not a failed run.
    match after_commit(remote, &store, layout, base_ref, manifest, seq).await {
        Ok((delta_logs, deleted)) => {
            report.delta_logs = delta_logs;
            report.deleted = deleted;
        }
        Err(e) => {
            tracing::warn!(url = %remote.url, seq, error = %e, "committed; follow-up work left for the next run")
        }
    }
    tracing::info!(
        url = %remote.url,
        seq,
        uploaded = report.uploaded,
        bytes = report.bytes,
        delta_logs = report.delta_logs,
        deleted = report.deleted,
        "pushed"
    );
    Ok(report)
}

/// Keys (relative) the commit of `manifest` needs that `base` did not have: new data
/// files, new run records and raw archives, new generation snapshots.
fn new_objects(layout: &Layout, base: &Manifest, manifest: &Manifest) -> Vec<String> {
    let had = kept_paths(base);
    let mut out: BTreeSet<String> = manifest
        .all_live()
        .filter(|f| !had.contains(&f.path))
        .map(|f| f.path.clone())
        .collect();
    let old_runs: BTreeSet<&String> = base.runs.iter().collect();
    for run in manifest.runs.iter().filter(|r| !old_runs.contains(r)) {
        let rel = format!("_ltx/runs/{run}.json");
        if layout.abs(&rel).exists() {
            out.insert(rel);
        }
        let raw = layout.raw_dir().join(run);
        if let Ok(entries) = std::fs::read_dir(&raw) {
            for e in entries.flatten() {
                out.insert(format!(
                    "_ltx/raw/{run}/{}",
                    e.file_name().to_string_lossy()
                ));
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(layout.generations_dir()) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if layout::parse_generation_file(&name).is_some_and(|(g, _)| g > base.generation) {
                out.insert(format!("_ltx/generations/{name}"));
            }
        }
    }
    out.into_iter().collect()
}

/// Streams one local file to the bucket (multipart above the buffer's size).
async fn upload(
    remote: &RemoteWarehouse,
    store: Arc<dyn ObjectStore>,
    layout: &Layout,
    rel: &str,
) -> Result<u64> {
    let path = layout.abs(rel);
    let mut file = tokio::fs::File::open(&path).await.map_err(io_err(&path))?;
    let mut writer = BufWriter::new(store, remote.key(rel));
    let copied = tokio::io::copy(&mut file, &mut writer).await;
    let bytes = match copied {
        Ok(n) => n,
        Err(e) => {
            let _ = writer.abort().await;
            return Err(io_err(&path)(e));
        }
    };
    writer.shutdown().await.map_err(|e| LoadError::Remote {
        url: remote.url.clone(),
        key: rel.to_owned(),
        action: "uploading",
        source: Box::new(object_store::Error::Generic {
            store: "S3",
            source: Box::new(e),
        }),
    })?;
    Ok(bytes)
}

/// After the commit: the Delta logs, the hint, files past their grace period, expired
/// snapshots, and the old commit object's stub. Returns (Delta objects, deletions).
async fn after_commit(
    remote: &RemoteWarehouse,
    store: &Arc<dyn ObjectStore>,
    layout: &Layout,
    base: &Manifest,
    manifest: &Manifest,
    seq: u64,
) -> Result<(u64, u64)> {
    let delta = mirror_dirs(
        remote,
        store,
        layout,
        manifest
            .tables
            .keys()
            .map(|t| format!("data/{t}/_delta_log")),
    )
    .await?;
    remote.crash.check("remote.after_delta_logs")?;
    put_bytes(
        remote,
        store,
        HEAD_REL,
        format!("{{\"seq\": {seq}}}\n").into_bytes(),
    )
    .await?;
    let keep = kept_paths(manifest);
    let gone: Vec<String> = kept_paths(base)
        .into_iter()
        .filter(|p| !keep.contains(p))
        .collect();
    let mut deleted = delete_all(remote, store, gone).await?;
    // Snapshots the local copy expired.
    let local: BTreeSet<String> = std::fs::read_dir(layout.generations_dir())
        .map(|it| {
            it.flatten()
                .map(|e| format!("_ltx/generations/{}", e.file_name().to_string_lossy()))
                .collect()
        })
        .unwrap_or_default();
    let expired: Vec<String> = list(remote, store, "_ltx/generations")
        .await?
        .into_keys()
        .filter(|k| !local.contains(k))
        .collect();
    deleted += delete_all(remote, store, expired).await?;
    if seq > FULL_COMMITS_KEPT {
        let old = commit_rel(seq - FULL_COMMITS_KEPT);
        put_bytes(remote, store, &old, b"{\"superseded\": true}\n".to_vec()).await?;
    }
    Ok((delta, deleted))
}

/// Makes each remote directory equal the local one: uploads new or changed objects (by
/// size; `_last_checkpoint` always, last), deletes what the local copy removed.
async fn mirror_dirs(
    remote: &RemoteWarehouse,
    store: &Arc<dyn ObjectStore>,
    layout: &Layout,
    dirs: impl Iterator<Item = String>,
) -> Result<u64> {
    let mut uploaded = 0u64;
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(layout.abs(&dir)) else {
            continue;
        };
        let local: Vec<(String, u64)> = entries
            .flatten()
            .filter(|e| e.path().is_file())
            .map(|e| {
                let size = e.metadata().map(|m| m.len()).unwrap_or(0);
                (format!("{dir}/{}", e.file_name().to_string_lossy()), size)
            })
            .filter(|(rel, _)| !rel.ends_with(".tmp") && !rel.ends_with(".part"))
            .collect();
        let listed = list(remote, store, &dir).await?;
        let (pointer, files): (Vec<_>, Vec<_>) = local
            .iter()
            .filter(|(rel, size)| {
                rel.ends_with("/_last_checkpoint") || listed.get(rel) != Some(size)
            })
            .map(|(rel, _)| rel.clone())
            .partition(|rel| rel.ends_with("/_last_checkpoint"));
        uploaded += (files.len() + pointer.len()) as u64;
        // In version order, one at a time (usually one per changed table): a reader listing
        // the log never sees a gap.
        let mut files = files;
        files.sort();
        for rel in files.into_iter().chain(pointer) {
            upload(remote, Arc::clone(store), layout, &rel).await?;
        }
        let have: BTreeSet<&String> = local.iter().map(|(r, _)| r).collect();
        let gone: Vec<String> = listed.into_keys().filter(|k| !have.contains(k)).collect();
        delete_all(remote, store, gone).await?;
    }
    Ok(uploaded)
}
