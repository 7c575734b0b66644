//! Byte encodings of scalar arguments, as CPython's pickler produces them (pickle.md §13).

use crate::pystr::PyStr;
use num_bigint::BigInt;
use num_traits::Zero;

/// `LONG1`/`LONG4` payload: little-endian two's complement in the fewest bytes CPython uses
/// (`encode_long`): empty for 0, else `bit_length(|x|) / 8 + 1` bytes with one redundant `0xFF`
/// sign byte dropped for negatives. That is exactly the minimal two's-complement form.
pub(crate) fn long_bytes(x: &BigInt) -> Vec<u8> {
    if x.is_zero() {
        return Vec::new();
    }
    x.to_signed_bytes_le()
}

/// The protocol-0 `UNICODE` payload: raw-unicode-escape after CPython 3.7+'s replacements of
/// `\`, NUL, `\n`, `\r` and `\x1a` by `\uXXXX` escapes (so the line stays one line). CPython
/// 3.6 (`py36`) replaces only `\` and `\n`.
pub(crate) fn raw_unicode_escape(s: PyStr<'_>, py36: bool, out: &mut Vec<u8>) {
    for cp in s.chars() {
        match cp {
            0x5C | 0x0A => out.extend_from_slice(format!("\\u{cp:04x}").as_bytes()),
            0x00 | 0x0D | 0x1A if !py36 => {
                out.extend_from_slice(format!("\\u{cp:04x}").as_bytes());
            }
            0..=0xFF => out.push(cp as u8),
            0x100..=0xFFFF => out.extend_from_slice(format!("\\u{cp:04x}").as_bytes()),
            _ => out.extend_from_slice(format!("\\U{cp:08x}").as_bytes()),
        }
    }
}

/// Python 2's `repr()` of a byte string (the `STRING` opcode's argument).
pub(crate) fn py2_str_repr(bytes: &[u8], out: &mut Vec<u8>) {
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    out.push(quote);
    for &b in bytes {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ if b == quote => {
                out.push(b'\\');
                out.push(b);
            }
            0x20..=0x7E => out.push(b),
            _ => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
        }
    }
    out.push(quote);
}

/// The latin-1 decoding of `bytes`, as surrogatepass UTF-8 (what `str(b, 'latin1')` holds).
pub(crate) fn latin1_text(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for &b in bytes {
        crate::pystr::push_code_point(&mut out, b as u32);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(x: i64) -> String {
        long_bytes(&BigInt::from(x))
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn long_encoding_matches_the_spec_examples() {
        assert_eq!(hex(0), "");
        assert_eq!(hex(127), "7f");
        assert_eq!(hex(128), "80 00");
        assert_eq!(hex(255), "ff 00");
        assert_eq!(hex(-1), "ff");
        assert_eq!(hex(-128), "80");
        assert_eq!(hex(-129), "7f ff");
        assert_eq!(hex(-256), "00 ff");
        assert_eq!(hex(-32768), "00 80");
        assert_eq!(hex(1 << 40), "00 00 00 00 00 01");
    }

    #[test]
    fn py2_repr_picks_quotes_like_python2() {
        let mut out = Vec::new();
        py2_str_repr(b"it's", &mut out);
        assert_eq!(out, b"\"it's\"");
        out.clear();
        py2_str_repr(b"a'\"\x00\xff", &mut out);
        assert_eq!(out, b"'a\\'\"\\x00\\xff'");
    }
}
