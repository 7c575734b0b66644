//! The decoded model of an extended pickle: what the payload ships (functions, classes, code,
//! cells, modules, type variables, nested pickles), laid over the pickle's object graph.
//!
//! The [`Graph`] from `brine_pickle_core` stays the ground truth: every field of an entity points
//! at graph nodes ([`NodeId`]), so nothing is copied or lost, sharing and cycles survive (a
//! function in its own closure, a class in its methods' `__class__` cells), and the exact bytes can
//! be re-emitted. [`Model::entity_of`] says what a node *means* when a recogniser understood it;
//! every call node no recogniser claimed is an opaque call ([`Model::opaque_calls`]): kept with
//! its arguments, never dropped, never guessed.

mod code;
mod emit;
#[cfg(feature = "json")]
mod json;
mod producer;

pub use emit::{CellRecipe, ConstValue, EmitError, EmitOptions};
pub use producer::{Era, Family, Producer, Vendor};

use crate::infer::PythonInference;
use crate::recognise::code::CtorLayout;
use brine_pickle_core::{Graph, NodeId, NodeKind};
use std::collections::HashMap;

/// Index of an [`Entity`] in [`Model::entities`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntityId(pub u32);

impl EntityId {
    /// The index into [`Model::entities`].
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Something a recogniser understood.
#[derive(Debug, Clone)]
pub enum Entity {
    /// A function (with code, globals, closure, ...).
    Function(Function),
    /// A dynamic class (or enum).
    Class(Class),
    /// A code object.
    Code(CodeObject),
    /// A closure cell.
    Cell(Cell),
    /// A module reference or a module rebuilt from its namespace.
    Module(ModuleRef),
    /// A `typing.TypeVar`.
    TypeVar(TypeVar),
    /// A bytes constant written indirectly (`_codecs.encode(text, 'latin1')`, `bytes()`).
    Bytes(Vec<u8>),
    /// An embedded pickle (`pickle.loads(b'...')`, loky's `_reconstruct_wrapper`), decoded.
    Nested(Box<NestedPickle>),
}

/// Where a function's globals come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GlobalsBase {
    /// A dict shipped in the payload (its node).
    Dict(NodeId),
    /// dill's `__builtin__.__main__` sentinel: the loading process's `__main__` namespace.
    MainSentinel,
    /// The live namespace of the named module (cloudpickle 0.5–0.7 string form, dill's
    /// `<module>.__dict__` global, extpickle's `getModuleDict(name)`).
    ModuleNamespace(String),
    /// `None` (cloudpickle 0.5–0.7).
    None,
    /// Something else (its node), e.g. an opaque call.
    Other(NodeId),
}

/// A closure cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// The node that creates the cell (`None` for era-A cells, made from values by the loader).
    pub node: Option<NodeId>,
    /// What it holds.
    pub contents: CellContents,
}

/// What a cell holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellContents {
    /// Nothing (an unbound free variable).
    Empty,
    /// This value (which may be the function or class being built: a cycle).
    Value(NodeId),
}

/// A shipped function.
#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    /// The node whose value is the function (what containers and other functions refer to).
    pub node: NodeId,
    /// Other nodes standing for the same function (cloudpickle's skeleton function, referenced by
    /// recursive closures before `_fill_function` returns).
    pub aliases: Vec<NodeId>,
    /// Which producer made it.
    pub producer: Producer,
    /// The code object (a node that is an [`Entity::Code`] when understood).
    pub code: Option<NodeId>,
    /// `__name__`.
    pub name: Option<String>,
    /// `__qualname__` (when shipped).
    pub qualname: Option<String>,
    /// `__module__` (when shipped).
    pub module: Option<String>,
    /// `__doc__` node (when shipped).
    pub doc: Option<NodeId>,
    /// The base globals.
    pub globals: GlobalsBase,
    /// Globals shipped with the function (`name node`, `value node`), in stream order: the
    /// base dict's entries followed by cloudpickle's `__globals__` state.
    pub shipped_globals: Vec<(NodeId, NodeId)>,
    /// `__defaults__` node (a tuple, or `None`).
    pub defaults: Option<NodeId>,
    /// `__kwdefaults__` node (a dict, or `None`).
    pub kwdefaults: Option<NodeId>,
    /// `__annotations__` node.
    pub annotations: Option<NodeId>,
    /// `__dict__` node (custom attributes).
    pub dict: Option<NodeId>,
    /// Closure cells ([`Entity::Cell`] ids), `None` when the function has no closure.
    pub closure: Option<Vec<EntityId>>,
    /// Modules the producer lists only to force their import (cloudpickle
    /// `_cloudpickle_submodules`, inline `subimport` calls of 0.4–1.1).
    pub submodules: Vec<NodeId>,
}

/// A dynamic class.
#[derive(Debug, Clone, PartialEq)]
pub struct Class {
    /// The node whose value is the class.
    pub node: NodeId,
    /// Other nodes standing for the same class (the skeleton before rehydration).
    pub aliases: Vec<NodeId>,
    /// Which producer made it.
    pub producer: Producer,
    /// `__name__`.
    pub name: Option<String>,
    /// `__qualname__` (when shipped).
    pub qualname: Option<String>,
    /// `__module__` (when shipped).
    pub module: Option<String>,
    /// The metaclass node (a global such as `builtins.type`, or another dynamic class).
    pub metaclass: Option<NodeId>,
    /// The bases tuple node.
    pub bases: Option<NodeId>,
    /// Class attributes (`name node`, `value node`) in stream order; methods appear as function
    /// nodes, possibly wrapped in `classmethod`/`staticmethod`/`property` calls.
    pub dict: Vec<(NodeId, NodeId)>,
    /// cloudpickle's class tracker id (a uuid4 hex string), never dereferenced.
    pub tracker_id: Option<String>,
    /// For enums: the members dict node (`name -> value`).
    pub enum_members: Option<NodeId>,
}

/// How a code object travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeSource {
    /// Constructor arguments (`CodeType(...)`, `_create_code(...)`), laid out as `layout`.
    CtorArgs {
        /// The argument layout recognised.
        layout: &'static CtorLayout,
    },
    /// `marshal.loads(bytes)`: the bytes node.
    Marshal {
        /// The node holding the marshal bytes.
        bytes: NodeId,
    },
}

/// A code object.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeObject {
    /// The node whose value is the code object.
    pub node: NodeId,
    /// How it travels.
    pub source: CodeSource,
    /// For constructor arguments: one node per field of `layout`, in order.
    pub args: Vec<NodeId>,
    /// For marshal bytes: the marshal versions whose format reads them completely.
    pub marshal_versions: crate::infer::VersionSet,
}

/// How a module travels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleHow {
    /// By import (`subimport`, `importlib.import_module`, dill `_import_module`).
    Import,
    /// Rebuilt from a shipped namespace (`dynamic_subimport(name, vars)`): the dict node.
    Dynamic(NodeId),
    /// dill `_import_module(name)` followed by a `BUILD` with the module's dict (user modules).
    ImportThenUpdate(NodeId),
}

/// A module reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleRef {
    /// The node whose value is the module.
    pub node: NodeId,
    /// Dotted module name.
    pub name: String,
    /// How it is obtained.
    pub how: ModuleHow,
}

/// A `typing.TypeVar` shipped by value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeVar {
    /// The node whose value is the type variable.
    pub node: NodeId,
    /// Its name.
    pub name: Option<String>,
    /// `__bound__` node.
    pub bound: Option<NodeId>,
    /// `__constraints__` node.
    pub constraints: Option<NodeId>,
    /// `__covariant__`.
    pub covariant: Option<bool>,
    /// `__contravariant__`.
    pub contravariant: Option<bool>,
    /// cloudpickle tracker id.
    pub tracker_id: Option<String>,
}

/// An embedded pickle, decoded recursively.
#[derive(Debug, Clone)]
pub struct NestedPickle {
    /// The call node (`pickle.loads(...)`, `_reconstruct_wrapper(...)`).
    pub node: NodeId,
    /// The bytes node.
    pub bytes: NodeId,
    /// The decoded payload, or why it could not be decoded.
    pub model: Result<Model, String>,
}

/// A remark about a shape a recogniser expected but could not accept (it stays opaque).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Byte offset of the opcode concerned.
    pub offset: u64,
    /// What is wrong, in words.
    pub message: String,
}

/// The decoded payload.
#[derive(Debug, Clone)]
pub struct Model {
    /// The pickle's object graph.
    pub graph: Graph,
    /// Everything understood.
    pub entities: Vec<Entity>,
    pub(crate) node_entity: HashMap<NodeId, EntityId>,
    /// The producer(s) seen, most specific first (usually one).
    pub producers: Vec<Producer>,
    /// Which Python wrote it, with the evidence.
    pub python: PythonInference,
    /// Shapes recognised as a known helper but malformed, left opaque.
    pub diagnostics: Vec<Diagnostic>,
}

impl Model {
    /// The entity a node stands for, if any.
    pub fn entity_of(&self, node: NodeId) -> Option<&Entity> {
        self.node_entity
            .get(&node)
            .map(|id| &self.entities[id.index()])
    }

    /// The id of the entity a node stands for, if any.
    pub fn entity_id_of(&self, node: NodeId) -> Option<EntityId> {
        self.node_entity.get(&node).copied()
    }

    /// The entity with this id.
    pub fn entity(&self, id: EntityId) -> &Entity {
        &self.entities[id.index()]
    }

    /// The payload's root node (the value of the first pickle).
    pub fn root(&self) -> NodeId {
        self.graph.root()
    }

    /// The main producer (the first of [`Model::producers`]).
    pub fn producer(&self) -> Option<&Producer> {
        self.producers.first()
    }

    /// Every function, in stream order.
    pub fn functions(&self) -> impl Iterator<Item = &Function> + '_ {
        self.entities.iter().filter_map(|e| match e {
            Entity::Function(f) => Some(f),
            _ => None,
        })
    }

    /// Every class, in stream order.
    pub fn classes(&self) -> impl Iterator<Item = &Class> + '_ {
        self.entities.iter().filter_map(|e| match e {
            Entity::Class(c) => Some(c),
            _ => None,
        })
    }

    /// The function a node stands for.
    pub fn function(&self, node: NodeId) -> Option<&Function> {
        match self.entity_of(node)? {
            Entity::Function(f) => Some(f),
            _ => None,
        }
    }

    /// The class a node stands for.
    pub fn class(&self, node: NodeId) -> Option<&Class> {
        match self.entity_of(node)? {
            Entity::Class(c) => Some(c),
            _ => None,
        }
    }

    /// The code object a node stands for.
    pub fn code(&self, node: NodeId) -> Option<&CodeObject> {
        match self.entity_of(node)? {
            Entity::Code(c) => Some(c),
            _ => None,
        }
    }

    /// The cell with this id, if it is one.
    pub fn cell(&self, id: EntityId) -> Option<&Cell> {
        match self.entity(id) {
            Entity::Cell(c) => Some(c),
            _ => None,
        }
    }

    /// Call nodes no recogniser claimed (opaque calls), in stream order.
    pub fn opaque_calls(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.graph
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| matches!(n.kind, NodeKind::Object(_)))
            .map(|(i, _)| NodeId::from_index(i))
            .filter(move |id| !self.node_entity.contains_key(id))
    }

    /// For a code object shipped as marshal bytes (extpickle, the copyreg trick): the decoded
    /// code, read with the marshal format of `version`, else of the inferred Python
    /// ([`PythonInference::version`]), else of the only version that reads the bytes.
    /// `None` if `node` is not such a code object; `Err` when the version is ambiguous or the
    /// bytes do not read as that version.
    pub fn marshal_code(
        &self,
        node: NodeId,
        version: Option<(u8, u8)>,
    ) -> Option<Result<brine_codeobj::Code<'_>, String>> {
        let code = self.code(node)?;
        let CodeSource::Marshal { bytes } = code.source else {
            return None;
        };
        let data = self.bytes_of(bytes)?;
        let Some((major, minor)) = version
            .or_else(|| self.python.version())
            .or_else(|| code.marshal_versions.single())
        else {
            return Some(Err(format!(
                "the marshal bytes read as several versions ({}); state which",
                code.marshal_versions
            )));
        };
        let options = brine_marshal::ReadOptions::new(brine_marshal::PyVersion::new(major, minor));
        let stream = match brine_marshal::read(data, &options) {
            Ok(s) => s,
            Err(e) => return Some(Err(format!("marshal {major}.{minor}: {e}"))),
        };
        let Some(view) = stream.root_code() else {
            return Some(Err("the marshal value is not a code object".to_string()));
        };
        Some(
            brine_codeobj::Code::from_marshal(view, brine_codeobj::FromMarshalOptions::default())
                .map_err(|e| format!("code object {major}.{minor}: {e}")),
        )
    }

    /// The bytes a node denotes: a bytes/bytearray/Python-2 string node, or a folded
    /// [`Entity::Bytes`].
    pub fn bytes_of(&self, node: NodeId) -> Option<&[u8]> {
        if let Some(Entity::Bytes(b)) = self.entity_of(node) {
            return Some(b);
        }
        self.graph.as_bytes(node)
    }

    /// The text a node denotes: a `str`, or a Python-2 string read as Latin-1.
    pub fn text_of(&self, node: NodeId) -> Option<String> {
        text_of(&self.graph, node)
    }
}

/// The text of a `str` node (lossy for lone surrogates) or of a Python-2 string (Latin-1).
pub(crate) fn text_of(graph: &Graph, node: NodeId) -> Option<String> {
    match graph.kind(node) {
        NodeKind::Str(_) => graph.as_str(node).map(|s| s.to_string_lossy()),
        NodeKind::Py2Str(span) => Some(graph.bytes_of(*span).iter().map(|&b| b as char).collect()),
        _ => None,
    }
}
