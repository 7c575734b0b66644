//! Recognisers: turn a pickle's object graph into a [`Model`] of shipped functions, classes,
//! code objects, cells, modules and nested pickles, for every producer and era of the spec.
//!
//! Nothing is imported or called: helper calls are matched by name through the one table in
//! [`table`], and their arguments are read from the graph. A call whose shape does not fit stays an
//! opaque call (the graph keeps it) and, when it names a known helper, gets a
//! [`Diagnostic`](crate::model::Diagnostic).
//!
//! The work is done in passes over the graph's arena, which is in stream order (arguments are
//! created before the call that uses them, setters come after their target):
//! 1. classify every global; index the setter calls (`_function_setstate`, `_class_setstate`,
//!    dill's `_setattr`/`_delattr`/`setattr` post-processing) by their target;
//! 2. fold bytes written indirectly, read code objects, modules, type variables, nested pickles;
//! 3. cells (their contents may come from the setters of pass 1);
//! 4. functions and classes;
//! 5. producer, era and Python version from everything seen.

pub mod code;
mod era;
mod function;
pub mod table;

use crate::error::{Error, Result};
use crate::infer::{PythonInference, VersionSet};
use crate::limits::Limits;
use crate::model::{
    Cell, CellContents, CodeObject, CodeSource, Diagnostic, Entity, EntityId, Family, Model,
    ModuleHow, ModuleRef, NestedPickle, Producer, TypeVar, Vendor,
};
use brine_pickle_core::{CallKind, Graph, LoadOptions, NodeId, NodeKind, Py2Encoding};
use era::EraVotes;
use std::collections::HashMap;
use table::{Helper, Known};

/// Options of [`decode_with`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DecodeOptions {
    /// Resource limits.
    pub limits: Limits,
    /// The producing Python, when the caller knows it (`(3, 11)`). It is recorded in
    /// [`PythonInference::stated`] and checked against the evidence.
    pub python: Option<(u8, u8)>,
    /// Record the opcode choices while loading (`LoadOptions::record_steps`), so that the
    /// payload can be re-emitted byte for byte with `brine_pickle_core::writer::reemit`.
    pub record_steps: bool,
}

/// Decodes an extended pickle with default options.
///
/// ```
/// // pickle.dumps(types.FunctionType) at protocol 2 would be a global; here the smallest
/// // cloudpickle-style stream: subimport('math'), protocol 4.
/// let data = b"\x80\x04\x95\x30\x00\x00\x00\x00\x00\x00\x00\x8c\x17cloudpickle.cloudpickle\x94\x8c\tsubimport\x94\x93\x94\x8c\x04math\x94\x85\x94R\x94.";
/// let model = brine_pickle_ext::recognise::decode(data).unwrap();
/// assert_eq!(model.producer().unwrap().family, brine_pickle_ext::model::Family::Cloudpickle);
/// match model.entity_of(model.root()) {
///     Some(brine_pickle_ext::model::Entity::Module(m)) => assert_eq!(m.name, "math"),
///     other => panic!("{other:?}"),
/// }
/// ```
pub fn decode(data: &[u8]) -> Result<Model> {
    decode_with(data, &DecodeOptions::default())
}

/// Decodes an extended pickle.
pub fn decode_with(data: &[u8], options: &DecodeOptions) -> Result<Model> {
    let mut budget = options.limits.max_nested_pickles;
    decode_at_depth(data, options, 0, &mut budget)
}

fn load_options(options: &DecodeOptions) -> LoadOptions {
    LoadOptions {
        // Python-2 strings are raw bytes that may be text (co_code must never be decoded).
        encoding: Py2Encoding::Latin1,
        limits: options.limits.pickle.clone(),
        record_steps: options.record_steps,
        ..LoadOptions::default()
    }
}

fn decode_at_depth(
    data: &[u8],
    options: &DecodeOptions,
    depth: usize,
    budget: &mut usize,
) -> Result<Model> {
    let graph = brine_pickle_core::loads_with(data, &load_options(options))?;
    model_at_depth(graph, options, depth, budget)
}

/// Builds the model of an already loaded graph.
pub fn model_from_graph(graph: Graph, options: &DecodeOptions) -> Result<Model> {
    let mut budget = options.limits.max_nested_pickles;
    model_at_depth(graph, options, 0, &mut budget)
}

fn model_at_depth(
    graph: Graph,
    options: &DecodeOptions,
    depth: usize,
    budget: &mut usize,
) -> Result<Model> {
    let n = graph.len();
    let mut b = Builder {
        graph,
        options,
        depth,
        budget,
        known: vec![None; n],
        entities: Vec::new(),
        node_entity: HashMap::new(),
        diagnostics: Vec::new(),
        python: PythonInference {
            stated: options.python,
            ..PythonInference::default()
        },
        votes: EraVotes::default(),
        setters: HashMap::new(),
        attr_sets: HashMap::new(),
        attr_dels: HashMap::new(),
        first_helper: None,
    };
    b.classify_globals();
    b.index_setters();
    b.pass_values()?;
    b.pass_cells()?;
    b.pass_functions_and_classes()?;
    Ok(b.finish())
}

/// What a call node calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Callee {
    /// A known helper global (or `getattr(dill._dill, '_setattr', ...)`, read as the helper).
    Helper(Known),
    /// A type by name: `_builtin_type('CodeType')`, `_load_type('CodeType')`.
    TypeByName {
        /// The type's name.
        name: String,
        /// The helper that looked it up.
        via: Known,
    },
}

pub(crate) struct Builder<'o> {
    pub(crate) graph: Graph,
    options: &'o DecodeOptions,
    depth: usize,
    budget: &'o mut usize,
    known: Vec<Option<Known>>,
    pub(crate) entities: Vec<Entity>,
    pub(crate) node_entity: HashMap<NodeId, EntityId>,
    pub(crate) diagnostics: Vec<Diagnostic>,
    pub(crate) python: PythonInference,
    pub(crate) votes: EraVotes,
    /// `_function_setstate` / `_class_setstate` calls by target: (helper, state node, call node).
    pub(crate) setters: HashMap<NodeId, Vec<(Known, NodeId, NodeId)>>,
    /// `setattr(obj, name, value)` (dill post-processing) by target: (name, value, call node).
    pub(crate) attr_sets: HashMap<NodeId, Vec<(String, NodeId, NodeId)>>,
    /// `delattr(obj, name)` by target.
    pub(crate) attr_dels: HashMap<NodeId, Vec<(String, NodeId)>>,
    first_helper: Option<Known>,
}

impl Builder<'_> {
    pub(crate) fn offset(&self, node: NodeId) -> u64 {
        self.graph.node(node).offset
    }

    pub(crate) fn diag(&mut self, node: NodeId, message: impl Into<String>) {
        let offset = self.offset(node);
        self.diagnostics.push(Diagnostic {
            offset,
            message: message.into(),
        });
    }

    pub(crate) fn add_entity(&mut self, node: NodeId, entity: Entity) -> Result<EntityId> {
        if self.entities.len() >= self.options.limits.max_entities {
            return Err(Error::Limit {
                what: "number of entities",
                limit: self.options.limits.max_entities,
                offset: self.offset(node),
            });
        }
        let id = EntityId(self.entities.len() as u32);
        self.entities.push(entity);
        self.node_entity.insert(node, id);
        Ok(id)
    }

    pub(crate) fn alias(&mut self, node: NodeId, id: EntityId) {
        self.node_entity.entry(node).or_insert(id);
    }

    pub(crate) fn entity_of(&self, node: NodeId) -> Option<&Entity> {
        self.node_entity
            .get(&node)
            .map(|id| &self.entities[id.index()])
    }

    pub(crate) fn text(&self, node: NodeId) -> Option<String> {
        crate::model::text_of(&self.graph, node)
    }

    pub(crate) fn is_none(&self, node: NodeId) -> bool {
        matches!(self.graph.kind(node), NodeKind::None)
    }

    pub(crate) fn bytes(&self, node: NodeId) -> Option<&[u8]> {
        if let Some(Entity::Bytes(b)) = self.entity_of(node) {
            return Some(b);
        }
        self.graph.as_bytes(node)
    }

    /// The known helper a global node names.
    pub(crate) fn known(&self, node: NodeId) -> Option<&Known> {
        self.known.get(node.index()).and_then(Option::as_ref)
    }

    /// `(callee, argument nodes)` of a REDUCE call node.
    pub(crate) fn call(&self, node: NodeId) -> Option<(Callee, Vec<NodeId>)> {
        let NodeKind::Object(obj) = self.graph.kind(node) else {
            return None;
        };
        if obj.call != CallKind::Reduce {
            return None;
        }
        let args = self.graph.items(obj.args)?.to_vec();
        if let Some(k) = self.known(obj.callable) {
            return Some((Callee::Helper(k.clone()), args));
        }
        // `_builtin_type('X')(...)` / `_load_type('X')(...)`, and dill's
        // `getattr(dill._dill, '_setattr', setattr)(...)`.
        let NodeKind::Object(inner) = self.graph.kind(obj.callable) else {
            return None;
        };
        let inner_k = self.known(inner.callable)?.clone();
        let inner_args = self.graph.items(inner.args)?;
        match inner_k.helper {
            Helper::BuiltinType | Helper::LoadType => {
                let name = self.text(*inner_args.first()?)?;
                Some((Callee::TypeByName { name, via: inner_k }, args))
            }
            Helper::Getattr if inner_args.len() >= 2 => {
                let module = self.known(inner_args[0])?;
                if module.helper != Helper::DillModule {
                    return None;
                }
                let attr = self.text(inner_args[1])?;
                let mut k = module.clone();
                k.helper = match attr.as_str() {
                    "_setattr" => Helper::Setattr,
                    "_delattr" => Helper::Delattr,
                    _ => return None,
                };
                Some((Callee::Helper(k), args))
            }
            _ => None,
        }
    }

    /// The helper of a call, with `TypeByName` mapped to the stdlib type helper it names.
    pub(crate) fn call_helper(&self, node: NodeId) -> Option<(Helper, Known, Vec<NodeId>)> {
        let (callee, args) = self.call(node)?;
        match callee {
            Callee::Helper(k) => Some((k.helper, k, args)),
            Callee::TypeByName { name, via } => {
                let helper = match name.as_str() {
                    "CodeType" => Helper::CodeType,
                    "FunctionType" | "LambdaType" => Helper::FunctionType,
                    "CellType" => Helper::CellType,
                    "ModuleType" => Helper::ModuleType,
                    // cloudpickle < 1.3 pickled `type` as _builtin_type('ClassType'); dill
                    // writes _load_type('type').
                    // Python 2's `types.TypeType` is `type` too.
                    "ClassType" | "type" | "TypeType" => Helper::Type,
                    _ => return None,
                };
                Some((helper, via, args))
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Pass 1: globals and setters.

    fn classify_globals(&mut self) {
        for i in 0..self.graph.len() {
            let id = NodeId::from_index(i);
            if let NodeKind::Global(g) = self.graph.kind(id) {
                let k = table::classify(&g.resolved_module, &g.resolved_name);
                if k.as_ref().is_some_and(|k| k.family == Family::Dill) {
                    match g.resolved_module.as_str() {
                        "dill.dill" => self.votes.dill_old_module(),
                        "dill._dill" => self.votes.dill_new_module(),
                        _ => {}
                    }
                }
                if let Some(k) = &k {
                    if k.family != Family::Stdlib && self.first_helper.is_none() {
                        self.first_helper = Some(k.clone());
                    }
                    let offset = self.graph.node(id).offset;
                    self.votes.global(k, offset);
                }
                self.known[i] = k;
            }
        }
    }

    fn index_setters(&mut self) {
        for i in 0..self.graph.len() {
            let id = NodeId::from_index(i);
            let Some((helper, k, args)) = self.call_helper(id) else {
                continue;
            };
            match helper {
                Helper::FunctionSetstate | Helper::ClassSetstate if args.len() == 2 => {
                    self.setters
                        .entry(args[0])
                        .or_default()
                        .push((k, args[1], id));
                }
                Helper::Setattr if args.len() == 3 => {
                    if let Some(name) = self.text(args[1]) {
                        self.attr_sets
                            .entry(args[0])
                            .or_default()
                            .push((name, args[2], id));
                    }
                }
                Helper::Delattr if args.len() == 2 => {
                    if let Some(name) = self.text(args[1]) {
                        self.attr_dels.entry(args[0]).or_default().push((name, id));
                    }
                }
                _ => {}
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Pass 2: bytes, code, modules, type variables, nested pickles.

    fn pass_values(&mut self) -> Result<()> {
        for i in 0..self.graph.len() {
            let id = NodeId::from_index(i);
            if self.is_bare_typevar(id) {
                self.typevar_from_state(id)?;
                continue;
            }
            let Some((helper, k, args)) = self.call_helper(id) else {
                continue;
            };
            match helper {
                Helper::CodecsEncode => {
                    // _codecs.encode(text, 'latin1'): each code point < 256 is one byte.
                    let (Some(text), Some(enc)) = (
                        args.first().and_then(|&a| self.text(a)),
                        args.get(1).and_then(|&a| self.text(a)),
                    ) else {
                        continue;
                    };
                    if args.len() != 2 || !matches!(enc.as_str(), "latin1" | "latin-1") {
                        continue;
                    }
                    let bytes: Option<Vec<u8>> = text
                        .chars()
                        .map(|c| u8::try_from(u32::from(c)).ok())
                        .collect();
                    match bytes {
                        Some(b) => {
                            self.add_entity(id, Entity::Bytes(b))?;
                        }
                        None => self.diag(id, "_codecs.encode: text has code points above 255"),
                    }
                }
                Helper::Bytes if args.is_empty() => {
                    self.add_entity(id, Entity::Bytes(Vec::new()))?;
                }
                Helper::CodeType | Helper::CreateCode => self.code_from_ctor(id, &k, &args)?,
                Helper::MarshalLoads => self.code_from_marshal(id, &args)?,
                Helper::Subimport | Helper::ImportModule | Helper::ImportModuleDill => {
                    let Some(name) = args.first().and_then(|&a| self.text(a)) else {
                        self.diag(id, "module import without a module name");
                        continue;
                    };
                    let how = match self.graph.mutations(id).find_map(|m| match m {
                        brine_pickle_core::Mutation::Build(s) => Some(*s),
                        _ => None,
                    }) {
                        Some(state) => ModuleHow::ImportThenUpdate(state),
                        None => ModuleHow::Import,
                    };
                    self.add_entity(
                        id,
                        Entity::Module(ModuleRef {
                            node: id,
                            name,
                            how,
                        }),
                    )?;
                }
                Helper::DynamicSubimport if args.len() == 2 => {
                    let Some(name) = self.text(args[0]) else {
                        self.diag(id, "dynamic_subimport without a module name");
                        continue;
                    };
                    let how = ModuleHow::Dynamic(args[1]);
                    self.add_entity(
                        id,
                        Entity::Module(ModuleRef {
                            node: id,
                            name,
                            how,
                        }),
                    )?;
                }
                Helper::MakeTypevar => {
                    if args.len() != 6 {
                        self.diag(
                            id,
                            format!("_make_typevar takes 6 arguments, got {}", args.len()),
                        );
                        continue;
                    }
                    let tv = TypeVar {
                        node: id,
                        name: self.text(args[0]),
                        bound: (!self.is_none(args[1])).then_some(args[1]),
                        constraints: Some(args[2]),
                        covariant: self.graph.as_bool(args[3]),
                        contravariant: self.graph.as_bool(args[4]),
                        tracker_id: self.text(args[5]),
                    };
                    self.add_entity(id, Entity::TypeVar(tv))?;
                }
                Helper::PickleLoads | Helper::ReconstructWrapper => {
                    self.nested(id, &args)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// `NEWOBJ(typing.TypeVar, ())` or `copyreg._reconstructor(typing.TypeVar, object, None)`:
    /// a TypeVar made without calling its constructor (its state follows in a `BUILD`).
    fn is_bare_typevar(&self, id: NodeId) -> bool {
        let NodeKind::Object(obj) = self.graph.kind(id) else {
            return false;
        };
        let is_typevar = |n: NodeId| self.known(n).is_some_and(|k| k.helper == Helper::TypeVar);
        let Some(args) = self.graph.items(obj.args) else {
            return false;
        };
        match obj.call {
            CallKind::NewObj => args.is_empty() && is_typevar(obj.callable),
            CallKind::Reduce => {
                let NodeKind::Global(g) = self.graph.kind(obj.callable) else {
                    return false;
                };
                matches!(g.resolved_module.as_str(), "copyreg" | "copy_reg")
                    && g.resolved_name == "_reconstructor"
                    && args.first().is_some_and(|&a| is_typevar(a))
            }
            _ => false,
        }
    }

    /// Python 3.6's `TypeVar` has no reducer: `copyreg.__reduce_ex__` writes
    /// `NEWOBJ(typing.TypeVar, ())` and a `BUILD` with its slot state (`(None, {'__name__': ...,
    /// '__bound__': ..., ...})`, or the dict alone).
    fn typevar_from_state(&mut self, id: NodeId) -> Result<()> {
        let Some(state) = self.graph.mutations(id).find_map(|m| match m {
            brine_pickle_core::Mutation::Build(s) => Some(*s),
            _ => None,
        }) else {
            return Ok(());
        };
        let mut pairs = Vec::new();
        let parts: Vec<NodeId> = match self.graph.kind(state) {
            NodeKind::Tuple(items) => items.clone(),
            _ => vec![state],
        };
        for p in parts {
            if let NodeKind::Dict(d) = self.graph.kind(p) {
                pairs.extend(d.iter().copied());
            }
        }
        let get = |name: &str| {
            pairs
                .iter()
                .rev()
                .find(|&&(k, _)| self.text(k).as_deref() == Some(name))
                .map(|&(_, v)| v)
        };
        let Some(name) = get("__name__").and_then(|n| self.text(n)) else {
            self.diag(id, "typing.TypeVar state without a __name__");
            return Ok(());
        };
        let tv = TypeVar {
            node: id,
            name: Some(name),
            bound: get("__bound__").filter(|&b| !self.is_none(b)),
            constraints: get("__constraints__"),
            covariant: get("__covariant__").and_then(|v| self.graph.as_bool(v)),
            contravariant: get("__contravariant__").and_then(|v| self.graph.as_bool(v)),
            tracker_id: None,
        };
        self.add_entity(id, Entity::TypeVar(tv))?;
        Ok(())
    }

    fn code_from_ctor(&mut self, id: NodeId, k: &Known, args: &[NodeId]) -> Result<()> {
        let layouts = {
            let is_bytes = |n: NodeId| matches!(self.entity_of(n), Some(Entity::Bytes(_)));
            code::match_layouts(&self.graph, args, &is_bytes)
        };
        let layouts = match layouts {
            Ok(l) => l,
            Err(e) => {
                self.diag(id, e.to_string());
                return Ok(());
            }
        };
        // Two 16-argument layouts fit by type; the table's content tells them apart.
        let mut layout = layouts[0];
        let mut versions = layouts
            .iter()
            .fold(VersionSet::EMPTY, |s, l| s.or(l.versions));
        let mut what = format!("{} CodeType arguments", args.len());
        if layouts.len() > 1 {
            let table = self.bytes(args[13]).map(<[u8]>::to_vec);
            let code = self.bytes(args[6]).map(<[u8]>::to_vec);
            if let (Some(table), Some(code)) = (table, code) {
                match code::looks_like_linetable_310(&table, &code) {
                    Some(true) => {
                        layout = layouts
                            .iter()
                            .copied()
                            .find(|l| l.name == "3.10")
                            .unwrap_or(layout);
                        versions = layout.versions;
                        what.push_str(
                            ", the line table covers the whole bytecode (3.10 linetable)",
                        );
                    }
                    Some(false) if k.family == crate::model::Family::Dill => {
                        // dill 0.3.5.x (and older dill on 3.10) put co_lnotab into 3.10's
                        // linetable slot, so an lnotab-looking table does not exclude 3.10.
                        versions = VersionSet::range((3, 8), (3, 10));
                        what.push_str(
                            ", an lnotab-like line table (dill writes lnotab into the 3.10 linetable slot too)",
                        );
                    }
                    Some(false) => {
                        versions = layout.versions;
                        what.push_str(", the line table stops short of the bytecode (lnotab)");
                    }
                    None => {}
                }
            }
        }
        // A version stated by the caller picks among the layouts that fit.
        if let Some(stated) = self.options.python {
            if let Some(l) = layouts.iter().find(|l| l.versions.contains(stated)) {
                layout = l;
            }
        }
        if layout.fields[0] == code::CodeField::LnoTab {
            what.push_str(", co_lnotab first (dill 0.3.6+)");
            self.votes.dill_leading_lnotab();
        }
        let code_index = layout.position(code::CodeField::Code).unwrap_or(0);
        if matches!(self.graph.kind(args[code_index]), NodeKind::Py2Str(_)) {
            // A Python-3 producer writes bytes (or _codecs.encode at protocol <= 2).
            versions = versions.and(VersionSet::only((2, 7)));
            what.push_str(", co_code is a Python 2 str");
        }
        let offset = self.offset(id);
        self.python.add(offset, what, versions);
        self.opcode_evidence(offset, args, &layouts, versions);
        self.votes.code_ctor(k);
        self.add_entity(
            id,
            Entity::Code(CodeObject {
                node: id,
                source: CodeSource::CtorArgs { layout },
                args: args.to_vec(),
                marshal_versions: VersionSet::EMPTY,
            }),
        )?;
        Ok(())
    }

    /// Versions among `versions` whose opcode table decodes the bytecode as a compiler of that
    /// version could have written it: no unknown, specialised or truncated instruction, no
    /// stray `CACHE` entry, and, when the constructor arguments give the table sizes (names,
    /// constants, locals), no argument indexing past them and no jump leaving the code.
    fn opcode_evidence(
        &mut self,
        offset: u64,
        args: &[NodeId],
        layouts: &[&'static code::CtorLayout],
        versions: VersionSet,
    ) {
        let mut ok = VersionSet::EMPTY;
        let mut sized_any = false;
        for (major, minor) in versions.iter() {
            let Some(table) = brine_codeobj::OpcodeTable::for_version(major, minor) else {
                continue;
            };
            // A version passes when some layout written by its producers decodes cleanly
            // (two layouts may fit the same arguments; never rule out on the wrong one).
            let mut tried = false;
            let mut clean = false;
            for layout in layouts
                .iter()
                .filter(|l| l.versions.contains((major, minor)))
            {
                let Some(code_index) = layout.position(code::CodeField::Code) else {
                    continue;
                };
                let Some(code_bytes) = self.bytes(args[code_index]) else {
                    continue;
                };
                tried = true;
                let sizes = self.table_sizes(layout, args);
                sized_any |= sizes.is_some();
                if bytecode_fits(table, code_bytes, sizes) {
                    clean = true;
                    break;
                }
            }
            if !tried {
                // No layout of this version fits the arguments (cannot happen for versions
                // taken from the layouts); judge the opcodes alone.
                let code_index = layouts[0].position(code::CodeField::Code).unwrap_or(0);
                let Some(code_bytes) = args.get(code_index).and_then(|&n| self.bytes(n)) else {
                    return;
                };
                clean = bytecode_fits(table, code_bytes, None);
            }
            if clean {
                ok = ok.or(VersionSet::only((major, minor)));
            }
        }
        if ok != versions {
            let what = if sized_any {
                "the bytecode decodes cleanly (opcodes, inline caches, argument ranges given the \
                 constructor's names/constants/locals) with the opcode tables of"
            } else {
                "the bytecode decodes with the opcode tables of"
            };
            self.python.add(offset, format!("{what} {ok} only"), ok);
        }
    }

    /// The lengths of the tables the bytecode indexes, read from the constructor arguments
    /// of `layout`; `None` when one of them is not a tuple in the graph.
    fn table_sizes(&self, layout: &code::CtorLayout, args: &[NodeId]) -> Option<TableSizes> {
        let len = |field: code::CodeField| -> Option<usize> {
            let i = layout.position(field)?;
            Some(self.graph.items(*args.get(i)?)?.len())
        };
        let optional = |field: code::CodeField| -> Option<usize> {
            match layout.position(field) {
                None => Some(0),
                Some(_) => len(field),
            }
        };
        Some(TableSizes {
            consts: len(code::CodeField::Consts)?,
            names: len(code::CodeField::Names)?,
            varnames: len(code::CodeField::VarNames)?,
            cellvars: optional(code::CodeField::CellVars)?,
            freevars: optional(code::CodeField::FreeVars)?,
        })
    }

    fn code_from_marshal(&mut self, id: NodeId, args: &[NodeId]) -> Result<()> {
        let Some(&bytes_node) = args.first() else {
            self.diag(id, "marshal.loads without an argument");
            return Ok(());
        };
        let Some(data) = self.bytes(bytes_node).map(<[u8]>::to_vec) else {
            self.diag(id, "marshal.loads of something that is not bytes");
            return Ok(());
        };
        let mut versions = VersionSet::EMPTY;
        let mut clean = VersionSet::EMPTY;
        for &(major, minor) in crate::infer::KNOWN_VERSIONS {
            match marshal_code_reads(&data, major, minor) {
                MarshalFit::No => {}
                MarshalFit::FormatOnly => versions = versions.or(VersionSet::only((major, minor))),
                MarshalFit::Clean => {
                    versions = versions.or(VersionSet::only((major, minor)));
                    clean = clean.or(VersionSet::only((major, minor)));
                }
            }
        }
        let offset = self.offset(id);
        if versions.is_empty() {
            self.diag(
                id,
                "marshal.loads: the bytes are not a code object in the marshal format of any known Python",
            );
            return Ok(());
        }
        self.python.add(
            offset,
            "marshal bytes read as a code object by these versions' marshal format",
            versions,
        );
        if clean != versions {
            self.python.add(
                offset,
                format!(
                    "the marshalled bytecode (and its nested code) decodes cleanly with the opcode tables of {clean} only"
                ),
                clean,
            );
        }
        self.add_entity(
            id,
            Entity::Code(CodeObject {
                node: id,
                source: CodeSource::Marshal { bytes: bytes_node },
                args: Vec::new(),
                marshal_versions: versions,
            }),
        )?;
        Ok(())
    }

    fn nested(&mut self, id: NodeId, args: &[NodeId]) -> Result<()> {
        let Some(&bytes_node) = args.first() else {
            return Ok(());
        };
        let Some(data) = self.bytes(bytes_node).map(<[u8]>::to_vec) else {
            return Ok(());
        };
        if self.depth + 1 > self.options.limits.max_nested_depth || *self.budget == 0 {
            self.diag(
                id,
                format!(
                    "nested pickle not decoded: nesting limit ({} levels, {} pickles) reached",
                    self.options.limits.max_nested_depth, self.options.limits.max_nested_pickles
                ),
            );
            return Ok(());
        }
        *self.budget -= 1;
        let model = match decode_at_depth(&data, self.options, self.depth + 1, self.budget) {
            Ok(m) => Ok(m),
            Err(e @ Error::Limit { .. }) => return Err(e),
            Err(e) => Err(e.to_string()),
        };
        self.add_entity(
            id,
            Entity::Nested(Box::new(NestedPickle {
                node: id,
                bytes: bytes_node,
                model,
            })),
        )?;
        Ok(())
    }

    // ---------------------------------------------------------------------------------------
    // Pass 3: cells.

    fn pass_cells(&mut self) -> Result<()> {
        for i in 0..self.graph.len() {
            let id = NodeId::from_index(i);
            let Some((helper, k, args)) = self.call_helper(id) else {
                continue;
            };
            let contents = match (helper, args.len()) {
                (Helper::MakeEmptyCell, 0) | (Helper::CellType, 0) => CellContents::Empty,
                (Helper::MakeCell, 1) | (Helper::CellType, 1) | (Helper::MakeFuncCell, 1) => {
                    CellContents::Value(args[0])
                }
                (Helper::CreateCell, 1) => self.dill_cell_contents(id, args[0]),
                (Helper::MakeEmptyCell | Helper::MakeCell | Helper::CreateCell, n) => {
                    self.diag(id, format!("cell helper called with {n} arguments"));
                    continue;
                }
                _ => continue,
            };
            if helper == Helper::CellType {
                self.votes.celltype_cells(&k);
            }
            if matches!(helper, Helper::MakeCell | Helper::MakeEmptyCell) {
                self.votes.make_cell_helpers();
            }
            self.add_entity(
                id,
                Entity::Cell(Cell {
                    node: Some(id),
                    contents,
                }),
            )?;
        }
        Ok(())
    }

    /// dill: `_create_cell(value)`; the value `None` (dill's `_CELL_REF`) is replaced later by
    /// `_setattr(cell, 'cell_contents', v)`; `getattr(_dill, '_CELL_EMPTY', None)` plus a later
    /// `_delattr(cell, 'cell_contents')` is an empty cell.
    fn dill_cell_contents(&self, cell: NodeId, arg: NodeId) -> CellContents {
        if let Some(sets) = self.attr_sets.get(&cell) {
            if let Some((_, v, _)) = sets.iter().rev().find(|(n, _, _)| n == "cell_contents") {
                return CellContents::Value(*v);
            }
        }
        if let Some(dels) = self.attr_dels.get(&cell) {
            if dels.iter().any(|(n, _)| n == "cell_contents") {
                return CellContents::Empty;
            }
        }
        if let Some((Helper::Getattr, _, a)) = self.call_helper(arg) {
            if a.len() >= 2 && self.text(a[1]).as_deref() == Some("_CELL_EMPTY") {
                return CellContents::Empty;
            }
        }
        CellContents::Value(arg)
    }

    // ---------------------------------------------------------------------------------------
    // Pass 4: functions and classes (see function.rs).

    fn pass_functions_and_classes(&mut self) -> Result<()> {
        for i in 0..self.graph.len() {
            let id = NodeId::from_index(i);
            let Some((helper, k, args)) = self.call_helper(id) else {
                continue;
            };
            self.function_or_class(id, helper, &k, &args)?;
        }
        Ok(())
    }

    // ---------------------------------------------------------------------------------------
    // Pass 5: producer and Python version.

    fn finish(mut self) -> Model {
        let mut producers = Vec::new();
        if let Some(k) = self.first_helper.clone() {
            let family = k.family;
            let eras = self.votes.eras(family);
            for (offset, what, versions) in self.votes.python_evidence(&eras) {
                self.python.add(offset, what, versions);
            }
            producers.push(Producer {
                family,
                vendor: k.vendor,
                namespace: k.namespace.clone(),
                era: (eras.len() == 1).then(|| eras[0]),
                era_candidates: eras,
            });
            // A loky wrapper's payload is produced by (vendored) cloudpickle inside.
            for e in &self.entities {
                if let Entity::Nested(n) = e {
                    if let Ok(m) = &n.model {
                        for p in &m.producers {
                            if !producers.contains(p) {
                                producers.push(p.clone());
                            }
                        }
                    }
                }
            }
        } else if self
            .entities
            .iter()
            .any(|e| matches!(e, Entity::Code(c) if matches!(c.source, CodeSource::Marshal { .. })))
        {
            producers.push(Producer {
                family: Family::CopyregMarshal,
                vendor: Vendor::Upstream,
                namespace: String::new(),
                era: None,
                era_candidates: Vec::new(),
            });
        }
        if let Some(p) = producers.first().cloned() {
            for e in &mut self.entities {
                match e {
                    Entity::Function(f) => f.producer = p.clone(),
                    Entity::Class(c) => c.producer = p.clone(),
                    _ => {}
                }
            }
        }
        Model {
            graph: self.graph,
            entities: self.entities,
            node_entity: self.node_entity,
            producers,
            python: self.python,
            diagnostics: self.diagnostics,
        }
    }
}

/// True if `data` is one complete marshal code object in the format of Python `major.minor`.
fn marshal_code_reads(data: &[u8], major: u8, minor: u8) -> MarshalFit {
    let options = brine_marshal::ReadOptions::new(brine_marshal::PyVersion::new(major, minor));
    let Ok(stream) = brine_marshal::read(data, &options) else {
        return MarshalFit::No;
    };
    let Some(view) = stream.root_code() else {
        return MarshalFit::No;
    };
    let Ok(root) =
        brine_codeobj::Code::from_marshal(view, brine_codeobj::FromMarshalOptions::default())
    else {
        return MarshalFit::No;
    };
    // The root and every nested code object (explicit stack: nesting depth is input-driven),
    // with their real tables, so argument ranges count too.
    let mut stack = vec![&root];
    while let Some(code) = stack.pop() {
        if code
            .instructions()
            .any(|i| i.problem.is_some_and(rules_out))
        {
            return MarshalFit::FormatOnly;
        }
        stack.extend(code.nested().map(|(_, c)| c));
    }
    MarshalFit::Clean
}

/// How a version's marshal format and opcode table take a `marshal.loads` payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MarshalFit {
    /// Not a code object in this version's marshal format.
    No,
    /// A code object, but its bytecode is not what this version compiles.
    FormatOnly,
    /// A code object whose bytecode decodes cleanly.
    Clean,
}

/// Whether a decoding problem shows the bytecode was not compiled by the table's version
/// (every problem but too many `EXTENDED_ARG`s, which real code never has either, but which
/// says nothing about the version).
fn rules_out(problem: brine_codeobj::Problem) -> bool {
    !matches!(problem, brine_codeobj::Problem::TooManyExtendedArgs)
}

/// The lengths of the tables a code object's instructions index.
#[derive(Debug, Clone, Copy)]
struct TableSizes {
    consts: usize,
    names: usize,
    varnames: usize,
    cellvars: usize,
    freevars: usize,
}

/// Whether `code_bytes` decodes under `table` as real compiled code: no unknown, specialised,
/// truncated or stray-`CACHE` instruction, no jump outside the code and, when the table sizes
/// are known, no argument out of range.
fn bytecode_fits(
    table: &'static brine_codeobj::OpcodeTable,
    code_bytes: &[u8],
    sizes: Option<TableSizes>,
) -> bool {
    use brine_codeobj::{Const, Local, LocalKind, Problem};
    let mut code = brine_codeobj::Code::empty(table, code_bytes);
    if let Some(s) = sizes {
        // Placeholder entries: the decoder only checks that an index lands inside a table.
        let name = brine_marshal::PyStr::new(b"", true);
        code.consts = std::iter::repeat_with(|| Const::None)
            .take(s.consts)
            .collect();
        code.names = vec![name; s.names];
        if code.stores_localsplus() {
            // 3.11+ merges a cell that is also an argument into one slot, so the sum is an
            // upper bound of the real count: it can only let an index through, never reject
            // a real one.
            let n = s.varnames + s.cellvars + s.freevars;
            code.localsplus = vec![
                Local {
                    name,
                    kind: LocalKind::LOCAL,
                };
                n
            ];
        } else {
            code.varnames = vec![name; s.varnames];
            code.cellvars = vec![name; s.cellvars];
            code.freevars = vec![name; s.freevars];
        }
    }
    !code.instructions().any(|i| match i.problem {
        Some(
            Problem::UnknownOpcode
            | Problem::NotInFiles
            | Problem::Truncated
            | Problem::StrayCache
            | Problem::JumpOutOfRange,
        ) => true,
        // Without the sizes every index looks out of range.
        Some(Problem::IndexOutOfRange) => sizes.is_some(),
        Some(Problem::TooManyExtendedArgs) | None => false,
    })
}

#[cfg(test)]
mod opcode_evidence_tests {
    use super::*;

    fn sizes(names: usize) -> Option<TableSizes> {
        Some(TableSizes {
            consts: 1,
            names,
            varnames: 0,
            cellvars: 0,
            freevars: 0,
        })
    }

    /// 3.12's `LOAD_ATTR` with the method bit (arg 3 = name 1, method) and 9 caches: 3.12
    /// takes it; 3.11 reads arg 3 as name 3, which is in range with 4 names, but its 4-entry
    /// caches leave it inside 3.12's, on stray CACHE entries.
    #[test]
    fn load_attr_of_312_is_not_311() {
        let t12 = brine_codeobj::OpcodeTable::for_version(3, 12).unwrap();
        let t11 = brine_codeobj::OpcodeTable::for_version(3, 11).unwrap();
        let mut bytes = vec![t12.opcode("LOAD_ATTR").unwrap(), 3];
        bytes.extend([0; 18]);
        bytes.extend([t12.opcode("RETURN_VALUE").unwrap(), 0]);
        assert!(bytecode_fits(t12, &bytes, sizes(2)));
        assert!(!bytecode_fits(t11, &bytes, sizes(2)));
        assert!(!bytecode_fits(t11, &bytes, sizes(4)));
        assert!(!bytecode_fits(t11, &bytes, None));
        // 3.12's arg 3 is name 1: with a single name it is out of range, but only when the
        // sizes are known.
        assert!(!bytecode_fits(t12, &bytes, sizes(1)));
        assert!(bytecode_fits(t12, &bytes, None));
    }

    /// Hostile bytecode under every table, with and without sizes: a verdict, never a panic.
    #[test]
    fn arbitrary_bytecode_never_panics() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for len in 0..200usize {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            for &(major, minor) in crate::infer::KNOWN_VERSIONS {
                if let Some(t) = brine_codeobj::OpcodeTable::for_version(major, minor) {
                    let _ = bytecode_fits(t, &bytes, None);
                    let _ = bytecode_fits(t, &bytes, sizes(len % 7));
                }
            }
            let _ = marshal_code_reads(&bytes, 3, 12);
        }
    }
}
