//! Every resource limit of the loader, in one place. All are configurable through
//! [`Limits`] in [`LoadOptions`](crate::LoadOptions); the defaults let any real-world pickle
//! load while keeping hostile input from exhausting memory.

/// Resource limits applied while loading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Maximum number of items on the pickle machine's stack (marks included).
    pub max_stack: usize,
    /// Maximum number of memo entries.
    pub max_memo_entries: usize,
    /// Largest memo key accepted by `PUT`/`BINPUT`/`LONG_BINPUT` (large keys go to a hash map,
    /// never size an array). CPython's C unpickler fails with `MemoryError` on huge keys such as
    /// 0xFFFFFFFF; `Environment::BareCPython` with C strictness emulates that above 2^30.
    pub max_memo_key: u64,
    /// Maximum number of graph nodes.
    pub max_nodes: usize,
    /// Maximum total bytes of string/bytes data materialised in the graph.
    pub max_data_bytes: usize,
    /// Maximum announced frame size (`FRAME` argument). Unlimited by default: a frame is only
    /// a read-ahead hint and is checked against the input that is actually there.
    pub max_frame_size: u64,
    /// Maximum nesting depth for consumers that walk the graph recursively in spirit (the
    /// serde deserializer, the repr printer); they use explicit depth counting and stop here.
    pub max_nesting: usize,
    /// Maximum number of decimal digits in `INT`/`LONG` text (CPython 3.11+ caps at 4300 via
    /// `sys.set_int_max_str_digits`; `None` = no cap).
    pub max_int_digits: Option<usize>,
    /// Maximum length of `INT`/`LONG`/`PUT`/`GET` text lines (decimal parsing is quadratic
    /// in the number of digits, so a hostile multi-megabyte number is refused up front).
    pub max_decimal_digits: usize,
    /// Maximum byte length of a `LONG1`/`LONG4` payload.
    pub max_long_bytes: usize,
    /// Maximum nesting depth for the serde deserializer (it recurses once per level).
    pub max_serde_depth: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_stack: 1 << 26,
            max_memo_entries: 1 << 28,
            max_memo_key: u64::MAX,
            max_nodes: 1 << 31,
            max_data_bytes: usize::MAX,
            max_frame_size: u64::MAX,
            max_nesting: 10_000,
            max_int_digits: None,
            max_decimal_digits: 100_000,
            max_long_bytes: 1 << 24,
            max_serde_depth: 128,
        }
    }
}
