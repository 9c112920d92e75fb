//! A key or value under its format, exactly as `_encode_field` in handler/format/envelope.py
//! encodes it, or None (defer) wherever the exact Python answer is not certain here.
//!
//! The order of the branches is Python's: the first-byte test, orjson's parse, `_embeddable`'s
//! two branches, then the strict parser. Which text orjson accepts is what serde_json accepts
//! (the walk in analysis.rs); what Python does after its strict parser is only followed where
//! it cannot go wrong: a duplicate key is always refused there (the text kept as `utf8`), and a
//! document whose numbers all pass its digit rule comes back as orjson writes it (compact.rs).

use memchr::memmem;

use crate::analysis::{Facts, Failure, FieldPath, Top, analyze};
use crate::compact::compact;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Auto,
    Json,
    Text,
    Bytes,
}

impl Format {
    pub fn parse(name: &str) -> Option<Format> {
        Some(match name {
            "auto" => Format::Auto,
            "json" => Format::Json,
            "text" => Format::Text,
            "bytes" => Format::Bytes,
            _ => return None,
        })
    }
}

#[derive(Debug, PartialEq)]
pub enum Field<'a> {
    /// JSON embedded as it came.
    Json(&'a [u8]),
    /// JSON written again (compact).
    Compact(Vec<u8>),
    Utf8(&'a str),
    Base64(&'a [u8]),
}

/// The field and, when it is stored as JSON, what its walk found (the named fields read it).
pub type Encoded<'a> = (Field<'a>, Option<Facts>);

/// `_JSON_START`: the bytes a JSON text can start with.
fn json_start(byte: u8) -> bool {
    matches!(
        byte,
        b'{' | b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n' | b' ' | b'\t' | b'\r' | b'\n'
    )
}

/// `_raw`: UTF-8 text if it is, else base64.
fn raw(data: &[u8]) -> Field<'_> {
    match std::str::from_utf8(data) {
        Ok(text) => Field::Utf8(text),
        Err(_) => Field::Base64(data),
    }
}

pub fn encode_field<'a>(
    data: &'a [u8],
    format: Format,
    paths: &[FieldPath],
) -> Option<Encoded<'a>> {
    match format {
        Format::Bytes => return Some((Field::Base64(data), None)),
        Format::Text => {
            // Invalid UTF-8 is a problem Python writes into the line.
            return std::str::from_utf8(data)
                .ok()
                .map(|text| (Field::Utf8(text), None));
        }
        Format::Auto if data.first().is_none_or(|&byte| !json_start(byte)) => {
            return Some((raw(data), None));
        }
        Format::Auto | Format::Json => {}
    }
    match analyze(data, paths) {
        Ok(facts) => embeddable(data, facts),
        Err(Failure::Rejected) if format == Format::Auto => Some((raw(data), None)),
        // Under `json` Python tells an invalid text from a valid one kept as a string.
        Err(_) => None,
    }
}

/// `_embeddable`, with the strict parser's answer where it returns None.
fn embeddable(data: &[u8], facts: Facts) -> Option<Encoded<'_>> {
    let one_line = memchr::memchr2(b'\n', b'\r', data).is_none();
    // Python: `b"\\" in data and b"\\u" in data`.
    let escapes = memmem::find(data, b"\\u").is_some();
    let key_colons = || {
        if escapes {
            key_colons(data)
        } else {
            let counted = facts.key_occurrences + facts.colon_quotes;
            debug_assert_eq!(counted, key_colons(data));
            counted
        }
    };
    if facts.top == Top::Object && facts.top_flat {
        if facts.top_neg_zero {
            return None; // `-0` (an int: this branch) or `-0.0` (a float: the next)?
        }
        if key_colons() != facts.top_keys {
            return strict(data, facts);
        }
        return written(data, facts, one_line);
    }
    if long_number(data) {
        return strict(data, facts);
    }
    if facts.top != Top::Scalar
        && (escapes || facts.duplicate || facts.keys + facts.string_colons != key_colons())
    {
        // A duplicate always lands here: every key of the text has its `":`, orjson writes
        // one per distinct key (the walk counts only those when there is none).
        return strict(data, facts);
    }
    written(data, facts, one_line)
}

/// What `_embeddable` returns: the text itself on one line, else orjson's compact form.
fn written(data: &[u8], facts: Facts, one_line: bool) -> Option<Encoded<'_>> {
    if facts.duplicate {
        return None; // orjson kept the last value (never reached: see `embeddable`)
    }
    if one_line {
        return Some((Field::Json(data), Some(facts)));
    }
    Some((Field::Compact(compact(data)?.text), Some(facts)))
}

/// The strict parser on a text orjson accepted: it refuses duplicates (the text is kept as
/// `utf8`), and numbers beyond 64 bits or with more than 17 digits (where that cannot be ruled
/// out, the record is deferred); anything else it takes as orjson did, written compact.
fn strict(data: &[u8], facts: Facts) -> Option<Encoded<'_>> {
    if facts.duplicate {
        return std::str::from_utf8(data)
            .ok()
            .map(|text| (Field::Utf8(text), None));
    }
    let written = compact(data)?;
    if facts.float {
        let unfit = unfit_runs(data);
        // Without `\u` escapes a string's runs are the same in the text and decoded (every
        // other escape is a backslash and a letter or sign, decoded to a non-digit).
        let in_strings = if memmem::find(data, b"\\u").is_none() {
            written.unfit_runs_in_strings
        } else {
            0
        };
        // Ints of 18 digits or more are each one unfit run, and the strict parser takes them.
        if unfit > in_strings + facts.long_ints {
            return None;
        }
    }
    Some((Field::Compact(written.text), Some(facts)))
}

/// `_key_colons`: `":` once whitespace is gone, i.e. quotes whose next non-whitespace byte is
/// a colon.
fn key_colons(data: &[u8]) -> usize {
    let mut count = 0;
    for at in memchr::memchr_iter(b'"', data) {
        let next = data[at + 1..]
            .iter()
            .find(|&&byte| !matches!(byte, b' ' | b'\t' | b'\r' | b'\n'));
        if next == Some(&b':') {
            count += 1;
        }
    }
    count
}

/// `_long_number`: a run of 18 or more bytes from `0123456789.`. Any 18 consecutive positions
/// hold exactly one that is 17 modulo 18, so only those bytes are probed, and a run measured
/// only around a probe that is numeric.
fn long_number(data: &[u8]) -> bool {
    const RUN: usize = 18;
    let numeric = |byte: u8| byte.is_ascii_digit() || byte == b'.';
    let mut probe = RUN - 1;
    while probe < data.len() {
        if numeric(data[probe]) {
            let before = data[..probe]
                .iter()
                .rev()
                .take_while(|&&byte| numeric(byte))
                .count();
            let after = data[probe + 1..]
                .iter()
                .take_while(|&&byte| numeric(byte))
                .count();
            if before + 1 + after >= RUN {
                return true;
            }
        }
        probe += RUN;
    }
    false
}

/// Runs of 18 or more bytes from `0123456789.` that fail `_parse_float`'s rule (at most 17
/// significant digits). The rule holds for every float literal of a text where no run but
/// those in its strings fails: a float's digits before its exponent are such a run whole (a
/// `-`, `e`, `E`, separator or space bounds it), and a shorter run has at most 17 digits. An
/// int beyond 64 bits (a float to serde_json) has 20 digits: it fails too.
pub fn unfit_runs(data: &[u8]) -> usize {
    let numeric = |byte: &u8| byte.is_ascii_digit() || *byte == b'.';
    data.split(|byte| !numeric(byte))
        .filter(|run| {
            let digits = run.iter().filter(|&&byte| byte != b'.');
            run.len() >= 18 && digits.skip_while(|&&byte| byte == b'0').count() > 17
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(data: &[u8], format: Format) -> Option<Field<'_>> {
        encode_field(data, format, &[]).map(|(field, _)| field)
    }

    #[test]
    fn common_cases() {
        let line = br#"{"a":1,"b":"x"}"#;
        assert_eq!(field(line, Format::Auto), Some(Field::Json(line)));
        assert_eq!(field(b"host-1", Format::Auto), Some(Field::Utf8("host-1")));
        assert_eq!(field(b"", Format::Auto), Some(Field::Utf8("")));
        assert_eq!(field(b"\xff", Format::Auto), Some(Field::Base64(b"\xff")));
        assert_eq!(
            field(b"2026-12-01 10:00 sshd", Format::Auto),
            Some(Field::Utf8("2026-12-01 10:00 sshd"))
        );
        assert_eq!(field(b"{", Format::Json), None);
        assert_eq!(field(b"\xff", Format::Text), None);
    }

    #[test]
    fn written_again() {
        assert_eq!(
            field(b"{\"a\":\n1}", Format::Auto),
            Some(Field::Compact(br#"{"a":1}"#.to_vec()))
        );
        assert_eq!(
            field(br#"{"a":1,"a":2}"#, Format::Auto),
            Some(Field::Utf8(r#"{"a":1,"a":2}"#))
        );
        assert_eq!(
            field(b"[1.5,\n2]", Format::Auto),
            Some(Field::Compact(b"[1.5,2]".to_vec()))
        );
        assert_eq!(field(b"[-0,\n2]", Format::Auto), None);
        let precise = br#"{"a":[0.30000000000000004]}"#; // a long run, 17 digits: strict takes it
        assert_eq!(
            field(precise, Format::Auto),
            Some(Field::Compact(precise.to_vec()))
        );
        assert_eq!(field(br#"[0.300000000000000044]"#, Format::Auto), None);
        let id = br#"{"id":"123456789012345678901","f":[1.5]}"#; // the unfit run is a string's
        assert_eq!(field(id, Format::Auto), Some(Field::Compact(id.to_vec())));
        let escaped = br#"{"id":"\u0031234567890123456789","f":[1.5]}"#;
        assert_eq!(field(escaped, Format::Auto), None);
    }

    #[test]
    fn key_colons_from_the_walk() {
        let texts: [&[u8]; 6] = [
            br#"{"a" : ":x", "b":"  :", "c\" :":1}"#,
            br#"[" \" : \":", {"k":{" ":"\"\""}}]"#,
            br#"{"":"","  ":" ","\\":"\\\":"}"#,
            b"{\"a\"\n:\n\"b\" }",
            br#"":""#,
            br#"{"x":[":",{"\" :":": "}]}"#,
        ];
        for text in texts {
            let facts = analyze(text, &[]).unwrap();
            assert_eq!(facts.key_occurrences + facts.colon_quotes, key_colons(text));
        }
    }

    #[test]
    fn scans() {
        assert_eq!(key_colons(b"{\"a\" :1, \"b\\\" :\"\n:2}"), 3);
        assert!(long_number(b"[123456789.12345678]"));
        assert!(!long_number(b"[12345678901234567]"));
    }
}
