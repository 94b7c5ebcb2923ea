//! Where the records of a page go: the [`Emitter`] (conversations, deduped by id and
//! version within a sync, sent to the output channel) and [`Discovered`] (discover mode's
//! conversation ids, each queued for fetching once), behind the [`Sink`] that
//! `list::page_window` hands every record to. Shared by `list` and `discover`, so that
//! neither needs the other's types.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use crate::error::ExtractError;
use crate::guard::key_of;
use crate::item::{classify, Item};
use crate::metrics::Metrics;

/// Dedupes by id within a sync and sends to the output channel (backpressure).
pub(crate) struct Emitter {
    tx: mpsc::Sender<Item>,
    /// id → greatest `updated_at` emitted (seconds since the epoch, to stay small).
    seen: Mutex<HashMap<i64, i64>>,
    /// Hashes of unreadable records already sent (keyset pages overlap at boundaries).
    unreadable_seen: Mutex<HashSet<u64>>,
    metrics: Arc<Metrics>,
}

impl Emitter {
    pub(crate) fn new(tx: mpsc::Sender<Item>, metrics: Arc<Metrics>) -> Self {
        Self {
            tx,
            seen: Mutex::new(HashMap::new()),
            unreadable_seen: Mutex::new(HashSet::new()),
            metrics,
        }
    }

    /// Emits a raw conversation unless the same or a newer version was already sent.
    /// Returns its `updated_at` when readable, and its identity for the [`crate::guard::PageGuard`].
    pub(crate) async fn emit(
        &self,
        raw: impl crate::item::IntoRecord,
        origin: impl FnOnce() -> String,
    ) -> Result<(Option<DateTime<Utc>>, u64), ExtractError> {
        let item = classify(raw, origin);
        let (updated, identity) = match &item {
            Item::Conversation(c) => {
                let key = c.updated_at.timestamp_micros();
                let identity = key_of(&[&c.id.to_le_bytes(), &key.to_le_bytes()]);
                let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
                let entry = seen.entry(c.id).or_insert(i64::MIN);
                if *entry >= key {
                    Metrics::inc(&self.metrics.duplicates_skipped);
                    return Ok((Some(c.updated_at), identity));
                }
                *entry = key;
                (Some(c.updated_at), identity)
            }
            Item::Unreadable(u) => {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                u.raw.get().hash(&mut h);
                let identity = h.finish();
                let fresh = self
                    .unreadable_seen
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(identity);
                if !fresh {
                    return Ok((None, identity));
                }
                tracing::warn!(origin = %u.origin, error = %u.error, "record without a readable id/updated_at; sent to _rejected");
                (None, identity)
            }
        };
        let counter = if updated.is_some() {
            &self.metrics.conversations
        } else {
            &self.metrics.unreadable
        };
        self.tx
            .send(item)
            .await
            .map_err(|_| ExtractError::ChannelClosed)?;
        Metrics::inc(counter);
        Ok((updated, identity))
    }
}

/// What to do with the records of a page.
pub(crate) enum Sink<'a> {
    /// Conversations: emit each.
    Conversations(&'a Emitter),
    /// Children (discover mode): forward each new conversation id.
    Discover(&'a Discovered),
}

/// Conversation ids discovered so far in this sync (each is fetched once).
pub(crate) struct Discovered {
    ids: mpsc::Sender<i64>,
    seen: Mutex<HashSet<i64>>,
    metrics: Arc<Metrics>,
}

impl Discovered {
    /// Discovers into `ids` (the fetchers' queue); dropping it closes the queue.
    pub(crate) fn new(ids: mpsc::Sender<i64>, metrics: Arc<Metrics>) -> Self {
        Self {
            ids,
            seen: Mutex::new(HashSet::new()),
            metrics,
        }
    }

    /// Queues `id` for fetching unless already queued in this sync.
    pub(crate) async fn found(
        &self,
        id: Option<i64>,
        origin: impl FnOnce() -> String,
    ) -> Result<(), ExtractError> {
        let Some(id) = id else {
            tracing::warn!(origin = %origin(), "record without conversation.id; cannot discover its conversation");
            return Ok(());
        };
        let fresh = self
            .seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id);
        if fresh {
            Metrics::inc(&self.metrics.discovered);
            self.ids
                .send(id)
                .await
                .map_err(|_| ExtractError::ChannelClosed)?;
        }
        Ok(())
    }
}
