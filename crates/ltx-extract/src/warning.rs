//! What a run found short of what the API announced, short of failing it: produced by
//! [`crate::completeness`] and the client's clock check, carried by the run's
//! [`crate::ExtractSummary`]. A file of its own so that the summary (in `metrics`) and the
//! checks (in `completeness`, which reads the summary) do not import each other.

/// Something a run found short of what the API announced, short of failing the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractWarning {
    /// Key in the run log's `quality_by_check` (`api_total_shortfall`, `show_not_found`,
    /// `api_total_mismatch_pages`).
    pub check: &'static str,
    /// How many records (pages, for `api_total_mismatch_pages`) it concerns.
    pub count: u64,
    /// One line for the run summary.
    pub message: String,
}
