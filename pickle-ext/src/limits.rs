//! Every resource limit of the extended-pickle decoder, in one place.
//!
//! The pickle VM's own limits (stack, memo, nodes, data) are in
//! [`brine_pickle_core::Limits`] and are passed through [`Limits::pickle`].

/// Resource limits of [`decode_with`](crate::recognise::decode_with).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Limits of the underlying pickle loader.
    pub pickle: brine_pickle_core::Limits,
    /// How deep nested pickles (`pickle.loads(bytes)` inside a pickle, loky wrappers) are decoded.
    /// Deeper ones stay opaque calls with a diagnostic.
    pub max_nested_depth: usize,
    /// Total number of nested pickles decoded in one payload.
    pub max_nested_pickles: usize,
    /// Depth of the value walks that turn graph nodes into plain data (e.g. constants of a code
    /// object); deeper values are reported as truncated instead of recursing.
    pub max_value_depth: usize,
    /// Maximum number of entities (functions, classes, code objects, cells, ...) in one model.
    pub max_entities: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            pickle: brine_pickle_core::Limits::default(),
            max_nested_depth: 8,
            max_nested_pickles: 1024,
            max_value_depth: 200,
            max_entities: 1 << 24,
        }
    }
}
