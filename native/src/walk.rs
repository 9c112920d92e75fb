//! The serde_json visitor behind analysis.rs: one pass over the parse events, no tree built.
//! Keys are borrowed from the text where they have no escapes; an object's keys are checked for
//! duplicates against the others of the same object (a scan, a hash set for large objects).
//!
//! The field paths are followed as bit masks (a bit per path): an object's part index along a
//! dotted path is its depth, since only objects continue a path, so a node carries which paths
//! lead to it and which capture its value, and no path costs anything off its way.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::analysis::{Facts, FieldPath, Found, MAX_DEPTH, MAX_PATHS, Top};

/// Above this many keys an object's duplicate check uses a hash set, not a scan.
const SCAN_KEYS: usize = 24;

/// The facts of a text, or serde_json's error (a syntax error, or the walk's own "too deep").
pub fn walk(data: &[u8], paths: &[FieldPath]) -> Result<Facts, serde_json::Error> {
    assert!(paths.len() <= MAX_PATHS, "at most {MAX_PATHS} paths");
    let mut walk = Walk {
        facts: Facts {
            top_flat: true,
            found: vec![[None, None]; paths.len()],
            ..Facts::default()
        },
        keys: Vec::new(),
        paths,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(data);
    deserializer.disable_recursion_limit(); // MAX_DEPTH is checked below
    let root = Node {
        walk: &mut walk,
        depth: 0,
        top: true,
        dotted: dotted_paths(paths),
        capture: Capture::NONE,
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

/// The paths with a dotted path to follow: a name without a dot has only its whole one (as
/// `JsonField` has), found at the top level.
fn dotted_paths(paths: &[FieldPath]) -> u64 {
    paths
        .iter()
        .enumerate()
        .filter(|(_, path)| path.parts.len() > 1)
        .fold(0, |mask, (bit, _)| mask | 1 << bit)
}

/// Which paths' candidates a value is: at their whole name, at their dotted path.
#[derive(Clone, Copy)]
struct Capture {
    whole: u64,
    dotted: u64,
}

impl Capture {
    const NONE: Capture = Capture {
        whole: 0,
        dotted: 0,
    };
}

/// The set bits of a mask, lowest first.
fn bits(mut mask: u64) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        if mask == 0 {
            return None;
        }
        let bit = mask.trailing_zeros() as usize;
        mask &= mask - 1;
        Some(bit)
    })
}

struct Walk<'t, 'de> {
    facts: Facts,
    /// Keys of the open objects, innermost last (each object's own from its start index).
    keys: Vec<Cow<'de, str>>,
    paths: &'t [FieldPath],
}

impl Walk<'_, '_> {
    fn capture(&mut self, capture: Capture, found: impl FnOnce() -> Found) {
        if capture.whole | capture.dotted == 0 {
            return;
        }
        let found = found();
        // Cloned for all but the last slot, which takes it.
        let slots = bits(capture.whole)
            .map(|path| (path, 0))
            .chain(bits(capture.dotted).map(|path| (path, 1)));
        let mut last = None;
        for (path, candidate) in slots {
            if let Some((path, candidate)) = last.replace((path, candidate)) {
                self.facts.found[path][candidate] = Some(found.clone());
            }
        }
        if let Some((path, candidate)) = last {
            self.facts.found[path][candidate] = Some(found);
        }
    }
}

/// The `":` orjson writes for one string: its opening quote before a leading colon, and each
/// `"` inside it (written `\"`) followed by a colon. `escaped`: the string had escapes (else
/// it holds no `"`).
fn colons(text: &str, escaped: bool) -> usize {
    let inside = if escaped {
        memchr::memmem::find_iter(text.as_bytes(), b"\":").count()
    } else {
        0
    };
    usize::from(text.starts_with(':')) + inside
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

/// One value: `top` for the root, `dotted` the paths whose part at `depth` its keys are
/// matched against (if it is an object), `capture` where its value goes.
struct Node<'w, 't, 'de> {
    walk: &'w mut Walk<'t, 'de>,
    depth: u32,
    top: bool,
    dotted: u64,
    capture: Capture,
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

    fn visit_bool<E>(self, value: bool) -> Result<Kind, E> {
        self.walk.capture(self.capture, || Found::Bool(value));
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
        self.walk.facts.string_colons += colons(text, false);
        self.walk.facts.colon_quotes += colon_quotes(text, false);
        self.walk
            .capture(self.capture, || Found::Str(text.to_owned()));
        Ok(Kind::Other)
    }

    fn visit_str<E>(self, text: &str) -> Result<Kind, E> {
        self.walk.facts.string_colons += colons(text, true);
        self.walk.facts.colon_quotes += colon_quotes(text, true);
        self.walk
            .capture(self.capture, || Found::Str(text.to_owned()));
        Ok(Kind::Other)
    }

    fn visit_unit<E>(self) -> Result<Kind, E> {
        self.walk.capture(self.capture, || Found::Null);
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
                dotted: 0,
                capture: Capture::NONE,
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
            let mut capture = Capture::NONE;
            let mut dotted = 0;
            if self.top {
                for (path, field) in walk.paths.iter().enumerate() {
                    if *key == *field.whole {
                        capture.whole |= 1 << path;
                    }
                }
            }
            let part = self.depth as usize;
            for path in bits(self.dotted) {
                let parts = &walk.paths[path].parts;
                if *key == *parts[part] {
                    if part + 1 == parts.len() {
                        capture.dotted |= 1 << path;
                    } else {
                        dotted |= 1 << path;
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
        self.facts.string_colons += colons(text, false);
        self.facts.colon_quotes += colon_quotes(text, false);
        Ok(Cow::Borrowed(text))
    }

    fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
        self.facts.key_occurrences += 1;
        self.facts.string_colons += colons(text, true);
        self.facts.colon_quotes += colon_quotes(text, true);
        Ok(Cow::Owned(text.to_owned()))
    }
}
