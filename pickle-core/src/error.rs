//! Errors. Every error carries the byte offset of the opcode being run and, where known, the
//! opcode itself, plus a [`ErrorKind`] saying what went wrong.

use crate::Opcode;
use std::fmt;

/// A reading or loading error: what, where, and in which opcode.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    /// Byte offset of the opcode (or of the point of failure when no opcode was read).
    pub offset: u64,
    /// The opcode being decoded or run, if any.
    pub opcode: Option<Opcode>,
    /// What went wrong.
    pub kind: ErrorKind,
}

impl Error {
    /// Makes an error.
    pub fn new(offset: u64, opcode: Option<Opcode>, kind: ErrorKind) -> Error {
        Error {
            offset,
            opcode,
            kind,
        }
    }

    /// The Python exception class CPython's C unpickler raises for this condition.
    pub fn cpython_exception(&self) -> &'static str {
        self.kind.cpython_exception()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.opcode {
            Some(op) => write!(
                f,
                "{} (opcode {} at offset {})",
                self.kind,
                op.name(),
                self.offset
            ),
            None => write!(f, "{} (at offset {})", self.kind, self.offset),
        }
    }
}

impl std::error::Error for Error {}

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong. The `Display` text follows CPython's C unpickler message where one exists.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ErrorKind {
    /// Input ended before `STOP` (between opcodes).
    #[error("Ran out of input")]
    Eof,
    /// An argument or payload is cut short.
    #[error("pickle data was truncated")]
    Truncated,
    /// A byte that is not an opcode.
    #[error("invalid load key, '{}'.", crate::pyrepr::escape_byte_char(*.0))]
    UnknownOpcode(u8),
    /// `PROTO` with a value above 5.
    #[error("unsupported pickle protocol: {0}")]
    UnsupportedProtocol(u8),
    /// A pop from an empty stack.
    #[error("unpickling stack underflow")]
    StackUnderflow,
    /// A pop that would cross the topmost mark.
    #[error("unexpected MARK found")]
    MarkBlocks,
    /// A mark-consuming opcode without a mark.
    #[error("could not find MARK")]
    NoMark,
    /// `DICT`/`SETITEMS` with an odd number of items.
    #[error("odd number of items for {0}")]
    OddItemCount(&'static str),
    /// `GET` of a key never stored.
    #[error("Memo value not found at index {0}")]
    MemoMissing(i64),
    /// `PUT` with a negative key.
    #[error("negative PUT argument")]
    NegativePut,
    /// A negative length field (`LONG4`).
    #[error("LONG pickle has negative byte count")]
    NegativeLength,
    /// Integer/float text that does not parse (message as CPython's `ValueError`).
    #[error("{0}")]
    BadLiteral(String),
    /// A `STRING` argument without matching quotes.
    #[error("the STRING opcode argument must be quoted")]
    BadQuote,
    /// A bad backslash escape (message as CPython's).
    #[error("{0}")]
    BadEscape(String),
    /// Text that does not decode (message as CPython's `UnicodeDecodeError`).
    #[error("{0}")]
    Decode(String),
    /// A frame whose length cannot be satisfied (`read would overflow`).
    #[error("read would overflow (invalid bytecode)")]
    FrameOverflow,
    /// A frame rule the pure-Python unpickler enforces (strict mode).
    #[error("{0}")]
    FrameViolation(&'static str),
    /// `EXT` code ≤ 0 or unregistered.
    #[error("{0}")]
    ExtCode(String),
    /// `NEXT_BUFFER` when buffers are not allowed, or too few buffers.
    #[error("{0}")]
    Buffers(&'static str),
    /// A persistent id when persistent references are not allowed.
    #[error("A load persistent id instruction was encountered, but no persistent_load function was specified.")]
    PersistentNotAllowed,
    /// A length larger than the input (`BINBYTES8` etc.).
    #[error("byte string is too large")]
    TooLarge,
    /// A configured limit was exceeded.
    #[error("limit exceeded: {what} (limit {limit})")]
    LimitExceeded {
        /// Which limit.
        what: &'static str,
        /// Its value.
        limit: u64,
    },
    /// An operation that CPython rejects because of the operand's type (message as CPython's).
    #[error("{message}")]
    Type {
        /// Python exception class (`TypeError`, `AttributeError`, `UnpicklingError`...).
        exception: &'static str,
        /// The message.
        message: String,
    },
    /// A global that the emulated bare CPython cannot import or find.
    #[error("{message}")]
    Global {
        /// `ModuleNotFoundError` or `AttributeError`.
        exception: &'static str,
        /// The message.
        message: String,
    },
    /// A malformed opcode argument as `pickletools.genops` reports it (exception class and
    /// message as Python's, e.g. `ValueError` / `not enough data in stream to read uint4`).
    #[error("{message}")]
    Invalid {
        /// Python exception class.
        exception: &'static str,
        /// The message.
        message: String,
    },
    /// The huge-memo-key case that makes CPython's C unpickler raise `MemoryError`.
    #[error("memo key {0} too large")]
    MemoTooLarge(u64),
}

impl ErrorKind {
    /// The Python exception class CPython's C unpickler raises for this condition.
    pub fn cpython_exception(&self) -> &'static str {
        match self {
            ErrorKind::Eof => "EOFError",
            ErrorKind::UnsupportedProtocol(_)
            | ErrorKind::NegativePut
            | ErrorKind::BadLiteral(_)
            | ErrorKind::BadEscape(_) => "ValueError",
            ErrorKind::Decode(_) => "UnicodeDecodeError",
            ErrorKind::ExtCode(m) if m.starts_with("unregistered") => "ValueError",
            ErrorKind::TooLarge => "OverflowError",
            ErrorKind::Type { exception, .. }
            | ErrorKind::Global { exception, .. }
            | ErrorKind::Invalid { exception, .. } => exception,
            ErrorKind::MemoTooLarge(_) => "MemoryError",
            ErrorKind::LimitExceeded { .. } => "MemoryError",
            _ => "UnpicklingError",
        }
    }
}
