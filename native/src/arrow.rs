//! Arrow's buffer layouts (columnar format 1.0), written straight into Python bytes objects so
//! `pa.Array.from_buffers` wraps them without a copy: little-endian fixed-width values,
//! validity bitmaps and booleans bit-packed LSB-first, variable-length values as int32 offsets
//! (count + 1) and their data end to end.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

/// `count` values of `W` bytes each.
pub fn fixed<'py, const W: usize>(
    py: Python<'py>,
    count: usize,
    mut value: impl FnMut(usize) -> [u8; W],
) -> PyResult<Bound<'py, PyBytes>> {
    PyBytes::new_with(py, count * W, |buffer| {
        for (index, slot) in buffer.chunks_exact_mut(W).enumerate() {
            slot.copy_from_slice(&value(index));
        }
        Ok(())
    })
}

/// `count` bits, LSB-first (the bytes are zeroed when made).
pub fn bits<'py>(
    py: Python<'py>,
    count: usize,
    set: impl Fn(usize) -> bool,
) -> PyResult<Bound<'py, PyBytes>> {
    PyBytes::new_with(py, count.div_ceil(8), |buffer| {
        for index in (0..count).filter(|&index| set(index)) {
            buffer[index / 8] |= 1 << (index % 8);
        }
        Ok(())
    })
}

/// A validity bitmap, or None when every value is valid (Arrow's way to say so).
pub fn validity<'py>(
    py: Python<'py>,
    count: usize,
    valid: impl Fn(usize) -> bool,
) -> PyResult<Option<Bound<'py, PyBytes>>> {
    if (0..count).all(&valid) {
        return Ok(None);
    }
    bits(py, count, valid).map(Some)
}

/// int32 offsets of `count` values whose lengths are `length(index)`.
pub fn offsets<'py>(
    py: Python<'py>,
    count: usize,
    length: impl Fn(usize) -> usize,
) -> PyResult<Bound<'py, PyBytes>> {
    let total: usize = (0..count).map(&length).sum();
    if i32::try_from(total).is_err() {
        return Err(PyValueError::new_err(format!(
            "a column of {total} bytes or items is past Arrow's int32 offsets: ask for fewer \
             records"
        )));
    }
    let mut end = 0;
    fixed(py, count + 1, |index| {
        let at = end;
        if index < count {
            end += length(index);
        }
        (at as i32).to_le_bytes()
    })
}

/// `(validity, offsets, data)` of a binary or string column.
pub fn binary<'py, 'a>(
    py: Python<'py>,
    count: usize,
    item: impl Fn(usize) -> Option<&'a [u8]>,
) -> PyResult<Bound<'py, PyTuple>> {
    let length = |index| item(index).map_or(0, <[u8]>::len);
    let offsets = offsets(py, count, length)?;
    let total = (0..count).map(length).sum();
    let data = PyBytes::new_with(py, total, |buffer| {
        let mut at = 0;
        for bytes in (0..count).filter_map(&item) {
            buffer[at..at + bytes.len()].copy_from_slice(bytes);
            at += bytes.len();
        }
        Ok(())
    })?;
    let validity = validity(py, count, |index| item(index).is_some())?;
    (validity, offsets, data).into_pyobject(py)
}
