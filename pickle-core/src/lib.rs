//! Python pickle protocols 0–5, read (and written) exactly as CPython does, without executing
//! anything.
//!
//! * [`opcodes`]: the one table of all 68 opcodes ([`for_each_opcode!`]), from which the rest
//!   is generated.
//! * [`graph`]: the object graph a pickle builds (arena of [`Node`]s; sharing and cycles kept).
//!
//! ```
//! use brine_pickle_core::{opcodes::Opcode, Graph, NodeKind};
//! assert_eq!(Opcode::from_byte(0x80), Some(Opcode::Proto));
//! let g = Graph::new();
//! assert!(g.is_empty());
//! let _ = NodeKind::None;
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
    Py2Encoding, Span, Step,
};
pub use limits::Limits;
pub use opcodes::{ArgKind, Opcode, StackKind};
pub use options::{Environment, LoadOptions, Strictness};
pub use pystr::PyStr;
pub use vm::{loads, loads_all, loads_with, Loaded, Loader};
