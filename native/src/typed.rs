//! A typed Parquet column's value (`KAFKA_BEAT_PARQUET_FIELDS`) from what the walk found at
//! its field, exactly as `JsonField(name).find(document)` then `parquet_fields.convert` (in
//! handler/format) make it, decided while encoding so a record Python would convert otherwise
//! is deferred before it can be in a run.
//!
//! The walk reads numbers as serde_json does, which is orjson's reading but for one literal:
//! `-0` is the int 0 to orjson and `-0.0` to serde_json, so a negative zero is unsure for
//! `int64` and `float64` (for `timestamp` both are 0 ms).

use crate::analysis::{Candidates, Found};
use crate::event_time::{Time, event_time};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    String,
    Int64,
    Float64,
    Bool,
    Timestamp,
}

impl FieldType {
    pub fn parse(name: &str) -> Option<FieldType> {
        Some(match name {
            "string" => FieldType::String,
            "int64" => FieldType::Int64,
            "float64" => FieldType::Float64,
            "bool" => FieldType::Bool,
            "timestamp" => FieldType::Timestamp,
            _ => return None,
        })
    }
}

/// A column's value for one record (a string borrowed from what the walk found).
#[derive(Debug, Clone, PartialEq)]
pub enum Typed<'a> {
    /// Missing, JSON null, or no JSON value at all: null, not counted.
    Null,
    /// Present but not of the type: null, and counted.
    Unfit,
    /// int64, or timestamp in milliseconds.
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(&'a str),
}

/// The value `find` returns: the first candidate there, whole name first (a JSON null there
/// is the answer too, not a reason to look further).
pub fn find(candidates: &Candidates) -> Option<&Found> {
    candidates[0].as_ref().or(candidates[1].as_ref())
}

/// `convert(field_type, found)`, or None where Python's answer is not certain here.
pub fn convert(kind: FieldType, found: Option<&Found>) -> Option<Typed<'_>> {
    let Some(found) = found else {
        return Some(Typed::Null);
    };
    let negative_zero =
        matches!(found, Found::Float(number) if *number == 0.0 && number.is_sign_negative());
    Some(match (kind, found) {
        (_, Found::Null) => Typed::Null,
        (FieldType::Int64 | FieldType::Float64, Found::Float(_)) if negative_zero => return None,
        (FieldType::String, Found::Str(text)) => Typed::Str(text),
        (FieldType::Int64, Found::Int(number)) => {
            i64::try_from(*number).map_or(Typed::Unfit, Typed::Int)
        }
        (FieldType::Float64, Found::Float(number)) => Typed::Float(*number),
        (FieldType::Float64, Found::Int(number)) => {
            // `float(value)` rounds to nearest, ties to even, as `as` does; `int()` of that
            // double is exact, as the saturating `as` is within i128 (ints here have 64 bits).
            let rounded = *number as f64;
            if rounded as i128 == *number {
                Typed::Float(rounded)
            } else {
                Typed::Unfit
            }
        }
        (FieldType::Bool, Found::Bool(value)) => Typed::Bool(*value),
        (FieldType::Timestamp, Found::Str(_) | Found::Int(_) | Found::Float(_)) => {
            match event_time(found) {
                Time::Ms(ms) => Typed::Int(ms),
                Time::Rejected | Time::Beyond => Typed::Unfit,
                Time::Unsure => return None,
            }
        }
        _ => Typed::Unfit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(kind: FieldType, found: &Found) -> Option<Typed<'_>> {
        convert(kind, Some(found))
    }

    #[test]
    fn strict_like_python() {
        use FieldType::*;
        assert_eq!(convert(Int64, None), Some(Typed::Null));
        assert_eq!(of(Bool, &Found::Null), Some(Typed::Null));
        assert_eq!(of(String, &Found::Int(1)), Some(Typed::Unfit));
        assert_eq!(of(Int64, &Found::Int(1 << 63)), Some(Typed::Unfit));
        assert_eq!(
            of(Int64, &Found::Int(-(1 << 63))),
            Some(Typed::Int(i64::MIN))
        );
        assert_eq!(of(Int64, &Found::Float(1.0)), Some(Typed::Unfit));
        assert_eq!(of(Int64, &Found::Bool(true)), Some(Typed::Unfit));
        assert_eq!(of(Float64, &Found::Int((1 << 53) + 1)), Some(Typed::Unfit));
        assert_eq!(
            of(Float64, &Found::Int(1 << 60)),
            Some(Typed::Float(2f64.powi(60)))
        );
        assert_eq!(of(Float64, &Found::Float(-0.0)), None);
        assert_eq!(of(Timestamp, &Found::Float(-0.0)), Some(Typed::Int(0)));
        assert_eq!(of(Timestamp, &Found::Bool(false)), Some(Typed::Unfit));
        assert_eq!(of(Timestamp, &Found::Str("n/a".into())), Some(Typed::Unfit));
        assert_eq!(of(Timestamp, &Found::Str("2026-11-25".into())), None);
        assert_eq!(of(Timestamp, &Found::Float(1e300)), Some(Typed::Unfit));
        assert_eq!(of(Bool, &Found::Other), Some(Typed::Unfit));
    }

    #[test]
    fn find_takes_the_first_there() {
        let whole_null = [Some(Found::Null), Some(Found::Int(1))];
        assert_eq!(find(&whole_null), Some(&Found::Null));
        assert_eq!(find(&[None, Some(Found::Int(1))]), Some(&Found::Int(1)));
        assert_eq!(find(&[None, None]), None);
    }
}
