//! What a CPython code object means in every version from 2.7 to 3.14.
//!
//! * [`Code`]: a version-independent code object built from `brine_marshal`'s version-tagged
//!   [`brine_marshal::CodeObject`] ([`Code::from_marshal`]) and back ([`Code::to_marshal`]).
//! * [`opcodes`]: per-version opcode tables generated from the interpreters (`cargo xtask
//!   codegen`).
//! * [`Code::instructions`]: an allocation-free decoder giving what `dis.get_instructions`
//!   gives.
//! * [`linetable`], [`exctable`], [`flags`], [`kinds`]: the tables and bit sets of a code
//!   object.
#![warn(missing_docs)]

pub mod code;
pub mod decode;
pub mod disasm;
pub mod error;
pub mod exctable;
pub mod flags;
#[cfg(feature = "json")]
pub mod json;
pub mod kinds;
pub mod limits;
pub mod linetable;
pub mod marshal;
pub mod opcodes;
pub mod repr;
pub mod setorder;

pub use code::{Code, Const, Local, StoredLocals};
pub use decode::{ArgVal, Instruction, Instructions, JumpTargets, Problem};
pub use disasm::{argrepr, disassemble, disassemble_recursive, InstructionLines, LineInfo};
pub use error::{Error, Result};
pub use exctable::{parse_exception_table, ExceptionEntry};
pub use flags::{CodeFlags, FutureLayout, Futures};
pub use kinds::LocalKind;
pub use limits::Limits;
pub use linetable::{LineRange, LineTable, LineTableFormat, LinesStyle, Position};
pub use marshal::FromMarshalOptions;
pub use opcodes::{ArgKind, OpInfo, OpcodeTable};
