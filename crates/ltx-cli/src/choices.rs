//! The flags whose values are the pipeline's enums (`--profile`, `--mode`,
//! `--log-format`): their possible values with the help text `--help` shows, read with the
//! same serde names as the configuration file.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use ltx_pipeline::{LogFormat, Mode, Profile};
use serde::de::value::{Error, StrDeserializer};
use serde::de::{DeserializeOwned, IntoDeserializer};

/// A parser of `values` (name, help) into `T` as the configuration file names them.
fn choice<T: DeserializeOwned + Clone + Send + Sync + 'static>(
    values: [(&'static str, &'static str); 2],
) -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(values.map(|(name, help)| PossibleValue::new(name).help(help)))
        .try_map(|s| {
            let de: StrDeserializer<'_, Error> = s.as_str().into_deserializer();
            T::deserialize(de).map_err(|e| e.to_string())
        })
}

/// `--profile`: `v2` or `web-api`.
pub fn profile() -> impl TypedValueParser<Value = Profile> {
    choice([
        ("v2", "`https://api.livetex.ru/v2`, Bearer token"),
        (
            "web-api",
            "`https://web-api.livetex.ru`, OAuth password grant",
        ),
    ])
}

/// `--mode`: `list` or `discover`.
pub fn mode() -> impl TypedValueParser<Value = Mode> {
    choice([
        ("list", "Page the conversations list sorted by `updated_at`"),
        (
            "discover",
            "Page chats/calls/leads/complaints, then fetch each conversation by id",
        ),
    ])
}

/// `--log-format`: `text` or `json`.
pub fn log_format() -> impl TypedValueParser<Value = LogFormat> {
    choice([
        ("text", "Human-readable lines"),
        ("json", "One JSON object per line (for schedulers)"),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn every_value_parses_to_the_configuration_s_enum() {
        let cmd = clap::Command::new("t");
        for (v, p) in [("v2", Profile::V2), ("web-api", Profile::WebApi)] {
            assert_eq!(profile().parse_ref(&cmd, None, OsStr::new(v)).ok(), Some(p));
        }
        for (v, m) in [("list", Mode::List), ("discover", Mode::Discover)] {
            assert_eq!(mode().parse_ref(&cmd, None, OsStr::new(v)).ok(), Some(m));
        }
        for (v, f) in [("text", LogFormat::Text), ("json", LogFormat::Json)] {
            assert_eq!(
                log_format().parse_ref(&cmd, None, OsStr::new(v)).ok(),
                Some(f)
            );
        }
        assert!(mode().parse_ref(&cmd, None, OsStr::new("lst")).is_err());
    }
}
