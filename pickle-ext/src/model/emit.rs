//! Writing a shipped function (or class, or any value holding them) back out as a pickle that plain `pickle.loads` — and therefore
//! cloudpickle's and dill's loaders — rebuild on the producing Python.
//!
//! The stream uses the standard library only: `types.CodeType(...)` (or `marshal.loads`) for
//! code, `types.FunctionType(code, globals, name, defaults, closure)` plus a `BUILD` of
//! `(func.__dict__, {'__qualname__': ..., '__kwdefaults__': ..., ...})` for the function (dill's
//! own shape), `types.CellType([value])` for cells and `importlib.import_module` for modules.
//!
//! Cycles (a recursive closure, a function in its own globals) cannot be written inside the
//! function's constructor arguments: a pickler writes a `REDUCE` result only after its
//! arguments. They are written as *fix-ups* instead: the cell is made empty and the dict without
//! the entry, and the root becomes `operator.itemgetter(0)((f, setattr(cell, 'cell_contents',
//! f), operator.setitem(globals, name, f), ...))`, which loads `f` after running the fix-ups.
//! Required submodules (cloudpickle's `_cloudpickle_submodules`) ride in the same tuple.

use super::{CellContents, CodeSource, Entity, Era, Family, GlobalsBase, Model, Vendor};
use crate::recognise::code::CodeField;
use brine_pickle_core::writer::{write_graph, WriteOptions};
use brine_pickle_core::{CallKind, Global, Graph, Mutation, NodeId, NodeKind, Object, Opcode};
use std::collections::HashMap;

/// Why a function could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmitError {
    /// The node is not a function the model understood.
    #[error("node {0} is not a decoded function")]
    NotAFunction(usize),
    /// Something the writer does not handle yet (the message says what).
    #[error("cannot emit: {0}")]
    Unsupported(String),
    /// pickle-core's writer refused the graph.
    #[error("pickle writer: {0}")]
    Write(String),
}

/// A scalar constant, for [`EmitOptions::replace_consts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConstValue {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An int.
    Int(i64),
    /// A `str`.
    Str(String),
    /// A `bytes`.
    Bytes(Vec<u8>),
}

/// Options (and edits) of [`Model::emit_function`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmitOptions {
    /// Pickle protocol (3 or more: code is bytes).
    pub protocol: u8,
    /// How deep values are copied before giving up.
    pub max_depth: usize,
    /// Edit: global names left out of every emitted function's shipped globals (the function
    /// then looks them up in its globals at call time, and fails if they are not there).
    pub remove_globals: Vec<String>,
    /// Edit: `(from, to)` replacements applied to the constants (`co_consts` items) of every
    /// emitted code object, nested ones included.
    pub replace_consts: Vec<(ConstValue, ConstValue)>,
    /// The Python the stream is for; `None`: the payload's Python (stated or inferred). Code
    /// objects are copied as they are, so this must be the Python that produced them. Python 2
    /// targets are written at protocol 2 with Python 2 global names and `str` (bytes) text.
    pub python: Option<(u8, u8)>,
    /// How closure cells are made. `types.CellType` only exists from Python 3.8. The default,
    /// [`CellRecipe::FromProducer`], picks one from the payload's producer.
    pub cells: CellRecipe,
}

/// How an emitted stream makes closure cells.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CellRecipe {
    /// Chosen from the payload's producer ([`CellRecipe::for_payload`]): on Python 3.8+
    /// `types.CellType`; below, the producer's own cell helpers (upstream or joblib's vendored
    /// cloudpickle 0.4+, any dill), which the loading process has since it loads the original
    /// payload; `types.CellType` (refused below 3.8) when the producer has none.
    #[default]
    FromProducer,
    /// `types.CellType()` / `types.CellType(value)` (Python 3.8+, standard library only).
    TypesCellType,
    /// cloudpickle's own helpers (0.4+, any Python): `<module>._make_empty_cell()`, filled by a
    /// fix-up `<module>.cell_set(cell, value)` (`module` is e.g. `cloudpickle.cloudpickle`).
    Cloudpickle {
        /// The module holding the helpers.
        module: String,
    },
    /// dill's `<module>._create_cell(value)` (`dill._dill`, or `dill.dill` up to 0.2.7.1).
    /// Empty cells and cells that refer back to the function (which need a writable
    /// `cell_contents`, Python 3.7+) are refused below 3.7.
    Dill {
        /// The module holding the helper.
        module: String,
    },
}

impl CellRecipe {
    /// The recipe [`CellRecipe::FromProducer`] stands for when `model` is emitted for
    /// `python`; any other recipe is returned as it is.
    pub fn for_payload(&self, model: &Model, python: (u8, u8)) -> CellRecipe {
        if *self != CellRecipe::FromProducer {
            return self.clone();
        }
        if python >= (3, 8) {
            return CellRecipe::TypesCellType;
        }
        let Some(p) = model.producer() else {
            return CellRecipe::TypesCellType;
        };
        match (p.family, p.vendor) {
            // cloudpickle 0.1-0.3 has no cell helpers (era A makes cells from values itself).
            (Family::Cloudpickle, _) if p.era_candidates.contains(&Era::CloudpickleA) => {
                CellRecipe::TypesCellType
            }
            (Family::Cloudpickle, Vendor::Upstream) => CellRecipe::Cloudpickle {
                module: "cloudpickle.cloudpickle".to_string(),
            },
            (Family::Cloudpickle, Vendor::Joblib) => CellRecipe::Cloudpickle {
                module: "joblib.externals.cloudpickle.cloudpickle".to_string(),
            },
            (Family::Dill, _) => CellRecipe::Dill {
                // dill 0.2.7.1 and older keep their helpers in `dill.dill`.
                module: if p.era_candidates == [Era::DillD0] {
                    "dill.dill"
                } else {
                    "dill._dill"
                }
                .to_string(),
            },
            _ => CellRecipe::TypesCellType,
        }
    }
}

impl Default for EmitOptions {
    fn default() -> EmitOptions {
        EmitOptions {
            protocol: 4,
            max_depth: crate::limits::MAX_EMIT_DEPTH,
            remove_globals: Vec::new(),
            replace_consts: Vec::new(),
            python: None,
            cells: CellRecipe::FromProducer,
        }
    }
}

/// Copies model values into a fresh graph.
struct Emitter<'m> {
    m: &'m Model,
    out: Graph,
    /// Source node -> emitted node (object identity survives).
    map: HashMap<NodeId, NodeId>,
    /// Functions whose constructor is being written (a reference to one of them is a cycle).
    in_progress: Vec<NodeId>,
    /// Keys added to `map`, in order (to undo an attempt that ran into a cycle).
    journal: Vec<NodeId>,
    /// Side-effect calls to run after the root object is built.
    fixups: Vec<NodeId>,
    globals: HashMap<(String, String), NodeId>,
    max_depth: usize,
    options: &'m EmitOptions,
    /// The cell recipe in force ([`CellRecipe::FromProducer`] resolved).
    cells: CellRecipe,
    /// The target Python.
    python: (u8, u8),
}

/// A reference back to a function under construction.
#[derive(Debug)]
enum CopyError {
    Cycle,
    Other(EmitError),
}

impl From<EmitError> for CopyError {
    fn from(e: EmitError) -> CopyError {
        CopyError::Other(e)
    }
}

type CopyResult = Result<NodeId, CopyError>;

fn unsupported(msg: impl Into<String>) -> CopyError {
    CopyError::Other(EmitError::Unsupported(msg.into()))
}

impl<'m> Emitter<'m> {
    fn push(&mut self, kind: NodeKind, op: Opcode) -> NodeId {
        self.out.push(kind, op, 0)
    }

    fn remember(&mut self, source: NodeId, emitted: NodeId) {
        self.map.insert(source, emitted);
        self.journal.push(source);
    }

    fn py2(&self) -> bool {
        self.python.0 < 3
    }

    fn global(&mut self, module: &str, name: &str) -> NodeId {
        let module = if self.py2() && module == "builtins" {
            "__builtin__"
        } else {
            module
        };
        let key = (module.to_string(), name.to_string());
        if let Some(&id) = self.globals.get(&key) {
            return id;
        }
        let g = Global {
            module: module.to_string(),
            name: name.to_string(),
            resolved_module: module.to_string(),
            resolved_name: name.to_string(),
            proto: 4,
            from_stack: None,
        };
        let id = self.push(NodeKind::Global(Box::new(g)), Opcode::StackGlobal);
        self.globals.insert(key, id);
        id
    }

    /// A text constant the emitter makes up: `str` (Python 2: a byte `str`, which is what
    /// function names, attribute names and `__dict__` keys must be there).
    fn str_node(&mut self, s: &str) -> NodeId {
        let span = self.out.push_data(s.as_bytes());
        if self.py2() {
            return self.push(NodeKind::Py2Str(span), Opcode::ShortBinstring);
        }
        self.push(NodeKind::Str(span), Opcode::ShortBinunicode)
    }

    /// `functools.partial(callable, *args, **kwargs)()`: a call with keyword arguments, which
    /// `REDUCE` cannot pass (the partial is rebuilt from its `__setstate__` 4-tuple).
    fn call_with_kwargs(
        &mut self,
        callable: NodeId,
        args: Vec<NodeId>,
        kwargs: Vec<(&str, NodeId)>,
    ) -> NodeId {
        let partial = self.global("functools", "partial");
        let p = self.call(partial, vec![callable]);
        let args = self.tuple(args);
        let kw: Vec<(NodeId, NodeId)> = kwargs
            .into_iter()
            .map(|(k, v)| (self.str_node(k), v))
            .collect();
        let kw = self.push(NodeKind::Dict(kw), Opcode::EmptyDict);
        let none = self.push(NodeKind::None, Opcode::None);
        let state = self.tuple(vec![callable, args, kw, none]);
        self.out.mutation_log.push((p, Mutation::Build(state)));
        self.call(p, vec![])
    }

    fn tuple(&mut self, items: Vec<NodeId>) -> NodeId {
        self.push(NodeKind::Tuple(items), Opcode::Tuple)
    }

    fn call(&mut self, callable: NodeId, args: Vec<NodeId>) -> NodeId {
        let args = self.tuple(args);
        let obj = Object {
            call: CallKind::Reduce,
            callable,
            args,
            kwargs: None,
        };
        self.push(NodeKind::Object(Box::new(obj)), Opcode::Reduce)
    }

    fn import(&mut self, name: &str) -> NodeId {
        let f = self.global("importlib", "import_module");
        let n = self.str_node(name);
        self.call(f, vec![n])
    }

    /// Copies a value, keeping identity.
    fn value(&mut self, node: NodeId, depth: usize) -> CopyResult {
        if depth > self.max_depth {
            return Err(unsupported("value nested too deeply"));
        }
        // Every node standing for one function or class (skeleton, rehydrated result) is that
        // one object.
        let node = match self.m.entity_of(node) {
            Some(Entity::Function(f)) => f.node,
            Some(Entity::Class(c)) => c.node,
            _ => node,
        };
        if self.in_progress.contains(&node) {
            return Err(CopyError::Cycle);
        }
        if let Some(&id) = self.map.get(&node) {
            return Ok(id);
        }
        let m = self.m;
        match m.entity_of(node) {
            Some(Entity::Function(_)) => return self.function(node, depth + 1),
            Some(Entity::Code(_)) => return self.code(node, depth + 1),
            Some(Entity::Bytes(b)) => {
                let span = self.out.push_data(b);
                let id = self.push(NodeKind::Bytes(span), Opcode::Binbytes);
                self.remember(node, id);
                return Ok(id);
            }
            Some(Entity::Module(md)) => {
                let md = md.clone();
                let id = match md.how {
                    super::ModuleHow::Import => self.import(&md.name),
                    // types.ModuleType(name) + BUILD(namespace): the namespace lands in the
                    // module's __dict__ (the module is memoized first, so its functions may
                    // refer to it).
                    super::ModuleHow::Dynamic(vars) | super::ModuleHow::ImportThenUpdate(vars) => {
                        let module = if matches!(md.how, super::ModuleHow::Dynamic(_)) {
                            let ctor = self.global("types", "ModuleType");
                            let name = self.str_node(&md.name);
                            self.call(ctor, vec![name])
                        } else {
                            self.import(&md.name)
                        };
                        self.remember(node, module);
                        let state = self.value(vars, depth + 1)?;
                        self.out.mutation_log.push((module, Mutation::Build(state)));
                        module
                    }
                };
                self.remember(node, id);
                return Ok(id);
            }
            Some(Entity::Class(_)) => return self.class(node, depth + 1),
            Some(Entity::TypeVar(tv)) => {
                // typing.TypeVar(name, *constraints, bound=..., covariant=..., contravariant=...)
                let tv = tv.clone();
                let Some(name) = tv.name.clone() else {
                    return Err(unsupported("a TypeVar without a name"));
                };
                let mut args = vec![self.str_node(&name)];
                if let Some(c) = tv.constraints {
                    for item in m.graph.items(c).unwrap_or(&[]).to_vec() {
                        args.push(self.value(item, depth + 1)?);
                    }
                }
                let mut kwargs = Vec::new();
                if let Some(b) = tv
                    .bound
                    .filter(|&b| !matches!(m.graph.kind(b), NodeKind::None))
                {
                    kwargs.push(("bound", self.value(b, depth + 1)?));
                }
                for (key, flag) in [
                    ("covariant", tv.covariant),
                    ("contravariant", tv.contravariant),
                ] {
                    if flag == Some(true) {
                        kwargs.push((key, self.push(NodeKind::Bool(true), Opcode::Newtrue)));
                    }
                }
                let ctor = self.global("typing", "TypeVar");
                let id = self.call_with_kwargs(ctor, args, kwargs);
                self.remember(node, id);
                return Ok(id);
            }
            Some(Entity::Cell(_)) | Some(Entity::Nested(_)) => {
                return Err(unsupported("a cell or nested pickle used as a value"))
            }
            None => {}
        }
        let g = &m.graph;
        let id = match g.kind(node) {
            NodeKind::Str(s)
            | NodeKind::Bytes(s)
            | NodeKind::ByteArray(s)
            | NodeKind::Py2Str(s) => {
                let span = self.out.push_data(g.bytes_of(*s));
                let kind = match g.kind(node) {
                    NodeKind::Str(_) => NodeKind::Str(span),
                    NodeKind::ByteArray(_) => NodeKind::ByteArray(span),
                    NodeKind::Py2Str(_) if self.py2() => NodeKind::Py2Str(span),
                    NodeKind::Py2Str(_) => {
                        return Err(unsupported(
                            "a Python 2 string in a stream for Python 3 (emit for Python 2)",
                        ))
                    }
                    _ => NodeKind::Bytes(span),
                };
                self.push(kind, g.node(node).op)
            }
            NodeKind::Tuple(items) => {
                let items = items.clone();
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(self.value(i, depth + 1)?);
                }
                self.tuple(out)
            }
            NodeKind::List(items) | NodeKind::Set(items) | NodeKind::FrozenSet(items) => {
                let items = items.clone();
                let kind_of = |v: Vec<NodeId>| match g.kind(node) {
                    NodeKind::List(_) => NodeKind::List(v),
                    NodeKind::Set(_) => NodeKind::Set(v),
                    _ => NodeKind::FrozenSet(v),
                };
                // Containers exist before their items (a list may contain itself).
                let id = self.push(kind_of(Vec::new()), g.node(node).op);
                self.remember(node, id);
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(self.value(i, depth + 1)?);
                }
                self.out.nodes[id.index()].kind = kind_of(out);
                return Ok(id);
            }
            NodeKind::Dict(pairs) => {
                let pairs = pairs.clone();
                let id = self.push(NodeKind::Dict(Vec::new()), Opcode::EmptyDict);
                self.remember(node, id);
                let mut out = Vec::with_capacity(pairs.len());
                for (k, v) in pairs {
                    let k = self.value(k, depth + 1)?;
                    out.push((k, self.value(v, depth + 1)?));
                }
                self.out.nodes[id.index()].kind = NodeKind::Dict(out);
                return Ok(id);
            }
            NodeKind::Object(obj) => {
                let obj = (**obj).clone();
                let callable = self.value(obj.callable, depth + 1)?;
                let args = self.value(obj.args, depth + 1)?;
                let kwargs = match obj.kwargs {
                    Some(k) => Some(self.value(k, depth + 1)?),
                    None => None,
                };
                let id = self.push(
                    NodeKind::Object(Box::new(Object {
                        call: obj.call,
                        callable,
                        args,
                        kwargs,
                    })),
                    g.node(node).op,
                );
                self.remember(node, id);
                let muts: Vec<Mutation> = g.mutations(node).cloned().collect();
                for mt in muts {
                    let copied = match mt {
                        Mutation::Build(s) => Mutation::Build(self.value(s, depth + 1)?),
                        Mutation::Append(x) => Mutation::Append(self.value(x, depth + 1)?),
                        Mutation::SetItem(k, v) => {
                            let k = self.value(k, depth + 1)?;
                            Mutation::SetItem(k, self.value(v, depth + 1)?)
                        }
                        _ => return Err(unsupported("a batched mutation of an opaque object")),
                    };
                    self.out.mutation_log.push((id, copied));
                }
                return Ok(id);
            }
            NodeKind::Persistent { .. }
            | NodeKind::Ext { .. }
            | NodeKind::Buffer { .. }
            | NodeKind::ReadOnly { .. } => {
                return Err(unsupported(
                    "persistent ids, extension codes and buffers are not emitted",
                ))
            }
            NodeKind::Global(gl) => {
                // `from_stack` points into the source graph; the writer makes its own strings.
                // Written at protocol 3+: use the Python 3 names (`__builtin__` -> `builtins`).
                let mut gl = (**gl).clone();
                gl.from_stack = None;
                if !self.py2() {
                    gl.module = gl.resolved_module.clone();
                    gl.name = gl.resolved_name.clone();
                } else if gl.module == "builtins" {
                    gl.module = "__builtin__".to_string();
                }
                self.push(NodeKind::Global(Box::new(gl)), Opcode::StackGlobal)
            }
            other => {
                let kind = other.clone();
                self.push(kind, g.node(node).op)
            }
        };
        self.remember(node, id);
        Ok(id)
    }

    fn code(&mut self, node: NodeId, depth: usize) -> CopyResult {
        let m = self.m;
        let c = m.code(node).expect("caller checked");
        let id = match c.source {
            CodeSource::Marshal { bytes } => {
                let f = self.global("marshal", "loads");
                let b = self.value(bytes, depth + 1)?;
                self.call(f, vec![b])
            }
            CodeSource::CtorArgs { layout } => {
                if layout.position(CodeField::EndLineTable).is_some() {
                    return Err(unsupported(
                        "the 3.11-alpha CodeType layout written by dill 0.3.5",
                    ));
                }
                let mut args = Vec::new();
                for (i, (&field, &arg)) in layout.fields.iter().zip(&c.args).enumerate() {
                    // dill's leading co_lnotab is not a constructor argument.
                    if i == 0 && field == CodeField::LnoTab && layout.fields.len() > 16 {
                        continue;
                    }
                    if field == CodeField::Consts && !self.options.replace_consts.is_empty() {
                        let items = m.graph.items(arg).unwrap_or(&[]).to_vec();
                        let mut out = Vec::with_capacity(items.len());
                        for item in items {
                            match self.replacement(item) {
                                Some(r) => out.push(r),
                                None => out.push(self.value(item, depth + 1)?),
                            }
                        }
                        args.push(self.tuple(out));
                        continue;
                    }
                    args.push(self.value(arg, depth + 1)?);
                }
                let f = self.global("types", "CodeType");
                self.call(f, args)
            }
        };
        self.remember(node, id);
        Ok(id)
    }

    /// The replacement node for a constant, if an edit asks for one.
    fn replacement(&mut self, node: NodeId) -> Option<NodeId> {
        let g = &self.m.graph;
        let here = match g.kind(node) {
            NodeKind::None => ConstValue::None,
            NodeKind::Bool(b) => ConstValue::Bool(*b),
            NodeKind::Int(i) => ConstValue::Int(*i),
            NodeKind::Str(_) => ConstValue::Str(self.m.text_of(node)?),
            NodeKind::Bytes(_) => ConstValue::Bytes(g.as_bytes(node)?.to_vec()),
            _ => match self.m.entity_of(node) {
                Some(Entity::Bytes(b)) => ConstValue::Bytes(b.clone()),
                _ => return None,
            },
        };
        let to = self
            .options
            .replace_consts
            .iter()
            .find(|(from, _)| *from == here)
            .map(|(_, to)| to.clone())?;
        Some(match to {
            ConstValue::None => self.push(NodeKind::None, Opcode::None),
            ConstValue::Bool(b) => self.push(NodeKind::Bool(b), Opcode::Newtrue),
            ConstValue::Int(i) => self.push(NodeKind::Int(i), Opcode::Binint),
            ConstValue::Str(s) => self.str_node(&s),
            ConstValue::Bytes(b) => {
                let span = self.out.push_data(&b);
                self.push(NodeKind::Bytes(span), Opcode::Binbytes)
            }
        })
    }

    /// Copies a value that may refer back to a function under construction: on a cycle,
    /// `placeholder` is used and `fix(value)` is queued to run after the root is built.
    fn value_or_defer(&mut self, node: NodeId, depth: usize) -> Result<Option<NodeId>, EmitError> {
        let (mark, fixups) = (self.journal.len(), self.fixups.len());
        match self.value(node, depth) {
            Ok(id) => Ok(Some(id)),
            Err(CopyError::Cycle) => {
                // Forget the half-copied containers of this attempt.
                for k in self.journal.drain(mark..) {
                    self.map.remove(&k);
                }
                self.fixups.truncate(fixups);
                Ok(None)
            }
            Err(CopyError::Other(e)) => Err(e),
        }
    }

    /// The metaclass to call: `builtins.type` for the spellings producers use for it
    /// (`builtins.type`, cloudpickle's `_builtin_type('ClassType')`, dill's `_load_type('type')`),
    /// else the value itself.
    fn metaclass(&mut self, meta: Option<NodeId>, depth: usize) -> CopyResult {
        let m = self.m;
        let Some(meta) = meta else {
            return Ok(self.global("builtins", "type"));
        };
        let is_type = match m.graph.kind(meta) {
            NodeKind::Global(g) => g.resolved_module == "builtins" && g.resolved_name == "type",
            NodeKind::Object(o) => {
                let helper = match m.graph.kind(o.callable) {
                    NodeKind::Global(g) => g.resolved_name.as_str(),
                    _ => "",
                };
                let arg = m
                    .graph
                    .items(o.args)
                    .and_then(|a| a.first())
                    .and_then(|&a| m.text_of(a));
                matches!(helper, "_builtin_type" | "_load_type")
                    && matches!(arg.as_deref(), Some("ClassType" | "TypeType" | "type"))
            }
            _ => false,
        };
        if is_type {
            Ok(self.global("builtins", "type"))
        } else {
            self.value(meta, depth + 1)
        }
    }

    /// A dynamic class: `metaclass(name, bases, dict)`; attributes that refer back to the class
    /// (methods' `__class__` cells, globals naming the class) become fix-ups.
    fn class(&mut self, node: NodeId, depth: usize) -> CopyResult {
        let m = self.m;
        let c = m.class(node).expect("caller checked").clone();
        let Some(name) = c.name.clone() else {
            return Err(unsupported("a class without a name"));
        };
        if let Some(members) = c.enum_members {
            return self.enum_class(node, &c, &name, members, depth);
        }
        let meta = self.metaclass(c.metaclass, depth)?;
        let bases = match c.bases {
            Some(b) => self.value(b, depth + 1)?,
            None => self.tuple(Vec::new()),
        };
        self.in_progress.push(node);
        self.in_progress.extend(c.aliases.iter().copied());
        let mut pairs: Vec<(String, NodeId)> = Vec::new();
        let mut deferred = Vec::new();
        // The class dict as CPython holds it: a repeated key keeps its last value.
        let mut entries: Vec<(String, NodeId)> = Vec::new();
        for &(k, v) in &c.dict {
            let Some(k) = m.text_of(k) else {
                return Err(unsupported("a class dict key that is not a str"));
            };
            match entries.iter_mut().find(|(n, _)| *n == k) {
                Some(e) => e.1 = v,
                None => entries.push((k, v)),
            }
        }
        for (k, v) in entries {
            if matches!(k.as_str(), "__dict__" | "__weakref__") {
                continue;
            }
            match self.value_or_defer(v, depth + 1) {
                Ok(Some(vv)) => pairs.push((k, vv)),
                Ok(None) => deferred.push((k, v)),
                Err(e) => return Err(CopyError::Other(e)),
            }
        }
        for (key, val) in [("__module__", &c.module), ("__qualname__", &c.qualname)] {
            if let Some(val) = val {
                if !pairs.iter().any(|(k, _)| k == key) {
                    let v = self.str_node(val);
                    pairs.push((key.to_string(), v));
                }
            }
        }
        let dict_pairs: Vec<(NodeId, NodeId)> =
            pairs.iter().map(|(k, v)| (self.str_node(k), *v)).collect();
        let dict = self.push(NodeKind::Dict(dict_pairs), Opcode::EmptyDict);
        let name = self.str_node(&name);
        let cls = self.call(meta, vec![name, bases, dict]);
        self.remember(node, cls);
        for &a in &c.aliases {
            self.remember(a, cls);
        }
        self.in_progress
            .retain(|&n| n != node && !c.aliases.contains(&n));
        for (k, v) in deferred {
            let v = self.value(v, depth + 1)?;
            let setattr = self.global("builtins", "setattr");
            let attr = self.str_node(&k);
            let call = self.call(setattr, vec![cls, attr, v]);
            self.fixups.push(call);
        }
        Ok(cls)
    }

    /// An enum through the functional API: `Base(name, [(member, value), ...],
    /// module=..., qualname=...)` (by `functools.partial`, for the keywords); other plain
    /// attributes of the class dict follow as `setattr` fix-ups.
    fn enum_class(
        &mut self,
        node: NodeId,
        c: &super::Class,
        name: &str,
        members: NodeId,
        depth: usize,
    ) -> CopyResult {
        let m = self.m;
        let bases = c
            .bases
            .and_then(|b| m.graph.items(b))
            .unwrap_or(&[])
            .to_vec();
        // `class Color(str, Enum)`: the functional API takes the data type as `type=`; the
        // enum base comes last. More than one mixin has no functional spelling.
        let (base, mixin) = match bases.as_slice() {
            [base] => (*base, None),
            [mixin, base] => (*base, Some(*mixin)),
            _ => {
                return Err(unsupported(
                    "an enum with more than one mixin base (the functional API takes one type)",
                ))
            }
        };
        let base = self.value(base, depth + 1)?;
        let mixin = match mixin {
            Some(t) => Some(self.value(t, depth + 1)?),
            None => None,
        };
        let mut names = Vec::new();
        let mut member_names = Vec::new();
        for (k, v) in m.graph.dict_pairs(members).unwrap_or(&[]).to_vec() {
            let Some(text) = m.text_of(k) else {
                return Err(unsupported("an enum member name that is not a str"));
            };
            member_names.push(text.clone());
            let k = self.str_node(&text);
            let v = self.value(v, depth + 1)?;
            names.push(self.tuple(vec![k, v]));
        }
        let names = self.push(NodeKind::List(names), Opcode::EmptyList);
        let name_node = self.str_node(name);
        let mut kwargs = Vec::new();
        if let Some(module) = &c.module {
            kwargs.push(("module", self.str_node(module)));
        }
        if let Some(q) = &c.qualname {
            kwargs.push(("qualname", self.str_node(q)));
        }
        if let Some(t) = mixin {
            kwargs.push(("type", t));
        }
        let cls = self.call_with_kwargs(base, vec![name_node, names], kwargs);
        self.remember(node, cls);
        for &a in &c.aliases {
            self.remember(a, cls);
        }
        // Methods and plain attributes (the enum machinery makes the dunders and sunders).
        for &(k, v) in &c.dict {
            let Some(key) = m.text_of(k) else { continue };
            if key.starts_with('_') || member_names.contains(&key) {
                continue;
            }
            let v = self.value(v, depth + 1)?;
            let setattr = self.global("builtins", "setattr");
            let attr = self.str_node(&key);
            let call = self.call(setattr, vec![cls, attr, v]);
            self.fixups.push(call);
        }
        Ok(cls)
    }

    /// A closure cell holding `value` (`None`: empty), made by the options' [`CellRecipe`];
    /// `deferred` means the value refers back to the function and is set by a fix-up.
    fn cell(&mut self, value: Option<NodeId>, deferred: bool) -> Result<NodeId, CopyError> {
        match self.cells.clone() {
            CellRecipe::FromProducer | CellRecipe::TypesCellType => {
                if self.python < (3, 8) {
                    return Err(unsupported(format!(
                        "types.CellType does not exist on Python {}.{}; choose a CellRecipe",
                        self.python.0, self.python.1
                    )));
                }
                let ctor = self.global("types", "CellType");
                Ok(match (value, deferred) {
                    (Some(v), false) => self.call(ctor, vec![v]),
                    _ => self.call(ctor, vec![]),
                })
            }
            CellRecipe::Cloudpickle { module } => {
                let make = self.global(&module, "_make_empty_cell");
                let cell = self.call(make, vec![]);
                if let (Some(v), false) = (value, deferred) {
                    let set = self.global(&module, "cell_set");
                    let fix = self.call(set, vec![cell, v]);
                    self.fixups.push(fix);
                }
                Ok(cell)
            }
            CellRecipe::Dill { module } => {
                if (value.is_none() || deferred) && self.python < (3, 7) {
                    return Err(unsupported(
                        "an empty or self-referencing cell with dill's helper below Python 3.7",
                    ));
                }
                let make = self.global(&module, "_create_cell");
                Ok(match (value, deferred) {
                    (Some(v), false) => self.call(make, vec![v]),
                    _ => {
                        // A cell holding None, emptied with `del cell.cell_contents`
                        // (3.7+) when it must be empty.
                        let none = self.push(NodeKind::None, Opcode::None);
                        let cell = self.call(make, vec![none]);
                        if value.is_none() {
                            let delattr = self.global("builtins", "delattr");
                            let attr = self.str_node("cell_contents");
                            let fix = self.call(delattr, vec![cell, attr]);
                            self.fixups.push(fix);
                        }
                        cell
                    }
                })
            }
        }
    }

    fn function(&mut self, node: NodeId, depth: usize) -> CopyResult {
        let m = self.m;
        let f = m.function(node).expect("caller checked").clone();
        let Some(code_node) = f.code.filter(|&c| m.code(c).is_some()) else {
            return Err(unsupported(
                "a function whose code object was not understood",
            ));
        };
        self.in_progress.push(node);
        self.in_progress.extend(f.aliases.iter().copied());
        let code = self.value(code_node, depth + 1)?;

        // Globals: a live module namespace when the payload names one (dill's
        // `<module>.__dict__` and `__main__` sentinel, cloudpickle 0.5's module name, extpickle's
        // getModuleDict): `getattr(import_module(m), '__dict__')`. Otherwise a fresh dict with
        // `__builtins__`, `__name__`, then what was shipped.
        let live = match &f.globals {
            GlobalsBase::MainSentinel => Some("__main__".to_string()),
            GlobalsBase::ModuleNamespace(m) => Some(m.clone()),
            _ => None,
        };
        let mut pairs = Vec::new();
        let globals = match &live {
            Some(module) => {
                let getattr = self.global("builtins", "getattr");
                // A module the payload itself rebuilds from its namespace (cloudpickle 0.5's
                // `dynamic_subimport` with functions naming it) is that module, not an import.
                let dynamic = m.entities.iter().find_map(|e| match e {
                    Entity::Module(md)
                        if md.name == *module && matches!(md.how, super::ModuleHow::Dynamic(_)) =>
                    {
                        Some(md.node)
                    }
                    _ => None,
                });
                let md = match dynamic {
                    Some(n) => self.value(n, depth + 1)?,
                    None => self.import(module),
                };
                let attr = self.str_node("__dict__");
                self.call(getattr, vec![md, attr])
            }
            None => {
                let k = self.str_node("__builtins__");
                let v = self.import(if self.py2() {
                    "__builtin__"
                } else {
                    "builtins"
                });
                pairs.push((k, v));
                if let Some(module) = f.module.clone() {
                    let k = self.str_node("__name__");
                    let v = self.str_node(&module);
                    pairs.push((k, v));
                }
                self.push(NodeKind::Dict(Vec::new()), Opcode::EmptyDict)
            }
        };
        let mut deferred_globals = Vec::new();
        for &(k, v) in &f.shipped_globals {
            let Some(name) = m.text_of(k) else { continue };
            if matches!(name.as_str(), "__builtins__" | "__name__")
                || self.options.remove_globals.contains(&name)
            {
                continue;
            }
            let kk = self.value(k, depth + 1)?;
            match self.value_or_defer(v, depth + 1)? {
                // Into a live namespace, shipped entries go by setitem after the function.
                Some(vv) if live.is_none() => pairs.push((kk, vv)),
                Some(_) | None => deferred_globals.push((kk, v)),
            }
        }
        if live.is_none() {
            self.out.nodes[globals.index()].kind = NodeKind::Dict(pairs);
        }

        let name = match &f.name {
            Some(n) => self.str_node(n),
            None => self.push(NodeKind::None, Opcode::None),
        };
        let defaults = match f.defaults {
            Some(d) => self.value(d, depth + 1)?,
            None => self.push(NodeKind::None, Opcode::None),
        };
        let mut deferred_cells = Vec::new();
        let closure = match &f.closure {
            None => self.push(NodeKind::None, Opcode::None),
            Some(cells) => {
                let mut out = Vec::new();
                for &cid in cells {
                    let cell = m.cell(cid).expect("closure holds cells");
                    let made = match cell.contents {
                        CellContents::Empty => self.cell(None, false)?,
                        CellContents::Value(v) => match self.value_or_defer(v, depth + 1)? {
                            Some(vv) => self.cell(Some(vv), false)?,
                            None => {
                                let c = self.cell(Some(v), true)?;
                                deferred_cells.push((c, v));
                                c
                            }
                        },
                    };
                    out.push(made);
                }
                self.tuple(out)
            }
        };
        let ctor = self.global("types", "FunctionType");
        let func = self.call(ctor, vec![code, globals, name, defaults, closure]);
        self.remember(node, func);
        for &a in &f.aliases {
            self.remember(a, func);
        }
        self.in_progress
            .retain(|&n| n != node && !f.aliases.contains(&n));

        // Attributes, as dill writes them: BUILD (func.__dict__ or None, slotstate).
        let mut slots = Vec::new();
        let attrs = [
            ("__qualname__", f.qualname.clone().map(Err)),
            ("__module__", f.module.clone().map(Err)),
            ("__doc__", f.doc.map(Ok)),
            ("__kwdefaults__", f.kwdefaults.map(Ok)),
            ("__annotations__", f.annotations.map(Ok)),
        ];
        for (key, val) in attrs {
            let Some(val) = val else { continue };
            let v = match val {
                Ok(node) => self.value(node, depth + 1)?,
                Err(text) => self.str_node(&text),
            };
            let k = self.str_node(key);
            slots.push((k, v));
        }
        let fdict = match f.dict {
            Some(d) => self.value(d, depth + 1)?,
            None => self.push(NodeKind::None, Opcode::None),
        };
        if !slots.is_empty() || f.dict.is_some() {
            let slot_dict = self.push(NodeKind::Dict(slots), Opcode::EmptyDict);
            let state = self.tuple(vec![fdict, slot_dict]);
            self.out.mutation_log.push((func, Mutation::Build(state)));
        }

        // Submodules the function reaches as attributes (`xml.etree.ElementTree.fromstring`
        // with only `xml` in its globals) are imported for their side effect, as cloudpickle's
        // `_cloudpickle_submodules` does.
        for &sub in &f.submodules {
            let v = self.value(sub, depth + 1)?;
            self.fixups.push(v);
        }
        // Fix-ups for the cycles found above.
        for (cell, v) in deferred_cells {
            let v = self.value(v, depth + 1)?;
            let call = match self.cells.clone() {
                CellRecipe::Cloudpickle { module } => {
                    let set = self.global(&module, "cell_set");
                    self.call(set, vec![cell, v])
                }
                _ => {
                    let setattr = self.global("builtins", "setattr");
                    let attr = self.str_node("cell_contents");
                    self.call(setattr, vec![cell, attr, v])
                }
            };
            self.fixups.push(call);
        }
        for (k, v) in deferred_globals {
            let v = self.value(v, depth + 1)?;
            let setitem = self.global("operator", "setitem");
            let call = self.call(setitem, vec![globals, k, v]);
            self.fixups.push(call);
        }
        Ok(func)
    }
}

impl Model {
    /// Writes the function at `node` (and everything it needs: code, globals, closure,
    /// defaults, attributes, nested functions) as a standalone pickle.
    ///
    /// The result loads with `pickle.loads`, `cloudpickle.loads` and `dill.loads` on the
    /// Python that produced the payload (code objects are version-specific). Before 3.8 (no
    /// `types.CellType`) closures need [`EmitOptions::cells`] set to the producer's helpers;
    /// Python 2 targets are written at protocol 2.
    pub fn emit_function(&self, node: NodeId, options: &EmitOptions) -> Result<Vec<u8>, EmitError> {
        if self.function(node).is_none() {
            return Err(EmitError::NotAFunction(node.index()));
        }
        self.emit(node, options)
    }

    /// Writes any node — a function, a dynamic class, an instance of one, a container of
    /// them — as a standalone pickle, like [`Model::emit_function`]. Enums go through the
    /// functional API and type variables through `typing.TypeVar` (keywords by
    /// `functools.partial`; a mixin base as `type=`). Not supported: enums with several mixins, classes with `__slots__`
    /// machinery beyond plain attributes.
    pub fn emit(&self, node: NodeId, options: &EmitOptions) -> Result<Vec<u8>, EmitError> {
        let python = options
            .python
            .or_else(|| self.python.version())
            .unwrap_or((3, 8));
        if python.0 >= 3 && options.protocol < 3 {
            return Err(EmitError::Unsupported(
                "protocols below 3 for Python 3 (code objects need bytes)".to_string(),
            ));
        }
        if python.0 < 3 && options.protocol > 2 {
            return Err(EmitError::Unsupported(format!(
                "protocol {} for Python 2 (2 at most)",
                options.protocol
            )));
        }
        let mut e = Emitter {
            m: self,
            out: Graph::new(),
            map: HashMap::new(),
            in_progress: Vec::new(),
            journal: Vec::new(),
            fixups: Vec::new(),
            globals: HashMap::new(),
            max_depth: options.max_depth,
            cells: options.cells.for_payload(self, python),
            options,
            python,
        };
        let func = match e.value(node, 0) {
            Ok(id) => id,
            Err(CopyError::Cycle) => {
                return Err(EmitError::Unsupported(
                    "a cycle outside closures and globals".to_string(),
                ))
            }
            Err(CopyError::Other(err)) => return Err(err),
        };
        let root = if e.fixups.is_empty() {
            func
        } else {
            // operator.itemgetter(0)((func, fixup, ...))
            let mut items = vec![func];
            items.extend(e.fixups.clone());
            let all = e.tuple(items);
            let getter = e.global("operator", "itemgetter");
            let zero = e.push(NodeKind::Int(0), Opcode::Binint1);
            let pick = e.call(getter, vec![zero]);
            e.call(pick, vec![all])
        };
        write_graph(&e.out, root, &WriteOptions::new(options.protocol))
            .map_err(|err| EmitError::Write(err.to_string()))
    }
}
