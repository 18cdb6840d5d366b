//! The Handle wire encoding of values (RFC 3652 §3.1), also the storage encoding of records.
//!
//! All integers are big-endian. The decoder is total: truncated or inconsistent input is an error, never a panic,
//! and no length field can make it allocate more than the input holds.

use super::{HandleValue, Perms, RecordError, Reference, Ttl};

/// Version byte of the stored record format.
const STORED_FORMAT: u8 = 1;

/// A bounds-checked reader over a byte slice.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// Takes `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], RecordError> {
        if n > self.buf.len() {
            return Err(RecordError::Encoding("truncated"));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// Reads a byte.
    pub fn u8(&mut self) -> Result<u8, RecordError> {
        Ok(self.take(1)?[0])
    }

    /// Reads a big-endian u16.
    pub fn u16(&mut self) -> Result<u16, RecordError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// Reads a big-endian u32.
    pub fn u32(&mut self) -> Result<u32, RecordError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Reads a length-prefixed byte array.
    pub fn bytes(&mut self) -> Result<&'a [u8], RecordError> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    /// Reads a length-prefixed UTF-8 string.
    pub fn string(&mut self) -> Result<&'a str, RecordError> {
        std::str::from_utf8(self.bytes()?).map_err(|_| RecordError::Encoding("string is not UTF-8"))
    }

    /// Reads an element count, refusing counts that cannot fit in what is left (each element takes at least
    /// `min_size` bytes).
    pub fn count(&mut self, min_size: usize) -> Result<usize, RecordError> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min_size.max(1)) > self.buf.len() {
            return Err(RecordError::Encoding("element count exceeds the data"));
        }
        Ok(n)
    }
}

/// Appends a big-endian u32.
pub fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends a length-prefixed byte array.
pub fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u32(out, b.len() as u32);
    out.extend_from_slice(b);
}

/// Appends one handle value in wire form.
pub fn put_value(out: &mut Vec<u8>, v: &HandleValue) {
    put_u32(out, v.index);
    put_u32(out, v.timestamp);
    let (kind, ttl) = match v.ttl {
        Ttl::Relative(s) => (0u8, s),
        Ttl::Absolute(t) => (1u8, t),
    };
    out.push(kind);
    put_u32(out, ttl);
    out.push(v.perms.0 & 0x0F);
    put_bytes(out, v.ty.as_bytes());
    put_bytes(out, &v.data);
    put_u32(out, v.references.len() as u32);
    for r in &v.references {
        put_bytes(out, r.handle.as_bytes());
        put_u32(out, r.index);
    }
}

/// Reads one handle value in wire form.
pub fn read_value(r: &mut Reader<'_>) -> Result<HandleValue, RecordError> {
    let index = r.u32()?;
    let timestamp = r.u32()?;
    let ttl = match r.u8()? {
        0 => Ttl::Relative(r.u32()?),
        1 => Ttl::Absolute(r.u32()?),
        _ => return Err(RecordError::Encoding("unknown TTL type")),
    };
    let perms = Perms(r.u8()? & 0x0F);
    let ty = r.string()?.to_owned();
    let data = r.bytes()?.to_vec();
    let n = r.count(8)?;
    let mut references = Vec::with_capacity(n);
    for _ in 0..n {
        let handle = r.string()?.to_owned();
        references.push(Reference { handle, index: r.u32()? });
    }
    Ok(HandleValue { index, ty, data, ttl, timestamp, perms, references })
}

/// A stored record: the handle as first created, and its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// The handle as written when it was created.
    pub handle: String,
    /// The values, ordered by index.
    pub values: Vec<HandleValue>,
}

/// Encodes a record for storage.
pub fn encode_record(handle: &str, values: &[HandleValue]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + values.len() * 64);
    out.push(STORED_FORMAT);
    put_bytes(&mut out, handle.as_bytes());
    put_u32(&mut out, values.len() as u32);
    for v in values {
        put_value(&mut out, v);
    }
    out
}

/// Decodes a stored record.
pub fn decode_record(buf: &[u8]) -> Result<StoredRecord, RecordError> {
    let mut r = Reader::new(buf);
    if r.u8()? != STORED_FORMAT {
        return Err(RecordError::Encoding("unknown stored record format"));
    }
    let handle = r.string()?.to_owned();
    let n = r.count(22)?;
    let mut values = Vec::with_capacity(n);
    for _ in 0..n {
        values.push(read_value(&mut r)?);
    }
    if r.remaining() != 0 {
        return Err(RecordError::Encoding("trailing bytes after record"));
    }
    Ok(StoredRecord { handle, values })
}

/// Reads only the handle as created of a stored record (for listings).
pub fn decode_record_handle(buf: &[u8]) -> Result<&str, RecordError> {
    let mut r = Reader::new(buf);
    if r.u8()? != STORED_FORMAT {
        return Err(RecordError::Encoding("unknown stored record format"));
    }
    r.string()
}
