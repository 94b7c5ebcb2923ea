//! One writer, many readers: a second writer finds the warehouse locked (exit 4) while
//! queries still answer, and a sync succeeds while another process holds the catalog open
//! (read-only or read-write).

use crate::common;
use common::sim::{assert_matches_truth, catalog, sync, Scratch, Sim};
use common::{ltx, ok, text};

#[test]
fn locked_warehouse_exits_4() {
    let sim = Sim::small(50);
    let s = Scratch::new();
    let wh = s.wh("wh");
    ok(sync(&s, &sim, &wh, &[], &[]));
    // This test process takes the writer lock, as a concurrent sync would.
    let held = ltx_load::Warehouse::open(&wh, ltx_load::LoadOptions::default()).unwrap();
    let o = sync(&s, &sim, &wh, &[], &[]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    let o = ltx(
        s.path(),
        &["compact", "--warehouse", wh.to_str().unwrap()],
        &[],
    );
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    // readers do not need the lock
    ok(ltx(
        s.path(),
        &["query", "--warehouse", wh.to_str().unwrap(), "SELECT 1"],
        &[],
    ));
    drop(held);
    ok(sync(&s, &sim, &wh, &[], &[]));
}

#[test]
fn sync_succeeds_while_the_catalog_is_open() {
    // DuckDB lets one process hold a file read-write, or many read-only, not both at once:
    // so the two holders take turns, each across a whole sync. The loader builds the new
    // catalog aside and renames it, so neither holder blocks (or sees a torn) catalog.
    let sim = Sim::small(200);
    let s = Scratch::new();
    let wh = s.wh("wh");
    ok(sync(&s, &sim, &wh, &[], &[]));

    let ro = catalog(&wh);
    let before: i64 = ro
        .query_row("SELECT count(*) FROM conversations", [], |r| r.get(0))
        .unwrap();
    sim.advance_hours(2);
    let o = sync(&s, &sim, &wh, &[], &[]);
    assert!(o.status.success(), "while open read-only: {}", text(&o));
    // the reader still answers (from the catalog it opened)
    let again: i64 = ro
        .query_row("SELECT count(*) FROM conversations", [], |r| r.get(0))
        .unwrap();
    assert!(again >= before);
    drop(ro);

    let rw = duckdb::Connection::open(wh.join("warehouse.duckdb")).unwrap();
    let _: i64 = rw
        .query_row("SELECT count(*) FROM conversations", [], |r| r.get(0))
        .unwrap();
    sim.advance_hours(2);
    let o = sync(&s, &sim, &wh, &[], &[]);
    assert!(o.status.success(), "while open read-write: {}", text(&o));
    drop(rw);
    assert_matches_truth(&sim, &wh);
}
