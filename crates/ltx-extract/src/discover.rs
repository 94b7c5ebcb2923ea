//! Discover mode: page the child lists (chats, calls, leads, complaints — per profile)
//! by `updated_at` with the same keyset pager, collect the distinct `conversation.id`s
//! and fetch each conversation concurrently while discovery continues.
//!
//! A discovered id answered 404 (deleted meanwhile) is logged and counted, not fatal,
//! unless most of them do: then the `show` endpoint is wrong for this account and the run
//! fails naming it (see [`crate::completeness`]).
//! A fetched conversation may be newer than the window (changed mid-sync): it is
//! emitted as fetched; the loader keeps the newest version anyway.

use std::sync::atomic::Ordering;

use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::sync::mpsc;

use crate::client::{Client, Request};
use crate::emit::{Discovered, Emitter, Sink};
use crate::error::ExtractError;
use crate::list::page_window;
use crate::metrics::Metrics;
use crate::window::SyncRange;

/// A `show` answer may be the object itself or wrapped in `{"results": {…}}`.
fn unwrap_show(raw: Box<RawValue>) -> Box<RawValue> {
    #[derive(Deserialize)]
    struct Wrapped {
        #[serde(default)]
        id: Option<serde::de::IgnoredAny>,
        #[serde(default)]
        results: Option<Box<RawValue>>,
    }
    match serde_json::from_str::<Wrapped>(raw.get()) {
        Ok(Wrapped {
            id: None,
            results: Some(inner),
        }) if inner.get().trim_start().starts_with('{') => inner,
        _ => raw,
    }
}

async fn fetch(client: &Client, emitter: &Emitter, id: i64) -> Result<(), ExtractError> {
    let (verb, path) = client.profile().show_endpoint(id);
    let req = Request {
        verb,
        path,
        params: vec![(
            "fields",
            crate::fields::fields_param(client.config().fields.as_deref()),
        )],
        context: format!(" (conversation {id})"),
        allow_404: true,
    };
    let answer = client.send_json::<Box<RawValue>>(&req).await?;
    let m = client.metrics();
    Metrics::inc(&m.shows);
    match answer {
        None => {
            Metrics::inc(&m.not_found);
            tracing::warn!(
                conversation_id = id,
                "discovered conversation answered 404 (deleted?); skipped"
            );
            let shows = m.shows.load(Ordering::Relaxed);
            if shows >= crate::completeness::EARLY_CHECK_SHOWS {
                crate::completeness::check_not_found(
                    client,
                    m.not_found.load(Ordering::Relaxed),
                    shows,
                    m.discovered.load(Ordering::Relaxed),
                )?;
            }
        }
        Some(raw) => {
            emitter
                .emit(unwrap_show(raw), || {
                    format!("{} {}{}", verb.as_str(), req.path, req.context)
                })
                .await?;
        }
    }
    Ok(())
}

/// Discover mode over every window of `range`.
pub(crate) async fn run_discover(
    client: &Client,
    range: &SyncRange,
    emitter: &Emitter,
) -> Result<(), ExtractError> {
    let concurrency = client.config().concurrency;
    let (id_tx, mut id_rx) = mpsc::channel::<i64>(4096);
    let resources = client.profile().discover_resources();
    let discovery = async move {
        let discovered = Discovered::new(id_tx, client.metrics().clone());
        let sink = Sink::Discover(&discovered);
        let sink = &sink;
        let units = range.windows.iter().flat_map(|w| {
            resources
                .iter()
                .map(move |&(r, required)| (*w, r, required))
        });
        futures::stream::iter(units)
            .map(|(w, r, required)| async move {
                page_window(client, r, w, sink, required, None, false).await
            })
            .buffer_unordered(concurrency)
            .try_collect::<()>()
            .await?;
        Metrics::add(&client.metrics().windows_done, range.windows.len() as u64);
        // Dropping `discovered` closes the id channel: the fetchers finish.
        Ok::<_, ExtractError>(())
    };
    let ids = futures::stream::poll_fn(move |cx| id_rx.poll_recv(cx));
    let fetching = ids
        .map(|id| fetch(client, emitter, id))
        .buffer_unordered(concurrency)
        .try_collect::<()>();
    tokio::try_join!(discovery, fetching)?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn show_answers_are_unwrapped() {
        let raw = RawValue::from_string(r#"{"results":{"id":1,"updated_at":"x"}}"#.into()).unwrap();
        assert_eq!(unwrap_show(raw).get(), r#"{"id":1,"updated_at":"x"}"#);
        let raw = RawValue::from_string(r#"{"id":1,"results":{"a":1}}"#.into()).unwrap();
        assert_eq!(unwrap_show(raw).get(), r#"{"id":1,"results":{"a":1}}"#);
    }
}
