//! JSON strings, integers and base64 written byte for byte as orjson writes them: the line must
//! equal `orjson.dumps(line_dict)`, so escaping is orjson's, not serde_json's.
//!
//! orjson escapes `"` and `\`, writes `\b \f \n \r \t` short, every other byte below 0x20 as
//! `\u00XX` (lowercase hex), and leaves DEL and all non-ASCII UTF-8 as they are.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// For each byte: 0 = copied as is; otherwise the character after the backslash (`u` for the
/// six-byte `\u00XX` form).
const ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = b'u';
        byte += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `text` as a quoted JSON string.
pub fn write_str(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        let escape = ESCAPE[byte as usize];
        if escape == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[start..at]);
        if escape == b'u' {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(byte >> 4) as usize],
                HEX[(byte & 0xf) as usize],
            ]);
        } else {
            out.extend_from_slice(&[b'\\', escape]);
        }
        start = at + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// An integer in decimal, as orjson writes a Python int of 64 bits (from -2^63 to 2^64 - 1).
pub fn write_int(out: &mut Vec<u8>, number: i128) {
    let mut digits = [0u8; 21];
    let mut at = digits.len();
    let mut rest = u64::try_from(number.unsigned_abs()).expect("an int of 64 bits");
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if number < 0 {
        at -= 1;
        digits[at] = b'-';
    }
    out.extend_from_slice(&digits[at..]);
}

/// `data` as a quoted base64 string (standard alphabet, padded: Python's `b64encode`).
pub fn write_base64(out: &mut Vec<u8>, data: &[u8]) {
    out.push(b'"');
    let start = out.len();
    out.resize(start + data.len().div_ceil(3) * 4, 0);
    let written = STANDARD
        .encode_slice(data, &mut out[start..])
        .expect("the buffer is sized for the padded encoding");
    out.truncate(start + written);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_orjson() {
        let mut out = Vec::new();
        write_str(&mut out, "a\"b\\c\u{1}\u{8}\u{c}\n\r\t\u{1f}\u{7f}é");
        assert_eq!(
            out,
            "\"a\\\"b\\\\c\\u0001\\b\\f\\n\\r\\t\\u001f\u{7f}é\"".as_bytes()
        );
    }

    #[test]
    fn writes_bounds() {
        let mut out = Vec::new();
        write_int(&mut out, i64::MIN as i128);
        out.push(b' ');
        write_int(&mut out, u64::MAX as i128);
        out.push(b' ');
        write_int(&mut out, 0);
        assert_eq!(out, b"-9223372036854775808 18446744073709551615 0");
    }

    #[test]
    fn base64_pads() {
        let mut out = Vec::new();
        write_base64(&mut out, b"ab");
        write_base64(&mut out, b"");
        assert_eq!(out, b"\"YWI=\"\"\"");
    }
}
