//! The pickle writer: CPython 3.13's `pickle.dumps` byte for byte.
//!
//! The writer saves an object [`Graph`] (the same arena the reader builds), so everything the
//! reader can represent can be written back: plain values, shared and recursive structures,
//! globals, calls (`REDUCE`, `NEWOBJ`, ...) with their later `APPEND`/`SETITEM`/`BUILD`
//! mutations, persistent ids, extension codes and out-of-band buffers.
//!
//! * [`dumps`] writes a plain [`Value`] tree (no sharing), like `serde-pickle` users expect.
//! * [`write_graph`] writes any node of a [`Graph`]; node identity is Python object identity,
//!   so a node reached twice is written once and fetched from the memo afterwards, exactly as
//!   CPython does for the same object.
//! * [`reemit`] re-writes a graph read from a CPython-written pickle and returns its bytes,
//!   which equal the input whenever the input came from CPython 3's C or pure-Python pickler.
//!
//! The opcode choices follow pickle.md §14 (measured on CPython 3.6–3.13): memo keys in
//! first-save order, `MEMOIZE` from protocol 4, batches of 1000 with the C pickler's quirks
//! (an empty `MARK ... SETITEMS`/`ADDITEMS` batch after a full one, `MARK x APPENDS` for a lone
//! trailing list item), the recursive-tuple trick (`POP`s and a memo `GET` when a tuple is
//! reached again through its own items), reduce forms of `bytes`/`bytearray`/`set`/`frozenset`
//! below the protocol that has opcodes for them, and 64 KiB framing with large payloads
//! written outside frames.
//!
//! ```
//! use brine_pickle_core::writer::{dumps, Value};
//! let v = Value::List(vec![Value::Int(1), Value::Str("a".into())]);
//! assert_eq!(dumps(&v, 2).unwrap(), b"\x80\x02]q\x00(K\x01X\x01\x00\x00\x00aq\x01e.");
//! assert_eq!(dumps(&Value::None, 4).unwrap(), b"\x80\x04N.");
//! ```

mod compat;
mod discarded;
mod encode;
mod output;
mod save;
#[cfg(feature = "serde")]
pub mod serde;
mod value;

pub use value::{value_to_graph, Value};

use crate::graph::{Graph, NodeId};

/// Which CPython pickler's choices to reproduce where picklers differ.
///
/// The two CPython 3.7–3.13 picklers differ in batching (pickle.md §14.7). Older versions have measured quirks of their own (found by the
/// fixture tests; they are not in pickle.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// The C accelerator (`pickle.dumps`) of CPython 3.7–3.13: the default.
    #[default]
    CPythonC,
    /// The pure-Python `pickle._Pickler` of CPython 3.10–3.13.
    CPythonPy,
    /// The pure-Python pickler of CPython 3.8 and 3.9: like [`Profile::CPythonPy`], but a
    /// protocol-5 `bytearray` is not memoized.
    CPython38Py,
    /// CPython 3.6's C pickler: protocol 0 writes every int as `LONG` text (`L5L`), protocol
    /// 0 text keeps NUL, CR and `\x1a` raw, every frame gets a `FRAME` header (even under 4
    /// bytes) and large payloads stay inside frames.
    CPython36C,
    /// CPython 3.6's pure-Python pickler: the protocol-0 quirks of [`Profile::CPython36C`],
    /// the framing and batching of [`Profile::CPythonPy`] apart from small frames.
    CPython36Py,
    /// Replay the opcode choices recorded while loading (the graph must come from
    /// [`loads_with`](crate::loads_with) with
    /// [`LoadOptions::record_steps`](crate::LoadOptions::record_steps)): which objects were
    /// memoized and under which keys, how container items were batched, the text of `INT`,
    /// `LONG`, `FLOAT`, `STRING` and `UNICODE` arguments, and each scalar's opcode. This is how
    /// pickles written by Python 2's `cPickle` (which memoizes by reference count) and
    /// `pickle.py` are reproduced. Values the source built only to `POP` them (state-setter
    /// calls such as cloudpickle's `_function_setstate(f, state)`, dill's `_setattr(...)`) and
    /// late fills of a memoized container (`GET d ... SETITEM POP`) are written back at their
    /// source positions, although nothing reachable from the root refers to them. Framing
    /// follows CPython 3.7+'s rules.
    Recorded,
}

impl Profile {
    /// Every profile, in the order [`reemit`] tries them.
    pub const ALL: [Profile; 5] = [
        Profile::CPythonC,
        Profile::CPythonPy,
        Profile::CPython38Py,
        Profile::CPython36C,
        Profile::CPython36Py,
    ];

    /// True for the C picklers' exact-container batching.
    pub(crate) fn c_batching(self) -> bool {
        matches!(self, Profile::CPythonC | Profile::CPython36C)
    }
}

/// Options of [`write_graph`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOptions {
    /// Protocol 0–5.
    pub protocol: u8,
    /// Whose choices to reproduce.
    pub profile: Profile,
    /// Maximum nesting depth of saved objects (CPython fails with `RecursionError` near 1000
    /// levels; the writer itself uses no native recursion, so this is only a safety net).
    pub max_depth: usize,
}

impl WriteOptions {
    /// Options for `protocol` with the C pickler's choices.
    pub fn new(protocol: u8) -> WriteOptions {
        WriteOptions {
            protocol,
            profile: Profile::CPythonC,
            max_depth: 100_000,
        }
    }
}

/// Why a graph could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The protocol is not 0–5.
    #[error("pickle protocol must be <= 5, not {0}")]
    Protocol(u8),
    /// Nesting deeper than [`WriteOptions::max_depth`].
    #[error("object nesting deeper than {0} levels")]
    TooDeep(usize),
    /// A node id outside the graph.
    #[error("no node {0} in the graph")]
    NoSuchNode(usize),
    /// Something CPython refuses to write at this protocol.
    #[error("{0}")]
    Unsupported(String),
}

/// Writes node `root` of `graph` as a complete pickle (`PROTO`, the object, `STOP`, frames).
pub fn write_graph(
    graph: &Graph,
    root: NodeId,
    opts: &WriteOptions,
) -> Result<Vec<u8>, WriteError> {
    if opts.protocol > 5 {
        return Err(WriteError::Protocol(opts.protocol));
    }
    if opts.profile == Profile::Recorded && graph.steps.is_empty() {
        return Err(WriteError::Unsupported(
            "Profile::Recorded needs a graph loaded with LoadOptions::record_steps".into(),
        ));
    }
    save::Saver::new(graph, opts).dump(root)
}

/// Pickles a plain value at `protocol` as CPython's `pickle.dumps(value, protocol)` would.
pub fn dumps(value: &Value, protocol: u8) -> Result<Vec<u8>, WriteError> {
    let (graph, root) = value_to_graph(value, protocol)?;
    write_graph(&graph, root, &WriteOptions::new(protocol))
}

/// The protocol a CPython pickler used for the pickle read into `graph`: its `PROTO` header,
/// else 1 if any protocol-1 opcode appears, else 0.
pub fn source_protocol(graph: &Graph) -> u8 {
    match graph.pickles.first() {
        Some(p) if p.proto >= 2 => p.proto,
        Some(p) => p.max_opcode_proto.min(1),
        None => 0,
    }
}

/// Re-writes the first pickle of a graph read from CPython bytes, trying every [`Profile`]
/// (the C pickler's choices first, [`Profile::Recorded`] last when the graph has recorded
/// steps); returns the bytes of the first profile
/// that reproduces `original`, or the C profile's bytes if none does.
pub fn reemit(graph: &Graph, original: &[u8]) -> Result<(Vec<u8>, Option<Profile>), WriteError> {
    let root = graph
        .pickles
        .first()
        .map(|p| p.root)
        .ok_or(WriteError::NoSuchNode(0))?;
    let protocol = source_protocol(graph);
    let end = graph.pickles[0].end as usize;
    let original = &original[..end.min(original.len())];
    let mut first = None;
    let recorded = (!graph.steps.is_empty()).then_some(Profile::Recorded);
    for profile in Profile::ALL.into_iter().chain(recorded) {
        let opts = WriteOptions {
            protocol,
            profile,
            max_depth: 100_000,
        };
        let bytes = write_graph(graph, root, &opts)?;
        if bytes == original {
            return Ok((bytes, Some(profile)));
        }
        first.get_or_insert(bytes);
    }
    Ok((first.unwrap_or_default(), None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{loads_with, LoadOptions};

    #[test]
    fn recorded_profile_refuses_dup_sharing_instead_of_blowing_up() {
        // N DUP TUPLE2 repeated 60 times: 2**60 paths, no memo.
        let mut data = b"\x80\x02N".to_vec();
        for _ in 0..60 {
            data.extend_from_slice(b"2\x86");
        }
        data.push(b'.');
        let opts = LoadOptions {
            record_steps: true,
            ..LoadOptions::default()
        };
        let graph = loads_with(&data, &opts).unwrap();
        let replay = WriteOptions {
            profile: Profile::Recorded,
            ..WriteOptions::new(2)
        };
        let err = write_graph(&graph, graph.root(), &replay).unwrap_err();
        assert!(matches!(err, WriteError::Unsupported(_)), "{err}");
        // The rule-based writer memoizes the tuples: linear output.
        let bytes = write_graph(&graph, graph.root(), &WriteOptions::new(2)).unwrap();
        assert!(bytes.len() < 60 * 8, "{} bytes", bytes.len());
    }

    #[test]
    fn popped_side_effects_and_late_fills_are_re_emitted_in_place() {
        let opts = LoadOptions {
            record_steps: true,
            ..LoadOptions::default()
        };
        // list() memoized, then print(<the list>) POPped: the call is unreachable from the
        // root. Then the list is fetched again, appended to, and POPped (a late fill).
        let streams: [&[u8]; 3] = [
            b"\x80\x02c__builtin__\nlist\nq\x00)Rq\x01c__builtin__\nprint\nq\x02h\x01\x85R0.",
            b"\x80\x02}q\x00h\x00U\x01aK\x01s0h\x00U\x01bK\x02s0.",
            b"\x80\x02]q\x00c__builtin__\nid\nq\x01h\x00\x85R0h\x00(K\x01K\x02e0.",
        ];
        for data in streams {
            let graph = loads_with(data, &opts).unwrap();
            let (bytes, profile) = reemit(&graph, data).unwrap();
            assert_eq!(bytes, data, "{:?}", String::from_utf8_lossy(data));
            assert_eq!(profile, Some(Profile::Recorded));
        }
    }

    #[test]
    fn pystr_values_carry_lone_surrogates() {
        // CPython: pickle.dumps('\ud800', 4) and pickle.dumps('\ud800', 0)
        let v = Value::PyStr(b"\xed\xa0\x80".to_vec());
        assert_eq!(
            dumps(&v, 4).unwrap(),
            b"\x80\x04\x95\x07\x00\x00\x00\x00\x00\x00\x00\x8c\x03\xed\xa0\x80\x94."
        );
        assert_eq!(dumps(&v, 0).unwrap(), b"V\\ud800\np0\n.");
        assert!(dumps(&Value::PyStr(b"\xff".to_vec()), 4).is_err());
    }
}
