//! Authentication: a static Bearer token, or an OAuth2 password grant renewed before
//! it expires and once after a 401.
//!
//! Renewal is single flight: the token lives behind a generation counter; a task that
//! finds it missing or due takes the renewal mutex, re-checks (another task may have
//! renewed meanwhile) and only then logs in. Concurrent requests therefore share one
//! login per expiry instead of storming the token endpoint. Secrets never reach logs,
//! errors or `Debug` output: they are [`Secret`]s and the password is masked in any
//! server message we quote.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::config::{AuthConfig, Secret};

/// A token and the generation it belongs to (to invalidate exactly that one on a 401).
#[derive(Clone)]
pub(crate) struct Bearer {
    pub token: Arc<Secret>,
    pub generation: u64,
}

#[derive(Default)]
struct TokenState {
    token: Option<Arc<Secret>>,
    generation: u64,
    /// Renew at this instant (`None`: the token does not expire).
    renew_at: Option<Instant>,
}

/// The credentials and the current token.
pub(crate) struct Auth {
    config: AuthConfig,
    state: Mutex<TokenState>,
    renewal: tokio::sync::Mutex<()>,
}

/// What a login returned.
pub(crate) struct Granted {
    pub token: Secret,
    pub expires_in: Option<Duration>,
}

/// The token endpoint's answer, bare or wrapped in `{"results": {…}}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum TokenAnswer {
    Wrapped { results: TokenBody },
    Bare(TokenBody),
}

#[derive(Deserialize)]
struct TokenBody {
    access_token: Secret,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

/// Parses a token answer; `None` if it carries no token.
pub(crate) fn parse_token_answer(body: &[u8]) -> Option<Granted> {
    let answer: TokenAnswer = serde_json::from_slice(body).ok()?;
    let body = match answer {
        TokenAnswer::Wrapped { results } => results,
        TokenAnswer::Bare(b) => b,
    };
    if body.access_token.expose().is_empty() {
        return None;
    }
    let expires_in = body.expires_in.and_then(|v| match v {
        serde_json::Value::Number(n) => n.as_f64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    });
    Some(Granted {
        token: body.access_token,
        expires_in: expires_in
            .filter(|s| s.is_finite() && *s > 0.0)
            .and_then(|s| Duration::try_from_secs_f64(s).ok()),
    })
}

/// What is wrong with a credential's text, if anything: a control character, typically a
/// CR or LF left by a Windows env file or a heredoc. In a Bearer header it makes the request
/// unsendable (reqwest reports it like a network failure, retried to exhaustion); in a login
/// form it is a wrong password. The answer never quotes the value.
pub fn credential_problem(value: &str) -> Option<String> {
    let n = value.chars().count();
    let (at, c) = value.chars().enumerate().find(|(_, c)| c.is_control())?;
    let name = match c {
        '\r' => "a carriage return (\\r)".to_owned(),
        '\n' => "a line feed (\\n)".to_owned(),
        '\t' => "a tab".to_owned(),
        c => format!("the control character U+{:04X}", u32::from(c)),
    };
    let hint = if matches!(c, '\r' | '\n') && at + 2 >= n {
        " (a line end copied from a file, e.g. a Windows env file)"
    } else {
        ""
    };
    Some(format!(
        "contains {name} at character {} of {n}{hint}; remove it (the value is not shown)",
        at + 1
    ))
}

/// Rejects credentials that cannot be what the account holder meant (see
/// [`credential_problem`]), naming the key, before any request is sent.
pub fn validate_credentials(config: &AuthConfig) -> Result<(), crate::ExtractError> {
    let check = |key: &'static str, value: &str| {
        let problem = if value.trim().is_empty() {
            Some("is empty".to_owned())
        } else {
            credential_problem(value)
        };
        match problem {
            Some(message) => Err(crate::ExtractError::Config { key, message }),
            None => Ok(()),
        }
    };
    match config {
        AuthConfig::Token { token } => check("LIVETEX_API_TOKEN", token.expose()),
        AuthConfig::Password { login, password } => {
            check("LIVETEX_LOGIN", login)?;
            check("LIVETEX_PASSWORD", password.expose())
        }
    }
}

/// Renew this long before expiry: 10 % of the lifetime or 30 s, whichever is smaller.
pub(crate) fn renewal_margin(ttl: Duration) -> Duration {
    (ttl / 10).min(Duration::from_secs(30))
}

impl Auth {
    pub(crate) fn new(config: AuthConfig) -> Self {
        let state = match &config {
            AuthConfig::Token { token } => TokenState {
                token: Some(Arc::new(token.clone())),
                generation: 1,
                renew_at: None,
            },
            AuthConfig::Password { .. } => TokenState::default(),
        };
        Self {
            config,
            state: Mutex::new(state),
            renewal: tokio::sync::Mutex::new(()),
        }
    }

    /// True for a static token (nothing to renew: a 401 is final).
    pub(crate) fn is_static(&self) -> bool {
        matches!(self.config, AuthConfig::Token { .. })
    }

    /// The login of password auth (for error messages).
    pub(crate) fn login(&self) -> Option<&str> {
        match &self.config {
            AuthConfig::Password { login, .. } => Some(login),
            AuthConfig::Token { .. } => None,
        }
    }

    pub(crate) fn credentials(&self) -> Option<(&str, &Secret)> {
        match &self.config {
            AuthConfig::Password { login, password } => Some((login, password)),
            AuthConfig::Token { .. } => None,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TokenState> {
        // A poisoned lock only means another task panicked mid-update of plain data.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current token if present and not due for renewal.
    pub(crate) fn current(&self) -> Option<Bearer> {
        let s = self.lock();
        let token = s.token.clone()?;
        if s.renew_at.is_some_and(|t| Instant::now() >= t) {
            return None;
        }
        Some(Bearer {
            token,
            generation: s.generation,
        })
    }

    /// Returns a valid token, logging in (once, for all waiting tasks) when needed.
    pub(crate) async fn bearer<F, Fut>(&self, login: F) -> Result<Bearer, crate::ExtractError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Granted, crate::ExtractError>>,
    {
        if let Some(b) = self.current() {
            return Ok(b);
        }
        let _single_flight = self.renewal.lock().await;
        if let Some(b) = self.current() {
            return Ok(b);
        }
        if self.is_static() {
            // Static tokens are never dropped (a 401 on them fails at once); keep it anyway.
            let s = self.lock();
            if let Some(token) = s.token.clone() {
                return Ok(Bearer {
                    token,
                    generation: s.generation,
                });
            }
        }
        let asked_at = Instant::now();
        let granted = login().await?;
        let mut s = self.lock();
        s.generation += 1;
        s.token = Some(Arc::new(granted.token));
        s.renew_at = granted
            .expires_in
            .map(|ttl| asked_at + ttl.saturating_sub(renewal_margin(ttl)));
        tracing::debug!(
            generation = s.generation,
            expires_in_s = granted.expires_in.map(|d| d.as_secs_f64()),
            "obtained access token"
        );
        Ok(Bearer {
            token: s.token.clone().unwrap_or_else(|| Arc::new(Secret::new(""))),
            generation: s.generation,
        })
    }

    /// Forgets the token of `generation` after a 401 (a newer one is kept).
    pub(crate) fn invalidate(&self, generation: u64) {
        let mut s = self.lock();
        if s.generation == generation && !matches!(self.config, AuthConfig::Token { .. }) {
            s.token = None;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn token_answer_bare_or_wrapped() {
        let g = parse_token_answer(
            br#"{"access_token":"abc","token_type":"bearer","expires_in":3600}"#,
        )
        .unwrap();
        assert_eq!(g.token.expose(), "abc");
        assert_eq!(g.expires_in, Some(Duration::from_secs(3600)));
        let g = parse_token_answer(br#"{"results":{"access_token":"xyz","expires_in":"1.5"}}"#)
            .unwrap();
        assert_eq!(g.token.expose(), "xyz");
        assert_eq!(g.expires_in, Some(Duration::from_millis(1500)));
        assert!(parse_token_answer(br#"{"error":"invalid_grant"}"#).is_none());
    }

    #[test]
    fn credentials_with_control_characters_are_named_not_shown() {
        assert_eq!(credential_problem("sim-token"), None);
        assert_eq!(credential_problem("pass word with spaces"), None);
        let m = credential_problem("s3cret-token\r").unwrap();
        assert!(
            m.contains("carriage return") && m.contains("13 of 13"),
            "{m}"
        );
        assert!(m.contains("Windows"), "{m}");
        assert!(!m.contains("s3cret"), "{m}");
        let m = credential_problem("a\u{0}b").unwrap();
        assert!(m.contains("U+0000"), "{m}");
        let e = validate_credentials(&AuthConfig::Password {
            login: "me@example.ru".into(),
            password: Secret::new("pw\n"),
        })
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("LIVETEX_PASSWORD") && e.contains("line feed"),
            "{e}"
        );
        assert!(!e.contains("pw"), "{e}");
    }

    #[test]
    fn margin_is_ten_percent_or_thirty_seconds() {
        assert_eq!(
            renewal_margin(Duration::from_secs(1)),
            Duration::from_millis(100)
        );
        assert_eq!(
            renewal_margin(Duration::from_secs(3600)),
            Duration::from_secs(30)
        );
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_login() {
        let auth = Arc::new(Auth::new(AuthConfig::Password {
            login: "me".into(),
            password: Secret::new("pw"),
        }));
        let logins = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let auth = auth.clone();
            let logins = logins.clone();
            tasks.push(tokio::spawn(async move {
                auth.bearer(|| async move {
                    logins.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok(Granted {
                        token: Secret::new("t1"),
                        expires_in: Some(Duration::from_secs(60)),
                    })
                })
                .await
                .unwrap()
                .generation
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), 1);
        }
        assert_eq!(logins.load(Ordering::SeqCst), 1);
        // A 401 on generation 1 forces exactly one renewal; a stale invalidation is ignored.
        auth.invalidate(1);
        let b = auth
            .bearer(|| async {
                Ok(Granted {
                    token: Secret::new("t2"),
                    expires_in: None,
                })
            })
            .await
            .unwrap();
        assert_eq!(b.generation, 2);
        auth.invalidate(1);
        assert_eq!(auth.current().unwrap().token.expose(), "t2");
    }
}
