//! The serde_json visitor behind analysis.rs: one pass over the parse events, no tree built.
//! Keys are borrowed from the text where they have no escapes; an object's keys are checked for
//! duplicates against the others of the same object (a scan, a hash set for large objects).

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::analysis::{Facts, Found, MAX_DEPTH, TimePath, Top};

/// Above this many keys an object's duplicate check uses a hash set, not a scan.
const SCAN_KEYS: usize = 24;

/// The facts of a text, or serde_json's error (a syntax error, or the walk's own "too deep").
pub fn walk(data: &[u8], time: Option<&TimePath>) -> Result<Facts, serde_json::Error> {
    let mut walk = Walk {
        facts: Facts {
            top_flat: true,
            ..Facts::default()
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
    let kind = root.deserialize(&mut deserializer)?;
    deserializer.end()?;
    walk.facts.top = match kind {
        Kind::Object => Top::Object,
        Kind::Array => Top::Array,
        _ => Top::Scalar,
    };
    Ok(walk.facts)
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
