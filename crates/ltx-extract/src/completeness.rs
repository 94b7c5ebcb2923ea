//! Did a run get what the API announced? Compares what arrived with what the lists said
//! there was, so that a run finding nothing where it expected something says so instead
//! of committing a quiet success.
//!
//! - **Discover mode, most `show`s answer 404** (error): more than [`NOT_FOUND_HANDFUL`]
//!   discovered conversations, and more than half of those asked for, answered 404. The
//!   child lists named them a moment ago, so this is not "deleted meanwhile" but a `show`
//!   endpoint that differs on this account or a token without the right to read
//!   conversations. Committing would record a successful run with nothing in it and move
//!   the cursor past every one of them. Checked once [`EARLY_CHECK_SHOWS`] were asked (no
//!   need to send 100 000 requests to a wrong endpoint) and at the end. Fewer 404s are a
//!   warning (`show_not_found`): conversations deleted between discovery and fetch.
//! - **`total` announced records no page served** (warning, `api_total_shortfall`, either
//!   mode): a range ended on an empty page that still announced records (see `guard`; an
//!   honest server never does, even while records change, because a page and its `total`
//!   come from one state — unlike comparing first-page totals with what arrived, which
//!   records updated mid-sync would blur). Not an error: paging never stops on `total`
//!   alone (see `list`) and a server ignoring `offset` fails the window (see `guard`), so
//!   the records we did not get were never served: the count is the API's claim, not a
//!   loss we can point to. An account whose API counts records it does not list (deleted,
//!   hidden, of other sites) would otherwise never sync at all.
//! - **Pages whose `total` contradicts them** (warning, `api_total_mismatch_pages`), either
//!   mode: including pages holding more records than their `total`.
//!
//! Warnings reach the run summary and `_ltx_runs.quality_by_check` (the CLI's job).

use crate::client::Client;
use crate::config::Mode;
use crate::error::ExtractError;
use crate::metrics::ExtractSummary;
// Defined in `warning` (which `metrics` needs too); re-exported at its former path.
pub use crate::warning::ExtractWarning;

/// 404s on `show` tolerated whatever their share ("deleted meanwhile").
pub const NOT_FOUND_HANDFUL: u64 = 5;

/// `show` answers after which the 404 share is checked before the run ends.
pub const EARLY_CHECK_SHOWS: u64 = 100;

/// `show`'s verb and URL with `{id}` in place of the id, for messages.
fn show_endpoint(client: &Client) -> (&'static str, String) {
    let (verb, path) = client.profile().show_endpoint(0);
    let path = path
        .strip_suffix('0')
        .map_or(path.clone(), |p| format!("{p}{{id}}"));
    (
        verb.as_str(),
        format!("{}{path}", client.config().effective_base_url()),
    )
}

/// Fails when most `show` answers so far were 404 (see the module docs).
pub(crate) fn check_not_found(
    client: &Client,
    not_found: u64,
    shows: u64,
    discovered: u64,
) -> Result<(), ExtractError> {
    if not_found <= NOT_FOUND_HANDFUL || not_found.saturating_mul(2) <= shows {
        return Ok(());
    }
    let (method, url) = show_endpoint(client);
    Err(ExtractError::Shortfall {
        method,
        url,
        message: format!(
            "{not_found} of {shows} conversations asked for answered 404 (not found), though the \
             child lists named them in this run ({discovered} discovered so far): this endpoint \
             seems to differ on this account, or the credentials lack the right to read \
             conversations; the run is not committed (try source.mode = \"list\")"
        ),
    })
}

/// The run's warnings, or an error when what arrived falls so short of what was announced
/// that committing would be a silent loss.
pub(crate) fn assess(
    client: &Client,
    s: &ExtractSummary,
) -> Result<Vec<ExtractWarning>, ExtractError> {
    let mut warnings = Vec::new();
    if matches!(client.config().mode, Mode::Discover) {
        check_not_found(client, s.not_found, s.shows, s.discovered)?;
        if s.not_found > 0 {
            let (method, url) = show_endpoint(client);
            warnings.push(ExtractWarning {
                check: "show_not_found",
                count: s.not_found,
                message: format!(
                    "{} of {} discovered conversations answered 404 on {method} {url} \
                     (deleted since their children were listed?) and are not in this run",
                    s.not_found, s.shows
                ),
            });
        }
    }
    if s.total_unserved > 0 {
        let resource = match client.config().mode {
            Mode::List => crate::profile::Resource::Conversations,
            Mode::Discover => crate::profile::Resource::Chats,
        };
        let (verb, path) = client.profile().list_endpoint(resource);
        let what = match client.config().mode {
            Mode::List => format!(
                "{} {}{path}",
                verb.as_str(),
                client.config().effective_base_url()
            ),
            Mode::Discover => "the child lists".to_owned(),
        };
        warnings.push(ExtractWarning {
            check: "api_total_shortfall",
            count: s.total_unserved,
            message: format!(
                "{what} announced {} records (`total`) that no page served: every range was \
                 paged to an empty page, so they were never listed (the API counts records it \
                 does not list, or its `total` is wrong); {} received, {} announced by the \
                 first pages",
                s.total_unserved,
                s.conversations + s.unreadable,
                s.total_reported
            ),
        });
    }
    if s.total_mismatches > 0 {
        warnings.push(ExtractWarning {
            check: "api_total_mismatch_pages",
            count: s.total_mismatches,
            message: format!(
                "{} list pages had a `total` contradicting them (records announced on an empty \
                 page, or more records than announced); paging did not rely on it",
                s.total_mismatches
            ),
        });
    }
    for w in &warnings {
        tracing::warn!(check = w.check, count = w.count, "{}", w.message);
    }
    Ok(warnings)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::{AuthConfig, ExtractConfig, Secret};
    use crate::profile::Profile;

    fn client(mode: Mode) -> Client {
        let mut cfg = ExtractConfig::new(
            Profile::V2,
            AuthConfig::Token {
                token: Secret::new("t"),
            },
        );
        cfg.base_url = Some("http://127.0.0.1:9".into());
        cfg.mode = mode;
        Client::new(&cfg, std::sync::Arc::default()).unwrap()
    }

    #[test]
    fn a_handful_or_a_minority_of_404s_is_tolerated_a_majority_is_not() {
        let c = client(Mode::Discover);
        assert!(check_not_found(&c, 5, 5, 5).is_ok(), "a handful");
        assert!(check_not_found(&c, 50, 100, 100).is_ok(), "half");
        let e = check_not_found(&c, 51, 100, 120).unwrap_err().to_string();
        assert!(
            e.starts_with("GET http://127.0.0.1:9/v2/conversations/{id}: 51 of 100"),
            "{e}"
        );
        assert!(e.contains("120 discovered"), "{e}");
    }

    #[test]
    fn warnings_name_the_check_and_count() {
        let c = client(Mode::Discover);
        let s = ExtractSummary {
            not_found: 3,
            shows: 40,
            total_mismatches: 2,
            total_unserved: 1000,
            ..ExtractSummary::default()
        };
        let w = assess(&c, &s).unwrap();
        let got: Vec<(&str, u64)> = w.iter().map(|w| (w.check, w.count)).collect();
        assert_eq!(
            got,
            [
                ("show_not_found", 3),
                ("api_total_shortfall", 1000),
                ("api_total_mismatch_pages", 2)
            ]
        );
        assert!(w[0].message.contains("3 of 40"), "{}", w[0].message);
        // A clean run has none; list mode ignores show counters.
        assert!(assess(&client(Mode::List), &ExtractSummary::default())
            .unwrap()
            .is_empty());
        let s = ExtractSummary {
            total_unserved: 7,
            ..ExtractSummary::default()
        };
        let w = assess(&client(Mode::List), &s).unwrap();
        assert!(
            w[0].message
                .starts_with("GET http://127.0.0.1:9/v2/conversations announced 7"),
            "{}",
            w[0].message
        );
    }
}
