//! Run ids: sortable by start time, unique across processes and machines.

use chrono::{DateTime, Utc};

/// `20261203T103707Z-1f3a9c2e`: the start time, then 8 random hex digits.
pub fn new_run_id(started_at: DateTime<Utc>) -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{}-{}", started_at.format("%Y%m%dT%H%M%SZ"), &random[..8])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time_and_do_not_collide() {
        let t: DateTime<Utc> = "2026-12-03T10:37:07Z".parse().unwrap();
        let a = new_run_id(t);
        assert!(a.starts_with("20261203T103707Z-"), "{a}");
        assert_eq!(a.len(), "20261203T103707Z-".len() + 8);
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| new_run_id(t)).collect();
        assert_eq!(ids.len(), 1000);
        assert!(new_run_id(t + chrono::TimeDelta::seconds(1)) > a);
    }
}
