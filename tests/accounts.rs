//! Several LiveTex accounts in one warehouse: two simulators whose conversation (and chat,
//! message, ...) ids overlap, synced with different accounts. Each account's rows equal its
//! own simulator's truth, neither overwrites the other, each keeps its own cursor, and
//! `ltx import --account` keeps ids apart the same way.

use std::collections::BTreeSet;
use std::path::Path;

use ltx_sim::SimConfig;

use crate::common::sim::{assert_account_matches_truth, catalog, sync, Scratch, Sim};
use crate::common::{ltx, ok, text};

fn account_sim(seed: u64) -> Sim {
    Sim::start(SimConfig {
        conversations: 150,
        seed,
        history_days: 20,
        ..SimConfig::default()
    })
}

/// The committed cursor of each `<account>/<pipeline>` in the manifest.
fn cursors(wh: &Path) -> serde_json::Map<String, serde_json::Value> {
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(wh.join("_ltx/manifest.json")).unwrap()).unwrap();
    m["pipelines"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v["cursor"].clone()))
        .collect()
}

fn count(wh: &Path, sql: &str) -> i64 {
    catalog(wh).query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn two_accounts_with_overlapping_ids_sync_into_one_warehouse_each_equal_to_its_truth() {
    let s = Scratch::new();
    let wh = s.wh("wh");
    let acme = account_sim(7);
    let globex = account_sim(11);
    // Every simulator numbers conversations from the same first id: the ids collide.
    let ids = |sim: &Sim| sim.truth().keys().copied().collect::<BTreeSet<i64>>();
    let overlap = ids(&acme).intersection(&ids(&globex)).count();
    assert!(
        overlap >= 100,
        "the two accounts share only {overlap} conversation ids"
    );

    // One by the flag, one by the environment.
    ok(sync(&s, &acme, &wh, &["--account", "acme"], &[]));
    let after_acme = cursors(&wh);
    assert_eq!(after_acme.keys().collect::<Vec<_>>(), ["acme/e2e"]);
    ok(sync(&s, &globex, &wh, &[], &[("LTX_ACCOUNT", "globex")]));
    assert_account_matches_truth(&acme, &wh, Some("acme"));
    assert_account_matches_truth(&globex, &wh, Some("globex"));
    let both = cursors(&wh);
    assert_eq!(
        both["acme/e2e"], after_acme["acme/e2e"],
        "globex moved acme's cursor"
    );
    assert!(both["globex/e2e"].is_string());

    // Updates on both sides (new conversations, new versions of overlapping ids), then an
    // incremental sync of each: each account's rows follow its own source only.
    acme.advance_hours(6);
    globex.advance_hours(6);
    ok(sync(&s, &acme, &wh, &["--account", "acme"], &[]));
    let moved = cursors(&wh);
    assert_ne!(
        moved["acme/e2e"], both["acme/e2e"],
        "acme's cursor did not move"
    );
    assert_eq!(
        moved["globex/e2e"], both["globex/e2e"],
        "acme moved globex's cursor"
    );
    ok(sync(&s, &globex, &wh, &["--account", "globex"], &[]));
    assert_account_matches_truth(&acme, &wh, Some("acme"));
    assert_account_matches_truth(&globex, &wh, Some("globex"));

    // A re-sync of each adds nothing: same rows per account in every table.
    let rows = |table: &str| {
        count(
            &wh,
            &format!("SELECT count(*) * 1000003 + count(DISTINCT account) FROM {table}"),
        )
    };
    let tables = [
        "conversations",
        "chats",
        "chat_messages",
        "employees",
        "sites",
    ];
    let before: Vec<i64> = tables.iter().map(|t| rows(t)).collect();
    let again = ok(sync(&s, &acme, &wh, &["--account", "acme"], &[]));
    assert!(text(&again).contains("0 new"), "{}", text(&again));
    ok(sync(&s, &globex, &wh, &["--account", "globex"], &[]));
    let after: Vec<i64> = tables.iter().map(|t| rows(t)).collect();
    assert_eq!(before, after, "a re-sync changed row counts");
    assert_account_matches_truth(&acme, &wh, Some("acme"));
    assert_account_matches_truth(&globex, &wh, Some("globex"));

    // Both accounts hold the overlapping ids, side by side.
    let shared = count(
        &wh,
        "SELECT count(*) FROM (SELECT conversation_id FROM conversations \
         GROUP BY conversation_id HAVING count(DISTINCT account) = 2)",
    );
    assert!(shared >= 100, "only {shared} ids are held by both accounts");
    // Files live under data/<table>/<account>/<month>/.
    for account in ["acme", "globex"] {
        let dir = wh.join("data/conversations").join(account);
        assert!(dir.is_dir(), "{} missing", dir.display());
    }
    // The models join per account: an operator's chats are those of their own account.
    let mixed = count(
        &wh,
        "SELECT count(*) FROM operator_performance o \
         WHERE o.chats <> (SELECT count(*) FROM chats c \
                           WHERE c.account = o.account AND c.employee_id = o.employee_id)",
    );
    assert_eq!(mixed, 0);
    let status = ok(ltx(
        s.path(),
        &["status", "--warehouse", wh.to_str().unwrap()],
        &[],
    ));
    assert!(text(&status).contains("acme/e2e"), "{}", text(&status));
}

#[test]
fn import_with_account_keeps_colliding_ids_apart_and_bad_accounts_exit_2() {
    let s = Scratch::new();
    let cfg = SimConfig {
        conversations: 40,
        seed: 42,
        ..SimConfig::default()
    };
    let input = s.path().join("in.jsonl");
    std::fs::write(&input, ltx_sim::jsonl_lines(&cfg, 40).unwrap().join("\n")).unwrap();
    let wh = s.wh("wh");
    let (w, i) = (wh.to_str().unwrap(), input.to_str().unwrap());
    for account in ["north", "south"] {
        ok(ltx(
            s.path(),
            &["import", "--account", account, "--warehouse", w, i],
            &[],
        ));
    }
    // The same file under two accounts: twice the rows, each id once per account.
    assert_eq!(count(&wh, "SELECT count(*) FROM conversations"), 80);
    assert_eq!(
        count(
            &wh,
            "SELECT count(DISTINCT conversation_id) FROM conversations"
        ),
        40
    );
    assert_eq!(
        count(
            &wh,
            "SELECT count(*) FROM conversations WHERE account = 'north'"
        ),
        40
    );
    // Importing it again under one account changes nothing.
    ok(ltx(
        s.path(),
        &["import", "--account", "north", "--warehouse", w, i],
        &[],
    ));
    assert_eq!(count(&wh, "SELECT count(*) FROM conversations"), 80);

    for bad in ["North", "-x", "a/b"] {
        let flag = format!("--account={bad}");
        let o = ltx(s.path(), &["import", &flag, "--warehouse", w, i], &[]);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", text(&o));
        assert!(text(&o).contains("source.account"), "{bad}: {}", text(&o));
    }
}
