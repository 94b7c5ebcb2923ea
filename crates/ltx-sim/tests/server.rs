//! End-to-end behaviour of the simulated API over HTTP.
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ltx_sim::{Faults, SimConfig, SimHandle, SimServer, FIRST_CONVERSATION_ID};
use serde_json::Value;

fn cfg(n: u64) -> SimConfig {
    SimConfig {
        conversations: n,
        ..SimConfig::default()
    }
}

fn msk(t: DateTime<Utc>) -> String {
    t.with_timezone(&chrono_tz::Europe::Moscow)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn v2(sim: &SimHandle, path: &str, query: &[(&str, String)]) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(format!("{}{path}", sim.base_url()))
        .bearer_auth(sim.token())
        .query(query)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn web_token(sim: &SimHandle) -> String {
    let r: Value = reqwest::Client::new()
        .post(format!("{}/oauth2/token", sim.base_url()))
        .form(&[
            ("grant_type", "password"),
            ("username", sim.login()),
            ("password", sim.password()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["results"]["access_token"].as_str().unwrap().to_owned()
}

async fn web(sim: &SimHandle, token: &str, path: &str, query: &[(&str, String)]) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}{path}", sim.base_url()))
        .bearer_auth(token)
        .query(query)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Pages a v2 list to the end; returns (id, updated_at text) in order and the first total.
async fn page_all(
    sim: &SimHandle,
    path: &str,
    extra: &[(&str, String)],
) -> (Vec<(i64, String)>, u64) {
    let mut out = Vec::new();
    let mut offset = 0;
    let mut total = None;
    loop {
        let mut q = vec![("offset", offset.to_string()), ("limit", "100".to_owned())];
        q.extend(extra.iter().cloned());
        let (status, page) = v2(sim, path, &q).await;
        assert_eq!(status, 200, "{page}");
        total.get_or_insert(page["total"].as_u64().unwrap());
        let items = page["results"].as_array().unwrap();
        if items.is_empty() {
            break;
        }
        for it in items {
            let id = it["conversation"]["id"]
                .as_i64()
                .or(it["id"].as_i64())
                .unwrap();
            out.push((id, it["updated_at"].as_str().unwrap_or_default().to_owned()));
        }
        offset += items.len();
    }
    (out, total.unwrap_or(0))
}

#[tokio::test]
async fn paging_by_updated_at_returns_each_conversation_once() {
    let sim = SimServer::start(cfg(430)).await.unwrap();
    let (rows, total) = page_all(
        &sim,
        "/v2/conversations",
        &[("sort", "updated_at:a".into())],
    )
    .await;
    assert_eq!(total, 430);
    let ids: BTreeSet<i64> = rows.iter().map(|r| r.0).collect();
    assert_eq!(ids.len(), 430, "no duplicates");
    let truth = sim.ground_truth(sim.now());
    assert_eq!(ids, truth.keys().copied().collect());
    // Sorted ascending by the instant (texts are naive Moscow times; a few carry +03:00).
    let times: Vec<DateTime<Utc>> = rows.iter().map(|r| truth[&r.0]).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    // created_at:a pages ids in ascending order.
    let (rows, _) = page_all(
        &sim,
        "/v2/conversations",
        &[("sort", "created_at:a".into())],
    )
    .await;
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(ids.len(), 430);
}

#[tokio::test]
async fn window_filters_agree_across_syntaxes_and_profiles() {
    let sim = SimServer::start(cfg(300)).await.unwrap();
    let now = sim.now();
    let from = now - chrono::Duration::days(20);
    let to = now - chrono::Duration::days(10);
    let expected: BTreeSet<i64> = sim
        .ground_truth(now)
        .into_iter()
        .filter(|(_, t)| *t >= from && *t < to)
        .map(|(id, _)| id)
        .collect();
    assert!(!expected.is_empty());
    let q = format!("updated_at>={};updated_at<{}", rfc(from), rfc(to));
    let (a, total) = page_all(&sim, "/v2/conversations", &[("q", q)]).await;
    assert_eq!(total as usize, expected.len());
    let (b, _) = page_all(
        &sim,
        "/v2/conversations",
        &[
            ("updated_at_from", rfc(from)),
            ("updated_at_to", msk(to).replace(' ', "T")),
        ],
    )
    .await;
    let a: BTreeSet<i64> = a.into_iter().map(|r| r.0).collect();
    let b: BTreeSet<i64> = b.into_iter().map(|r| r.0).collect();
    assert_eq!(a, expected);
    assert_eq!(b, expected);

    let token = web_token(&sim).await;
    let mut c = BTreeSet::new();
    let mut offset = 0;
    loop {
        let q = format!("updated_at>={} updated_at<{}", msk(from), msk(to));
        let (status, page) = web(
            &sim,
            &token,
            "/conversations/list",
            &[
                ("offset", offset.to_string()),
                ("limit", "500".into()),
                ("q", q),
            ],
        )
        .await;
        assert_eq!(status, 200);
        let items = page["results"].as_array().unwrap();
        assert!(items.len() <= 50, "web-api caps limit at 50");
        if items.is_empty() {
            break;
        }
        c.extend(items.iter().map(|i| i["id"].as_i64().unwrap()));
        offset += items.len();
    }
    assert_eq!(c, expected);
}

#[tokio::test]
async fn one_conversation_fields_sort_and_errors() {
    let sim = SimServer::start(cfg(50)).await.unwrap();
    let (s, conv) = v2(
        &sim,
        &format!("/v2/conversations/{FIRST_CONVERSATION_ID}"),
        &[],
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(conv["id"], FIRST_CONVERSATION_ID);
    let (s, body) = v2(&sim, "/v2/conversations/999", &[]).await;
    assert_eq!((s, body["code"].as_i64()), (404, Some(404)));
    let (s, body) = v2(&sim, "/v2/conversations", &[("sort", "id:a".into())]).await;
    assert_eq!((s, body["code"].as_i64()), (400, Some(400)));
    let (s, page) = v2(
        &sim,
        "/v2/conversations",
        &[
            ("fields", "updated_at,chat_count".into()),
            ("limit", "3".into()),
        ],
    )
    .await;
    assert_eq!(s, 200);
    for item in page["results"].as_array().unwrap() {
        let keys: BTreeSet<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, BTreeSet::from(["id", "updated_at", "chat_count"]));
    }
    let (s, page) = v2(
        &sim,
        "/v2/conversations",
        &[(
            "q",
            format!(
                "ids={},{}",
                FIRST_CONVERSATION_ID,
                FIRST_CONVERSATION_ID + 7
            ),
        )],
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(page["total"], 2);
    let token = web_token(&sim).await;
    let (s, c2) = web(
        &sim,
        &token,
        "/conversations/get",
        &[("id", FIRST_CONVERSATION_ID.to_string())],
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(c2, conv);
}

#[tokio::test]
async fn bad_tokens_get_401_on_both_profiles() {
    let sim = SimServer::start(cfg(10)).await.unwrap();
    let client = reqwest::Client::new();
    let url = format!("{}/v2/conversations", sim.base_url());
    let r = client.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = client.get(&url).bearer_auth("nope").send().await.unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], 401);
    // The static v2 token is not a web-api token and vice versa.
    let (s, _) = web(&sim, sim.token(), "/conversations/list", &[]).await;
    assert_eq!(s, 401);
    let token = web_token(&sim).await;
    let r = client.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = client
        .post(format!("{}/oauth2/token", sim.base_url()))
        .form(&[
            ("grant_type", "password"),
            ("username", sim.login()),
            ("password", "wrong"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["message"], "invalid_grant");
    let stats = sim.stats();
    assert_eq!(stats.logins, 1);
    assert!(stats.unauthorized_requests >= 4);
}

#[tokio::test]
async fn web_api_tokens_expire_in_wall_clock_time() {
    let sim = SimServer::start(SimConfig {
        token_ttl: Duration::from_millis(600),
        ..cfg(10)
    })
    .await
    .unwrap();
    let token = web_token(&sim).await;
    let (s, _) = web(&sim, &token, "/chats/list", &[]).await;
    assert_eq!(s, 200);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (s, body) = web(&sim, &token, "/chats/list", &[]).await;
    assert_eq!(s, 401, "{body}");
    assert_eq!(sim.stats().stale_token_requests, 1);
    let fresh = web_token(&sim).await;
    let (s, _) = web(&sim, &fresh, "/chats/list", &[]).await;
    assert_eq!(s, 200);
    assert_eq!(sim.stats().logins, 2);
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let sim = SimServer::start(SimConfig {
        faults: Faults {
            rate_limit_per_s: Some(5.0),
            ..Faults::default()
        },
        ..cfg(10)
    })
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let mut limited = 0;
    for _ in 0..30 {
        let r = client
            .get(format!("{}/v2/conversations?limit=1", sim.base_url()))
            .bearer_auth(sim.token())
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            limited += 1;
            let secs: u64 = r.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(secs >= 1);
        }
    }
    // A burst of 5 passes; most of the rest is refused (a few refill on a slow machine).
    assert!(limited >= 10, "{limited}");
    assert_eq!(
        sim.stats().by_status.get(&429).copied().unwrap_or(0),
        limited
    );
}

#[tokio::test]
async fn rate_limited_rate_answers_a_fraction_429_with_zero_retry_after() {
    let sim = SimServer::start(SimConfig {
        faults: Faults {
            rate_limited_rate: 0.5,
            ..Faults::default()
        },
        ..cfg(10)
    })
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let mut limited = 0;
    for _ in 0..200 {
        let r = client
            .get(format!("{}/v2/conversations?limit=1", sim.base_url()))
            .bearer_auth(sim.token())
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            limited += 1;
            assert_eq!(r.headers()["retry-after"], "0");
        } else {
            assert_eq!(r.status(), 200);
        }
    }
    // Seeded draws: roughly half, never none or all.
    assert!((50..150).contains(&limited), "{limited}");
    assert_eq!(sim.stats().by_status.get(&429).copied(), Some(limited));
}

#[tokio::test]
async fn error_rate_latency_malformed_and_stall() {
    let sim = SimServer::start(SimConfig {
        faults: Faults {
            error_rate: 0.5,
            ..Faults::default()
        },
        ..cfg(10)
    })
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let url = format!("{}/v2/conversations?limit=1", sim.base_url());
    let mut errors = 0;
    for _ in 0..200 {
        let r = client
            .get(&url)
            .bearer_auth(sim.token())
            .send()
            .await
            .unwrap();
        if r.status().is_server_error() {
            assert!([500, 502, 503].contains(&r.status().as_u16()));
            errors += 1;
        }
    }
    assert!((60..=140).contains(&errors), "{errors} of 200");

    sim.set_faults(Faults {
        latency: Duration::from_millis(60),
        ..Faults::default()
    });
    let t = Instant::now();
    let r = client
        .get(&url)
        .bearer_auth(sim.token())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(t.elapsed() >= Duration::from_millis(60));

    sim.set_faults(Faults {
        malformed_rate: 1.0,
        ..Faults::default()
    });
    let r = client
        .get(&url)
        .bearer_auth(sim.token())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap();
    assert!(serde_json::from_slice::<Value>(&bytes).is_err());

    sim.set_faults(Faults {
        stall_rate: 1.0,
        stall: Duration::from_secs(30),
        ..Faults::default()
    });
    let r = client
        .get(&url)
        .bearer_auth(sim.token())
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(r.unwrap_err().is_timeout());
    sim.shutdown().await;
}

#[tokio::test]
async fn date_header_is_the_simulated_clock() {
    let sim = SimServer::start(cfg(10)).await.unwrap();
    let date = |r: &reqwest::Response| {
        DateTime::parse_from_rfc2822(r.headers()["date"].to_str().unwrap())
            .unwrap()
            .with_timezone(&Utc)
    };
    let client = reqwest::Client::new();
    let url = format!("{}/v2/conversations?limit=1", sim.base_url());
    let r = client
        .get(&url)
        .bearer_auth(sim.token())
        .send()
        .await
        .unwrap();
    assert_eq!(date(&r), ltx_sim::default_start_clock());
    sim.advance(chrono::Duration::hours(5));
    let r = client
        .get(&url)
        .bearer_auth(sim.token())
        .send()
        .await
        .unwrap();
    assert_eq!(
        date(&r),
        ltx_sim::default_start_clock() + chrono::Duration::hours(5)
    );
}

#[tokio::test]
async fn advance_brings_updates_late_arrivals_and_new_conversations() {
    let sim = SimServer::start(cfg(1_500)).await.unwrap();
    let start = sim.now();
    let before = sim.ground_truth(start);
    assert_eq!(before.len(), 1_500);
    sim.advance(chrono::Duration::days(3));
    let now = sim.now();
    let after = sim.ground_truth(now);
    let updated = before.iter().filter(|(id, t)| after[id] > **t).count();
    let new: Vec<i64> = after
        .keys()
        .filter(|id| !before.contains_key(id))
        .copied()
        .collect();
    assert!(updated > 0, "some conversations got new versions");
    assert!(!new.is_empty() && new.iter().all(|&id| id > FIRST_CONVERSATION_ID + 1_499));
    // Late arrivals: visible now, but not yet visible at their own updated_at.
    let account = sim.account();
    let late = after
        .iter()
        .filter(|(id, t)| account.updated_at(**id, **t).is_none())
        .count();
    assert!(
        late > 0,
        "some conversations become visible after their updated_at"
    );
    // The API agrees with the truth after the advance.
    let (rows, total) = page_all(&sim, "/v2/conversations", &[]).await;
    assert_eq!(total as usize, after.len());
    assert_eq!(rows.len(), after.len());
}

#[tokio::test]
async fn children_lists_discover_every_changed_conversation() {
    let sim = SimServer::start(cfg(800)).await.unwrap();
    let start = sim.now();
    sim.advance(chrono::Duration::days(2));
    let changed: BTreeSet<i64> = sim
        .ground_truth(sim.now())
        .into_iter()
        .filter(|(_, t)| *t > start)
        .map(|(id, _)| id)
        .collect();
    assert!(!changed.is_empty());
    let mut found = BTreeSet::new();
    for path in ["/v2/chats", "/v2/calls", "/v2/leads", "/v2/complaints"] {
        let (rows, total) =
            page_all(&sim, path, &[("q", format!("updated_at>{}", rfc(start)))]).await;
        assert_eq!(rows.len() as u64, total);
        found.extend(rows.into_iter().map(|r| r.0));
    }
    assert_eq!(found, changed);
}

/// Every conversation the v2 list serves now, as full documents.
async fn all_documents(sim: &SimHandle) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let q = [("offset", out.len().to_string()), ("limit", "100".into())];
        let (status, page) = v2(sim, "/v2/conversations", &q).await;
        assert_eq!(status, 200, "{page}");
        let items = page["results"].as_array().unwrap();
        if items.is_empty() {
            return out;
        }
        out.extend(items.iter().cloned());
    }
}

/// The conversation a child key of `table` belongs to (ids are built from it).
fn owner(table: &str, key: &str) -> i64 {
    match table {
        "chat_messages" => key.parse::<i64>().unwrap() / 10_000,
        "chats" | "leads" => key.parse::<i64>().unwrap() / 10,
        _ => key.split('/').next().unwrap().parse().unwrap(),
    }
}

#[tokio::test]
async fn prune_deletes_child_rows_from_the_truth_and_the_api() {
    let sim = SimServer::start(cfg(400)).await.unwrap();
    sim.advance(chrono::Duration::hours(3));
    // Truth before and after at one instant: only the prune tells them apart.
    let now = sim.now();
    let before = sim.table_truth(now).unwrap();
    let versions = sim.ground_truth(now);
    assert_eq!(sim.prune(150), 150);
    let after = sim.table_truth(now).unwrap();
    let pruned: BTreeSet<i64> = sim
        .ground_truth(now)
        .into_iter()
        .filter(|(id, t)| versions[id] != *t)
        .inspect(|(_, t)| assert_eq!(*t, now, "the new version is stamped now"))
        .map(|(id, _)| id)
        .collect();
    assert_eq!(pruned.len(), 150);
    // Rows only go, and only those of pruned conversations.
    for (name, t) in &after.tables {
        let was = &before.tables[name].rows;
        let new: Vec<_> = t.rows.keys().filter(|k| !was.contains_key(*k)).collect();
        assert!(new.is_empty(), "{name}: rows {new:?} appeared");
    }
    for table in ["chat_messages", "chats", "leads", "conversation_events"] {
        let gone: Vec<&String> = before.tables[table]
            .rows
            .keys()
            .filter(|k| !after.tables[table].rows.contains_key(*k))
            .collect();
        assert!(!gone.is_empty(), "no row of {table} was deleted");
        let foreign: Vec<_> = gone
            .iter()
            .filter(|k| !pruned.contains(&owner(table, k)))
            .collect();
        assert!(
            foreign.is_empty(),
            "{table}: {foreign:?} of unpruned conversations"
        );
    }
    // The API serves the pruned versions: its documents give the same truth, and the
    // child lists still show every pruned conversation changed.
    let served = ltx_sim::WarehouseTruth::from_conversations(all_documents(&sim).await).unwrap();
    assert_eq!(served, after);
    let mut found = BTreeSet::new();
    for path in ["/v2/chats", "/v2/calls", "/v2/leads"] {
        let window = [("q", format!("updated_at>={}", rfc(now)))];
        let (rows, _) = page_all(&sim, path, &window).await;
        found.extend(rows.into_iter().map(|r| r.0));
    }
    let changed_now: BTreeSet<i64> = sim
        .ground_truth(now)
        .into_iter()
        .filter(|(_, t)| *t == now)
        .map(|(id, _)| id)
        .collect();
    assert!(pruned.is_subset(&changed_now));
    assert_eq!(found, changed_now);
    // Deterministic: the same seed and clock prune the same rows.
    let twin = SimServer::start(cfg(400)).await.unwrap();
    twin.advance(chrono::Duration::hours(3));
    assert_eq!(twin.prune(150), 150);
    assert_eq!(twin.table_truth(now).unwrap(), after);
}

#[tokio::test]
async fn mid_paging_mutations_shift_pages_and_join_the_truth() {
    let sim = SimServer::start(SimConfig {
        faults: Faults {
            mutate_rate: 1.0,
            ..Faults::default()
        },
        ..cfg(300)
    })
    .await
    .unwrap();
    sim.advance(chrono::Duration::minutes(1));
    let now = sim.now();
    let (rows, _) = page_all(
        &sim,
        "/v2/conversations",
        &[("updated_at_to", rfc(now - chrono::Duration::minutes(1)))],
    )
    .await;
    let stats = sim.stats();
    assert!(stats.mutations > 0);
    let truth = sim.ground_truth(now);
    let mutated: Vec<i64> = truth
        .iter()
        .filter(|(_, t)| **t == now)
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(mutated.len() as u64, stats.mutations);
    // Mutated conversations moved out of the window, so offset paging missed or
    // dropped them: the page set is not the truth of the window any more.
    let seen: BTreeSet<i64> = rows.iter().map(|r| r.0).collect();
    assert!(mutated.iter().any(|id| !seen.contains(id)) || seen.len() < 300);
    // The mutated version is served as the current one.
    let (_, conv) = v2(&sim, &format!("/v2/conversations/{}", mutated[0]), &[]).await;
    let body_upd = conv["updated_at"].as_str().unwrap().to_owned();
    assert!(body_upd.starts_with(
        &now.with_timezone(&chrono_tz::Europe::Moscow)
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string()
    ));
}

#[tokio::test]
async fn control_endpoints_work_without_auth() {
    let sim = SimServer::start(cfg(40)).await.unwrap();
    let client = reqwest::Client::new();
    let r: Value = client
        .post(format!("{}/_sim/advance?seconds=3600", sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["now"], "2026-11-01T01:00:00Z");
    let truth: Value = client
        .get(format!(
            "{}/_sim/truth?at=2026-11-01T00:00:00Z",
            sim.base_url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let list = truth["conversations"].as_array().unwrap();
    assert_eq!(list.len(), 40);
    let expected: BTreeMap<i64, DateTime<Utc>> = sim.ground_truth(ltx_sim::default_start_clock());
    for c in list {
        let t = DateTime::parse_from_rfc3339(c["updated_at"].as_str().unwrap()).unwrap();
        assert_eq!(expected[&c["id"].as_i64().unwrap()], t);
    }
    let _ = v2(&sim, "/v2/conversations", &[]).await;
    let stats: Value = client
        .get(format!("{}/_sim/stats", sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["requests"], 1, "control calls are not counted");
    assert_eq!(stats["by_path"]["/v2/conversations"], 1);
    assert_eq!(stats["by_status"]["200"], 1);
}

#[test]
fn write_jsonl_is_deterministic_and_valid() {
    let mut a = Vec::new();
    let mut b = Vec::new();
    ltx_sim::write_jsonl(&cfg(0), &mut a, 120).unwrap();
    ltx_sim::write_jsonl(&cfg(0), &mut b, 120).unwrap();
    assert_eq!(a, b);
    let lines: Vec<&[u8]> = a.split(|c| *c == b'\n').filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 120);
    for l in lines {
        let v: Value = serde_json::from_slice(l).unwrap();
        assert!(v["id"].as_i64().is_some());
    }
}

#[test]
fn bad_record_rate_emits_unparsable_child_timestamps() {
    let account = ltx_sim::Account::new(&SimConfig {
        faults: Faults {
            bad_record_rate: 1.0,
            ..Faults::default()
        },
        ..cfg(20)
    });
    let at = ltx_sim::default_start_clock();
    let text =
        serde_json::to_string(&account.conversation_json(FIRST_CONVERSATION_ID, at)).unwrap();
    assert!(text.contains("31.02.2026 25:61"));
}

#[tokio::test]
async fn children_lists_filter_sort_and_page_from_the_index() {
    let sim = SimServer::start(cfg(200)).await.unwrap();
    sim.advance(chrono::Duration::hours(12));
    // Full paging in updated_at order: sorted, total = rows, every row has its conversation.
    let (rows, total) = page_all(&sim, "/v2/chats", &[]).await;
    assert_eq!(rows.len() as u64, total);
    let (_, first) = v2(&sim, "/v2/chats", &[("limit", "100".into())]).await;
    let items = first["results"].as_array().unwrap();
    let upd: Vec<&str> = items
        .iter()
        .map(|c| c["updated_at"].as_str().unwrap())
        .collect();
    assert!(upd.windows(2).all(|w| w[0][..19] <= w[1][..19]), "{upd:?}");
    // conversation_ids: exactly the chats inside that conversation.
    let conv_id = items[0]["conversation"]["id"].as_i64().unwrap();
    let (_, conv) = v2(&sim, &format!("/v2/conversations/{conv_id}"), &[]).await;
    let inside: BTreeSet<i64> = conv["chats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    let (_, page) = v2(
        &sim,
        "/v2/chats",
        &[("q", format!("conversation_ids={conv_id}"))],
    )
    .await;
    let listed: BTreeSet<i64> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(listed, inside);
    // ids: the one chat asked for; fields restrict the items.
    let chat_id = items[1]["id"].as_i64().unwrap();
    let (_, page) = v2(
        &sim,
        "/v2/chats",
        &[
            ("q", format!("ids={chat_id}")),
            ("fields", "updated_at".into()),
        ],
    )
    .await;
    assert_eq!(page["total"], 1);
    let keys: BTreeSet<&str> = page["results"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, BTreeSet::from(["id", "updated_at"]));
    // created_at:d: newest first across the whole list.
    let (_, page) = v2(
        &sim,
        "/v2/calls",
        &[("sort", "created_at:d".into()), ("limit", "100".into())],
    )
    .await;
    let created: Vec<&str> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["created_at"].as_str().unwrap())
        .collect();
    assert!(!created.is_empty());
    assert!(created.windows(2).all(|w| w[0][..19] >= w[1][..19]));
}

#[tokio::test]
async fn one_conversation_honours_fields() {
    let sim = SimServer::start(cfg(20)).await.unwrap();
    let path = format!("/v2/conversations/{FIRST_CONVERSATION_ID}");
    let (_, conv) = v2(&sim, &path, &[("fields", "updated_at,chats".into())]).await;
    let keys: BTreeSet<&str> = conv
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, BTreeSet::from(["id", "updated_at", "chats"]));
    let token = web_token(&sim).await;
    let (_, conv) = web(
        &sim,
        &token,
        "/conversations/get",
        &[
            ("id", FIRST_CONVERSATION_ID.to_string()),
            ("fields", "calls".into()),
        ],
    )
    .await;
    let keys: BTreeSet<&str> = conv
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, BTreeSet::from(["id", "calls"]));
}
