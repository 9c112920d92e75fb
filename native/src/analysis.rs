//! One serde_json walk over a JSON text collecting what the Python encoder's decision reads
//! from the value orjson parsed (`_embeddable` in handler/format/envelope.py): the top-level
//! kind, whether a top-level object is flat, key counts and duplicates, the `":` inside
//! decoded strings (what `orjson.dumps(parsed).count(b'":')` counts beyond the keys), floats,
//! and the values at the time field's paths.
//!
//! A parse error answers whether orjson surely refuses the text too: syntax errors, yes; a
//! number out of range, a nesting deeper than `MAX_DEPTH` or anything else, unsure (deferred).

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// Deepest nesting walked: orjson writes at most 254 levels back, so a deeper document takes
/// another path in Python; well below that, and well below what the stack holds.
pub const MAX_DEPTH: u32 = 200;
/// Above this many keys an object's duplicate check uses a hash set, not a scan.
const SCAN_KEYS: usize = 24;

/// A value found at a time-field path.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    Bool,
    Int(i128),
    Float(f64),
    Str(String),
    /// null, an object or an array: never a time.
    Other,
}

/// The configured time field: the whole name as one top-level key, then the dotted path.
pub struct TimePath {
    pub whole: String,
    pub parts: Vec<String>,
}

impl TimePath {
    pub fn new(field: &str) -> Self {
        TimePath {
            whole: field.to_owned(),
            parts: field.split('.').map(str::to_owned).collect(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Top {
    Object,
    Array,
    Scalar,
}

#[derive(Debug)]
pub struct Facts {
    pub top: Top,
    /// Distinct keys of the top-level object (`len(parsed)`).
    pub top_keys: usize,
    /// The top-level object has no object, array or float value (`-0.0` aside, see below).
    pub top_flat: bool,
    /// A top-level value parsed as `-0.0`: orjson reads the literal `-0` as the int 0 but
    /// `-0.0` as a float, and serde_json gives `-0.0` for both.
    pub top_neg_zero: bool,
    /// Distinct keys over all objects.
    pub keys: usize,
    /// `":` inside decoded strings, keys included.
    pub string_colons: usize,
    /// Keys as written, duplicates included.
    pub key_occurrences: usize,
    /// Quotes inside strings (the opening one included) that `_key_colons` counts: followed by
    /// a colon once spaces are gone. Exact where the text has no `\u` escape (see
    /// `colon_quotes`).
    pub colon_quotes: usize,
    pub duplicate: bool,
    /// Any float anywhere (integer literals beyond 64 bits included: orjson reads them as floats).
    pub float: bool,
    /// Ints of 18 digits or more (each one run of `_long_number`'s bytes as written: JSON
    /// writes ints without leading zeros).
    pub long_ints: usize,
    /// The value at the whole name and at the dotted path (None: not there).
    pub time: [Option<Found>; 2],
}

/// Why a text was not walked.
#[derive(Debug, PartialEq, Eq)]
pub enum Failure {
    /// A syntax error: orjson refuses the text too.
    Rejected,
    /// Anything else (number out of range, too deep): only Python can say.
    Unsure,
}

pub fn analyze(data: &[u8], time: Option<&TimePath>) -> Result<Facts, Failure> {
    let mut walk = Walk {
        facts: Facts {
            top: Top::Scalar,
            top_keys: 0,
            top_flat: true,
            top_neg_zero: false,
            keys: 0,
            string_colons: 0,
            key_occurrences: 0,
            colon_quotes: 0,
            duplicate: false,
            float: false,
            long_ints: 0,
            time: [None, None],
        },
        keys: Vec::new(),
        time,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(data);
    deserializer.disable_recursion_limit(); // MAX_DEPTH is checked below
    let root = Node {
        walk: &mut walk,
        depth: 0,
        top: true,
        dotted: time.map(|_| 0),
        capture: 0,
    };
    let kind = root
        .deserialize(&mut deserializer)
        .and_then(|kind| deserializer.end().map(|()| kind))
        .map_err(|error| failure(&error))?;
    walk.facts.top = match kind {
        Kind::Object => Top::Object,
        Kind::Array => Top::Array,
        _ => Top::Scalar,
    };
    Ok(walk.facts)
}

fn failure(error: &serde_json::Error) -> Failure {
    if !(error.is_syntax() || error.is_eof()) {
        return Failure::Unsure; // our own "too deep", or an I/O error (none on a slice)
    }
    // serde_json names its error codes only in their message. orjson refuses these too, but
    // for its own reasons (infinity, depth): left to Python rather than reasoned about.
    let message = error.to_string();
    if message.starts_with("number out of range") || message.starts_with("recursion limit") {
        Failure::Unsure
    } else {
        Failure::Rejected
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Object,
    Array,
    Float,
    NegZero,
    Other,
}

/// The smallest int of 18 digits.
const LONG_INT: u64 = 100_000_000_000_000_000;

const WHOLE: u8 = 1;
const DOTTED: u8 = 2;

struct Walk<'t, 'de> {
    facts: Facts,
    /// Keys of the open objects, innermost last (each object's own from its start index).
    keys: Vec<Cow<'de, str>>,
    time: Option<&'t TimePath>,
}

impl Walk<'_, '_> {
    fn capture(&mut self, mask: u8, found: impl FnOnce() -> Found) {
        if mask == 0 {
            return;
        }
        let found = found();
        if mask & WHOLE != 0 {
            self.facts.time[0] = Some(found.clone());
        }
        if mask & DOTTED != 0 {
            self.facts.time[1] = Some(found);
        }
    }
}

fn colons(text: &str) -> usize {
    memchr::memmem::find_iter(text.as_bytes(), b"\":").count()
}

/// The quotes of one string's raw text whose next byte but spaces is a colon, from its decoded
/// text. Without `\u` escapes in the text, every `"` inside a string was written `\"`, and
/// spaces and colons as themselves (raw tabs and newlines are not allowed in strings), so the
/// raw quotes are the opening one and one per decoded `"`, each followed by what follows it
/// decoded. `escaped`: the string had escapes (else it holds no `"`).
fn colon_quotes(text: &str, escaped: bool) -> usize {
    let bytes = text.as_bytes();
    let colon_next = |from: usize| bytes[from..].iter().find(|&&byte| byte != b' ') == Some(&b':');
    let mut count = usize::from(colon_next(0));
    if escaped {
        for at in memchr::memchr_iter(b'"', bytes) {
            count += usize::from(colon_next(at + 1));
        }
    }
    count
}

/// One value: `top` for the root, `dotted` the index of the time path's part its keys are
/// matched against (if it is an object on the path), `capture` where its value goes.
struct Node<'w, 't, 'de> {
    walk: &'w mut Walk<'t, 'de>,
    depth: u32,
    top: bool,
    dotted: Option<usize>,
    capture: u8,
}

impl<'de> DeserializeSeed<'de> for Node<'_, '_, 'de> {
    type Value = Kind;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Kind, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_, '_, 'de> {
    type Value = Kind;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Kind, E> {
        self.walk.capture(self.capture, || Found::Bool);
        Ok(Kind::Other)
    }

    fn visit_i64<E>(self, number: i64) -> Result<Kind, E> {
        self.walk.facts.long_ints += usize::from(number.unsigned_abs() >= LONG_INT);
        self.walk
            .capture(self.capture, || Found::Int(number.into()));
        Ok(Kind::Other)
    }

    fn visit_u64<E>(self, number: u64) -> Result<Kind, E> {
        self.walk.facts.long_ints += usize::from(number >= LONG_INT);
        self.walk
            .capture(self.capture, || Found::Int(number.into()));
        Ok(Kind::Other)
    }

    fn visit_f64<E>(self, number: f64) -> Result<Kind, E> {
        self.walk.facts.float = true;
        self.walk.capture(self.capture, || Found::Float(number));
        Ok(if number == 0.0 && number.is_sign_negative() {
            Kind::NegZero
        } else {
            Kind::Float
        })
    }

    fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Kind, E> {
        // Borrowed: no escape in it, so no quote either, so no `":`.
        self.walk.facts.colon_quotes += colon_quotes(text, false);
        self.walk
            .capture(self.capture, || Found::Str(text.to_owned()));
        Ok(Kind::Other)
    }

    fn visit_str<E>(self, text: &str) -> Result<Kind, E> {
        self.walk.facts.string_colons += colons(text);
        self.walk.facts.colon_quotes += colon_quotes(text, true);
        self.walk
            .capture(self.capture, || Found::Str(text.to_owned()));
        Ok(Kind::Other)
    }

    fn visit_unit<E>(self) -> Result<Kind, E> {
        self.walk.capture(self.capture, || Found::Other);
        Ok(Kind::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Kind, A::Error> {
        if self.depth >= MAX_DEPTH {
            return Err(de::Error::custom("too deep"));
        }
        self.walk.capture(self.capture, || Found::Other);
        while seq
            .next_element_seed(Node {
                walk: &mut *self.walk,
                depth: self.depth + 1,
                top: false,
                dotted: None,
                capture: 0,
            })?
            .is_some()
        {}
        Ok(Kind::Array)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Kind, A::Error> {
        if self.depth >= MAX_DEPTH {
            return Err(de::Error::custom("too deep"));
        }
        let walk = self.walk;
        walk.capture(self.capture, || Found::Other);
        let start = walk.keys.len();
        let mut seen: Option<HashSet<Cow<'de, str>>> = None;
        while let Some(key) = map.next_key_seed(Key {
            facts: &mut walk.facts,
        })? {
            let mut capture = 0;
            let mut dotted = None;
            if let Some(time) = walk.time {
                if self.top && *key == *time.whole {
                    capture |= WHOLE;
                }
                if let Some(part) = self.dotted
                    && *key == *time.parts[part]
                {
                    if part + 1 == time.parts.len() {
                        capture |= DOTTED;
                    } else {
                        dotted = Some(part + 1);
                    }
                }
            }
            let fresh = match &mut seen {
                Some(set) => set.insert(key),
                None => {
                    let fresh = !walk.keys[start..].contains(&key);
                    if fresh {
                        walk.keys.push(key);
                    }
                    if walk.keys.len() - start > SCAN_KEYS {
                        seen = Some(walk.keys.drain(start..).collect());
                    }
                    fresh
                }
            };
            if fresh {
                walk.facts.keys += 1;
                if self.top {
                    walk.facts.top_keys += 1;
                }
            } else {
                walk.facts.duplicate = true;
            }
            let kind = map.next_value_seed(Node {
                walk: &mut *walk,
                depth: self.depth + 1,
                top: false,
                dotted,
                capture,
            })?;
            if self.top {
                match kind {
                    Kind::Object | Kind::Array | Kind::Float => walk.facts.top_flat = false,
                    Kind::NegZero => walk.facts.top_neg_zero = true,
                    Kind::Other => {}
                }
            }
        }
        walk.keys.truncate(start);
        Ok(Kind::Object)
    }
}

/// An object key, borrowed from the text unless it had escapes.
struct Key<'f> {
    facts: &'f mut Facts,
}

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = Cow<'de, str>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Self::Value, E> {
        self.facts.key_occurrences += 1;
        self.facts.colon_quotes += colon_quotes(text, false);
        Ok(Cow::Borrowed(text))
    }

    fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
        self.facts.key_occurrences += 1;
        self.facts.string_colons += colons(text);
        self.facts.colon_quotes += colon_quotes(text, true);
        Ok(Cow::Owned(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_log_line() {
        let facts = analyze(br#"{"a":1,"b":"x","c":null,"d":true}"#, None).unwrap();
        assert_eq!(facts.top, Top::Object);
        assert!(facts.top_flat && !facts.duplicate && !facts.float);
        assert_eq!((facts.top_keys, facts.keys, facts.string_colons), (4, 4, 0));
    }

    #[test]
    fn duplicates_and_colons() {
        let facts = analyze(br#"{"a":{"k\":":"v\":\":"},"a":2}"#, None).unwrap();
        assert!(facts.duplicate && !facts.top_flat);
        assert_eq!((facts.top_keys, facts.keys, facts.string_colons), (1, 2, 3));
    }

    #[test]
    fn failures() {
        assert_eq!(analyze(b"{", None).unwrap_err(), Failure::Rejected);
        assert_eq!(
            analyze(b"2026-12-01 x", None).unwrap_err(),
            Failure::Rejected
        );
        assert_eq!(analyze(b"1e400", None).unwrap_err(), Failure::Unsure);
        let deep = [vec![b'['; 201], vec![b']'; 201]].concat();
        assert_eq!(analyze(&deep, None).unwrap_err(), Failure::Unsure);
        let fine = [vec![b'['; 200], vec![b']'; 200]].concat();
        assert!(analyze(&fine, None).is_ok());
    }

    #[test]
    fn time_paths() {
        let time = TimePath::new("event.created");
        let facts = analyze(
            br#"{"event.created":"x","event":{"created":5}}"#,
            Some(&time),
        )
        .unwrap();
        assert_eq!(
            facts.time,
            [Some(Found::Str("x".into())), Some(Found::Int(5))]
        );
    }
}
