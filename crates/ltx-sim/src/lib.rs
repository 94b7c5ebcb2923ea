//! ltx-sim: a simulated LiveTex API server with a deterministic, evolving account.
//!
//! It owns the data source of every test, demo and benchmark of ltx-warehouse: a generated
//! account (conversations with chats, messages, calls, leads, complaints, events,
//! employees, visitors) that keeps changing as its manual clock advances, served through
//! both API profiles (`v2` with a static Bearer token, `web-api` with OAuth2 password
//! tokens), with fault knobs (latency, 429, 5xx, stalls, malformed bodies, mid-paging
//! updates) and ground truth to compare a warehouse against (per conversation, per
//! warehouse table: [`WarehouseTruth`], and for service levels: [`SlaTruth`]).
//!
//! Tests add versions on demand: [`SimHandle::touch`] (the visitor writes again) and
//! [`SimHandle::prune`] (messages, chats, leads and uploaded files' events deleted, as
//! operators and spam removal delete them).
//!
//! The data keeps time like a support desk with working hours (Moscow, weekdays
//! 09:00–18:00, [`working_seconds`]): load peaks in the daytime; chats opened then are
//! answered within seconds to minutes, most chats opened at night or at weekends only
//! after the next opening; leads (offline requests) come more often out of hours and are
//! completed within a few working hours; a chat's `first_answer_time` is exactly when its
//! first employee message came and its `duration` runs to its last message or event.
//!
//! Inside, `account/` generates (index, pools, timing plan, conversation model, rendering,
//! SLA facts), `server/` serves (faults middleware, auth layers, paging, routes), `truth`
//! derives the per-table ground truth, `sla` holds the SLA truth's types, `hours` the
//! working calendar, `drift` and `hostile` make the values and bodies of two fault knobs.
//!
//! It does not depend on any other ltx crate on purpose: it speaks JSON on the wire only,
//! so it cannot share a bug with the code it tests.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use ltx_sim::{SimConfig, SimServer};
//!
//! let sim = SimServer::start(SimConfig { conversations: 20, ..SimConfig::default() }).await?;
//! let page: serde_json::Value = reqwest::Client::new()
//!     .get(format!("{}/v2/conversations?limit=2&sort=updated_at:a", sim.base_url()))
//!     .bearer_auth(sim.token())
//!     .send()
//!     .await?
//!     .json()
//!     .await?;
//! assert_eq!(page["total"], 20);
//! assert_eq!(page["results"].as_array().map(Vec::len), Some(2));
//! assert_eq!(sim.ground_truth(sim.now()).len(), 20);
//! sim.shutdown().await;
//! # Ok(())
//! # }
//! ```

#![recursion_limit = "256"]

mod account;
mod config;
pub mod drift;
mod error;
pub mod hostile;
mod hours;
mod query;
mod server;
mod sla;
mod stats;
mod time;
mod truth;
mod vocab;

use std::io::Write;

pub use account::{Account, FIRST_CONVERSATION_ID};
pub use config::{default_start_clock, Faults, SimConfig};
pub use error::SimError;
pub use hours::working_seconds;
pub use server::{SimHandle, SimServer};
pub use sla::{ChatSla, ComplaintSla, LeadSla, SlaTruth};
pub use stats::SimStats;
pub use truth::{TableTruth, WarehouseTruth, TRUTH_TABLES};

/// Streams `n` conversations (ids from [`FIRST_CONVERSATION_ID`], each at its latest version
/// as of `cfg.start_clock`) as JSON Lines into `writer`, holding one at a time in memory.
/// `cfg.conversations` is ignored: the account is generated with `n` conversations.
/// Returns the number of bytes written.
pub fn write_jsonl<W: Write>(cfg: &SimConfig, mut writer: W, n: u64) -> Result<u64, SimError> {
    let account = Account::new(&SimConfig {
        conversations: n,
        ..cfg.clone()
    });
    let at = cfg.start_clock;
    let mut bytes = 0u64;
    let mut buf = Vec::with_capacity(16 * 1024);
    for (id, _) in account.visible(at) {
        let Some(v) = account.conversation_json(id, at) else {
            continue;
        };
        buf.clear();
        serde_json::to_writer(&mut buf, &v).map_err(|e| SimError::Write {
            id,
            source: e.into(),
        })?;
        buf.push(b'\n');
        writer
            .write_all(&buf)
            .map_err(|source| SimError::Write { id, source })?;
        bytes += buf.len() as u64;
    }
    writer
        .flush()
        .map_err(|source| SimError::Write { id: 0, source })?;
    Ok(bytes)
}

/// The `n` conversations of [`write_jsonl`] as one JSON text each, in memory (for tests
/// and benchmarks that feed records one by one).
pub fn jsonl_lines(cfg: &SimConfig, n: u64) -> Result<Vec<String>, SimError> {
    let mut buf = Vec::new();
    write_jsonl(cfg, &mut buf, n)?;
    // serde_json writes UTF-8; a failure here would be a bug in the generator.
    let text = String::from_utf8(buf).map_err(|e| SimError::Internal(e.to_string()))?;
    Ok(text.lines().map(str::to_owned).collect())
}
