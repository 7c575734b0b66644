//! What a CPython code object means in every version from 2.7 to 3.14.
//!
//! * [`Code`]: a version-independent code object built from `brine_marshal`'s version-tagged
//!   code objects ([`Code::from_marshal`], [`Code::from_stream`]) and back
//!   ([`Code::to_marshal`]): argument counts, [`flags`] (with the 3.8.3 `__future__` move),
//!   both views of the local names ([`kinds`]), constants, line tables ([`linetable`]) and
//!   exception tables ([`exctable`]).
//! * [`opcodes`]: per-version opcode tables generated from the interpreters by `cargo xtask
//!   codegen` and committed.
//! * [`Code::instructions`]: an allocation-free decoder giving what `dis.get_instructions`
//!   gives (offset, opname, folded argument, resolved `argval`), with
//!   [`InstructionLines`] adding lines and jump-target marks.
//! * [`disassemble`] / [`disassemble_recursive`]: `dis`-style listings of each version.
//! * [`CodeSummary`]: what the code reaches (globals, attribute chains, imports, calls,
//!   dynamic access, closures), statically.
//! * [`Cell`] and [`Function`] for the pickle layers. (JSON views of code objects live in
//!   `brine_pickle_ext::json`.)
//!
//! Malformed bytecode never panics: instructions carry a [`Problem`], tables return errors.
//!
//! # Example
//!
//! ```
//! use brine_codeobj::{disassemble, ArgVal, Code, OpcodeTable};
//! use brine_codeobj::code::Const;
//! use brine_marshal::PyStr;
//!
//! // `return os.system(cmd)` as CPython 3.8 compiles it.
//! let table = OpcodeTable::for_version(3, 8).unwrap();
//! let bytes = [116, 0, 160, 1, 124, 0, 161, 1, 83, 0];
//! let mut code = Code::empty(table, &bytes);
//! code.names = vec![PyStr::new(b"os", true), PyStr::new(b"system", true)];
//! code.varnames = vec![PyStr::new(b"cmd", true)];
//! code.consts = vec![Const::None];
//!
//! let ins: Vec<_> = code.instructions().collect();
//! assert_eq!(ins[1].opname, "LOAD_METHOD");
//! assert!(matches!(ins[1].argval, ArgVal::Name(n) if n.as_str() == Some("system")));
//! assert!(ins.iter().all(|i| i.problem.is_none()));
//!
//! let text = disassemble(&code);
//! assert!(text.contains("LOAD_GLOBAL              0 (os)"));
//! assert!(text.contains("CALL_METHOD              1"));
//! ```
#![warn(missing_docs)]

pub mod code;
pub mod decode;
pub mod disasm;
pub mod error;
pub mod exctable;
pub mod flags;
pub mod function;
pub mod kinds;
pub mod limits;
pub mod linetable;
pub mod marshal;
pub mod opcodes;
pub mod repr;
pub mod setorder;
pub mod summary;

pub use code::{Code, Const, Local, StoredLocals};
pub use decode::{ArgVal, Instruction, Instructions, JumpTargets, Problem};
pub use disasm::{argrepr, disassemble, disassemble_recursive, InstructionLines, LineInfo};
pub use error::{Error, Result};
pub use exctable::{parse_exception_table, ExceptionEntry};
pub use flags::{CodeFlags, FutureLayout, Futures};
pub use function::{Cell, Function};
pub use kinds::LocalKind;
pub use limits::Limits;
pub use linetable::{LineRange, LineTable, LineTableFormat, LinesStyle, Position};
pub use marshal::FromMarshalOptions;
pub use opcodes::{ArgKind, OpInfo, OpcodeTable};
pub use summary::{CalleeKind, CodeSummary, DynamicKind};
