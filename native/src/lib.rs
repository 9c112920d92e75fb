//! Kafka Beat's native batch encoder: one call per poll batch, each record's line
//! byte-identical to `Encoder.encode(record).line` (handler/format/envelope.py), which stays the
//! reference. Where the exact Python answer is not certain here, the record is deferred: the
//! caller encodes it with the Python encoder. Deferring is always correct; it only costs time.
//!
//! The records are read with the GIL held (reading.rs), then encoded with it released.

mod analysis;
mod batch;
mod compact;
mod escape;
mod event_time;
mod field;
mod line;
mod reading;
mod records;
mod walk;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use crate::analysis::TimePath;
use crate::batch::{Batch, Slot, Taken};
use crate::field::Format;
use crate::line::{Config, write_line};
use crate::reading::Reader;
use crate::records::{Inputs, Kind};

fn format(which: &str, name: &str) -> PyResult<Format> {
    Format::parse(name).ok_or_else(|| {
        PyValueError::new_err(format!(
            "{which} {name:?} is not a field format: expected one of auto, json, text, bytes"
        ))
    })
}

/// Encodes `records` (a list of `kind` records) under the key and value formats and the event
/// time field, as `Encoder(key_format, value_format, time_field).encode` would.
#[pyfunction]
#[pyo3(signature = (records, kind, key_format, value_format, time_field=None))]
fn encode_batch(
    py: Python<'_>,
    records: &Bound<'_, PyList>,
    kind: &str,
    key_format: &str,
    value_format: &str,
    time_field: Option<&str>,
) -> PyResult<Batch> {
    let kind = Kind::parse(kind).ok_or_else(|| {
        PyValueError::new_err(format!(
            "kind {kind:?} is not a record kind: expected one of record, kafka-python, confluent"
        ))
    })?;
    let config = Config {
        key_format: format("key_format", key_format)?,
        value_format: format("value_format", value_format)?,
        // The Python encoder reads no time field for an empty name either (`if time_field`).
        time: time_field
            .filter(|field| !field.is_empty())
            .map(TimePath::new),
    };
    let reader = Reader::read(py, kind, records)?;
    let inputs = &reader.inputs;
    let (lines, slots) = py.detach(|| encode(inputs, &config));
    Ok(Batch::new(PyBytes::new(py, &lines).unbind(), slots))
}

fn encode(inputs: &Inputs, config: &Config) -> (Vec<u8>, Vec<Slot>) {
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
        let stamp = write_line(record, &inputs.headers, config, &mut lines);
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
    (lines, slots)
}

/// Kafka Beat's native batch encoder: each line byte-identical to `Encoder.encode(record).line`
/// (handler/format/envelope.py); a record it cannot encode exactly is deferred to that encoder.
#[pymodule]
fn kafka_beat_native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(encode_batch, module)?)?;
    module.add_class::<Batch>()?;
    module.add_class::<Taken>()?;
    Ok(())
}
