//! `Batch.columns`: the Arrow buffers of every column of a Parquet object (parquet_schema.py)
//! for a run of records, built from what the batch kept (kept.rs) with the GIL held, so Python
//! makes the record batch with `pa.Array.from_buffers` and no per-record work. The values are
//! those the Python rows (handler/format/parquet_rows.py, `RowBuffer._row`) append.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use crate::arrow::{binary, bits, fixed, offsets, validity};
use crate::batch::Slot;
use crate::kept::{Kept, State, TypedColumn};
use crate::records::{Buf, Header};
use crate::typed::FieldType;

/// A run's columns: fixed-width ones as bytes, the others as the buffers `from_buffers` takes,
/// in its order (a validity bitmap first, None where every value is valid).
#[pyclass(frozen, get_all, module = "kafka_beat_native")]
pub struct Columns {
    count: usize,
    /// int32 per record.
    partition: Py<PyBytes>,
    /// int64 per record.
    offset: Py<PyBytes>,
    /// int64 per record: the Kafka timestamp in ms, -1 when unset.
    timestamp: Py<PyBytes>,
    /// uint8 per record: 0 `create`, 1 `log_append`.
    timestamp_type: Py<PyBytes>,
    /// (validity, offsets, data): binary.
    key: Py<PyTuple>,
    /// (validity, offsets, data): binary, null for a tombstone and where value_json holds it.
    value: Py<PyTuple>,
    /// (validity, offsets, data): string, null unless the value is stored as JSON.
    value_json: Py<PyTuple>,
    /// int32 offsets (count + 1) into the run's headers, flattened.
    header_offsets: Py<PyBytes>,
    header_count: usize,
    /// (None, offsets, data): string.
    header_keys: Py<PyTuple>,
    /// (validity, offsets, data): binary.
    header_values: Py<PyTuple>,
    /// Per typed field, in order: (validity, data), or (validity, offsets, data) for a string.
    typed: Py<PyList>,
    /// Per typed field: values present that did not fit the type (the column is null there).
    unfit: Vec<u64>,
}

#[pymethods]
impl Columns {
    fn __repr__(&self) -> String {
        format!(
            "Columns(count={}, header_count={}, unfit={:?})",
            self.count, self.header_count, self.unfit
        )
    }
}

/// The columns of records `start..stop`, none of them deferred (the caller checked).
pub fn columns(
    py: Python<'_>,
    kept: &Kept,
    slots: &[Slot],
    lines: &[u8],
    start: usize,
    stop: usize,
) -> PyResult<Columns> {
    let count = stop - start;
    let rows = &kept.rows[start..stop];
    let slots = &slots[start..stop];
    let headers: Vec<&Header> = rows
        .iter()
        .flat_map(|row| &kept.headers[row.headers.clone()])
        .collect();
    let typed = kept
        .typed
        .iter()
        .map(|column| typed_buffers(py, column, start, count))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(Columns {
        count,
        partition: fixed(py, count, |at| rows[at].partition.to_le_bytes())?.unbind(),
        offset: fixed(py, count, |at| slots[at].offset.to_le_bytes())?.unbind(),
        timestamp: fixed(py, count, |at| rows[at].timestamp.to_le_bytes())?.unbind(),
        timestamp_type: fixed(py, count, |at| [rows[at].timestamp_type])?.unbind(),
        key: binary(py, count, |at| rows[at].key.as_ref().map(Buf::bytes))?.unbind(),
        value: binary(py, count, |at| rows[at].value.as_ref().map(Buf::bytes))?.unbind(),
        value_json: binary(py, count, |at| {
            rows[at].value_json.clone().map(|range| &lines[range])
        })?
        .unbind(),
        header_offsets: offsets(py, count, |at| rows[at].headers.len())?.unbind(),
        header_count: headers.len(),
        header_keys: binary(py, headers.len(), |at| Some(headers[at].name.bytes()))?.unbind(),
        header_values: binary(py, headers.len(), |at| {
            headers[at].value.as_ref().map(Buf::bytes)
        })?
        .unbind(),
        typed: PyList::new(py, typed)?.unbind(),
        unfit: kept
            .typed
            .iter()
            .map(|column| {
                column.states[start..stop]
                    .iter()
                    .filter(|&&state| state == State::Unfit)
                    .count() as u64
            })
            .collect(),
    })
}

fn typed_buffers<'py>(
    py: Python<'py>,
    column: &TypedColumn,
    start: usize,
    count: usize,
) -> PyResult<Bound<'py, PyTuple>> {
    if column.kind == FieldType::String {
        return binary(py, count, |at| column.text(start + at));
    }
    let states = &column.states[start..start + count];
    let numbers = &column.numbers[start..start + count];
    let valid = validity(py, count, |at| states[at] == State::Value)?;
    let data = if column.kind == FieldType::Bool {
        bits(py, count, |at| numbers[at] != 0)?
    } else {
        fixed(py, count, |at| numbers[at].to_le_bytes())?
    };
    (valid, data).into_pyobject(py)
}
