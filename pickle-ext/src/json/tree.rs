//! A JSON tree whose strings hold any Python text, lone surrogates included, printed exactly as
//! Python's `json.dumps(sort_keys=True, ensure_ascii=True)` prints and parsed back; shared by
//! every view (`pyc`, `pickle`) and by the fixture tests that compare them with CPython's.
//!
//! `serde_json::Value` cannot be used for this: its strings are Rust `String`s, which cannot
//! hold a lone surrogate, and about 2% of standard-library `.pyc` files contain one.

use brine_marshal::PyStr;
use std::fmt::Write as _;

/// A JSON value whose strings can hold any Python text, lone surrogates included.
///
/// Build one with the view functions ([`pyc_to_json`], [`value_to_json`], [`code_to_json`]),
/// print it with [`Json::to_text`], read one back with [`Json::parse`].
///
/// Every walk over the tree (printing, parsing, comparing, cloning, diffing, dropping) uses
/// an explicit stack, so a tree of any depth is safe on any thread; only [`Json::to_serde`]
/// has a depth cap (`serde_json::Value` drops recursively). The derived `Debug` recurses.
#[derive(Debug)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer (the schema has no other numbers).
    Int(i64),
    /// Text, as code points. A high surrogate followed by a low one is stored as the code point
    /// of the pair: JSON text cannot tell them apart.
    Str(Vec<char32>),
    /// An array.
    Array(Vec<Json>),
    /// An object. [`Json::object`] keeps the keys sorted, as `sort_keys=True` prints them.
    Object(Vec<(String, Json)>),
}

/// A Unicode code point, surrogates allowed (Rust's `char` cannot hold them).
#[allow(non_camel_case_types)]
pub type char32 = u32;

/// Deepest nesting [`Json::to_serde`] converts (arrays and objects). `serde_json::Value` is
/// printed, compared and dropped by recursive walks; at this depth they stay well within a
/// 2 MiB thread stack in a debug build (4096 levels overflow it). Views nest two levels per
/// VALUE, so views deeper than about 500 VALUEs are only available as [`Json`].
pub const MAX_SERDE_DEPTH: usize = 1_024;

impl Json {
    /// A string from Rust text.
    pub fn str(s: &str) -> Json {
        Json::Str(s.chars().map(u32::from).collect())
    }

    /// A string from Python text (lone surrogates kept).
    pub fn py_str(s: PyStr<'_>) -> Json {
        Json::from_code_points(s.chars())
    }

    /// A string from UTF-8 in which surrogates may be encoded (CPython's `surrogatepass`
    /// encoding, as marshal and pickle store text). Invalid sequences become U+FFFD.
    pub fn from_surrogatepass_utf8(bytes: &[u8]) -> Json {
        Json::py_str(PyStr::new(bytes, false))
    }

    /// A string from code points, joining surrogate pairs.
    pub fn from_code_points(points: impl IntoIterator<Item = char32>) -> Json {
        let mut out: Vec<char32> = Vec::new();
        for c in points {
            if (0xDC00..0xE000).contains(&c) {
                if let Some(&hi) = out.last() {
                    if (0xD800..0xDC00).contains(&hi) {
                        *out.last_mut().expect("non-empty") =
                            0x10000 + ((hi - 0xD800) << 10) + (c - 0xDC00);
                        continue;
                    }
                }
            }
            out.push(c);
        }
        Json::Str(out)
    }

    /// An object with its keys sorted.
    pub fn object<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Json)>) -> Json {
        let mut pairs: Vec<(String, Json)> =
            pairs.into_iter().map(|(k, v)| (k.into(), v)).collect();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        Json::Object(pairs)
    }

    /// `{key: value}`.
    pub fn tagged(key: &str, value: Json) -> Json {
        Json::Object(vec![(key.to_string(), value)])
    }

    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(pairs) => pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text of a string value, when it holds no lone surrogate.
    pub fn as_string(&self) -> Option<String> {
        match self {
            Json::Str(points) => points.iter().map(|&c| char::from_u32(c)).collect(),
            _ => None,
        }
    }

    /// The value of an integer.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Json::Int(v) => Some(*v),
            _ => None,
        }
    }

    /// Converts to a `serde_json::Value`. Lossy: a lone surrogate becomes U+FFFD. `None` when
    /// arrays and objects nest deeper than [`MAX_SERDE_DEPTH`] (`serde_json::Value` drops
    /// recursively, so deeper values could overflow the stack). Iterative.
    pub fn to_serde(&self) -> Option<serde_json::Value> {
        use serde_json::Value as V;
        enum Frame<'j> {
            Array(std::slice::Iter<'j, Json>, Vec<V>),
            Object(
                std::slice::Iter<'j, (String, Json)>,
                serde_json::Map<String, V>,
                String,
            ),
        }
        let mut stack: Vec<Frame<'_>> = Vec::new();
        let mut next = self;
        loop {
            let mut done = match next {
                Json::Null => Some(V::Null),
                Json::Bool(b) => Some(V::Bool(*b)),
                Json::Int(i) => Some(V::from(*i)),
                Json::Str(points) => Some(V::String(
                    points
                        .iter()
                        .map(|&c| char::from_u32(c).unwrap_or('\u{FFFD}'))
                        .collect(),
                )),
                Json::Array(items) => {
                    stack.push(Frame::Array(items.iter(), Vec::with_capacity(items.len())));
                    None
                }
                Json::Object(pairs) => {
                    stack.push(Frame::Object(
                        pairs.iter(),
                        serde_json::Map::new(),
                        String::new(),
                    ));
                    None
                }
            };
            if stack.len() > MAX_SERDE_DEPTH {
                // Dismantle the partial result without recursion before giving up.
                let mut parts: Vec<V> = Vec::new();
                for frame in stack {
                    match frame {
                        Frame::Array(_, out) => parts.extend(out),
                        Frame::Object(_, out, _) => parts.extend(out.into_iter().map(|(_, v)| v)),
                    }
                }
                while let Some(v) = parts.pop() {
                    match v {
                        V::Array(items) => parts.extend(items),
                        V::Object(map) => parts.extend(map.into_iter().map(|(_, v)| v)),
                        _ => {}
                    }
                }
                return None;
            }
            loop {
                if let Some(v) = done.take() {
                    match stack.last_mut() {
                        None => return Some(v),
                        Some(Frame::Array(_, out)) => out.push(v),
                        Some(Frame::Object(_, out, key)) => {
                            out.insert(std::mem::take(key), v);
                        }
                    }
                }
                match stack.last_mut() {
                    Some(Frame::Array(items, _)) => {
                        if let Some(item) = items.next() {
                            next = item;
                            break;
                        }
                    }
                    Some(Frame::Object(pairs, _, key)) => {
                        if let Some((k, v)) = pairs.next() {
                            key.clone_from(k);
                            next = v;
                            break;
                        }
                    }
                    None => unreachable!("a finished value returns at the root"),
                }
                done = match stack.pop() {
                    Some(Frame::Array(_, out)) => Some(V::Array(out)),
                    Some(Frame::Object(_, out, _)) => Some(V::Object(out)),
                    None => unreachable!("checked above"),
                };
            }
        }
    }

    /// The JSON text, exactly as Python's `json.dumps(value, sort_keys=True,
    /// ensure_ascii=True, ...)` prints it: with `indent: None`, compact separators `(',', ':')`;
    /// with `Some(n)`, `indent=n, separators=(',', ': ')`. No trailing newline.
    pub fn to_text(&self, indent: Option<usize>) -> String {
        let mut out = String::new();
        self.write_text(&mut out, indent);
        out
    }

    /// Iterative: a stack of the open arrays and objects with the members still to print.
    fn write_text(&self, out: &mut String, indent: Option<usize>) {
        enum Frame<'j> {
            Array(std::slice::Iter<'j, Json>, bool),
            Object(std::slice::Iter<'j, (String, Json)>, bool),
        }
        let mut stack: Vec<Frame<'_>> = Vec::new();
        let mut next = Some(self);
        loop {
            if let Some(v) = next.take() {
                match v {
                    Json::Null => out.push_str("null"),
                    Json::Bool(true) => out.push_str("true"),
                    Json::Bool(false) => out.push_str("false"),
                    Json::Int(i) => {
                        let _ = write!(out, "{i}");
                    }
                    Json::Str(points) => write_json_string(out, points),
                    Json::Array(items) if items.is_empty() => out.push_str("[]"),
                    Json::Object(pairs) if pairs.is_empty() => out.push_str("{}"),
                    Json::Array(items) => {
                        out.push('[');
                        stack.push(Frame::Array(items.iter(), true));
                    }
                    Json::Object(pairs) => {
                        out.push('{');
                        stack.push(Frame::Object(pairs.iter(), true));
                    }
                }
            }
            // Members of the innermost open container are at level `stack.len()`.
            let level = stack.len();
            match stack.last_mut() {
                None => return,
                Some(Frame::Array(items, first)) => {
                    if let Some(item) = items.next() {
                        if !std::mem::take(first) {
                            out.push(',');
                        }
                        newline(out, indent, level);
                        next = Some(item);
                    } else {
                        stack.pop();
                        newline(out, indent, level - 1);
                        out.push(']');
                    }
                }
                Some(Frame::Object(pairs, first)) => {
                    if let Some((key, value)) = pairs.next() {
                        if !std::mem::take(first) {
                            out.push(',');
                        }
                        newline(out, indent, level);
                        write_json_string(out, &key.chars().map(u32::from).collect::<Vec<_>>());
                        out.push_str(if indent.is_some() { ": " } else { ":" });
                        next = Some(value);
                    } else {
                        stack.pop();
                        newline(out, indent, level - 1);
                        out.push('}');
                    }
                }
            }
        }
    }

    /// Parses JSON text (as written by Python's `json` module or [`Json::to_text`]). Lone
    /// surrogate escapes are kept. Numbers must be integers that fit an `i64`.
    pub fn parse(text: &str) -> Result<Json, JsonParseError> {
        let mut p = Parser {
            t: text,
            s: text.as_bytes(),
            pos: 0,
        };
        let v = p.value()?;
        p.skip_ws();
        if p.pos != p.s.len() {
            return Err(p.err("trailing characters after the JSON value"));
        }
        Ok(v)
    }

    /// Where `self` and `other` first differ (depth-first, in key order): a path such as
    /// `.code.co_consts[2].code.co_names[0]` and both values in compact JSON text (cut at
    /// 200 characters). `None` if they are equal.
    pub fn first_difference(&self, other: &Json) -> Option<String> {
        diff(self, other)
    }
}

/// `json["key"]`: the member `key` of an object, or `Json::Null` when there is none (as
/// `serde_json::Value` indexes).
impl std::ops::Index<&str> for Json {
    type Output = Json;
    fn index(&self, key: &str) -> &Json {
        static NULL: Json = Json::Null;
        self.get(key).unwrap_or(&NULL)
    }
}

/// Iterative: a stack of the pairs of members still to compare.
impl PartialEq for Json {
    fn eq(&self, other: &Json) -> bool {
        let mut stack = vec![(self, other)];
        while let Some(pair) = stack.pop() {
            match pair {
                (Json::Null, Json::Null) => {}
                (Json::Bool(a), Json::Bool(b)) if a == b => {}
                (Json::Int(a), Json::Int(b)) if a == b => {}
                (Json::Str(a), Json::Str(b)) if a == b => {}
                (Json::Array(a), Json::Array(b)) if a.len() == b.len() => {
                    stack.extend(a.iter().zip(b).rev());
                }
                (Json::Object(a), Json::Object(b)) if a.len() == b.len() => {
                    for ((ka, va), (kb, vb)) in a.iter().zip(b).rev() {
                        if ka != kb {
                            return false;
                        }
                        stack.push((va, vb));
                    }
                }
                _ => return false,
            }
        }
        true
    }
}

impl Eq for Json {}

/// Iterative: a stack of the open arrays and objects, each with its copied members so far.
impl Clone for Json {
    fn clone(&self) -> Json {
        enum Frame<'j> {
            Array(std::slice::Iter<'j, Json>, Vec<Json>),
            Object(std::slice::Iter<'j, (String, Json)>, Vec<(String, Json)>),
        }
        let mut stack: Vec<Frame<'_>> = Vec::new();
        let mut next = self;
        loop {
            let mut done = match next {
                Json::Null => Some(Json::Null),
                Json::Bool(b) => Some(Json::Bool(*b)),
                Json::Int(i) => Some(Json::Int(*i)),
                Json::Str(points) => Some(Json::Str(points.clone())),
                Json::Array(items) => {
                    stack.push(Frame::Array(items.iter(), Vec::with_capacity(items.len())));
                    None
                }
                Json::Object(pairs) => {
                    stack.push(Frame::Object(pairs.iter(), Vec::with_capacity(pairs.len())));
                    None
                }
            };
            loop {
                if let Some(v) = done.take() {
                    match stack.last_mut() {
                        None => return v,
                        Some(Frame::Array(_, out)) => out.push(v),
                        // The key was pushed with a placeholder when the member was entered.
                        Some(Frame::Object(_, out)) => {
                            out.last_mut().expect("entered member").1 = v
                        }
                    }
                }
                match stack.last_mut() {
                    Some(Frame::Array(items, _)) => {
                        if let Some(item) = items.next() {
                            next = item;
                            break;
                        }
                    }
                    Some(Frame::Object(pairs, out)) => {
                        if let Some((k, v)) = pairs.next() {
                            out.push((k.clone(), Json::Null));
                            next = v;
                            break;
                        }
                    }
                    None => unreachable!("a finished value returns at the root"),
                }
                done = match stack.pop() {
                    Some(Frame::Array(_, out)) => Some(Json::Array(out)),
                    Some(Frame::Object(_, out)) => Some(Json::Object(out)),
                    None => unreachable!("checked above"),
                };
            }
        }
    }
}

/// Iterative: nested arrays and objects are emptied onto a stack before they are dropped, so
/// each value dropped by the compiler's glue has no nested containers left.
impl Drop for Json {
    fn drop(&mut self) {
        fn nests(v: &Json) -> bool {
            match v {
                Json::Array(items) => !items.is_empty(),
                Json::Object(pairs) => !pairs.is_empty(),
                _ => false,
            }
        }
        // Fast path: members that are all scalars or empty drop without recursion.
        let mut stack: Vec<Json> = match self {
            Json::Array(items) if items.iter().any(nests) => std::mem::take(items),
            Json::Object(pairs) if pairs.iter().any(|(_, v)| nests(v)) => {
                std::mem::take(pairs).into_iter().map(|(_, v)| v).collect()
            }
            _ => return,
        };
        while let Some(mut v) = stack.pop() {
            match &mut v {
                Json::Array(items) => stack.append(items),
                Json::Object(pairs) => {
                    stack.extend(std::mem::take(pairs).into_iter().map(|(_, v)| v))
                }
                _ => {}
            }
        }
    }
}

fn newline(out: &mut String, indent: Option<usize>, level: usize) {
    if let Some(n) = indent {
        out.push('\n');
        for _ in 0..n * level {
            out.push(' ');
        }
    }
}

/// Writes a JSON string as Python's `ensure_ascii=True` encoder does.
fn write_json_string(out: &mut String, points: &[char32]) {
    out.push('"');
    for &c in points {
        match c {
            0x22 => out.push_str("\\\""),
            0x5C => out.push_str("\\\\"),
            0x0A => out.push_str("\\n"),
            0x0D => out.push_str("\\r"),
            0x09 => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0C => out.push_str("\\f"),
            0x20..=0x7E => out.push(c as u8 as char),
            0x10000.. => {
                let v = c - 0x10000;
                let _ = write!(
                    out,
                    "\\u{:04x}\\u{:04x}",
                    0xD800 + (v >> 10),
                    0xDC00 + (v & 0x3FF)
                );
            }
            _ => {
                let _ = write!(out, "\\u{c:04x}");
            }
        }
    }
    out.push('"');
}

fn short(v: &Json) -> String {
    let mut t = v.to_text(None);
    if t.len() > 200 {
        t.truncate(200);
        t.push_str("...");
    }
    t
}

/// Depth-first comparison with an explicit stack (no recursion): children are compared
/// before their container's lengths or key sets, so an inserted item is reported where it is.
/// The path is one stack of segments, shared by all tasks (each task records how long the path
/// is where it applies), so deep trees cost no more than their size.
fn diff(a: &Json, b: &Json) -> Option<String> {
    enum Seg<'j> {
        Index(usize),
        Key(&'j str),
    }
    enum Task<'j> {
        /// Compare two values whose path is the first `usize` segments plus the segment given.
        Compare(&'j Json, &'j Json, usize, Option<Seg<'j>>),
        /// Compare the lengths or key sets of two containers at the first `usize` segments.
        Shape(&'j Json, &'j Json, usize),
    }
    let at = |path: &[Seg<'_>]| {
        if path.is_empty() {
            return ".".to_string();
        }
        let mut text = String::new();
        for seg in path {
            match seg {
                Seg::Index(i) => {
                    let _ = write!(text, "[{i}]");
                }
                Seg::Key(k) => {
                    let _ = write!(text, ".{k}");
                }
            }
        }
        text
    };
    let keys = |p: &[(String, Json)]| p.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    let mut path: Vec<Seg<'_>> = Vec::new();
    let mut stack = vec![Task::Compare(a, b, 0, None)];
    while let Some(task) = stack.pop() {
        match task {
            Task::Shape(x, y, len) => {
                path.truncate(len);
                match (x, y) {
                    (Json::Array(x), Json::Array(y)) if x.len() != y.len() => {
                        return Some(format!(
                            "{}: array lengths differ: {} vs {}",
                            at(&path),
                            x.len(),
                            y.len()
                        ));
                    }
                    (Json::Object(x), Json::Object(y)) if keys(x) != keys(y) => {
                        return Some(format!(
                            "{}: keys differ: {:?} vs {:?}",
                            at(&path),
                            keys(x),
                            keys(y)
                        ));
                    }
                    _ => {}
                }
            }
            Task::Compare(x, y, len, seg) => {
                path.truncate(len);
                path.extend(seg);
                let len = path.len();
                match (x, y) {
                    (Json::Array(xs), Json::Array(ys)) => {
                        stack.push(Task::Shape(x, y, len));
                        for (i, (u, v)) in xs.iter().zip(ys).enumerate().rev() {
                            stack.push(Task::Compare(u, v, len, Some(Seg::Index(i))));
                        }
                    }
                    (Json::Object(xs), Json::Object(ys)) => {
                        stack.push(Task::Shape(x, y, len));
                        for (k, u) in xs.iter().rev() {
                            if let Some((_, v)) = ys.iter().find(|(k2, _)| k2 == k) {
                                stack.push(Task::Compare(u, v, len, Some(Seg::Key(k))));
                            }
                        }
                    }
                    _ => {
                        if x != y {
                            return Some(format!("{}: {} vs {}", at(&path), short(x), short(y)));
                        }
                    }
                }
            }
        }
    }
    None
}

/// Error from [`Json::parse`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSON at byte {offset}: {message}")]
pub struct JsonParseError {
    /// Byte offset in the text.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

struct Parser<'t> {
    t: &'t str,
    s: &'t [u8],
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, message: &str) -> JsonParseError {
        JsonParseError {
            offset: self.pos,
            message: message.to_string(),
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.s.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, lit: &[u8]) -> bool {
        if self.s[self.pos..].starts_with(lit) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    /// Parses one value. Iterative (an explicit stack of open containers), so deep input
    /// cannot exhaust the native stack; the stack grows with the input, one entry per
    /// opening bracket, so no depth limit is needed.
    fn value(&mut self) -> Result<Json, JsonParseError> {
        enum Open {
            Array(Vec<Json>),
            Object(Vec<(String, Json)>, String),
        }
        let mut stack: Vec<Open> = Vec::new();
        'value: loop {
            self.skip_ws();
            // Read one value start: a scalar, or an opening bracket.
            let mut done: Json = match self.s.get(self.pos) {
                None => return Err(self.err("unexpected end of text")),
                Some(b'n') if self.eat(b"null") => Json::Null,
                Some(b't') if self.eat(b"true") => Json::Bool(true),
                Some(b'f') if self.eat(b"false") => Json::Bool(false),
                Some(b'"') => Json::from_code_points(self.string()?),
                Some(b'-' | b'0'..=b'9') => self.number()?,
                Some(b'[' | b'{') => {
                    let array = self.s[self.pos] == b'[';
                    self.pos += 1;
                    self.skip_ws();
                    if array {
                        if self.eat(b"]") {
                            Json::Array(Vec::new())
                        } else {
                            stack.push(Open::Array(Vec::new()));
                            continue 'value;
                        }
                    } else if self.eat(b"}") {
                        Json::Object(Vec::new())
                    } else {
                        let key = self.key()?;
                        stack.push(Open::Object(Vec::new(), key));
                        continue 'value;
                    }
                }
                Some(_) => return Err(self.err("expected a JSON value")),
            };
            // Hand the finished value to the open containers, closing those that end here.
            loop {
                let Some(top) = stack.last_mut() else {
                    return Ok(done);
                };
                match top {
                    Open::Array(items) => items.push(done),
                    Open::Object(pairs, key) => pairs.push((std::mem::take(key), done)),
                }
                self.skip_ws();
                if self.eat(b",") {
                    if let Some(Open::Object(_, key)) = stack.last_mut() {
                        self.skip_ws();
                        *key = self.key()?;
                    }
                    continue 'value;
                }
                done = match (stack.pop(), self.s.get(self.pos)) {
                    (Some(Open::Array(items)), Some(b']')) => Json::Array(items),
                    (Some(Open::Object(mut pairs, _)), Some(b'}')) => {
                        pairs.sort_by(|a, b| a.0.cmp(&b.0));
                        Json::Object(pairs)
                    }
                    (Some(Open::Array(_)), _) => return Err(self.err("expected ',' or ']'")),
                    _ => return Err(self.err("expected ',' or '}'")),
                };
                self.pos += 1;
            }
        }
    }

    /// An object key and its colon.
    fn key(&mut self) -> Result<String, JsonParseError> {
        if self.s.get(self.pos) != Some(&b'"') {
            return Err(self.err("expected a string key"));
        }
        let key = self
            .string()?
            .into_iter()
            .map(|c| char::from_u32(c).unwrap_or('\u{FFFD}'))
            .collect();
        self.skip_ws();
        if !self.eat(b":") {
            return Err(self.err("expected ':'"));
        }
        Ok(key)
    }

    fn number(&mut self) -> Result<Json, JsonParseError> {
        let start = self.pos;
        if self.s[self.pos] == b'-' {
            self.pos += 1;
        }
        while matches!(self.s.get(self.pos), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        if matches!(self.s.get(self.pos), Some(b'.' | b'e' | b'E')) {
            return Err(self.err("only integer numbers are supported"));
        }
        let text = std::str::from_utf8(&self.s[start..self.pos]).expect("ASCII digits");
        text.parse().map(Json::Int).map_err(|_| JsonParseError {
            offset: start,
            message: format!("number {text} does not fit a 64-bit integer"),
        })
    }

    /// Reads a string literal; returns its code points (escaped surrogates kept as they are).
    fn string(&mut self) -> Result<Vec<char32>, JsonParseError> {
        self.pos += 1; // opening quote
        let mut out = Vec::new();
        loop {
            let Some(&b) = self.s.get(self.pos) else {
                return Err(self.err("unterminated string"));
            };
            match b {
                b'"' => {
                    self.pos += 1;
                    return Ok(out);
                }
                b'\\' => {
                    let Some(&e) = self.s.get(self.pos + 1) else {
                        return Err(self.err("unterminated escape"));
                    };
                    self.pos += 2;
                    out.push(match e {
                        b'"' => 0x22,
                        b'\\' => 0x5C,
                        b'/' => 0x2F,
                        b'b' => 0x08,
                        b'f' => 0x0C,
                        b'n' => 0x0A,
                        b'r' => 0x0D,
                        b't' => 0x09,
                        b'u' => {
                            let hex = self
                                .s
                                .get(self.pos..self.pos + 4)
                                .and_then(|h| std::str::from_utf8(h).ok())
                                .and_then(|h| u32::from_str_radix(h, 16).ok())
                                .ok_or_else(|| self.err("bad \\u escape"))?;
                            self.pos += 4;
                            hex
                        }
                        _ => return Err(self.err("bad escape")),
                    });
                }
                0..=0x1F => return Err(self.err("control character in string")),
                _ => {
                    // Only ASCII bytes move `pos` one at a time, so it is on a char boundary.
                    let ch = self.t[self.pos..]
                        .chars()
                        .next()
                        .ok_or_else(|| self.err("bad UTF-8"))?;
                    self.pos += ch.len_utf8();
                    out.push(u32::from(ch));
                }
            }
        }
    }
}

/// Lowercase hex, as Python's `bytes.hex()`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_python_json_with_ascii_escapes() {
        let v = Json::object([
            (
                "b",
                Json::from_code_points([0x61, 0xDC80, 0x1F600, 0xE9, 0x7F, 0x0A, 0x22, 0x5C]),
            ),
            (
                "a",
                Json::Array(vec![Json::Int(-1), Json::Null, Json::Bool(true)]),
            ),
            ("c", Json::Array(vec![])),
            ("d", Json::Object(vec![])),
        ]);
        assert_eq!(
            v.to_text(None),
            r#"{"a":[-1,null,true],"b":"a\udc80\ud83d\ude00\u00e9\u007f\n\"\\","c":[],"d":{}}"#
        );
        assert_eq!(
            v.to_text(Some(1)),
            "{\n \"a\": [\n  -1,\n  null,\n  true\n ],\n \"b\": \"a\\udc80\\ud83d\\ude00\\u00e9\\u007f\\n\\\"\\\\\",\n \"c\": [],\n \"d\": {}\n}"
        );
        assert_eq!(Json::parse(&v.to_text(Some(1))).unwrap(), v);
        assert_eq!(Json::parse(&v.to_text(None)).unwrap(), v);
    }

    #[test]
    fn surrogate_pairs_and_lone_surrogates() {
        // Python cannot tell "\ud83d\ude00" from the pair's character once in JSON text.
        assert_eq!(
            Json::from_code_points([0xD83D, 0xDE00]),
            Json::from_code_points([0x1F600])
        );
        let lone = Json::parse(r#""\ude00\ud83d""#).unwrap();
        assert_eq!(lone, Json::Str(vec![0xDE00, 0xD83D]));
        assert_eq!(lone.as_string(), None);
        assert_eq!(lone.to_serde(), Some(serde_json::json!("\u{FFFD}\u{FFFD}")));
    }

    #[test]
    fn parse_errors_carry_offsets() {
        for (text, offset) in [
            ("[1,]", 3),
            ("{\"a\" 1}", 5),
            ("1.5", 1),
            ("\"abc", 4),
            ("[] x", 3),
        ] {
            let e = Json::parse(text).unwrap_err();
            assert_eq!(e.offset, offset, "{text}: {e}");
        }
    }

    /// `depth` arrays, each holding a scalar and the next (the innermost holds a string).
    fn nested(depth: usize, leaf: &str) -> Json {
        let mut v = Json::str(leaf);
        for i in 0..depth {
            v = if i % 2 == 0 {
                Json::Array(vec![Json::Int(i as i64), v])
            } else {
                Json::object([("k", v), ("a", Json::Null)])
            };
        }
        v
    }

    #[test]
    fn deep_trees_need_no_native_stack() {
        const DEPTH: usize = 100_000;
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(|| {
                let v = nested(DEPTH, "x");
                // Indented text grows with the square of the depth (5 GB at this one), so
                // that style is checked on a tree deep enough to overflow a recursive printer.
                let indented = nested(5_000, "x");
                for (v, indent) in [(&v, None), (&indented, Some(1))] {
                    let text = v.to_text(indent);
                    let back = Json::parse(&text).expect("parses back");
                    assert!(back == *v);
                    assert_eq!(back.to_text(indent), text);
                }
                let w = v.clone();
                assert!(w == v);
                assert_eq!(v.first_difference(&w), None);
                let other = nested(DEPTH, "y");
                assert!(other != v);
                let d = v.first_difference(&other).expect("differs");
                assert!(
                    d.ends_with(r#".k[1]: "x" vs "y""#),
                    "{}",
                    &d[d.len() - 40..]
                );
                assert_eq!(d.len(), DEPTH / 2 * ".k[1]".len() + r#": "x" vs "y""#.len());
                assert!(d.starts_with(".k[1].k[1]"), "{}", &d[..40]);
                assert_eq!(v.to_serde(), None);
                let shallow = nested(MAX_SERDE_DEPTH, "x")
                    .to_serde()
                    .expect("within the cap");
                assert_eq!(
                    shallow.to_string(),
                    nested(MAX_SERDE_DEPTH, "x").to_text(None)
                );
                drop(shallow);
                drop((v, w, other));
            })
            .expect("spawn")
            .join()
            .expect("no stack overflow");
    }

    #[test]
    fn first_difference_names_the_path() {
        let a = Json::parse(r#"{"code":{"co_consts":[1,{"x":[2,3]}]}}"#).unwrap();
        let b = Json::parse(r#"{"code":{"co_consts":[1,{"x":[2,4]}]}}"#).unwrap();
        assert_eq!(
            a.first_difference(&b).unwrap(),
            ".code.co_consts[1].x[1]: 3 vs 4"
        );
        assert_eq!(a.first_difference(&a), None);
        let c = Json::parse(r#"{"code":{"co_consts":[1]}}"#).unwrap();
        assert!(a
            .first_difference(&c)
            .unwrap()
            .contains("array lengths differ"));
    }
}
