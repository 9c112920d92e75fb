//! `orjson.dumps(parsed)` of a JSON text, for the documents Python writes again instead of
//! embedding them as they came (multi-line, a long digit run, `\u` escapes, `":` in strings).
//! A second walk, taken only on those. Floats are written by zmij, as orjson writes them; a
//! `-0.0` is refused (the literal `-0` is an int to orjson and Python, `-0.0` a float, and
//! serde_json gives `-0.0` for both), and so are duplicate keys (orjson keeps the last, the
//! strict parser refuses them): the caller checks those in the first walk's facts.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::escape::{write_int, write_str};
use crate::field::unfit_runs;

pub struct Compact {
    pub text: Vec<u8>,
    /// `unfit_runs` over the decoded strings, keys included.
    pub unfit_runs_in_strings: usize,
}

/// The compact text, or None where a `-0.0` was met.
pub fn compact(data: &[u8]) -> Option<Compact> {
    let mut written = Compact {
        text: Vec::with_capacity(data.len()),
        unfit_runs_in_strings: 0,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(data);
    deserializer.disable_recursion_limit(); // the first walk checked the depth
    Writer {
        out: &mut written,
        comma: false,
    }
    .deserialize(&mut deserializer)
    .ok()?;
    deserializer.end().ok()?;
    Some(written)
}

/// Writes one value, after a comma when `comma` (an element or key that is not the first).
struct Writer<'o> {
    out: &'o mut Compact,
    comma: bool,
}

impl Writer<'_> {
    fn start(&mut self) -> &mut Vec<u8> {
        if self.comma {
            self.out.text.push(b',');
        }
        &mut self.out.text
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
        self.start()
            .extend_from_slice(if value { b"true" } else { b"false" });
        Ok(())
    }

    fn visit_i64<E>(mut self, number: i64) -> Result<(), E> {
        write_int(self.start(), number.into());
        Ok(())
    }

    fn visit_u64<E>(mut self, number: u64) -> Result<(), E> {
        write_int(self.start(), number.into());
        Ok(())
    }

    fn visit_f64<E: de::Error>(mut self, number: f64) -> Result<(), E> {
        if number == 0.0 && number.is_sign_negative() {
            return Err(E::custom("-0 or -0.0"));
        }
        self.start()
            .extend_from_slice(zmij::Buffer::new().format_finite(number).as_bytes());
        Ok(())
    }

    fn visit_str<E>(mut self, text: &str) -> Result<(), E> {
        write_str(self.start(), text);
        self.out.unfit_runs_in_strings += unfit_runs(text.as_bytes());
        Ok(())
    }

    fn visit_unit<E>(mut self) -> Result<(), E> {
        self.start().extend_from_slice(b"null");
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        self.start().push(b'[');
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
        self.out.text.push(b']');
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        self.start().push(b'{');
        let mut comma = false;
        while map
            .next_key_seed(Writer {
                out: &mut *self.out,
                comma,
            })?
            .is_some()
        {
            self.out.text.push(b':');
            map.next_value_seed(Writer {
                out: &mut *self.out,
                comma: false,
            })?;
            comma = true;
        }
        self.out.text.push(b'}');
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
            compact(text).unwrap().text,
            br#"{"a":[1,-2,true,null,"x\"\n"],"b/":{}}"#
        );
        let floats = compact(b"[1.5, 1e16, 1E-7, 0.00001]").unwrap().text;
        assert_eq!(floats, b"[1.5,1e+16,1e-7,0.00001]");
        assert!(compact(b"[-0]").is_none());
    }
}
