//! JSON views (feature `json`): the schema `brine pyc --json` prints and the fixtures record.
//!
//! * VALUE: `null`, `true`/`false`, `{"int": "123"}`, `{"float": repr}`, `{"complex": [re,
//!   im]}`, `{"str": text}`, `{"bytes": hex}`, `{"tuple"|"list"|"set"|"frozenset": [...]}`
//!   (set items sorted by their compact JSON text), `{"dict": [[k, v], ...]}`,
//!   `{"ellipsis": true}`, `{"stopiteration": true}`, `{"slice": [a, b, c]}`, and for a code
//!   object among the constants of an instruction, `{"code": PATH}`.
//! * PATH of a code object: `""` for the root, `"i"` for `co_consts[i]` of the root, `"p/i"`
//!   below `p`.
//! * An instruction: `{"offset", "opname", "arg", "argval", "line"}` with `argval` as
//!   `dis.Instruction.argval` would be (a VALUE for constants, a name string, a target
//!   offset, a pair of names as a list, `{"builtin": name}` for conversion functions).

use serde_json::{json, Map, Value};

use brine_marshal::repr as mrepr;

use crate::code::{Code, Const};
use crate::decode::{ArgVal, Instruction};
use crate::disasm::InstructionLines;

/// Text as a JSON reader sees Python's `json.dumps` of it: surrogate pairs (which Python
/// keeps as two code points) read back as one character; lone surrogates become U+FFFD.
pub fn json_text(s: brine_marshal::PyStr<'_>) -> String {
    let mut out = String::new();
    let mut pending: Option<u32> = None;
    for c in s.chars() {
        if let Some(hi) = pending.take() {
            if (0xDC00..0xE000).contains(&c) {
                let cp = 0x10000 + ((hi - 0xD800) << 10) + (c - 0xDC00);
                out.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
                continue;
            }
            out.push('\u{FFFD}');
        }
        if (0xD800..0xDC00).contains(&c) {
            pending = Some(c);
        } else {
            out.push(char::from_u32(c).unwrap_or('\u{FFFD}'));
        }
    }
    if pending.is_some() {
        out.push('\u{FFFD}');
    }
    out
}

fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

/// The compact, key-sorted, ASCII-only JSON text used to order set items (as Python's
/// `json.dumps(v, sort_keys=True, separators=(',', ':'), ensure_ascii=True)`).
pub fn canonical(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                let mut out = Map::new();
                for k in keys {
                    out.insert(k.clone(), sorted(&m[k]));
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    let text = sorted(v).to_string();
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if ch.is_ascii() {
            out.push(ch);
        } else {
            let mut buf = [0u16; 2];
            for unit in ch.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// The VALUE view of a constant. Nested code objects are shown with `code_view`.
pub fn value_view(c: &Const<'_>, code_view: &mut dyn FnMut(&Code<'_>) -> Value) -> Value {
    let list = |items: &[Const<'_>], cv: &mut dyn FnMut(&Code<'_>) -> Value| -> Vec<Value> {
        items.iter().map(|x| value_view(x, cv)).collect()
    };
    match c {
        Const::None => Value::Null,
        Const::Bool(b) => Value::Bool(*b),
        Const::Int(i) => json!({"int": i.to_string()}),
        Const::BigInt(b) => json!({"int": b.to_string()}),
        Const::Float(f) => json!({"float": mrepr::float_repr(*f)}),
        Const::Complex(re, im) => {
            json!({"complex": [mrepr::float_repr(*re), mrepr::float_repr(*im)]})
        }
        Const::Str(s) => json!({"str": json_text(*s)}),
        Const::Bytes(b) => json!({"bytes": hex(b)}),
        Const::Py2Str(b) => json!({"bytes": hex(b)}),
        Const::Tuple(items) => json!({"tuple": list(items, code_view)}),
        Const::List(items) => json!({"list": list(items, code_view)}),
        Const::Set(items) | Const::FrozenSet(items) => {
            let mut v = list(items, code_view);
            v.sort_by_cached_key(canonical);
            let key = if matches!(c, Const::Set(_)) {
                "set"
            } else {
                "frozenset"
            };
            json!({ key: v })
        }
        Const::Dict(pairs) => {
            let v: Vec<Value> = pairs
                .iter()
                .map(|(k, x)| json!([value_view(k, code_view), value_view(x, code_view)]))
                .collect();
            json!({ "dict": v })
        }
        Const::Ellipsis => json!({"ellipsis": true}),
        Const::StopIteration => json!({"stopiteration": true}),
        Const::Slice(p) => json!({"slice": list(&p[..], code_view)}),
        Const::Code(code) => json!({"code": code_view(code)}),
    }
}

/// The path of `co_consts[index]` of the code object at `path`.
pub fn child_path(path: &str, index: usize) -> String {
    if path.is_empty() {
        index.to_string()
    } else {
        format!("{path}/{index}")
    }
}

/// `dis.Instruction.argval` of an instruction as JSON. `path` is the PATH of the code object
/// the instruction belongs to (constants that are code objects are shown by their PATH).
pub fn argval_view(ins: &Instruction<'_, '_>, path: &str) -> Value {
    match ins.argval {
        ArgVal::None => Value::Null,
        ArgVal::Int(i) => json!(i),
        ArgVal::Const(c) => {
            let index = ins.arg.unwrap_or(0) as usize;
            match c {
                Const::Code(_) => json!({"code": child_path(path, index)}),
                other => value_view(other, &mut |_| Value::Null),
            }
        }
        ArgVal::Unknown => json!({"unknown": true}),
        ArgVal::Name(n) => json!(json_text(n)),
        ArgVal::NamePair(a, b) => json!([json_text(a), json_text(b)]),
        ArgVal::Jump(t) => json!(t),
        ArgVal::Compare(op) => json!(op),
        ArgVal::FormatValue(conv, spec) => {
            json!([conv.map(|c| json!({"builtin": c})), spec])
        }
        ArgVal::Converter(conv) => match conv {
            Some(c) => json!({"builtin": c}),
            None => Value::Null,
        },
        ArgVal::Invalid(i) => json!({"invalid": i}),
    }
}

/// The JSON view of every instruction of `code`:
/// `[{"offset", "opname", "arg", "argval", "line"}, ...]`, where `line` is the instruction's
/// source line (`null` when it has none).
pub fn instructions_view(code: &Code<'_>, path: &str) -> Value {
    let mut out = Vec::new();
    for (ins, lines) in InstructionLines::new(code) {
        let mut m = Map::new();
        m.insert("offset".into(), json!(ins.offset));
        m.insert("opname".into(), json!(ins.opname));
        m.insert("arg".into(), json!(ins.arg));
        m.insert("argval".into(), argval_view(&ins, path));
        m.insert("line".into(), json!(lines.line));
        if let Some(p) = ins.problem {
            m.insert("problem".into(), json!(p.message()));
        }
        out.push(Value::Object(m));
    }
    Value::Array(out)
}

/// The JSON view of a [`CodeSummary`](crate::summary::CodeSummary).
pub fn summary_view(s: &crate::summary::CodeSummary) -> Value {
    let calls: Vec<Value> = s
        .calls
        .iter()
        .map(|c| {
            json!({"code": c.code, "callee": c.callee, "kind": format!("{:?}", c.kind).to_lowercase(),
                   "argc": c.argc, "line": c.line, "offset": c.offset})
        })
        .collect();
    let imports: Vec<Value> = s
        .imports
        .iter()
        .map(|i| {
            json!({"code": i.code, "module": i.module, "level": i.level, "fromlist": i.fromlist,
                   "names": i.names, "line": i.line})
        })
        .collect();
    let chains: Vec<Value> = s
        .attribute_chains
        .iter()
        .map(|a| json!({"code": a.code, "chain": a.chain, "line": a.line}))
        .collect();
    let dynamic: Vec<Value> = s
        .dynamic
        .iter()
        .map(|d| {
            json!({"code": d.code, "kind": format!("{:?}", d.kind).to_lowercase(),
                   "callee": d.callee, "target": d.target, "line": d.line})
        })
        .collect();
    let nested: Vec<Value> = s
        .nested
        .iter()
        .map(|n| json!({"qualname": n.qualname, "path": n.path, "name": n.name, "firstlineno": n.firstlineno}))
        .collect();
    let closures: Vec<Value> = s
        .closures
        .iter()
        .map(|c| {
            let caps: Vec<Value> = c
                .captures
                .iter()
                .map(|x| json!({"name": x.name, "from_enclosing_cell": x.from_enclosing_cell}))
                .collect();
            json!({"code": c.code, "enclosing": c.enclosing, "captures": caps})
        })
        .collect();
    json!({
        "globals_read": s.globals_read,
        "globals_written": s.globals_written,
        "module_aliases": s.module_aliases,
        "attribute_chains": chains,
        "imports": imports,
        "calls": calls,
        "strings": s.strings,
        "bytes": s.bytes.iter().map(|b| hex(b)).collect::<Vec<_>>(),
        "nested": nested,
        "dynamic": dynamic,
        "closures": closures,
        "malformed_instructions": s.malformed_instructions,
    })
}

/// The [`DisMismatch::what`] of an `argrepr` difference inside a set constant whose
/// iteration order cannot be known from the file: it holds items hashed by address (`None`
/// before 3.12, for instance), so CPython itself prints it differently from run to run.
pub const UNREPRODUCIBLE_SET_ORDER: &str = "argrepr (set order not reproducible)";

fn has_unreproducible_set(ins: &Instruction<'_, '_>, code: &Code<'_>) -> bool {
    fn walk(c: &Const<'_>, v: (u8, u8), depth: usize) -> bool {
        if depth > 64 {
            return false;
        }
        match c {
            Const::Set(items) | Const::FrozenSet(items) => {
                crate::setorder::set_iteration_order(items, v.0, v.1).is_none()
                    || items.iter().any(|x| walk(x, v, depth + 1))
            }
            Const::Tuple(items) | Const::List(items) => items.iter().any(|x| walk(x, v, depth + 1)),
            _ => false,
        }
    }
    match ins.argval {
        ArgVal::Const(c) => walk(c, code.version(), 0),
        _ => false,
    }
}

/// One difference between our decoding and a `dis` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisMismatch {
    /// What differs (`"argval"`, `"co_lines"`, `"dis text"`, ...).
    pub what: &'static str,
    /// Where (`@offset` for instructions) and the two values.
    pub detail: String,
}

/// Replaces every ` at 0x<hex>` by ` at 0x0`, as the recorders of `dis` output do to hide
/// object addresses (which also rewrites such text inside string constants).
pub fn mask_addresses(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(" at 0x") {
        let after = &rest[i + 6..];
        let hex_len = after.bytes().take_while(|b| b.is_ascii_hexdigit()).count();
        out.push_str(&rest[..i]);
        if hex_len > 0 {
            out.push_str(" at 0x0");
            rest = &after[hex_len..];
        } else {
            out.push_str(" at 0x");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn first_line_diff(got: &str, want: &str) -> String {
    for (i, (g, w)) in got.split('\n').zip(want.split('\n')).enumerate() {
        if g != w {
            return format!("line {}: got {g:?} want {w:?}", i + 1);
        }
    }
    format!(
        "line counts differ: got {} want {}",
        got.split('\n').count(),
        want.split('\n').count()
    )
}

/// Compares one code object with a record of what CPython's `dis` says about it, in the
/// format of the `<name>.dis.json` fixtures (`instructions` with `offset`, `opname`, `arg`,
/// `argval`, `argrepr`, `starts_line`, `line_number` (3.13+), `is_jump_target`;
/// `findlinestarts`, `co_lines`, `co_positions`, `exception_table`, `text`; keys that are
/// absent are not compared; addresses in `argrepr` and `text` are masked as the recorders
/// mask them, see [`mask_addresses`]). `path` is the code object's PATH. Returns the
/// differences.
pub fn compare_with_dis(code: &Code<'_>, path: &str, record: &Value) -> Vec<DisMismatch> {
    let mut out = Vec::new();
    let mut check = |what: &'static str, at: String, got: Value, want: &Value| {
        if &got != want {
            out.push(DisMismatch {
                what,
                detail: match (&got, want) {
                    (Value::String(g), Value::String(w)) if what == "dis text" => {
                        first_line_diff(g, w)
                    }
                    _ => format!("{at} got {got} want {want}"),
                },
            });
        }
    };
    let v313 = code.version() >= (3, 13);
    let labels = crate::disasm::jump_targets(code, false);
    if let Some(Value::Array(want_ins)) = record.get("instructions") {
        let got: Vec<_> = InstructionLines::new(code).collect();
        check(
            "instruction count",
            String::new(),
            json!(got.len()),
            &json!(want_ins.len()),
        );
        for ((ins, li), want) in got.iter().zip(want_ins) {
            let at = format!("@{}", ins.offset);
            let mut field = |what: &'static str, got: Value| {
                if let Some(w) = want.get(what) {
                    check(what, at.clone(), got, w);
                }
            };
            field("offset", json!(ins.offset));
            field("opname", json!(ins.opname));
            field("arg", json!(ins.arg));
            field("argval", argval_view(ins, path));
            field("is_jump_target", json!(li.is_jump_target));
            if v313 {
                field("starts_line", json!(li.starts_line.is_some()));
                field("line_number", json!(li.line));
            } else {
                field("starts_line", json!(li.starts_line.flatten()));
            }
            let got_repr = json!(mask_addresses(&crate::disasm::argrepr(
                ins,
                code,
                Some(&labels)
            )));
            match want.get("argrepr") {
                Some(w) if *w != got_repr && has_unreproducible_set(ins, code) => {
                    check(UNREPRODUCIBLE_SET_ORDER, at.clone(), got_repr, w)
                }
                Some(w) => check("argrepr", at.clone(), got_repr, w),
                None => {}
            }
        }
    }
    let at = String::new();
    if let Some(want) = record.get("findlinestarts") {
        let got: Vec<Value> = code
            .line_starts()
            .map(|v| v.iter().map(|(o, l)| json!([o, l])).collect())
            .unwrap_or_default();
        check("findlinestarts", at.clone(), json!(got), want);
    }
    if let Some(want) = record.get("co_lines") {
        let got: Vec<Value> = code
            .lines()
            .map(|v| v.iter().map(|r| json!([r.start, r.end, r.line])).collect())
            .unwrap_or_default();
        check("co_lines", at.clone(), json!(got), want);
    }
    if let Some(want) = record.get("co_positions") {
        let got: Vec<Value> = code
            .positions()
            .map(|v| {
                v.iter()
                    .map(|p| json!([p.line, p.end_line, p.col, p.end_col]))
                    .collect()
            })
            .unwrap_or_default();
        check("co_positions", at.clone(), json!(got), want);
    }
    if let Some(want) = record.get("exception_table") {
        let got: Vec<Value> = code
            .exception_table()
            .map(|v| {
                v.iter()
                    .map(|e| json!([e.start, e.end, e.target, e.depth, e.lasti]))
                    .collect()
            })
            .unwrap_or_default();
        check("exception_table", at.clone(), json!(got), want);
    }
    if let Some(want) = record.get("text") {
        check(
            "dis text",
            at,
            json!(crate::disasm::disassemble(code)),
            want,
        );
    }
    out
}

/// The code object at a PATH below `root`.
pub fn code_at<'c, 'a>(root: &'c Code<'a>, path: &str) -> Option<&'c Code<'a>> {
    let mut cur = root;
    if path.is_empty() {
        return Some(cur);
    }
    for part in path.split('/') {
        let i: usize = part.parse().ok()?;
        cur = cur.consts.get(i)?.as_code()?;
    }
    Some(cur)
}

/// Makes JSON written by Python readable by `serde_json`: `json.dumps` writes lone surrogates
/// as `\\udXXX` escapes, which serde_json rejects; they become `\\ufffd` (U+FFFD, as
/// [`json_text`] shows them), while proper surrogate pairs are kept.
pub fn replace_lone_surrogate_escapes(text: &str) -> String {
    let b = text.as_bytes();
    let hex4 = |i: usize| -> Option<u32> { u32::from_str_radix(text.get(i..i + 4)?, 16).ok() };
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            if b[i + 1] == b'u' {
                if let Some(u) = hex4(i + 2) {
                    if (0xD800..0xDC00).contains(&u)
                        && b.get(i + 6) == Some(&b'\\')
                        && b.get(i + 7) == Some(&b'u')
                        && hex4(i + 8).is_some_and(|l| (0xDC00..0xE000).contains(&l))
                    {
                        out.push_str(&text[i..i + 12]);
                        i += 12;
                        continue;
                    }
                    if (0xD800..0xE000).contains(&u) {
                        out.push_str("\\ufffd");
                        i += 6;
                        continue;
                    }
                }
            }
            out.push_str(&text[i..i + 2]);
            i += 2;
            continue;
        }
        let Some(ch) = text[i..].chars().next() else {
            break;
        };
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_addresses_like_the_recorders() {
        assert_eq!(
            mask_addresses("'<function f at 0x7fAB12>' at 0x x at 0x1"),
            "'<function f at 0x0>' at 0x x at 0x0"
        );
    }
}
