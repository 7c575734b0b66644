//! Python pickle protocols 0–5, read (and written) exactly as CPython does, without executing
//! anything.
//!
//! * [`opcodes`]: the one table of all 68 opcodes ([`for_each_opcode!`]); the reader, the
//!   disassembler and the writer are driven by it.
//! * [`reader`]: zero-copy ([`reader::OpReader`]) and streaming ([`reader::StreamOpReader`])
//!   opcode readers with `pickletools.genops` semantics.
//! * [`dis`]: a disassembler whose text equals CPython 3.13's `pickletools.dis`.
//! * [`vm`] and [`graph`]: the symbolic pickle machine ([`loads`], [`Loader`]) building an arena
//!   [`Graph`]: sharing and cycles kept, calls and globals recorded, never run. Checks follow
//!   CPython's C unpickler ([`LoadOptions`] selects version, encoding, strictness, environment).
//! * [`limits`]: every resource limit; [`error`]: typed errors with offset and opcode.
//! * `serde` (feature `serde`): deserialize plain-data pickles into Rust types.
//! * [`writer`]: byte-exact writer.
//!
//! ```
//! use brine_pickle_core::{dis::{dis, DisOptions}, loads, NodeKind};
//!
//! // pickle.dumps({'a': [1, 2.5]}, 2) as CPython 3.13 writes it.
//! let data = b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01]q\x02(K\x01G@\x04\x00\x00\x00\x00\x00\x00es.";
//! let graph = loads(data).unwrap();
//! let list = graph.root_ref().get("a").unwrap();
//! assert_eq!(list.index(0).unwrap().as_i64(), Some(1));
//! assert_eq!(list.index(1).unwrap().as_f64(), Some(2.5));
//! assert!(matches!(graph.kind(graph.root()), NodeKind::Dict(_)));
//!
//! let text = dis(data, &DisOptions::default()).text;
//! assert!(text.ends_with("highest protocol among opcodes = 2\n"));
//! ```

#![warn(missing_docs)]

pub mod dis;
pub mod error;
pub mod graph;
pub mod limits;
pub mod names_table;
pub mod opcodes;
pub mod options;
mod printable_table;
pub mod pyrepr;
pub mod pystr;
pub mod reader;
#[cfg(feature = "serde")]
pub mod serde;
pub mod vm;
pub mod writer;

pub use error::{Error, ErrorKind, Result};
pub use graph::{
    CallKind, Global, Graph, Mutation, Node, NodeId, NodeKind, NodeRef, Object, PickleInfo,
    Py2Encoding, SharedInput, Span, Step,
};
pub use limits::Limits;
pub use opcodes::{ArgKind, Opcode, StackKind};
pub use options::{Environment, LoadOptions, Strictness};
pub use pystr::PyStr;
pub use vm::{loads, loads_all, loads_from_reader, loads_shared, loads_with, Loaded, Loader};
