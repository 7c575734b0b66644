//! Errors: every one carries the byte offset where the problem was found.

use thiserror::Error;

/// What went wrong while interpreting a code object.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// No opcode table for this Python version.
    #[error("no opcode table for Python {major}.{minor}")]
    UnsupportedVersion {
        /// Major version.
        major: u8,
        /// Minor version.
        minor: u8,
    },
    /// A table (line table, exception table, ...) ends in the middle of an entry.
    #[error("{table} truncated at byte {offset}")]
    Truncated {
        /// Which table.
        table: &'static str,
        /// Byte offset in that table.
        offset: usize,
    },
    /// A table holds a value that cannot be right.
    #[error("{table}: {message} at byte {offset}")]
    Malformed {
        /// Which table.
        table: &'static str,
        /// Byte offset in that table.
        offset: usize,
        /// What is wrong.
        message: String,
    },
    /// A code object field is missing or of the wrong type.
    #[error("code object at stream offset {offset}: {message}")]
    BadField {
        /// Offset of the code object in the marshal stream.
        offset: usize,
        /// What is wrong.
        message: String,
    },
    /// Too deep or too many nested code objects.
    #[error("limit exceeded: {0}")]
    Limit(&'static str),
}

/// `Result` with this crate's [`Error`](enum@Error).
pub type Result<T> = std::result::Result<T, Error>;
