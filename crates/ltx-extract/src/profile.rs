//! API profiles: everything that differs between the v2 API and the newer Web API.
//!
//! This is the one module that knows paths, verbs, the criteria syntax of `q`,
//! page-size caps and default base URLs. Several of these are (I) choices of
//! `livetex-api.md` (inferred, not documented); a third profile touches only this file.

use chrono::{DateTime, Duration as ChronoDuration, FixedOffset, Utc};
use serde::Deserialize;

use crate::window::Window;

/// Which LiveTex API the account speaks.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq, Hash)]
pub enum Profile {
    /// `https://api.livetex.ru/v2/…`, GET lists, static Bearer token.
    #[default]
    #[serde(rename = "v2")]
    V2,
    /// `https://web-api.livetex.ru`, `POST /…/list`, OAuth2 password grant.
    #[serde(rename = "web-api")]
    WebApi,
}

/// A listable resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    /// Conversations (list mode).
    Conversations,
    /// Chats (discover mode).
    Chats,
    /// Calls (discover mode).
    Calls,
    /// Leads (discover mode).
    Leads,
    /// Complaints (discover mode).
    Complaints,
}

impl Resource {
    /// Lower-case resource name as used in paths and logs.
    pub fn name(self) -> &'static str {
        match self {
            Resource::Conversations => "conversations",
            Resource::Chats => "chats",
            Resource::Calls => "calls",
            Resource::Leads => "leads",
            Resource::Complaints => "complaints",
        }
    }
}

/// HTTP verb of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// GET.
    Get,
    /// POST (parameters still in the query string).
    Post,
}

impl Verb {
    /// The method name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
        }
    }
}

/// Query-string parameters of a request.
pub type Params = Vec<(&'static str, String)>;

impl Profile {
    /// Config name of the profile.
    pub fn name(self) -> &'static str {
        match self {
            Profile::V2 => "v2",
            Profile::WebApi => "web-api",
        }
    }

    /// Default base URL (paths below carry the `/v2` prefix where needed).
    pub fn default_base_url(self) -> &'static str {
        match self {
            Profile::V2 => "https://api.livetex.ru",
            Profile::WebApi => "https://web-api.livetex.ru",
        }
    }

    /// Default records per page.
    pub fn default_page_size(self) -> u32 {
        match self {
            Profile::V2 => 100,
            Profile::WebApi => 50,
        }
    }

    /// Largest page the API serves ((I) for v2: 100; web-api: 50).
    pub fn max_page_size(self) -> u32 {
        self.default_page_size()
    }

    /// Path of the OAuth2 token endpoint (password grant).
    pub fn token_path(self) -> &'static str {
        "/oauth2/token"
    }

    /// Verb and path of a resource's list endpoint.
    pub fn list_endpoint(self, resource: Resource) -> (Verb, String) {
        match self {
            Profile::V2 => (Verb::Get, format!("/v2/{}", resource.name())),
            Profile::WebApi => (Verb::Post, format!("/{}/list", resource.name())),
        }
    }

    /// Verb and path of one conversation ((I) for web-api: `GET /conversations/{id}`).
    pub fn show_endpoint(self, id: i64) -> (Verb, String) {
        match self {
            Profile::V2 => (Verb::Get, format!("/v2/conversations/{id}")),
            Profile::WebApi => (Verb::Get, format!("/conversations/{id}")),
        }
    }

    /// Resources paged in discover mode, each with whether its list endpoint must exist.
    /// v2 documents all four lists (D); the web-api shows chats and leads (O), and calls
    /// and complaints by analogy (I): a 404 on those is logged and the resource skipped.
    pub fn discover_resources(self) -> &'static [(Resource, bool)] {
        match self {
            Profile::V2 => &[
                (Resource::Chats, true),
                (Resource::Calls, true),
                (Resource::Leads, true),
                (Resource::Complaints, true),
            ],
            Profile::WebApi => &[
                (Resource::Chats, true),
                (Resource::Leads, true),
                (Resource::Calls, false),
                (Resource::Complaints, false),
            ],
        }
    }

    /// Parameters of one list page over `updated_at ∈ [window.from, window.to)`,
    /// sorted by `updated_at` ascending. Window bounds are whole seconds.
    pub fn list_params(self, window: &Window, offset: u64, limit: u32) -> Params {
        vec![
            ("q", self.updated_criteria(window.from, window.to)),
            ("sort", "updated_at:a".to_owned()),
            ("offset", offset.to_string()),
            ("limit", limit.to_string()),
        ]
    }

    /// Parameters of a cheap probe request (one record, no filter) — used to learn the
    /// server's clock and check credentials before a sync.
    pub fn probe_params(self) -> Params {
        vec![
            ("sort", "updated_at:a".to_owned()),
            ("offset", "0".to_owned()),
            ("limit", "1".to_owned()),
        ]
    }

    /// The `q` criteria for `from <= updated_at < to` ((I) syntax of both profiles).
    ///
    /// - v2: `updated_at>=FROM;updated_at<TO`, Moscow time with an explicit offset.
    /// - web-api: `updated_at>=FROM updated_at<=TO'`, space separated, naive Moscow
    ///   `YYYY-MM-DD HH:MM:SS`; the API has second resolution and documents `<=`, so
    ///   the half-open bound is sent as `TO' = TO - 1 s` (bounds are whole seconds).
    pub fn updated_criteria(self, from: DateTime<Utc>, to: DateTime<Utc>) -> String {
        match self {
            Profile::V2 => format!(
                "updated_at>={};updated_at<{}",
                msk_with_offset(from),
                msk_with_offset(to)
            ),
            Profile::WebApi => format!(
                "updated_at>={} updated_at<={}",
                msk_space(from),
                msk_space(to - ChronoDuration::seconds(1))
            ),
        }
    }
}

/// `2026-03-14T18:02:11+03:00`: Moscow wall clock with the offset of that instant.
fn msk_with_offset(t: DateTime<Utc>) -> String {
    let local = ltx_model::utc_to_moscow(t);
    let offset_s = (local - t.naive_utc()).num_seconds();
    match i32::try_from(offset_s).ok().and_then(FixedOffset::east_opt) {
        Some(off) => t
            .with_timezone(&off)
            .format("%Y-%m-%dT%H:%M:%S%:z")
            .to_string(),
        // Unreachable for real offsets; UTC with `Z` is equally explicit.
        None => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    }
}

/// `2026-03-14 18:02:11`: naive Moscow wall clock.
fn msk_space(t: DateTime<Utc>) -> String {
    ltx_model::utc_to_moscow(t)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn v2_criteria_use_explicit_offsets() {
        let q =
            Profile::V2.updated_criteria(utc("2026-03-14T15:02:11Z"), utc("2026-03-15T15:02:11Z"));
        assert_eq!(
            q,
            "updated_at>=2026-03-14T18:02:11+03:00;updated_at<2026-03-15T18:02:11+03:00"
        );
        // Before 2014-10-26 Moscow was UTC+4.
        let q =
            Profile::V2.updated_criteria(utc("2013-01-01T00:00:00Z"), utc("2013-01-02T00:00:00Z"));
        assert!(
            q.starts_with("updated_at>=2013-01-01T04:00:00+04:00;"),
            "{q}"
        );
    }

    #[test]
    fn web_api_criteria_are_space_separated_inclusive_seconds() {
        let q = Profile::WebApi
            .updated_criteria(utc("2026-03-14T15:02:11Z"), utc("2026-03-15T00:00:00Z"));
        assert_eq!(
            q,
            "updated_at>=2026-03-14 18:02:11 updated_at<=2026-03-15 02:59:59"
        );
    }

    #[test]
    fn endpoints_per_profile() {
        assert_eq!(
            Profile::V2.list_endpoint(Resource::Conversations),
            (Verb::Get, "/v2/conversations".to_owned())
        );
        assert_eq!(
            Profile::WebApi.list_endpoint(Resource::Chats),
            (Verb::Post, "/chats/list".to_owned())
        );
        assert_eq!(Profile::V2.show_endpoint(7).1, "/v2/conversations/7");
        assert_eq!(Profile::WebApi.max_page_size(), 50);
    }
}
