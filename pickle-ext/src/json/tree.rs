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
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// Deepest nesting [`Json::parse`] accepts (arrays and objects). The parser recurses; this is
/// far below what a 2 MiB thread stack takes, and above what any view within
/// [`ViewLimits::default`] nests.
const MAX_PARSE_DEPTH: usize = 1500;

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

    /// Converts to a `serde_json::Value`. Lossy: a lone surrogate becomes U+FFFD.
    pub fn to_serde(&self) -> serde_json::Value {
        use serde_json::Value as V;
        match self {
            Json::Null => V::Null,
            Json::Bool(b) => V::Bool(*b),
            Json::Int(i) => V::from(*i),
            Json::Str(points) => V::String(
                points
                    .iter()
                    .map(|&c| char::from_u32(c).unwrap_or('\u{FFFD}'))
                    .collect(),
            ),
            Json::Array(items) => V::Array(items.iter().map(Json::to_serde).collect()),
            Json::Object(pairs) => V::Object(
                pairs
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_serde()))
                    .collect(),
            ),
        }
    }

    /// The JSON text, exactly as Python's `json.dumps(value, sort_keys=True,
    /// ensure_ascii=True, ...)` prints it: with `indent: None`, compact separators `(',', ':')`;
    /// with `Some(n)`, `indent=n, separators=(',', ': ')`. No trailing newline.
    pub fn to_text(&self, indent: Option<usize>) -> String {
        let mut out = String::new();
        self.write_text(&mut out, indent, 0);
        out
    }

    fn write_text(&self, out: &mut String, indent: Option<usize>, level: usize) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(true) => out.push_str("true"),
            Json::Bool(false) => out.push_str("false"),
            Json::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Json::Str(points) => write_json_string(out, points),
            Json::Array(items) => {
                if items.is_empty() {
                    out.push_str("[]");
                    return;
                }
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, indent, level + 1);
                    item.write_text(out, indent, level + 1);
                }
                newline(out, indent, level);
                out.push(']');
            }
            Json::Object(pairs) => {
                if pairs.is_empty() {
                    out.push_str("{}");
                    return;
                }
                out.push('{');
                for (i, (key, value)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, indent, level + 1);
                    write_json_string(out, &key.chars().map(u32::from).collect::<Vec<_>>());
                    out.push_str(if indent.is_some() { ": " } else { ":" });
                    value.write_text(out, indent, level + 1);
                }
                newline(out, indent, level);
                out.push('}');
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
fn diff(a: &Json, b: &Json) -> Option<String> {
    enum Task<'j> {
        Compare(&'j Json, &'j Json, String),
        Shape(&'j Json, &'j Json, String),
    }
    let at = |path: &str| {
        if path.is_empty() {
            ".".to_string()
        } else {
            path.to_string()
        }
    };
    let keys = |p: &[(String, Json)]| p.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    let mut stack = vec![Task::Compare(a, b, String::new())];
    while let Some(task) = stack.pop() {
        match task {
            Task::Shape(Json::Array(x), Json::Array(y), path) => {
                if x.len() != y.len() {
                    return Some(format!(
                        "{}: array lengths differ: {} vs {}",
                        at(&path),
                        x.len(),
                        y.len()
                    ));
                }
            }
            Task::Shape(Json::Object(x), Json::Object(y), path) => {
                if keys(x) != keys(y) {
                    return Some(format!(
                        "{}: keys differ: {:?} vs {:?}",
                        at(&path),
                        keys(x),
                        keys(y)
                    ));
                }
            }
            Task::Shape(..) => {}
            Task::Compare(x @ Json::Array(xs), y @ Json::Array(ys), path) => {
                stack.push(Task::Shape(x, y, path.clone()));
                for (i, (u, v)) in xs.iter().zip(ys).enumerate().rev() {
                    stack.push(Task::Compare(u, v, format!("{path}[{i}]")));
                }
            }
            Task::Compare(x @ Json::Object(xs), y @ Json::Object(ys), path) => {
                stack.push(Task::Shape(x, y, path.clone()));
                for (k, u) in xs.iter().rev() {
                    if let Some((_, v)) = ys.iter().find(|(k2, _)| k2 == k) {
                        stack.push(Task::Compare(u, v, format!("{path}.{k}")));
                    }
                }
            }
            Task::Compare(x, y, path) => {
                if x != y {
                    return Some(format!("{}: {} vs {}", at(&path), short(x), short(y)));
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
    /// cannot exhaust the native stack here; the depth limit protects the recursive walks
    /// over the result (printing, comparing, dropping).
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
                    if stack.len() >= MAX_PARSE_DEPTH {
                        return Err(self.err("nested too deeply"));
                    }
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
        assert_eq!(lone.to_serde(), serde_json::json!("\u{FFFD}\u{FFFD}"));
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
        let deep = "[".repeat(MAX_PARSE_DEPTH + 2);
        assert!(Json::parse(&deep).unwrap_err().message.contains("deeply"));
        // At the limit, the recursive walks over the result still fit a test thread's stack.
        let deepest = "[".repeat(MAX_PARSE_DEPTH) + &"]".repeat(MAX_PARSE_DEPTH);
        let v = Json::parse(&deepest).expect("at the limit");
        assert_eq!(v.to_text(None), deepest);
        let w = v.clone();
        assert!(v == w);
        assert_eq!(v.first_difference(&w), None);
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
