//! JSON view of `.pyc` files, code objects and marshal values: what `brine pyc --json` prints,
//! and what the fixture tests compare with CPython's own view of the same file.
//!
//! # Schema
//!
//! One document per `.pyc`:
//!
//! ```text
//! {"code": CODE, "flags": int, "magic": int, "mtime": int|null, "python": "3.11",
//!  "source_hash": "<16 hex digits>"|null, "source_size": int|null}
//! ```
//!
//! `flags` is the PEP 552 word (0 before 3.7); `source_size` is null before 3.3 and for
//! hash-based pycs; `source_hash` is the 8 header bytes as stored, in hex.
//!
//! CODE is an object with exactly the attributes CPython's code objects have in that version
//! (every non-callable `co_*` name of `dir(code)`), e.g. for 3.11: `co_argcount`,
//! `co_cellvars`, `co_code`, `co_consts`, `co_exceptiontable`, `co_filename`,
//! `co_firstlineno`, `co_flags`, `co_freevars`, `co_kwonlyargcount`, `co_linetable`,
//! `co_lnotab`, `co_name`, `co_names`, `co_nlocals`, `co_posonlyargcount`, `co_qualname`,
//! `co_stacksize`, `co_varnames`. Ints are JSON numbers; byte strings (`co_code`, `co_lnotab`,
//! `co_linetable`, `co_exceptiontable`) lowercase hex; names (`co_name`, `co_filename`,
//! `co_qualname`) strings; name tuples arrays of strings; `co_consts` an array of VALUEs.
//! Fields CPython derives rather than stores are derived the same way (`co_lnotab` from 3.10,
//! `co_varnames`/`co_cellvars`/`co_freevars`/`co_nlocals` from 3.11).
//!
//! With [`ViewOptions::analysis`] (what `brine pyc --json` prints), every CODE also has
//! `"instructions"` and `"summary"`, documented in [`super::code`].
//!
//! VALUE is one of
//!
//! ```text
//! null | true | false | {"int": "<decimal>"} | {"float": "<Python repr>"}
//! | {"complex": ["<repr of real>", "<repr of imag>"]} | {"str": "<text>"} | {"bytes": "<hex>"}
//! | {"tuple": [VALUE...]} | {"list": [...]} | {"set": [...]} | {"frozenset": [...]}
//! | {"dict": [[KEY, VALUE], ...]} | {"ellipsis": true} | {"stopiteration": true}
//! | {"slice": [start, stop, step]} | {"code": CODE}
//! ```
//!
//! * Python 2 `str` is `{"bytes": ...}` and `unicode` is `{"str": ...}`; Python 2 byte strings
//!   in name fields are read as Latin-1.
//! * Set and frozenset items are sorted by their compact JSON text, so the view does not depend
//!   on hash order; dict pairs keep stream order (CPython's insertion order).
//! * Shared objects (marshal references) are expanded at every use. An object containing
//!   itself, which only a hand-made stream can hold, shows `{"cycle": true}` where it recurs.
//! * 3.15's frozendict is `{"frozendict": [[KEY, VALUE], ...]}`.
//!
//! The text is exactly what Python's `json.dumps(doc, sort_keys=True, ensure_ascii=True)`
//! prints (compact separators, or `indent=1`): every character outside printable ASCII is a
//! `\uXXXX` escape, so lone surrogates, which Python text may hold, come out as `\udXXX` and
//! nothing is lost. That is why the view is a [`Json`] tree rather than a
//! `serde_json::Value` (whose strings cannot hold lone surrogates); [`Json::to_serde`] gives
//! one, lossily.

use super::tree::{hex, Json};
use brine_marshal::{CodeLayout, CodeView, NodeId, PyStr, Pyc, Stream, Value};

// ---------------------------------------------------------------------------------------------
// The views

/// Limits on building a view. Marshal references let a small stream stand for a huge tree
/// (each use of a shared object is expanded), so the views bound both depth and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewLimits {
    /// Deepest nesting of VALUEs and CODEs (shared references expanded). The default is
    /// marshal's own limit (2000, [`brine_marshal`]'s reader default), so every stream the
    /// reader accepts has a view: the view is built with an explicit stack, and the [`Json`]
    /// tree it makes is printed, compared, cloned and dropped without recursion.
    pub max_depth: usize,
    /// Most VALUEs in one view.
    pub max_values: usize,
}

impl Default for ViewLimits {
    fn default() -> ViewLimits {
        ViewLimits {
            max_depth: 2_000,
            max_values: 2_000_000,
        }
    }
}

/// Why a view could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ViewError {
    /// Nesting (with shared references expanded) deeper than [`ViewLimits::max_depth`].
    #[error("object at byte {offset} is nested more than {limit} levels deep (shared references expanded)")]
    TooDeep {
        /// Offset of the object's type byte.
        offset: usize,
        /// The limit.
        limit: usize,
    },
    /// More values (with shared references expanded) than [`ViewLimits::max_values`].
    #[error("the view would hold more than {limit} values (shared references expanded); object at byte {offset}")]
    TooLarge {
        /// Offset of the object where the limit was reached.
        offset: usize,
        /// The limit.
        limit: usize,
    },
}

/// What a view shows, and its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ViewOptions {
    /// Add `"instructions"` and `"summary"` to every CODE (see [`super::code`]); what
    /// `brine pyc --json` prints. Off, CODE has exactly CPython's `co_*` attributes, the view
    /// the fixtures record from CPython.
    pub analysis: bool,
    /// Depth and size limits.
    pub limits: ViewLimits,
}

/// The JSON view of a parsed `.pyc` (see the [module docs](self) for the schema), without
/// analysis: exactly CPython's view. The root is shown as CODE when it is a code object (as in
/// every real `.pyc`), as a VALUE otherwise.
pub fn pyc_to_json(pyc: &Pyc<'_>) -> Result<Json, ViewError> {
    pyc_to_json_with(pyc, &ViewOptions::default())
}

/// [`pyc_to_json`] with explicit limits.
pub fn pyc_to_json_with_limits(pyc: &Pyc<'_>, limits: ViewLimits) -> Result<Json, ViewError> {
    pyc_to_json_with(
        pyc,
        &ViewOptions {
            analysis: false,
            limits,
        },
    )
}

/// Adds the analysis to a CODE view of the root of `stream`; returns the analysis error, if
/// the code cannot be decoded.
fn analyse(stream: &Stream<'_>, code: &mut Json) -> Option<String> {
    use brine_codeobj::{Code, FromMarshalOptions};
    match Code::from_stream(stream, FromMarshalOptions::default()) {
        Ok(root) => {
            super::code::add_analysis(code, &root);
            None
        }
        Err(e) => {
            super::code::add_null_analysis(code);
            Some(e.to_string())
        }
    }
}

/// The JSON view of a parsed `.pyc` with options (with [`ViewOptions::analysis`], what
/// `brine pyc --json` prints).
pub fn pyc_to_json_with(pyc: &Pyc<'_>, options: &ViewOptions) -> Result<Json, ViewError> {
    let h = &pyc.header;
    let opt = |v: Option<u32>| v.map_or(Json::Null, |v| Json::Int(i64::from(v)));
    let mut viewer = Viewer::new(&pyc.stream, options.limits);
    let root = pyc.stream.root();
    let mut analysis_error = None;
    let code = match pyc.stream.code_view(root) {
        Some(code) => {
            let mut view = viewer.code(code, 0)?;
            if options.analysis {
                analysis_error = analyse(&pyc.stream, &mut view);
            }
            view
        }
        None => viewer.value(root, 0)?,
    };
    let error = analysis_error.map(|e| ("analysis_error", Json::str(&e)));
    Ok(Json::object(error.into_iter().chain([
        ("magic", Json::Int(i64::from(h.magic_number()))),
        ("python", Json::str(&h.version.to_string())),
        ("flags", Json::Int(i64::from(h.flags.unwrap_or(0)))),
        ("mtime", opt(h.mtime())),
        ("source_size", opt(h.source_size())),
        (
            "source_hash",
            h.source_hash().map_or(Json::Null, |b| Json::str(&hex(&b))),
        ),
        ("code", code),
    ])))
}

/// The JSON view of a raw marshal stream: `{"python": "X.Y", "value": VALUE}`.
pub fn stream_to_json(stream: &Stream<'_>) -> Result<Json, ViewError> {
    stream_to_json_with(stream, &ViewOptions::default())
}

/// [`stream_to_json`] with options (the analysis applies when the root is a code object).
pub fn stream_to_json_with(stream: &Stream<'_>, options: &ViewOptions) -> Result<Json, ViewError> {
    let mut viewer = Viewer::new(stream, options.limits);
    let mut value = viewer.value(stream.root(), 0)?;
    let mut analysis_error = None;
    if options.analysis && stream.code_view(stream.root()).is_some() {
        if let Json::Object(tag) = &mut value {
            if let [(key, code)] = tag.as_mut_slice() {
                if key == "code" {
                    analysis_error = analyse(stream, code);
                }
            }
        }
    }
    let error = analysis_error.map(|e| ("analysis_error", Json::str(&e)));
    Ok(Json::object(error.into_iter().chain([
        ("python", Json::str(&stream.version().to_string())),
        ("value", value),
    ])))
}

/// The VALUE view of the object `id` of `stream` (references followed).
pub fn value_to_json(stream: &Stream<'_>, id: NodeId) -> Result<Json, ViewError> {
    Viewer::new(stream, ViewLimits::default()).value(id, 0)
}

/// The CODE view of a code object.
pub fn code_to_json(code: CodeView<'_, '_>) -> Result<Json, ViewError> {
    Viewer::new(code.stream, ViewLimits::default()).code(code, 0)
}

struct Viewer<'s, 'a> {
    stream: &'s Stream<'a>,
    limits: ViewLimits,
    values: usize,
    /// Containers being expanded (to show a self-containing object once).
    active: Vec<bool>,
}

/// One step of building a view. The viewer runs an explicit stack of these (no recursion, so
/// nesting is bounded by [`ViewLimits::max_depth`] alone, not by the native stack).
enum Task {
    /// The VALUE of a node at a depth; pushes one result.
    Value(NodeId, usize),
    /// The CODE of a code-object node at a depth; pushes one result.
    Code(NodeId, usize),
    /// Assembles a JSON node from ready parts and the results of the tasks run just before.
    Build(Build),
}

/// A JSON node waiting for the results of its parts.
struct Build {
    shape: Shape,
    /// The parts in order: ready ones, and `None` where the next pending result goes.
    slots: Vec<Option<Json>>,
    /// The container whose expansion ends here (its cycle mark is cleared).
    release: Option<NodeId>,
}

enum Shape {
    /// `[parts...]`.
    Array,
    /// `[parts...]` sorted by their compact JSON text (set items).
    SortedArray,
    /// `[[k, v], ...]` from parts `k, v, k, v, ...`.
    Pairs,
    /// The only part itself.
    Single,
    /// An object with these keys, one per part.
    Object(Vec<&'static str>),
    /// `{key: shape}`.
    Tagged(&'static str, Box<Shape>),
}

/// Tasks that, run in order, leave exactly one result.
type Producer = Vec<Task>;

/// A part of a node: ready, or made by tasks.
enum Part {
    Ready(Json),
    Pending(Producer),
}

impl Shape {
    fn assemble(&self, parts: Vec<Json>) -> Json {
        match self {
            Shape::Array => Json::Array(parts),
            Shape::SortedArray => {
                let mut keyed: Vec<(String, Json)> =
                    parts.into_iter().map(|v| (v.to_text(None), v)).collect();
                keyed.sort_by(|a, b| a.0.cmp(&b.0));
                Json::Array(keyed.into_iter().map(|(_, v)| v).collect())
            }
            Shape::Pairs => {
                let mut out = Vec::with_capacity(parts.len() / 2);
                let mut it = parts.into_iter();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    out.push(Json::Array(vec![k, v]));
                }
                Json::Array(out)
            }
            Shape::Single => parts.into_iter().next().unwrap_or(Json::Null),
            Shape::Object(keys) => Json::object(keys.iter().copied().zip(parts)),
            Shape::Tagged(key, inner) => Json::tagged(key, inner.assemble(parts)),
        }
    }
}

/// A producer assembling `parts` into `shape`.
fn build(shape: Shape, parts: Vec<Part>, release: Option<NodeId>) -> Producer {
    let mut tasks = Vec::new();
    let mut slots = Vec::with_capacity(parts.len());
    for part in parts {
        match part {
            Part::Ready(j) => slots.push(Some(j)),
            Part::Pending(p) => {
                slots.push(None);
                tasks.extend(p);
            }
        }
    }
    tasks.push(Task::Build(Build {
        shape,
        slots,
        release,
    }));
    tasks
}

impl<'s, 'a> Viewer<'s, 'a> {
    fn new(stream: &'s Stream<'a>, limits: ViewLimits) -> Self {
        Viewer {
            stream,
            limits,
            values: 0,
            active: vec![false; stream.len()],
        }
    }

    fn enter(&mut self, id: NodeId, depth: usize) -> Result<(), ViewError> {
        let offset = self.stream.node(id).offset as usize;
        self.values += 1;
        if self.values > self.limits.max_values {
            return Err(ViewError::TooLarge {
                offset,
                limit: self.limits.max_values,
            });
        }
        if depth >= self.limits.max_depth {
            return Err(ViewError::TooDeep {
                offset,
                limit: self.limits.max_depth,
            });
        }
        Ok(())
    }

    /// The VALUE of a node.
    fn value(&mut self, id: NodeId, depth: usize) -> Result<Json, ViewError> {
        self.run(Task::Value(id, depth))
    }

    /// The CODE of a code object.
    fn code(&mut self, code: CodeView<'_, 'a>, depth: usize) -> Result<Json, ViewError> {
        self.run(Task::Code(code.node, depth))
    }

    /// Runs the task stack from `start` to its one result.
    fn run(&mut self, start: Task) -> Result<Json, ViewError> {
        let mut tasks = vec![start];
        let mut results: Vec<Json> = Vec::new();
        while let Some(task) = tasks.pop() {
            match task {
                Task::Value(id, depth) => match self.value_step(id, depth)? {
                    Part::Ready(j) => results.push(j),
                    Part::Pending(p) => tasks.extend(p.into_iter().rev()),
                },
                Task::Code(id, depth) => match self.code_step(id, depth)? {
                    Part::Ready(j) => results.push(j),
                    Part::Pending(p) => tasks.extend(p.into_iter().rev()),
                },
                Task::Build(b) => {
                    let pending = b.slots.iter().filter(|s| s.is_none()).count();
                    let mut done = results.split_off(results.len().saturating_sub(pending));
                    done.reverse();
                    let parts: Vec<Json> = b
                        .slots
                        .into_iter()
                        .map(|s| s.unwrap_or_else(|| done.pop().unwrap_or(Json::Null)))
                        .collect();
                    if let Some(id) = b.release {
                        self.active[id.index()] = false;
                    }
                    results.push(b.shape.assemble(parts));
                }
            }
        }
        Ok(results.pop().unwrap_or(Json::Null))
    }

    /// The VALUE of a node: ready for scalars, a producer for containers.
    fn value_step(&mut self, id: NodeId, depth: usize) -> Result<Part, ViewError> {
        let id = self.stream.resolve(id);
        self.enter(id, depth)?;
        if self.active[id.index()] {
            return Ok(Part::Ready(Json::tagged("cycle", Json::Bool(true))));
        }
        let value = self.stream.node(id).value;
        let float = |x: f64| Json::str(&brine_marshal::repr::float_repr(x));
        let ready = |j: Json| Ok(Part::Ready(j));
        match value {
            Value::Null | Value::None => ready(Json::Null),
            Value::True => ready(Json::Bool(true)),
            Value::False => ready(Json::Bool(false)),
            Value::StopIteration => ready(Json::tagged("stopiteration", Json::Bool(true))),
            Value::Ellipsis => ready(Json::tagged("ellipsis", Json::Bool(true))),
            Value::Int(v) => ready(Json::tagged("int", Json::str(&v.to_string()))),
            Value::Int64(v) => ready(Json::tagged("int", Json::str(&v.to_string()))),
            Value::Long(d) => ready(Json::tagged("int", Json::str(&d.to_bigint().to_string()))),
            Value::Float(_) | Value::FloatText(_) => ready(Json::tagged(
                "float",
                float(value.as_f64().unwrap_or(f64::NAN)),
            )),
            Value::Complex { .. } | Value::ComplexText { .. } => {
                let (re, im) = value.as_complex().unwrap_or((f64::NAN, f64::NAN));
                ready(Json::tagged(
                    "complex",
                    Json::Array(vec![float(re), float(im)]),
                ))
            }
            Value::Bytes(b) | Value::Py2Str { data: b, .. } => {
                ready(Json::tagged("bytes", Json::str(&hex(b))))
            }
            Value::Str { data, kind } => ready(Json::tagged(
                "str",
                Json::py_str(PyStr::new(data, kind.is_one_byte())),
            )),
            Value::Tuple { .. } => Ok(self.items(id, depth, "tuple", Shape::Array)),
            Value::List(_) => Ok(self.items(id, depth, "list", Shape::Array)),
            Value::Set(_) => Ok(self.items(id, depth, "set", Shape::SortedArray)),
            Value::FrozenSet(_) => Ok(self.items(id, depth, "frozenset", Shape::SortedArray)),
            Value::Slice(_) => Ok(self.items(id, depth, "slice", Shape::Array)),
            Value::Dict { .. } => Ok(self.pairs(id, depth, "dict")),
            Value::FrozenDict { .. } => Ok(self.pairs(id, depth, "frozendict")),
            Value::Code(_) => match self.stream.code_view(id) {
                Some(_) => {
                    self.active[id.index()] = true;
                    let inner = Part::Pending(vec![Task::Code(id, depth + 1)]);
                    Ok(Part::Pending(build(
                        Shape::Tagged("code", Box::new(Shape::Single)),
                        vec![inner],
                        Some(id),
                    )))
                }
                None => ready(Json::Null),
            },
            // `resolve` already followed these.
            Value::Ref { .. } | Value::StringRef { .. } => ready(Json::Null),
        }
    }

    /// `{key: [items]}` of a container (marked active until built).
    fn items(&mut self, id: NodeId, depth: usize, key: &'static str, shape: Shape) -> Part {
        self.active[id.index()] = true;
        let parts = self
            .stream
            .children(id)
            .iter()
            .map(|&child| Part::Pending(vec![Task::Value(child, depth + 1)]))
            .collect();
        Part::Pending(build(Shape::Tagged(key, Box::new(shape)), parts, Some(id)))
    }

    /// `{key: [[k, v], ...]}` of a dict (marked active until built).
    fn pairs(&mut self, id: NodeId, depth: usize, key: &'static str) -> Part {
        self.active[id.index()] = true;
        let parts = self
            .stream
            .dict_pairs(id)
            .flat_map(|(k, v)| [k, v])
            .map(|node| Part::Pending(vec![Task::Value(node, depth + 1)]))
            .collect();
        Part::Pending(build(
            Shape::Tagged(key, Box::new(Shape::Pairs)),
            parts,
            Some(id),
        ))
    }

    /// A text field (`co_name`, ...): a string, or the VALUE when it is not text.
    fn text_field(&self, id: NodeId, depth: usize) -> Part {
        match self.stream.text(id) {
            Some(t) => Part::Ready(Json::py_str(t)),
            None => Part::Pending(vec![Task::Value(id, depth)]),
        }
    }

    /// A bytes field (`co_code`, ...): hex, or the VALUE when it is not bytes.
    fn bytes_field(&self, id: NodeId, depth: usize) -> Part {
        match self.stream.value(id).as_bytes() {
            Some(b) => Part::Ready(Json::str(&hex(b))),
            None => Part::Pending(vec![Task::Value(id, depth)]),
        }
    }

    /// A tuple of names: an array of strings (items that are not text shown as VALUEs), or
    /// the VALUE when it is not a tuple.
    fn names_field(&self, id: NodeId, depth: usize) -> Part {
        if !matches!(self.stream.value(id), Value::Tuple { .. }) {
            return Part::Pending(vec![Task::Value(id, depth)]);
        }
        let parts = self
            .stream
            .items(id)
            .map(|item| self.text_field(item, depth + 1))
            .collect();
        Part::Pending(build(Shape::Array, parts, None))
    }

    /// The CODE of a code-object node: its fields, some made by tasks.
    fn code_step(&mut self, id: NodeId, depth: usize) -> Result<Part, ViewError> {
        let Some(code) = self.stream.code_view(id) else {
            return Ok(Part::Ready(Json::Null));
        };
        self.enter(code.node, depth)?;
        let version = code.version;
        let mut f: Vec<(&'static str, Part)> = Vec::with_capacity(20);
        let int = |v: i32| Part::Ready(Json::Int(i64::from(v)));
        f.push(("co_argcount", int(code.argcount)));
        if let Some(v) = code.posonlyargcount {
            f.push(("co_posonlyargcount", int(v)));
        }
        if let Some(v) = code.kwonlyargcount {
            f.push(("co_kwonlyargcount", int(v)));
        }
        f.push(("co_stacksize", int(code.stacksize)));
        f.push(("co_flags", int(code.flags)));
        f.push(("co_firstlineno", int(code.firstlineno)));
        f.push(("co_code", self.bytes_field(code.code.code, depth + 1)));
        let consts = match self.stream.value(code.consts) {
            Value::Tuple { .. } => {
                let parts = self
                    .stream
                    .children(self.stream.resolve(code.consts))
                    .iter()
                    .map(|&c| Part::Pending(vec![Task::Value(c, depth + 1)]))
                    .collect();
                Part::Pending(build(Shape::Array, parts, None))
            }
            _ => Part::Pending(vec![Task::Value(code.consts, depth + 1)]),
        };
        f.push(("co_consts", consts));
        f.push(("co_names", self.names_field(code.names, depth + 1)));
        f.push(("co_filename", self.text_field(code.filename, depth + 1)));
        f.push(("co_name", self.text_field(code.name, depth + 1)));
        if code.layout == CodeLayout::Py311 {
            if let Some(q) = code.qualname {
                f.push(("co_qualname", self.text_field(q, depth + 1)));
            }
            f.push(("co_linetable", self.bytes_field(code.linetable, depth + 1)));
            if let Some(e) = code.exceptiontable {
                f.push(("co_exceptiontable", self.bytes_field(e, depth + 1)));
            }
            for (key, value) in self.derived_locals(code) {
                f.push((key, Part::Ready(value)));
            }
            f.push(("co_lnotab", Part::Ready(lnotab(code))));
        } else {
            if let Some(v) = code.nlocals {
                f.push(("co_nlocals", int(v)));
            }
            for (name, id) in [
                ("co_varnames", code.varnames),
                ("co_freevars", code.freevars),
                ("co_cellvars", code.cellvars),
            ] {
                if let Some(id) = id {
                    f.push((name, self.names_field(id, depth + 1)));
                }
            }
            if version.at_least(3, 10) {
                f.push(("co_linetable", self.bytes_field(code.linetable, depth + 1)));
                f.push(("co_lnotab", Part::Ready(lnotab(code))));
            } else {
                f.push(("co_lnotab", self.bytes_field(code.linetable, depth + 1)));
            }
        }
        let (keys, parts): (Vec<&'static str>, Vec<Part>) = f.into_iter().unzip();
        Ok(Part::Pending(build(Shape::Object(keys), parts, None)))
    }

    /// 3.11+: `co_varnames`, `co_cellvars`, `co_freevars` and `co_nlocals`, which CPython
    /// derives from localsplus rather than stores.
    fn derived_locals(&self, code: CodeView<'_, 'a>) -> [(&'static str, Json); 4] {
        use brine_codeobj::kinds::{split_localsplus, LocalKind};
        let names: Vec<Json> = match code.localsplusnames {
            Some(id) => self.stream.items(id).map(|n| self.name_json(n)).collect(),
            None => Vec::new(),
        };
        let kinds: Vec<LocalKind> = code
            .localspluskinds_bytes()
            .iter()
            .map(|&b| LocalKind::from_bits_retain(b))
            .collect();
        let split = split_localsplus(&kinds);
        let pick = |idx: &[usize]| {
            Json::Array(idx.iter().filter_map(|&i| names.get(i).cloned()).collect())
        };
        [
            ("co_nlocals", Json::Int(split.varnames.len() as i64)),
            ("co_varnames", pick(&split.varnames)),
            ("co_cellvars", pick(&split.cellvars)),
            ("co_freevars", pick(&split.freevars)),
        ]
    }

    /// A localsplus name as a string (a non-text item, which only a hand-made stream holds, as
    /// its Python repr).
    fn name_json(&self, id: NodeId) -> Json {
        match self.stream.text(id) {
            Some(t) => Json::py_str(t),
            None => Json::str(&brine_marshal::repr::node_repr(self.stream, id)),
        }
    }
}

/// The derived `co_lnotab` of 3.10+ (hex; `null` when the line table does not decode).
fn lnotab(code: CodeView<'_, '_>) -> Json {
    use brine_codeobj::linetable::{LineTable, LineTableFormat};
    let format = LineTableFormat::for_version(code.version.major, code.version.minor);
    match LineTable::new(format, code.linetable_bytes(), code.firstlineno).to_lnotab() {
        Ok(b) => Json::str(&hex(&b)),
        Err(_) => Json::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use brine_marshal::{PyVersion, ReadOptions};

    fn stream(bytes: &[u8]) -> Stream<'_> {
        brine_marshal::read(bytes, &ReadOptions::new(PyVersion::new(3, 11))).expect("valid stream")
    }

    #[test]
    fn deep_nesting_is_viewed_up_to_the_limit() {
        // 1999 nested one-item tuples around None (2000 values, marshal's own limit): viewed,
        // printed, parsed back, compared, on a thread with a small stack.
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(|| {
                let mut bytes = b")\x01".repeat(1999);
                bytes.push(b'N');
                let s = stream(&bytes);
                let v = value_to_json(&s, s.root()).expect("within the limit");
                let text = v.to_text(None);
                assert!(text.starts_with(r#"{"tuple":[{"tuple":["#));
                assert_eq!(text.len(), 1999 * r#"{"tuple":[]}"#.len() + "null".len());
                let back = Json::parse(&text).expect("parse");
                assert_eq!(back.first_difference(&v), None);
                assert!(back == v);
            })
            .expect("spawn")
            .join()
            .expect("no stack overflow");
        // Shared references expanded can nest deeper than marshal allows: a list holding a
        // flagged chain of 1000 tuples and a chain of 1000 tuples around a reference to it.
        let mut bytes = b"[\x02\x00\x00\x00\xa9\x01".to_vec();
        bytes.extend(b")\x01".repeat(999));
        bytes.push(b'N');
        bytes.extend(b")\x01".repeat(1000));
        bytes.extend(b"r\x00\x00\x00\x00");
        let s = stream(&bytes);
        assert!(matches!(
            value_to_json(&s, s.root()),
            Err(ViewError::TooDeep { limit: 2000, .. })
        ));
        let mut bytes = b")\x01".repeat(500);
        bytes.push(b'N');
        let s = stream(&bytes);
        let shallow = ViewLimits {
            max_depth: 100,
            ..ViewLimits::default()
        };
        let err = Viewer::new(&s, shallow).value(s.root(), 0).unwrap_err();
        assert_eq!(
            err,
            ViewError::TooDeep {
                offset: 200,
                limit: 100
            }
        );
    }

    #[test]
    fn reference_bombs_hit_the_size_limit() {
        // [t0, t1, ..., t40] where t0 = (None, None) and t(k) = (t(k-1), t(k-1)) by reference:
        // 2**40 values once expanded.
        let mut bytes = vec![b'['];
        bytes.extend_from_slice(&41u32.to_le_bytes());
        bytes.extend_from_slice(b"\xa9\x02NN");
        for k in 1u32..41 {
            bytes.extend_from_slice(b"\xa9\x02r");
            bytes.extend_from_slice(&(k - 1).to_le_bytes());
            bytes.push(b'r');
            bytes.extend_from_slice(&(k - 1).to_le_bytes());
        }
        let s = stream(&bytes);
        let limits = ViewLimits {
            max_values: 100_000,
            ..ViewLimits::default()
        };
        match Viewer::new(&s, limits).value(s.root(), 0) {
            Err(ViewError::TooLarge { limit, .. }) => assert_eq!(limit, 100_000),
            other => panic!("expected TooLarge, got {other:?}"),
        }
    }

    #[test]
    fn a_list_containing_itself_shows_a_cycle() {
        // l = [1]; l.append(l), as marshal version 3+ writes it: flagged list, `r` to index 0.
        let bytes = b"\xdb\x02\x00\x00\x00\xe9\x01\x00\x00\x00r\x00\x00\x00\x00";
        let s = stream(bytes);
        let v = value_to_json(&s, s.root()).unwrap();
        assert_eq!(v.to_text(None), r#"{"list":[{"int":"1"},{"cycle":true}]}"#);
    }
}
