//! Conversion between `brine_marshal`'s version-tagged code objects and [`Code`].

use brine_marshal::{CodeBuilder, CodeView, NodeId, Object, PyStr, Stream, Value};

use crate::code::{Code, Const, Local, StoredLocals};
use crate::error::{Error, Result};
use crate::kinds::LocalKind;
use crate::limits::Limits;
use crate::linetable::{LineTable, LineTableFormat};
use crate::opcodes::OpcodeTable;

/// Options for [`Code::from_marshal`].
#[derive(Debug, Clone, Copy, Default)]
pub struct FromMarshalOptions {
    /// The patch release that wrote the file, when known (for the 3.8.3 flag move).
    pub patch: Option<u8>,
    /// Limits on nesting and size.
    pub limits: Limits,
}

struct Builder<'s, 'a> {
    stream: &'s Stream<'a>,
    table: &'static OpcodeTable,
    options: FromMarshalOptions,
    codes: usize,
    constants: usize,
    /// Nodes being converted (to reject reference cycles).
    active: Vec<NodeId>,
}

fn bad(offset: u32, message: impl Into<String>) -> Error {
    Error::BadField {
        offset: offset as usize,
        message: message.into(),
    }
}

impl<'s, 'a> Builder<'s, 'a> {
    fn constant(&mut self, id: NodeId, depth: usize) -> Result<Const<'a>> {
        let id = self.stream.resolve(id);
        let node = *self.stream.get(id);
        if depth > self.options.limits.max_code_depth {
            return Err(Error::Limit("constants nested too deeply"));
        }
        self.constants += 1;
        if self.constants > self.options.limits.max_constants {
            return Err(Error::Limit(
                "too many constants (shared references expand)",
            ));
        }
        if self.active.contains(&id) {
            return Err(bad(node.offset, "a constant contains itself"));
        }
        let v = node.value;
        let major = self.table.version.0;
        let c = match v {
            Value::None | Value::Null => Const::None,
            Value::True => Const::Bool(true),
            Value::False => Const::Bool(false),
            Value::Ellipsis => Const::Ellipsis,
            Value::StopIteration => Const::StopIteration,
            // A Python 2 `long` stays a BigInt even when small: it prints with an `L`.
            Value::Long(_) if major == 2 => {
                Const::BigInt(Box::new(v.as_bigint().unwrap_or_default()))
            }
            Value::Int(_) | Value::Int64(_) | Value::Long(_) => match v.as_i64() {
                Some(i) => Const::Int(i),
                None => Const::BigInt(Box::new(v.as_bigint().unwrap_or_default())),
            },
            Value::Float(_) | Value::FloatText(_) => Const::Float(
                v.as_f64()
                    .ok_or_else(|| bad(node.offset, "bad float text"))?,
            ),
            Value::Complex { .. } | Value::ComplexText { .. } => {
                let (re, im) = v
                    .as_complex()
                    .ok_or_else(|| bad(node.offset, "bad complex text"))?;
                Const::Complex(re, im)
            }
            Value::Bytes(b) => {
                if self.table.version.0 == 2 {
                    Const::Py2Str(b)
                } else {
                    Const::Bytes(b)
                }
            }
            Value::Py2Str { data, .. } => Const::Py2Str(data),
            Value::Str { .. } | Value::StringRef { .. } => match self.stream.text(id) {
                Some(s) => Const::Str(s),
                None => match self.stream.value(id).as_bytes() {
                    Some(b) => Const::Py2Str(b),
                    None => return Err(bad(node.offset, "unreadable string")),
                },
            },
            Value::Tuple { .. }
            | Value::List(_)
            | Value::Set(_)
            | Value::FrozenSet(_)
            | Value::Slice(_) => {
                self.active.push(id);
                let mut items = Vec::new();
                let children: Vec<NodeId> = self.stream.items(id).collect();
                for child in children {
                    items.push(self.constant(child, depth + 1)?);
                }
                self.active.pop();
                match v {
                    Value::Tuple { .. } => Const::Tuple(items),
                    Value::List(_) => Const::List(items),
                    Value::Set(_) => Const::Set(items),
                    Value::FrozenSet(_) => Const::FrozenSet(items),
                    _ => {
                        let mut it = items.into_iter();
                        let mut next = || it.next().unwrap_or(Const::None);
                        Const::Slice(Box::new([next(), next(), next()]))
                    }
                }
            }
            Value::Dict { .. } | Value::FrozenDict { .. } => {
                self.active.push(id);
                let mut pairs = Vec::new();
                let children: Vec<(NodeId, NodeId)> = self.stream.dict_pairs(id).collect();
                for (k, x) in children {
                    pairs.push((self.constant(k, depth + 1)?, self.constant(x, depth + 1)?));
                }
                self.active.pop();
                Const::Dict(pairs)
            }
            Value::Code(_) => {
                let view = self
                    .stream
                    .code_view(id)
                    .ok_or_else(|| bad(node.offset, "code object missing from the stream"))?;
                self.active.push(id);
                let code = self.code(view, depth + 1)?;
                self.active.pop();
                Const::Code(Box::new(code))
            }
            Value::Ref { .. } => return Err(bad(node.offset, "unresolved reference")),
        };
        Ok(c)
    }

    fn code(&mut self, view: CodeView<'_, 'a>, depth: usize) -> Result<Code<'a>> {
        if depth > self.options.limits.max_code_depth {
            return Err(Error::Limit("code objects nested too deeply"));
        }
        self.codes += 1;
        if self.codes > self.options.limits.max_code_objects {
            return Err(Error::Limit("too many code objects"));
        }
        let offset = self.stream.get(view.code.node).offset;
        let table = self.table;
        let (major, minor) = table.version;
        let nonneg = |v: Option<i32>, what: &str| -> Result<u32> {
            u32::try_from(v.unwrap_or(0)).map_err(|_| bad(offset, format!("negative {what}")))
        };
        let text = |s: Option<PyStr<'a>>| s.unwrap_or(PyStr::new(b"", false));
        let mut code = Code::empty(table, view.code_bytes());
        code.patch = self.options.patch;
        code.argcount = nonneg(Some(view.argcount), "co_argcount")?;
        code.posonlyargcount = nonneg(view.posonlyargcount, "co_posonlyargcount")?;
        code.kwonlyargcount = nonneg(view.kwonlyargcount, "co_kwonlyargcount")?;
        code.stacksize = view.stacksize as u32;
        code.raw_flags = view.flags_u32();
        code.names = view.names();
        code.filename = text(view.filename());
        code.name = text(view.name());
        code.qualname = view.qualname();
        code.firstlineno = view.firstlineno;
        code.linetable = LineTable::new(
            LineTableFormat::for_version(major, minor),
            view.linetable_bytes(),
            view.firstlineno,
        );
        code.exceptiontable = view.exceptiontable_bytes();
        let locals = if (major, minor) >= (3, 11) {
            let names = view.localsplusnames();
            let kinds = view.localspluskinds_bytes();
            if names.len() != kinds.len() {
                return Err(bad(
                    offset,
                    format!("{} localsplus names but {} kinds", names.len(), kinds.len()),
                ));
            }
            StoredLocals::LocalsPlus(
                names
                    .into_iter()
                    .zip(kinds)
                    .map(|(name, &k)| Local {
                        name,
                        kind: LocalKind::from_bits_retain(k),
                    })
                    .collect(),
            )
        } else {
            StoredLocals::Split {
                varnames: view.varnames(),
                cellvars: view.cellvars(),
                freevars: view.freevars(),
            }
        };
        code = code.with_locals(locals);
        let consts = view.consts();
        let mut out = Vec::with_capacity(consts.len());
        for id in consts {
            out.push(self.constant(id, depth)?);
        }
        code.consts = out;
        Ok(code)
    }
}

impl<'a> Code<'a> {
    /// Builds a [`Code`] (and its nested code objects) from a code object of a read stream.
    pub fn from_marshal(view: CodeView<'_, 'a>, options: FromMarshalOptions) -> Result<Code<'a>> {
        let v = view.code.version;
        let table =
            OpcodeTable::for_version(v.major, v.minor).ok_or(Error::UnsupportedVersion {
                major: v.major,
                minor: v.minor,
            })?;
        Builder {
            stream: view.stream,
            table,
            options,
            codes: 0,
            constants: 0,
            active: Vec::new(),
        }
        .code(view, 0)
    }

    /// The root code object of a stream (a `.pyc` body), converted.
    pub fn from_stream(stream: &Stream<'a>, options: FromMarshalOptions) -> Result<Code<'a>> {
        let view = stream.root_code().ok_or(Error::BadField {
            offset: 0,
            message: "the stream's root object is not a code object".into(),
        })?;
        Code::from_marshal(view, options)
    }

    /// The fields of this code object in its own version's layout, for `brine_marshal::dumps`
    /// (the classic tuples up to 3.10, localsplus from 3.11).
    pub fn to_marshal(&self) -> CodeBuilder {
        let s = |p: &PyStr<'_>| Object::Str {
            utf8: p.to_surrogatepass_utf8().into_owned(),
            interned: true,
        };
        let py2 = self.version().0 == 2;
        let name_obj = |p: &PyStr<'_>| {
            if py2 {
                Object::Py2Str {
                    data: p.chars().map(|c| c as u8).collect(),
                    interned: true,
                }
            } else {
                s(p)
            }
        };
        let mut b = CodeBuilder {
            argcount: self.argcount as i32,
            posonlyargcount: self.posonlyargcount as i32,
            kwonlyargcount: self.kwonlyargcount as i32,
            nlocals: self.nlocals() as i32,
            stacksize: self.stacksize as i32,
            flags: self.raw_flags as i32,
            code: self.code.to_vec(),
            consts: self
                .consts
                .iter()
                .map(|c| const_to_object(c, py2))
                .collect(),
            names: self.names.iter().map(name_obj).collect(),
            filename: Some(Box::new(name_obj(&self.filename))),
            name: Some(Box::new(name_obj(&self.name))),
            qualname: self.qualname.as_ref().map(|q| Box::new(s(q))),
            firstlineno: self.firstlineno,
            linetable: self.linetable.bytes.to_vec(),
            exceptiontable: self.exceptiontable.to_vec(),
            ..CodeBuilder::default()
        };
        match self.stored_locals() {
            StoredLocals::Split {
                varnames,
                cellvars,
                freevars,
            } => {
                b.varnames = varnames.iter().map(name_obj).collect();
                b.cellvars = cellvars.iter().map(name_obj).collect();
                b.freevars = freevars.iter().map(name_obj).collect();
            }
            StoredLocals::LocalsPlus(lp) => {
                b.localsplusnames = lp.iter().map(|l| s(&l.name)).collect();
                b.localspluskinds = lp.iter().map(|l| l.kind.bits()).collect();
            }
        }
        b
    }
}

fn const_to_object(c: &Const<'_>, py2: bool) -> Object {
    let conv = |x: &Const<'_>| const_to_object(x, py2);
    match c {
        Const::None => Object::None,
        Const::Bool(b) => Object::Bool(*b),
        Const::Ellipsis => Object::Ellipsis,
        Const::StopIteration => Object::StopIteration,
        Const::Int(i) => Object::int(*i),
        // A Python 2 BigInt is a `long` (see `Code::from_marshal`).
        Const::BigInt(b) if py2 => Object::Py2Long((**b).clone()),
        Const::BigInt(b) => Object::Int((**b).clone()),
        Const::Float(f) => Object::Float(*f),
        Const::Complex(re, im) => Object::Complex(*re, *im),
        Const::Str(s) => Object::Str {
            utf8: s.to_surrogatepass_utf8().into_owned(),
            interned: false,
        },
        Const::Bytes(b) => Object::Bytes(b.to_vec()),
        Const::Py2Str(b) => Object::Py2Str {
            data: b.to_vec(),
            interned: false,
        },
        Const::Tuple(items) => Object::Tuple(items.iter().map(conv).collect()),
        Const::List(items) => Object::List(items.iter().map(conv).collect()),
        Const::Set(items) => Object::Set(items.iter().map(conv).collect()),
        Const::FrozenSet(items) => Object::FrozenSet(items.iter().map(conv).collect()),
        Const::Dict(pairs) => Object::Dict(pairs.iter().map(|(k, v)| (conv(k), conv(v))).collect()),
        Const::Slice(parts) => Object::Slice(Box::new([
            conv(&parts[0]),
            conv(&parts[1]),
            conv(&parts[2]),
        ])),
        Const::Code(code) => Object::Code(Box::new(code.to_marshal())),
    }
}
