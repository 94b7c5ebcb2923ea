//! Tolerant deserializers: the one place that knows what the API really sends.
//!
//! Every field of the model goes through one of these (`#[serde(deserialize_with)]`),
//! so a tolerance is written once. What is accepted (beyond the documented type):
//! - integers as strings (`"120"`), as floats with no fraction (`12.0`); other
//!   floats are rounded to the nearest integer (durations are whole seconds);
//! - booleans as `0`/`1`, `"0"`/`"1"`, `"true"`/`"false"`;
//! - `null`, `""` for any optional scalar (→ `None`);
//! - `null` or `{}` for arrays (→ empty vec; PHP encodes an empty array as `{}` at times);
//! - `null`, `[]`, `{}` where an object is expected (→ `None`);
//! - ids sent as numbers where a string id is documented (visitor, complaint);
//! - datetimes via [`crate::time::parse_api_datetime`]; `""` and MySQL's zero date → `None`.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use serde::de::{
    self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde::Deserialize;

use crate::time::parse_api_datetime;

/// Integer from a number or numeric string (see module docs).
struct I64Visitor;

fn float_to_i64<E: de::Error>(v: f64) -> Result<i64, E> {
    // The bound keeps the `as` conversion exact-range; NaN fails the comparison too.
    if v.is_finite() && v.abs() < 9.0e15 {
        Ok(v.round() as i64)
    } else {
        Err(E::custom(format_args!("number {v} is not an integer")))
    }
}

pub(crate) fn str_to_i64<E: de::Error>(s: &str) -> Result<Option<i64>, E> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if let Ok(v) = t.parse::<i64>() {
        return Ok(Some(v));
    }
    match t.parse::<f64>() {
        Ok(f) => float_to_i64(f).map(Some),
        Err(_) => Err(E::custom(format_args!("expected an integer, got {s:?}"))),
    }
}

impl<'de> Visitor<'de> for I64Visitor {
    type Value = Option<i64>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an integer (number or numeric string)")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        i64::try_from(v)
            .map(Some)
            .map_err(|_| E::custom(format_args!("integer {v} out of range")))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        float_to_i64(v).map(Some)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        str_to_i64(v)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// Optional integer: number, numeric string, `null`, `""`.
pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    d.deserialize_any(I64Visitor)
}

/// Required integer (ids): number or numeric string; `null` is an error.
pub fn req_i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    opt_i64(d)?.ok_or_else(|| de::Error::custom("expected an integer, got null"))
}

/// A boolean sent as text (see module docs); `""`/`"null"` → `None`.
pub(crate) fn str_to_bool<E: de::Error>(v: &str) -> Result<Option<bool>, E> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "y" | "t" => Ok(Some(true)),
        "false" | "0" | "no" | "n" | "f" => Ok(Some(false)),
        "" | "null" => Ok(None),
        _ => Err(E::custom(format_args!("expected a boolean, got {v:?}"))),
    }
}

struct BoolVisitor;

impl<'de> Visitor<'de> for BoolVisitor {
    type Value = Option<bool>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a boolean (true/false, 0/1, \"true\"/\"false\")")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        match v {
            0 => Ok(Some(false)),
            1 => Ok(Some(true)),
            _ => Err(E::custom(format_args!("expected a boolean, got {v}"))),
        }
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        if v == 0.0 {
            Ok(Some(false))
        } else if v == 1.0 {
            Ok(Some(true))
        } else {
            Err(E::custom(format_args!("expected a boolean, got {v}")))
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        str_to_bool(v)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// Optional boolean: `true`/`false`, `0`/`1`, strings of those, `null`, `""`.
pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    d.deserialize_any(BoolVisitor)
}

/// Text from a string, a number or a boolean (`widget_id` arrives as either).
struct StringVisitor;

impl<'de> Visitor<'de> for StringVisitor {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string (or a number)")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// Optional text; numbers and booleans become their JSON text; `null` → `None`
/// (an empty string stays an empty string: it can mean something, e.g. `widget_id` of `api`).
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(StringVisitor)
}

/// Required string id (visitor, complaint): a string or a number; `null`/`""` are errors.
pub fn string_id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match opt_string(d)? {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(de::Error::custom("expected a string id, got null or empty")),
    }
}

/// A datetime sent as text: `""` and MySQL's zero date → `None`, else [`parse_api_datetime`].
pub(crate) fn str_to_datetime(v: &str) -> Result<Option<DateTime<Utc>>, crate::DateTimeError> {
    let t = crate::time::trim(v);
    // MySQL's "zero date" is how some backends say "never".
    if t.is_empty() || t.starts_with("0000-00-00") {
        return Ok(None);
    }
    parse_api_datetime(t).map(Some)
}

struct DateTimeVisitor;

impl<'de> Visitor<'de> for DateTimeVisitor {
    type Value = Option<DateTime<Utc>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a LiveTex datetime string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        str_to_datetime(v).map_err(E::custom)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// Optional datetime (naive Moscow time or with an offset) → UTC; `null`/`""` → `None`.
pub fn opt_datetime<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    d.deserialize_any(DateTimeVisitor)
}

/// Required datetime; `null` is an error.
pub fn req_datetime<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    opt_datetime(d)?.ok_or_else(|| de::Error::custom("expected a datetime, got null"))
}

struct VecVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for VecVisitor<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array (or null)")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // serde_json gives no size hint: growing 0 → 4 → 8 → 16 re-copies large structs
        // (a chat has ~8 messages), so a non-empty array starts at 8.
        let Some(first) = seq.next_element()? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).clamp(8, 1024));
        out.push(first);
        while let Some(item) = seq.next_element()? {
            out.push(item);
        }
        Ok(out)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // `{}` is an empty array encoded as an object; anything in it is an error.
        match map.next_key::<de::IgnoredAny>()? {
            None => Ok(Vec::new()),
            Some(_) => Err(de::Error::custom(
                "expected an array, got a non-empty object",
            )),
        }
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// Array of `T`; `null` and `{}` → empty.
pub fn vec<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    d.deserialize_any(VecVisitor(PhantomData))
}

/// A `MapAccess` that yields a key already read (read ahead with [`MapKeySeed`] to find out
/// whether an object is empty, replayed to `T`), then the rest of the map.
struct Replay<'de, A> {
    first: Option<MapKey<'de>>,
    rest: A,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Replay<'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        match self.first.take() {
            Some(MapKey::Borrowed(k)) => seed
                .deserialize(de::value::BorrowedStrDeserializer::new(k))
                .map(Some),
            Some(MapKey::Owned(k)) => seed.deserialize(k.into_deserializer()).map(Some),
            None => self.rest.next_key_seed(seed),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.rest.next_value_seed(seed)
    }
    fn size_hint(&self) -> Option<usize> {
        self.rest.size_hint()
    }
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object (or null)")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        match map.next_key_seed(MapKeySeed)? {
            None => Ok(None),
            Some(first) => T::deserialize(de::value::MapAccessDeserializer::new(Replay {
                first: Some(first),
                rest: map,
            }))
            .map(Some),
        }
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // `[]` is PHP's empty object; a non-empty array is a real type error.
        match seq.next_element::<de::IgnoredAny>()? {
            None => Ok(None),
            Some(_) => Err(de::Error::custom(
                "expected an object, got a non-empty array",
            )),
        }
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// Optional nested object; `null`, `[]` and `{}` → `None`.
pub fn opt_object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    d.deserialize_any(ObjectVisitor(PhantomData))
}

/// Optional boxed nested object (for large types nested in others); as [`opt_object`].
pub fn opt_boxed<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Box<T>>, D::Error> {
    opt_object(d).map(|o| o.map(Box::new))
}

// ---------------------------------------------------------------------------------------
// Seeds: the same tolerances as `DeserializeSeed`s, for the hand-written struct visitors
// of `types.rs` (a seed can be passed to `MapAccess::next_value_seed` directly, where a
// `deserialize_with` function would need a wrapper type per field).

/// Declares a unit seed that applies one of the functions above.
macro_rules! fn_seed {
    ($(#[$m:meta])* $seed:ident => $f:ident -> $t:ty) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $seed;

        impl<'de> DeserializeSeed<'de> for $seed {
            type Value = $t;
            fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<$t, D::Error> {
                $f(d)
            }
        }
    };
}

fn_seed!(/// Seed of [`opt_i64`].
    OptI64 => opt_i64 -> Option<i64>);
fn_seed!(/// Seed of [`req_i64`].
    ReqI64 => req_i64 -> i64);
fn_seed!(/// Seed of [`opt_bool`].
    OptBool => opt_bool -> Option<bool>);

/// Text as [`StringVisitor`], borrowed from the input when it has no escapes.
struct CowStrVisitor;

impl<'de> Visitor<'de> for CowStrVisitor {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string (or a number)")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_string())))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_string())))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_string())))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(if v { "true" } else { "false" })))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// As [`opt_string`], borrowing from the input when the JSON string has no escapes
/// (the usual case: no allocation, no copy until the Arrow builder).
pub fn opt_str<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    d.deserialize_any(CowStrVisitor)
}

/// As [`string_id`], borrowing from the input when possible.
pub fn str_id<'de, D: Deserializer<'de>>(d: D) -> Result<Cow<'de, str>, D::Error> {
    match opt_str(d)? {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(de::Error::custom("expected a string id, got null or empty")),
    }
}

/// Seed of [`opt_str`].
#[derive(Debug, Clone, Copy, Default)]
pub struct OptString;

impl<'de> DeserializeSeed<'de> for OptString {
    type Value = Option<Cow<'de, str>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        opt_str(d)
    }
}

/// An optional string from a documented closed set (`result`, `state`, ...): as
/// [`OptString`], but a value outside the set does not fit the model (schema drift: the
/// lenient reader keeps it in `extra` and reports it). `""` is read as sent.
#[derive(Debug, Clone, Copy)]
pub struct OptEnum {
    /// The documented values.
    pub values: &'static [&'static str],
    /// How a drift names the set: `one of success, failure`.
    pub expected: &'static str,
}

impl OptEnum {
    /// Whether `s` is a documented value (or empty).
    pub fn knows(&self, s: &str) -> bool {
        s.is_empty() || self.values.contains(&s)
    }
}

impl<'de> DeserializeSeed<'de> for OptEnum {
    type Value = Option<Cow<'de, str>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        match opt_str(d)? {
            Some(s) if !self.knows(&s) => Err(de::Error::custom(format_args!(
                "{s:?} is not {}",
                self.expected
            ))),
            v => Ok(v),
        }
    }
}

/// Seed of [`str_id`].
#[derive(Debug, Clone, Copy, Default)]
pub struct StringId;

impl<'de> DeserializeSeed<'de> for StringId {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        str_id(d)
    }
}
fn_seed!(/// Seed of [`opt_datetime`].
    OptDateTime => opt_datetime -> Option<DateTime<Utc>>);
fn_seed!(/// Seed of [`req_datetime`].
    ReqDateTime => req_datetime -> DateTime<Utc>);

/// Seed of [`vec`]: an array of `T`; `null` and `{}` → empty.
#[derive(Debug)]
pub struct Seq<T>(PhantomData<T>);

impl<T> Default for Seq<T> {
    fn default() -> Self {
        Seq(PhantomData)
    }
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for Seq<T> {
    type Value = Vec<T>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<T>, D::Error> {
        vec(d)
    }
}

/// Seed of a value with its own `Deserialize` (free-form JSON kept as [`serde_json::value::RawValue`]).
#[derive(Debug)]
pub struct Plain<T>(PhantomData<T>);

impl<T> Default for Plain<T> {
    fn default() -> Self {
        Plain(PhantomData)
    }
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for Plain<T> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        T::deserialize(d)
    }
}

/// A model type read field by field from a map (implemented by `types.rs`'s macro).
pub trait FromMap<'de>: Sized {
    /// Reads the object's fields; with `empty_is_none`, an object with no keys (`{}`) is `None`.
    fn from_map<A: MapAccess<'de>>(map: A, empty_is_none: bool) -> Result<Option<Self>, A::Error>;
}

/// Visitor of a required model object (the types' `Deserialize`): `{}` is read as an
/// object with every field missing (so a missing required field is the error).
#[derive(Debug)]
pub struct Struct<T>(PhantomData<T>);

impl<T> Default for Struct<T> {
    fn default() -> Self {
        Struct(PhantomData)
    }
}

impl<'de, T: FromMap<'de>> Visitor<'de> for Struct<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::from_map(map, false)?
            .ok_or_else(|| de::Error::custom("an object read as absent (bug in FromMap)"))
    }
}

/// Seed of an optional nested model object: `null`, `[]` and `{}` → `None` (as
/// [`opt_object`], without reading the first key ahead: the type's visitor sees `{}` itself).
#[derive(Debug)]
pub struct Object<T>(PhantomData<T>);

impl<T> Default for Object<T> {
    fn default() -> Self {
        Object(PhantomData)
    }
}

impl<'de, T: FromMap<'de>> DeserializeSeed<'de> for Object<T> {
    type Value = Option<T>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: FromMap<'de>> Visitor<'de> for Object<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object (or null)")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::from_map(map, true)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // `[]` is PHP's empty object; a non-empty array is a real type error.
        match seq.next_element::<de::IgnoredAny>()? {
            None => Ok(None),
            Some(_) => Err(de::Error::custom(
                "expected an object, got a non-empty array",
            )),
        }
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// Seed of an optional boxed nested model object; as [`Object`].
#[derive(Debug)]
pub struct Boxed<T>(PhantomData<T>);

impl<T> Default for Boxed<T> {
    fn default() -> Self {
        Boxed(PhantomData)
    }
}

impl<'de, T: FromMap<'de>> DeserializeSeed<'de> for Boxed<T> {
    type Value = Option<Box<T>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<Box<T>>, D::Error> {
        Object::<T>::default()
            .deserialize(d)
            .map(|o| o.map(Box::new))
    }
}

/// An object key: borrowed from the input when it has no escapes (the usual case).
#[derive(Debug)]
pub enum MapKey<'de> {
    /// Borrowed from the input.
    Borrowed(&'de str),
    /// Unescaped into a new string.
    Owned(String),
}

impl MapKey<'_> {
    /// The key's text.
    pub fn as_str(&self) -> &str {
        match self {
            MapKey::Borrowed(s) => s,
            MapKey::Owned(s) => s,
        }
    }
    /// The key as an owned string (for `extra`).
    pub fn into_string(self) -> String {
        match self {
            MapKey::Borrowed(s) => s.to_owned(),
            MapKey::Owned(s) => s,
        }
    }
}

/// Seed of a [`MapKey`].
#[derive(Debug, Clone, Copy, Default)]
pub struct MapKeySeed;

impl<'de> DeserializeSeed<'de> for MapKeySeed {
    type Value = MapKey<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for MapKeySeed {
    type Value = MapKey<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(MapKey::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(MapKey::Owned(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(MapKey::Owned(v))
    }
}
