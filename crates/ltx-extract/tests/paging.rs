//! Paging that cannot spin, runs that say when they got less than announced, and
//! credentials that never leave the API's origin: the extractor against a simulator with
//! the `ignore_offset`, `repeat_page_rate`, `total_inflate`, `total_growing`,
//! `show_404_rate` and `redirect_to` faults.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use ltx_extract::{AuthConfig, Client, ExtractError, Mode, Profile, Secret};
use ltx_sim::{Faults, SimConfig, SimHandle};

/// A small account whose newest second holds `crowd` conversations (paged by offset), with
/// the clock an hour later so that this second lies inside the sync range.
async fn crowded(crowd: usize) -> SimHandle {
    let sim = sim_with(SimConfig {
        conversations: 40,
        history_days: 3,
        ..SimConfig::default()
    })
    .await;
    assert_eq!(sim.touch(crowd), crowd);
    sim.advance(chrono::Duration::hours(1));
    sim
}

/// A v2 client with pages of 5 (many pages and offsets from a small account).
fn small_pages(sim: &SimHandle, mode: Mode) -> Client {
    let mut cfg = config(sim, Profile::V2, mode);
    cfg.page_size = Some(5);
    cfg.concurrency = 2;
    client(&cfg)
}

/// Runs one extraction; returns the result and the requests the simulator served.
async fn extract(sim: &SimHandle, mode: Mode) -> (Result<Run, ExtractError>, u64) {
    let before = sim.stats().requests;
    let client = small_pages(sim, mode);
    let range = plan_sync(&client, None).await;
    let r = run(&client, &range).await;
    (r, sim.stats().requests - before)
}

/// A clean extraction now matches the simulator's truth.
async fn assert_clean_run_matches(sim: &SimHandle, mode: Mode) {
    sim.set_faults(Faults::default());
    let client = small_pages(sim, mode);
    let range = plan_sync(&client, None).await;
    let r = run(&client, &range).await.unwrap();
    let moved = check_against_truth(sim, &range, &r.by_id());
    assert!(moved.is_empty(), "{moved:?}");
    assert!(r.summary.warnings.is_empty(), "{:?}", r.summary.warnings);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyset_paging_is_immune_to_an_offset_ignoring_server_without_crowded_seconds() {
    // Every keyset request is at offset 0: ignoring offset changes nothing.
    let sim = sim_with(SimConfig {
        conversations: 40,
        history_days: 3,
        faults: Faults {
            ignore_offset: true,
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .await;
    let client = small_pages(&sim, Mode::List);
    let range = plan_sync(&client, None).await;
    let r = run(&client, &range).await.unwrap();
    check_against_truth(&sim, &range, &r.by_id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_ignoring_offset_in_a_crowded_second_stops_the_window_with_a_clear_error() {
    for mode in [Mode::List, Mode::Discover] {
        let sim = crowded(30).await;
        sim.set_faults(Faults {
            ignore_offset: true,
            ..Faults::default()
        });
        let started = Instant::now();
        let (r, requests) = extract(&sim, mode).await;
        let err = r.err().expect("the run fails");
        let msg = err.to_string();
        assert!(
            matches!(err, ExtractError::Paging { .. }),
            "{mode:?}: {err:?}"
        );
        assert!(msg.contains("/v2/"), "{msg}");
        assert!(
            msg.contains("window [") && msg.contains("offset 5"),
            "{msg}"
        );
        assert!(msg.contains("ignores or repeats `offset`"), "{msg}");
        // Page 1 at offset 0, the repeat at offset 5 and its one retry: a handful of
        // requests per window, not a loop.
        assert!(requests < 150, "{mode:?}: {requests} requests");
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_clean_run_matches(&sim, mode).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_repeating_pages_stops_the_window_with_a_clear_error() {
    let sim = crowded(30).await;
    sim.set_faults(Faults {
        repeat_page_rate: 1.0,
        ..Faults::default()
    });
    let (r, requests) = extract(&sim, Mode::List).await;
    let err = r.err().expect("the run fails");
    assert!(matches!(err, ExtractError::Paging { .. }), "{err:?}");
    // Offset 5 is answered with the page at offset 0, twice.
    assert!(err.to_string().contains("offset 5"), "{err}");
    assert!(requests < 150, "{requests} requests");
    assert_clean_run_matches(&sim, Mode::List).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lying_total_costs_requests_not_records_and_is_reported() {
    let sim = crowded(30).await;
    let (honest, honest_requests) = extract(&sim, Mode::List).await;
    let honest = honest.unwrap();
    assert!(
        honest.summary.warnings.is_empty(),
        "{:?}",
        honest.summary.warnings
    );
    for (name, faults) in [
        (
            "inflated",
            Faults {
                total_inflate: 1000,
                ..Faults::default()
            },
        ),
        (
            "growing",
            Faults {
                total_growing: true,
                ..Faults::default()
            },
        ),
    ] {
        sim.set_faults(faults);
        let client = small_pages(&sim, Mode::List);
        let range = plan_sync(&client, None).await;
        let before = sim.stats().requests;
        let r = run(&client, &range).await.unwrap();
        let requests = sim.stats().requests - before;
        // Every record, each once, at its version.
        check_against_truth(&sim, &range, &r.by_id());
        // The end of each range is confirmed by an empty page; a total that never settles
        // re-scans the crowded second a bounded number of times.
        assert!(
            requests <= 3 * honest_requests + 20,
            "{name}: {requests} requests, {honest_requests} when honest"
        );
        let checks: Vec<&str> = r.summary.warnings.iter().map(|w| w.check).collect();
        assert!(
            checks.contains(&"api_total_mismatch_pages"),
            "{name}: {checks:?}"
        );
        if name == "inflated" {
            let w = r
                .summary
                .warnings
                .iter()
                .find(|w| w.check == "api_total_shortfall")
                .unwrap_or_else(|| panic!("{checks:?}"));
            assert!(w.count >= 1000, "{w:?}");
            assert!(w.message.contains("/v2/conversations"), "{w:?}");
        }
    }
    assert_clean_run_matches(&sim, Mode::List).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discover_mode_fails_when_most_discovered_conversations_answer_404() {
    let sim = sim_with(SimConfig {
        conversations: 40,
        history_days: 3,
        faults: Faults {
            show_404_rate: 1.0,
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .await;
    let (r, _) = extract(&sim, Mode::Discover).await;
    let err = r.err().expect("the run fails");
    assert!(matches!(err, ExtractError::Shortfall { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("GET ") && msg.contains("/v2/conversations/{id}"),
        "{msg}"
    );
    assert!(msg.contains("answered 404"), "{msg}");
    assert_clean_run_matches(&sim, Mode::Discover).await;
}

/// A plain TCP listener that records every byte anyone sends it (it never answers).
struct Trap {
    addr: std::net::SocketAddr,
    got: Arc<Mutex<Vec<u8>>>,
    connections: Arc<Mutex<u32>>,
}

impl Trap {
    fn start() -> Trap {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let got = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(Mutex::new(0));
        let (g, c) = (got.clone(), connections.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                *c.lock().unwrap() += 1;
                let g = g.clone();
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = stream.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        g.lock().unwrap().extend_from_slice(&buf[..n]);
                    }
                });
            }
        });
        Trap {
            addr,
            got,
            connections,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn received(&self) -> String {
        String::from_utf8_lossy(&self.got.lock().unwrap()).into_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_another_port_is_refused_and_the_password_never_leaves() {
    let trap = Trap::start();
    let sim = sim_with(SimConfig {
        conversations: 20,
        history_days: 3,
        faults: Faults {
            redirect_to: Some(trap.url()),
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .await;
    // Negative control: a client with reqwest's default policy follows the 307 and sends
    // the login form, password included, to the other listener.
    let naive = reqwest::Client::new();
    let _ = tokio::time::timeout(
        Duration::from_millis(500),
        naive
            .post(format!("{}/oauth2/token", sim.base_url()))
            .form(&[("username", "x"), ("password", "trap-control-secret")])
            .send(),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        trap.received().contains("trap-control-secret"),
        "the control reached the trap"
    );
    let seen = *trap.connections.lock().unwrap();

    // ltx: the login is refused at once (no retries), the password goes nowhere.
    let cfg = config(&sim, Profile::WebApi, Mode::List);
    let before = sim.stats().requests;
    let err = client(&cfg).server_now().await.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, ExtractError::Redirect { .. }), "{err:?}");
    assert!(
        msg.contains("POST") && msg.contains("/oauth2/token"),
        "{msg}"
    );
    assert!(
        msg.contains(&trap.url()) && msg.contains("not followed"),
        "{msg}"
    );
    assert!(!msg.contains(sim.password()), "{msg}");
    assert_eq!(
        sim.stats().requests - before,
        1,
        "a redirect is not retried"
    );
    // The v2 list request carries the token: refused the same way.
    let err = client(&config(&sim, Profile::V2, Mode::List))
        .server_now()
        .await
        .unwrap_err();
    assert!(matches!(err, ExtractError::Redirect { .. }), "{err:?}");
    assert!(err.to_string().contains("GET"), "{err}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        *trap.connections.lock().unwrap(),
        seen,
        "ltx connected to the trap"
    );
    assert!(!trap.received().contains(sim.password()));
    assert!(!trap.received().contains(sim.token()));
}

#[tokio::test]
async fn credentials_with_a_stray_cr_are_a_config_error_before_any_request() {
    let sim = sim(10, Faults::default()).await;
    for (auth, key) in [
        (
            AuthConfig::Token {
                token: Secret::new("sim-token\r"),
            },
            "LIVETEX_API_TOKEN",
        ),
        (
            AuthConfig::Password {
                login: "admin@example.ru\r\n".into(),
                password: Secret::new("sim-password"),
            },
            "LIVETEX_LOGIN",
        ),
        (
            AuthConfig::Password {
                login: "admin@example.ru".into(),
                password: Secret::new("sim-password\n"),
            },
            "LIVETEX_PASSWORD",
        ),
    ] {
        let profile = match auth {
            AuthConfig::Token { .. } => Profile::V2,
            AuthConfig::Password { .. } => Profile::WebApi,
        };
        let mut cfg = config(&sim, profile, Mode::List);
        cfg.auth = auth;
        let err = Client::new(&cfg, Arc::default()).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, ExtractError::Config { .. }), "{err:?}");
        assert!(msg.contains(key), "{msg}");
        assert!(
            !msg.contains("sim-token") && !msg.contains("sim-password"),
            "{msg}"
        );
    }
    assert_eq!(sim.stats().requests, 0);
}
