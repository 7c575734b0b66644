//! Typed errors. Every error carries the byte offset where the problem was found, counted from
//! the start of the buffer handed to the reader (for a `.pyc`, the start of the file).

use crate::version::PyVersion;
use std::fmt;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A marshal or `.pyc` error: what went wrong ([`ErrorKind`]) and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at byte {offset:#x}: {kind}")]
pub struct Error {
    /// Byte offset of the problem (of the type byte, length or digit concerned).
    pub offset: usize,
    /// What went wrong.
    pub kind: ErrorKind,
}

impl Error {
    /// Builds an error.
    pub fn new(offset: usize, kind: ErrorKind) -> Error {
        Error { offset, kind }
    }
}

/// Where a forbidden NULL (`0`) was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NullContext {
    /// As the whole stream's object.
    Object,
    /// As an item of a tuple, list, set or frozenset.
    Item,
    /// As a field of a code object.
    CodeField,
    /// As a part of a slice.
    SliceField,
}

impl fmt::Display for NullContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NullContext::Object => "as the stream's object",
            NullContext::Item => "as a container item",
            NullContext::CodeField => "as a code object field",
            NullContext::SliceField => "as a slice part",
        })
    }
}

/// The kinds of error. Display texts are meant for users: they say what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The data ends before the object does.
    #[error("data ends too early: {needed} more byte(s) needed for {what}, {available} left")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes left.
        available: usize,
    },
    /// A type byte that this Python version's marshal does not know.
    #[error("unknown type code {code:#04x}{} for Python {version}", printable(*code))]
    UnknownTypeCode {
        /// The byte as read (FLAG_REF bit included).
        code: u8,
        /// The version whose type codes were in force.
        version: PyVersion,
    },
    /// A `r` back-reference to a slot that does not exist or is not filled yet.
    #[error("invalid reference: index {index} but {table_len} object(s) are registered{}", if *reserved { " (that slot's object is not complete yet)" } else { "" })]
    InvalidReference {
        /// The index read.
        index: i64,
        /// Size of the reference table at that point.
        table_len: usize,
        /// The slot exists but belongs to an object still being read (code, frozenset, slice).
        reserved: bool,
    },
    /// A Python 2 `R` string reference beyond the interned-string table.
    #[error(
        "invalid interned-string reference: index {index} but {table_len} string(s) were interned"
    )]
    InvalidStringReference {
        /// The index read.
        index: i64,
        /// Size of the interned-string table.
        table_len: usize,
    },
    /// A NULL (`0`) where an object is required.
    #[error("NULL object {0}")]
    UnexpectedNull(NullContext),
    /// A negative length or count.
    #[error("negative {what} {value}")]
    NegativeLength {
        /// What the number counts.
        what: &'static str,
        /// The value read.
        value: i64,
    },
    /// A length or count that the remaining input cannot hold (or above a configured limit).
    #[error("{what} {value} is larger than the {available} byte(s) that are left")]
    LengthTooLarge {
        /// What the number counts.
        what: &'static str,
        /// The value read.
        value: u64,
        /// Bytes left after the length.
        available: usize,
    },
    /// A `l` digit of 2**15 or more (CPython refuses it: "digit out of range in long").
    #[error("long digit {digit:#06x} out of range (digits are 15-bit)")]
    LongDigitOutOfRange {
        /// The digit.
        digit: u16,
    },
    /// A `l` whose most significant digit is zero ("unnormalized long data").
    #[error("unnormalized long: most significant digit is zero")]
    UnnormalizedLong,
    /// A text float or complex part that is not a number.
    #[error("could not convert text float {text:?} to a number")]
    InvalidFloatText {
        /// The text, lossily decoded.
        text: String,
    },
    /// A `u`/`t` string that is not UTF-8 even allowing lone surrogates.
    #[error("string is not valid UTF-8 (surrogates allowed): bad byte {byte:#04x}")]
    InvalidUtf8 {
        /// The first bad byte.
        byte: u8,
    },
    /// Objects nested deeper than the limit (CPython: 2000).
    #[error("objects nested deeper than the limit of {limit}")]
    DepthLimitExceeded {
        /// The limit in force.
        limit: u32,
    },
    /// A configured limit other than depth was hit.
    #[error("{what} exceeds the limit of {limit}")]
    LimitExceeded {
        /// Which limit.
        what: &'static str,
        /// The limit in force.
        limit: u64,
    },
    /// A `.pyc` magic number outside every known range.
    #[error("unknown .pyc magic number {number} (bytes {bytes:02x?})")]
    UnknownMagic {
        /// The 4 bytes.
        bytes: [u8; 4],
        /// The first two as a little-endian number.
        number: u16,
    },
    /// A `.pyc` PEP 552 flags word with bits other than 1 and 2.
    #[error("invalid .pyc flags {0:#x} (only bits 0x1 and 0x2 are defined)")]
    InvalidPycFlags(u32),
    /// Bytes after a `.pyc`'s object (or after a stream read with [`crate::read()`]).
    #[error("{count} unexpected byte(s) after the object")]
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// A code object the version's CPython refuses to build (`marshal.loads` raises
    /// `SystemError`/`ValueError`, or in old versions aborts).
    #[error("invalid code object: {0}")]
    InvalidCode(&'static str),
    /// A stream for a version this crate does not cover.
    #[error("Python {0} is not supported (2.7 and 3.0-3.15 are)")]
    UnsupportedVersion(PyVersion),
    /// Writing: the value cannot be written for the requested version.
    #[error("unmarshallable object: {0}")]
    Unmarshallable(String),
}

fn printable(code: u8) -> String {
    let base = code & 0x7f;
    if (0x20..0x7f).contains(&base) {
        if code & 0x80 != 0 {
            format!(" ('{}' with FLAG_REF)", base as char)
        } else {
            format!(" ('{}')", base as char)
        }
    } else {
        String::new()
    }
}
