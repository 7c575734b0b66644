//! Writing new values: [`dumps`] chooses type codes as the target CPython's
//! `marshal.dumps(value, version)` does.
//!
//! Rules, by target (Python version `py`, marshal version `v`):
//!
//! * ints: `i` when the value fits 32 bits, otherwise `l`; Python 2 writes `I` for an `int`
//!   that fits 64 bits, and `l` for every `long` ([`Object::Py2Long`]).
//! * floats and complex numbers: binary (`g`, `y`) at `v >= 2`, else text (`f`, `x`) in C's
//!   `%.17g` format.
//! * Python 3 `str`: at `v >= 4` an ASCII string is `z`/`Z` (shorter than 256) or `a`/`A`,
//!   the capital letter when interned; otherwise `t` when interned and `v >= 3`, else `u`.
//!   Python 2 `unicode` is always `u`; Python 2 `str` is `t` the first time an interned string
//!   is written and `R <index>` afterwards (at `v >= 1`), else `s`.
//! * tuples: `)` when shorter than 256 and `v >= 4`, else `(`.
//! * sets and frozensets: from 3.11, elements sorted by their own marshalled bytes (what
//!   CPython does to make the output independent of the hash seed); before, in the given order
//!   (CPython's order there depends on hashing and cannot be reproduced in general).
//! * slices: only at `v >= 5` (3.14+), else an "unmarshallable object" error.
//! * code objects: the field layout of `py` (or the layout given in [`DumpOptions`]); the
//!   strings of `co_names` and the variable-name tuples are written interned, and so are
//!   string constants made only of ASCII letters, digits and `_`, as CPython's compiler
//!   interns them; `co_name`/`co_qualname` follow each version's compiler (see
//!   `code_name_interned`); Python 2's empty string is always interned. Checked against
//!   the installed versions' stdlib pycs (same type codes, references expanded), except that
//!   3.11+ set order follows each element's marshalled bytes *with* CPython's FLAG_REF bits,
//!   which depend on reference counts, so a few sets come out in another order.
//!
//! FLAG_REF policy: never set. CPython flags objects whose reference count is above one at
//! dump time, which depends on the interpreter's state and cannot be derived from a value; an
//! [`Object`] tree has no shared identity, so each occurrence is written in full and loads
//! into an equal object. (3.14 additionally flags every interned string; we do not.)

use crate::error::{Error, ErrorKind, Result};
use crate::object::{CodeBuilder, Object};
use crate::version::{CodeField, CodeLayout, PyVersion};
use num_bigint::{BigInt, Sign};
use std::collections::HashMap;

/// Target of [`dumps`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DumpOptions {
    /// The Python version whose rules apply.
    pub python: PyVersion,
    /// The marshal format version (as passed to `marshal.dumps`); CPython accepts any
    /// number, and larger numbers behave as the largest it knows.
    pub marshal_version: u8,
    /// Code-object layout (default: the layout of `python`).
    pub layout: Option<CodeLayout>,
}

impl DumpOptions {
    /// The default marshal version of `python`.
    pub fn new(python: PyVersion) -> DumpOptions {
        DumpOptions {
            python,
            marshal_version: python.marshal_version(),
            layout: None,
        }
    }

    /// Sets the marshal version.
    pub fn with_marshal_version(mut self, version: u8) -> DumpOptions {
        self.marshal_version = version;
        self
    }
}

/// Largest nesting written (CPython's `marshal.dumps` refuses deeper objects too).
pub const MAX_DUMP_DEPTH: usize = 2000;

/// Writes `value` as `options.python`'s `marshal.dumps(value, options.marshal_version)`
/// would, type code for type code (see the module documentation for the rules and the
/// FLAG_REF policy).
pub fn dumps(value: &Object, options: &DumpOptions) -> Result<Vec<u8>> {
    let mut w = Dumper::new(options);
    w.run(value)?;
    Ok(w.out)
}

/// Work items of the iterative writer (an explicit stack instead of recursion, so deep
/// values cannot overflow the native stack).
enum Task<'v> {
    /// Write an object at a nesting depth, with the string role of its position.
    Obj(&'v Object, usize, StrRole),
    /// Write the items of a tuple of a code object with a role.
    Items(&'v [Object], usize, StrRole),
    /// Write a byte-table field of a code object.
    CodeBytes(&'v [u8]),
    /// Write a 4-byte int (code object fields).
    Int(i32),
    /// Write one byte (dict terminator).
    Byte(u8),
    /// Remember where the next set element starts.
    Mark,
    /// Sort the last `count` set elements by their bytes (3.11+).
    SortSet(usize),
}

/// `co_name` etc. when a [`CodeBuilder`] leaves them out.
static EMPTY_NAME: Object = Object::Str {
    utf8: Vec::new(),
    interned: true,
};

struct Dumper<'o> {
    out: Vec<u8>,
    o: &'o DumpOptions,
    py2_strings: HashMap<Vec<u8>, u32>,
    marks: Vec<usize>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum StrRole {
    Plain,
    /// Identifier (names tuples): written interned.
    Name,
    /// `co_name`/`co_qualname`: see [`code_name_interned`].
    CodeName,
    /// Code constant: interned when made of name characters only.
    Constant,
}

fn all_name_chars(b: &[u8]) -> bool {
    b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Whether CPython `python`'s compiler leaves `co_name`/`co_qualname` text interned (checked
/// against the stdlib pycs of each installed version): up to 3.7 the comprehension names
/// (`<listcomp>`, ...) are not interned; 3.8-3.10 and 3.13 intern every name; 3.11 and 3.12
/// only names made of identifier characters (so not `<module>` or `f.<locals>.g`).
fn code_name_interned(python: PyVersion, text: &[u8]) -> bool {
    if !python.at_least(3, 8) {
        !matches!(
            text,
            b"<listcomp>" | b"<dictcomp>" | b"<setcomp>" | b"<genexpr>"
        )
    } else if python.at_least(3, 11) && !python.at_least(3, 13) {
        all_name_chars(text)
    } else {
        true
    }
}

impl<'o> Dumper<'o> {
    fn new(o: &'o DumpOptions) -> Dumper<'o> {
        Dumper {
            out: Vec::new(),
            o,
            py2_strings: HashMap::new(),
            marks: Vec::new(),
        }
    }

    fn py2(&self) -> bool {
        self.o.python.is_py2()
    }

    fn len(&mut self, n: usize) -> Result<()> {
        let n = i32::try_from(n).map_err(|_| {
            Error::new(
                self.out.len(),
                ErrorKind::Unmarshallable("object too large".into()),
            )
        })?;
        self.out.extend_from_slice(&n.to_le_bytes());
        Ok(())
    }

    fn pstring(&mut self, code: u8, b: &[u8]) -> Result<()> {
        self.out.push(code);
        self.len(b.len())?;
        self.out.extend_from_slice(b);
        Ok(())
    }

    fn run<'v>(&mut self, value: &'v Object) -> Result<()> {
        let mut tasks: Vec<Task<'v>> = vec![Task::Obj(value, 0, StrRole::Plain)];
        while let Some(task) = tasks.pop() {
            match task {
                Task::Obj(v, depth, role) => self.object(v, depth, role, &mut tasks)?,
                Task::Items(items, depth, role) => {
                    self.tuple_header(items.len())?;
                    tasks.extend(items.iter().rev().map(|it| Task::Obj(it, depth + 1, role)));
                }
                Task::CodeBytes(b) => self.code_bytes(b)?,
                Task::Int(v) => self.out.extend_from_slice(&v.to_le_bytes()),
                Task::Byte(b) => self.out.push(b),
                Task::Mark => self.marks.push(self.out.len()),
                Task::SortSet(count) => self.sort_set(count),
            }
        }
        Ok(())
    }

    fn tuple_header(&mut self, n: usize) -> Result<()> {
        if self.o.marshal_version >= 4 && n < 256 {
            self.out.push(b')');
            self.out.push(n as u8);
            Ok(())
        } else {
            self.out.push(b'(');
            self.len(n)
        }
    }

    fn object<'v>(
        &mut self,
        v: &'v Object,
        depth: usize,
        role: StrRole,
        tasks: &mut Vec<Task<'v>>,
    ) -> Result<()> {
        if depth >= MAX_DUMP_DEPTH {
            return Err(Error::new(
                self.out.len(),
                ErrorKind::Unmarshallable("object too deeply nested to marshal".into()),
            ));
        }
        let mv = self.o.marshal_version;
        let d = depth + 1;
        match v {
            Object::None => self.out.push(b'N'),
            Object::Bool(true) => self.out.push(b'T'),
            Object::Bool(false) => self.out.push(b'F'),
            Object::StopIteration => self.out.push(b'S'),
            Object::Ellipsis => self.out.push(b'.'),
            Object::Int(i) => self.int(i, false),
            Object::Py2Long(i) => self.int(i, self.py2()),
            Object::Float(f) => {
                if mv > 1 {
                    self.out.push(b'g');
                    self.out.extend_from_slice(&f.to_le_bytes());
                } else {
                    self.out.push(b'f');
                    self.text_float(*f);
                }
            }
            Object::Complex(re, im) => {
                if mv > 1 {
                    self.out.push(b'y');
                    self.out.extend_from_slice(&re.to_le_bytes());
                    self.out.extend_from_slice(&im.to_le_bytes());
                } else {
                    self.out.push(b'x');
                    self.text_float(*re);
                    self.text_float(*im);
                }
            }
            Object::Bytes(b) => self.pstring(b's', b)?,
            Object::Py2Str { data, interned } => {
                let interned = *interned || self.role_interns(role, data);
                self.py2_str(data, interned)?
            }
            Object::Str { utf8, interned } => {
                let interned = *interned || self.role_interns(role, utf8);
                if self.py2() && matches!(role, StrRole::Name | StrRole::CodeName) {
                    // Python 2 identifiers are byte strings.
                    self.py2_str(utf8, true)?;
                } else {
                    self.text(utf8, interned)?;
                }
            }
            // Items of a tuple keep the role (constants nested in tuples are interned too).
            Object::Tuple(items) => tasks.push(Task::Items(items, depth, role)),
            Object::List(items) => {
                self.out.push(b'[');
                self.len(items.len())?;
                tasks.extend(
                    items
                        .iter()
                        .rev()
                        .map(|it| Task::Obj(it, d, StrRole::Plain)),
                );
            }
            Object::Dict(pairs) => {
                self.out.push(b'{');
                tasks.push(Task::Byte(b'0'));
                for (k, val) in pairs.iter().rev() {
                    tasks.push(Task::Obj(val, d, StrRole::Plain));
                    tasks.push(Task::Obj(k, d, StrRole::Plain));
                }
            }
            Object::Set(items) => self.set(b'<', items, d, tasks)?,
            Object::FrozenSet(items) => self.set(b'>', items, d, tasks)?,
            Object::Slice(parts) => {
                if mv < 5 || !self.o.python.at_least(3, 14) {
                    return Err(Error::new(
                        self.out.len(),
                        ErrorKind::Unmarshallable(format!(
                            "slice needs Python 3.14+ and marshal version 5+ (target {} version {mv})",
                            self.o.python
                        )),
                    ));
                }
                self.out.push(b':');
                tasks.extend(parts.iter().rev().map(|p| Task::Obj(p, d, StrRole::Plain)));
            }
            Object::Code(code) => self.code(code, d, tasks),
        }
        Ok(())
    }

    fn role_interns(&self, role: StrRole, text: &[u8]) -> bool {
        match role {
            StrRole::Plain => false,
            StrRole::Name => true,
            StrRole::CodeName => code_name_interned(self.o.python, text),
            StrRole::Constant => all_name_chars(text),
        }
    }
    fn int(&mut self, i: &BigInt, force_long: bool) {
        if !force_long {
            if let Ok(small) = i32::try_from(i) {
                self.out.push(b'i');
                self.out.extend_from_slice(&small.to_le_bytes());
                return;
            }
            if self.py2() {
                if let Ok(v) = i64::try_from(i) {
                    self.out.push(b'I');
                    self.out.extend_from_slice(&v.to_le_bytes());
                    return;
                }
            }
        }
        self.out.push(b'l');
        let (sign, mag) = i.to_u32_digits();
        // Re-split the magnitude into 15-bit digits.
        let mut digits: Vec<u16> = Vec::new();
        let mut acc: u64 = 0;
        let mut bits = 0;
        for w in mag {
            acc |= u64::from(w) << bits;
            bits += 32;
            while bits >= 15 {
                digits.push((acc & 0x7fff) as u16);
                acc >>= 15;
                bits -= 15;
            }
        }
        if bits > 0 {
            digits.push((acc & 0x7fff) as u16);
        }
        while digits.last() == Some(&0) {
            digits.pop();
        }
        let n = digits.len() as i32;
        let n = if sign == Sign::Minus { -n } else { n };
        self.out.extend_from_slice(&n.to_le_bytes());
        for d in digits {
            self.out.extend_from_slice(&d.to_le_bytes());
        }
    }

    fn text_float(&mut self, f: f64) {
        let t = format_g17(f);
        self.out.push(t.len() as u8);
        self.out.extend_from_slice(t.as_bytes());
    }

    fn py2_str(&mut self, data: &[u8], interned: bool) -> Result<()> {
        if !self.py2() {
            return self.pstring(b's', data);
        }
        // Python 2's empty string is a shared, interned object.
        if (interned || data.is_empty()) && self.o.marshal_version >= 1 {
            if let Some(&i) = self.py2_strings.get(data) {
                self.out.push(b'R');
                self.out.extend_from_slice(&i.to_le_bytes());
                return Ok(());
            }
            let i = self.py2_strings.len() as u32;
            self.py2_strings.insert(data.to_vec(), i);
            self.pstring(b't', data)
        } else {
            self.pstring(b's', data)
        }
    }

    fn text(&mut self, utf8: &[u8], interned: bool) -> Result<()> {
        let mv = self.o.marshal_version;
        if self.py2() {
            return self.pstring(b'u', utf8);
        }
        if mv >= 4 && utf8.is_ascii() {
            if utf8.len() < 256 {
                self.out.push(if interned { b'Z' } else { b'z' });
                self.out.push(utf8.len() as u8);
                self.out.extend_from_slice(utf8);
                Ok(())
            } else {
                self.pstring(if interned { b'A' } else { b'a' }, utf8)
            }
        } else if mv >= 3 && interned {
            self.pstring(b't', utf8)
        } else {
            self.pstring(b'u', utf8)
        }
    }

    fn set<'v>(
        &mut self,
        code: u8,
        items: &'v [Object],
        depth: usize,
        tasks: &mut Vec<Task<'v>>,
    ) -> Result<()> {
        self.out.push(code);
        self.len(items.len())?;
        let sort = self.o.python.at_least(3, 11) && items.len() > 1;
        if sort {
            // Each element's bytes here are what a standalone dump of it gives (this writer
            // keeps no state across objects in Python 3), so sorting the written elements
            // sorts them by their marshalled bytes, as CPython does.
            tasks.push(Task::SortSet(items.len()));
        }
        for it in items.iter().rev() {
            tasks.push(Task::Obj(it, depth, StrRole::Plain));
            if sort {
                tasks.push(Task::Mark);
            }
        }
        Ok(())
    }

    fn sort_set(&mut self, count: usize) {
        let starts = self.marks.split_off(self.marks.len() - count);
        let region_start = starts[0];
        let mut pieces: Vec<Vec<u8>> = starts
            .iter()
            .enumerate()
            .map(|(i, &s)| {
                let e = starts.get(i + 1).copied().unwrap_or(self.out.len());
                self.out[s..e].to_vec()
            })
            .collect();
        pieces.sort();
        self.out.truncate(region_start);
        for p in pieces {
            self.out.extend_from_slice(&p);
        }
    }

    fn code<'v>(&mut self, c: &'v CodeBuilder, d: usize, tasks: &mut Vec<Task<'v>>) {
        self.out.push(b'c');
        let layout = self
            .o
            .layout
            .unwrap_or_else(|| CodeLayout::for_version(self.o.python));
        for &f in layout.fields().iter().rev() {
            let task = match f {
                CodeField::ArgCount => Task::Int(c.argcount),
                CodeField::PosOnlyArgCount => Task::Int(c.posonlyargcount),
                CodeField::KwOnlyArgCount => Task::Int(c.kwonlyargcount),
                CodeField::NLocals => Task::Int(c.nlocals),
                CodeField::StackSize => Task::Int(c.stacksize),
                CodeField::Flags => Task::Int(c.flags),
                CodeField::FirstLineNo => Task::Int(c.firstlineno),
                CodeField::Code => Task::CodeBytes(&c.code),
                CodeField::Consts => Task::Items(&c.consts, d, StrRole::Constant),
                CodeField::Names => Task::Items(&c.names, d, StrRole::Name),
                CodeField::VarNames => Task::Items(&c.varnames, d, StrRole::Name),
                CodeField::FreeVars => Task::Items(&c.freevars, d, StrRole::Name),
                CodeField::CellVars => Task::Items(&c.cellvars, d, StrRole::Name),
                CodeField::LocalsPlusNames => Task::Items(&c.localsplusnames, d, StrRole::Name),
                CodeField::LocalsPlusKinds => Task::CodeBytes(&c.localspluskinds),
                CodeField::Filename => Task::Obj(
                    c.filename.as_deref().unwrap_or(&EMPTY_NAME),
                    d,
                    StrRole::Plain,
                ),
                CodeField::Name => Task::Obj(
                    c.name.as_deref().unwrap_or(&EMPTY_NAME),
                    d,
                    StrRole::CodeName,
                ),
                CodeField::QualName => Task::Obj(
                    c.qualname
                        .as_deref()
                        .or(c.name.as_deref())
                        .unwrap_or(&EMPTY_NAME),
                    d,
                    StrRole::CodeName,
                ),
                CodeField::LineTable => Task::CodeBytes(&c.linetable),
                CodeField::ExceptionTable => Task::CodeBytes(&c.exceptiontable),
            };
            tasks.push(task);
        }
    }

    /// A byte-table field of a code object: bytes in Python 3, a `str` in Python 2.
    fn code_bytes(&mut self, data: &[u8]) -> Result<()> {
        if self.py2() {
            self.py2_str(data, false)
        } else {
            self.pstring(b's', data)
        }
    }
}

/// Formats a float as C's `%.17g` (what marshal versions 0 and 1 write): 17 significant
/// digits, trailing zeros removed, exponent form when the exponent is below -4 or at least 17.
pub fn format_g17(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let sci = format!("{:.16e}", f);
    let (mant, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("exponent is an int");
    let negative = mant.starts_with('-');
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if negative { "-" } else { "" };
    if (-4..17).contains(&exp) {
        let s = if exp >= 0 {
            let int_len = (exp + 1) as usize;
            format!("{}.{}", &digits[..int_len], &digits[int_len..])
        } else {
            format!("0.{}{}", "0".repeat((-exp - 1) as usize), digits)
        };
        let s = s.trim_end_matches('0').trim_end_matches('.');
        format!("{sign}{s}")
    } else {
        let m = format!("{}.{}", &digits[..1], &digits[1..]);
        let m = m.trim_end_matches('0').trim_end_matches('.');
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{m}e{esign}{:02}", exp.abs())
    }
}
