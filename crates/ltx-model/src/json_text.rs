//! [`JsonText`]: a free-form JSON value kept exactly as received.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// A free-form JSON value (visitor variables, prechat fields, ...) as the text received:
/// one complete, valid JSON value (either parser checks it), never re-serialized.
///
/// serde reads it through [`RawValue`]; the fast path ([`crate::fast`]) checks and slices
/// it itself instead of handing the rest of the input to serde_json for each value.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct JsonText<'a>(&'a str);

impl<'a> JsonText<'a> {
    /// The JSON text.
    pub fn get(&self) -> &'a str {
        self.0
    }

    /// Text the fast parser has checked (crate-only: outside, only serde makes one).
    pub(crate) fn checked(text: &'a str) -> Self {
        JsonText(text)
    }
}

impl std::fmt::Debug for JsonText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JsonText({})", self.0)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for JsonText<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <&'de RawValue>::deserialize(d).map(|raw| JsonText(raw.get()))
    }
}

impl Serialize for JsonText<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // As the value it is (not as a string): a RawValue serializes its text verbatim.
        RawValue::from_string(self.0.to_owned())
            .map_err(serde::ser::Error::custom)?
            .serialize(s)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_the_text_verbatim() {
        let text = r#"{"b": [1, 2.50, "x"], "a": null}"#;
        let j: JsonText = serde_json::from_str(text).unwrap();
        assert_eq!(j.get(), text);
        assert_eq!(serde_json::to_string(&j).unwrap(), text);
        assert!(serde_json::from_str::<JsonText>("{oops").is_err());
    }
}
