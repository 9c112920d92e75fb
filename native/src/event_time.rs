//! `parse_event_time` (handler/format/envelope.py) on the value found at the time field:
//! epoch numbers by magnitude with Python's own arithmetic, and a strict subset of ISO-8601
//! (`YYYY-MM-DD[T ]HH:MM:SS[.,fraction][Z|±HH:MM|±HHMM]`) as Python 3.11's
//! `datetime.fromisoformat` reads it. Anything else is `Unsure`: the record is deferred.
//! The time field and the typed `timestamp` columns (typed.rs) both read it.

use crate::analysis::Found;

#[derive(Debug, PartialEq, Eq)]
pub enum Time {
    Ms(i64),
    /// Python's answer is None: not a time.
    Rejected,
    /// Python's answer is an int beyond 64 bits (a `timestamp` column does not hold it).
    Beyond,
    Unsure,
}

pub fn event_time(found: &Found) -> Time {
    match found {
        Found::Bool(_) | Found::Null | Found::Other => Time::Rejected,
        Found::Int(number) => from_int(*number),
        Found::Float(number) => from_float(*number),
        Found::Str(text) => from_text(text),
    }
}

/// Python compares an int with `1e11` (an exact double) exactly; `int(value / 1000)` is a
/// correctly rounded true division, then truncation.
fn from_int(number: i128) -> Time {
    let magnitude = number.unsigned_abs();
    let Ok(magnitude64) = u64::try_from(magnitude) else {
        return Time::Unsure; // orjson reads no int this large
    };
    let ms = if magnitude < 100_000_000_000 {
        number * 1000
    } else if magnitude < 100_000_000_000_000 {
        number
    } else {
        let divisor = if magnitude < 100_000_000_000_000_000 {
            1000
        } else {
            1_000_000
        };
        let quotient = divide(magnitude64, divisor).trunc() as i128;
        if number < 0 { -quotient } else { quotient }
    };
    i64::try_from(ms).map_or(Time::Beyond, Time::Ms)
}

/// The same branches in IEEE doubles, as Python computes them.
fn from_float(number: f64) -> Time {
    let magnitude = number.abs();
    let ms = if magnitude < 1e11 {
        number * 1000.0
    } else if magnitude < 1e14 {
        number
    } else if magnitude < 1e17 {
        number / 1000.0
    } else {
        number / 1_000_000.0
    }
    .trunc();
    // Python's `int()` of the double is exact at any size: it fits 64 bits from -2^63 up to,
    // not including, 2^63 (both powers of two, exact as doubles).
    if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&ms) {
        Time::Ms(ms as i64)
    } else {
        Time::Beyond
    }
}

/// `numerator / divisor` correctly rounded to a double (round half to even), as CPython
/// divides two ints; `divisor` at most 2^20.
pub fn divide(numerator: u64, divisor: u64) -> f64 {
    if numerator < 1 << 53 {
        return numerator as f64 / divisor as f64; // both exact: IEEE division rounds once
    }
    // 64 fraction bits: the quotient holds at least 97 bits, the remainder says the rest.
    let scaled = u128::from(numerator) << 64;
    let quotient = scaled / u128::from(divisor);
    let sticky = scaled % u128::from(divisor) != 0;
    let bits = 128 - quotient.leading_zeros();
    let drop = bits - 53;
    let mut mantissa = quotient >> drop;
    let rest = quotient & ((1u128 << drop) - 1);
    let half = 1u128 << (drop - 1);
    if rest > half || (rest == half && (sticky || mantissa & 1 == 1)) {
        mantissa += 1;
    }
    let exponent = i32::try_from(drop).expect("small") - 64;
    mantissa as f64 * f64::from_bits(((1023 + exponent) as u64) << 52)
}

fn from_text(text: &str) -> Time {
    match iso_micros(text.as_bytes()) {
        Some(micros) => {
            // `timestamp()` divides the exact microsecond count by 10**6 (an int division,
            // correctly rounded); `int(... * 1000)` multiplies that double and truncates.
            let seconds = divide(micros.unsigned_abs(), 1_000_000);
            let seconds = if micros < 0 { -seconds } else { seconds };
            Time::Ms((seconds * 1000.0).trunc() as i64)
        }
        // `fromisoformat` starts with the year's ASCII digits: without any, it refuses.
        None if !text.bytes().any(|byte| byte.is_ascii_digit()) => Time::Rejected,
        None => Time::Unsure,
    }
}

/// Microseconds since the epoch of a string in the subset, or None (not in it, or a field out
/// of range: Python refuses some of those and not others, so none is decided here).
fn iso_micros(text: &[u8]) -> Option<i64> {
    if text.len() < 19 {
        return None;
    }
    let year = digits(text, 0, 4)?;
    let month = digits(text, 5, 2)?;
    let day = digits(text, 8, 2)?;
    let hour = digits(text, 11, 2)?;
    let minute = digits(text, 14, 2)?;
    let second = digits(text, 17, 2)?;
    if text[4] != b'-'
        || text[7] != b'-'
        || !matches!(text[10], b'T' | b' ')
        || text[13] != b':'
        || text[16] != b':'
    {
        return None;
    }
    if !(1..=9999).contains(&year)
        || !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut at = 19;
    let mut micros = 0;
    if at < text.len() && matches!(text[at], b'.' | b',') {
        let start = at + 1;
        let mut end = start;
        while end < text.len() && text[end].is_ascii_digit() {
            end += 1;
        }
        if end == start || end - start > 9 {
            return None;
        }
        // Python keeps six digits and drops the rest (no rounding).
        for position in 0..6 {
            let digit = if start + position < end {
                i64::from(text[start + position] - b'0')
            } else {
                0
            };
            micros = micros * 10 + digit;
        }
        at = end;
    }
    let offset_seconds = match &text[at..] {
        [] => 0, // naive: taken as UTC
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (hours, minutes) = match rest {
                [_, _, b':', _, _] => (digits(rest, 0, 2)?, digits(rest, 3, 2)?),
                [_, _, _, _] => (digits(rest, 0, 2)?, digits(rest, 2, 2)?),
                _ => return None,
            };
            if hours > 23 || minutes > 59 {
                return None;
            }
            let seconds = hours * 3600 + minutes * 60;
            if *sign == b'-' { -seconds } else { seconds }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
    Some(seconds * 1_000_000 + micros)
}

fn digits(text: &[u8], start: usize, count: usize) -> Option<i64> {
    let mut number = 0;
    for &byte in text.get(start..start + count)? {
        if !byte.is_ascii_digit() {
            return None;
        }
        number = number * 10 + i64::from(byte - b'0');
    }
    Some(number)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs() {
        assert_eq!(from_int(1_764_000_000), Time::Ms(1_764_000_000_000));
        assert_eq!(from_int(1_764_000_000_123), Time::Ms(1_764_000_000_123));
        assert_eq!(from_int(1_764_000_000_123_456), Time::Ms(1_764_000_000_123));
        assert_eq!(
            from_int(1_764_000_000_123_456_789),
            Time::Ms(1_764_000_000_123)
        );
        assert_eq!(from_float(1_764_000_000.5), Time::Ms(1_764_000_000_500));
        assert_eq!(from_float(-9.223_372_036_854_776e24), Time::Ms(i64::MIN));
        assert_eq!(from_float(9.223_372_036_854_776e24), Time::Beyond);
        assert_eq!(from_float(1e300), Time::Beyond);
    }

    #[test]
    fn divides_like_python() {
        // int(2**63 / 1000) in Python: 9223372036854775.0 -> 9223372036854776 (double rounding)
        assert_eq!(divide(1 << 63, 1000), 9_223_372_036_854_776.0_f64);
        assert_eq!(divide(u64::MAX, 1_000_000), 18_446_744_073_709.55_f64);
    }

    #[test]
    fn iso() {
        assert_eq!(iso_micros(b"1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            iso_micros(b"1970-01-01 00:00:01.5+01:00"),
            Some(-3_598_500_000)
        );
        assert_eq!(
            iso_micros(b"2024-02-29T00:00:00"),
            Some(1_709_164_800_000_000)
        );
        assert_eq!(iso_micros(b"2026-02-29T00:00:00"), None);
        assert_eq!(from_text("n/a"), Time::Rejected);
        assert_eq!(from_text("2026-11-25"), Time::Unsure);
    }
}
