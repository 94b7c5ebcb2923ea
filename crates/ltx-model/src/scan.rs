//! Reading a conversation's id from bytes that are not JSON.

/// The value of a top-level `"id"` member (a number or a short numeric string) of an
/// object's bytes, found by a scan that tracks strings and nesting only: it reads records
/// that are not JSON (an invalid UTF-8 byte, a raw control character, cut short), so that
/// `_rejected` can still name their conversation.
pub fn scan_id(b: &[u8]) -> Option<i64> {
    if b.first() != Some(&b'{') {
        return None;
    }
    let mut depth = 0usize;
    let mut i = 0;
    // Whether the string being closed is a key at depth 1 (after `{` or `,`).
    let mut expect_key = false;
    while i < b.len() {
        match b[i] {
            b'{' | b'[' => {
                depth += 1;
                expect_key = b[i] == b'{' && depth == 1;
                i += 1;
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b',' => {
                expect_key = depth == 1;
                i += 1;
            }
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                let key = expect_key && b.get(j) == Some(&b'"');
                if key && &b[start..j.min(b.len())] == b"id" {
                    let k = ws(b, j + 1);
                    if b.get(k) == Some(&b':') {
                        return read_id(b, ws(b, k + 1));
                    }
                }
                expect_key = false;
                i = j + 1;
            }
            _ => i += 1,
        }
    }
    None
}

fn read_id(b: &[u8], i: usize) -> Option<i64> {
    let (from, quoted) = if b.get(i) == Some(&b'"') {
        (i + 1, true)
    } else {
        (i, false)
    };
    let mut j = from;
    if b.get(j) == Some(&b'-') {
        j += 1;
    }
    while b.get(j).is_some_and(u8::is_ascii_digit) {
        j += 1;
    }
    if quoted && b.get(j) != Some(&b'"') {
        return None;
    }
    std::str::from_utf8(&b[from..j]).ok()?.parse().ok()
}

fn ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_of_records_that_are_not_json() {
        assert_eq!(
            scan_id(b"{\"a\": {\"id\": 1}, \"id\": 42, \"t\": \"\xff\x01"),
            Some(42)
        );
        assert_eq!(
            scan_id(b"{\"text\": \"\\\"id\\\": 7\", \"id\" : \"9\"}"),
            Some(9)
        );
        assert_eq!(scan_id(b"{\"name\": \"id\", \"x\": 1}"), None);
        assert_eq!(scan_id(b"[{\"id\": 1}]"), None);
        assert_eq!(scan_id(b"{\"id\": \"abc\"}"), None);
    }
}
