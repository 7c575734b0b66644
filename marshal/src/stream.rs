//! [`Stream`]: the result of reading one marshal stream.

use crate::code::{CodeObject, CodeView};
use crate::limits::Limits;
use crate::node::{CodeId, Node, NodeId, Value};
use crate::text::PyStr;
use crate::version::{CodeLayout, PyVersion};

/// How to read a stream: which Python wrote it (this decides the type codes accepted and the
/// code-object layout) and the limits to enforce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    /// The Python version that wrote the stream.
    pub version: PyVersion,
    /// The code-object layout; `None` means the layout of `version`'s final release. A `.pyc`
    /// reader sets it from the magic number.
    pub layout: Option<CodeLayout>,
    /// Limits.
    pub limits: Limits,
    /// Reject code objects that the version's CPython refuses to build (wrong field types,
    /// negative counts, malformed `co_code`, ...), as `marshal.loads` does. On by default;
    /// turn off to inspect malformed code objects.
    pub check_code: bool,
}

impl ReadOptions {
    /// Options for a stream written by `version`, default limits.
    pub fn new(version: PyVersion) -> ReadOptions {
        ReadOptions {
            version,
            layout: None,
            limits: Limits::default(),
            check_code: true,
        }
    }

    /// Turns the code-object checks on or off (see [`ReadOptions::check_code`]).
    pub fn with_code_checks(mut self, on: bool) -> ReadOptions {
        self.check_code = on;
        self
    }

    /// Replaces the limits.
    pub fn with_limits(mut self, limits: Limits) -> ReadOptions {
        self.limits = limits;
        self
    }

    /// Sets the code layout explicitly.
    pub fn with_layout(mut self, layout: CodeLayout) -> ReadOptions {
        self.layout = Some(layout);
        self
    }

    /// The code layout in force.
    pub fn code_layout(&self) -> CodeLayout {
        self.layout
            .unwrap_or_else(|| CodeLayout::for_version(self.version))
    }
}

/// One marshal stream, read losslessly: an arena of nodes borrowing string payloads from the
/// input. [`crate::write()`] turns it back into the same bytes.
///
/// Node ids follow stream order; the root is the stream's object. Containers list their
/// children as ranges of a shared pool ([`Stream::children`]). References (`r`, `R`) are nodes
/// of their own; [`Stream::get`] and [`Stream::items`] follow them.
#[derive(Debug, Clone)]
pub struct Stream<'a> {
    pub(crate) version: PyVersion,
    pub(crate) layout: CodeLayout,
    pub(crate) nodes: Vec<Node<'a>>,
    pub(crate) children: Vec<NodeId>,
    pub(crate) codes: Vec<CodeObject>,
    pub(crate) refs: Vec<NodeId>,
    pub(crate) interned: Vec<NodeId>,
    pub(crate) root: NodeId,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl<'a> Stream<'a> {
    /// Reads a whole marshal stream written by `version`, with default options (see
    /// [`crate::read()`] for the general form).
    pub fn parse(data: &'a [u8], version: PyVersion) -> crate::Result<Stream<'a>> {
        crate::read(data, &ReadOptions::new(version))
    }

    /// The Python version the stream was read as.
    pub fn version(&self) -> PyVersion {
        self.version
    }

    /// The code-object layout used.
    pub fn layout(&self) -> CodeLayout {
        self.layout
    }

    /// The stream's object.
    pub fn root(&self) -> NodeId {
        self.root
    }

    /// Byte range of the stream in the input (`start..end`).
    pub fn byte_range(&self) -> std::ops::Range<usize> {
        self.start..self.end
    }

    /// Every node, in stream order (index = [`NodeId`]).
    pub fn nodes(&self) -> &[Node<'a>] {
        &self.nodes
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Always false: a stream has at least its root.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The node `id` as written (a reference stays a reference).
    ///
    /// # Panics
    /// If `id` does not belong to this stream.
    pub fn node(&self, id: NodeId) -> &Node<'a> {
        &self.nodes[id.index()]
    }

    /// Follows `r`/`R` references: the id of the object `id` stands for.
    pub fn resolve(&self, id: NodeId) -> NodeId {
        match self.nodes[id.index()].value {
            Value::Ref { target, .. } | Value::StringRef { target, .. } => target,
            _ => id,
        }
    }

    /// The node `id` stands for, references followed.
    pub fn get(&self, id: NodeId) -> &Node<'a> {
        &self.nodes[self.resolve(id).index()]
    }

    /// The value `id` stands for, references followed.
    pub fn value(&self, id: NodeId) -> &Value<'a> {
        &self.get(id).value
    }

    /// Children of a container as written (references not followed); empty for other nodes.
    /// A dict's children alternate key, value.
    pub fn children(&self, id: NodeId) -> &[NodeId] {
        match self.nodes[id.index()].value.child_range() {
            Some(r) => &self.children[r.start as usize..(r.start + r.len) as usize],
            None => &[],
        }
    }

    /// Children of the container `id` stands for, references followed (for the container and
    /// for each item).
    pub fn items(&self, id: NodeId) -> impl ExactSizeIterator<Item = NodeId> + '_ {
        self.children(self.resolve(id))
            .iter()
            .map(move |&c| self.resolve(c))
    }

    /// Key/value pairs of the dict `id` stands for, references followed. Pairs whose value is
    /// NULL (see [`Value::Null`]) are left out, as CPython leaves them out.
    pub fn dict_pairs(&self, id: NodeId) -> impl Iterator<Item = (NodeId, NodeId)> + '_ {
        self.children(self.resolve(id))
            .chunks_exact(2)
            .map(move |kv| (self.resolve(kv[0]), self.resolve(kv[1])))
            .filter(move |&(_, v)| !matches!(self.nodes[v.index()].value, Value::Null))
    }

    /// The text of `id` (references followed): a `str`, or a Python 2 `str` viewed as Latin-1
    /// text (used for identifiers in 2.x code objects).
    pub fn text(&self, id: NodeId) -> Option<PyStr<'a>> {
        match self.get(id).value {
            Value::Str { data, kind } => Some(PyStr::new(data, kind.is_one_byte())),
            Value::Py2Str { data, .. } => Some(PyStr::new(data, true)),
            _ => None,
        }
    }

    /// Texts of the items of a tuple of strings (non-text items skipped).
    pub fn str_items(&self, id: NodeId) -> Vec<PyStr<'a>> {
        self.items(id).filter_map(|c| self.text(c)).collect()
    }

    /// The code object `id` stands for.
    pub fn code_object(&self, id: NodeId) -> Option<&CodeObject> {
        match self.get(id).value {
            Value::Code(CodeId(i)) => self.codes.get(i as usize),
            _ => None,
        }
    }

    /// The code object `id` stands for, with accessors resolving its fields.
    pub fn code_view(&self, id: NodeId) -> Option<CodeView<'_, 'a>> {
        self.code_object(id)
            .map(|code| CodeView { stream: self, code })
    }

    /// Every code object of the stream, in stream order of their `c` bytes.
    pub fn code_objects(&self) -> impl Iterator<Item = CodeView<'_, 'a>> {
        let mut order: Vec<&CodeObject> = self.codes.iter().collect();
        order.sort_by_key(|c| c.node);
        order
            .into_iter()
            .map(move |code| CodeView { stream: self, code })
    }

    /// The code object at the root, if the root is one (as in every `.pyc`).
    pub fn root_code(&self) -> Option<CodeView<'_, 'a>> {
        self.code_view(self.root)
    }

    /// The reference table: node of each flagged object, by index (CPython's `refs` list).
    pub fn refs(&self) -> &[NodeId] {
        &self.refs
    }

    /// Python 2's interned-string table: the `t` nodes, by `R` index.
    pub fn interned_strings(&self) -> &[NodeId] {
        &self.interned
    }

    /// Writes the stream back: the same bytes as were read.
    pub fn write(&self) -> Vec<u8> {
        crate::writer::write(self)
    }
}
