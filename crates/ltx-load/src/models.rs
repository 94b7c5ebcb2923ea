//! The BI models of `sql/`, embedded so that the warehouse gets them from any working
//! directory. The catalog creates each as `CREATE VIEW <name> AS <sql>` over the table
//! views; [`LoadOptions::default`](crate::LoadOptions) carries all of them, and a caller
//! may pass others (`LoadOptions::models`, [`Warehouse::register`](crate::Warehouse::register)).

/// `(name, sql)` of every model, in documentation order (`sql/README.md`, "BI models").
pub const MODELS: [(&str, &str); 15] = [
    (
        "daily_conversation_kpis",
        include_str!("../../../sql/daily_conversation_kpis.sql"),
    ),
    (
        "operator_performance",
        include_str!("../../../sql/operator_performance.sql"),
    ),
    ("channel_mix", include_str!("../../../sql/channel_mix.sql")),
    ("lead_funnel", include_str!("../../../sql/lead_funnel.sql")),
    ("geography", include_str!("../../../sql/geography.sql")),
    (
        "hourly_load_heatmap",
        include_str!("../../../sql/hourly_load_heatmap.sql"),
    ),
    (
        "daily_channel_mix",
        include_str!("../../../sql/daily_channel_mix.sql"),
    ),
    (
        "hourly_conversations",
        include_str!("../../../sql/hourly_conversations.sql"),
    ),
    (
        "daily_operator_performance",
        include_str!("../../../sql/daily_operator_performance.sql"),
    ),
    (
        "first_answer_times",
        include_str!("../../../sql/first_answer_times.sql"),
    ),
    ("sla_chats", include_str!("../../../sql/sla_chats.sql")),
    ("sla_leads", include_str!("../../../sql/sla_leads.sql")),
    (
        "sla_complaints",
        include_str!("../../../sql/sla_complaints.sql"),
    ),
    // After the three it reads: a model's view is created in this order.
    ("sla_daily", include_str!("../../../sql/sla_daily.sql")),
    (
        "sla_operators",
        include_str!("../../../sql/sla_operators.sql"),
    ),
];

/// [`MODELS`] as owned `(name, sql)` pairs, the form [`crate::LoadOptions::models`] takes.
pub fn default_models() -> Vec<(String, String)> {
    MODELS
        .iter()
        .map(|(name, sql)| ((*name).to_owned(), (*sql).to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sql_file_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sql");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let p = e.path();
                (p.extension()? == "sql").then(|| p.file_stem()?.to_str().map(str::to_owned))?
            })
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = MODELS.iter().map(|(n, _)| (*n).to_owned()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded);
        for (_, sql) in MODELS {
            assert!(
                !sql.trim_end().ends_with(';'),
                "a model is one SELECT, without ';'"
            );
        }
    }
}
