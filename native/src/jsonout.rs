//! Free-form JSON fields: any value written back as compact JSON text, byte for byte what the
//! row path stores (`orjson.dumps(value)` of the value `orjson.loads` read).
//!
//! serde_json's writer matches orjson's: no spaces; strings escape only `"`, `\` and control
//! characters (`\b \f \n \r \t`, else `\u00xx` in lower case), everything else as UTF-8;
//! integers in decimal; floats as the shortest text that reads back (`1.0`, `0.00001`, `1e-7`,
//! `1e+16`). The Python side checks this on a probe document before it uses a JSON column
//! (`dativo_targets.kit.native`), so another orjson version cannot silently differ. What cannot
//! be matched is rejected: a negative zero (serde reads `-0` and `-0.0` alike, orjson as `0`
//! and `-0.0`) and an object with a duplicate key (orjson keeps the last value at the first
//! key's place).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::column::{Column, Data};
use crate::decode::own;

/// Objects with more keys than this are checked for duplicates by sorting, not pairwise.
const PAIRWISE_KEYS: usize = 16;

fn write<E: de::Error, T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) -> Result<(), E> {
    serde_json::to_writer(out, v).map_err(|_| own("a value cannot be written as JSON"))
}

/// Writes one JSON value (of any type) to `out`.
pub struct JsonOut<'a> {
    pub out: &'a mut Vec<u8>,
    /// spans (in `out`) of the keys of the objects being written, innermost last
    pub keys: &'a mut Vec<(usize, usize)>,
}

impl JsonOut<'_> {
    fn reborrow(&mut self) -> JsonOut<'_> {
        JsonOut {
            out: self.out,
            keys: self.keys,
        }
    }
}

impl<'de> DeserializeSeed<'de> for JsonOut<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for JsonOut<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.out
            .extend_from_slice(if v { b"true" as &[u8] } else { b"false" });
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        write(self.out, &v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        write(self.out, &v)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        if !v.is_finite() || (v == 0.0 && v.is_sign_negative()) {
            return Err(own("a negative zero or non-finite number in a JSON field"));
        }
        write(self.out, &v)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        write(self.out, v)
    }
    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        self.out.push(b'[');
        let mut first = true;
        loop {
            let mark = self.out.len();
            if !first {
                self.out.push(b',');
            }
            if seq.next_element_seed(self.reborrow())?.is_none() {
                self.out.truncate(mark);
                break;
            }
            first = false;
        }
        self.out.push(b']');
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        self.out.push(b'{');
        let mark = self.keys.len();
        loop {
            let first = self.keys.len() == mark;
            let key = KeyOut {
                out: &mut *self.out,
                keys: &mut *self.keys,
                first,
            };
            if map.next_key_seed(key)?.is_none() {
                break;
            }
            map.next_value_seed(self.reborrow())?;
        }
        if has_duplicates(self.out, &self.keys[mark..]) {
            return Err(own("duplicate key in a JSON field"));
        }
        self.keys.truncate(mark);
        self.out.push(b'}');
        Ok(())
    }
}

/// Writes `,` (unless first), the key and `:`, and notes the key's span.
struct KeyOut<'a> {
    out: &'a mut Vec<u8>,
    keys: &'a mut Vec<(usize, usize)>,
    first: bool,
}

impl<'de> DeserializeSeed<'de> for KeyOut<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyOut<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        if !self.first {
            self.out.push(b',');
        }
        let start = self.out.len();
        write(self.out, v)?;
        self.keys.push((start, self.out.len()));
        self.out.push(b':');
        Ok(())
    }
}

/// True when two of the (escaped) keys at `spans` of `out` are equal.
fn has_duplicates(out: &[u8], spans: &[(usize, usize)]) -> bool {
    let key = |&(a, b): &(usize, usize)| &out[a..b];
    if spans.len() <= PAIRWISE_KEYS {
        return spans
            .iter()
            .enumerate()
            .any(|(i, s)| spans[..i].iter().any(|t| key(t) == key(s)));
    }
    let mut sorted: Vec<&[u8]> = spans.iter().map(key).collect();
    sorted.sort_unstable();
    sorted.windows(2).any(|w| w[0] == w[1])
}

/// A free-form field's value: `null` is a null slot, anything else its JSON text.
pub struct JsonField<'a>(pub &'a mut Column);

impl JsonField<'_> {
    fn put<E: de::Error>(self, write: impl FnOnce(JsonOut<'_>) -> Result<(), E>) -> Result<(), E> {
        let Column { validity, data, .. } = self.0;
        let Data::Json {
            offsets,
            bytes,
            keys,
        } = data
        else {
            return Err(own("not a JSON column"));
        };
        write(JsonOut { out: bytes, keys })?;
        let end = i32::try_from(bytes.len()).map_err(|_| own("string column over 2 GiB"))?;
        offsets.push(end);
        validity.push(true);
        Ok(())
    }
}

impl<'de> Visitor<'de> for JsonField<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
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
        self.put(|w| w.visit_bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.put(|w| w.visit_i64(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.put(|w| w.visit_u64(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.put(|w| w.visit_f64(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.put(|w| w.visit_str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.put(|w| w.visit_seq(seq))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.put(|w| w.visit_map(map))
    }
}

/// `text` (one JSON value) as a JSON column would store it, or `None` when it would be
/// rejected: the Python side compares this with orjson on a probe before using JSON columns.
pub fn canonical(text: &str) -> Option<Vec<u8>> {
    let (mut out, mut keys) = (Vec::new(), Vec::new());
    let mut de = serde_json::Deserializer::from_str(text);
    JsonOut {
        out: &mut out,
        keys: &mut keys,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end())
    .ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::canonical;

    fn text(s: &str) -> Option<String> {
        canonical(s).map(|v| String::from_utf8(v).unwrap())
    }

    #[test]
    fn compact_text() {
        assert_eq!(
            text(r#" { "a" : [1, 2.50, -3e0, true, null, {}, []], "b":"\u00e9\n\u001F/" } "#)
                .as_deref(),
            Some(r#"{"a":[1,2.5,-3.0,true,null,{},[]],"b":"é\n\u001f/"}"#)
        );
        assert_eq!(text("1e16").as_deref(), Some("1e+16"));
        assert_eq!(text("0.00001").as_deref(), Some("0.00001"));
        assert_eq!(
            text("18446744073709551616").as_deref(),
            Some("1.8446744073709552e+19")
        );
        assert_eq!(text("-0"), None);
        assert_eq!(text("-0.0"), None);
        assert_eq!(text(r#"{"a":1,"b":{"a":1},"a":2}"#), None);
        assert_eq!(
            text(r#"[{"a":1},{"a":2}]"#).as_deref(),
            Some(r#"[{"a":1},{"a":2}]"#)
        );
        let many: Vec<String> = (0..40).map(|i| format!("\"k{}\":{i}", i % 39)).collect();
        assert_eq!(text(&format!("{{{}}}", many.join(","))), None);
    }
}
