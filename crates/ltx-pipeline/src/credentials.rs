//! Secrets: the only place they come from is the environment, read when a command needs
//! them (never from files or flags, never printed).

use ltx_extract::{AuthConfig, Profile, Secret};

use crate::config::{Config, ConfigError};

/// The credentials of `profile` from the environment (`LIVETEX_API_TOKEN`, or
/// `LIVETEX_LOGIN` + `LIVETEX_PASSWORD`). A missing one is a configuration error naming
/// the variable; a malformed one is rejected by [`Config::extract_config`].
pub fn auth_from_env(profile: Profile) -> Result<AuthConfig, ConfigError> {
    let get = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let missing = |key: &str, message: &str| ConfigError::Key {
        file: "environment".to_owned(),
        key: key.to_owned(),
        message: message.to_owned(),
    };
    match profile {
        Profile::V2 => match get("LIVETEX_API_TOKEN") {
            Some(t) => Ok(AuthConfig::Token {
                token: Secret::new(t),
            }),
            None => Err(missing(
                "LIVETEX_API_TOKEN",
                "the v2 profile needs LIVETEX_API_TOKEN in the environment",
            )),
        },
        Profile::WebApi => match (get("LIVETEX_LOGIN"), get("LIVETEX_PASSWORD")) {
            (Some(login), Some(password)) => Ok(AuthConfig::Password {
                login,
                password: Secret::new(password),
            }),
            _ => Err(missing(
                "LIVETEX_LOGIN",
                "the web-api profile needs LIVETEX_LOGIN and LIVETEX_PASSWORD in the environment",
            )),
        },
    }
}

/// `LTX_PII_SALT` (empty when unset).
pub fn pii_salt() -> String {
    std::env::var("LTX_PII_SALT").unwrap_or_default()
}

/// A pipeline that hashes personal data needs `LTX_PII_SALT` (checked before any work).
pub fn require_pii_salt(config: &Config) -> Result<(), ConfigError> {
    if config.personal_data.hashes_anything() && pii_salt().is_empty() {
        return Err(ConfigError::Key {
            file: "environment".to_owned(),
            key: "LTX_PII_SALT".to_owned(),
            message: "[personal_data] hashes some columns: set LTX_PII_SALT in the environment \
                      (a secret, stable salt; without it hashes of phones and e-mails are reversible)"
                .to_owned(),
        });
    }
    Ok(())
}
