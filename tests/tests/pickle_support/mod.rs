//! Shared helpers of the pickle fixture tests: the fixture index, a small JSON reader that keeps
//! lone surrogates (`serde_json` rejects them), and the builder of a writer [`Graph`] from a
//! `value.json` source view (see tests/fixtures/pickle/README.md).

#![allow(dead_code)]

use brine_pickle_core::{CallKind, Global, Graph, NodeId, NodeKind, Object, Opcode};
use num_bigint::BigInt;
use std::collections::HashMap;
use std::path::PathBuf;

/// A parsed JSON value; strings are surrogatepass UTF-8 bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum J {
    Null,
    Bool(bool),
    Num(String),
    Str(Vec<u8>),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    pub fn get(&self, key: &str) -> Option<&J> {
        match self {
            J::Obj(pairs) => pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    pub fn str(&self) -> Option<&str> {
        match self {
            J::Str(s) => std::str::from_utf8(s).ok(),
            _ => None,
        }
    }
    pub fn arr(&self) -> &[J] {
        match self {
            J::Arr(v) => v,
            _ => &[],
        }
    }
    pub fn num(&self) -> Option<i64> {
        match self {
            J::Num(s) => s.parse().ok(),
            _ => None,
        }
    }
}

/// Parses JSON text (enough of JSON for the fixtures).
pub fn parse_json(text: &str) -> J {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let v = p.value();
    p.ws();
    assert_eq!(p.i, p.s.len(), "trailing JSON text");
    v
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn value(&mut self) -> J {
        self.ws();
        match self.s[self.i] {
            b'n' => {
                self.i += 4;
                J::Null
            }
            b't' => {
                self.i += 4;
                J::Bool(true)
            }
            b'f' => {
                self.i += 5;
                J::Bool(false)
            }
            b'"' => J::Str(self.string()),
            b'[' => {
                self.i += 1;
                let mut out = Vec::new();
                loop {
                    self.ws();
                    if self.s[self.i] == b']' {
                        self.i += 1;
                        break;
                    }
                    out.push(self.value());
                    self.ws();
                    if self.s[self.i] == b',' {
                        self.i += 1;
                    }
                }
                J::Arr(out)
            }
            b'{' => {
                self.i += 1;
                let mut out = Vec::new();
                loop {
                    self.ws();
                    if self.s[self.i] == b'}' {
                        self.i += 1;
                        break;
                    }
                    let k = String::from_utf8(self.string()).unwrap();
                    self.ws();
                    assert_eq!(self.s[self.i], b':');
                    self.i += 1;
                    let v = self.value();
                    out.push((k, v));
                    self.ws();
                    if self.s[self.i] == b',' {
                        self.i += 1;
                    }
                }
                J::Obj(out)
            }
            _ => {
                let start = self.i;
                while self.i < self.s.len() && b"+-0123456789.eE".contains(&self.s[self.i]) {
                    self.i += 1;
                }
                J::Num(String::from_utf8(self.s[start..self.i].to_vec()).unwrap())
            }
        }
    }
    fn hex4(&mut self) -> u32 {
        let h = std::str::from_utf8(&self.s[self.i..self.i + 4]).unwrap();
        self.i += 4;
        u32::from_str_radix(h, 16).unwrap()
    }
    fn string(&mut self) -> Vec<u8> {
        assert_eq!(self.s[self.i], b'"');
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let b = self.s[self.i];
            self.i += 1;
            match b {
                b'"' => return out,
                b'\\' => {
                    let e = self.s[self.i];
                    self.i += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let mut cp = self.hex4();
                            if (0xD800..0xDC00).contains(&cp)
                                && self.s.get(self.i) == Some(&b'\\')
                                && self.s.get(self.i + 1) == Some(&b'u')
                            {
                                let save = self.i;
                                self.i += 2;
                                let lo = self.hex4();
                                if (0xDC00..0xE000).contains(&lo) {
                                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                                } else {
                                    self.i = save;
                                }
                            }
                            brine_pickle_core::pystr::push_code_point(&mut out, cp);
                        }
                        other => out.push(other),
                    }
                }
                _ => out.push(b),
            }
        }
    }
}

/// The pickle fixtures directory.
pub fn pickle_dir() -> PathBuf {
    brine_tests::fixtures_dir().join("pickle")
}

/// One entry of `index.json`.
#[derive(Debug, Clone)]
pub struct Stream {
    pub case: String,
    pub interpreter: String,
    pub impl_: String,
    pub protocol: u8,
    pub file: String,
    pub kind: String,
}

impl Stream {
    pub fn path(&self, ext: &str) -> PathBuf {
        pickle_dir().join(format!("{}.{ext}", self.file))
    }
    pub fn bytes(&self) -> Vec<u8> {
        std::fs::read(self.path("pickle")).unwrap()
    }
    pub fn label(&self) -> String {
        format!(
            "{} {}.{} p{}",
            self.case, self.interpreter, self.impl_, self.protocol
        )
    }
}

/// Every stream of `index.json` (aliases included), in index order.
pub fn streams() -> Vec<Stream> {
    let text = std::fs::read_to_string(pickle_dir().join("index.json")).unwrap();
    let index = parse_json(&text);
    let cases = index.get("cases").unwrap();
    index
        .get("streams")
        .unwrap()
        .arr()
        .iter()
        .map(|e| {
            let case = e.get("case").unwrap().str().unwrap().to_string();
            let kind = cases
                .get(&case)
                .and_then(|c| c.get("kind"))
                .and_then(|k| k.str())
                .unwrap_or("plain")
                .to_string();
            Stream {
                interpreter: e.get("interpreter").unwrap().str().unwrap().to_string(),
                impl_: e.get("impl").unwrap().str().unwrap().to_string(),
                protocol: e.get("protocol").unwrap().num().unwrap() as u8,
                file: e.get("file").unwrap().str().unwrap().to_string(),
                case,
                kind,
            }
        })
        .collect()
}

/// The unique files of the index (one entry per file, the producer that owns it).
pub fn unique_streams() -> Vec<Stream> {
    let mut seen = std::collections::HashSet::new();
    streams()
        .into_iter()
        .filter(|s| seen.insert(s.file.clone()))
        .collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Builds the graph of a `value.json` source view (refs for everything but None, bools, ints,
/// floats and the empty tuple), naming the globals CPython would write at `protocol`.
pub fn graph_from_source_view(view: &J, protocol: u8) -> (Graph, NodeId) {
    let mut b = ViewBuilder {
        graph: Graph::new(),
        refs: Vec::new(),
        globals: HashMap::new(),
        protocol,
    };
    let root = b.build(view);
    (b.graph, root)
}

struct ViewBuilder {
    graph: Graph,
    refs: Vec<NodeId>,
    globals: HashMap<String, NodeId>,
    protocol: u8,
}

impl ViewBuilder {
    fn placeholder(&mut self) -> NodeId {
        let id = self.graph.push(NodeKind::None, Opcode::None, 0);
        self.refs.push(id);
        id
    }

    fn global(&mut self, name: &str) -> NodeId {
        if let Some(&id) = self.globals.get(name) {
            return id;
        }
        let module = if self.protocol < 3 {
            "__builtin__"
        } else {
            "builtins"
        };
        let g = Global {
            module: module.into(),
            name: name.into(),
            resolved_module: "builtins".into(),
            resolved_name: name.into(),
            proto: self.protocol,
            from_stack: None,
        };
        let id = self
            .graph
            .push(NodeKind::Global(Box::new(g)), Opcode::Global, 0);
        self.globals.insert(name.to_string(), id);
        id
    }

    fn build(&mut self, v: &J) -> NodeId {
        let (tag, inner) = match v {
            J::Null => return self.graph.push(NodeKind::None, Opcode::None, 0),
            J::Bool(b) => return self.graph.push(NodeKind::Bool(*b), Opcode::Newtrue, 0),
            J::Obj(pairs) => (pairs[0].0.as_str(), &pairs[0].1),
            other => panic!("unexpected view {other:?}"),
        };
        match tag {
            "ref" => return self.refs[inner.num().unwrap() as usize],
            "int" => {
                let n: BigInt = inner.str().unwrap().parse().unwrap();
                let kind = match i64::try_from(&n) {
                    Ok(small) => NodeKind::Int(small),
                    Err(_) => NodeKind::BigInt(Box::new(n)),
                };
                return self.graph.push(kind, Opcode::Binint, 0);
            }
            "float" => {
                let x = parse_float(inner.str().unwrap());
                return self.graph.push(NodeKind::Float(x), Opcode::Binfloat, 0);
            }
            "tuple" if inner.arr().is_empty() => {
                return self
                    .graph
                    .push(NodeKind::Tuple(vec![]), Opcode::EmptyTuple, 0)
            }
            _ => {}
        }
        let id = self.placeholder();
        let kind = match tag {
            "str" => {
                let J::Str(s) = inner else { panic!() };
                NodeKind::Str(self.graph.push_data(s))
            }
            "bytes" => NodeKind::Bytes(self.graph.push_data(&unhex(inner.str().unwrap()))),
            "bytearray" => NodeKind::ByteArray(self.graph.push_data(&unhex(inner.str().unwrap()))),
            "complex" => {
                let callable = self.global("complex");
                let parts: Vec<NodeId> = inner
                    .arr()
                    .iter()
                    .map(|p| {
                        let x = parse_float(p.str().unwrap());
                        self.graph.push(NodeKind::Float(x), Opcode::Binfloat, 0)
                    })
                    .collect();
                let args = self.graph.push(NodeKind::Tuple(parts), Opcode::Tuple2, 0);
                NodeKind::Object(Box::new(Object {
                    call: CallKind::Reduce,
                    callable,
                    args,
                    kwargs: None,
                }))
            }
            "tuple" => NodeKind::Tuple(inner.arr().iter().map(|x| self.build(x)).collect()),
            "list" => NodeKind::List(inner.arr().iter().map(|x| self.build(x)).collect()),
            "set" => NodeKind::Set(inner.arr().iter().map(|x| self.build(x)).collect()),
            "frozenset" => NodeKind::FrozenSet(inner.arr().iter().map(|x| self.build(x)).collect()),
            "dict" => NodeKind::Dict(
                inner
                    .arr()
                    .iter()
                    .map(|kv| {
                        let k = self.build(&kv.arr()[0]);
                        let v = self.build(&kv.arr()[1]);
                        (k, v)
                    })
                    .collect(),
            ),
            other => panic!("unexpected view tag {other}"),
        };
        self.graph.nodes[id.index()].kind = kind;
        id
    }
}

/// Parses a Python float repr.
pub fn parse_float(s: &str) -> f64 {
    match s {
        "inf" => f64::INFINITY,
        "-inf" => f64::NEG_INFINITY,
        "nan" => f64::NAN,
        _ => s.parse().unwrap(),
    }
}

/// Index of the first differing byte, for failure messages.
pub fn first_diff(a: &[u8], b: &[u8]) -> usize {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()))
}
