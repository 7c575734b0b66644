//! Every limit the crate applies to untrusted input, in one place.

/// Limits applied while decoding code objects. All are generous for real code and exist so
/// hostile input cannot make us loop or allocate without bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of code objects followed by [`crate::CodeSummary`] and the
    /// disassembler (CPython's own compiler stops far below this).
    pub max_code_depth: usize,
    /// Most code objects visited by one summary or disassembly.
    pub max_code_objects: usize,
    /// Most `EXTENDED_ARG` prefixes folded into one instruction before it is marked invalid
    /// (CPython never needs more than 3).
    pub max_extended_args: u32,
    /// Most constants built by [`crate::Code::from_marshal`] for one stream. Marshal
    /// back-references can share a tuple many times; building each use separately could
    /// otherwise grow exponentially with the input.
    pub max_constants: usize,
}

impl Limits {
    /// The default limits.
    pub const DEFAULT: Limits = Limits {
        max_code_depth: 200,
        max_code_objects: 1_000_000,
        max_extended_args: 3,
        max_constants: 1_000_000,
    };
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::DEFAULT
    }
}
