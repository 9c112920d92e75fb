//! The encoded batch handed back to Python, and `take`: the hot loop of
//! `Intake._take_run` (handler/engine/intake.py) over the records encoded here, so a run of
//! records that only needs appending costs one call, not one per record; and `columns`, the
//! same run's Parquet columns (columns.rs).

use pyo3::exceptions::{PyIndexError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use crate::columns::{Columns, columns};
use crate::kept::Kept;
use crate::typed::FieldType;

/// handler/format/layout.py's MAX_TIMESTAMP_MS (2100-01-01T00:00:00Z).
pub const MAX_TIMESTAMP_MS: i64 = 4_102_444_800_000;

/// One record of the batch: its line is `lines[start..end]` (empty when deferred).
pub struct Slot {
    pub start: usize,
    pub end: usize,
    pub deferred: bool,
    pub event_time: i64,
    pub time_from_field: Option<bool>,
    pub offset: i64,
    pub bytes_in: u64,
    pub tombstone: bool,
}

/// The records of one `encode_batch` call: the lines of those encoded here, end to end, and
/// the indexes of those the caller encodes with the Python `Encoder`; with `fields` given,
/// what their Parquet columns need.
#[pyclass(frozen, module = "kafka_beat_native")]
pub struct Batch {
    lines: Py<PyBytes>,
    slots: Vec<Slot>,
    kept: Option<Kept>,
}

impl Batch {
    pub fn new(lines: Py<PyBytes>, slots: Vec<Slot>, kept: Option<Kept>) -> Self {
        Batch { lines, slots, kept }
    }

    fn slot(&self, index: isize) -> PyResult<&Slot> {
        let slot = usize::try_from(index)
            .ok()
            .and_then(|index| self.slots.get(index))
            .ok_or_else(|| {
                PyIndexError::new_err(format!(
                    "record index {index} is outside the batch of {} records",
                    self.slots.len()
                ))
            })?;
        if slot.deferred {
            return Err(PyValueError::new_err(format!(
                "record {index} was deferred: encode it with handler.format.envelope.Encoder"
            )));
        }
        Ok(slot)
    }
}

#[pymethods]
impl Batch {
    #[getter]
    fn count(&self) -> usize {
        self.slots.len()
    }

    /// Every natively encoded record's line, newline-terminated, in record order.
    #[getter]
    fn lines(&self, py: Python<'_>) -> Py<PyBytes> {
        self.lines.clone_ref(py)
    }

    /// Indexes of the records the Python encoder must encode.
    #[getter]
    fn deferred<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let indexes = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.deferred);
        PyList::new(py, indexes.map(|(index, _)| index).collect::<Vec<_>>())
    }

    fn line<'py>(&self, py: Python<'py>, index: isize) -> PyResult<Bound<'py, PyBytes>> {
        let slot = self.slot(index)?;
        Ok(PyBytes::new(
            py,
            &self.lines.as_bytes(py)[slot.start..slot.end],
        ))
    }

    fn event_time(&self, index: isize) -> PyResult<i64> {
        Ok(self.slot(index)?.event_time)
    }

    fn time_from_field(&self, index: isize) -> PyResult<Option<bool>> {
        Ok(self.slot(index)?.time_from_field)
    }

    /// The Parquet columns of records `start..stop`, none deferred, under the typed `fields`
    /// given to `encode_batch`.
    fn columns(
        &self,
        py: Python<'_>,
        start: usize,
        stop: usize,
        fields: Vec<(String, String)>,
    ) -> PyResult<Columns> {
        let Some(kept) = &self.kept else {
            return Err(PyValueError::new_err(
                "the batch keeps no columns: pass the typed fields to encode_batch \
                 (fields=[] for none) to take Parquet columns from it",
            ));
        };
        let same = fields.len() == kept.fields.len()
            && fields
                .iter()
                .zip(&kept.fields)
                .all(|((name, kind), field)| {
                    *name == field.name && FieldType::parse(kind) == Some(field.kind)
                });
        if !same {
            let given: Vec<_> = kept
                .fields
                .iter()
                .map(|field| field.name.as_str())
                .collect();
            return Err(PyValueError::new_err(format!(
                "fields {fields:?} are not those the batch was encoded with (names {given:?}): \
                 pass encode_batch's fields, in its order"
            )));
        }
        if start > stop || stop > self.slots.len() {
            return Err(PyIndexError::new_err(format!(
                "records {start}..{stop} are not a range of the batch of {} records",
                self.slots.len()
            )));
        }
        if let Some(index) = (start..stop).find(|&index| self.slots[index].deferred) {
            return Err(PyValueError::new_err(format!(
                "record {index} was deferred: add it as a Python row \
                 (handler.format.parquet.ParquetObjectWriter.add)"
            )));
        }
        columns(py, kept, &self.slots, self.lines.as_bytes(py), start, stop)
    }

    /// Records `start..stop` taken as `Intake._take_run` takes them, up to the first that
    /// needs Python: an offset at or past `end` or before the consumed position (which moves
    /// with each record taken), a deferred record, no room left by count or bytes, or an
    /// event time in a later hour than the open object's.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (start, stop, room_records, room_bytes, later_hour_ms, end, consumed_to, hour_start_ms))]
    fn take(
        &self,
        start: usize,
        stop: usize,
        mut room_records: i64,
        mut room_bytes: i64,
        later_hour_ms: i64,
        end: i64,
        mut consumed_to: i64,
        hour_start_ms: Option<i64>,
    ) -> Taken {
        let stop = stop.min(self.slots.len());
        let mut taken = Taken {
            next_index: start,
            records: 0,
            first_offset: None,
            last_offset: None,
            line_start: self
                .slots
                .get(start)
                .map_or(self.slots.last().map_or(0, |slot| slot.end), |slot| {
                    slot.start
                }),
            line_end: 0,
            bytes_in: 0,
            bytes_encoded: 0,
            min_event_time: None,
            max_event_time: None,
            late: 0,
            tombstones: 0,
            unknown_time: 0,
            time_field_missing: 0,
        };
        taken.line_end = taken.line_start;
        let mut index = start;
        while index < stop {
            let slot = &self.slots[index];
            let size = (slot.end - slot.start) as i64;
            let moment = slot.event_time;
            if slot.deferred
                || slot.offset >= end
                || slot.offset < consumed_to
                || room_records <= 0
                || size > room_bytes
                || (later_hour_ms <= moment && moment < MAX_TIMESTAMP_MS)
            {
                break;
            }
            room_records -= 1;
            room_bytes -= size;
            consumed_to = slot.offset + 1;
            taken.records += 1;
            taken.first_offset.get_or_insert(slot.offset);
            taken.last_offset = Some(slot.offset);
            taken.line_end = slot.end;
            taken.bytes_in += slot.bytes_in;
            taken.bytes_encoded += size as u64;
            taken.min_event_time = Some(taken.min_event_time.map_or(moment, |t| t.min(moment)));
            taken.max_event_time = Some(taken.max_event_time.map_or(moment, |t| t.max(moment)));
            let dated = (0..MAX_TIMESTAMP_MS).contains(&moment);
            if let Some(hour_start) = hour_start_ms
                && !(hour_start <= moment && moment < MAX_TIMESTAMP_MS)
            {
                taken.late += 1;
            }
            taken.tombstones += u64::from(slot.tombstone);
            taken.unknown_time += u64::from(!dated);
            taken.time_field_missing += u64::from(slot.time_from_field == Some(false));
            index += 1;
        }
        taken.next_index = index.max(start);
        taken
    }
}

/// What `Batch.take` took: the caller appends `lines[line_start:line_end]` and adds the counts.
#[pyclass(frozen, get_all, module = "kafka_beat_native")]
pub struct Taken {
    next_index: usize,
    records: u64,
    first_offset: Option<i64>,
    last_offset: Option<i64>,
    line_start: usize,
    line_end: usize,
    bytes_in: u64,
    bytes_encoded: u64,
    min_event_time: Option<i64>,
    max_event_time: Option<i64>,
    late: u64,
    tombstones: u64,
    unknown_time: u64,
    time_field_missing: u64,
}

#[pymethods]
impl Taken {
    fn __repr__(&self) -> String {
        format!(
            "Taken(next_index={}, records={}, offsets={:?}..{:?}, lines={}..{})",
            self.next_index,
            self.records,
            self.first_offset,
            self.last_offset,
            self.line_start,
            self.line_end
        )
    }
}
