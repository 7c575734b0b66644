//! Every limit the reader enforces, in one place.
//!
//! The defaults follow CPython where CPython has a limit (nesting depth 2000) and are otherwise
//! generous; the hard guarantee does not depend on them: every length is checked against the
//! bytes left before anything is allocated, so memory use stays proportional to the input.

/// Limits enforced while reading. Build with [`Limits::default`] and adjust fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of objects (CPython's `MAX_MARSHAL_STACK_DEPTH`, 2000). The outermost
    /// object is at depth 1; a scalar inside a tuple is at depth 2.
    pub max_depth: u32,
    /// Most nodes in one stream (every object, reference and NULL counts one).
    pub max_nodes: u32,
    /// Longest string or bytes payload, and largest container count, accepted.
    pub max_length: u32,
}

impl Limits {
    /// CPython's nesting limit.
    pub const CPYTHON_MAX_DEPTH: u32 = 2000;
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_depth: Limits::CPYTHON_MAX_DEPTH,
            max_nodes: u32::MAX - 1,
            max_length: i32::MAX as u32,
        }
    }
}
