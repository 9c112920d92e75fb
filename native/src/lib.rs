//! Kafka Beat's native batch encoder: one call per poll batch, each record's line
//! byte-identical to `Encoder.encode(record).line` (handler/format/envelope.py), which stays the
//! reference. Where the exact Python answer is not certain here, the record is deferred: the
//! caller encodes it with the Python encoder. Deferring is always correct; it only costs time.
//!
//! The records are read with the GIL held (reading.rs), then encoded with it released. Given
//! the typed Parquet fields, the batch also keeps what each record's Parquet columns need
//! (kept.rs), decided in the same pass, so `Batch.columns` hands a run's Arrow buffers over in
//! one call (columns.rs).

mod analysis;
mod arrow;
mod batch;
mod columns;
mod compact;
mod escape;
mod event_time;
mod field;
mod kept;
mod line;
mod reading;
mod records;
mod typed;
mod walk;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use crate::analysis::{FieldPath, MAX_PATHS};
use crate::batch::{Batch, Slot, Taken};
use crate::columns::Columns;
use crate::field::Format;
use crate::kept::{Kept, TypedField};
use crate::line::{Config, write_line};
use crate::reading::Reader;
use crate::records::{Inputs, Kind};
use crate::typed::FieldType;

fn format(which: &str, name: &str) -> PyResult<Format> {
    Format::parse(name).ok_or_else(|| {
        PyValueError::new_err(format!(
            "{which} {name:?} is not a field format: expected one of auto, json, text, bytes"
        ))
    })
}

/// The paths the walk follows, each name once, then the time field's place among them
/// and the typed fields with theirs.
type Paths = (Vec<FieldPath>, Option<usize>, Vec<TypedField>);

fn paths(time_field: Option<&str>, fields: &[(String, String)]) -> PyResult<Paths> {
    let mut paths: Vec<FieldPath> = Vec::new();
    let mut place = |name: &str| {
        let path = FieldPath::new(name);
        paths
            .iter()
            .position(|known| *known == path)
            .unwrap_or_else(|| {
                paths.push(path);
                paths.len() - 1
            })
    };
    // The Python encoder reads no time field for an empty name either (`if time_field`).
    let time = time_field.filter(|field| !field.is_empty()).map(&mut place);
    let mut typed = Vec::with_capacity(fields.len());
    for (name, kind) in fields {
        let kind = FieldType::parse(kind).ok_or_else(|| {
            PyValueError::new_err(format!(
                "field {name:?} has the type {kind:?}: expected one of string, int64, float64, \
                 bool, timestamp"
            ))
        })?;
        typed.push(TypedField {
            name: name.clone(),
            kind,
            path: place(name),
        });
    }
    Ok((paths, time, typed))
}

/// Encodes `records` (a list of `kind` records) under the key and value formats and the event
/// time field, as `Encoder(key_format, value_format, time_field).encode` would; with `fields`
/// (the typed Parquet fields as `(name, type)`, possibly none) the batch keeps the records'
/// Parquet columns too, and defers those whose columns Python must make.
#[pyfunction]
#[pyo3(signature = (records, kind, key_format, value_format, time_field=None, fields=None))]
fn encode_batch(
    py: Python<'_>,
    records: &Bound<'_, PyList>,
    kind: &str,
    key_format: &str,
    value_format: &str,
    time_field: Option<&str>,
    fields: Option<Vec<(String, String)>>,
) -> PyResult<Batch> {
    let kind = Kind::parse(kind).ok_or_else(|| {
        PyValueError::new_err(format!(
            "kind {kind:?} is not a record kind: expected one of record, kafka-python, confluent"
        ))
    })?;
    let (paths, time, typed) = paths(time_field, fields.as_deref().unwrap_or_default())?;
    let config = Config {
        key_format: format("key_format", key_format)?,
        value_format: format("value_format", value_format)?,
        paths,
        time,
    };
    let reader = Reader::read(py, kind, records)?;
    let kept = fields.map(|_| Kept::new(typed, records.len()));
    let inputs = &reader.inputs;
    let (lines, slots, kept) = py.detach(|| encode(inputs, &config, kept));
    let kept = kept.map(|mut kept| {
        let (objects, headers) = reader.into_parts();
        kept.objects = objects;
        kept.headers = headers;
        kept
    });
    Ok(Batch::new(PyBytes::new(py, &lines).unbind(), slots, kept))
}

fn encode(
    inputs: &Inputs,
    config: &Config,
    mut kept: Option<Kept>,
) -> (Vec<u8>, Vec<Slot>, Option<Kept>) {
    // More distinct fields than a walk follows: Python takes every record.
    let walkable = config.paths.len() <= MAX_PATHS;
    let mut lines = Vec::with_capacity(
        inputs
            .records
            .iter()
            .map(|record| record.value.map_or(0, |value| value.bytes().len()) + 200)
            .sum(),
    );
    let mut slots = Vec::with_capacity(inputs.records.len());
    for record in &inputs.records {
        let start = lines.len();
        let mut written = walkable
            .then(|| write_line(record, &inputs.headers, config, &mut lines))
            .flatten();
        if let Some(kept) = &mut kept {
            let columned = written
                .as_ref()
                .is_some_and(|written| kept.push(record, written));
            if !columned {
                lines.truncate(start);
                written = None;
                kept.push_deferred(record);
            }
        }
        let stamp = written.map(|written| written.stamp);
        slots.push(Slot {
            start,
            end: lines.len(),
            deferred: stamp.is_none(),
            event_time: stamp.as_ref().map_or(0, |stamp| stamp.event_time),
            time_from_field: stamp.and_then(|stamp| stamp.time_from_field),
            offset: record.offset,
            bytes_in: record.bytes_in(&inputs.headers),
            tombstone: record.value.is_none(),
        });
    }
    (lines, slots, kept)
}

/// Kafka Beat's native batch encoder: each line byte-identical to `Encoder.encode(record).line`
/// (handler/format/envelope.py); a record it cannot encode exactly is deferred to that encoder.
#[pymodule]
fn kafka_beat_native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(encode_batch, module)?)?;
    module.add_class::<Batch>()?;
    module.add_class::<Taken>()?;
    module.add_class::<Columns>()?;
    Ok(())
}
