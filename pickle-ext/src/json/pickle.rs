//! JSON view of a pickle's object graph: what `brine show --json` prints, and what the fixture
//! tests compare with CPython's own view of `pickle.loads(data)`.
//!
//! # Schema
//!
//! One document per pickle: `{"value": VIEW}`. VIEW extends the marshal VALUE schema
//! ([`super::pyc`]):
//!
//! ```text
//! null | true | false | {"int": "<decimal>"} | {"float": "<Python repr>"}
//! | {"complex": ["<repr>", "<repr>"]} | {"str": "<text>"} | {"bytes": "<hex>"}
//! | {"bytearray": "<hex>"} | {"tuple": [VIEW...]} | {"list": [VIEW...]}
//! | {"dict": [[KEY, VIEW], ...]} | {"set": [VIEW...]} | {"frozenset": [VIEW...]}
//! | {"ref": N}
//! | {"global": ["<module>", "<name>"]}
//! | {"call": {"kind": "reduce"|"newobj"|"newobj_ex"|"obj"|"inst", "func": VIEW, "args": VIEW,
//!            "kwargs": VIEW, "listitems": [VIEW...], "dictitems": [[KEY, VIEW]...],
//!            "setitems": [VIEW...]}}
//! | {"build": {"obj": VIEW, "state": VIEW}}
//! | {"persid": VIEW} | {"ext": n} | {"buffer": n} | {"readonly": VIEW}
//! ```
//!
//! * **Refs.** A node written once is written as `{"ref": N}` when met again. N numbers the
//!   *ref-able* nodes in order of their first appearance in a depth-first, left-to-right,
//!   pre-order walk from the root (dict: key then value; call: func, args, kwargs, items, then
//!   build states), from 0; the first appearance carries no marker. Ref-able: lists, dicts,
//!   sets, bytearrays, non-empty tuples and frozensets, globals and calls. Atoms (None, bools,
//!   numbers, text, bytes), empty tuples and frozensets, persistent ids, extension codes and
//!   buffers are written in full each time (CPython shares atoms and empty tuples at will, so
//!   their identity says nothing).
//! * **Sets** (and frozensets) list their elements sorted by each element's standalone compact
//!   JSON text (numbered from 0 on its own), compared as ASCII strings: the view does not depend
//!   on hash order.
//! * **Dicts** show the pairs CPython ends up with: a repeated key keeps its first position and
//!   takes its last value ([`Graph::dict_effective`]).
//! * **Python 2 strings** (`STRING`, `BINSTRING`, `SHORT_BINSTRING`) are `{"bytes": ...}` when
//!   the graph was loaded with `encoding='bytes'` (as `brine show` does), otherwise `{"str":
//!   ...}` decoded with the graph's encoding.
//! * **Calls.** `"kind"` is the opcode that made the object; `"args"` is the argument tuple
//!   (for `obj`/`inst`, the marked items); `"kwargs"` only for `newobj_ex`. Items added later by
//!   `APPEND(S)`/`SETITEM(S)`/`ADDITEMS` are listed in `"listitems"`, `"dictitems"` and
//!   `"setitems"` (keys absent when empty). Each `BUILD` wraps the object:
//!   `{"build": {"obj": {"call": ...}, "state": ...}}`, the first BUILD innermost.
//!   Object keys are sorted, as `json.dumps(sort_keys=True)` prints them.
//! * **Plain interpretation** ([`ViewOptions::interpret_builtins`], on by default): the reduce
//!   forms CPython writes for its own types below the protocol that has opcodes for them are
//!   shown as the values they build: `builtins.set([...])`/`frozenset([...])`,
//!   `builtins.bytearray()`/`(bytes)`/`(text, 'latin-1')`, `builtins.bytes()`,
//!   `_codecs.encode(text, 'latin1')` and `builtins.complex(re, im)` (Python 2 names
//!   `__builtin__` too). Nothing is executed: only these exact shapes are recognised.
//!
//! Text is printed as Python's `json.dumps(..., ensure_ascii=True)` prints it (lone surrogates
//! as `\udXXX`), via [`Json::to_text`].

use super::Json;
use brine_pickle_core::pyrepr::repr_float;
use brine_pickle_core::{CallKind, Graph, Mutation, NodeId, NodeKind, Py2Encoding, PyStr};
use std::collections::HashMap;

/// Options of [`graph_to_json`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewOptions {
    /// Show CPython's reduce forms of set, frozenset, bytearray, bytes and complex as values.
    pub interpret_builtins: bool,
    /// Maximum nesting depth of the view (the walk is recursive).
    pub max_depth: usize,
}

impl Default for ViewOptions {
    fn default() -> ViewOptions {
        ViewOptions {
            interpret_builtins: true,
            max_depth: 1_000,
        }
    }
}

/// Why a graph has no JSON view.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PickleViewError {
    /// Nesting deeper than [`ViewOptions::max_depth`].
    #[error("object nesting deeper than {0} levels; the JSON view stops there")]
    TooDeep(usize),
}

/// The view `{"value": VIEW}` of the first pickle of `graph`.
pub fn pickle_to_json(graph: &Graph, opts: &ViewOptions) -> Result<Json, PickleViewError> {
    let root = graph.root();
    Ok(Json::tagged("value", graph_to_json(graph, root, opts)?))
}

/// The VIEW of node `root` (see the module docs).
pub fn graph_to_json(
    graph: &Graph,
    root: NodeId,
    opts: &ViewOptions,
) -> Result<Json, PickleViewError> {
    let mutations = index_mutations(graph);
    let mut walker = Walker {
        g: graph,
        opts,
        ids: HashMap::new(),
        mutations: &mutations,
    };
    walker.view(root, 0)
}

/// A recognised CPython reduce form.
enum Plain {
    Set(Vec<NodeId>),
    FrozenSet(Vec<NodeId>),
    ByteArray(Vec<u8>),
    Bytes(Vec<u8>),
    Complex(f64, f64),
}

type MutationIndex<'g> = HashMap<NodeId, Vec<&'g Mutation>>;

fn index_mutations(g: &Graph) -> MutationIndex<'_> {
    let mut map: MutationIndex<'_> = HashMap::new();
    for (target, m) in &g.mutation_log {
        map.entry(*target).or_default().push(m);
    }
    map
}

struct Walker<'g, 'm> {
    g: &'g Graph,
    opts: &'m ViewOptions,
    ids: HashMap<NodeId, usize>,
    mutations: &'m MutationIndex<'g>,
}

fn hex(bytes: &[u8]) -> String {
    super::hex(bytes)
}

impl<'g> Walker<'g, '_> {
    fn refable(&self, id: NodeId, plain: Option<&Plain>) -> bool {
        if let Some(p) = plain {
            return match p {
                Plain::Set(_) | Plain::ByteArray(_) => true,
                Plain::FrozenSet(items) => !items.is_empty(),
                Plain::Bytes(_) | Plain::Complex(..) => false,
            };
        }
        match self.g.kind(id) {
            NodeKind::List(_)
            | NodeKind::Dict(_)
            | NodeKind::Set(_)
            | NodeKind::ByteArray(_)
            | NodeKind::Global(_)
            | NodeKind::Object(_) => true,
            NodeKind::Tuple(items) | NodeKind::FrozenSet(items) => !items.is_empty(),
            _ => false,
        }
    }

    fn view(&mut self, id: NodeId, depth: usize) -> Result<Json, PickleViewError> {
        if depth > self.opts.max_depth {
            return Err(PickleViewError::TooDeep(self.opts.max_depth));
        }
        let plain = if self.opts.interpret_builtins {
            self.plain(id)
        } else {
            None
        };
        if self.refable(id, plain.as_ref()) {
            if let Some(&n) = self.ids.get(&id) {
                return Ok(Json::tagged("ref", Json::Int(n as i64)));
            }
            let n = self.ids.len();
            self.ids.insert(id, n);
        }
        let d = depth + 1;
        if let Some(p) = plain {
            return Ok(match p {
                Plain::Set(items) => Json::tagged("set", self.sorted(&items, d)?),
                Plain::FrozenSet(items) => Json::tagged("frozenset", self.sorted(&items, d)?),
                Plain::ByteArray(b) => Json::tagged("bytearray", Json::str(&hex(&b))),
                Plain::Bytes(b) => Json::tagged("bytes", Json::str(&hex(&b))),
                Plain::Complex(re, im) => Json::tagged(
                    "complex",
                    Json::Array(vec![Json::str(&repr_float(re)), Json::str(&repr_float(im))]),
                ),
            });
        }
        let g = self.g;
        Ok(match g.kind(id) {
            NodeKind::None => Json::Null,
            NodeKind::Bool(b) => Json::Bool(*b),
            NodeKind::Int(v) => Json::tagged("int", Json::str(&v.to_string())),
            NodeKind::BigInt(v) => Json::tagged("int", Json::str(&v.to_string())),
            NodeKind::Float(x) => Json::tagged("float", Json::str(&repr_float(*x))),
            NodeKind::Str(s) => Json::tagged(
                "str",
                Json::from_code_points(PyStr::from_validated(g.bytes_of(*s)).chars()),
            ),
            NodeKind::Bytes(s) => Json::tagged("bytes", Json::str(&hex(g.bytes_of(*s)))),
            NodeKind::ByteArray(s) => Json::tagged("bytearray", Json::str(&hex(g.bytes_of(*s)))),
            NodeKind::Py2Str(s) => match g.py2_str_text(id) {
                Some(text) if g.encoding != Py2Encoding::Bytes => {
                    Json::tagged("str", Json::str(&text))
                }
                _ => Json::tagged("bytes", Json::str(&hex(g.bytes_of(*s)))),
            },
            NodeKind::Tuple(items) => Json::tagged("tuple", self.list(items, d)?),
            NodeKind::List(items) => Json::tagged("list", self.list(items, d)?),
            NodeKind::Set(items) => Json::tagged("set", self.sorted(items, d)?),
            NodeKind::FrozenSet(items) => Json::tagged("frozenset", self.sorted(items, d)?),
            NodeKind::Dict(_) => {
                let pairs = g.dict_effective(id).unwrap_or_default();
                Json::tagged("dict", self.pairs(&pairs, d)?)
            }
            NodeKind::Global(glob) => Json::tagged(
                "global",
                Json::Array(vec![
                    Json::str(&glob.resolved_module),
                    Json::str(&glob.resolved_name),
                ]),
            ),
            NodeKind::Object(obj) => {
                let kind = match obj.call {
                    CallKind::Reduce => "reduce",
                    CallKind::NewObj => "newobj",
                    CallKind::NewObjEx => "newobj_ex",
                    CallKind::Obj => "obj",
                    CallKind::Inst => "inst",
                };
                let mut fields = vec![
                    ("kind", Json::str(kind)),
                    ("func", self.view(obj.callable, d)?),
                    ("args", self.view(obj.args, d)?),
                ];
                if let Some(kw) = obj.kwargs {
                    fields.push(("kwargs", self.view(kw, d)?));
                }
                self.object_with_mutations(id, fields, d)?
            }
            NodeKind::Persistent { pid } => Json::tagged("persid", self.view(*pid, d)?),
            NodeKind::Ext { code, .. } => Json::tagged("ext", Json::Int(*code as i64)),
            NodeKind::Buffer { index } => Json::tagged("buffer", Json::Int(*index as i64)),
            NodeKind::ReadOnly { of } => Json::tagged("readonly", self.view(*of, d)?),
        })
    }

    /// A call object plus the items and states later opcodes gave it.
    fn object_with_mutations(
        &mut self,
        id: NodeId,
        mut fields: Vec<(&'static str, Json)>,
        d: usize,
    ) -> Result<Json, PickleViewError> {
        let mutations: Vec<&Mutation> = self.mutations.get(&id).cloned().unwrap_or_default();
        let (mut list, mut dict, mut set, mut states) = (vec![], vec![], vec![], vec![]);
        for m in mutations {
            match m {
                Mutation::Append(x) => list.push(self.view(*x, d)?),
                Mutation::Extend(xs) => {
                    for x in xs {
                        list.push(self.view(*x, d)?);
                    }
                }
                Mutation::SetItem(k, v) => {
                    dict.push(Json::Array(vec![self.view(*k, d)?, self.view(*v, d)?]))
                }
                Mutation::SetItems(pairs) => {
                    for (k, v) in pairs {
                        dict.push(Json::Array(vec![self.view(*k, d)?, self.view(*v, d)?]));
                    }
                }
                Mutation::AddItems(xs) => {
                    for x in xs {
                        set.push(self.view(*x, d)?);
                    }
                }
                Mutation::Build(state) => states.push(self.view(*state, d)?),
            }
        }
        for (key, items) in [("listitems", list), ("dictitems", dict), ("setitems", set)] {
            if !items.is_empty() {
                fields.push((key, Json::Array(items)));
            }
        }
        let mut out = Json::tagged("call", Json::object(fields));
        for state in states {
            out = Json::tagged("build", Json::object([("obj", out), ("state", state)]));
        }
        Ok(out)
    }

    fn list(&mut self, items: &[NodeId], d: usize) -> Result<Json, PickleViewError> {
        let mut out = Vec::with_capacity(items.len());
        for &x in items {
            out.push(self.view(x, d)?);
        }
        Ok(Json::Array(out))
    }

    fn pairs(&mut self, pairs: &[(NodeId, NodeId)], d: usize) -> Result<Json, PickleViewError> {
        let mut out = Vec::with_capacity(pairs.len());
        for &(k, v) in pairs {
            let k = self.view(k, d)?;
            let v = self.view(v, d)?;
            out.push(Json::Array(vec![k, v]));
        }
        Ok(Json::Array(out))
    }

    /// Set elements in the order of their standalone compact JSON text.
    fn sorted(&mut self, items: &[NodeId], d: usize) -> Result<Json, PickleViewError> {
        let mut keyed = Vec::with_capacity(items.len());
        for &x in items {
            let mut alone = Walker {
                g: self.g,
                opts: self.opts,
                ids: HashMap::new(),
                mutations: self.mutations,
            };
            keyed.push((alone.view(x, d)?.to_text(None), x));
        }
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        let order: Vec<NodeId> = keyed.into_iter().map(|(_, x)| x).collect();
        self.list(&order, d)
    }

    // ---- plain interpretation -----------------------------------------------------------------

    /// Recognises `builtins.set([...])` and the other reduce forms listed in the module docs.
    fn plain(&self, id: NodeId) -> Option<Plain> {
        let g = self.g;
        let NodeKind::Object(obj) = g.kind(id) else {
            return None;
        };
        if obj.call != CallKind::Reduce || self.mutations.contains_key(&id) {
            return None;
        }
        let NodeKind::Global(func) = g.kind(obj.callable) else {
            return None;
        };
        let NodeKind::Tuple(args) = g.kind(obj.args) else {
            return None;
        };
        let builtin = matches!(func.resolved_module.as_str(), "builtins" | "__builtin__");
        let name = func.resolved_name.as_str();
        match (builtin, name, args.as_slice()) {
            (true, "set" | "frozenset", []) => Some(if name == "set" {
                Plain::Set(vec![])
            } else {
                Plain::FrozenSet(vec![])
            }),
            (true, "set" | "frozenset", [list]) => {
                let NodeKind::List(items) = g.kind(*list) else {
                    return None;
                };
                if self.mutations.contains_key(list) {
                    return None;
                }
                Some(if name == "set" {
                    Plain::Set(items.clone())
                } else {
                    Plain::FrozenSet(items.clone())
                })
            }
            (true, "bytearray", []) => Some(Plain::ByteArray(vec![])),
            (true, "bytearray", [arg]) => Some(Plain::ByteArray(self.bytes_value(*arg)?)),
            (true, "bytearray", [text, enc]) => {
                let enc = self.text(*enc)?;
                if enc != "latin-1" && enc != "latin1" {
                    return None;
                }
                Some(Plain::ByteArray(self.latin1(*text)?))
            }
            (true, "bytes", []) => Some(Plain::Bytes(vec![])),
            (true, "complex", [re, im]) => Some(Plain::Complex(self.num(*re)?, self.num(*im)?)),
            (false, "encode", [text, enc]) if func.resolved_module == "_codecs" => {
                if self.text(*enc)? != "latin1" {
                    return None;
                }
                Some(Plain::Bytes(self.latin1(*text)?))
            }
            _ => None,
        }
    }

    /// The bytes a node stands for: a bytes node, or a recognised `_codecs.encode` form.
    fn bytes_value(&self, id: NodeId) -> Option<Vec<u8>> {
        match self.g.kind(id) {
            NodeKind::Bytes(s) => Some(self.g.bytes_of(*s).to_vec()),
            NodeKind::Py2Str(s) if self.g.encoding == Py2Encoding::Bytes => {
                Some(self.g.bytes_of(*s).to_vec())
            }
            NodeKind::Object(_) => match self.plain(id)? {
                Plain::Bytes(b) => Some(b),
                _ => None,
            },
            _ => None,
        }
    }

    fn text(&self, id: NodeId) -> Option<String> {
        match self.g.kind(id) {
            NodeKind::Str(_) => self.g.as_str(id)?.as_str().map(str::to_string),
            NodeKind::Py2Str(s) => std::str::from_utf8(self.g.bytes_of(*s))
                .ok()
                .map(str::to_string),
            _ => None,
        }
    }

    /// `text.encode('latin-1')`, if every character is below U+0100.
    fn latin1(&self, id: NodeId) -> Option<Vec<u8>> {
        let NodeKind::Str(s) = self.g.kind(id) else {
            return None;
        };
        PyStr::from_validated(self.g.bytes_of(*s))
            .chars()
            .map(|c| u8::try_from(c).ok())
            .collect()
    }

    fn num(&self, id: NodeId) -> Option<f64> {
        match self.g.kind(id) {
            NodeKind::Float(x) => Some(*x),
            NodeKind::Int(v) => Some(*v as f64),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Readable rendering (`brine show`)

/// A readable, Python-like rendering of a VIEW (as made by [`graph_to_json`]): `None`, `1`,
/// `'text'`, `b'..'`, `[..]`, `{k: v}`, `{..}`/`set()`, `module.name` for globals,
/// `f(args)` for calls (`cls.__new__(cls, args)` for `NEWOBJ`), then `.extend([..])`,
/// `.update({..})`, `.add_all({..})` for items added later and `.__setstate__(state)` for
/// `BUILD`; `persistent_load(pid)`, `ext(n)`, `buffer(n)`. A node reached again is shown as
/// `#N`, and its first appearance as `#N=...`. Containers longer than one line are broken
/// into indented lines.
pub fn view_to_python(view: &Json) -> String {
    let mut referenced = std::collections::HashSet::new();
    collect_refs(view, &mut referenced);
    let mut r = Renderer {
        referenced,
        next: 0,
        inside_build: false,
    };
    r.render(view, 0)
}

fn collect_refs(v: &Json, out: &mut std::collections::HashSet<i64>) {
    match v {
        Json::Object(pairs) => {
            if let [(k, Json::Int(n))] = pairs.as_slice() {
                if k == "ref" {
                    out.insert(*n);
                    return;
                }
            }
            for (_, x) in pairs {
                collect_refs(x, out);
            }
        }
        Json::Array(items) => items.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

struct Renderer {
    referenced: std::collections::HashSet<i64>,
    next: i64,
    /// The object of a `build` is the same node as the `build` itself: not numbered again.
    inside_build: bool,
}

const LINE: usize = 100;

fn code_points_repr(points: &[u32]) -> String {
    let mut bytes = Vec::with_capacity(points.len());
    for &c in points {
        brine_pickle_core::pystr::push_code_point(&mut bytes, c);
    }
    brine_pickle_core::pyrepr::repr_str_bytes(&bytes)
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

fn text_of(v: &Json) -> String {
    match v {
        Json::Str(points) => points
            .iter()
            .map(|&c| char::from_u32(c).unwrap_or('\u{FFFD}'))
            .collect(),
        _ => String::new(),
    }
}

impl Renderer {
    /// Joins already rendered parts: one line if short, else one part per indented line.
    fn join(open: &str, parts: &[String], close: &str, level: usize) -> String {
        let one = format!("{open}{}{close}", parts.join(", "));
        if one.len() <= LINE && !one.contains('\n') {
            return one;
        }
        let pad = "    ".repeat(level + 1);
        let mut out = format!("{open}\n");
        for p in parts {
            out.push_str(&pad);
            out.push_str(p);
            out.push_str(",\n");
        }
        out.push_str(&"    ".repeat(level));
        out.push_str(close);
        out
    }

    fn refable(tag: &str, inner: &Json) -> bool {
        match tag {
            "list" | "dict" | "set" | "bytearray" | "global" | "call" | "build" => true,
            "tuple" | "frozenset" => !matches!(inner, Json::Array(v) if v.is_empty()),
            _ => false,
        }
    }

    fn render(&mut self, v: &Json, level: usize) -> String {
        let (tag, inner) = match v {
            Json::Null => return "None".into(),
            Json::Bool(true) => return "True".into(),
            Json::Bool(false) => return "False".into(),
            Json::Object(pairs) if pairs.len() == 1 => (pairs[0].0.as_str(), &pairs[0].1),
            other => return other.to_text(None),
        };
        if tag == "ref" {
            return format!("#{}", inner.as_i64().unwrap_or(-1));
        }
        let mut label = String::new();
        if std::mem::take(&mut self.inside_build) {
            // Same node as the enclosing build: already numbered.
        } else if Self::refable(tag, inner) {
            let n = self.next;
            self.next += 1;
            if self.referenced.contains(&n) {
                label = format!("#{n}=");
            }
        }
        let items = |r: &mut Renderer, level: usize| -> Vec<String> {
            match inner {
                Json::Array(xs) => xs.iter().map(|x| r.render(x, level + 1)).collect(),
                _ => Vec::new(),
            }
        };
        let body = match tag {
            "int" | "float" => text_of(inner),
            "complex" => match inner {
                Json::Array(p) if p.len() == 2 => {
                    format!("complex({}, {})", text_of(&p[0]), text_of(&p[1]))
                }
                _ => "complex(?)".into(),
            },
            "str" => match inner {
                Json::Str(points) => code_points_repr(points),
                _ => String::new(),
            },
            "bytes" => brine_pickle_core::pyrepr::repr_bytes(&unhex(&text_of(inner))),
            "bytearray" => format!(
                "bytearray({})",
                brine_pickle_core::pyrepr::repr_bytes(&unhex(&text_of(inner)))
            ),
            "tuple" => {
                let parts = items(self, level);
                if parts.len() == 1 {
                    format!("({},)", parts[0])
                } else {
                    Self::join("(", &parts, ")", level)
                }
            }
            "list" => Self::join("[", &items(self, level), "]", level),
            "set" => {
                let parts = items(self, level);
                if parts.is_empty() {
                    "set()".into()
                } else {
                    Self::join("{", &parts, "}", level)
                }
            }
            "frozenset" => {
                let parts = items(self, level);
                if parts.is_empty() {
                    "frozenset()".into()
                } else {
                    Self::join("frozenset({", &parts, "})", level)
                }
            }
            "dict" => {
                let parts = self.pairs(inner, level);
                Self::join("{", &parts, "}", level)
            }
            "global" => match inner {
                Json::Array(p) if p.len() == 2 => format!("{}.{}", text_of(&p[0]), text_of(&p[1])),
                _ => "?".into(),
            },
            "call" => self.call(inner, level),
            "build" => {
                self.inside_build = true;
                let obj = inner.get("obj").map(|o| self.render(o, level));
                let state = inner.get("state").map(|s| self.render(s, level + 1));
                format!(
                    "{}.__setstate__({})",
                    obj.unwrap_or_default(),
                    state.unwrap_or_default()
                )
            }
            "persid" => format!("persistent_load({})", self.render(inner, level + 1)),
            "ext" => format!("ext({})", inner.as_i64().unwrap_or(0)),
            "buffer" => format!("buffer({})", inner.as_i64().unwrap_or(0)),
            "readonly" => format!("readonly({})", self.render(inner, level + 1)),
            _ => v.to_text(None),
        };
        format!("{label}{body}")
    }

    fn pairs(&mut self, inner: &Json, level: usize) -> Vec<String> {
        match inner {
            Json::Array(ps) => ps
                .iter()
                .map(|p| match p {
                    Json::Array(kv) if kv.len() == 2 => {
                        let k = self.render(&kv[0], level + 1);
                        let v = self.render(&kv[1], level + 1);
                        format!("{k}: {v}")
                    }
                    _ => "?".into(),
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    fn call(&mut self, inner: &Json, level: usize) -> String {
        let kind = inner.get("kind").map(text_of).unwrap_or_default();
        let func = inner
            .get("func")
            .map(|f| self.render(f, level + 1))
            .unwrap_or_default();
        let mut args: Vec<String> = match inner.get("args") {
            Some(Json::Object(p)) if p.len() == 1 && p[0].0 == "tuple" => match &p[0].1 {
                Json::Array(xs) => xs.iter().map(|x| self.render(x, level + 1)).collect(),
                _ => Vec::new(),
            },
            Some(other) => vec![format!("*{}", self.render(other, level + 1))],
            None => Vec::new(),
        };
        if let Some(kw) = inner.get("kwargs") {
            args.push(format!("**{}", self.render(kw, level + 1)));
        }
        let mut out = match kind.as_str() {
            "newobj" | "newobj_ex" => {
                args.insert(0, func.clone());
                Self::join(&format!("{func}.__new__("), &args, ")", level)
            }
            _ => Self::join(&format!("{func}("), &args, ")", level),
        };
        if let Some(Json::Array(xs)) = inner.get("listitems") {
            let parts: Vec<String> = xs.iter().map(|x| self.render(x, level + 1)).collect();
            out.push_str(&Self::join(".extend([", &parts, "])", level));
        }
        if let Some(d) = inner.get("dictitems") {
            let parts = self.pairs(d, level);
            out.push_str(&Self::join(".update({", &parts, "})", level));
        }
        if let Some(Json::Array(xs)) = inner.get("setitems") {
            let parts: Vec<String> = xs.iter().map(|x| self.render(x, level + 1)).collect();
            out.push_str(&Self::join(".add_all({", &parts, "})", level));
        }
        out
    }
}
