//! Owned values for writing new marshal data ([`crate::dumps()`]), and conversion from a read
//! [`Stream`].

use crate::error::{Error, ErrorKind, Result};
use crate::node::{NodeId, Value};
use crate::stream::Stream;
use crate::version::CodeField;
use num_bigint::BigInt;

/// An owned Python value, as built in Rust to be written with [`crate::dumps()`].
///
/// There is no sharing: each occurrence is written in full (no FLAG_REF, see
/// [`crate::dumps()`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// The `StopIteration` class.
    StopIteration,
    /// `Ellipsis`.
    Ellipsis,
    /// `int` (in Python 2: `int` when it fits 64 bits, `long` otherwise).
    Int(BigInt),
    /// Python 2 `long` (written `l` even when small). In Python 3, the same as `Int`.
    Py2Long(BigInt),
    /// `float`.
    Float(f64),
    /// `complex` (real, imaginary).
    Complex(f64, f64),
    /// Py3 `bytes`; in Python 2, a (non-interned) `str`.
    Bytes(Vec<u8>),
    /// Python 2 `str`, possibly interned (`t`/`R` at marshal version 1+). In Python 3, bytes.
    Py2Str {
        /// The bytes.
        data: Vec<u8>,
        /// Whether the string is interned.
        interned: bool,
    },
    /// Py3 `str`, Py2 `unicode`: UTF-8 with lone surrogates allowed (`surrogatepass`).
    Str {
        /// The text as surrogatepass UTF-8 (see [`crate::text::push_code_point`]).
        utf8: Vec<u8>,
        /// Whether the string is interned at dump time (decides `Z`/`A`/`t` vs `z`/`a`/`u`).
        interned: bool,
    },
    /// `tuple`.
    Tuple(Vec<Object>),
    /// `list`.
    List(Vec<Object>),
    /// `dict`, pairs in insertion order.
    Dict(Vec<(Object, Object)>),
    /// `set`, in the given order (3.11+ writers sort it).
    Set(Vec<Object>),
    /// `frozenset`, in the given order (3.11+ writers sort it).
    FrozenSet(Vec<Object>),
    /// `slice(start, stop, step)` (marshal version 5, Python 3.14+).
    Slice(Box<[Object; 3]>),
    /// A code object.
    Code(Box<CodeBuilder>),
}

impl Object {
    /// A non-interned `str`.
    pub fn str(text: &str) -> Object {
        Object::Str {
            utf8: text.as_bytes().to_vec(),
            interned: false,
        }
    }

    /// An interned `str` (as identifiers are).
    pub fn interned_str(text: &str) -> Object {
        Object::Str {
            utf8: text.as_bytes().to_vec(),
            interned: true,
        }
    }

    /// A `str` from code points, lone surrogates allowed (values above 0x10FFFF are replaced
    /// with U+FFFD).
    pub fn str_from_code_points(code_points: &[u32], interned: bool) -> Object {
        let mut utf8 = Vec::with_capacity(code_points.len());
        for &c in code_points {
            crate::text::push_code_point(&mut utf8, if c > 0x10FFFF { 0xFFFD } else { c });
        }
        Object::Str { utf8, interned }
    }

    /// An `int`.
    pub fn int(v: impl Into<BigInt>) -> Object {
        Object::Int(v.into())
    }

    /// `bytes`.
    pub fn bytes(b: &[u8]) -> Object {
        Object::Bytes(b.to_vec())
    }

    /// Builds an owned copy of the object `id` of a read stream, following references.
    ///
    /// Shared objects are copied at each use, so the result can be much larger than the
    /// stream; `max_objects` bounds the number of objects built (an error beyond). Recursive
    /// containers (a list containing itself) cannot be represented and are an error.
    pub fn from_stream(stream: &Stream<'_>, id: NodeId, max_objects: usize) -> Result<Object> {
        FromStream {
            stream,
            budget: max_objects,
            active: vec![false; stream.len()],
        }
        .build(id)
    }
}

/// The fields of a code object to write. Fields the target layout lacks are ignored; for
/// 3.11+ layouts `localsplusnames`/`localspluskinds` are written, before that `varnames`,
/// `freevars`, `cellvars` and `nlocals`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CodeBuilder {
    /// `co_argcount`.
    pub argcount: i32,
    /// `co_posonlyargcount` (3.8+).
    pub posonlyargcount: i32,
    /// `co_kwonlyargcount` (3.0+).
    pub kwonlyargcount: i32,
    /// `co_nlocals` (up to 3.10).
    pub nlocals: i32,
    /// `co_stacksize`.
    pub stacksize: i32,
    /// `co_flags`.
    pub flags: i32,
    /// `co_code`.
    pub code: Vec<u8>,
    /// `co_consts`.
    pub consts: Vec<Object>,
    /// `co_names` (strings).
    pub names: Vec<Object>,
    /// `co_varnames` (up to 3.10).
    pub varnames: Vec<Object>,
    /// `co_freevars` (up to 3.10).
    pub freevars: Vec<Object>,
    /// `co_cellvars` (up to 3.10).
    pub cellvars: Vec<Object>,
    /// `co_localsplusnames` (3.11+).
    pub localsplusnames: Vec<Object>,
    /// `co_localspluskinds` (3.11+).
    pub localspluskinds: Vec<u8>,
    /// `co_filename`.
    pub filename: Option<Box<Object>>,
    /// `co_name`.
    pub name: Option<Box<Object>>,
    /// `co_qualname` (3.11+; defaults to `name`).
    pub qualname: Option<Box<Object>>,
    /// `co_firstlineno`.
    pub firstlineno: i32,
    /// `co_lnotab` / `co_linetable`.
    pub linetable: Vec<u8>,
    /// `co_exceptiontable` (3.11+).
    pub exceptiontable: Vec<u8>,
}

struct FromStream<'s, 'a> {
    stream: &'s Stream<'a>,
    budget: usize,
    active: Vec<bool>,
}

/// Steps of the iterative copy (an explicit stack: no recursion, whatever the depth).
enum Step {
    /// Visit a node: copy it if it is a leaf, else schedule its children and its assembly.
    Enter(NodeId),
    /// Assemble a container from its `usize` copied children on the value stack.
    Exit(NodeId, usize),
}

impl FromStream<'_, '_> {
    fn build(&mut self, root: NodeId) -> Result<Object> {
        let stream = self.stream;
        let mut steps = vec![Step::Enter(root)];
        let mut values: Vec<Object> = Vec::new();
        while let Some(step) = steps.pop() {
            match step {
                Step::Enter(id) => {
                    let id = stream.resolve(id);
                    let node = *stream.node(id);
                    if self.budget == 0 {
                        return Err(Error::new(
                            node.offset as usize,
                            ErrorKind::LimitExceeded {
                                what: "objects built from the stream",
                                limit: 0,
                            },
                        ));
                    }
                    self.budget -= 1;
                    if let Some(leaf) = leaf(stream, node.value) {
                        values.push(leaf);
                        continue;
                    }
                    if self.active[id.index()] {
                        return Err(Error::new(
                            node.offset as usize,
                            ErrorKind::Unmarshallable(
                                "recursive container cannot be copied".into(),
                            ),
                        ));
                    }
                    self.active[id.index()] = true;
                    let kids: Vec<NodeId> = match node.value {
                        Value::Dict { .. } | Value::FrozenDict { .. } => stream
                            .children(id)
                            .chunks_exact(2)
                            .filter(|kv| {
                                !matches!(stream.node(stream.resolve(kv[1])).value, Value::Null)
                            })
                            .flatten()
                            .copied()
                            .collect(),
                        Value::Code(_) => {
                            let code = stream.code_object(id).expect("code node has a code object");
                            code.layout
                                .fields()
                                .iter()
                                .filter_map(|&f| code.object_field(f))
                                .collect()
                        }
                        _ => stream.children(id).to_vec(),
                    };
                    steps.push(Step::Exit(id, kids.len()));
                    steps.extend(kids.iter().rev().map(|&k| Step::Enter(k)));
                }
                Step::Exit(id, n) => {
                    let items = values.split_off(values.len() - n);
                    self.active[id.index()] = false;
                    values.push(assemble(stream, id, items));
                }
            }
        }
        Ok(values.pop().expect("the root was built"))
    }
}

/// The copy of a node without children; `None` for containers and code objects.
fn leaf(stream: &Stream<'_>, value: Value<'_>) -> Option<Object> {
    Some(match value {
        Value::Null | Value::None => Object::None,
        Value::False => Object::Bool(false),
        Value::True => Object::Bool(true),
        Value::StopIteration => Object::StopIteration,
        Value::Ellipsis => Object::Ellipsis,
        Value::Int(v) => Object::Int(v.into()),
        Value::Int64(v) => Object::Int(v.into()),
        Value::Long(d) => {
            if stream.version().is_py2() {
                Object::Py2Long(d.to_bigint())
            } else {
                Object::Int(d.to_bigint())
            }
        }
        Value::Float(_) | Value::FloatText(_) => Object::Float(value.as_f64().unwrap_or(f64::NAN)),
        Value::Complex { .. } | Value::ComplexText { .. } => {
            let (re, im) = value.as_complex().unwrap_or((f64::NAN, f64::NAN));
            Object::Complex(re, im)
        }
        Value::Bytes(b) => Object::Bytes(b.to_vec()),
        Value::Py2Str { data, interned } => Object::Py2Str {
            data: data.to_vec(),
            interned,
        },
        Value::Str { data, kind } => Object::Str {
            utf8: crate::text::PyStr::new(data, kind.is_one_byte())
                .to_surrogatepass_utf8()
                .into_owned(),
            interned: kind.is_interned(),
        },
        // References are resolved before this is called.
        Value::Ref { .. } | Value::StringRef { .. } => Object::None,
        Value::Tuple { .. }
        | Value::List(_)
        | Value::Set(_)
        | Value::FrozenSet(_)
        | Value::Dict { .. }
        | Value::FrozenDict { .. }
        | Value::Slice(_)
        | Value::Code(_) => return None,
    })
}

/// Builds a container from the copies of its children (in the order `build` scheduled them).
fn assemble(stream: &Stream<'_>, id: NodeId, items: Vec<Object>) -> Object {
    match stream.node(id).value {
        Value::Tuple { .. } => Object::Tuple(items),
        Value::List(_) => Object::List(items),
        Value::Set(_) => Object::Set(items),
        Value::FrozenSet(_) => Object::FrozenSet(items),
        Value::Dict { .. } | Value::FrozenDict { .. } => {
            let mut pairs = Vec::with_capacity(items.len() / 2);
            let mut it = items.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                pairs.push((k, v));
            }
            Object::Dict(pairs)
        }
        Value::Slice(_) => {
            let mut it = items.into_iter();
            let mut next = || it.next().unwrap_or(Object::None);
            Object::Slice(Box::new([next(), next(), next()]))
        }
        Value::Code(_) => {
            let code = stream.code_object(id).expect("code node has a code object");
            let mut b = CodeBuilder {
                argcount: code.argcount,
                posonlyargcount: code.posonlyargcount.unwrap_or(0),
                kwonlyargcount: code.kwonlyargcount.unwrap_or(0),
                nlocals: code.nlocals.unwrap_or(0),
                stacksize: code.stacksize,
                flags: code.flags,
                firstlineno: code.firstlineno,
                ..CodeBuilder::default()
            };
            let fields = code
                .layout
                .fields()
                .iter()
                .filter(|&&f| code.object_field(f).is_some());
            for (&f, obj) in fields.zip(items) {
                let items = |o: Object| match o {
                    Object::Tuple(v) => v,
                    other => vec![other],
                };
                let bytes = |o: Object| match o {
                    Object::Bytes(v) | Object::Py2Str { data: v, .. } => v,
                    Object::Str { utf8, .. } => utf8,
                    _ => Vec::new(),
                };
                match f {
                    CodeField::Code => b.code = bytes(obj),
                    CodeField::Consts => b.consts = items(obj),
                    CodeField::Names => b.names = items(obj),
                    CodeField::VarNames => b.varnames = items(obj),
                    CodeField::FreeVars => b.freevars = items(obj),
                    CodeField::CellVars => b.cellvars = items(obj),
                    CodeField::LocalsPlusNames => b.localsplusnames = items(obj),
                    CodeField::LocalsPlusKinds => b.localspluskinds = bytes(obj),
                    CodeField::Filename => b.filename = Some(Box::new(obj)),
                    CodeField::Name => b.name = Some(Box::new(obj)),
                    CodeField::QualName => b.qualname = Some(Box::new(obj)),
                    CodeField::LineTable => b.linetable = bytes(obj),
                    CodeField::ExceptionTable => b.exceptiontable = bytes(obj),
                    _ => {}
                }
            }
            Object::Code(Box::new(b))
        }
        _ => Object::None,
    }
}
