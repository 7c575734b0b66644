//! Python's `repr` of constants, as the interpreter of a given version prints them.
//!
//! Leaves (floats, complex numbers, `str`, `bytes`) come from [`brine_marshal::repr`]; this
//! module adds containers, code objects and the Python 2 forms (`u'...'`, byte strings
//! without a `b` prefix).

use std::fmt::Write as _;

use brine_marshal::repr as mrepr;
use brine_marshal::PyStr;

use crate::code::{Code, Const};

/// `repr(c)` as Python `major` prints it (3.13 for Python 3, 2.7 for Python 2). Code
/// objects print with address `0x0`.
pub fn const_repr(c: &Const<'_>, major: u8) -> String {
    const_repr_for(c, major, if major == 3 { 13 } else { 7 })
}

/// `repr(c)` as Python `major.minor` prints it; set items are listed in the order that
/// version iterates them (with hash randomisation off, see [`crate::setorder`]) and strings
/// follow that version's Unicode database ([`brine_marshal::repr::str_repr_for`]).
pub fn const_repr_for(c: &Const<'_>, major: u8, minor: u8) -> String {
    let mut out = String::new();
    write_repr(&mut out, c, major, minor);
    out
}

/// `repr` of a code object: `<code object NAME at 0x0, file "FILE", line N>`.
pub fn code_repr(code: &Code<'_>) -> String {
    format!(
        "<code object {} at 0x0, file \"{}\", line {}>",
        code.name.to_string_lossy(),
        code.filename.to_string_lossy(),
        code.firstlineno
    )
}

/// Python 2's `repr` of a `unicode` object: `u'...'`, every non-ASCII character escaped.
pub fn py2_unicode_repr(s: PyStr<'_>) -> String {
    let chars: Vec<u32> = s.chars().collect();
    let has_single = chars.contains(&u32::from(b'\''));
    let has_double = chars.contains(&u32::from(b'"'));
    let quote = if has_single && !has_double { '"' } else { '\'' };
    let mut out = String::from("u");
    out.push(quote);
    for c in chars {
        match c {
            0x5C => out.push_str("\\\\"),
            0x09 => out.push_str("\\t"),
            0x0A => out.push_str("\\n"),
            0x0D => out.push_str("\\r"),
            c if c == quote as u32 => {
                out.push('\\');
                out.push(quote);
            }
            0x20..=0x7E => out.push(char::from(c as u8)),
            c if c < 0x100 => {
                let _ = write!(out, "\\x{c:02x}");
            }
            c if c < 0x10000 => {
                let _ = write!(out, "\\u{c:04x}");
            }
            c => {
                let _ = write!(out, "\\U{c:08x}");
            }
        }
    }
    out.push(quote);
    out
}

fn seq(out: &mut String, items: &[Const<'_>], major: u8, minor: u8) {
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_repr(out, it, major, minor);
    }
}

fn set_items(out: &mut String, items: &[Const<'_>], major: u8, minor: u8) {
    match crate::setorder::set_iteration_order(items, major, minor) {
        Some(order) => {
            for (i, &j) in order.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(out, &items[j], major, minor);
            }
        }
        None => seq(out, items, major, minor),
    }
}

fn write_repr(out: &mut String, c: &Const<'_>, major: u8, minor: u8) {
    let py2 = major == 2;
    match c {
        Const::None => out.push_str("None"),
        Const::Bool(true) => out.push_str("True"),
        Const::Bool(false) => out.push_str("False"),
        Const::Ellipsis => out.push_str("Ellipsis"),
        Const::StopIteration => out.push_str(if py2 {
            "<type 'exceptions.StopIteration'>"
        } else {
            "<class 'StopIteration'>"
        }),
        Const::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Const::BigInt(b) => {
            let _ = write!(out, "{b}");
            if py2 {
                out.push('L');
            }
        }
        Const::Float(f) => out.push_str(&mrepr::float_repr(*f)),
        Const::Complex(re, im) => out.push_str(&mrepr::complex_repr(*re, *im)),
        Const::Str(s) => {
            if py2 {
                out.push_str(&py2_unicode_repr(*s));
            } else {
                out.push_str(&mrepr::str_repr_for((major, minor), *s));
            }
        }
        Const::Bytes(b) => out.push_str(&mrepr::bytes_repr(b)),
        Const::Py2Str(b) => {
            let r = mrepr::bytes_repr(b);
            out.push_str(r.strip_prefix('b').unwrap_or(&r));
        }
        Const::Tuple(items) => {
            out.push('(');
            seq(out, items, major, minor);
            if items.len() == 1 {
                out.push(',');
            }
            out.push(')');
        }
        Const::List(items) => {
            out.push('[');
            seq(out, items, major, minor);
            out.push(']');
        }
        Const::Set(items) => {
            if items.is_empty() {
                out.push_str("set()");
            } else if py2 {
                out.push_str("set([");
                seq(out, items, major, minor);
                out.push_str("])");
            } else {
                out.push('{');
                set_items(out, items, major, minor);
                out.push('}');
            }
        }
        Const::FrozenSet(items) => {
            if items.is_empty() {
                out.push_str("frozenset()");
            } else if py2 {
                out.push_str("frozenset([");
                seq(out, items, major, minor);
                out.push_str("])");
            } else {
                out.push_str("frozenset({");
                set_items(out, items, major, minor);
                out.push_str("})");
            }
        }
        Const::Dict(pairs) => {
            out.push('{');
            for (i, (k, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(out, k, major, minor);
                out.push_str(": ");
                write_repr(out, v, major, minor);
            }
            out.push('}');
        }
        Const::Slice(parts) => {
            out.push_str("slice(");
            seq(out, &parts[..], major, minor);
            out.push(')');
        }
        Const::Code(code) => out.push_str(&code_repr(code)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_and_py2_forms() {
        let t = Const::Tuple(vec![Const::Int(1)]);
        assert_eq!(const_repr(&t, 3), "(1,)");
        let fs = Const::FrozenSet(vec![Const::Int(1), Const::Float(2.5)]);
        assert_eq!(const_repr(&fs, 3), "frozenset({1, 2.5})");
        assert_eq!(const_repr(&fs, 2), "frozenset([1, 2.5])");
        assert_eq!(const_repr(&Const::Py2Str(b"it's"), 2), "\"it's\"");
        assert_eq!(const_repr(&Const::Bytes(b"a"), 3), "b'a'");
        let u = Const::Str(PyStr::new("é'".as_bytes(), false));
        assert_eq!(const_repr(&u, 2), "u\"\\xe9'\"");
        assert_eq!(const_repr(&u, 3), "\"é'\"");
        assert_eq!(
            const_repr(&Const::BigInt(Box::new(10u64.pow(19).into())), 2),
            "10000000000000000000L"
        );
    }
}
