//! Python's `repr()` of the values the disassembler prints (str, bytes, float), and the
//! byte-string escape decoding (`codecs.escape_decode`) that `STRING` arguments use.
//! Written from the documented behaviour of CPython 3.13 and checked against it by tests.

use crate::printable_table::PRINTABLE;
use crate::pystr::PyStr;
use std::fmt::Write;

/// Python's `str.isprintable()` for one code point (CPython 3.13's Unicode database).
pub fn is_printable(cp: u32) -> bool {
    if (0x20..0x7F).contains(&cp) {
        return true;
    }
    if cp < 0xA0 {
        return false;
    }
    PRINTABLE
        .binary_search_by(|&(lo, hi)| {
            if hi < cp {
                std::cmp::Ordering::Less
            } else if lo > cp {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

fn pick_quote(has_single: bool, has_double: bool) -> char {
    if has_single && !has_double {
        '"'
    } else {
        '\''
    }
}

/// `repr()` of a `str` given as surrogatepass UTF-8 bytes.
pub fn repr_str_bytes(bytes: &[u8]) -> String {
    let s = PyStr::from_validated(bytes);
    let quote = pick_quote(bytes.contains(&b'\''), bytes.contains(&b'"'));
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push(quote);
    for cp in s.chars() {
        match cp {
            0x5C => out.push_str("\\\\"),
            0x09 => out.push_str("\\t"),
            0x0A => out.push_str("\\n"),
            0x0D => out.push_str("\\r"),
            _ if cp == quote as u32 => {
                out.push('\\');
                out.push(quote);
            }
            _ if is_printable(cp) => out.push(char::from_u32(cp).unwrap_or('\u{FFFD}')),
            _ if cp < 0x100 => {
                let _ = write!(out, "\\x{cp:02x}");
            }
            _ if cp < 0x10000 => {
                let _ = write!(out, "\\u{cp:04x}");
            }
            _ => {
                let _ = write!(out, "\\U{cp:08x}");
            }
        }
    }
    out.push(quote);
    out
}

/// `repr()` of a `str`.
pub fn repr_str(s: &str) -> String {
    repr_str_bytes(s.as_bytes())
}

/// `repr()` of a `bytes` object (`b'...'`).
pub fn repr_bytes(bytes: &[u8]) -> String {
    let quote = pick_quote(bytes.contains(&b'\''), bytes.contains(&b'"')) as u8;
    let mut out = String::with_capacity(bytes.len() + 3);
    out.push('b');
    out.push(quote as char);
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            _ if b == quote => {
                out.push('\\');
                out.push(quote as char);
            }
            0x20..=0x7E => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push(quote as char);
    out
}

/// `repr()` of a `float`: the shortest text that round-trips, in Python's layout (`1.0`,
/// `1e+16`, `1.5e-05`, `inf`, `nan`).
pub fn repr_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "-1.2345e-5".
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if (-4..16).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.push_str(&digits);
                for _ in 0..int_len - digits.len() {
                    out.push('0');
                }
                out.push_str(".0");
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        } else {
            out.push_str("0.");
            for _ in 0..(-exp - 1) as usize {
                out.push('0');
            }
            out.push_str(&digits);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    out
}

/// A byte shown as CPython's C unpickler shows an unknown opcode (`'\xff'` style for
/// non-printable bytes, the character itself otherwise).
pub fn escape_byte_char(b: u8) -> String {
    if (0x20..0x7F).contains(&b) && b != b'\'' && b != b'\\' {
        (b as char).to_string()
    } else {
        format!("\\x{b:02x}")
    }
}

/// The opcode byte as pickletools shows it: `repr(chr(b))` without the quotes.
pub fn opcode_char(b: u8) -> String {
    match b {
        b'\\' => "\\\\".to_string(),
        b'\'' => "\\'".to_string(),
        b'\t' => "\\t".to_string(),
        b'\n' => "\\n".to_string(),
        b'\r' => "\\r".to_string(),
        _ if is_printable(b as u32) => (b as char).to_string(),
        _ => format!("\\x{b:02x}"),
    }
}

/// `codecs.escape_decode`: undo Python byte-string escapes. Errors carry CPython's message.
pub fn escape_decode(input: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        let Some(&c) = input.get(i) else {
            return Err("Trailing \\ in string".to_string());
        };
        i += 1;
        match c {
            b'\n' => {}
            b'\\' => out.push(b'\\'),
            b'\'' => out.push(b'\''),
            b'"' => out.push(b'"'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut v = (c - b'0') as u32;
                for _ in 0..2 {
                    match input.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + (d - b'0') as u32;
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xFF) as u8);
            }
            b'x' => {
                let h = input
                    .get(i..i + 2)
                    .filter(|h| h.iter().all(u8::is_ascii_hexdigit));
                match h {
                    Some(h) => {
                        let v = u8::from_str_radix(std::str::from_utf8(h).unwrap_or("0"), 16)
                            .unwrap_or(0);
                        out.push(v);
                        i += 2;
                    }
                    None => return Err(format!("invalid \\x escape at position {start}")),
                }
            }
            _ => {
                out.push(b'\\');
                out.push(c);
            }
        }
    }
    Ok(out)
}

/// Python's `repr()` of a plain-data node (what `repr(pickle.loads(data))` prints), computed
/// without recursion. Symbolic nodes print as `<global mod.name>`, `<object ...>` etc.; cycles
/// print as `[...]` / `{...}` like CPython; nesting deeper than `max_depth` prints `...`.
pub fn repr_node(graph: &crate::Graph, root: crate::NodeId, max_depth: usize) -> String {
    use crate::graph::{NodeKind, Py2Encoding};
    use crate::NodeId;
    enum Work {
        Node(NodeId),
        Text(&'static str),
        Leave,
    }
    let mut out = String::new();
    let mut work = vec![Work::Node(root)];
    let mut active: Vec<NodeId> = Vec::new();
    while let Some(w) = work.pop() {
        let id = match w {
            Work::Text(t) => {
                out.push_str(t);
                continue;
            }
            Work::Leave => {
                active.pop();
                continue;
            }
            Work::Node(id) => id,
        };
        let kind = graph.kind(id);
        let container = matches!(
            kind,
            NodeKind::List(_)
                | NodeKind::Dict(_)
                | NodeKind::Set(_)
                | NodeKind::FrozenSet(_)
                | NodeKind::Tuple(_)
        );
        if container && active.contains(&id) {
            out.push_str(match kind {
                NodeKind::List(_) => "[...]",
                NodeKind::Dict(_) => "{...}",
                _ => "...",
            });
            continue;
        }
        if container && active.len() >= max_depth {
            out.push_str("...");
            continue;
        }
        let push_seq = |work: &mut Vec<Work>, items: &[NodeId], close: &'static str| {
            work.push(Work::Text(close));
            for (i, &it) in items.iter().enumerate().rev() {
                work.push(Work::Node(it));
                if i > 0 {
                    work.push(Work::Text(", "));
                }
            }
        };
        match kind {
            NodeKind::None => out.push_str("None"),
            NodeKind::Bool(true) => out.push_str("True"),
            NodeKind::Bool(false) => out.push_str("False"),
            NodeKind::Int(v) => {
                let _ = write!(out, "{v}");
            }
            NodeKind::BigInt(v) => {
                let _ = write!(out, "{v}");
            }
            NodeKind::Float(v) => out.push_str(&repr_float(*v)),
            NodeKind::Str(s) => out.push_str(&repr_str_bytes(graph.bytes_of(*s))),
            NodeKind::Bytes(s) => out.push_str(&repr_bytes(graph.bytes_of(*s))),
            NodeKind::ByteArray(s) => {
                let _ = write!(out, "bytearray({})", repr_bytes(graph.bytes_of(*s)));
            }
            NodeKind::Py2Str(s) => {
                let raw = graph.bytes_of(*s);
                match graph.encoding {
                    Py2Encoding::Bytes => out.push_str(&repr_bytes(raw)),
                    _ => {
                        let text = graph.py2_str_text(id).unwrap_or_default();
                        out.push_str(&repr_str(&text));
                    }
                }
            }
            NodeKind::Tuple(items) => {
                active.push(id);
                work.push(Work::Leave);
                out.push('(');
                if items.len() == 1 {
                    work.push(Work::Text(",)"));
                    work.push(Work::Node(items[0]));
                } else {
                    push_seq(&mut work, items, ")");
                }
            }
            NodeKind::List(items) => {
                active.push(id);
                work.push(Work::Leave);
                out.push('[');
                push_seq(&mut work, items, "]");
            }
            NodeKind::Set(items) | NodeKind::FrozenSet(items) => {
                let frozen = matches!(kind, NodeKind::FrozenSet(_));
                if items.is_empty() {
                    out.push_str(if frozen { "frozenset()" } else { "set()" });
                    continue;
                }
                active.push(id);
                work.push(Work::Leave);
                out.push_str(if frozen { "frozenset({" } else { "{" });
                push_seq(&mut work, items, if frozen { "})" } else { "}" });
            }
            NodeKind::Dict(_) => {
                let pairs = graph.dict_effective(id).unwrap_or_default();
                active.push(id);
                work.push(Work::Leave);
                out.push('{');
                work.push(Work::Text("}"));
                for (i, &(k, v)) in pairs.iter().enumerate().rev() {
                    work.push(Work::Node(v));
                    work.push(Work::Text(": "));
                    work.push(Work::Node(k));
                    if i > 0 {
                        work.push(Work::Text(", "));
                    }
                }
            }
            NodeKind::Global(g) => {
                let _ = write!(out, "<global {}.{}>", g.resolved_module, g.resolved_name);
            }
            NodeKind::Object(o) => {
                let _ = write!(out, "<object {:?} #{}>", o.call, id.index());
            }
            NodeKind::Persistent { .. } => out.push_str("<persistent>"),
            NodeKind::Ext { code, .. } => {
                let _ = write!(out, "<ext {code}>");
            }
            NodeKind::Buffer { index } => {
                let _ = write!(out, "<buffer {index}>");
            }
            NodeKind::ReadOnly { .. } => out.push_str("<memory>"),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats() {
        for (x, s) in [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (-0.0, "-0.0"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1.5e-5, "1.5e-05"),
            (0.0001, "0.0001"),
            (123456789.123, "123456789.123"),
            (1e-300, "1e-300"),
            (-1.25, "-1.25"),
        ] {
            assert_eq!(repr_float(x), s);
        }
    }

    #[test]
    fn strings() {
        assert_eq!(repr_str("a'b"), "\"a'b\"");
        assert_eq!(repr_str("a'\"b"), "'a\\'\"b'");
        assert_eq!(repr_str("\u{e9}\u{0}\u{85}"), "'\u{e9}\\x00\\x85'");
        assert_eq!(repr_str_bytes(b"\xed\xa0\x80"), "'\\ud800'");
        assert_eq!(repr_bytes(b"a\xff'"), "b\"a\\xff'\"");
        assert_eq!(escape_decode(b"\\x41\\101\\q").unwrap(), b"AA\\q");
        assert!(escape_decode(b"a\\").is_err());
    }
}
