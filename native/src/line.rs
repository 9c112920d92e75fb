//! One record's line, as `Encoder.encode` builds it: the fields in the dict's order, written as
//! `orjson.dumps(line, option=OPT_APPEND_NEWLINE)` writes them, and its event time.

use std::ops::Range;

use crate::analysis::{Facts, FieldPath};
use crate::escape::{write_base64, write_int, write_str};
use crate::event_time::{Time, event_time};
use crate::field::{Field, Format, encode_field};
use crate::records::{Header, RecordIn, TimestampType};

pub struct Config {
    pub key_format: Format,
    pub value_format: Format,
    /// The fields the value's walk finds (at most `MAX_PATHS`, each once).
    pub paths: Vec<FieldPath>,
    /// The time field's index in `paths`.
    pub time: Option<usize>,
}

/// The event time of an encoded record.
pub struct Stamp {
    pub event_time: i64,
    pub time_from_field: Option<bool>,
}

/// What the encoding of one record tells beyond its line.
pub struct Written {
    pub stamp: Stamp,
    /// Where the line holds the value's JSON text (`Encoded.value_json`), when stored as JSON.
    pub value_json: Option<Range<usize>>,
    /// That text is the value's bytes exactly (embedded as it came, or written again the same).
    pub value_json_is_value: bool,
    /// What the value's walk found, when stored as JSON.
    pub facts: Option<Facts>,
}

/// Appends the record's line to `out`, or None (nothing appended) when it is deferred.
pub fn write_line(
    record: &RecordIn,
    headers: &[Header],
    config: &Config,
    out: &mut Vec<u8>,
) -> Option<Written> {
    if record.defer {
        return None;
    }
    let key = match &record.key {
        Some(key) => Some(encode_field(key.bytes(), config.key_format, &[])?.0),
        None => None,
    };
    let (value, facts) = match &record.value {
        Some(value) => {
            let (field, facts) = encode_field(value.bytes(), config.value_format, &config.paths)?;
            (Some(field), facts)
        }
        None => (None, None),
    };
    let stamp = stamp(record, config, facts.as_ref())?;

    out.extend_from_slice(b"{\"topic\":");
    write_str(out, record.topic.text());
    out.extend_from_slice(b",\"partition\":");
    write_int(out, record.partition.into());
    out.extend_from_slice(b",\"offset\":");
    write_int(out, record.offset.into());
    out.extend_from_slice(b",\"timestamp\":");
    write_int(out, record.timestamp.into());
    out.extend_from_slice(b",\"timestamp_type\":");
    match record.timestamp_type {
        TimestampType::Create => out.extend_from_slice(b"\"create\""),
        TimestampType::LogAppend => out.extend_from_slice(b"\"log_append\""),
        TimestampType::Named(name) => write_str(out, name.text()),
    }
    out.extend_from_slice(b",\"key\":");
    let key_encoding = write_field(out, key.as_ref());
    out.extend_from_slice(b",\"key_encoding\":");
    out.extend_from_slice(key_encoding);
    out.extend_from_slice(b",\"value\":");
    let value_start = out.len();
    let value_encoding = write_field(out, value.as_ref());
    let value_json =
        matches!(value, Some(Field::Json(_) | Field::Compact(_))).then(|| value_start..out.len());
    let value_json_is_value = match (&value, &record.value) {
        (Some(Field::Json(_)), _) => true,
        (Some(Field::Compact(text)), Some(data)) => text.as_slice() == data.bytes(),
        _ => false,
    };
    out.extend_from_slice(b",\"value_encoding\":");
    out.extend_from_slice(value_encoding);
    out.extend_from_slice(b",\"headers\":[");
    for (at, header) in headers[record.headers.clone()].iter().enumerate() {
        if at > 0 {
            out.push(b',');
        }
        out.push(b'[');
        write_str(out, header.name.text());
        out.push(b',');
        match &header.value {
            None => out.extend_from_slice(b"null,null"),
            Some(value) => {
                let encoding = match std::str::from_utf8(value.bytes()) {
                    Ok(text) => {
                        write_str(out, text);
                        b"\"utf8\"".as_slice()
                    }
                    Err(_) => {
                        write_base64(out, value.bytes());
                        b"\"base64\"".as_slice()
                    }
                };
                out.push(b',');
                out.extend_from_slice(encoding);
            }
        }
        out.push(b']');
    }
    out.extend_from_slice(b"]}\n");
    Some(Written {
        stamp,
        value_json,
        value_json_is_value,
        facts,
    })
}

/// Writes the field's JSON form; returns its encoding marker as JSON.
fn write_field(out: &mut Vec<u8>, field: Option<&Field>) -> &'static [u8] {
    match field {
        None => {
            out.extend_from_slice(b"null");
            b"null"
        }
        Some(Field::Json(text)) => {
            out.extend_from_slice(text);
            b"\"json\""
        }
        Some(Field::Compact(text)) => {
            out.extend_from_slice(text);
            b"\"json\""
        }
        Some(Field::Utf8(text)) => {
            write_str(out, text);
            b"\"utf8\""
        }
        Some(Field::Base64(data)) => {
            write_base64(out, data);
            b"\"base64\""
        }
    }
}

/// The event time: the first time-field path (whole name, then dotted) that holds a time,
/// else the Kafka timestamp; `facts` only where the value is stored as JSON.
fn stamp(record: &RecordIn, config: &Config, facts: Option<&Facts>) -> Option<Stamp> {
    let Some(time) = config.time else {
        return Some(Stamp {
            event_time: record.timestamp,
            time_from_field: None,
        });
    };
    if let Some(facts) = facts {
        for found in facts.found[time].iter().flatten() {
            match event_time(found) {
                Time::Ms(ms) => {
                    return Some(Stamp {
                        event_time: ms,
                        time_from_field: Some(true),
                    });
                }
                Time::Rejected => {}
                Time::Beyond | Time::Unsure => return None,
            }
        }
    }
    Some(Stamp {
        event_time: record.timestamp,
        time_from_field: Some(false),
    })
}
