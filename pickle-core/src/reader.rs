//! Streaming opcode readers with `pickletools.genops` semantics.
//!
//! [`OpReader`] walks a `&[u8]` without copying: byte payloads are borrowed from the input.
//! [`StreamOpReader`] reads any [`std::io::Read`] through a buffer that holds one opcode at a
//! time, so a huge pickle never has to sit in memory (only its largest single argument does).
//! Both decode arguments with one function generated from the argument kinds of the opcode
//! table, and both stop after `STOP`, exactly as genops does. Errors carry genops' exception
//! class and message (see [`ErrorKind::Invalid`]).
//!
//! ```
//! use brine_pickle_core::reader::{Arg, OpReader};
//! use brine_pickle_core::Opcode;
//! let ops: Vec<_> = OpReader::new(b"\x80\x04K\x05.").collect::<Result<_, _>>().unwrap();
//! assert_eq!(ops[1].opcode, Opcode::Binint1);
//! assert_eq!(ops[1].arg(), Arg::Int(5));
//! assert_eq!(ops[2].offset, 4);
//! ```

use crate::error::{Error, ErrorKind, Result};
use crate::opcodes::{ArgKind, Opcode, DECODE_TABLE};
use crate::pyrepr::{escape_decode, repr_bytes};
use crate::pystr::{decode_error_message, decode_raw_unicode_escape, validate_surrogatepass_range};
use num_bigint::BigInt;
use std::borrow::Cow;

/// The two lines of a `stringnl_noescape_pair` argument (module, name).
pub type TextPair<'a> = (Cow<'a, [u8]>, Cow<'a, [u8]>);

/// A decoded opcode argument, as genops decodes it (borrowing from the input where possible).
#[derive(Debug, Clone, PartialEq)]
pub enum Arg<'a> {
    /// The opcode has no argument.
    None,
    /// `uint1`, `uint2`, `int4`, `uint4`, or decimal text that fits in `i64`.
    Int(i64),
    /// Decimal text beyond `i64`.
    BigInt(Box<BigInt>),
    /// `decimalnl_short` with the text `00` / `01`.
    Bool(bool),
    /// `uint8`.
    U64(u64),
    /// `float8` or `floatnl`.
    Float(f64),
    /// `long1`/`long4`: little-endian two's-complement bytes (decode with [`decode_long`]).
    Long(Cow<'a, [u8]>),
    /// `bytes1`/`bytes4`/`bytes8`.
    Bytes(Cow<'a, [u8]>),
    /// `bytearray8`.
    ByteArray(Cow<'a, [u8]>),
    /// `string1`/`string4`: raw bytes, which genops presents as a latin-1 decoded `str`.
    Latin1(Cow<'a, [u8]>),
    /// A `str` as surrogatepass UTF-8: `unicodestring*`, `unicodestringnl` (decoded),
    /// `stringnl` and `stringnl_noescape` (escape-decoded, ASCII).
    Text(Cow<'a, [u8]>),
    /// `stringnl_noescape_pair`: module and name (genops joins them with one space). Boxed:
    /// rare, and keeping `Arg` small makes every other opcode cheaper to move.
    TextPair(Box<TextPair<'a>>),
}

impl Arg<'_> {
    /// An owned copy (for keeping an argument beyond the input's lifetime).
    pub fn into_owned(self) -> Arg<'static> {
        fn own(c: Cow<'_, [u8]>) -> Cow<'static, [u8]> {
            Cow::Owned(c.into_owned())
        }
        match self {
            Arg::None => Arg::None,
            Arg::Int(v) => Arg::Int(v),
            Arg::BigInt(v) => Arg::BigInt(v),
            Arg::Bool(v) => Arg::Bool(v),
            Arg::U64(v) => Arg::U64(v),
            Arg::Float(v) => Arg::Float(v),
            Arg::Long(b) => Arg::Long(own(b)),
            Arg::Bytes(b) => Arg::Bytes(own(b)),
            Arg::ByteArray(b) => Arg::ByteArray(own(b)),
            Arg::Latin1(b) => Arg::Latin1(own(b)),
            Arg::Text(t) => Arg::Text(own(t)),
            Arg::TextPair(pair) => {
                let (a, b) = *pair;
                Arg::TextPair(Box::new((own(a), own(b))))
            }
        }
    }
}

/// One opcode of the stream.
///
/// The argument is stored compactly (see [`Op::arg`]): every argument that borrows from the
/// input or is a plain number is held inline, and the rare owned ones (escape-decoded text,
/// big integers, `GLOBAL`'s pair, the streaming reader's copies) in one boxed variant. So
/// dropping an `Op` is a single, well-predicted test instead of an out-of-line call that
/// jumps on the argument kind — that drop cost more than decoding the opcode itself.
#[derive(Clone)]
pub struct Op<'a> {
    /// Offset of the opcode byte.
    pub offset: u64,
    /// The opcode.
    pub opcode: Opcode,
    /// Its argument.
    stored: StoredArg<'a>,
}

/// [`Arg`] as an [`Op`] holds it: no drop glue except in `Boxed`, and the fast path writes a
/// number or a slice without branching on the argument kind (the kind is a table value).
#[derive(Clone)]
enum StoredArg<'a> {
    /// `None`, `Int` (as `i64` bits), `Bool`, `U64`, `Float` (as `f64` bits).
    Num(NumKind, u64),
    /// A byte payload borrowed from the input.
    Slice(SliceKind, &'a [u8]),
    /// Anything else (owned data, `BigInt`, `TextPair`).
    Boxed(BoxedArg<'a>),
}

/// Which [`Arg`] a [`StoredArg::Num`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumKind {
    None,
    Int,
    Bool,
    U64,
    Float,
}

/// Which [`Arg`] a [`StoredArg::Slice`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SliceKind {
    Long,
    Bytes,
    ByteArray,
    Latin1,
    Text,
}

impl<'a> StoredArg<'a> {
    /// Stores `arg`, boxing only what cannot be held inline.
    fn new(arg: Arg<'a>) -> StoredArg<'a> {
        match arg {
            Arg::None => StoredArg::Num(NumKind::None, 0),
            Arg::Int(v) => StoredArg::Num(NumKind::Int, v as u64),
            Arg::Bool(v) => StoredArg::Num(NumKind::Bool, v as u64),
            Arg::U64(v) => StoredArg::Num(NumKind::U64, v),
            Arg::Float(v) => StoredArg::Num(NumKind::Float, v.to_bits()),
            Arg::Long(Cow::Borrowed(b)) => StoredArg::Slice(SliceKind::Long, b),
            Arg::Bytes(Cow::Borrowed(b)) => StoredArg::Slice(SliceKind::Bytes, b),
            Arg::ByteArray(Cow::Borrowed(b)) => StoredArg::Slice(SliceKind::ByteArray, b),
            Arg::Latin1(Cow::Borrowed(b)) => StoredArg::Slice(SliceKind::Latin1, b),
            Arg::Text(Cow::Borrowed(b)) => StoredArg::Slice(SliceKind::Text, b),
            other => StoredArg::Boxed(BoxedArg(Some(Box::new(other)))),
        }
    }
}

fn num_arg<'b>(kind: NumKind, v: u64) -> Arg<'b> {
    match kind {
        NumKind::None => Arg::None,
        NumKind::Int => Arg::Int(v as i64),
        NumKind::Bool => Arg::Bool(v != 0),
        NumKind::U64 => Arg::U64(v),
        NumKind::Float => Arg::Float(f64::from_bits(v)),
    }
}

fn slice_arg(kind: SliceKind, b: &[u8]) -> Arg<'_> {
    let b = Cow::Borrowed(b);
    match kind {
        SliceKind::Long => Arg::Long(b),
        SliceKind::Bytes => Arg::Bytes(b),
        SliceKind::ByteArray => Arg::ByteArray(b),
        SliceKind::Latin1 => Arg::Latin1(b),
        SliceKind::Text => Arg::Text(b),
    }
}

/// A boxed argument whose drop is out of line and marked cold, so that the drop glue of
/// `Op` that consumers inline is one compare.
#[derive(Clone)]
struct BoxedArg<'a>(Option<Box<Arg<'a>>>);

impl<'a> BoxedArg<'a> {
    fn get(&self) -> &Arg<'a> {
        self.0.as_deref().unwrap_or(&Arg::None)
    }

    fn take(mut self) -> Arg<'a> {
        self.0.take().map_or(Arg::None, |b| *b)
    }
}

impl Drop for BoxedArg<'_> {
    #[inline]
    fn drop(&mut self) {
        #[cold]
        #[inline(never)]
        fn drop_boxed(arg: Box<Arg<'_>>) {
            drop(arg)
        }
        if let Some(arg) = self.0.take() {
            drop_boxed(arg)
        }
    }
}

impl<'a> Op<'a> {
    /// An opcode with its argument (the readers make these; useful for tests and writers).
    pub fn new(offset: u64, opcode: Opcode, arg: Arg<'a>) -> Op<'a> {
        Op {
            offset,
            opcode,
            stored: StoredArg::new(arg),
        }
    }

    /// The argument. Input-borrowed bytes keep borrowing the input; owned ones are borrowed
    /// from this `Op` (a `BigInt` or `TextPair` is cloned: they are rare).
    pub fn arg(&self) -> Arg<'_> {
        match &self.stored {
            StoredArg::Num(kind, v) => num_arg(*kind, *v),
            StoredArg::Slice(kind, b) => slice_arg(*kind, b),
            StoredArg::Boxed(arg) => borrow_arg(arg.get()),
        }
    }

    /// The argument, by value (no copy of input-borrowed bytes).
    pub fn into_arg(self) -> Arg<'a> {
        match self.stored {
            StoredArg::Num(kind, v) => num_arg(kind, v),
            StoredArg::Slice(kind, b) => slice_arg(kind, b),
            StoredArg::Boxed(arg) => arg.take(),
        }
    }

    /// An owned copy (for keeping an opcode beyond the input's lifetime).
    pub fn into_owned(self) -> Op<'static> {
        Op {
            offset: self.offset,
            opcode: self.opcode,
            stored: StoredArg::new(self.into_arg().into_owned()),
        }
    }
}

/// `arg` with every byte payload borrowed from it.
fn borrow_arg<'b>(arg: &'b Arg<'_>) -> Arg<'b> {
    fn b(c: &[u8]) -> Cow<'_, [u8]> {
        Cow::Borrowed(c)
    }
    match arg {
        Arg::None => Arg::None,
        Arg::Int(v) => Arg::Int(*v),
        Arg::BigInt(v) => Arg::BigInt(v.clone()),
        Arg::Bool(v) => Arg::Bool(*v),
        Arg::U64(v) => Arg::U64(*v),
        Arg::Float(v) => Arg::Float(*v),
        Arg::Long(c) => Arg::Long(b(c)),
        Arg::Bytes(c) => Arg::Bytes(b(c)),
        Arg::ByteArray(c) => Arg::ByteArray(b(c)),
        Arg::Latin1(c) => Arg::Latin1(b(c)),
        Arg::Text(c) => Arg::Text(b(c)),
        Arg::TextPair(pair) => Arg::TextPair(Box::new((b(&pair.0), b(&pair.1)))),
    }
}

impl PartialEq for Op<'_> {
    /// Equal when offset, opcode and argument are (however the argument is stored).
    fn eq(&self, other: &Op<'_>) -> bool {
        self.offset == other.offset && self.opcode == other.opcode && self.arg() == other.arg()
    }
}

impl std::fmt::Debug for Op<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Op")
            .field("offset", &self.offset)
            .field("opcode", &self.opcode)
            .field("arg", &self.arg())
            .finish()
    }
}

/// Decodes a `long1`/`long4` payload (little-endian two's complement; empty = 0).
pub fn decode_long(bytes: &[u8]) -> BigInt {
    BigInt::from_signed_bytes_le(bytes)
}

/// Decodes a `long1`/`long4` payload that fits in `i64`.
pub fn decode_long_i64(bytes: &[u8]) -> Option<i64> {
    if bytes.len() > 8 {
        return None;
    }
    if bytes.is_empty() {
        return Some(0);
    }
    let fill = if bytes[bytes.len() - 1] & 0x80 != 0 {
        0xFF
    } else {
        0
    };
    let mut buf = [fill; 8];
    buf[..bytes.len()].copy_from_slice(bytes);
    Some(i64::from_le_bytes(buf))
}

fn invalid(exception: &'static str, message: String) -> ErrorKind {
    ErrorKind::Invalid { exception, message }
}

fn value_error(message: String) -> ErrorKind {
    invalid("ValueError", message)
}

/// Python's whitespace for `int(bytes)` / `float(bytes)`.
fn is_py_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C)
}

fn strip_py_space(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_py_space(b)).unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|&b| !is_py_space(b))
        .map_or(start, |e| e + 1);
    &s[start..end]
}

/// Removes digit-separating underscores the way Python's number parsers allow them (each
/// `_` between two digits). Returns `None` when an underscore is misplaced.
fn strip_underscores(s: &[u8], is_digit: impl Fn(u8) -> bool) -> Option<Cow<'_, [u8]>> {
    if !s.contains(&b'_') {
        return Some(Cow::Borrowed(s));
    }
    let mut out = Vec::with_capacity(s.len());
    for (i, &b) in s.iter().enumerate() {
        if b == b'_' {
            let prev = i.checked_sub(1).map(|j| s[j]);
            let next = s.get(i + 1).copied();
            if !(prev.is_some_and(&is_digit) && next.is_some_and(&is_digit)) {
                return None;
            }
        } else {
            out.push(b);
        }
    }
    Some(Cow::Owned(out))
}

/// Python's `int(text)` (base 10) on bytes; the error is Python's `ValueError` message.
/// `max_digits` mirrors `sys.get_int_max_str_digits()` (4300 in 3.11+).
pub fn py_int_base10(text: &[u8], max_digits: Option<usize>) -> Result<Arg<'static>, String> {
    let bad = || {
        format!(
            "invalid literal for int() with base 10: {}",
            repr_bytes(text)
        )
    };
    let s = strip_py_space(text);
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits[0].is_ascii_digit() {
        return Err(bad());
    }
    let digits = strip_underscores(digits, |b| b.is_ascii_digit()).ok_or_else(bad)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    if let Some(max) = max_digits {
        if digits.len() > max {
            return Err(format!(
                "Exceeds the limit ({max} digits) for integer string conversion: value has {} digits; use sys.set_int_max_str_digits() to increase the limit",
                digits.len()
            ));
        }
    }
    Ok(parse_decimal_digits(neg, &digits))
}

/// Parses validated ASCII digits into `Arg::Int` or `Arg::BigInt`.
pub(crate) fn parse_decimal_digits(neg: bool, digits: &[u8]) -> Arg<'static> {
    if digits.len() <= 18 {
        let mut v: i64 = 0;
        for &d in digits {
            v = v * 10 + (d - b'0') as i64;
        }
        return Arg::Int(if neg { -v } else { v });
    }
    let mut big = BigInt::parse_bytes(digits, 10).unwrap_or_default();
    if neg {
        big = -big;
    }
    match i64::try_from(&big) {
        Ok(v) => Arg::Int(v),
        Err(_) => Arg::BigInt(Box::new(big)),
    }
}

/// Python's `float(text)` on bytes (whitespace, underscores, `inf`/`nan` spellings).
pub fn py_float(text: &[u8]) -> Result<f64, String> {
    let bad = || format!("could not convert string to float: {}", repr_bytes(text));
    let s = strip_py_space(text);
    let s = strip_underscores(s, |b| b.is_ascii_digit()).ok_or_else(bad)?;
    let st = std::str::from_utf8(&s).map_err(|_| bad())?;
    let body = st.trim_start_matches(['+', '-']);
    if body.is_empty() || st.len() - body.len() > 1 {
        return Err(bad());
    }
    let lower = body.to_ascii_lowercase();
    let special = matches!(lower.as_str(), "inf" | "infinity" | "nan");
    if !special
        && !body
            .bytes()
            .all(|b| b.is_ascii_digit() || b"eE.+-".contains(&b))
    {
        return Err(bad());
    }
    st.parse::<f64>().map_err(|_| bad())
}

/// Where the next argument bytes come from; abstracts over slices so the argument decoder
/// is written once.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.data.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    /// Takes up to `n` bytes (fewer at the end), as `file.read(n)` does.
    fn take_upto(&mut self, n: u64) -> &'a [u8] {
        let avail = self.data.len() - self.pos;
        let n = (n.min(avail as u64)) as usize;
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        s
    }

    /// A line without its `\n`, or `None` if there is no newline (all input consumed).
    fn line(&mut self) -> Option<&'a [u8]> {
        let rest = &self.data[self.pos..];
        match memchr_nl(rest) {
            Some(i) => {
                self.pos += i + 1;
                Some(&rest[..i])
            }
            None => {
                self.pos = self.data.len();
                None
            }
        }
    }
}

#[inline]
fn memchr_nl(s: &[u8]) -> Option<usize> {
    s.iter().position(|&b| b == b'\n')
}

fn fixed<'a, const N: usize>(c: &mut Cursor<'a>, name: &str) -> Result<[u8; N], ErrorKind> {
    match c.take(N) {
        Some(s) => {
            let mut a = [0u8; N];
            a.copy_from_slice(s);
            Ok(a)
        }
        None => {
            c.take_upto(N as u64);
            Err(value_error(format!(
                "not enough data in stream to read {name}"
            )))
        }
    }
}

fn counted<'a>(c: &mut Cursor<'a>, n: u64, kind: &str) -> Result<&'a [u8], ErrorKind> {
    let s = c.take_upto(n);
    if s.len() as u64 == n {
        Ok(s)
    } else {
        Err(value_error(format!(
            "expected {n} bytes in a {kind}, but only {} remain",
            s.len()
        )))
    }
}

fn utf8_text<'a>(s: &'a [u8]) -> Result<Arg<'a>, ErrorKind> {
    match validate_surrogatepass_range(s) {
        Ok(()) => Ok(Arg::Text(Cow::Borrowed(s))),
        Err((a, b, r)) => Err(invalid(
            "UnicodeDecodeError",
            decode_error_message("utf-8", s, a, b, r),
        )),
    }
}

/// genops' `read_stringnl` with `decode=True`: escape-decode, then ASCII-decode.
fn escape_ascii(s: &[u8]) -> Result<Cow<'_, [u8]>, ErrorKind> {
    let decoded: Cow<'_, [u8]> = if s.contains(&b'\\') {
        Cow::Owned(escape_decode(s).map_err(value_error)?)
    } else {
        Cow::Borrowed(s)
    };
    if let Some(p) = decoded.iter().position(|&b| b >= 0x80) {
        return Err(invalid(
            "UnicodeDecodeError",
            decode_error_message("ascii", &decoded, p, p + 1, "ordinal not in range(128)"),
        ));
    }
    Ok(decoded)
}

fn stringnl_line<'a>(c: &mut Cursor<'a>) -> Result<&'a [u8], ErrorKind> {
    c.line()
        .ok_or_else(|| value_error("no newline found when trying to read stringnl".to_string()))
}

/// Decodes one argument of `kind` at the cursor, with genops' rules and messages.
#[inline]
fn read_arg<'a>(c: &mut Cursor<'a>, kind: ArgKind) -> Result<Arg<'a>, ErrorKind> {
    Ok(match kind {
        ArgKind::Uint1 => Arg::Int(fixed::<1>(c, "uint1")?[0] as i64),
        ArgKind::Uint2 => Arg::Int(u16::from_le_bytes(fixed(c, "uint2")?) as i64),
        ArgKind::Int4 => Arg::Int(i32::from_le_bytes(fixed(c, "int4")?) as i64),
        ArgKind::Uint4 => Arg::Int(u32::from_le_bytes(fixed(c, "uint4")?) as i64),
        ArgKind::Uint8 => Arg::U64(u64::from_le_bytes(fixed(c, "uint8")?)),
        ArgKind::Float8 => Arg::Float(f64::from_be_bytes(fixed(c, "float8")?)),
        ArgKind::DecimalnlShort => {
            let s = stringnl_line(c)?;
            match s {
                b"00" => Arg::Bool(false),
                b"01" => Arg::Bool(true),
                _ => py_int_base10(s, Some(4300)).map_err(value_error)?,
            }
        }
        ArgKind::DecimalnlLong => {
            let s = stringnl_line(c)?;
            let s = s.strip_suffix(b"L").unwrap_or(s);
            py_int_base10(s, Some(4300)).map_err(value_error)?
        }
        ArgKind::Floatnl => Arg::Float(py_float(stringnl_line(c)?).map_err(value_error)?),
        ArgKind::Stringnl => {
            let s = stringnl_line(c)?;
            let inner = match s.first() {
                Some(&q @ (b'"' | b'\'')) => {
                    if s.len() < 2 || s[s.len() - 1] != q {
                        // A single quote character is both start and end (`'` → empty).
                        if s.len() == 1 {
                            &s[1..]
                        } else {
                            return Err(value_error(format!(
                                "strinq quote {} not found at both ends of {}",
                                repr_bytes(&[q]),
                                repr_bytes(s)
                            )));
                        }
                    } else {
                        &s[1..s.len() - 1]
                    }
                }
                _ => {
                    return Err(value_error(format!(
                        "no string quotes around {}",
                        repr_bytes(s)
                    )))
                }
            };
            Arg::Text(escape_ascii(inner)?)
        }
        ArgKind::StringnlNoescape => Arg::Text(escape_ascii(stringnl_line(c)?)?),
        ArgKind::StringnlNoescapePair => {
            let a = escape_ascii(stringnl_line(c)?)?;
            let b = escape_ascii(stringnl_line(c)?)?;
            Arg::TextPair(Box::new((a, b)))
        }
        ArgKind::String1 => {
            let n = fixed::<1>(c, "uint1")?[0] as u64;
            Arg::Latin1(Cow::Borrowed(counted(c, n, "string1")?))
        }
        ArgKind::String4 => {
            let n = i32::from_le_bytes(fixed(c, "int4")?);
            if n < 0 {
                return Err(value_error(format!("string4 byte count < 0: {n}")));
            }
            Arg::Latin1(Cow::Borrowed(counted(c, n as u64, "string4")?))
        }
        ArgKind::Bytes1 => {
            let n = fixed::<1>(c, "uint1")?[0] as u64;
            Arg::Bytes(Cow::Borrowed(counted(c, n, "bytes1")?))
        }
        ArgKind::Bytes4 => {
            let n = u32::from_le_bytes(fixed(c, "uint4")?) as u64;
            Arg::Bytes(Cow::Borrowed(counted(c, n, "bytes4")?))
        }
        ArgKind::Bytes8 | ArgKind::Bytearray8 | ArgKind::Unicodestring8 => {
            let n = u64::from_le_bytes(fixed(c, "uint8")?);
            let name = kind.name();
            if n > i64::MAX as u64 {
                return Err(value_error(format!("{name} byte count > sys.maxsize: {n}")));
            }
            let s = counted(c, n, name)?;
            match kind {
                ArgKind::Bytes8 => Arg::Bytes(Cow::Borrowed(s)),
                ArgKind::Bytearray8 => Arg::ByteArray(Cow::Borrowed(s)),
                _ => utf8_text(s)?,
            }
        }
        ArgKind::Unicodestringnl => {
            let s = c.line().ok_or_else(|| {
                value_error("no newline found when trying to read unicodestringnl".to_string())
            })?;
            if s.iter().all(|&b| b < 0x80 && b != b'\\') {
                Arg::Text(Cow::Borrowed(s))
            } else {
                let mut out = Vec::with_capacity(s.len() + 8);
                decode_raw_unicode_escape(s, &mut out).map_err(|(a, b, r)| {
                    invalid(
                        "UnicodeDecodeError",
                        decode_error_message("rawunicodeescape", s, a, b, r),
                    )
                })?;
                Arg::Text(Cow::Owned(out))
            }
        }
        ArgKind::Unicodestring1 => {
            let n = fixed::<1>(c, "uint1")?[0] as u64;
            utf8_text(counted(c, n, "unicodestring1")?)?
        }
        ArgKind::Unicodestring4 => {
            let n = u32::from_le_bytes(fixed(c, "uint4")?) as u64;
            utf8_text(counted(c, n, "unicodestring4")?)?
        }
        ArgKind::Long1 => {
            let n = fixed::<1>(c, "uint1")?[0] as u64;
            let s = c.take_upto(n);
            if s.len() as u64 != n {
                return Err(value_error(
                    "not enough data in stream to read long1".to_string(),
                ));
            }
            Arg::Long(Cow::Borrowed(s))
        }
        ArgKind::Long4 => {
            let n = i32::from_le_bytes(fixed(c, "int4")?);
            if n < 0 {
                return Err(value_error(format!("long4 byte count < 0: {n}")));
            }
            let s = c.take_upto(n as u64);
            if s.len() as u64 != n as u64 {
                return Err(value_error(
                    "not enough data in stream to read long4".to_string(),
                ));
            }
            Arg::Long(Cow::Borrowed(s))
        }
    })
}

/// How the readers' fast path decodes one opcode byte; `opcodes::DECODE_TABLE` holds one per
/// byte, made by [`FastDecode::of`] from the opcode table's argument kinds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FastDecode {
    opcode: Opcode,
    class: FastClass,
    /// `Fixed*`: what the number is, its signedness and byte order.
    num: NumKind,
    signed: bool,
    big_endian: bool,
    /// `Counted1`: what the payload is, and whether it must be valid UTF-8 (surrogatepass).
    slice: SliceKind,
    utf8: bool,
}

/// One class per argument width, so that the next opcode's position is a constant offset
/// in each (predicted) branch rather than a value loaded from the table: a loaded width
/// puts two dependent loads on the loop-carried path from one opcode to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FastClass {
    /// No argument.
    Fixed0,
    /// A fixed-width little-endian integer or big-endian float of 1, 2, 4 or 8 bytes.
    Fixed1,
    Fixed2,
    Fixed4,
    Fixed8,
    /// A one-byte length and that many bytes.
    Counted1,
    /// Everything else (and non-opcodes, and `STOP`): the general reader.
    Slow,
}

impl FastDecode {
    /// The entry of a byte that is not an opcode.
    pub(crate) const SLOW: FastDecode = FastDecode {
        opcode: Opcode::Stop,
        class: FastClass::Slow,
        num: NumKind::None,
        signed: false,
        big_endian: false,
        slice: SliceKind::Bytes,
        utf8: false,
    };

    /// The entry for `opcode`, whose argument is `kind`.
    pub(crate) const fn of(opcode: Opcode, kind: Option<ArgKind>) -> FastDecode {
        let slow = FastDecode {
            opcode,
            ..FastDecode::SLOW
        };
        match kind {
            // STOP ends the stream: the general reader marks the reader done.
            None if opcode as u8 == b'.' => slow,
            None => slow.fixed(NumKind::None, 0, false, false),
            Some(ArgKind::Uint1) => slow.fixed(NumKind::Int, 1, false, false),
            Some(ArgKind::Uint2) => slow.fixed(NumKind::Int, 2, false, false),
            Some(ArgKind::Int4) => slow.fixed(NumKind::Int, 4, true, false),
            Some(ArgKind::Uint4) => slow.fixed(NumKind::Int, 4, false, false),
            Some(ArgKind::Uint8) => slow.fixed(NumKind::U64, 8, false, false),
            Some(ArgKind::Float8) => slow.fixed(NumKind::Float, 8, false, true),
            Some(ArgKind::Bytes1) => slow.counted(SliceKind::Bytes, false),
            Some(ArgKind::String1) => slow.counted(SliceKind::Latin1, false),
            Some(ArgKind::Long1) => slow.counted(SliceKind::Long, false),
            Some(ArgKind::Unicodestring1) => slow.counted(SliceKind::Text, true),
            Some(_) => slow,
        }
    }

    const fn fixed(self, num: NumKind, width: u8, signed: bool, big_endian: bool) -> FastDecode {
        FastDecode {
            class: match width {
                0 => FastClass::Fixed0,
                1 => FastClass::Fixed1,
                2 => FastClass::Fixed2,
                4 => FastClass::Fixed4,
                _ => FastClass::Fixed8,
            },
            num,
            signed,
            big_endian,
            ..self
        }
    }

    const fn counted(self, slice: SliceKind, utf8: bool) -> FastDecode {
        FastDecode {
            class: FastClass::Counted1,
            slice,
            utf8,
            ..self
        }
    }

    /// The argument of a `Fixed*` opcode of `width` bytes from the 8 bytes after the opcode.
    #[inline(always)]
    fn fixed_value(&self, raw: u64, width: u32) -> u64 {
        // Shift the argument's bytes to the top and back (arithmetically when signed):
        // no branch on signedness. Width 0 leaves a value that is never read.
        let shift = (64 - 8 * width) & 63;
        let top = raw << shift;
        let v = if self.signed {
            ((top as i64) >> shift) as u64
        } else {
            top >> shift
        };
        if self.big_endian {
            v.swap_bytes()
        } else {
            v
        }
    }
}

/// The reader's fast path for the opcodes that make up nearly all of real pickles (no
/// argument, a fixed-width number, or a one-byte-counted payload, present and valid; at
/// least 8 bytes after the opcode); everything else, including every error and `STOP`, goes
/// through `ReaderState::read_op_general` with genops' messages.
/// A macro so that `read_op`, `Iterator::next` and `fold` each build their own result type in place:
/// converting one into the other (`transpose`) copied the value through a temporary, and
/// the store-forwarding stalls made consumer loops several times slower.
macro_rules! fast_path {
    ($self:ident, $wrap:expr) => {{
        let this = &mut *$self;
        let pos = this.pos;
        let d = this.data;
        if let (false, Some(&byte)) = (this.done, d.get(pos)) {
            let e = &DECODE_TABLE[byte as usize];
            let offset = this.base + pos as u64;
            macro_rules! done {
                ($arg:expr, $width:expr) => {{
                    this.pos = pos + $width;
                    return ($wrap)(Op {
                        offset,
                        opcode: e.opcode,
                        stored: $arg,
                    });
                }};
            }
            macro_rules! fixed {
                ($w:literal) => {
                    // 8 bytes are read whatever the width (a fixed shape the compiler turns
                    // into one load); near the end of the input the general reader decodes.
                    if let Some(a) = d.get(pos + 1..pos + 9) {
                        let mut raw = [0u8; 8];
                        raw.copy_from_slice(a);
                        let v = e.fixed_value(u64::from_le_bytes(raw), $w);
                        done!(StoredArg::Num(e.num, v), 1 + $w)
                    }
                };
            }
            match e.class {
                FastClass::Fixed0 => fixed!(0),
                FastClass::Fixed1 => fixed!(1),
                FastClass::Fixed2 => fixed!(2),
                FastClass::Fixed4 => fixed!(4),
                FastClass::Fixed8 => fixed!(8),
                FastClass::Counted1 => {
                    if let Some(&n) = d.get(pos + 1) {
                        if let Some(s) = d.get(pos + 2..pos + 2 + n as usize) {
                            if !e.utf8 || validate_surrogatepass_range(s).is_ok() {
                                done!(StoredArg::Slice(e.slice, s), 2 + n as usize)
                            }
                        }
                    }
                }
                FastClass::Slow => {}
            }
        }
    }};
}

/// Reads opcodes from a byte slice, zero-copy, until (and including) the first `STOP`.
///
/// After an error or `STOP` the iterator is finished; [`OpReader::position`] tells where the
/// next pickle of a multi-pickle stream starts.
///
/// Iterating with `fold` (and what is built on it: `count`, `sum`, `for_each`, ...) runs a
/// loop compiled here, with the position in a register whatever the consumer looks like.
#[derive(Debug, Clone)]
pub struct OpReader<'a> {
    state: ReaderState<'a>,
}

/// The state of an [`OpReader`]; `Copy`, so the general reader can take and return it by
/// value: a reference would make the consumer's loop keep `pos` in memory, and every opcode
/// would wait on the previous one's store.
#[derive(Debug, Clone, Copy)]
struct ReaderState<'a> {
    data: &'a [u8],
    /// Position after the last opcode read.
    pos: usize,
    base: u64,
    done: bool,
}

impl<'a> OpReader<'a> {
    /// A reader over `data`, offsets counted from its start.
    pub fn new(data: &'a [u8]) -> OpReader<'a> {
        OpReader::with_base_offset(data, 0)
    }

    /// A reader whose reported offsets start at `base` (for streams split into parts).
    pub fn with_base_offset(data: &'a [u8], base: u64) -> OpReader<'a> {
        OpReader {
            state: ReaderState {
                data,
                pos: 0,
                base,
                done: false,
            },
        }
    }

    /// Position (within `data`) just after the last opcode read.
    pub fn position(&self) -> usize {
        self.state.pos
    }

    /// Reads the next opcode (`Ok(None)` after `STOP`).
    ///
    /// The error is boxed (it is rare and large): a small result keeps consumer loops fast.
    #[inline(always)]
    pub fn read_op(&mut self) -> Result<Option<Op<'a>>, Box<Error>> {
        self.state.read_op()
    }
}

impl<'a> ReaderState<'a> {
    /// The next opcode if the fast path can decode it.
    #[inline(always)]
    fn fast_op(&mut self) -> Option<Op<'a>> {
        fast_path!(self, Some);
        None
    }

    #[inline(always)]
    fn read_op(&mut self) -> Result<Option<Op<'a>>, Box<Error>> {
        fast_path!(self, |op| Ok(Some(op)));
        self.read_op_general()
    }

    /// The general reader: every opcode, argument and error.
    #[inline(always)]
    fn read_op_general(&mut self) -> Result<Option<Op<'a>>, Box<Error>> {
        let (result, next) = Self::general(*self);
        *self = next;
        result
    }

    #[inline(never)]
    fn general(mut this: ReaderState<'a>) -> (Result<Option<Op<'a>>, Box<Error>>, ReaderState<'a>) {
        let r = this.general_in_place().map_err(Box::new);
        (r, this)
    }

    fn general_in_place(&mut self) -> Result<Option<Op<'a>>> {
        if self.done {
            return Ok(None);
        }
        let offset = self.base + self.pos as u64;
        let Some(&byte) = self.data.get(self.pos) else {
            self.done = true;
            return Err(Error::new(
                offset,
                None,
                value_error("pickle exhausted before seeing STOP".to_string()),
            ));
        };
        let Some(opcode) = Opcode::from_byte(byte) else {
            self.done = true;
            return Err(Error::new(
                offset,
                None,
                value_error(format!(
                    "at position {offset}, opcode {} unknown",
                    repr_bytes(&[byte])
                )),
            ));
        };
        let mut cursor = Cursor {
            data: self.data,
            pos: self.pos + 1,
        };
        let arg = match opcode.arg_kind() {
            None => Arg::None,
            Some(kind) => match read_arg(&mut cursor, kind) {
                Ok(arg) => arg,
                Err(kind) => {
                    self.done = true;
                    self.pos = cursor.pos;
                    return Err(Error::new(offset, Some(opcode), kind));
                }
            },
        };
        self.pos = cursor.pos;
        if opcode == Opcode::Stop {
            self.done = true;
        }
        Ok(Some(Op::new(offset, opcode, arg)))
    }
}

/// Items are `Result<Op, Box<Error>>`: boxing the rare, large error keeps the item at the
/// size of an [`Op`], which is moved and dropped once per opcode.
impl<'a> Iterator for OpReader<'a> {
    type Item = Result<Op<'a>, Box<Error>>;
    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        let state = &mut self.state;
        fast_path!(state, |op| Some(Ok(op)));
        state.read_op_general().transpose()
    }

    #[inline]
    fn fold<B, F>(self, init: B, mut f: F) -> B
    where
        F: FnMut(B, Self::Item) -> B,
    {
        // The state is a local here, so the position stays in a register.
        let mut state = self.state;
        let mut acc = init;
        loop {
            if let Some(op) = state.fast_op() {
                acc = f(acc, Ok(op));
                continue;
            }
            match state.read_op_general().transpose() {
                Some(item) => acc = f(acc, item),
                None => return acc,
            }
        }
    }
}

/// Reads opcodes from any [`std::io::Read`], holding only the current opcode in memory.
/// Arguments are yielded owned. I/O errors are reported as [`ErrorKind::Invalid`] with
/// exception `OSError`.
#[derive(Debug)]
pub struct StreamOpReader<R> {
    inner: R,
    buf: Vec<u8>,
    offset: u64,
    done: bool,
    /// Largest single argument accepted (bounds the buffer).
    pub max_arg_len: u64,
}

impl<R: std::io::Read> StreamOpReader<R> {
    /// A reader over `inner`.
    pub fn new(inner: R) -> StreamOpReader<R> {
        StreamOpReader {
            inner,
            buf: Vec::new(),
            offset: 0,
            done: false,
            max_arg_len: 1 << 32,
        }
    }

    /// Reads up to `n` more bytes into the buffer; returns how many were read.
    fn fill(&mut self, n: u64) -> Result<usize> {
        let start = self.buf.len();
        let mut want = n;
        // Grow in bounded steps so a lying length field cannot make us allocate up front.
        while want > 0 {
            let step = want.min(1 << 20) as usize;
            let at = self.buf.len();
            self.buf.resize(at + step, 0);
            let mut got = 0;
            while got < step {
                match self.inner.read(&mut self.buf[at + got..at + step]) {
                    Ok(0) => break,
                    Ok(k) => got += k,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        return Err(Error::new(
                            self.offset,
                            None,
                            invalid("OSError", e.to_string()),
                        ))
                    }
                }
            }
            self.buf.truncate(at + got);
            if got < step {
                break;
            }
            want -= step as u64;
        }
        Ok(self.buf.len() - start)
    }

    fn fill_line(&mut self) -> Result<()> {
        let mut byte = [0u8; 1];
        loop {
            match self.inner.read(&mut byte) {
                Ok(0) => return Ok(()),
                Ok(_) => {
                    self.buf.push(byte[0]);
                    if byte[0] == b'\n' {
                        return Ok(());
                    }
                    if self.buf.len() as u64 > self.max_arg_len {
                        return Err(Error::new(
                            self.offset,
                            None,
                            ErrorKind::LimitExceeded {
                                what: "argument length",
                                limit: self.max_arg_len,
                            },
                        ));
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(Error::new(
                        self.offset,
                        None,
                        invalid("OSError", e.to_string()),
                    ))
                }
            }
        }
    }

    /// Reads the raw bytes of one argument of `kind` into the buffer.
    fn fill_arg(&mut self, kind: ArgKind) -> Result<()> {
        let prefix: u64 = match kind {
            ArgKind::Uint1 => 1,
            ArgKind::Uint2 => 2,
            ArgKind::Int4 | ArgKind::Uint4 => 4,
            ArgKind::Uint8 | ArgKind::Float8 => 8,
            ArgKind::String1 | ArgKind::Bytes1 | ArgKind::Unicodestring1 | ArgKind::Long1 => 1,
            ArgKind::String4 | ArgKind::Bytes4 | ArgKind::Unicodestring4 | ArgKind::Long4 => 4,
            ArgKind::Bytes8 | ArgKind::Bytearray8 | ArgKind::Unicodestring8 => 8,
            ArgKind::StringnlNoescapePair => {
                self.fill_line()?;
                return self.fill_line();
            }
            _ => return self.fill_line(),
        };
        let got = self.fill(prefix)?;
        if (got as u64) < prefix {
            return Ok(());
        }
        let len_bytes = &self.buf[self.buf.len() - prefix as usize..];
        let n: u64 = match kind {
            ArgKind::String1 | ArgKind::Bytes1 | ArgKind::Unicodestring1 | ArgKind::Long1 => {
                len_bytes[0] as u64
            }
            ArgKind::String4 | ArgKind::Long4 => {
                let v = i32::from_le_bytes(len_bytes.try_into().unwrap_or([0; 4]));
                if v < 0 {
                    return Ok(());
                }
                v as u64
            }
            ArgKind::Bytes4 | ArgKind::Unicodestring4 => {
                u32::from_le_bytes(len_bytes.try_into().unwrap_or([0; 4])) as u64
            }
            ArgKind::Bytes8 | ArgKind::Bytearray8 | ArgKind::Unicodestring8 => {
                u64::from_le_bytes(len_bytes.try_into().unwrap_or([0; 8]))
            }
            _ => 0,
        };
        if n > self.max_arg_len && n <= i64::MAX as u64 {
            return Err(Error::new(
                self.offset,
                None,
                ErrorKind::LimitExceeded {
                    what: "argument length",
                    limit: self.max_arg_len,
                },
            ));
        }
        if n <= i64::MAX as u64 {
            self.fill(n)?;
        }
        Ok(())
    }

    /// Reads the next opcode (`Ok(None)` after `STOP`).
    pub fn read_op(&mut self) -> Result<Option<Op<'static>>> {
        if self.done {
            return Ok(None);
        }
        self.buf.clear();
        self.fill(1)?;
        if let Some(&b) = self.buf.first() {
            if let Some(kind) = Opcode::from_byte(b).and_then(Opcode::arg_kind) {
                if let Err(mut e) = self.fill_arg(kind) {
                    e.opcode = Opcode::from_byte(b);
                    self.done = true;
                    return Err(e);
                }
            }
        }
        let mut r = OpReader::with_base_offset(&self.buf, self.offset);
        let result = r.read_op().map_err(|e| *e);
        self.offset += self.buf.len() as u64;
        match result {
            Ok(Some(op)) => {
                if op.opcode == Opcode::Stop {
                    self.done = true;
                }
                Ok(Some(op.into_owned()))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                self.done = true;
                Err(e)
            }
        }
    }
}

impl<R: std::io::Read> Iterator for StreamOpReader<R> {
    type Item = Result<Op<'static>>;
    fn next(&mut self) -> Option<Self::Item> {
        self.read_op().transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(data: &[u8]) -> String {
        match OpReader::new(data).find_map(|r| r.err()) {
            Some(e) => match e.kind {
                ErrorKind::Invalid { message, .. } => message,
                other => other.to_string(),
            },
            None => "ok".into(),
        }
    }

    #[test]
    fn genops_messages() {
        assert_eq!(msg(b""), "pickle exhausted before seeing STOP");
        assert_eq!(msg(b"\xff"), "at position 0, opcode b'\\xff' unknown");
        assert_eq!(msg(b"J\x01"), "not enough data in stream to read int4");
        assert_eq!(
            msg(b"C\x05ab"),
            "expected 5 bytes in a bytes1, but only 2 remain"
        );
        assert_eq!(msg(b"Sabc\n."), "no string quotes around b'abc'");
        assert_eq!(msg(b"I12"), "no newline found when trying to read stringnl");
        assert_eq!(
            msg(b"Iabc\n."),
            "invalid literal for int() with base 10: b'abc'"
        );
        assert_eq!(msg(b"I 1_2\n."), "ok");
    }

    /// The fast path (at least 8 bytes after the opcode) and the general reader (the stream
    /// reader's one-opcode buffers) agree on every fast-path argument kind, signs included.
    #[test]
    fn fast_path_values() {
        let data: &[u8] = b"\x80\x04J\xfe\xff\xff\xffJ\x00\x00\x00\x80K\xffM\xff\xfe\
            j\xff\xff\xff\xffG\xbf\xf0\x00\x00\x00\x00\x00\x00\
            \x95\x05\x00\x00\x00\x00\x00\x00\x80C\x02\x00\xff\x8c\x02\xc3\xa9\
            U\x01\xe9\x8a\x02\x00\x80N\x88(\x8c\x01\xffK\x01l.";
        let ops: Vec<_> = OpReader::new(data)
            .take(15)
            .collect::<Result<_, _>>()
            .unwrap();
        let args: Vec<Arg<'_>> = ops.iter().map(|op| op.arg()).collect();
        assert_eq!(args[1], Arg::Int(-2));
        assert_eq!(args[2], Arg::Int(i32::MIN as i64));
        assert_eq!(args[3], Arg::Int(255));
        assert_eq!(args[4], Arg::Int(0xfeff));
        assert_eq!(args[5], Arg::Int(u32::MAX as i64));
        assert_eq!(args[6], Arg::Float(-1.0));
        assert_eq!(args[7], Arg::U64(0x8000_0000_0000_0005));
        assert_eq!(args[8], Arg::Bytes(Cow::Borrowed(&b"\x00\xff"[..])));
        assert_eq!(args[9], Arg::Text(Cow::Borrowed("\u{e9}".as_bytes())));
        assert_eq!(args[10], Arg::Latin1(Cow::Borrowed(&b"\xe9"[..])));
        assert_eq!(args[11], Arg::Long(Cow::Borrowed(&b"\x00\x80"[..])));
        assert_eq!(args[12], Arg::None);
        // Invalid UTF-8 in SHORT_BINUNICODE leaves the fast path for genops' error.
        let e1 = OpReader::new(data).find_map(|r| r.err()).unwrap();
        let e2 = StreamOpReader::new(data).find_map(|r| r.err()).unwrap();
        assert_eq!((e1.offset, e1.opcode), (58, Some(Opcode::ShortBinunicode)));
        assert_eq!(*e1, e2);
        let streamed: Vec<_> = StreamOpReader::new(data)
            .take(15)
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(ops, streamed);
    }

    /// `fold` (its own loop) yields exactly what `next` yields, errors and the end included.
    #[test]
    fn fold_equals_next() {
        let inputs: [&[u8]; 7] = [
            b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x03abc\x94(K\x01Vx\\u00e9\nt.",
            b"\x80\x02cmod\nname\nI123456789012345678901234567890\nS'a\\x41'\n.K\x01.",
            b"K\x01K\x02K\x03K\x04K\x05K\x06\xff",
            b"K\x01K\x02K\x03K\x04K\x05K\x06J\x01",
            b"K\x01K\x02K\x03K\x04K\x05K\x06",
            b"",
            b".",
        ];
        for data in inputs {
            let by_next: Vec<_> = OpReader::new(data).by_ref().collect();
            let by_fold = OpReader::new(data).fold(Vec::new(), |mut v, r| {
                v.push(r);
                v
            });
            assert_eq!(by_next, by_fold, "{data:?}");
            assert!(!by_next.is_empty());
        }
    }

    /// Owned arguments (escape-decoded text, big integers, GLOBAL's pair) live in the boxed
    /// variant and read back the same through `arg()` and `into_arg()`.
    #[test]
    fn owned_arguments_round_trip() {
        let data = b"\x80\x02cmod\nname\nI123456789012345678901234567890\nS'a\\x41'\nI01\n.";
        let ops: Vec<_> = OpReader::new(data).collect::<Result<_, _>>().unwrap();
        assert_eq!(
            ops[1].arg(),
            Arg::TextPair(Box::new((
                Cow::Borrowed(&b"mod"[..]),
                Cow::Borrowed(&b"name"[..])
            )))
        );
        assert!(matches!(ops[2].arg(), Arg::BigInt(_)));
        assert_eq!(ops[3].arg(), Arg::Text(Cow::Owned(b"aA".to_vec())));
        assert_eq!(ops[4].arg(), Arg::Bool(true));
        for op in &ops {
            let again = Op::new(op.offset, op.opcode, op.clone().into_arg());
            assert_eq!(&again, op);
            assert_eq!(op.clone().into_owned(), *op);
        }
        assert_ne!(ops[1], ops[2]);
    }

    #[test]
    fn stream_equals_slice() {
        let data =
            b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x03abc\x94(K\x01Vx\\u00e9\nt.";
        let a: Vec<_> = OpReader::new(data).collect::<Result<_, _>>().unwrap();
        let b: Vec<_> = StreamOpReader::new(&data[..])
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x, y);
        }
        let bad = b"\x80\x04C\x05ab";
        let e1 = OpReader::new(bad).find_map(|r| r.err()).unwrap();
        let e2 = StreamOpReader::new(&bad[..]).find_map(|r| r.err()).unwrap();
        assert_eq!(*e1, e2);
    }
}
