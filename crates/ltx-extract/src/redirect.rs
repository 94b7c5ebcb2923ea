//! Which redirects the HTTP client follows: only within the origin it was sent to (same
//! scheme, host and port), plus an upgrade from http to https on the same host.
//!
//! Every request carries a credential: the Bearer token in a header, and the login's
//! password in the body of `POST /oauth2/token`. A `307`/`308` keeps the method and the
//! body, so following one to another host would hand that host the password; reqwest drops
//! the `Authorization` header on a cross-host redirect but not the body. A redirect to
//! plain http would send either in clear text. Such a redirect is not followed: the client
//! gets the 3xx answer itself and fails with [`refused`], naming the request and where it
//! was sent, instead of retrying (a redirect is the server's deliberate answer).

use reqwest::header::{HeaderMap, LOCATION};
use reqwest::redirect::{Attempt, Policy};
use url::Url;

use crate::error::ExtractError;

/// Redirects followed per request at most (same-origin hops); the next one is refused.
const MAX_HOPS: usize = 5;

/// The client's redirect policy (see the module docs).
pub(crate) fn policy() -> Policy {
    Policy::custom(|attempt: Attempt<'_>| {
        let allowed = attempt.previous().len() <= MAX_HOPS
            && attempt
                .previous()
                .first()
                .is_some_and(|from| same_origin_or_upgrade(from, attempt.url()));
        if allowed {
            attempt.follow()
        } else {
            // `stop` hands the 3xx answer to the caller, which fails with a clear error;
            // `error` would surface as a connection-like failure and be retried.
            attempt.stop()
        }
    })
}

/// True when `to` is `from`'s origin, or the same host moved from http to https.
pub(crate) fn same_origin_or_upgrade(from: &Url, to: &Url) -> bool {
    if from.host_str() != to.host_str() {
        return false;
    }
    match (from.scheme(), to.scheme()) {
        (a, b) if a == b => from.port_or_known_default() == to.port_or_known_default(),
        ("http", "https") => true,
        _ => false,
    }
}

/// The error for a redirect the policy did not follow (`status` is the 3xx answer).
pub(crate) fn refused(
    method: &'static str,
    url: &str,
    status: u16,
    headers: &HeaderMap,
    context: &str,
) -> ExtractError {
    let raw = headers.get(LOCATION).and_then(|v| v.to_str().ok());
    let target = raw.and_then(|l| Url::parse(url).ok()?.join(l).ok());
    let location = match (&target, raw) {
        (Some(t), _) => without_query(t),
        (None, Some(l)) => l.split('?').next().unwrap_or(l).to_owned(),
        (None, None) => "(none)".to_owned(),
    };
    let from = Url::parse(url).ok();
    let reason = match (&from, &target) {
        (Some(f), Some(t)) if f.host_str() != t.host_str() => {
            "it leads to another host, which would receive the credentials of the request \
             (the token, or the password of a login); if the API moved, set \
             source.base_url (--base-url) to its new address"
        }
        (Some(f), Some(t)) if t.scheme() == "http" && f.scheme() == "https" => {
            "it leads from https to plain http, which would send the credentials unencrypted"
        }
        (Some(f), Some(t)) if !same_origin_or_upgrade(f, t) => {
            "it leads to another port or scheme of the host, which would receive the \
             credentials of the request; if the API moved, set source.base_url (--base-url)"
        }
        (_, None) => "the answer names no valid Location",
        _ => "too many redirects within the same origin",
    };
    ExtractError::Redirect {
        method,
        url: url.to_owned(),
        context: context.to_owned(),
        status,
        location,
        reason: reason.to_owned(),
    }
}

/// `scheme://host[:port]/path`: a Location's query may carry anything, keep it out of logs.
fn without_query(u: &Url) -> String {
    let mut u = u.clone();
    u.set_query(None);
    u.set_fragment(None);
    let _ = u.set_password(None);
    let _ = u.set_username("");
    u.to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn only_the_same_origin_or_an_https_upgrade_is_followed() {
        let from = u("https://api.livetex.ru/v2/conversations");
        assert!(same_origin_or_upgrade(
            &from,
            &u("https://api.livetex.ru/v3/x")
        ));
        assert!(same_origin_or_upgrade(
            &from,
            &u("https://api.livetex.ru:443/v2/conversations")
        ));
        assert!(!same_origin_or_upgrade(
            &from,
            &u("https://evil.example/v2")
        ));
        assert!(!same_origin_or_upgrade(
            &from,
            &u("http://api.livetex.ru/v2")
        ));
        assert!(!same_origin_or_upgrade(
            &from,
            &u("https://api.livetex.ru:8443/v2")
        ));
        let plain = u("http://127.0.0.1:8080/oauth2/token");
        assert!(same_origin_or_upgrade(
            &plain,
            &u("https://127.0.0.1/oauth2/token")
        ));
        assert!(!same_origin_or_upgrade(
            &plain,
            &u("http://127.0.0.1:9090/oauth2/token")
        ));
    }

    #[test]
    fn a_refused_redirect_names_request_target_and_reason_without_query() {
        let mut h = HeaderMap::new();
        h.insert(
            LOCATION,
            HeaderValue::from_static("http://127.0.0.1:9/oauth2/token?password=x"),
        );
        let e = refused("POST", "http://127.0.0.1:8080/oauth2/token", 307, &h, "").to_string();
        assert!(e.contains("POST http://127.0.0.1:8080/oauth2/token"), "{e}");
        assert!(e.contains("HTTP 307"), "{e}");
        assert!(e.contains("http://127.0.0.1:9/oauth2/token"), "{e}");
        assert!(e.contains("another port"), "{e}");
        assert!(!e.contains("password=x"), "{e}");
        let e = refused("GET", "https://a.example/v2/x", 302, &HeaderMap::new(), "").to_string();
        assert!(e.contains("(none)"), "{e}");
        h.insert(LOCATION, HeaderValue::from_static("https://b.example/v2/x"));
        let e = refused("GET", "https://a.example/v2/x", 301, &h, "").to_string();
        assert!(e.contains("another host"), "{e}");
    }
}
