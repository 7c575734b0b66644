//! Python 3's `repr` for the values marshal carries: floats (shortest round-trip digits),
//! complex numbers, `str` (quote choice and escapes, lone surrogates included), `bytes`, and
//! whole objects of a [`Stream`] ([`node_repr`]).
//!
//! These match CPython 3 exactly (checked against interpreter output in the tests), so other
//! crates (disassemblers, JSON views) can print constants the way Python would:
//!
//! ```
//! use brine_marshal::repr;
//! assert_eq!(repr::float_repr(1e16), "1e+16");
//! assert_eq!(repr::float_repr(0.1), "0.1");
//! assert_eq!(repr::float_repr(-0.0), "-0.0");
//! assert_eq!(repr::complex_repr(1.0, -2.5), "(1-2.5j)");
//! assert_eq!(repr::str_repr_code_points(&[0x27, 0xD800]), "\"'\\ud800\"");
//! assert_eq!(repr::bytes_repr(b"a'\x00"), "b\"a'\\x00\"");
//! ```
//!
//! Printability of non-ASCII characters (printed as is, or escaped) follows the Unicode
//! database of the interpreter: [`str_repr`] and [`is_printable`] use CPython 3.13's, and
//! [`str_repr_for`] / [`is_printable_for`] the one of the version asked for (see
//! [`printable_table_for`] for the versions with no table of their own):
//!
//! ```
//! use brine_marshal::repr;
//! // U+1C89 (CYRILLIC CAPITAL LETTER TJE) is new in Unicode 16.0 (CPython 3.14).
//! assert_eq!(repr::str_repr_code_points_for((3, 14), &[0x1C89]), "'\u{1C89}'");
//! assert_eq!(repr::str_repr_code_points_for((3, 13), &[0x1C89]), "'\\u1c89'");
//! ```

mod printable;

/// One generated table: the CPython `(major, minor)` it was dumped from, its Unicode version
/// and its non-ASCII printable ranges.
type TableEntry = ((u8, u8), &'static str, &'static [(u32, u32)]);

use crate::node::{NodeId, Value};
use crate::stream::Stream;
use crate::text::PyStr;
use std::fmt::Write;

/// The printable table of one CPython version: which interpreter's `str.isprintable()` a
/// repr follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrintableTable {
    /// The CPython `(major, minor)` the table was dumped from.
    pub version: (u8, u8),
    /// That interpreter's `unicodedata.unidata_version`.
    pub unicode: &'static str,
    ranges: &'static [(u32, u32)],
}

impl PrintableTable {
    /// Whether `str.isprintable()` holds for the code point `c` in this version.
    pub fn is_printable(&self, c: u32) -> bool {
        if c < 0x80 {
            return (0x20..0x7f).contains(&c);
        }
        // The last range starting at or before c.
        let i = self.ranges.partition_point(|&(start, _)| start <= c);
        i > 0 && c <= self.ranges[i - 1].1
    }
}

/// Every version's table, oldest first: 3.0 to 3.14 (see `marshal/data/README.md` for where
/// each comes from).
pub fn printable_tables() -> impl Iterator<Item = PrintableTable> {
    printable::TABLES
        .iter()
        .map(|&(version, unicode, ranges)| PrintableTable {
            version,
            unicode,
            ranges,
        })
}

/// The table a Python 3 `(major, minor)` repr uses: its own (3.0–3.14), the newest for later
/// versions (and the oldest for anything before 3.0).
pub fn printable_table_for(version: (u8, u8)) -> PrintableTable {
    let tables = printable::TABLES;
    let pick = tables
        .iter()
        .rev()
        .find(|t| t.0 <= version)
        .unwrap_or(&tables[0]);
    PrintableTable {
        version: pick.0,
        unicode: pick.1,
        ranges: pick.2,
    }
}

/// CPython 3.13's table, the one [`str_repr`] and [`is_printable`] use.
fn default_table() -> PrintableTable {
    printable_table_for((3, 13))
}

/// Whether Python's `str.isprintable()` holds for the code point `c` (CPython 3.13's Unicode
/// database).
pub fn is_printable(c: u32) -> bool {
    default_table().is_printable(c)
}

/// Whether `str.isprintable()` holds for `c` in Python `version` (see [`printable_table_for`]).
pub fn is_printable_for(version: (u8, u8), c: u32) -> bool {
    printable_table_for(version).is_printable(c)
}

/// `repr(x)` of a float: the shortest digits that round-trip, fixed notation when the decimal
/// exponent is in `-4..16` (with `.0` added to integral values), exponent notation
/// (`1e+16`, `1.5e-07`) otherwise; `inf`, `-inf`, `nan`, `-0.0`.
pub fn float_repr(x: f64) -> String {
    format_shortest(x, true)
}

/// `repr(complex(re, im))`: `2j` when the real part is +0.0, otherwise `(1+2j)`; parts use the
/// shortest digits without a forced `.0`.
pub fn complex_repr(re: f64, im: f64) -> String {
    let imag = format_shortest(im, false);
    if re == 0.0 && re.is_sign_positive() {
        return format!("{imag}j");
    }
    let real = format_shortest(re, false);
    let sign = if imag.starts_with('-') { "" } else { "+" };
    format!("({real}{sign}{imag}j)")
}

fn format_shortest(x: f64, add_dot_0: bool) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    // `{:e}` gives the shortest digits that round-trip, but breaks exact ties upwards; Python
    // (David Gay's dtoa) picks the round-tripping candidate closest to the value, ties to
    // even. Re-rounding the value exactly to the same number of digits gives that candidate
    // whenever it round-trips.
    let shortest = format!("{:e}", x);
    let n_digits = shortest
        .split_once('e')
        .map_or(1, |(m, _)| m.bytes().filter(u8::is_ascii_digit).count());
    let exact = format!("{:.*e}", n_digits.saturating_sub(1), x);
    let sci = if exact.parse::<f64>() == Ok(x) {
        exact
    } else {
        shortest
    };
    let (mant, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("exponent is an int");
    let sign = if mant.starts_with('-') { "-" } else { "" };
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let mut s = String::from(sign);
    if (-4..16).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                s.push_str(&digits);
                s.push_str(&"0".repeat(int_len - digits.len()));
                if add_dot_0 {
                    s.push_str(".0");
                }
            } else {
                s.push_str(&digits[..int_len]);
                s.push('.');
                s.push_str(&digits[int_len..]);
            }
        } else {
            s.push_str("0.");
            s.push_str(&"0".repeat((-exp - 1) as usize));
            s.push_str(&digits);
        }
    } else {
        s.push_str(&digits[..1]);
        if digits.len() > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        let esign = if exp < 0 { '-' } else { '+' };
        let _ = write!(s, "e{esign}{:02}", exp.abs());
    }
    s
}

fn choose_quote(has_single: bool, has_double: bool) -> char {
    if has_single && !has_double {
        '"'
    } else {
        '\''
    }
}

/// `repr(s)` of a `str` given as code points (lone surrogates allowed), as CPython 3.13
/// prints it.
pub fn str_repr_code_points(chars: &[u32]) -> String {
    str_repr_iter(chars.iter().copied(), default_table())
}

/// `repr(s)` of a marshal string, as CPython 3.13 prints it.
pub fn str_repr(s: PyStr<'_>) -> String {
    str_repr_iter(s.chars(), default_table())
}

/// `repr(s)` of a `str` given as code points, as Python 3 `version` prints it: the same
/// quoting and escapes, with that version's printable characters (see [`printable_table_for`]).
pub fn str_repr_code_points_for(version: (u8, u8), chars: &[u32]) -> String {
    str_repr_iter(chars.iter().copied(), printable_table_for(version))
}

/// `repr(s)` of a marshal string, as Python 3 `version` prints it (see
/// [`str_repr_code_points_for`]).
pub fn str_repr_for(version: (u8, u8), s: PyStr<'_>) -> String {
    str_repr_iter(s.chars(), printable_table_for(version))
}

fn str_repr_iter<I: Iterator<Item = u32> + Clone>(chars: I, table: PrintableTable) -> String {
    let has_single = chars.clone().any(|c| c == u32::from(b'\''));
    let has_double = chars.clone().any(|c| c == u32::from(b'"'));
    let quote = choose_quote(has_single, has_double);
    let mut out = String::with_capacity(chars.size_hint().0 + 2);
    out.push(quote);
    for c in chars {
        match c {
            0x5C => out.push_str("\\\\"),
            0x09 => out.push_str("\\t"),
            0x0A => out.push_str("\\n"),
            0x0D => out.push_str("\\r"),
            _ if c == quote as u32 => {
                out.push('\\');
                out.push(quote);
            }
            _ if table.is_printable(c) => out.push(char::from_u32(c).unwrap_or('\u{FFFD}')),
            0..=0xFF => {
                let _ = write!(out, "\\x{c:02x}");
            }
            0x100..=0xFFFF => {
                let _ = write!(out, "\\u{c:04x}");
            }
            _ => {
                let _ = write!(out, "\\U{c:08x}");
            }
        }
    }
    out.push(quote);
    out
}

/// Python 2's `repr` of a `unicode` value, without the `u` prefix: every non-ASCII or
/// non-printable character escaped.
fn py2_unicode_repr<I: Iterator<Item = u32> + Clone>(chars: I) -> String {
    let has_single = chars.clone().any(|c| c == u32::from(b'\''));
    let has_double = chars.clone().any(|c| c == u32::from(b'"'));
    let quote = choose_quote(has_single, has_double);
    let mut out = String::new();
    out.push(quote);
    for c in chars {
        match c {
            0x5C => out.push_str("\\\\"),
            0x09 => out.push_str("\\t"),
            0x0A => out.push_str("\\n"),
            0x0D => out.push_str("\\r"),
            _ if c == quote as u32 => {
                out.push('\\');
                out.push(quote);
            }
            0x20..=0x7E => out.push(c as u8 as char),
            0..=0xFF => {
                let _ = write!(out, "\\x{c:02x}");
            }
            0x100..=0xFFFF => {
                let _ = write!(out, "\\u{c:04x}");
            }
            _ => {
                let _ = write!(out, "\\U{c:08x}");
            }
        }
    }
    out.push(quote);
    out
}

/// `repr(b)` of `bytes` (with the `b` prefix).
pub fn bytes_repr(b: &[u8]) -> String {
    let mut out = String::from("b");
    bytes_body(b, &mut out);
    out
}

fn bytes_body(b: &[u8], out: &mut String) {
    let quote = choose_quote(b.contains(&b'\''), b.contains(&b'"'));
    out.push(quote);
    for &c in b {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            _ if c == quote as u8 => {
                out.push('\\');
                out.push(quote);
            }
            0x20..=0x7E => out.push(c as char),
            _ => {
                let _ = write!(out, "\\x{c:02x}");
            }
        }
    }
    out.push(quote);
}

/// A Python-literal rendering of the object `id` of a stream, as Python 3's `repr` would print
/// the loaded value, with these differences: sets, frozensets and dicts keep stream order
/// (Python prints sets in hash order); code objects print as `<code object NAME>`; for
/// Python 2 streams, byte strings print without `b` and `unicode` with `u` (as Python 2 does);
/// a container met again inside itself prints as `...`.
pub fn node_repr(stream: &Stream<'_>, id: NodeId) -> String {
    let mut out = String::new();
    let mut active = vec![false; stream.len()];
    // An explicit stack instead of recursion: no depth can overflow the native stack.
    let mut tasks = vec![ReprTask::Node(id)];
    while let Some(task) = tasks.pop() {
        match task {
            ReprTask::Text(t) => out.push_str(t),
            ReprTask::Leave(id) => active[id.index()] = false,
            ReprTask::Node(id) => repr_node(stream, id, &mut out, &mut active, &mut tasks),
        }
    }
    out
}

enum ReprTask {
    Node(NodeId),
    Text(&'static str),
    Leave(NodeId),
}

fn repr_node(
    stream: &Stream<'_>,
    id: NodeId,
    out: &mut String,
    active: &mut [bool],
    tasks: &mut Vec<ReprTask>,
) {
    let id = stream.resolve(id);
    if active[id.index()] {
        out.push_str("...");
        return;
    }
    let py2 = stream.version().is_py2();
    let value = stream.node(id).value;
    // Schedules `open item, item, ... close` (items are written after `open`).
    let mut seq = |out: &mut String, open: &str, close: &'static str, one: bool| {
        out.push_str(open);
        active[id.index()] = true;
        tasks.push(ReprTask::Leave(id));
        tasks.push(ReprTask::Text(close));
        let kids = stream.children(id);
        if one && kids.len() == 1 {
            tasks.push(ReprTask::Text(","));
        }
        for (i, &k) in kids.iter().enumerate().rev() {
            tasks.push(ReprTask::Node(k));
            if i > 0 {
                tasks.push(ReprTask::Text(", "));
            }
        }
    };
    match value {
        Value::Null => out.push_str("<NULL>"),
        Value::None => out.push_str("None"),
        Value::False => out.push_str("False"),
        Value::True => out.push_str("True"),
        Value::StopIteration => out.push_str(if py2 {
            "<type 'exceptions.StopIteration'>"
        } else {
            "<class 'StopIteration'>"
        }),
        Value::Ellipsis => out.push_str("Ellipsis"),
        Value::Int(v) => {
            let _ = write!(out, "{v}");
        }
        Value::Int64(v) => {
            let _ = write!(out, "{v}");
        }
        Value::Long(d) => {
            let _ = write!(out, "{}", d.to_bigint());
            if py2 {
                out.push('L');
            }
        }
        Value::Float(_) | Value::FloatText(_) => {
            out.push_str(&float_repr(value.as_f64().unwrap_or(f64::NAN)))
        }
        Value::Complex { .. } | Value::ComplexText { .. } => {
            let (re, im) = value.as_complex().unwrap_or((f64::NAN, f64::NAN));
            out.push_str(&complex_repr(re, im));
        }
        Value::Bytes(b) => out.push_str(&bytes_repr(b)),
        Value::Py2Str { data, .. } => {
            if py2 {
                bytes_body(data, out);
            } else {
                out.push_str(&bytes_repr(data));
            }
        }
        Value::Str { .. } => {
            let text = stream.text(id).expect("Str node has text");
            if py2 {
                out.push('u');
                out.push_str(&py2_unicode_repr(text.chars()));
            } else {
                out.push_str(&str_repr(text));
            }
        }
        Value::Tuple { .. } => seq(out, "(", ")", true),
        Value::List(_) => seq(out, "[", "]", false),
        Value::Set(_) if py2 => seq(out, "set([", "])", false),
        Value::FrozenSet(_) if py2 => seq(out, "frozenset([", "])", false),
        Value::Set(r) => {
            if r.len == 0 {
                out.push_str("set()");
            } else {
                seq(out, "{", "}", false);
            }
        }
        Value::FrozenSet(r) => {
            if r.len == 0 {
                out.push_str("frozenset()");
            } else {
                seq(out, "frozenset({", "})", false);
            }
        }
        Value::Slice(_) => seq(out, "slice(", ")", false),
        Value::Dict { .. } | Value::FrozenDict { .. } => {
            let frozen = matches!(value, Value::FrozenDict { .. });
            out.push_str(if frozen { "frozendict({" } else { "{" });
            active[id.index()] = true;
            tasks.push(ReprTask::Leave(id));
            tasks.push(ReprTask::Text(if frozen { "})" } else { "}" }));
            let pairs: Vec<(NodeId, NodeId)> = stream.dict_pairs(id).collect();
            for (i, &(k, v)) in pairs.iter().enumerate().rev() {
                tasks.push(ReprTask::Node(v));
                tasks.push(ReprTask::Text(": "));
                tasks.push(ReprTask::Node(k));
                if i > 0 {
                    tasks.push(ReprTask::Text(", "));
                }
            }
        }
        Value::Code(_) => {
            let name = stream
                .code_view(id)
                .and_then(|c| c.name())
                .map(|n| n.to_string())
                .unwrap_or_default();
            let _ = write!(out, "<code object {name}>");
        }
        Value::Ref { .. } | Value::StringRef { .. } => out.push_str("..."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_version_picks_its_table() {
        let versions: Vec<(u8, u8)> = printable_tables().map(|t| t.version).collect();
        assert_eq!(versions.len(), 15, "3.0 to 3.14");
        for v in &versions {
            assert_eq!(printable_table_for(*v).version, *v);
        }
        assert_eq!(printable_table_for((2, 7)).version, (3, 0));
        assert_eq!(
            printable_table_for((3, 99)).version,
            *versions.last().unwrap()
        );
    }

    #[test]
    fn newer_unicode_prints_more() {
        // Every character an older interpreter prints, a newer one prints too; ASCII control
        // characters and DEL never.
        let tables: Vec<PrintableTable> = printable_tables().collect();
        for pair in tables.windows(2) {
            for c in (0..0x3_0000u32).step_by(7) {
                if pair[0].is_printable(c) {
                    assert!(pair[1].is_printable(c), "{c:#x} in {:?}", pair[1].version);
                }
            }
        }
        for t in &tables {
            assert!(!t.is_printable(0x1F) && !t.is_printable(0x7F) && t.is_printable(0x41));
        }
        assert_eq!(is_printable(0xE9), is_printable_for((3, 13), 0xE9));
    }
}
