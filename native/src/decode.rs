//! The strict decoder: Singer lines straight into column builders (serde visitors, no DOM).
//!
//! Every error here means "not for the fast path": the caller falls back to the slower Python
//! paths, which give the authoritative message. Reasons are short and never hold input text.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::column::{Column, Data};
use crate::jsonout::JsonField;
use crate::timefmt::{parse_date, parse_timestamp_us};

/// Our own error reasons start with this marker; serde's may quote input and are replaced.
const OWN: &str = "native: ";
/// |v| <= 2^53: integers a float64 column holds exactly (larger ones: the row path decides)
const EXACT_FLOAT_INT: u64 = 1 << 53;

pub(crate) fn own<E: de::Error>(reason: &'static str) -> E {
    E::custom(format_args!("{OWN}{reason}"))
}

/// A short reason for a rejected line, never quoting the input.
pub fn reason_of(err: &serde_json::Error) -> String {
    let text = err.to_string();
    if let Some(rest) = text.strip_prefix(OWN) {
        let end = rest.find(" at line ").unwrap_or(rest.len());
        return rest[..end].to_string();
    }
    match err.classify() {
        serde_json::error::Category::Data => "a value does not match its column's type".into(),
        _ => "malformed JSON".into(),
    }
}

// ------------------------------------------------------------------------------ values
pub struct ValueSeed<'a>(pub &'a mut Column);

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if matches!(self.0.data, Data::Json { .. }) {
            return d.deserialize_any(JsonField(self.0));
        }
        d.deserialize_any(ValueVisitor(self.0))
    }
}

struct ValueVisitor<'a>(&'a mut Column);

impl ValueVisitor<'_> {
    #[inline]
    fn valid(self) {
        self.0.validity.push(true);
    }
}

impl<'de> Visitor<'de> for ValueVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a value of the column's type")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        if !self.0.nullable {
            return Err(own("null or missing in a non-null field"));
        }
        self.0.push_null_slot();
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        match &mut self.0.data {
            Data::Bool(b) => b.push(v),
            _ => return Err(own("a boolean where the column is not boolean")),
        }
        self.valid();
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        match &mut self.0.data {
            Data::Int64(out) => out.push(v),
            Data::Float64(out) if v.unsigned_abs() <= EXACT_FLOAT_INT => out.push(v as f64),
            _ => return Err(own("an integer where the column does not take it")),
        }
        self.valid();
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        match &mut self.0.data {
            Data::Int64(out) => match i64::try_from(v) {
                Ok(i) => out.push(i),
                Err(_) => return Err(own("integer out of the int64 range")),
            },
            Data::Float64(out) if v <= EXACT_FLOAT_INT => out.push(v as f64),
            _ => return Err(own("an integer where the column does not take it")),
        }
        self.valid();
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        match &mut self.0.data {
            // "-0" parses as -0.0 here but as the integer 0 in Python: let the row path decide
            Data::Float64(out) if !(v == 0.0 && v.is_sign_negative()) => out.push(v),
            _ => {
                return Err(own(
                    "a number with a fraction or exponent where not a float",
                ))
            }
        }
        self.valid();
        Ok(())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        match &mut self.0.data {
            Data::Str { offsets, bytes } => {
                bytes.extend_from_slice(v.as_bytes());
                let end =
                    i32::try_from(bytes.len()).map_err(|_| own("string column over 2 GiB"))?;
                offsets.push(end);
            }
            Data::TimestampUs(out) => out
                .push(parse_timestamp_us(v).ok_or_else(|| own("not a strict RFC 3339 date-time"))?),
            Data::Date32(out) => {
                out.push(parse_date(v).ok_or_else(|| own("not a YYYY-MM-DD date"))?)
            }
            _ => return Err(own("a string where the column is not a string")),
        }
        self.valid();
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Column { validity, data, .. } = self.0;
        let Data::List { offsets, item } = data else {
            return Err(own("an array where the column is not a list"));
        };
        while seq.next_element_seed(ValueSeed(item))?.is_some() {}
        let end = i32::try_from(item.len()).map_err(|_| own("list column too long"))?;
        offsets.push(end);
        validity.push(true);
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Column { validity, data, .. } = self.0;
        let Data::Struct(s) = data else {
            return Err(own("an object where the column is not a struct"));
        };
        s.generation = s.generation.wrapping_add(1);
        if s.generation == 0 {
            s.seen.iter_mut().for_each(|g| *g = 0);
            s.generation = 1;
        }
        let generation = s.generation;
        let mut hint = 0;
        while let Some(found) = map.next_key_seed(KeySeed {
            keys: &s.keys,
            hint,
        })? {
            match found {
                Some(i) => {
                    if s.seen[i] == generation {
                        return Err(own("duplicate key"));
                    }
                    s.seen[i] = generation;
                    map.next_value_seed(ValueSeed(&mut s.children[i]))?;
                    hint = i + 1;
                }
                None => {
                    map.next_value_seed(Skip)?;
                }
            }
        }
        for (child, &seen) in s.children.iter_mut().zip(&s.seen) {
            if seen != generation {
                if !child.nullable {
                    return Err(own("null or missing in a non-null field"));
                }
                child.push_null_slot();
            }
        }
        validity.push(true);
        Ok(())
    }
}

/// A record key: the index of the field it names (`None`: unknown, ignored).
struct KeySeed<'a> {
    keys: &'a [Box<str>],
    hint: usize,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<usize>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<usize>, E> {
        if let Some(k) = self.keys.get(self.hint) {
            if **k == *v {
                return Ok(Some(self.hint));
            }
        }
        Ok(self.keys.iter().position(|k| **k == *v))
    }
}

// ------------------------------------------------------------------------------ skipped values
/// Skips a value (unknown keys, a STATE's value) through the full parser, not serde's
/// `IgnoredAny`: that one does not decode strings, so a lone surrogate escape (which orjson
/// rejects) would pass unseen in an ignored value.
pub struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(Skip)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Skip)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(Skip)?.is_some() {
            map.next_value_seed(Skip)?;
        }
        Ok(())
    }
}

// ------------------------------------------------------------------------------ envelope
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Record,
    State,
}

enum EnvKey {
    Type,
    Stream,
    Record,
    Other,
}

struct EnvKeySeed;

impl<'de> DeserializeSeed<'de> for EnvKeySeed {
    type Value = EnvKey;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<EnvKey, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for EnvKeySeed {
    type Value = EnvKey;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<EnvKey, E> {
        Ok(match v {
            "type" => EnvKey::Type,
            "stream" => EnvKey::Stream,
            "record" => EnvKey::Record,
            _ => EnvKey::Other,
        })
    }
}

/// A string value compared with `expected` (true when equal).
struct EqStr<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for EqStr<'_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for EqStr<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        Ok(v == self.0)
    }
}

struct TypeSeed;

impl<'de> DeserializeSeed<'de> for TypeSeed {
    type Value = Option<Kind>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<Kind>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for TypeSeed {
    type Value = Option<Kind>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a message type")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<Kind>, E> {
        Ok(match v {
            "RECORD" => Some(Kind::Record),
            "STATE" => Some(Kind::State),
            _ => None,
        })
    }
}

/// One message line: RECORD lines of `stream` go into `root` (a struct column).
pub struct Envelope<'a> {
    pub stream: &'a str,
    pub root: &'a mut Column,
}

impl<'de> DeserializeSeed<'de> for Envelope<'_> {
    type Value = Kind;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Kind, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Envelope<'_> {
    type Value = Kind;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Singer message object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Kind, A::Error> {
        let mut kind: Option<Option<Kind>> = None;
        let mut stream_ok: Option<bool> = None;
        let mut has_record = false;
        while let Some(key) = map.next_key_seed(EnvKeySeed)? {
            match key {
                EnvKey::Type => {
                    if kind.is_some() {
                        return Err(own("duplicate key"));
                    }
                    let k = map.next_value_seed(TypeSeed)?;
                    if k.is_none() {
                        return Err(own("not a RECORD or STATE message"));
                    }
                    kind = Some(k);
                }
                EnvKey::Stream => {
                    if stream_ok.is_some() {
                        return Err(own("duplicate key"));
                    }
                    stream_ok = Some(map.next_value_seed(EqStr(self.stream))?);
                }
                EnvKey::Record => {
                    if kind != Some(Some(Kind::Record)) || stream_ok != Some(true) || has_record {
                        return Err(own("record before type and stream, or of another stream"));
                    }
                    map.next_value_seed(ValueSeed(&mut *self.root))?;
                    has_record = true;
                }
                EnvKey::Other => {
                    map.next_value_seed(Skip)?;
                }
            }
        }
        match kind {
            Some(Some(Kind::Record)) if has_record => Ok(Kind::Record),
            Some(Some(Kind::State)) => Ok(Kind::State),
            _ => Err(own("not a complete RECORD or STATE message")),
        }
    }
}
