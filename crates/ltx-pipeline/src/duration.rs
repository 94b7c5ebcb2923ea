//! The one duration syntax of the configuration and the command line.

use std::time::Duration;

/// Parses `90s`, `15m`, `1h`, `2d`, `1h30m`, `500ms`, `1.5h`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty duration; expected e.g. 90s, 15m, 1h, 1h30m, 2d".to_owned());
    }
    if let Ok(secs) = s.parse::<f64>() {
        return seconds(text, secs);
    }
    let mut total = 0.0_f64;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(digits);
        if number.is_empty() {
            return Err(format!(
                "{text:?} is not a duration; units allowed: ms, s, m, h, d (e.g. 1h30m)"
            ));
        }
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let factor = match unit {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            "" => {
                return Err(format!(
                    "{text:?} is not a duration: the number {number} has no unit (ms, s, m, h, d)"
                ))
            }
            _ => {
                return Err(format!(
                    "{text:?} is not a duration; units allowed: ms, s, m, h, d (e.g. 1h30m)"
                ))
            }
        };
        let n: f64 = number
            .parse()
            .map_err(|_| format!("{text:?} is not a duration; expected e.g. 90s, 1h30m"))?;
        total += n * factor;
        rest = next;
    }
    seconds(text, total)
}

fn seconds(text: &str, secs: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(secs).map_err(|_| {
        format!("{text:?} is not a duration; expected a length of time >= 0, e.g. 90s, 1h30m")
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_the_config_and_the_flags() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("2d").unwrap(), Duration::from_secs(172_800));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration(" 15m ").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("2.5").unwrap(), Duration::from_millis(2500));
        assert_eq!(parse_duration("1.5h").unwrap(), Duration::from_secs(5400));
        for bad in ["1x", "1h30", "", "h", "-5m", "5 parsecs", "2 hours", "soon"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
