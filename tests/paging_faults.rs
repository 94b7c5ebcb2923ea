//! End-to-end: paging that cannot spin, runs that say when they got less than the API
//! announced, and credentials that stay with the API: the `ltx` binary against a simulator
//! with the `ignore_offset`, `repeat_page_rate`, `total_inflate`, `total_growing`,
//! `show_404_rate` and `redirect_to` faults. Each failure must be a clear message, a row
//! in `_ltx_runs` and a process that ends in bounded time; after the fault is gone the next
//! sync must match the simulator's truth.

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ltx_sim::Faults;

use crate::common;
use common::sim::{assert_matches_truth, catalog, stderr, stdout, sync, Scratch, Sim};
use common::{ok, text};

/// Small pages: many pages and offsets from a small account.
const PAGES: [&str; 2] = ["--page-size", "5"];

/// (status, error, quality_by_check as JSON text) of every run, oldest first.
fn runs(wh: &Path) -> Vec<(String, Option<String>, String)> {
    catalog(wh)
        .prepare(
            "SELECT status, error, CAST(quality_by_check AS VARCHAR) FROM _ltx_runs \
             ORDER BY started_at",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// A small account whose newest second holds 20 conversations (a crowded second, paged by
/// offset), with the clock an hour later so that it lies inside the sync range.
fn crowded() -> Sim {
    let sim = Sim::small(30);
    assert_eq!(sim.handle.touch(20), 20);
    sim.advance_hours(1);
    sim
}

/// Turns the faults off and checks that the next sync succeeds without warnings and
/// matches the simulator's truth.
fn next_sync_is_clean(s: &Scratch, sim: &Sim, wh: &Path, extra: &[&str], envs: &[(&str, &str)]) {
    sim.handle.set_faults(Faults::default());
    let mut args = PAGES.to_vec();
    args.extend_from_slice(extra);
    let o = ok(sync(s, sim, wh, &args, envs));
    assert!(!stdout(&o).contains("WARNING"), "{}", text(&o));
    assert_matches_truth(sim, wh);
    assert_eq!(runs(wh).last().unwrap().0, "success");
}

#[test]
fn a_server_that_ignores_or_repeats_offset_fails_the_run_naming_the_window() {
    for (knob, faults) in [
        (
            "ignore_offset",
            Faults {
                ignore_offset: true,
                ..Faults::default()
            },
        ),
        (
            "repeat_page_rate",
            Faults {
                repeat_page_rate: 1.0,
                ..Faults::default()
            },
        ),
    ] {
        let sim = crowded();
        let s = Scratch::new();
        let wh = s.wh("wh");
        sim.handle.set_faults(faults);
        let started = Instant::now();
        let o = sync(&s, &sim, &wh, &PAGES, &[]);
        let took = started.elapsed();
        assert_eq!(o.status.code(), Some(1), "{knob}: {}", text(&o));
        let e = stderr(&o);
        assert!(
            e.contains("GET ") && e.contains("/v2/conversations (conversations, window ["),
            "{knob}: {e}"
        );
        assert!(
            e.contains("paging stopped") && e.contains("ignores or repeats `offset`"),
            "{knob}: {e}"
        );
        eprintln!(
            "{knob}: failed after {} requests in {took:?}",
            sim.handle.stats().requests
        );
        assert!(took < Duration::from_secs(20), "{knob}: {took:?}");
        assert!(
            sim.handle.stats().requests < 300,
            "{knob}: {} requests",
            sim.handle.stats().requests
        );
        let log = runs(&wh);
        assert_eq!(log.len(), 1, "{knob}: {log:?}");
        assert_eq!(log[0].0, "failed");
        assert!(
            log[0].1.as_deref().unwrap().contains("paging stopped"),
            "{knob}: {log:?}"
        );
        next_sync_is_clean(&s, &sim, &wh, &[], &[]);
    }
}

#[test]
fn a_total_announcing_more_than_is_served_succeeds_with_a_loud_warning() {
    // Paging confirms the end of every range with an empty page, so a lying `total`
    // costs a request or two, never records: the run commits everything the API has and
    // says, in its summary and in `_ltx_runs`, that the API announced more.
    for (knob, faults, check) in [
        (
            "total_inflate",
            Faults {
                total_inflate: 1000,
                ..Faults::default()
            },
            "api_total_shortfall",
        ),
        (
            "total_growing",
            Faults {
                total_growing: true,
                ..Faults::default()
            },
            "api_total_mismatch_pages",
        ),
    ] {
        let sim = crowded();
        let s = Scratch::new();
        let wh = s.wh("wh");
        sim.handle.set_faults(faults);
        let started = Instant::now();
        let o = ok(sync(&s, &sim, &wh, &PAGES, &[]));
        eprintln!(
            "{knob}: {} requests in {:?}",
            sim.handle.stats().requests,
            started.elapsed()
        );
        assert!(started.elapsed() < Duration::from_secs(20), "{knob}");
        let out = stdout(&o);
        assert!(out.contains("\nWARNING: "), "{knob}: {}", text(&o));
        if knob == "total_inflate" {
            assert!(
                out.contains("/v2/conversations announced") && out.contains("never listed"),
                "{knob}: {out}"
            );
        }
        assert_matches_truth(&sim, &wh);
        let log = runs(&wh);
        assert_eq!(log[0].0, "success");
        assert!(log[0].2.contains(check), "{knob}: {log:?}");
        next_sync_is_clean(&s, &sim, &wh, &[], &[]);
    }
}

#[test]
fn a_discover_run_whose_shows_answer_404_fails_naming_endpoint_and_count() {
    let sim = Sim::small(30);
    let s = Scratch::new();
    let wh = s.wh("wh");
    sim.handle.set_faults(Faults {
        show_404_rate: 1.0,
        ..Faults::default()
    });
    let discover = ["--mode", "discover"];
    let o = sync(&s, &sim, &wh, &discover, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let e = stderr(&o);
    assert!(
        e.contains("GET ") && e.contains("/v2/conversations/{id}"),
        "{e}"
    );
    let n = sim.truth().len();
    assert!(
        e.contains(&format!("{n} of {n} conversations asked for answered 404")),
        "{e}"
    );
    let log = runs(&wh);
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].0, "failed");
    assert!(
        log[0].1.as_deref().unwrap().contains("answered 404"),
        "{log:?}"
    );
    next_sync_is_clean(&s, &sim, &wh, &discover, &[]);
}

/// A plain TCP listener that records every byte sent to it (it never answers).
struct Trap {
    url: String,
    got: Arc<Mutex<Vec<u8>>>,
    connections: Arc<Mutex<u32>>,
}

impl Trap {
    fn start() -> Trap {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
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
            url,
            got,
            connections,
        }
    }
}

#[test]
fn a_login_redirected_to_another_port_is_refused_and_the_password_never_reaches_it() {
    let trap = Trap::start();
    let sim = Sim::small(30);
    let s = Scratch::new();
    let wh = s.wh("wh");
    let web = ["--profile", "web-api"];
    let creds = [
        ("LIVETEX_LOGIN", sim.handle.login()),
        ("LIVETEX_PASSWORD", sim.handle.password()),
    ];
    // A first sync, so that the failure has a warehouse to be recorded in.
    ok(sync(&s, &sim, &wh, &web, &creds));
    sim.handle.set_faults(Faults {
        redirect_to: Some(trap.url.clone()),
        ..Faults::default()
    });
    let before = sim.handle.stats().requests;
    let o = sync(&s, &sim, &wh, &web, &creds);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let e = stderr(&o);
    assert!(
        e.contains("POST ") && e.contains("/oauth2/token") && e.contains("HTTP 307"),
        "{e}"
    );
    assert!(e.contains(&trap.url) && e.contains("not followed"), "{e}");
    assert!(!e.contains(sim.handle.password()), "{e}");
    assert_eq!(sim.handle.stats().requests - before, 1, "not retried");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        *trap.connections.lock().unwrap(),
        0,
        "ltx connected to the trap"
    );
    assert!(trap.got.lock().unwrap().is_empty());
    let log = runs(&wh);
    assert_eq!(log.last().unwrap().0, "failed");
    assert!(log
        .last()
        .unwrap()
        .1
        .as_deref()
        .unwrap()
        .contains("not followed"));
    next_sync_is_clean(&s, &sim, &wh, &web, &creds);
}

#[test]
fn a_credential_with_a_stray_cr_exits_2_naming_the_variable() {
    let sim = Sim::small(10);
    let s = Scratch::new();
    let wh = s.wh("wh");
    let o = sync(&s, &sim, &wh, &[], &[("LIVETEX_API_TOKEN", "sim-token\r")]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let e = stderr(&o);
    assert!(
        e.contains("LIVETEX_API_TOKEN") && e.contains("carriage return"),
        "{e}"
    );
    assert!(!e.contains("sim-token"), "{e}");
    let o = sync(
        &s,
        &sim,
        &wh,
        &["--profile", "web-api"],
        &[
            ("LIVETEX_LOGIN", sim.handle.login()),
            ("LIVETEX_PASSWORD", "sim-password\r\n"),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let e = stderr(&o);
    assert!(
        e.contains("LIVETEX_PASSWORD") && e.contains("carriage return"),
        "{e}"
    );
    assert!(!e.contains("sim-password"), "{e}");
    // Nothing was sent, nothing was created.
    assert_eq!(sim.handle.stats().requests, 0);
    assert!(!wh.exists());
}
