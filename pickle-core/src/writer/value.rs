//! [`Value`]: a plain owned Python value, and its conversion into a [`Graph`] for writing.

use super::WriteError;
use crate::graph::{CallKind, Global, Graph, Mutation, NodeId, NodeKind, Object};
use crate::Opcode;
use hashbrown::HashMap;
use num_bigint::BigInt;

/// A plain Python value, as a tree. Every node is a distinct Python object (no sharing: use a
/// [`Graph`] and [`write_graph`](super::write_graph) for shared or recursive structures).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An `int` that fits in `i64`.
    Int(i64),
    /// Any `int`.
    BigInt(BigInt),
    /// A `float`.
    Float(f64),
    /// A `complex` (written as `builtins.complex(real, imag)`, as CPython does).
    Complex(f64, f64),
    /// A `str`.
    Str(String),
    /// A `str` given as its surrogatepass UTF-8 bytes (`s.encode('utf-8', 'surrogatepass')`),
    /// for text with lone surrogates, which a Rust `String` cannot hold. Invalid bytes make
    /// [`dumps`](super::dumps) fail.
    PyStr(Vec<u8>),
    /// A `bytes`.
    Bytes(Vec<u8>),
    /// A `bytearray`.
    ByteArray(Vec<u8>),
    /// A `tuple`.
    Tuple(Vec<Value>),
    /// A `list`.
    List(Vec<Value>),
    /// A `dict`, in insertion order.
    Dict(Vec<(Value, Value)>),
    /// A `set`, in the order to write.
    Set(Vec<Value>),
    /// A `frozenset`, in the order to write.
    FrozenSet(Vec<Value>),
    /// A global (a class or function) `module.name`, named as in Python 3. Two equal globals
    /// are the same object (written once, then fetched from the memo).
    Global {
        /// Module name (`"collections"`).
        module: String,
        /// Qualified name (`"OrderedDict"`).
        name: String,
    },
    /// `callable(*args)` (`REDUCE`).
    Call {
        /// What is called (usually a [`Value::Global`]).
        callable: Box<Value>,
        /// The positional arguments.
        args: Vec<Value>,
    },
    /// An object as CPython's reduce protocol writes it (pickle.md §14.9): made by `kind`
    /// (`REDUCE`: `callable(*args)`; `NEWOBJ`: `callable.__new__(callable, *args)`;
    /// `NEWOBJ_EX`: with `kwargs`), then given `list_items` (`APPEND(S)`) and `dict_items`
    /// (`SETITEM(S)`), batched as CPython batches reduce items, then `state` (`BUILD`).
    /// E.g. an `OrderedDict` is `Reduce` of `collections.OrderedDict` with no args and its
    /// pairs as `dict_items`; a plain class instance at protocol 2+ is `NewObj` of the class with
    /// its `__dict__` as `state`.
    Object {
        /// How the object is made.
        kind: CallKind,
        /// The callable or class.
        callable: Box<Value>,
        /// The positional arguments.
        args: Vec<Value>,
        /// Keyword arguments (`NEWOBJ_EX` only).
        kwargs: Vec<(Value, Value)>,
        /// Items appended after creation.
        list_items: Vec<Value>,
        /// Pairs set after creation.
        dict_items: Vec<(Value, Value)>,
        /// The `BUILD` state, if any.
        state: Option<Box<Value>>,
    },
}

/// How deep a [`Value`] may nest before [`value_to_graph`] gives up.
const MAX_VALUE_DEPTH: usize = 10_000;

/// Builds a [`Graph`] holding `value` as CPython's pickler would see it at `protocol`
/// (globals named with Python 2 names below protocol 3, as `fix_imports` does), and returns it
/// with the id of the root node.
pub fn value_to_graph(value: &Value, protocol: u8) -> Result<(Graph, NodeId), WriteError> {
    let mut b = Builder {
        graph: Graph::new(),
        protocol,
        globals: HashMap::new(),
    };
    let root = b.add(value, 0)?;
    Ok((b.graph, root))
}

struct Builder {
    graph: Graph,
    protocol: u8,
    globals: HashMap<(String, String), NodeId>,
}

impl Builder {
    fn global(&mut self, module: &str, name: &str) -> NodeId {
        let (wm, wn) = if self.protocol < 3 {
            super::compat::reverse_name(module, name)
        } else {
            (module.to_string(), name.to_string())
        };
        let key = (module.to_string(), name.to_string());
        if let Some(&id) = self.globals.get(&key) {
            return id;
        }
        let g = Global {
            module: wm,
            name: wn,
            resolved_module: module.to_string(),
            resolved_name: name.to_string(),
            proto: self.protocol,
            from_stack: None,
        };
        let op = if self.protocol >= 4 {
            Opcode::StackGlobal
        } else {
            Opcode::Global
        };
        let id = self.graph.push(NodeKind::Global(Box::new(g)), op, 0);
        self.globals.insert(key, id);
        id
    }

    fn push(&mut self, kind: NodeKind, op: Opcode) -> NodeId {
        self.graph.push(kind, op, 0)
    }

    fn add(&mut self, v: &Value, depth: usize) -> Result<NodeId, WriteError> {
        if depth > MAX_VALUE_DEPTH {
            return Err(WriteError::TooDeep(MAX_VALUE_DEPTH));
        }
        let d = depth + 1;
        let id = match v {
            Value::None => self.push(NodeKind::None, Opcode::None),
            Value::Bool(b) => self.push(NodeKind::Bool(*b), Opcode::Newtrue),
            Value::Int(i) => self.push(NodeKind::Int(*i), Opcode::Binint),
            Value::BigInt(i) => match i64::try_from(i) {
                Ok(small) => self.push(NodeKind::Int(small), Opcode::Binint),
                Err(_) => self.push(NodeKind::BigInt(Box::new(i.clone())), Opcode::Long1),
            },
            Value::Float(x) => self.push(NodeKind::Float(*x), Opcode::Binfloat),
            Value::Complex(re, im) => {
                let callable = self.global("builtins", "complex");
                let re = self.push(NodeKind::Float(*re), Opcode::Binfloat);
                let im = self.push(NodeKind::Float(*im), Opcode::Binfloat);
                let args = self.push(NodeKind::Tuple(vec![re, im]), Opcode::Tuple2);
                self.call(callable, args)
            }
            Value::Str(s) => {
                let span = self.graph.push_data(s.as_bytes());
                self.push(NodeKind::Str(span), Opcode::Binunicode)
            }
            Value::PyStr(bytes) => {
                crate::pystr::validate_surrogatepass(bytes).map_err(|(pos, why)| {
                    WriteError::Unsupported(format!(
                        "Value::PyStr is not surrogatepass UTF-8 at byte {pos}: {why}"
                    ))
                })?;
                let span = self.graph.push_data(bytes);
                self.push(NodeKind::Str(span), Opcode::Binunicode)
            }
            Value::Bytes(b) => {
                let span = self.graph.push_data(b);
                self.push(NodeKind::Bytes(span), Opcode::Binbytes)
            }
            Value::ByteArray(b) => {
                let span = self.graph.push_data(b);
                self.push(NodeKind::ByteArray(span), Opcode::Bytearray8)
            }
            Value::Tuple(items) => {
                let ids = self.add_all(items, d)?;
                self.push(NodeKind::Tuple(ids), Opcode::Tuple)
            }
            Value::List(items) => {
                let ids = self.add_all(items, d)?;
                self.push(NodeKind::List(ids), Opcode::EmptyList)
            }
            Value::Set(items) => {
                let ids = self.add_all(items, d)?;
                self.push(NodeKind::Set(ids), Opcode::EmptySet)
            }
            Value::FrozenSet(items) => {
                let ids = self.add_all(items, d)?;
                self.push(NodeKind::FrozenSet(ids), Opcode::Frozenset)
            }
            Value::Dict(pairs) => {
                let mut ids = Vec::with_capacity(pairs.len());
                for (k, v) in pairs {
                    let k = self.add(k, d)?;
                    let v = self.add(v, d)?;
                    ids.push((k, v));
                }
                self.push(NodeKind::Dict(ids), Opcode::EmptyDict)
            }
            Value::Global { module, name } => self.global(module, name),
            Value::Call { callable, args } => {
                let callable = self.add(callable, d)?;
                let ids = self.add_all(args, d)?;
                let args = self.push(NodeKind::Tuple(ids), Opcode::Tuple);
                self.call(callable, args)
            }
            Value::Object {
                kind,
                callable,
                args,
                kwargs,
                list_items,
                dict_items,
                state,
            } => {
                let callable = self.add(callable, d)?;
                let ids = self.add_all(args, d)?;
                let args = self.push(NodeKind::Tuple(ids), Opcode::Tuple);
                let kwargs = if *kind == CallKind::NewObjEx {
                    let mut pairs = Vec::with_capacity(kwargs.len());
                    for (k, v) in kwargs {
                        pairs.push((self.add(k, d)?, self.add(v, d)?));
                    }
                    Some(self.push(NodeKind::Dict(pairs), Opcode::EmptyDict))
                } else {
                    None
                };
                let obj = Object {
                    call: *kind,
                    callable,
                    args,
                    kwargs,
                };
                let id = self.push(NodeKind::Object(Box::new(obj)), Opcode::Reduce);
                // CPython batches reduce items generically: per item at protocol 0, else
                // chunks of 1000 with a lone trailing item written on its own.
                let items = self.add_all(list_items, d)?;
                for chunk in items.chunks(1000) {
                    let m = if chunk.len() == 1 || self.protocol == 0 {
                        chunk.iter().map(|&x| Mutation::Append(x)).collect()
                    } else {
                        vec![Mutation::Extend(chunk.to_vec())]
                    };
                    self.graph
                        .mutation_log
                        .extend(m.into_iter().map(|m| (id, m)));
                }
                let mut pairs = Vec::with_capacity(dict_items.len());
                for (k, v) in dict_items {
                    pairs.push((self.add(k, d)?, self.add(v, d)?));
                }
                for chunk in pairs.chunks(1000) {
                    let m = if chunk.len() == 1 || self.protocol == 0 {
                        chunk
                            .iter()
                            .map(|&(k, v)| Mutation::SetItem(k, v))
                            .collect()
                    } else {
                        vec![Mutation::SetItems(chunk.to_vec())]
                    };
                    self.graph
                        .mutation_log
                        .extend(m.into_iter().map(|m| (id, m)));
                }
                if let Some(state) = state {
                    let st = self.add(state, d)?;
                    self.graph.mutation_log.push((id, Mutation::Build(st)));
                }
                id
            }
        };
        Ok(id)
    }

    fn call(&mut self, callable: NodeId, args: NodeId) -> NodeId {
        let obj = Object {
            call: CallKind::Reduce,
            callable,
            args,
            kwargs: None,
        };
        self.push(NodeKind::Object(Box::new(obj)), Opcode::Reduce)
    }

    fn add_all(&mut self, items: &[Value], d: usize) -> Result<Vec<NodeId>, WriteError> {
        items.iter().map(|x| self.add(x, d)).collect()
    }
}
