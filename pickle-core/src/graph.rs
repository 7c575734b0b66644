//! The object graph a pickle builds, as an arena of nodes.
//!
//! Loading a pickle never runs anything: every value becomes a [`Node`] in a flat arena
//! ([`Graph`]), addressed by [`NodeId`]. Containers hold `NodeId`s, so sharing (the memo) and
//! cycles (`l = []; l.append(l)`) are represented exactly, memo "bombs" cost one id per
//! reference instead of a copy, and dropping a graph never recurses.
//!
//! # What is kept for re-emission (writer)
//!
//! Every node records the opcode that produced it and its byte offset ([`Node::op`],
//! [`Node::offset`]). Containers keep their items exactly in stream order (dicts keep every
//! pair as written, including repeated keys; see [`Graph::dict_effective`] for CPython's view).
//! Operations on *symbolic* objects (anything whose Python type is not known: results of
//! REDUCE/NEWOBJ/..., globals, persistent references, buffers) are recorded as an ordered list
//! of [`Mutation`]s ([`Graph::mutations`]). Frames are listed in [`Graph::frames`]. When
//! [`LoadOptions::record_steps`](crate::LoadOptions::record_steps) is on, the loader also
//! records one [`Step`] per opcode (offset, opcode, node, memo key or other numeric argument,
//! and a copy of the raw argument text of line-based opcodes), which is enough to replay the
//! original opcode choices (batching, memo keys, PUT vs MEMOIZE, text forms) verbatim. We chose
//! a separate step list over per-node annotations because batching and memo choices are facts
//! about the *stream*, not about values, and most users never need them.

use crate::pystr::PyStr;
use crate::Opcode;
use num_bigint::BigInt;

/// Index of a node in a [`Graph`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub(crate) u32);

impl NodeId {
    /// The index into [`Graph::nodes`].
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// The id of the node at `index` (no check that it exists).
    pub fn from_index(index: usize) -> NodeId {
        NodeId(index as u32)
    }
}

/// A byte range in the graph's data buffer ([`Graph::data`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    /// Start offset in [`Graph::data`].
    pub start: usize,
    /// Length in bytes.
    pub len: usize,
}

impl Span {
    /// Set in [`Span::start`] when the bytes are in the graph's shared input
    /// ([`Graph::source`], see [`loads_shared`](crate::loads_shared)) rather than in
    /// [`Graph::data`]; the other bits are then the offset in that input.
    pub const SHARED: usize = 1 << (usize::BITS - 1);

    /// The range `start..start + len` (in [`Graph::data`], or in the shared input without the
    /// [`Span::SHARED`] bit). Use [`Graph::bytes_of`] to get the bytes of any span.
    pub fn range(self) -> std::ops::Range<usize> {
        let start = self.start & !Span::SHARED;
        start..start + self.len
    }

    /// True if the bytes are referenced in the shared input instead of copied into
    /// [`Graph::data`].
    pub fn is_shared(self) -> bool {
        self.start & Span::SHARED != 0
    }
}

/// Input bytes kept alive by a graph so that its strings and bytes can reference them
/// instead of holding copies ([`loads_shared`](crate::loads_shared)). Cloning is cheap (a
/// reference count).
#[derive(Clone)]
pub struct SharedInput(std::sync::Arc<dyn AsRef<[u8]> + Send + Sync>);

impl SharedInput {
    /// Shares `data` (a `Vec<u8>`, a memory map, ...): no copy is made.
    pub fn new<T: AsRef<[u8]> + Send + Sync + 'static>(data: std::sync::Arc<T>) -> SharedInput {
        SharedInput(data)
    }

    /// The bytes.
    #[inline]
    pub fn bytes(&self) -> &[u8] {
        (*self.0).as_ref()
    }
}

impl std::fmt::Debug for SharedInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SharedInput({} bytes)", self.bytes().len())
    }
}

/// A node of the graph: a value plus where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What the node is.
    pub kind: NodeKind,
    /// The opcode that created it (e.g. `BININT1`, `SHORT_BINUNICODE`, `REDUCE`).
    pub op: Opcode,
    /// Byte offset of that opcode in the input (across all pickles of a stream).
    pub offset: u64,
}

/// How a symbolic object was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallKind {
    /// `REDUCE`: `callable(*args)`.
    Reduce,
    /// `NEWOBJ`: `cls.__new__(cls, *args)`.
    NewObj,
    /// `NEWOBJ_EX`: `cls.__new__(cls, *args, **kwargs)`.
    NewObjEx,
    /// `OBJ`: old-style instantiation with the class taken from the stack.
    Obj,
    /// `INST`: old-style instantiation with the class named in the argument.
    Inst,
}

/// The kinds of nodes.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// `None`.
    None,
    /// `True` / `False` (`NEWTRUE`/`NEWFALSE`, or `INT` with `01`/`00`).
    Bool(bool),
    /// An int that fits in `i64`.
    Int(i64),
    /// A larger int.
    BigInt(Box<BigInt>),
    /// A float.
    Float(f64),
    /// A `str` (surrogatepass UTF-8 in [`Graph::data`]).
    Str(Span),
    /// A `bytes` object.
    Bytes(Span),
    /// A `bytearray` object.
    ByteArray(Span),
    /// A Python-2 `str` (`STRING`/`BINSTRING`/`SHORT_BINSTRING`), raw bytes (escapes undone).
    /// CPython turns it into `str` or `bytes` according to `encoding`; see [`Graph::encoding`].
    Py2Str(Span),
    /// A tuple.
    Tuple(Vec<NodeId>),
    /// A list, with every appended item in order.
    List(Vec<NodeId>),
    /// A dict: every `(key, value)` pair in stream order (repeated keys kept).
    Dict(Vec<(NodeId, NodeId)>),
    /// A set: items in stream order.
    Set(Vec<NodeId>),
    /// A frozenset: items in stream order.
    FrozenSet(Vec<NodeId>),
    /// A global (`GLOBAL`, `STACK_GLOBAL`, or the class of `INST`).
    Global(Box<Global>),
    /// A symbolic object made by a call (`REDUCE`, `NEWOBJ`, `NEWOBJ_EX`, `OBJ`, `INST`).
    Object(Box<Object>),
    /// A persistent reference (`PERSID`: `pid` is a str node; `BINPERSID`: any node).
    Persistent {
        /// The persistent id.
        pid: NodeId,
    },
    /// An extension-registry reference (`EXT1/2/4`).
    Ext {
        /// The code (> 0).
        code: i32,
        /// The global it resolves to through [`LoadOptions::extensions`](crate::LoadOptions), if known.
        resolved: Option<NodeId>,
    },
    /// An out-of-band buffer (`NEXT_BUFFER`): the `index`-th buffer of the stream (0-based).
    Buffer {
        /// 0-based order of `NEXT_BUFFER` in the stream.
        index: u32,
    },
    /// A read-only view (`READONLY_BUFFER`) of a writable or symbolic object.
    ReadOnly {
        /// The object viewed.
        of: NodeId,
    },
}

/// A global reference, with the name as written and as the target CPython would look it up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Global {
    /// Module as written in the stream.
    pub module: String,
    /// Name (possibly dotted) as written.
    pub name: String,
    /// Module after the `_compat_pickle` mapping (same as `module` when no mapping applied).
    pub resolved_module: String,
    /// Name after the `_compat_pickle` mapping.
    pub resolved_name: String,
    /// The `PROTO` value in force when it was read (0 if none).
    pub proto: u8,
    /// For `STACK_GLOBAL`: the str nodes the module and name came from.
    pub from_stack: Option<(NodeId, NodeId)>,
}

/// A symbolic object created by a call opcode. Later mutations are in [`Graph::mutations`].
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// Which opcode made it.
    pub call: CallKind,
    /// The callable or class.
    pub callable: NodeId,
    /// The argument tuple (for `OBJ`/`INST`, a tuple node made from the marked items).
    pub args: NodeId,
    /// `NEWOBJ_EX` keyword arguments.
    pub kwargs: Option<NodeId>,
}

/// An operation applied to an object whose Python type is not known to the reader, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Mutation {
    /// `APPEND x`.
    Append(NodeId),
    /// `APPENDS` with these items (one batch).
    Extend(Vec<NodeId>),
    /// `SETITEM k v`.
    SetItem(NodeId, NodeId),
    /// `SETITEMS` with these pairs (one batch).
    SetItems(Vec<(NodeId, NodeId)>),
    /// `ADDITEMS` with these items (one batch).
    AddItems(Vec<NodeId>),
    /// `BUILD state`.
    Build(NodeId),
}

/// One opcode as the loader ran it (recorded when `LoadOptions::record_steps` is on).
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Offset of the opcode.
    pub offset: u64,
    /// The opcode.
    pub op: Opcode,
    /// The node pushed, stored, fetched or mutated (if any).
    pub node: Option<NodeId>,
    /// Numeric argument: memo key (PUT/GET/MEMOIZE), frame length, protocol, EXT code, or the
    /// number of items of a MARK-consuming opcode; 0 otherwise.
    pub arg: u64,
    /// The raw text of a line-based argument without its final newline, in [`Graph::data`]
    /// (`GLOBAL`/`INST`: both lines, `module\nname`).
    pub raw: Option<Span>,
}

/// One pickle of a stream (a stream may hold several, sharing the memo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickleInfo {
    /// The value on top of the stack at `STOP`.
    pub root: NodeId,
    /// Offset of the first opcode.
    pub start: u64,
    /// Offset just after `STOP`.
    pub end: u64,
    /// The last `PROTO` value seen (0 if none).
    pub proto: u8,
    /// Highest introducing protocol among the opcodes used (as pickletools reports it).
    pub max_opcode_proto: u8,
}

/// How Python-2 strings are turned into Python 3 values (`pickle.loads(encoding=...)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Py2Encoding {
    /// `encoding='ASCII'` (CPython's default): bytes ≥ 0x80 are an error.
    #[default]
    Ascii,
    /// `encoding='latin1'`: every byte is one code point.
    Latin1,
    /// `encoding='bytes'`: keep them as `bytes`.
    Bytes,
    /// `encoding='utf-8'` (strict).
    Utf8,
}

/// An arena of nodes plus their byte data.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    /// All nodes; [`NodeId`] indexes this.
    pub nodes: Vec<Node>,
    /// Byte data of strings, bytes and raw argument text; [`Span`]s index this.
    pub data: Vec<u8>,
    /// The pickles read (one per `STOP`).
    pub pickles: Vec<PickleInfo>,
    /// Mutations of symbolic objects, as `(target, mutation)` in stream order.
    pub mutation_log: Vec<(NodeId, Mutation)>,
    /// Frames seen: `(offset of the FRAME opcode, announced length)`.
    pub frames: Vec<(u64, u64)>,
    /// One entry per opcode, when `LoadOptions::record_steps` is on.
    pub steps: Vec<Step>,
    /// How Python-2 strings decode (copied from the load options).
    pub encoding: Py2Encoding,
    /// The input that shared spans ([`Span::is_shared`]) point into, when the graph was
    /// loaded with [`loads_shared`](crate::loads_shared); `None` otherwise.
    pub source: Option<SharedInput>,
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Graph {
        Graph::default()
    }

    /// The result of the first pickle.
    ///
    /// # Panics
    /// Panics if the graph holds no pickle (never the case for graphs returned by `loads`).
    pub fn root(&self) -> NodeId {
        self.pickles[0].root
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True if there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The node `id`.
    #[inline]
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.index()]
    }

    /// The kind of node `id`.
    #[inline]
    pub fn kind(&self, id: NodeId) -> &NodeKind {
        &self.nodes[id.index()].kind
    }

    /// Adds a node and returns its id.
    #[inline]
    pub fn push(&mut self, kind: NodeKind, op: Opcode, offset: u64) -> NodeId {
        let id = NodeId(self.nodes.len() as u32);
        self.nodes.push(Node { kind, op, offset });
        id
    }

    /// Copies bytes into the data buffer.
    #[inline]
    pub fn push_data(&mut self, bytes: &[u8]) -> Span {
        let start = self.data.len();
        self.data.extend_from_slice(bytes);
        Span {
            start,
            len: bytes.len(),
        }
    }

    /// The bytes of a span.
    ///
    /// # Panics
    /// Panics if the span is not in this graph (as slice indexing does).
    #[inline]
    pub fn bytes_of(&self, span: Span) -> &[u8] {
        if !span.is_shared() {
            return &self.data[span.start..span.start + span.len];
        }
        let source = self
            .source
            .as_ref()
            .expect("a shared span in a graph without shared input");
        &source.bytes()[span.range()]
    }

    /// A cursor on node `id`, for convenient navigation.
    pub fn get(&self, id: NodeId) -> NodeRef<'_> {
        NodeRef { graph: self, id }
    }

    /// A cursor on the first pickle's result.
    pub fn root_ref(&self) -> NodeRef<'_> {
        self.get(self.root())
    }

    /// Python type name of a node as CPython would report it for known types (`"int"`,
    /// `"str"`, ...), or a description for symbolic ones (`"global"`, `"object"`, ...).
    pub fn type_name(&self, id: NodeId) -> &'static str {
        match self.kind(id) {
            NodeKind::None => "NoneType",
            NodeKind::Bool(_) => "bool",
            NodeKind::Int(_) | NodeKind::BigInt(_) => "int",
            NodeKind::Float(_) => "float",
            NodeKind::Str(_) => "str",
            NodeKind::Bytes(_) => "bytes",
            NodeKind::ByteArray(_) => "bytearray",
            NodeKind::Py2Str(_) => match self.encoding {
                Py2Encoding::Bytes => "bytes",
                _ => "str",
            },
            NodeKind::Tuple(_) => "tuple",
            NodeKind::List(_) => "list",
            NodeKind::Dict(_) => "dict",
            NodeKind::Set(_) => "set",
            NodeKind::FrozenSet(_) => "frozenset",
            NodeKind::Global(_) => "global",
            NodeKind::Object(_) => "object",
            NodeKind::Persistent { .. } => "persistent",
            NodeKind::Ext { .. } => "ext",
            NodeKind::Buffer { .. } => "buffer",
            NodeKind::ReadOnly { .. } => "memoryview",
        }
    }

    /// The mutations recorded for a symbolic object, in order (empty for most nodes).
    /// This scans the log; use [`Graph::mutation_log`] directly to process all of them.
    pub fn mutations(&self, id: NodeId) -> impl Iterator<Item = &Mutation> + '_ {
        self.mutation_log
            .iter()
            .filter(move |(target, _)| *target == id)
            .map(|(_, m)| m)
    }

    /// Node as bool, if it is one.
    pub fn as_bool(&self, id: NodeId) -> Option<bool> {
        match self.kind(id) {
            NodeKind::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Node as `i64`, if it is an int that fits (bools are not ints here).
    pub fn as_i64(&self, id: NodeId) -> Option<i64> {
        match self.kind(id) {
            NodeKind::Int(v) => Some(*v),
            NodeKind::BigInt(b) => i64::try_from(b.as_ref()).ok(),
            _ => None,
        }
    }

    /// Node as a big integer, if it is an int.
    pub fn as_bigint(&self, id: NodeId) -> Option<BigInt> {
        match self.kind(id) {
            NodeKind::Int(v) => Some(BigInt::from(*v)),
            NodeKind::BigInt(b) => Some((**b).clone()),
            _ => None,
        }
    }

    /// Node as `f64`, if it is a float.
    pub fn as_f64(&self, id: NodeId) -> Option<f64> {
        match self.kind(id) {
            NodeKind::Float(v) => Some(*v),
            _ => None,
        }
    }

    /// Node as text, if it is a `str` (use [`Graph::py2_str_text`] for Python-2 strings).
    pub fn as_str(&self, id: NodeId) -> Option<PyStr<'_>> {
        match self.kind(id) {
            NodeKind::Str(s) => Some(PyStr::from_validated(self.bytes_of(*s))),
            _ => None,
        }
    }

    /// The text a Python-2 string node decodes to under the graph's encoding (`None` for
    /// other nodes or with `encoding='bytes'`).
    pub fn py2_str_text(&self, id: NodeId) -> Option<String> {
        match self.kind(id) {
            NodeKind::Py2Str(s) => {
                let raw = self.bytes_of(*s);
                match self.encoding {
                    Py2Encoding::Bytes => None,
                    Py2Encoding::Latin1 | Py2Encoding::Ascii => {
                        Some(raw.iter().map(|&b| b as char).collect())
                    }
                    Py2Encoding::Utf8 => String::from_utf8(raw.to_vec()).ok(),
                }
            }
            _ => None,
        }
    }

    /// Node's bytes, if it is `bytes`, `bytearray` or a Python-2 string (raw).
    pub fn as_bytes(&self, id: NodeId) -> Option<&[u8]> {
        match self.kind(id) {
            NodeKind::Bytes(s) | NodeKind::ByteArray(s) | NodeKind::Py2Str(s) => {
                Some(self.bytes_of(*s))
            }
            _ => None,
        }
    }

    /// The items of a tuple, list, set or frozenset.
    pub fn items(&self, id: NodeId) -> Option<&[NodeId]> {
        match self.kind(id) {
            NodeKind::Tuple(v) | NodeKind::List(v) | NodeKind::Set(v) | NodeKind::FrozenSet(v) => {
                Some(v)
            }
            _ => None,
        }
    }

    /// The pairs of a dict, exactly as written (repeated keys kept).
    pub fn dict_pairs(&self, id: NodeId) -> Option<&[(NodeId, NodeId)]> {
        match self.kind(id) {
            NodeKind::Dict(v) => Some(v),
            _ => None,
        }
    }

    /// The dict as CPython holds it: a repeated key keeps its first position and takes the
    /// last value. Keys are compared with Python equality for scalars (`1 == 1.0 == True`),
    /// strings and bytes, and by identity for everything else.
    pub fn dict_effective(&self, id: NodeId) -> Option<Vec<(NodeId, NodeId)>> {
        let pairs = self.dict_pairs(id)?;
        let mut out: Vec<(NodeId, NodeId)> = Vec::with_capacity(pairs.len());
        let mut index: hashbrown::HashMap<KeyRepr<'_>, usize> = hashbrown::HashMap::new();
        for &(k, v) in pairs {
            let key = self.key_repr(k);
            match index.get(&key) {
                Some(&i) => out[i].1 = v,
                None => {
                    index.insert(key, out.len());
                    out.push((k, v));
                }
            }
        }
        Some(out)
    }

    fn key_repr(&self, id: NodeId) -> KeyRepr<'_> {
        match self.kind(id) {
            NodeKind::None => KeyRepr::None,
            NodeKind::Bool(b) => KeyRepr::Int(*b as i64),
            NodeKind::Int(v) => KeyRepr::Int(*v),
            NodeKind::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => KeyRepr::Int(*f as i64),
            NodeKind::Float(f) => KeyRepr::Float(f.to_bits()),
            NodeKind::Str(s) => KeyRepr::Str(self.bytes_of(*s)),
            NodeKind::Bytes(s) => KeyRepr::Bytes(self.bytes_of(*s)),
            NodeKind::Py2Str(s) if self.encoding == Py2Encoding::Bytes => {
                KeyRepr::Bytes(self.bytes_of(*s))
            }
            _ => KeyRepr::Id(id),
        }
    }
}

#[derive(PartialEq, Eq, Hash)]
enum KeyRepr<'a> {
    None,
    Int(i64),
    Float(u64),
    Str(&'a [u8]),
    Bytes(&'a [u8]),
    Id(NodeId),
}

/// A node together with its graph, for navigation (`graph.root_ref().get("key")`).
#[derive(Debug, Clone, Copy)]
pub struct NodeRef<'g> {
    /// The graph.
    pub graph: &'g Graph,
    /// The node.
    pub id: NodeId,
}

impl<'g> NodeRef<'g> {
    /// The node's kind.
    pub fn kind(&self) -> &'g NodeKind {
        self.graph.kind(self.id)
    }

    /// See [`Graph::as_i64`].
    pub fn as_i64(&self) -> Option<i64> {
        self.graph.as_i64(self.id)
    }

    /// See [`Graph::as_f64`].
    pub fn as_f64(&self) -> Option<f64> {
        self.graph.as_f64(self.id)
    }

    /// See [`Graph::as_bool`].
    pub fn as_bool(&self) -> Option<bool> {
        self.graph.as_bool(self.id)
    }

    /// See [`Graph::as_str`].
    pub fn as_str(&self) -> Option<PyStr<'g>> {
        self.graph.as_str(self.id)
    }

    /// See [`Graph::as_bytes`].
    pub fn as_bytes(&self) -> Option<&'g [u8]> {
        self.graph.as_bytes(self.id)
    }

    /// The `i`-th item of a tuple, list, set or frozenset.
    pub fn index(&self, i: usize) -> Option<NodeRef<'g>> {
        let id = *self.graph.items(self.id)?.get(i)?;
        Some(self.graph.get(id))
    }

    /// The value of a dict entry whose key is the `str` `key` (last value wins, as in CPython).
    pub fn get(&self, key: &str) -> Option<NodeRef<'g>> {
        let pairs = self.graph.dict_pairs(self.id)?;
        pairs
            .iter()
            .rev()
            .find(|(k, _)| {
                self.graph
                    .as_str(*k)
                    .is_some_and(|s| s.as_bytes() == key.as_bytes())
            })
            .map(|&(_, v)| self.graph.get(v))
    }

    /// Python type name (see [`Graph::type_name`]).
    pub fn type_name(&self) -> &'static str {
        self.graph.type_name(self.id)
    }
}
