//! `orjson.dumps(parsed)` of a JSON text, for the documents Python writes again instead of
//! embedding them as they came (multi-line, a long digit run, `\u` escapes, `":` in strings).
//! A second walk, taken only on those; floats are refused (orjson's float spelling is its
//! own), so are duplicate keys (orjson keeps the last, Python's strict parser refuses them):
//! the caller checks both in the first walk's facts before calling.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::escape::{write_int, write_str};

/// The compact text, or None where a float was met.
pub fn compact(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len());
    let mut deserializer = serde_json::Deserializer::from_slice(data);
    deserializer.disable_recursion_limit(); // the first walk checked the depth
    Writer {
        out: &mut out,
        comma: false,
    }
    .deserialize(&mut deserializer)
    .ok()?;
    deserializer.end().ok()?;
    Some(out)
}

/// Writes one value, after a comma when `comma` (an element or key that is not the first).
struct Writer<'o> {
    out: &'o mut Vec<u8>,
    comma: bool,
}

impl Writer<'_> {
    fn start(&mut self) {
        if self.comma {
            self.out.push(b',');
        }
    }
}

impl<'de> DeserializeSeed<'de> for Writer<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Writer<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(mut self, value: bool) -> Result<(), E> {
        self.start();
        self.out
            .extend_from_slice(if value { b"true" } else { b"false" });
        Ok(())
    }

    fn visit_i64<E>(mut self, number: i64) -> Result<(), E> {
        self.start();
        write_int(self.out, number.into());
        Ok(())
    }

    fn visit_u64<E>(mut self, number: u64) -> Result<(), E> {
        self.start();
        write_int(self.out, number.into());
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(E::custom("a float"))
    }

    fn visit_str<E>(mut self, text: &str) -> Result<(), E> {
        self.start();
        write_str(self.out, text);
        Ok(())
    }

    fn visit_unit<E>(mut self) -> Result<(), E> {
        self.start();
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        self.start();
        self.out.push(b'[');
        let mut comma = false;
        while seq
            .next_element_seed(Writer {
                out: &mut *self.out,
                comma,
            })?
            .is_some()
        {
            comma = true;
        }
        self.out.push(b']');
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        self.start();
        self.out.push(b'{');
        let mut comma = false;
        while map
            .next_key_seed(Writer {
                out: &mut *self.out,
                comma,
            })?
            .is_some()
        {
            self.out.push(b':');
            map.next_value_seed(Writer {
                out: &mut *self.out,
                comma: false,
            })?;
            comma = true;
        }
        self.out.push(b'}');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_compact() {
        let text = b" {\"a\" : [1, -2, true, null, \"x\\u0022\\n\"],\n \"b\\/\": {}} ";
        assert_eq!(
            compact(text).unwrap(),
            br#"{"a":[1,-2,true,null,"x\"\n"],"b/":{}}"#
        );
        assert_eq!(compact(b"[1.5]"), None);
    }
}
