//! Errors of the extended-pickle decoder.
//!
//! Shapes the recognisers do not understand are *not* errors: they stay in the model as opaque
//! calls, with a [`Diagnostic`](crate::model::Diagnostic) when a known helper was misused (wrong
//! arity, mistyped `CodeType` arguments, marshal bytes of the wrong version). An [`Error`] means
//! the payload could not be read at all, or a limit was hit.

/// What went wrong, and where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The pickle itself is malformed (offset and opcode inside).
    #[error("pickle: {0}")]
    Pickle(#[from] brine_pickle_core::Error),
    /// A resource limit of [`Limits`](crate::limits::Limits) was exceeded.
    #[error("{what} exceeds the limit of {limit} (at offset {offset})")]
    Limit {
        /// Which limit.
        what: &'static str,
        /// Its value.
        limit: usize,
        /// Byte offset of the opcode where it happened.
        offset: u64,
    },
}

impl Error {
    /// Byte offset in the input the error refers to.
    pub fn offset(&self) -> u64 {
        match self {
            Error::Pickle(e) => e.offset,
            Error::Limit { offset, .. } => *offset,
        }
    }
}

/// Result type of this crate's decoder.
pub type Result<T, E = Error> = std::result::Result<T, E>;
