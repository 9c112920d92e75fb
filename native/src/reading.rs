//! Reads the records of a poll batch from their Python objects, with the GIL held, into the
//! plain structs of records.rs.
//!
//! Buffers are borrowed, not copied: each bytes or str object read is kept alive (`keep`) until
//! the batch is encoded, and both kinds are immutable, so their buffers stay valid without the
//! GIL. A value of an unexpected type (a key that is not bytes, a topic with a lone surrogate,
//! an int beyond 64 bits) defers the record to the Python encoder, which decides what it does;
//! an object that is not a record of the kind at all is a TypeError.

use std::ops::Range;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyInt, PyList, PyString, PyTuple};
use pyo3::{ffi, intern};

use crate::records::{Buf, Header, Inputs, Kind, RecordIn, TimestampType};

/// The fields read, in this order, from a record namedtuple.
const FIELDS: [&str; 8] = [
    "topic",
    "partition",
    "offset",
    "timestamp",
    "timestamp_type",
    "key",
    "value",
    "headers",
];

pub struct Reader<'py> {
    py: Python<'py>,
    kind: Kind,
    /// Per namedtuple type seen: where each of `FIELDS` sits.
    layouts: Vec<(usize, [usize; 8])>,
    keep: Vec<Bound<'py, PyAny>>,
    pub inputs: Inputs,
}

/// Where a value goes wrong: the record is deferred, or it is no record at all.
enum Bad {
    Defer,
    Shape(String),
}

type Read<T> = Result<T, Bad>;

impl<'py> Reader<'py> {
    pub fn read(py: Python<'py>, kind: Kind, records: &Bound<'py, PyList>) -> PyResult<Self> {
        let mut reader = Reader {
            py,
            kind,
            layouts: Vec::new(),
            keep: Vec::with_capacity(records.len() * 3),
            inputs: Inputs {
                records: Vec::with_capacity(records.len()),
                headers: Vec::new(),
            },
        };
        for (index, item) in records.iter().enumerate() {
            let headers_start = reader.inputs.headers.len();
            let read = match kind {
                Kind::Record | Kind::KafkaPython => reader.tuple_record(&item),
                Kind::Confluent => reader.message(&item),
            };
            let record = match read {
                Ok(record) => record,
                Err(Bad::Defer) => {
                    reader.inputs.headers.truncate(headers_start);
                    RecordIn {
                        topic: Buf::EMPTY,
                        partition: 0,
                        offset: 0,
                        timestamp: 0,
                        timestamp_type: TimestampType::Create,
                        key: None,
                        value: None,
                        headers: headers_start..headers_start,
                        defer: true,
                    }
                }
                Err(Bad::Shape(detail)) => {
                    return Err(PyTypeError::new_err(format!(
                        "records[{index}] is not a {} record: {detail}; pass the kind the \
                         records are (one of 'record', 'kafka-python', 'confluent')",
                        kind.name()
                    )));
                }
            };
            reader.inputs.records.push(record);
        }
        Ok(reader)
    }

    /// The objects the inputs' buffers point into (alive while held) and every header read.
    pub fn into_parts(self) -> (Vec<Py<PyAny>>, Vec<Header>) {
        let objects = self.keep.into_iter().map(Bound::unbind).collect();
        (objects, self.inputs.headers)
    }

    /// `Record` or kafka-python's `ConsumerRecord`: a namedtuple read by position.
    fn tuple_record(&mut self, item: &Bound<'py, PyAny>) -> Read<RecordIn> {
        let tuple = item
            .cast::<PyTuple>()
            .map_err(|_| Bad::Shape(format!("a {} object", type_name(item))))?;
        let layout = self.layout(item, tuple)?;
        let field = |at: usize| {
            tuple
                .get_item(layout[at])
                .map_err(|error| Bad::Shape(error.to_string()))
        };
        let topic = self.text(&field(0)?)?;
        let partition = int(&field(1)?)?;
        let offset = int(&field(2)?)?;
        let timestamp_object = field(3)?;
        let timestamp_type_object = field(4)?;
        let key = self.bytes(&field(5)?)?;
        let value = self.bytes(&field(6)?)?;
        let headers_object = field(7)?;
        let (timestamp, timestamp_type) = if self.kind == Kind::KafkaPython {
            // python_source.py: a missing timestamp is -1; `{0: "create", 1: "log_append"}`.
            let timestamp = if timestamp_object.is_none() {
                -1
            } else {
                int(&timestamp_object)?
            };
            let log_append = if timestamp_type_object.is_none() {
                false
            } else if timestamp_type_object.is_exact_instance_of::<PyBool>() {
                timestamp_type_object.is_truthy().map_err(|_| Bad::Defer)? // True == 1
            } else {
                int(&timestamp_type_object)? == 1
            };
            let kind = if log_append {
                TimestampType::LogAppend
            } else {
                TimestampType::Create
            };
            (timestamp, kind)
        } else {
            let name = self.text(&timestamp_type_object)?;
            (int(&timestamp_object)?, TimestampType::Named(name))
        };
        let headers = self.headers(&headers_object)?;
        Ok(RecordIn {
            topic,
            partition,
            offset,
            timestamp,
            timestamp_type,
            key,
            value,
            headers,
            defer: false,
        })
    }

    /// confluent_kafka's `Message`, read through its methods as confluent_source.py does.
    fn message(&mut self, item: &Bound<'py, PyAny>) -> Read<RecordIn> {
        let py = self.py;
        let call = |name: &Bound<'py, PyString>| {
            item.call_method0(name)
                .map_err(|error| Bad::Shape(format!("{}() failed: {error}", name)))
        };
        let topic_object = call(intern!(py, "topic"))?;
        let partition_object = call(intern!(py, "partition"))?;
        let offset_object = call(intern!(py, "offset"))?;
        let stamp = call(intern!(py, "timestamp"))?;
        let key = self.bytes(&call(intern!(py, "key"))?)?;
        let value = self.bytes(&call(intern!(py, "value"))?)?;
        let headers_object = call(intern!(py, "headers"))?;
        // `message.topic() or ""`, `partition() or 0`, `offset() or 0`.
        let topic = if topic_object.is_none() {
            Buf::EMPTY
        } else {
            self.text(&topic_object)?
        };
        let or_zero = |object: &Bound<'py, PyAny>| {
            if object.is_none() { Ok(0) } else { int(object) }
        };
        let stamp = stamp
            .cast::<PyTuple>()
            .ok()
            .filter(|stamp| stamp.len() == 2)
            .ok_or_else(|| Bad::Shape("timestamp() is not a (type, timestamp) pair".into()))?;
        let stamp_kind = int(&stamp.get_item(0).map_err(|_| Bad::Defer)?)?;
        let timestamp = int(&stamp.get_item(1).map_err(|_| Bad::Defer)?)?;
        let headers = self.headers(&headers_object)?;
        Ok(RecordIn {
            topic,
            partition: or_zero(&partition_object)?,
            offset: or_zero(&offset_object)?,
            timestamp,
            // TIMESTAMP_LOG_APPEND_TIME is 2 (librdkafka's RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME).
            timestamp_type: if stamp_kind == 2 {
                TimestampType::LogAppend
            } else {
                TimestampType::Create
            },
            key,
            value,
            headers,
            defer: false,
        })
    }

    fn layout(
        &mut self,
        item: &Bound<'py, PyAny>,
        tuple: &Bound<'py, PyTuple>,
    ) -> Read<[usize; 8]> {
        // SAFETY: `item` is a live object; its type pointer only keys the cache.
        let type_key = unsafe { ffi::Py_TYPE(item.as_ptr()) } as usize;
        let layout = match self.layouts.iter().find(|(key, _)| *key == type_key) {
            Some((_, layout)) => *layout,
            None => {
                let fields = item
                    .get_type()
                    .getattr(intern!(self.py, "_fields"))
                    .map_err(|_| Bad::Shape(format!("a {} (no _fields)", type_name(item))))?;
                let names: Vec<String> = fields
                    .extract()
                    .map_err(|_| Bad::Shape("its _fields are not names".into()))?;
                let mut layout = [0; 8];
                for (slot, wanted) in FIELDS.iter().enumerate() {
                    layout[slot] =
                        names
                            .iter()
                            .position(|name| name == wanted)
                            .ok_or_else(|| {
                                Bad::Shape(format!(
                                    "a {} without the field {wanted:?}",
                                    type_name(item)
                                ))
                            })?;
                }
                self.layouts.push((type_key, layout));
                layout
            }
        };
        if layout.iter().any(|&at| at >= tuple.len()) {
            return Err(Bad::Shape("a tuple shorter than its _fields".into()));
        }
        Ok(layout)
    }

    /// A str's UTF-8, kept alive (a subclass is left to Python).
    fn text(&mut self, object: &Bound<'py, PyAny>) -> Read<Buf> {
        let text = object.cast_exact::<PyString>().map_err(|_| Bad::Defer)?;
        // A lone surrogate has no UTF-8 (orjson refuses it too: Python decides what happens).
        let buf = Buf::of(text.to_str().map_err(|_| Bad::Defer)?.as_bytes());
        self.keep.push(object.clone());
        Ok(buf)
    }

    /// bytes or None, kept alive (a subclass, a bytearray or a memoryview is left to Python).
    fn bytes(&mut self, object: &Bound<'py, PyAny>) -> Read<Option<Buf>> {
        if object.is_none() {
            return Ok(None);
        }
        let bytes = object.cast_exact::<PyBytes>().map_err(|_| Bad::Defer)?;
        let buf = Buf::of(bytes.as_bytes());
        self.keep.push(object.clone());
        Ok(Some(buf))
    }

    /// `(name, value)` pairs; none when falsy (`tuple(...) if headers else ()`).
    fn headers(&mut self, object: &Bound<'py, PyAny>) -> Read<Range<usize>> {
        let start = self.inputs.headers.len();
        if object.is_none() {
            return Ok(start..start);
        }
        if let Ok(list) = object.cast::<PyList>() {
            for item in list.iter() {
                self.header(&item)?;
            }
        } else if let Ok(tuple) = object.cast::<PyTuple>() {
            for item in tuple.iter() {
                self.header(&item)?;
            }
        } else {
            return Err(Bad::Shape(format!("headers are a {}", type_name(object))));
        }
        Ok(start..self.inputs.headers.len())
    }

    /// One `(name, value)` header, a tuple or a list.
    fn header(&mut self, item: &Bound<'py, PyAny>) -> Read<()> {
        let (length, name, value) = if let Ok(tuple) = item.cast::<PyTuple>() {
            (tuple.len(), tuple.get_item(0), tuple.get_item(1))
        } else if let Ok(list) = item.cast::<PyList>() {
            (list.len(), list.get_item(0), list.get_item(1))
        } else {
            return Err(Bad::Shape(format!("a header is a {}", type_name(item))));
        };
        let (2, Ok(name), Ok(value)) = (length, name, value) else {
            return Err(Bad::Shape(format!("a header of {length} items")));
        };
        let name = self.text(&name)?;
        let value = self.bytes(&value)?;
        self.inputs.headers.push(Header { name, value });
        Ok(())
    }
}

/// An exact int of 64 bits (a bool or an int subclass is left to Python).
fn int(object: &Bound<'_, PyAny>) -> Read<i64> {
    if !object.is_exact_instance_of::<PyInt>() {
        return Err(Bad::Defer);
    }
    object.extract().map_err(|_| Bad::Defer)
}

fn type_name(object: &Bound<'_, PyAny>) -> String {
    object
        .get_type()
        .name()
        .map_or_else(|_| "?".into(), |name| name.to_string())
}
