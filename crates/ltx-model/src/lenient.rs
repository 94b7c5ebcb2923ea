//! The lenient reader: schema drift never loses a conversation.
//!
//! The strict readers ([`crate::fast`], then serde through [`crate::de`]) stop at the first
//! value that does not fit the model. A real account sends values our reference did not
//! describe (a string where an object is documented, a number out of range, a datetime in
//! a format we never saw), and rejecting the whole conversation for one of them would lose
//! every chat, message and call in it. So a record the strict readers refuse is read again
//! here, member by member:
//! - a value that fits is read exactly as the strict readers read it (same seeds);
//! - a value that does not fit leaves its field empty (`None`, an empty array), is kept as
//!   received in the object's `extra` under its own key (so it reaches the row's `_extra`),
//!   and is recorded as a [`Drift`] naming its path, what was expected and what came;
//! - an array element that cannot be a row (not an object, or its own `id` unusable) is
//!   kept whole in the parent's `extra` under `name[i]`, with a drift;
//! - only a conversation whose `id` or `updated_at` is unusable is refused: without them
//!   it cannot be keyed, versioned or placed, so it goes to `_rejected` as before.
//!
//! Members are sliced from the input as [`RawValue`]s, so text still borrows from the record
//! and nothing is parsed twice but the value that did not fit. A record that is not JSON at
//! all is not read here (the caller's error stands).

use std::fmt::Write as _;

use serde::de::{DeserializeSeed, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::de::{self, FromMap, MapKey, MapKeySeed};

/// One value that did not fit the model, kept in `_extra` and reported in `_quality_issues`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    /// Where: `employees[3].role`, `chats[0].messages[2].created_at`, `chats[4]`.
    pub path: String,
    /// What the model expects there: `object`, `integer`, `datetime`, `boolean`, `string`,
    /// `string id`, `array`, `a single value` (a key sent twice), or for a documented closed
    /// set, `one of missed, completed, ...`.
    pub expected: &'static str,
    /// The JSON type that came: `string`, `number`, `boolean`, `null`, `object`, `array`,
    /// or `missing`.
    pub received: &'static str,
}

impl Drift {
    /// The path with array indexes dropped (`employees[].role`): what drift is counted by.
    pub fn field(&self) -> String {
        field_of(&self.path)
    }
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} where {} expected",
            self.path, self.received, self.expected
        )
    }
}

/// `path` with every `[N]` written `[]`.
pub fn field_of(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for ch in path.chars() {
        match ch {
            '[' => {
                in_index = true;
                out.push_str("[]");
            }
            ']' if in_index => in_index = false,
            _ if in_index => {}
            _ => out.push(ch),
        }
    }
    out
}

/// The path being read and the drift found so far.
#[derive(Debug, Default)]
pub struct Cx {
    path: String,
    drifts: Vec<Drift>,
}

impl Cx {
    /// Enters member `key`; returns the mark to [`Cx::leave`] with.
    fn enter_key(&mut self, key: &str) -> usize {
        let mark = self.path.len();
        if !self.path.is_empty() {
            self.path.push('.');
        }
        self.path.push_str(key);
        mark
    }

    /// Enters element `i` of the current array.
    fn enter_index(&mut self, i: usize) -> usize {
        let mark = self.path.len();
        // Writing to a String cannot fail.
        let _ = write!(self.path, "[{i}]");
        mark
    }

    fn leave(&mut self, mark: usize) {
        self.path.truncate(mark);
    }

    /// Records a drift at the current path.
    fn drift(&mut self, expected: &'static str, received: &'static str) {
        self.drifts.push(Drift {
            path: self.path.clone(),
            expected,
            received,
        });
    }

    /// The drift found, in the order read.
    pub fn into_drifts(self) -> Vec<Drift> {
        self.drifts
    }

    /// The drift found so far.
    pub fn drifts(&self) -> &[Drift] {
        &self.drifts
    }
}

/// The JSON type of a value, by its first character (the value is valid JSON).
pub fn json_type(v: &RawValue) -> &'static str {
    match v.get().trim_start().as_bytes().first() {
        Some(b'{') => "object",
        Some(b'[') => "array",
        Some(b'"') => "string",
        Some(b't' | b'f') => "boolean",
        Some(b'n') => "null",
        _ => "number",
    }
}

/// Keeps `v` as received in `extra` under `key` (a number serde_json cannot hold as a
/// `Value`, e.g. `1e400`, is kept as its text).
fn spill(extra: &mut Map<String, Value>, key: String, v: &RawValue) {
    let value = serde_json::from_str::<Value>(v.get())
        .unwrap_or_else(|_| Value::String(v.get().to_owned()));
    extra.insert(key, value);
}

/// The text of `raw`'s first top-level member `key`, cut to 80 characters (for the error
/// that names an unusable `id` or `updated_at`).
pub(crate) fn top_level_member(raw: &str, key: &str) -> Option<String> {
    let members = serde_json::from_str::<Members>(raw).ok()?;
    let (_, value) = members.0.into_iter().find(|(k, _)| k.as_str() == key)?;
    let text = value.get();
    Some(match text.char_indices().nth(80) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    })
}

/// A model object whose required member (its id, a conversation's `updated_at`) is absent
/// or did not fit: it cannot be a row. Its drift is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unusable;

/// A field's seed read leniently (see the module docs).
pub trait LenientSeed<'a>: DeserializeSeed<'a> + Sized {
    /// What the field holds, as named in a [`Drift`].
    const EXPECTED: &'static str;

    /// What this field holds, where it depends on the seed (a closed set of values).
    fn expected(&self) -> &'static str {
        Self::EXPECTED
    }

    /// The documented values of a closed set (empty for other fields).
    fn values(&self) -> &'static [&'static str] {
        &[]
    }

    /// The fields of the model object (or array element) the field holds, if any.
    fn nested() -> Option<fn() -> Vec<FieldInfo>> {
        None
    }

    /// Reads `v` as the field `key`; `None` when it does not fit: then the drift is recorded
    /// at `cx`'s path and the value is kept in `extra` under `key`.
    fn lenient(
        self,
        key: &str,
        v: &'a RawValue,
        cx: &mut Cx,
        extra: &mut Map<String, Value>,
    ) -> Option<Self::Value> {
        let expected = self.expected();
        strict_or_drift(self, key, v, cx, extra, expected)
    }
}

/// `v` read by the strict seed, or a drift.
fn strict_or_drift<'a, S: DeserializeSeed<'a>>(
    seed: S,
    key: &str,
    v: &'a RawValue,
    cx: &mut Cx,
    extra: &mut Map<String, Value>,
    expected: &'static str,
) -> Option<S::Value> {
    let mut d = serde_json::Deserializer::from_str(v.get());
    match seed.deserialize(&mut d) {
        Ok(value) => Some(value),
        Err(_) => {
            cx.drift(expected, json_type(v));
            spill(extra, key.to_owned(), v);
            None
        }
    }
}

macro_rules! scalar {
    ($($seed:ty => $expected:literal),* $(,)?) => {
        $( impl<'a> LenientSeed<'a> for $seed {
            const EXPECTED: &'static str = $expected;
        } )*
    };
}

scalar! {
    de::OptI64 => "integer",
    de::ReqI64 => "integer",
    de::OptBool => "boolean",
    de::OptString => "string",
    de::StringId => "string id",
    de::OptDateTime => "datetime",
    de::ReqDateTime => "datetime",
}

impl<'a, T: Deserialize<'a>> LenientSeed<'a> for de::Plain<T> {
    const EXPECTED: &'static str = "JSON";
}

impl<'a> LenientSeed<'a> for de::OptEnum {
    const EXPECTED: &'static str = "string";

    fn expected(&self) -> &'static str {
        self.expected
    }

    fn values(&self) -> &'static [&'static str] {
        self.values
    }
}

/// What `seed`'s field holds (for the generated code, which has the seed as an expression).
pub(crate) fn expected_of<'a, S: LenientSeed<'a>>(seed: &S) -> &'static str {
    seed.expected()
}

/// A field of a model type as the model declares it: what the lenient reader and the tests
/// that drive every field through every JSON type enumerate.
#[derive(Debug, Clone)]
pub struct FieldInfo {
    /// The JSON key.
    pub key: &'static str,
    /// What it holds (as in [`Drift::expected`]).
    pub expected: &'static str,
    /// Whether the object is unusable without it (an id, the conversation's `updated_at`).
    pub required: bool,
    /// The documented values, for a string from a closed set (empty otherwise).
    pub values: &'static [&'static str],
    /// The fields of the object (or of each array element) it holds.
    pub nested: Option<fn() -> Vec<FieldInfo>>,
}

/// The [`FieldInfo`] of one member (for the generated code).
pub(crate) fn field_info<'a, S: LenientSeed<'a, Value = V>, V>(
    seed: &S,
    key: &'static str,
    required: bool,
) -> FieldInfo {
    FieldInfo {
        key,
        expected: seed.expected(),
        values: seed.values(),
        required,
        nested: S::nested(),
    }
}

/// A model type read leniently (implemented by `types.rs`'s macro).
pub trait LenientMap<'a>: Sized {
    /// Every field the type declares, in order.
    fn fields() -> Vec<FieldInfo>;

    /// Reads the object `text` (valid JSON, an object); with `empty_is_none`, `{}` is `None`.
    /// `Err` when a required member is unusable (its drift is recorded).
    fn lenient_map(
        text: &'a str,
        empty_is_none: bool,
        cx: &mut Cx,
    ) -> Result<Option<Self>, Unusable>;
}

fn is_object(v: &RawValue) -> bool {
    v.get().trim_start().starts_with('{')
}

impl<'a, T: FromMap<'a> + LenientMap<'a>> LenientSeed<'a> for de::Object<T> {
    const EXPECTED: &'static str = "object";

    fn nested() -> Option<fn() -> Vec<FieldInfo>> {
        Some(T::fields)
    }

    fn lenient(
        self,
        key: &str,
        v: &'a RawValue,
        cx: &mut Cx,
        extra: &mut Map<String, Value>,
    ) -> Option<Option<T>> {
        if !is_object(v) {
            // `null` and `[]` are read as the strict reader reads them.
            return strict_or_drift(self, key, v, cx, extra, Self::EXPECTED);
        }
        match T::lenient_map(v.get(), true, cx) {
            Ok(o) => Some(o),
            Err(Unusable) => {
                spill(extra, key.to_owned(), v);
                None
            }
        }
    }
}

impl<'a, T: FromMap<'a> + LenientMap<'a>> LenientSeed<'a> for de::Boxed<T> {
    const EXPECTED: &'static str = "object";

    fn nested() -> Option<fn() -> Vec<FieldInfo>> {
        Some(T::fields)
    }

    fn lenient(
        self,
        key: &str,
        v: &'a RawValue,
        cx: &mut Cx,
        extra: &mut Map<String, Value>,
    ) -> Option<Option<Box<T>>> {
        de::Object::<T>::default()
            .lenient(key, v, cx, extra)
            .map(|o| o.map(Box::new))
    }
}

impl<'a, T: Deserialize<'a> + LenientMap<'a>> LenientSeed<'a> for de::Seq<T> {
    const EXPECTED: &'static str = "array";

    fn nested() -> Option<fn() -> Vec<FieldInfo>> {
        Some(T::fields)
    }

    fn lenient(
        self,
        key: &str,
        v: &'a RawValue,
        cx: &mut Cx,
        extra: &mut Map<String, Value>,
    ) -> Option<Vec<T>> {
        if !v.get().trim_start().starts_with('[') {
            // `null` and `{}` are read as the strict reader reads them.
            return strict_or_drift(self, key, v, cx, extra, Self::EXPECTED);
        }
        // Valid JSON (checked by the caller's parse), so this cannot fail; if it did, the
        // array is kept whole.
        let Ok(elements) = serde_json::from_str::<Vec<&'a RawValue>>(v.get()) else {
            cx.drift(Self::EXPECTED, json_type(v));
            spill(extra, key.to_owned(), v);
            return None;
        };
        let mut out = Vec::with_capacity(elements.len());
        for (i, el) in elements.into_iter().enumerate() {
            let mark = cx.enter_index(i);
            let row = if is_object(el) {
                T::lenient_map(el.get(), false, cx).ok().flatten()
            } else {
                cx.drift("object", json_type(el));
                None
            };
            match row {
                Some(row) => out.push(row),
                None => spill(extra, format!("{key}[{i}]"), el),
            }
            cx.leave(mark);
        }
        Some(out)
    }
}

/// The members of an object, in order, each sliced from the input.
pub(crate) struct Members<'a>(pub(crate) Vec<(MapKey<'a>, &'a RawValue)>);

impl<'a> Deserialize<'a> for Members<'a> {
    fn deserialize<D: serde::Deserializer<'a>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'a> Visitor<'a> for V {
            type Value = Members<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'a>>(self, mut map: A) -> Result<Members<'a>, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = map.next_key_seed(MapKeySeed)? {
                    let v: &'a RawValue = map.next_value()?;
                    out.push((k, v));
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// Reads one member of a model object (the body of the generated `lenient_map`).
pub(crate) fn member<'a, S: LenientSeed<'a>>(
    seed: S,
    key: &str,
    v: &'a RawValue,
    slot: &mut Option<S::Value>,
    cx: &mut Cx,
    extra: &mut Map<String, Value>,
) {
    let mark = cx.enter_key(key);
    if slot.is_some() {
        // A key sent twice: the first value is read, the second kept as received.
        cx.drift("a single value", "a second value");
        spill(extra, format!("{key}#2"), v);
    } else {
        *slot = seed.lenient(key, v, cx, extra);
    }
    cx.leave(mark);
}

/// A required member that is absent or did not fit: records a drift when it was absent
/// (one that did not fit has recorded its own).
pub(crate) fn required<T>(
    value: Option<T>,
    key: &str,
    expected: &'static str,
    cx: &mut Cx,
) -> Result<T, Unusable> {
    match value {
        Some(v) => Ok(v),
        None => {
            let mark = cx.enter_key(key);
            if !cx.drifts.iter().rev().any(|d| d.path == cx.path) {
                cx.drift(expected, "missing");
            }
            cx.leave(mark);
            Err(Unusable)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn fields_drop_indexes() {
        assert_eq!(
            field_of("chats[10].messages[2].id"),
            "chats[].messages[].id"
        );
        assert_eq!(field_of("employees[3]"), "employees[]");
        assert_eq!(field_of("duration"), "duration");
    }
}
