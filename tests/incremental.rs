//! Incremental loads in any order: after a seeded interleaving of syncs with updated
//! conversations (`touch`), deleted child rows (`prune`), `ltx compact` and runs killed at
//! every crash point of `ltx_load` (then re-run), every table equals the simulator's truth,
//! and every view equals, row for row, that of a copy compacted once, and again.
//!
//! The sequence is drawn from a seed, printed first (so shown with a failure) with every
//! step; `INCREMENTAL_SEED=<n>` replays one.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Instant;

use ltx_sim::SimConfig;

use crate::common;
use crate::crash_recovery::{aborted, assert_only_expected_not_met};
use common::sim::{assert_matches_truth, catalog, sync, Scratch, Sim};
use common::{ltx, ok, text};

/// The sequence runs at least this many steps, and on while a crash point is untried.
const MIN_STEPS: usize = 8;

/// The seed when `INCREMENTAL_SEED` is not set.
const DEFAULT_SEED: u64 = 20_261_203;

/// splitmix64: the sequence's own deterministic stream.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64) / ((1u64 << 53) as f64) < p
    }
}

/// A run of the binary that changes the warehouse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    Sync,
    Compact,
}

fn compact(s: &Scratch, wh: &Path, envs: &[(&str, &str)]) -> Output {
    ltx(
        s.path(),
        &["compact", "--warehouse", wh.to_str().unwrap()],
        envs,
    )
}

/// Sync flags: raw pages kept, so their crash points are on the way too.
const SYNC: &[&str] = &["--keep-raw"];

fn run(s: &Scratch, sim: &Sim, wh: &Path, op: Op, envs: &[(&str, &str)]) -> Output {
    match op {
        Op::Sync => sync(s, sim, wh, SYNC, envs),
        Op::Compact => compact(s, wh, envs),
    }
}

/// The crash points still to meet, armed in turn on the runs of the sequence. A point
/// that a run does not reach does not fire; it is armed again on the other kind of run,
/// and given up once neither a sync nor a compaction met it.
struct Crashes {
    /// Points not met yet, with the runs they were armed on in vain.
    pending: VecDeque<(&'static str, BTreeSet<Op>)>,
    fired: Vec<&'static str>,
    never: Vec<&'static str>,
}

impl Crashes {
    fn new(rng: &mut Rng) -> Crashes {
        let mut pending: VecDeque<_> = ltx_load::CRASH_POINTS
            .iter()
            .map(|p| (*p, BTreeSet::new()))
            .collect();
        // Each seed meets the points in another order, so on other states.
        let turn = rng.range(0, pending.len() as u64 - 1) as usize;
        pending.rotate_left(turn);
        Crashes {
            pending,
            fired: Vec::new(),
            never: Vec::new(),
        }
    }

    /// Whether a pending point is still to be armed on a run of `op`.
    fn wants(&self, op: Op) -> bool {
        self.pending.iter().any(|(_, tried)| !tried.contains(&op))
    }

    /// The next point to arm on a run of `op`: one not tried there yet, from those met
    /// there first (see [`home`]) when there are any.
    fn take(&mut self, op: Op, initial: bool) -> Option<&'static str> {
        let untried = |tried: &BTreeSet<Op>| !tried.contains(&op);
        let k = (self.pending.iter())
            .position(|(p, tried)| untried(tried) && home(p, op, initial))
            .or_else(|| self.pending.iter().position(|(_, t)| untried(t)))?;
        Some(self.pending[k].0)
    }

    /// Records that `point`, armed on a run of `op`, did not fire.
    fn missed(&mut self, point: &str, op: Op) {
        let Some(k) = self.pending.iter().position(|(p, _)| *p == point) else {
            return;
        };
        let (p, mut tried) = self.pending.remove(k).unwrap();
        tried.insert(op);
        if tried.len() == 2 {
            self.never.push(p);
        } else {
            self.pending.push_back((p, tried));
        }
    }

    /// Runs `op`, killed at up to `kills` pending crash points in a row (a re-run killed in
    /// turn; after a crash that leaves orphan files behind, for a point of their clean-up
    /// on open), then re-run without one, as an operator would: `op` ends up done.
    fn run(&mut self, s: &Scratch, sim: &Sim, wh: &Path, op: Op, kills: u64) -> String {
        let initial = !wh.exists();
        let mut log = vec![format!("{op:?}")];
        for k in 0..kills {
            let Some(point) = self.take(op, initial && k == 0) else {
                break;
            };
            if point.starts_with("cleanup.") {
                let o = sync(
                    s,
                    sim,
                    wh,
                    SYNC,
                    &[("LTX_CRASH_AT", "commit.after_renames")],
                );
                assert!(aborted(&o), "setup crash for {point}: {}", text(&o));
            }
            let o = run(s, sim, wh, op, &[("LTX_CRASH_AT", point)]);
            if o.status.success() {
                // A re-run may not redo what the killed run did: only a first run counts.
                if k == 0 {
                    self.missed(point, op);
                }
                log.push(format!("{point} not met"));
                return log.join(", ");
            }
            assert!(aborted(&o), "{op:?} armed at {point}: {}", text(&o));
            self.pending.retain(|(p, _)| *p != point);
            self.fired.push(point);
            log.push(format!("killed at {point}"));
        }
        let o = run(s, sim, wh, op, &[]);
        assert!(o.status.success(), "{}: {}", log.join(", "), text(&o));
        log.join(", ")
    }
}

/// Whether a run of `op` is where `point` is met first: `reference.` points in the initial
/// sync (only a new warehouse's first sync writes the reference tables), `compact.` points
/// in compactions, the others in syncs.
fn home(point: &str, op: Op, initial: bool) -> bool {
    if initial || point.starts_with("reference.") {
        initial && point.starts_with("reference.")
    } else {
        point.starts_with("compact.") == (op == Op::Compact)
    }
}

/// Non-internal views of the catalog of `wh` but `_ltx_runs` (each compaction adds a run).
fn view_names(conn: &duckdb::Connection) -> Vec<String> {
    let mut stmt = conn
        .prepare(
            "SELECT view_name FROM duckdb_views() \
             WHERE NOT internal AND view_name <> '_ltx_runs' ORDER BY view_name",
        )
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Row count and an order-independent digest of the rows (each as text) of every view.
fn digests(wh: &Path) -> BTreeMap<String, (i64, String)> {
    let conn = catalog(wh);
    view_names(&conn)
        .into_iter()
        .map(|v| {
            let sql = format!(
                "SELECT count(*), coalesce(sum(hash(CAST(t AS VARCHAR))::HUGEINT), 0)::VARCHAR \
                 FROM \"{v}\" t"
            );
            let d = conn
                .query_row(&sql, [], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap_or_else(|e| panic!("{v}: {e}"));
            (v, d)
        })
        .collect()
}

/// Every row of `view` in `wh` as text, sorted.
fn rows(wh: &Path, view: &str) -> Vec<String> {
    let conn = catalog(wh);
    let sql = format!("SELECT CAST(t AS VARCHAR) FROM \"{view}\" t ORDER BY 1");
    let mut stmt = conn.prepare(&sql).unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The views of `copy` equal those of `original` (`want`, its digests), row for row.
fn assert_views_equal(original: &Path, want: &BTreeMap<String, (i64, String)>, copy: &Path) {
    let got = digests(copy);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "views"
    );
    let mut diffs = Vec::new();
    for (view, d) in want {
        if got[view] == *d {
            continue;
        }
        let (a, b) = (rows(original, view), rows(copy, view));
        let only = |x: &[String], y: &[String]| -> Vec<String> {
            let y: BTreeSet<&String> = y.iter().collect();
            x.iter()
                .filter(|r| !y.contains(r))
                .take(3)
                .cloned()
                .collect()
        };
        diffs.push(format!(
            "{view}: {} rows, compacted {}; only in the original {:?}; only in the copy {:?}",
            a.len(),
            b.len(),
            only(&a, &b),
            only(&b, &a)
        ));
    }
    assert!(diffs.is_empty(), "views differ:\n{}", diffs.join("\n"));
}

/// The views every check must cover: tables, dimension snapshots and history,
/// conversation history, BI models.
fn expected_views() -> Vec<String> {
    let mut out = vec!["conversations_history".to_owned()];
    for t in ltx_transform::Table::ALL {
        out.push(t.name().to_owned());
        if t.kind() == ltx_transform::TableKind::Dimension {
            out.push(format!("{}_snapshots", t.name()));
            out.push(format!("{}_history", t.name()));
        }
    }
    out.extend(
        ltx_load::models::MODELS
            .iter()
            .map(|(m, _)| (*m).to_owned()),
    );
    out
}

/// (a) The warehouse equals the simulator's truth; (b) a copy of it, compacted, shows the
/// same rows in every view, and again after a second compaction.
fn check(s: &Scratch, sim: &Sim, wh: &Path) {
    assert_matches_truth(sim, wh);
    let copy = s.wh("compacted");
    if copy.exists() {
        std::fs::remove_dir_all(&copy).unwrap();
    }
    let o = Command::new("cp")
        .arg("-r")
        .arg(wh)
        .arg(&copy)
        .output()
        .unwrap();
    assert!(o.status.success(), "cp -r: {}", text(&o));
    // The original's rows are read while the copy is compacted.
    let want = std::thread::scope(|scope| {
        let want = scope.spawn(|| digests(wh));
        ok(compact(s, &copy, &[]));
        want.join().unwrap()
    });
    for view in expected_views() {
        assert!(
            want.contains_key(&view),
            "no view {view}: {:?}",
            want.keys()
        );
    }
    for round in 0..2 {
        if round > 0 {
            ok(compact(s, &copy, &[]));
        }
        // The copy's catalog reads its own files, not the original's.
        let conn = catalog(&copy);
        let original = format!("{}/", wh.display());
        let foreign: i64 = conn
            .query_row(
                "SELECT count(*) FROM duckdb_views() WHERE contains(sql, ?)",
                [original.as_str()],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(foreign, 0, "views of the copy read {original}");
        assert_views_equal(wh, &want, &copy);
    }
}

/// A clock at which no conversation has a version: a sync reads up to the instant it
/// starts, exclusive, so the truth is only comparable when nothing changed then.
fn settle(sim: &Sim) {
    loop {
        let now = sim.handle.now();
        if !sim.handle.ground_truth(now).values().any(|t| *t == now) {
            return;
        }
        sim.handle.advance(chrono::Duration::seconds(1));
    }
}

#[test]
fn interleaved_syncs_updates_deletes_compactions_and_crashes_equal_truth_and_compacted_copy() {
    let seed = std::env::var("INCREMENTAL_SEED")
        .ok()
        .map(|v| v.parse().expect("INCREMENTAL_SEED is an integer"))
        .unwrap_or(DEFAULT_SEED);
    eprintln!("incremental: seed {seed} (replay: INCREMENTAL_SEED={seed})");
    let mut rng = Rng(seed);
    let sim = Sim::start(SimConfig {
        conversations: rng.range(300, 450),
        seed: rng.next(),
        history_days: 10,
        ..SimConfig::default()
    });
    let s = Scratch::new();
    let wh = s.wh("wh");
    let mut crashes = Crashes::new(&mut rng);
    let (mut touched, mut pruned) = (0, 0);

    let first = crashes.run(&s, &sim, &wh, Op::Sync, 3);
    eprintln!("initial {first}");
    check(&s, &sim, &wh);
    let mut step = 0;
    while step < MIN_STEPS || !crashes.pending.is_empty() {
        step += 1;
        let started = Instant::now();
        sim.handle
            .advance(chrono::Duration::seconds(rng.range(60, 12 * 3600) as i64));
        let t = sim.handle.touch(rng.range(0, 25) as usize);
        let p = sim.handle.prune(rng.range(0, 20) as usize);
        // Past the versions just stamped, so this step's sync reads them.
        sim.handle
            .advance(chrono::Duration::seconds(rng.range(1, 300) as i64));
        settle(&sim);
        let mut done = vec![crashes.run(&s, &sim, &wh, Op::Sync, rng.range(0, 4))];
        // Compactions now and then, and whenever only they have points left to try.
        if rng.chance(0.5) || (crashes.wants(Op::Compact) && !crashes.wants(Op::Sync)) {
            done.push(crashes.run(&s, &sim, &wh, Op::Compact, rng.range(1, 2)));
        }
        let ran = started.elapsed();
        check(&s, &sim, &wh);
        eprintln!(
            "step {step} at {}: touched {t}, pruned {p}; {} ({ran:.1?}, checked in {:.1?})",
            sim.handle.now(),
            done.join("; "),
            started.elapsed() - ran
        );
        touched += t;
        pruned += p;
    }
    eprintln!(
        "{step} steps, {touched} touched, {pruned} pruned; crash points met {:?}, not met {:?}",
        crashes.fired, crashes.never
    );
    assert!(
        touched > 0 && pruned > 0,
        "the sequence updates and deletes"
    );
    assert_only_expected_not_met(&crashes.never);
}
