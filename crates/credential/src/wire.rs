//! Byte-level reading and writing helpers for the payload and presentation codecs.
//!
//! The reader fails with [`Rejection::Malformed`] on any short read, so the decoder above it
//! can never index out of bounds, whatever bytes a scanner sends.

use crate::Rejection;

/// Appends big-endian fields and length-prefixed byte strings.
pub(crate) struct Writer(pub(crate) Vec<u8>);

impl Writer {
    pub(crate) fn u8(&mut self, value: u8) {
        self.0.push(value);
    }

    pub(crate) fn bytes(&mut self, value: &[u8]) {
        self.0.extend_from_slice(value);
    }

    /// One length byte, then the bytes. Callers have checked the length limit already.
    pub(crate) fn short_bytes(&mut self, value: &[u8]) {
        let len = u8::try_from(value.len()).expect("length limits are below 256");
        self.u8(len);
        self.bytes(value);
    }
}

/// Consumes a byte slice from the front; every short read is `Malformed`.
pub(crate) struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader(bytes)
    }

    pub(crate) fn take(&mut self, len: usize) -> Result<&'a [u8], Rejection> {
        if self.0.len() < len {
            return Err(Rejection::Malformed);
        }
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], Rejection> {
        let head = self.take(N)?;
        Ok(head.try_into().expect("take returned exactly N bytes"))
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Rejection> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, Rejection> {
        self.array().map(u16::from_be_bytes)
    }

    pub(crate) fn u32(&mut self) -> Result<u32, Rejection> {
        self.array().map(u32::from_be_bytes)
    }

    pub(crate) fn u64(&mut self) -> Result<u64, Rejection> {
        self.array().map(u64::from_be_bytes)
    }

    pub(crate) fn i64(&mut self) -> Result<i64, Rejection> {
        self.array().map(i64::from_be_bytes)
    }

    /// A length byte then that many bytes, refusing lengths above `max`.
    pub(crate) fn short_bytes(&mut self, max: usize) -> Result<&'a [u8], Rejection> {
        let len = usize::from(self.u8()?);
        if len > max {
            return Err(Rejection::Malformed);
        }
        self.take(len)
    }

    /// Strict decoding: anything left over means a non-canonical encoding.
    pub(crate) fn finish(self) -> Result<(), Rejection> {
        if self.0.is_empty() { Ok(()) } else { Err(Rejection::Malformed) }
    }
}
