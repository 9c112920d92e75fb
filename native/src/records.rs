//! The records of a poll batch as plain structs (read by reading.rs, with the GIL held), which
//! the encoder reads with the GIL released: the values handler/kafka/python_source.py and
//! confluent_source.py put into a `Record`. Buffers are borrowed from the Python objects, not
//! copied (see `Buf`).

use std::ops::Range;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Record,
    KafkaPython,
    Confluent,
}

impl Kind {
    pub fn parse(name: &str) -> Option<Kind> {
        Some(match name {
            "record" => Kind::Record,
            "kafka-python" => Kind::KafkaPython,
            "confluent" => Kind::Confluent,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Record => "record (handler.record.Record)",
            Kind::KafkaPython => "kafka-python (kafka.consumer.fetcher.ConsumerRecord)",
            Kind::Confluent => "confluent (confluent_kafka.Message)",
        }
    }
}

/// A borrowed immutable buffer (see the module docstring for why it outlives the GIL).
#[derive(Clone, Copy)]
pub struct Buf {
    ptr: *const u8,
    len: usize,
}

impl Buf {
    pub const EMPTY: Buf = Buf {
        ptr: std::ptr::NonNull::<u8>::dangling().as_ptr(),
        len: 0,
    };

    pub fn of(bytes: &[u8]) -> Buf {
        Buf {
            ptr: bytes.as_ptr(),
            len: bytes.len(),
        }
    }

    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the object owning the buffer is held by the `Reader` (reading.rs) for as long
        // as the `Inputs` holding this Buf are read, and bytes/str buffers never change.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// A Buf made from a `str`'s UTF-8.
    pub fn text(&self) -> &str {
        // SAFETY: only called on a Buf made by `Reader::text`, from a str's UTF-8.
        unsafe { std::str::from_utf8_unchecked(self.bytes()) }
    }
}

#[derive(Clone, Copy)]
pub enum TimestampType {
    Create,
    LogAppend,
    Named(Buf),
}

pub struct Header {
    pub name: Buf,
    pub value: Option<Buf>,
}

pub struct RecordIn {
    pub topic: Buf,
    pub partition: i64,
    pub offset: i64,
    pub timestamp: i64,
    pub timestamp_type: TimestampType,
    pub key: Option<Buf>,
    pub value: Option<Buf>,
    pub headers: Range<usize>,
    /// A field the encoder cannot write exactly: Python encodes the record.
    pub defer: bool,
}

impl RecordIn {
    pub fn bytes_in(&self, headers: &[Header]) -> u64 {
        let size = |buf: &Option<Buf>| buf.map_or(0, |buf| buf.len as u64);
        size(&self.key)
            + size(&self.value)
            + headers[self.headers.clone()]
                .iter()
                .map(|header| size(&header.value))
                .sum::<u64>()
    }
}

/// Everything read from one batch; shared with the encoding, which runs without the GIL.
pub struct Inputs {
    pub records: Vec<RecordIn>,
    pub headers: Vec<Header>,
}

// SAFETY: the raw pointers in `Buf` point into immutable Python objects kept alive by the
// reader for as long as the inputs live; reading them needs no GIL.
unsafe impl Send for Inputs {}
unsafe impl Sync for Inputs {}
