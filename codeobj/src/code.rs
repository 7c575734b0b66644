//! The version-independent [`Code`] and its constants ([`Const`]).

use brine_marshal::PyStr;
use num_bigint::BigInt;

use crate::exctable::{ExceptionEntries, ExceptionEntry};
use crate::flags::{CodeFlags, FutureLayout, Futures};
use crate::kinds::{join_localsplus, split_localsplus, ArgShape, LocalKind};
use crate::linetable::{LineRange, LineTable, LineTableFormat, LinesStyle, Position};
use crate::opcodes::OpcodeTable;

/// A constant of a code object (`co_consts` item), borrowing text from the input.
#[derive(Debug, Clone, PartialEq)]
pub enum Const<'a> {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// `Ellipsis`.
    Ellipsis,
    /// The `StopIteration` class (marshal `S`).
    StopIteration,
    /// An `int` that fits `i64`.
    Int(i64),
    /// A larger `int`.
    BigInt(Box<BigInt>),
    /// A `float`.
    Float(f64),
    /// A `complex` (real, imaginary).
    Complex(f64, f64),
    /// Py3 `str` / Py2 `unicode`.
    Str(PyStr<'a>),
    /// Py3 `bytes`.
    Bytes(&'a [u8]),
    /// Py2 `str` (bytes with string meaning).
    Py2Str(&'a [u8]),
    /// `tuple`.
    Tuple(Vec<Const<'a>>),
    /// `list` (never produced by compilers, but marshal allows it).
    List(Vec<Const<'a>>),
    /// `set`.
    Set(Vec<Const<'a>>),
    /// `frozenset`.
    FrozenSet(Vec<Const<'a>>),
    /// `dict`.
    Dict(Vec<(Const<'a>, Const<'a>)>),
    /// `slice` (3.14+).
    Slice(Box<[Const<'a>; 3]>),
    /// A nested code object.
    Code(Box<Code<'a>>),
}

impl<'a> Const<'a> {
    /// The text, if this is a Py3 `str` / Py2 `unicode` or Py2 `str`.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Const::Str(s) => Some(s.to_string_lossy()),
            Const::Py2Str(b) => Some(b.iter().map(|&c| c as char).collect()),
            _ => None,
        }
    }

    /// The integer, if this is a small `int`.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Const::Int(i) => Some(*i),
            Const::Bool(b) => Some(i64::from(*b)),
            Const::BigInt(b) => i64::try_from(&**b).ok(),
            _ => None,
        }
    }

    /// The nested code object, if this is one.
    pub fn as_code(&self) -> Option<&Code<'a>> {
        match self {
            Const::Code(c) => Some(c),
            _ => None,
        }
    }
}

/// One localsplus entry: a name with its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Local<'a> {
    /// The name.
    pub name: PyStr<'a>,
    /// The kind bits (derived from the classic tuples before 3.11).
    pub kind: LocalKind,
}

/// A code object in a version-independent form.
///
/// Both views of the local names are available whatever the version: the classic
/// `varnames`/`cellvars`/`freevars` tuples and the 3.11+ localsplus list. The one the version
/// stores is kept exactly as read; the other is derived (see [`crate::kinds`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Code<'a> {
    /// The opcode table of the version that produced this code.
    pub table: &'static OpcodeTable,
    /// The patch release, when known (only matters for the 3.8 `__future__` flag move).
    pub patch: Option<u8>,
    /// `co_argcount`.
    pub argcount: u32,
    /// `co_posonlyargcount` (0 before 3.8).
    pub posonlyargcount: u32,
    /// `co_kwonlyargcount` (0 in 2.7).
    pub kwonlyargcount: u32,
    /// `co_stacksize`.
    pub stacksize: u32,
    /// `co_flags` as stored.
    pub raw_flags: u32,
    /// `co_code`.
    pub code: &'a [u8],
    /// `co_consts`.
    pub consts: Vec<Const<'a>>,
    /// `co_names`.
    pub names: Vec<PyStr<'a>>,
    /// `co_varnames`.
    pub varnames: Vec<PyStr<'a>>,
    /// `co_cellvars`.
    pub cellvars: Vec<PyStr<'a>>,
    /// `co_freevars`.
    pub freevars: Vec<PyStr<'a>>,
    /// `co_localsplusnames` with `co_localspluskinds`.
    pub localsplus: Vec<Local<'a>>,
    /// `co_filename`.
    pub filename: PyStr<'a>,
    /// `co_name`.
    pub name: PyStr<'a>,
    /// `co_qualname` (3.11+).
    pub qualname: Option<PyStr<'a>>,
    /// `co_firstlineno`.
    pub firstlineno: i32,
    /// `co_lnotab` / `co_linetable`, tagged with its format.
    pub linetable: LineTable<'a>,
    /// `co_exceptiontable` (3.11+; empty before).
    pub exceptiontable: &'a [u8],
}

/// How a version stores local names.
#[derive(Debug, Clone, PartialEq)]
pub enum StoredLocals<'a> {
    /// ≤ 3.10: three tuples.
    Split {
        /// `co_varnames`.
        varnames: Vec<PyStr<'a>>,
        /// `co_cellvars`.
        cellvars: Vec<PyStr<'a>>,
        /// `co_freevars`.
        freevars: Vec<PyStr<'a>>,
    },
    /// 3.11+: names with one kind byte each.
    LocalsPlus(Vec<Local<'a>>),
}

impl<'a> Code<'a> {
    /// Fills in the derived view of the local names from the stored one.
    pub fn with_locals(mut self, locals: StoredLocals<'a>) -> Code<'a> {
        match locals {
            StoredLocals::Split {
                varnames,
                cellvars,
                freevars,
            } => {
                let shape = (self.version() >= (3, 14)).then(|| self.arg_shape());
                self.localsplus = join_localsplus(&varnames, &cellvars, &freevars, shape)
                    .into_iter()
                    .map(|(name, kind)| Local { name, kind })
                    .collect();
                self.varnames = varnames;
                self.cellvars = cellvars;
                self.freevars = freevars;
            }
            StoredLocals::LocalsPlus(lp) => {
                let kinds: Vec<LocalKind> = lp.iter().map(|l| l.kind).collect();
                let split = split_localsplus(&kinds);
                self.varnames = split.varnames.iter().map(|&i| lp[i].name).collect();
                self.cellvars = split.cellvars.iter().map(|&i| lp[i].name).collect();
                self.freevars = split.freevars.iter().map(|&i| lp[i].name).collect();
                self.localsplus = lp;
            }
        }
        self
    }

    /// `(major, minor)` of the version that produced this code.
    pub fn version(&self) -> (u8, u8) {
        self.table.version
    }

    /// Whether the version stores localsplus (3.11+) rather than the classic tuples.
    pub fn stores_localsplus(&self) -> bool {
        self.version() >= (3, 11)
    }

    /// The stored form of the local names, for writing this code back in its own version.
    pub fn stored_locals(&self) -> StoredLocals<'a> {
        if self.stores_localsplus() {
            StoredLocals::LocalsPlus(self.localsplus.clone())
        } else {
            StoredLocals::Split {
                varnames: self.varnames.clone(),
                cellvars: self.cellvars.clone(),
                freevars: self.freevars.clone(),
            }
        }
    }

    /// `co_nlocals`: the number of varnames.
    pub fn nlocals(&self) -> usize {
        self.varnames.len()
    }

    /// The version-independent `co_flags` bits.
    pub fn flags(&self) -> CodeFlags {
        CodeFlags::from_bits_retain(self.raw_flags)
    }

    /// Where this code's version keeps the `__future__` bits.
    pub fn future_layout(&self) -> FutureLayout {
        let (a, b) = self.version();
        FutureLayout::for_version(a, b, self.patch)
    }

    /// The `from __future__` features recorded in `co_flags`.
    pub fn futures(&self) -> Futures {
        self.future_layout().decode(self.raw_flags)
    }

    fn arg_shape(&self) -> ArgShape {
        let f = self.flags();
        ArgShape {
            posonly: self.posonlyargcount as usize,
            positional: self.argcount as usize,
            kwonly: self.kwonlyargcount as usize,
            varargs: f.contains(CodeFlags::VARARGS),
            varkeywords: f.contains(CodeFlags::VARKEYWORDS),
        }
    }

    /// How `co_lines()` / `dis.findlinestarts` behave for this version.
    pub fn lines_style(&self) -> LinesStyle {
        let (a, b) = self.version();
        LinesStyle::for_version(a, b)
    }

    /// `co_lines()` (3.10+), or the ranges between line starts for older versions.
    pub fn lines(&self) -> crate::Result<Vec<LineRange>> {
        self.linetable
            .lines(self.lines_style(), self.code.len() as u32)
    }

    /// `dis.findlinestarts` of this version.
    pub fn line_starts(&self) -> crate::Result<Vec<(u32, Option<i32>)>> {
        self.linetable
            .line_starts(self.lines_style(), self.code.len() as u32)
    }

    /// `co_positions()` (3.11+; empty before).
    pub fn positions(&self) -> crate::Result<Vec<Position>> {
        self.linetable.positions()
    }

    /// The exception table entries (3.11+; none before).
    pub fn exception_entries(&self) -> ExceptionEntries<'a> {
        ExceptionEntries::new(self.exceptiontable)
    }

    /// The exception table, decoded.
    pub fn exception_table(&self) -> crate::Result<Vec<ExceptionEntry>> {
        self.exception_entries().collect()
    }

    /// The name used for a fast-local operand (`LOAD_FAST` and friends).
    pub fn local_name(&self, arg: u32) -> Option<PyStr<'a>> {
        if self.stores_localsplus() {
            self.localsplus.get(arg as usize).map(|l| l.name)
        } else {
            self.varnames.get(arg as usize).copied()
        }
    }

    /// The name used for a cell/free operand (`LOAD_DEREF` and friends).
    pub fn deref_name(&self, arg: u32) -> Option<PyStr<'a>> {
        if self.stores_localsplus() {
            self.localsplus.get(arg as usize).map(|l| l.name)
        } else {
            let i = arg as usize;
            match self.cellvars.get(i) {
                Some(n) => Some(*n),
                None => self.freevars.get(i - self.cellvars.len()).copied(),
            }
        }
    }

    /// The nested code objects among the constants (direct children), with their index.
    pub fn nested(&self) -> impl Iterator<Item = (usize, &Code<'a>)> {
        self.consts
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.as_code().map(|c| (i, c)))
    }

    /// A minimal code object for `table`'s version with empty fields; convenient for tests
    /// and for building code by hand.
    pub fn empty(table: &'static OpcodeTable, code: &'a [u8]) -> Code<'a> {
        let (a, b) = table.version;
        Code {
            table,
            patch: None,
            argcount: 0,
            posonlyargcount: 0,
            kwonlyargcount: 0,
            stacksize: 0,
            raw_flags: 0,
            code,
            consts: Vec::new(),
            names: Vec::new(),
            varnames: Vec::new(),
            cellvars: Vec::new(),
            freevars: Vec::new(),
            localsplus: Vec::new(),
            filename: PyStr::new(b"", false),
            name: PyStr::new(b"", false),
            qualname: None,
            firstlineno: 1,
            linetable: LineTable::new(LineTableFormat::for_version(a, b), &[], 1),
            exceptiontable: &[],
        }
    }
}
