//! What a batch encoded for Parquet keeps of each record, so `Batch.columns` builds a run's
//! Arrow buffers later without the records and without parsing anything again: the numbers,
//! references to the key, value and header buffers (the Python objects stay alive with the
//! batch), where the line holds `value_json`, and each typed column's converted value.
//!
//! Here too a record Python would treat otherwise is refused (the caller defers it): a
//! partition beyond 32 bits (the Python rows' `array("i")` refuses it), a `Record` whose
//! `timestamp_type` is neither `create` nor `log_append` (the column is a code), a typed value
//! whose conversion is not certain (typed.rs).

use std::ops::Range;

use pyo3::prelude::*;

use crate::line::Written;
use crate::records::{Buf, Header, RecordIn, TimestampType};
use crate::typed::{FieldType, Typed, convert, find};

/// A typed column as `encode_batch` was given it, and where the walk finds its field.
pub struct TypedField {
    pub name: String,
    pub kind: FieldType,
    /// Index into the walk's paths (`Config.paths`).
    pub path: usize,
}

/// One record's columns (a deferred record's are all empty).
pub struct Row {
    pub partition: i32,
    /// 0 `create`, 1 `log_append`.
    pub timestamp_type: u8,
    pub timestamp: i64,
    pub key: Option<Buf>,
    /// The `value` column: None for a tombstone and where `value_json` holds these bytes.
    pub value: Option<Buf>,
    /// Where the batch's lines hold the `value_json` column's text.
    pub value_json: Option<Range<usize>>,
    /// The record's headers in `Kept.headers`.
    pub headers: Range<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Null,
    Value,
    Unfit,
}

/// One typed column over the batch: a state per record, and its values (numbers as 64 bits:
/// an int64 or timestamp, a float64's bits, a bool as 0 or 1; strings end to end in `text`).
pub struct TypedColumn {
    pub kind: FieldType,
    pub states: Vec<State>,
    pub numbers: Vec<u64>,
    pub text: Vec<u8>,
    /// Per record, where its string ends in `text` (it starts where the previous one ends).
    pub text_ends: Vec<usize>,
}

impl TypedColumn {
    fn push(&mut self, typed: &Typed) {
        let (state, number) = match typed {
            Typed::Null => (State::Null, 0),
            Typed::Unfit => (State::Unfit, 0),
            Typed::Int(number) => (State::Value, *number as u64),
            Typed::Float(number) => (State::Value, number.to_bits()),
            Typed::Bool(value) => (State::Value, u64::from(*value)),
            Typed::Str(text) => {
                self.text.extend_from_slice(text.as_bytes());
                (State::Value, 0)
            }
        };
        self.states.push(state);
        if self.kind == FieldType::String {
            self.text_ends.push(self.text.len());
        } else {
            self.numbers.push(number);
        }
    }

    /// Takes back the last record's value.
    fn pop(&mut self) {
        self.states.pop();
        if self.kind == FieldType::String {
            self.text_ends.pop();
            self.text
                .truncate(self.text_ends.last().copied().unwrap_or(0));
        } else {
            self.numbers.pop();
        }
    }

    /// Record `index`'s string, if it has one.
    pub fn text(&self, index: usize) -> Option<&[u8]> {
        let start = index
            .checked_sub(1)
            .map_or(0, |before| self.text_ends[before]);
        (self.states[index] == State::Value).then(|| &self.text[start..self.text_ends[index]])
    }
}

pub struct Kept {
    pub fields: Vec<TypedField>,
    pub rows: Vec<Row>,
    pub typed: Vec<TypedColumn>,
    /// Every header of the batch (`Inputs.headers`), set once encoded.
    pub headers: Vec<Header>,
    /// The Python objects the `Buf`s point into, set once encoded.
    pub objects: Vec<Py<PyAny>>,
}

// SAFETY: the `Buf`s point into immutable Python objects that `objects` keeps alive for as
// long as this lives; reading them needs no GIL.
unsafe impl Send for Kept {}
unsafe impl Sync for Kept {}

impl Kept {
    pub fn new(fields: Vec<TypedField>, records: usize) -> Self {
        let typed = fields
            .iter()
            .map(|field| TypedColumn {
                kind: field.kind,
                states: Vec::with_capacity(records),
                numbers: Vec::with_capacity(if field.kind == FieldType::String {
                    0
                } else {
                    records
                }),
                text: Vec::new(),
                text_ends: Vec::with_capacity(if field.kind == FieldType::String {
                    records
                } else {
                    0
                }),
            })
            .collect();
        Kept {
            fields,
            rows: Vec::with_capacity(records),
            typed,
            headers: Vec::new(),
            objects: Vec::new(),
        }
    }

    /// Keeps an encoded record's columns; false (nothing kept) when Python must take it.
    pub fn push(&mut self, record: &RecordIn, written: &Written) -> bool {
        let timestamp_type = match record.timestamp_type {
            TimestampType::Create => 0,
            TimestampType::LogAppend => 1,
            TimestampType::Named(name) => match name.bytes() {
                b"create" => 0,
                b"log_append" => 1,
                _ => return false,
            },
        };
        let Ok(partition) = i32::try_from(record.partition) else {
            return false;
        };
        for (at, field) in self.fields.iter().enumerate() {
            let found = written
                .facts
                .as_ref()
                .and_then(|facts| find(&facts.found[field.path]));
            let Some(typed) = convert(field.kind, found) else {
                for column in &mut self.typed[..at] {
                    column.pop();
                }
                return false;
            };
            self.typed[at].push(&typed);
        }
        self.rows.push(Row {
            partition,
            timestamp_type,
            timestamp: record.timestamp,
            key: record.key,
            value: record.value.filter(|_| !written.value_json_is_value),
            value_json: written.value_json.clone(),
            headers: record.headers.clone(),
        });
        true
    }

    /// Keeps a deferred record's place (`Batch.columns` refuses it).
    pub fn push_deferred(&mut self, record: &RecordIn) {
        for column in &mut self.typed {
            column.push(&Typed::Null);
        }
        self.rows.push(Row {
            partition: 0,
            timestamp_type: 0,
            timestamp: 0,
            key: None,
            value: None,
            value_json: None,
            headers: record.headers.clone(),
        });
    }
}
