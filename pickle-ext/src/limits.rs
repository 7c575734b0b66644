//! Every resource limit of the extended-pickle decoder, in one place.
//!
//! The pickle VM's own limits (stack, memo, nodes, data) are in
//! [`brine_pickle_core::Limits`] and are passed through [`Limits::pickle`].

/// How deep the JSON view follows nested values before printing `{"truncated": true}`.
pub const MAX_VIEW_DEPTH: usize = 100;

/// How deep nested code objects and constant containers are followed when a shipped code
/// object is turned into a `brine_codeobj::Code`.
pub const MAX_CODE_NESTING: usize = 64;

/// Default of [`EmitOptions::max_depth`](crate::model::EmitOptions): how deep the writer
/// copies values.
pub const MAX_EMIT_DEPTH: usize = 200;

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
    /// Maximum number of entities (functions, classes, code objects, cells, ...) in one model.
    pub max_entities: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            pickle: brine_pickle_core::Limits::default(),
            max_nested_depth: 8,
            max_nested_pickles: 1024,
            max_entities: 1 << 24,
        }
    }
}
