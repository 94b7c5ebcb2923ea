//! How numbers are written on the page (the numbers themselves come from DuckDB).

/// An integer with thin-space thousands separators: `12 345`.
pub fn count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 * 3 + 1);
    if n < 0 {
        out.push('−');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{2009}');
        }
        out.push(c);
    }
    out
}

/// A ratio as a percentage with one decimal: `0.4567` → `45.7%`.
pub fn percent(r: f64) -> String {
    format!("{:.1}%", r * 100.0)
}

/// Seconds, rounded to the second, as `42 s` or `3 min 05 s`.
pub fn seconds(s: f64) -> String {
    let total = s.round().max(0.0) as i64;
    if total < 60 {
        format!("{total} s")
    } else if total < 3600 {
        format!("{} min {:02} s", total / 60, total % 60)
    } else {
        format!("{} h {:02} min", total / 3600, total % 3600 / 60)
    }
}

/// A target as configured: `60 s`, `90 s`, `5 min`, `4 h`, `2 d`, else as [`seconds`].
pub fn target(s: i64) -> String {
    if s < 120 {
        format!("{s} s")
    } else if s % 86_400 == 0 {
        format!("{} d", s / 86_400)
    } else if s % 3600 == 0 {
        format!("{} h", s / 3600)
    } else if s % 60 == 0 {
        format!("{} min", s / 60)
    } else {
        seconds(s as f64)
    }
}

/// A relative change, signed: `+12.3%`, `−4.0%`; a change in percentage points: `+1.2 pp`.
pub fn change(c: f64, points: bool) -> String {
    let (sign, v) = if c < 0.0 { ('−', -c) } else { ('+', c) };
    if points {
        format!("{sign}{:.1} pp", v * 100.0)
    } else {
        format!("{sign}{:.1}%", v * 100.0)
    }
}

/// Minutes as an age: `5 min ago`, `3 h ago`, `2 d ago`.
pub fn age(minutes: i64) -> String {
    if minutes < 0 {
        "in the future (clock skew?)".to_owned()
    } else if minutes < 60 {
        format!("{minutes} min ago")
    } else if minutes < 48 * 60 {
        format!("{} h ago", minutes / 60)
    } else {
        format!("{} d ago", minutes / 1440)
    }
}

/// Text made safe for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1234), "1\u{2009}234");
        assert_eq!(count(-1234567), "−1\u{2009}234\u{2009}567");
        assert_eq!(percent(0.4567), "45.7%");
        assert_eq!(seconds(41.6), "42 s");
        assert_eq!(seconds(185.0), "3 min 05 s");
        assert_eq!(seconds(7300.0), "2 h 01 min");
        assert_eq!(target(60), "60 s");
        assert_eq!(target(90), "90 s");
        assert_eq!(target(300), "5 min");
        assert_eq!(target(14_400), "4 h");
        assert_eq!(target(172_800), "2 d");
        assert_eq!(target(150), "2 min 30 s");
        assert_eq!(change(0.123, false), "+12.3%");
        assert_eq!(change(-0.04, false), "−4.0%");
        assert_eq!(change(0.012, true), "+1.2 pp");
        assert_eq!(age(5), "5 min ago");
        assert_eq!(age(180), "3 h ago");
        assert_eq!(age(3 * 1440), "3 d ago");
    }

    #[test]
    fn escaping() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'Ольга'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;Ольга&#39;"
        );
    }
}
