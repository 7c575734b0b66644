//! The 3.11+ exception table (`co_exceptiontable`).

use crate::error::{Error, Result};

/// One exception-table entry, in byte offsets (as `dis._parse_exception_table` gives them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExceptionEntry {
    /// First byte offset covered.
    pub start: u32,
    /// End byte offset (exclusive).
    pub end: u32,
    /// Handler byte offset.
    pub target: u32,
    /// Stack depth to unwind to.
    pub depth: u32,
    /// Whether the offset of the raising instruction is pushed.
    pub lasti: bool,
}

/// Iterator over an exception table. Allocation-free; stops after the first error.
#[derive(Debug, Clone)]
pub struct ExceptionEntries<'a> {
    bytes: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> ExceptionEntries<'a> {
    /// Decodes `bytes` (the raw `co_exceptiontable`).
    pub fn new(bytes: &'a [u8]) -> ExceptionEntries<'a> {
        ExceptionEntries {
            bytes,
            pos: 0,
            failed: false,
        }
    }

    /// A varint of this table: 6-bit groups, most significant first, 0x40 = more.
    fn varint(&mut self) -> Result<u32> {
        let mut value: u64 = 0;
        loop {
            let b = *self.bytes.get(self.pos).ok_or(Error::Truncated {
                table: "exception table",
                offset: self.pos,
            })?;
            self.pos += 1;
            value = (value << 6) | u64::from(b & 0x3F);
            if value > u64::from(u32::MAX) {
                return Err(Error::Malformed {
                    table: "exception table",
                    offset: self.pos - 1,
                    message: "varint too large".into(),
                });
            }
            if b & 0x40 == 0 {
                return Ok(value as u32);
            }
        }
    }

    fn entry(&mut self) -> Result<ExceptionEntry> {
        let at = self.pos;
        if self.bytes[at] & 0x80 == 0 {
            return Err(Error::Malformed {
                table: "exception table",
                offset: at,
                message: "entry does not start with a marked byte".into(),
            });
        }
        let start = self.varint()?;
        let length = self.varint()?;
        let target = self.varint()?;
        let dl = self.varint()?;
        let start2 = start.checked_mul(2);
        let end2 = start.checked_add(length).and_then(|e| e.checked_mul(2));
        let target2 = target.checked_mul(2);
        match (start2, end2, target2) {
            (Some(start), Some(end), Some(target)) => Ok(ExceptionEntry {
                start,
                end,
                target,
                depth: dl >> 1,
                lasti: dl & 1 != 0,
            }),
            _ => Err(Error::Malformed {
                table: "exception table",
                offset: at,
                message: "offsets overflow".into(),
            }),
        }
    }
}

impl Iterator for ExceptionEntries<'_> {
    type Item = Result<ExceptionEntry>;

    fn next(&mut self) -> Option<Result<ExceptionEntry>> {
        if self.failed || self.pos >= self.bytes.len() {
            return None;
        }
        let r = self.entry();
        if r.is_err() {
            self.failed = true;
        }
        Some(r)
    }
}

/// Decodes a whole exception table.
pub fn parse_exception_table(bytes: &[u8]) -> Result<Vec<ExceptionEntry>> {
    ExceptionEntries::new(bytes).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_entries() {
        // start 2, len 3, target 0x41 (two bytes: 0x41 -> 0x40|1, 0x01), depth 1 lasti 1.
        let bytes = [0x82, 0x03, 0x41, 0x01, 0x03, 0x84, 0x01, 0x02, 0x00];
        let got = parse_exception_table(&bytes).unwrap();
        assert_eq!(
            got,
            [
                ExceptionEntry {
                    start: 4,
                    end: 10,
                    target: 130,
                    depth: 1,
                    lasti: true
                },
                ExceptionEntry {
                    start: 8,
                    end: 10,
                    target: 4,
                    depth: 0,
                    lasti: false
                },
            ]
        );
        assert!(parse_exception_table(&bytes[..3]).is_err());
        assert!(parse_exception_table(&[0x02]).is_err());
    }
}
