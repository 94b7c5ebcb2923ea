//! Rejected records: a record that cannot be read becomes a `_rejected` row (partitioned by
//! `_synced_at`) and the run goes on.

use serde_json::json;

use super::*;

#[test]
fn bad_records_become_rejected_rows_and_the_run_continues() {
    let mut bad_time = example();
    bad_time["updated_at"] = json!("yesterday");
    let raws = [
        bad_time.to_string(),
        "[1,2]".to_owned(),
        "{\"id\": 7, \"created_at\": {}}".to_owned(),
        EXAMPLE.to_owned(),
    ];
    let mut t = Transformer::new(config());
    for r in &raws {
        t.push_json(r);
    }
    t.push_unreadable("<html>502</html>", "page 3: not JSON");
    let (batches, stats) = t.finish();
    assert_eq!(stats.rejected, 4);
    assert_eq!(stats.conversations, 1);
    let rej = table(&batches, Table::Rejected);
    assert_eq!(
        ints(&rej, "conversation_id"),
        [Some(48211093), None, Some(7), None]
    );
    assert_eq!(strs(&rej, "field_path")[0].as_deref(), Some("updated_at"));
    assert_eq!(
        strs(&rej, "error")[0].as_deref(),
        Some("conversation 48211093: updated_at: string where datetime expected: \"yesterday\"")
    );
    assert_eq!(strs(&rej, "field_path")[3], None);
    assert_eq!(strs(&rej, "error")[3].as_deref(), Some("page 3: not JSON"));
    assert_eq!(strs(&rej, "raw_json")[1].as_deref(), Some("[1,2]"));
    // `_rejected` is partitioned by the month of `_synced_at`.
    assert!(batches
        .iter()
        .filter(|b| b.table == Table::Rejected)
        .all(|b| b.partition == "default/2026-04"));
    assert_eq!(table(&batches, Table::Conversations).num_rows(), 1);
}
