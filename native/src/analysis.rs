//! What the Python encoder's decision reads from the value orjson parsed (`_embeddable` in
//! handler/format/envelope.py), collected by one serde_json walk over the text (walk.rs): the
//! top-level kind, whether a top-level object is flat, key counts and duplicates, the `":`
//! inside decoded strings (what `orjson.dumps(parsed).count(b'":')` counts beyond the keys),
//! floats, and the values at the named fields' paths (the time field's, the typed Parquet
//! columns').
//!
//! A parse error answers whether orjson surely refuses the text too: syntax errors, yes; a
//! number out of range, a nesting deeper than `MAX_DEPTH` or anything else, unsure (deferred).

use crate::walk::walk;

/// Deepest nesting walked: orjson writes at most 254 levels back, so a deeper document takes
/// another path in Python; well below that, and well below what the stack holds.
pub const MAX_DEPTH: u32 = 200;

/// The most field paths one walk follows (a bit each in its masks).
pub const MAX_PATHS: usize = 64;

/// A value found at a field's path.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    /// JSON null: `JsonField.find` returns None, as for a missing field.
    Null,
    /// An object or an array.
    Other,
}

/// A field as `JsonField` names it (handler/format/json_fields.py): the whole name as one
/// top-level key, then the dotted path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    pub whole: String,
    pub parts: Vec<String>,
}

impl FieldPath {
    pub fn new(field: &str) -> Self {
        FieldPath {
            whole: field.to_owned(),
            parts: field.split('.').map(str::to_owned).collect(),
        }
    }
}

/// What one path found: the value at the whole name and at the dotted path (None: not there;
/// a name without a dot has no dotted path, as in `JsonField`).
pub type Candidates = [Option<Found>; 2];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Top {
    Object,
    Array,
    #[default]
    Scalar,
}

#[derive(Debug, Default)]
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
    /// Per path walked, in the order given.
    pub found: Vec<Candidates>,
}

/// Why a text was not walked.
#[derive(Debug, PartialEq, Eq)]
pub enum Failure {
    /// A syntax error: orjson refuses the text too.
    Rejected,
    /// Anything else (number out of range, too deep): only Python can say.
    Unsure,
}

/// The facts of `data`, with the values at `paths` (at most `MAX_PATHS`).
pub fn analyze(data: &[u8], paths: &[FieldPath]) -> Result<Facts, Failure> {
    walk(data, paths).map_err(|error| failure(&error))
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
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_log_line() {
        let facts = analyze(br#"{"a":1,"b":"x","c":null,"d":true}"#, &[]).unwrap();
        assert_eq!(facts.top, Top::Object);
        assert!(facts.top_flat && !facts.duplicate && !facts.float);
        assert_eq!((facts.top_keys, facts.keys, facts.string_colons), (4, 4, 0));
    }

    #[test]
    fn duplicates_and_colons() {
        let facts = analyze(br#"{"a":{"k\":":"v\":\":"},"a":2}"#, &[]).unwrap();
        assert!(facts.duplicate && !facts.top_flat);
        assert_eq!((facts.top_keys, facts.keys, facts.string_colons), (1, 2, 3));
    }

    #[test]
    fn leading_colons() {
        // orjson writes `[":",{":k":":v"}]`: four `":`, one of them the key's.
        let facts = analyze(br#"[ ":", {":k" : ":v"} ]"#, &[]).unwrap();
        assert_eq!((facts.keys, facts.string_colons), (1, 3));
    }

    #[test]
    fn failures() {
        assert_eq!(analyze(b"{", &[]).unwrap_err(), Failure::Rejected);
        assert_eq!(
            analyze(b"2026-12-01 x", &[]).unwrap_err(),
            Failure::Rejected
        );
        assert_eq!(analyze(b"1e400", &[]).unwrap_err(), Failure::Unsure);
        let deep = [vec![b'['; 201], vec![b']'; 201]].concat();
        assert_eq!(analyze(&deep, &[]).unwrap_err(), Failure::Unsure);
        let fine = [vec![b'['; 200], vec![b']'; 200]].concat();
        assert!(analyze(&fine, &[]).is_ok());
    }

    #[test]
    fn paths() {
        let paths = ["event.created", "event.kind", "a", "event"].map(FieldPath::new);
        let facts = analyze(
            br#"{"event.created":"x","event":{"created":5,"kind":null},"a":[true]}"#,
            &paths,
        )
        .unwrap();
        assert_eq!(
            facts.found,
            [
                [Some(Found::Str("x".into())), Some(Found::Int(5))],
                [None, Some(Found::Null)],
                [Some(Found::Other), None],
                [Some(Found::Other), None],
            ]
        );
        let nested = analyze(br#"[{"a":1}]"#, &paths).unwrap();
        assert_eq!(
            nested.found,
            [[None, None], [None, None], [None, None], [None, None]]
        );
    }
}
