//! The lossless data model: one [`Node`] per object in the stream, kept in an arena.
//!
//! Nodes are numbered in stream order ([`NodeId`]): a container gets its id when its type byte
//! is read, before its children, exactly as CPython numbers its reference table. Each node
//! records what is needed to write the same bytes back: the exact type code
//! ([`StrKind`], small vs large tuple, `i`/`I`/`l`, text vs binary floats), the FLAG_REF bit, and
//! back-references as their own nodes ([`Value::Ref`], [`Value::StringRef`]).

use crate::text::PyStr;
use num_bigint::{BigInt, Sign};

/// Index of a node in a [`crate::Stream`]'s arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The index as `usize`.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// Index of a code object in a [`crate::Stream`]'s code table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CodeId(pub u32);

/// A contiguous run of child ids in the stream's shared child pool
/// (see [`crate::Stream::children`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChildRange {
    /// First position in the pool.
    pub start: u32,
    /// Number of children.
    pub len: u32,
}

/// One object of the stream, as read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Node<'a> {
    /// The value and the form it was written in.
    pub value: Value<'a>,
    /// Whether the type byte had FLAG_REF (0x80) set. Flagged objects other than singletons,
    /// NULL and references take the next slot of the reference table.
    pub flag_ref: bool,
    /// Offset of the type byte in the input.
    pub offset: u32,
}

/// Which of the text type codes a string used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StrKind {
    /// `u`: UTF-8 (surrogates allowed). Py2 `unicode`, Py3 `str`.
    Unicode,
    /// `t` in Python 3 (3.4+ writers): interned, UTF-8. (In Python 2, `t` is a byte string:
    /// see [`Value::Py2Str`].)
    Interned,
    /// `a`: ASCII, 4-byte length.
    Ascii,
    /// `A`: ASCII, 4-byte length, interned.
    AsciiInterned,
    /// `z`: ASCII, 1-byte length.
    ShortAscii,
    /// `Z`: ASCII, 1-byte length, interned.
    ShortAsciiInterned,
}

impl StrKind {
    /// The type code (without FLAG_REF).
    pub const fn code(self) -> u8 {
        match self {
            StrKind::Unicode => b'u',
            StrKind::Interned => b't',
            StrKind::Ascii => b'a',
            StrKind::AsciiInterned => b'A',
            StrKind::ShortAscii => b'z',
            StrKind::ShortAsciiInterned => b'Z',
        }
    }

    /// Whether the reader interns the string.
    pub const fn is_interned(self) -> bool {
        matches!(
            self,
            StrKind::Interned | StrKind::AsciiInterned | StrKind::ShortAsciiInterned
        )
    }

    /// Whether the payload is one byte per character (the ASCII codes; CPython decodes them
    /// as Latin-1 without checking) rather than UTF-8.
    pub const fn is_one_byte(self) -> bool {
        matches!(
            self,
            StrKind::Ascii
                | StrKind::AsciiInterned
                | StrKind::ShortAscii
                | StrKind::ShortAsciiInterned
        )
    }

    /// Whether the length prefix is one byte (`z`, `Z`).
    pub const fn is_short(self) -> bool {
        matches!(self, StrKind::ShortAscii | StrKind::ShortAsciiInterned)
    }
}

/// The digits of a `l` (LONG) object, kept as read: the signed 4-byte digit count, then the
/// digits (base 2**15, least significant first, 2 bytes each). Validated by the reader: each
/// digit < 2**15, the top one non-zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongDigits<'a> {
    /// The payload after the type byte: count (i32 LE) and digits.
    raw: &'a [u8],
}

impl<'a> LongDigits<'a> {
    /// Views a payload (count then digits) as validated by the reader. Returns `None` when
    /// the count does not match the number of digit bytes.
    pub fn new(raw: &'a [u8]) -> Option<LongDigits<'a>> {
        let n = i32::from_le_bytes(raw.get(..4)?.try_into().ok()?);
        (raw.len() - 4 == n.unsigned_abs() as usize * 2).then_some(LongDigits { raw })
    }

    /// The payload as written (count and digits).
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Whether the number is negative (the count was negative).
    pub fn negative(&self) -> bool {
        self.raw[3] & 0x80 != 0
    }

    /// The digit bytes (2 per digit, little-endian).
    pub fn digit_bytes(&self) -> &'a [u8] {
        &self.raw[4..]
    }

    /// Number of 15-bit digits.
    pub fn digit_count(&self) -> usize {
        (self.raw.len() - 4) / 2
    }

    /// The digits, least significant first.
    pub fn digits(&self) -> impl DoubleEndedIterator<Item = u16> + ExactSizeIterator + 'a {
        self.raw[4..]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
    }

    /// The value.
    pub fn to_bigint(&self) -> BigInt {
        let mut magnitude = num_bigint::BigUint::default();
        for d in self.digits().rev() {
            magnitude = (magnitude << 15u32) + num_bigint::BigUint::from(d);
        }
        let sign = if self.digit_count() == 0 {
            Sign::NoSign
        } else if self.negative() {
            Sign::Minus
        } else {
            Sign::Plus
        };
        BigInt::from_biguint(sign, magnitude)
    }

    /// The value if it fits an `i64`.
    pub fn to_i64(&self) -> Option<i64> {
        if self.digit_count() > 5 {
            return None;
        }
        let mut m: i128 = 0;
        for d in self.digits().rev() {
            m = (m << 15) | i128::from(d);
        }
        let v = if self.negative() { -m } else { m };
        i64::try_from(v).ok()
    }
}

/// The value of a node together with the form it was written in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// `0`: NULL. Only appears as a dict *value*: CPython 3 then ends the dict there (dropping
    /// the key), CPython 2 skips the pair. A NULL key ends a dict and is not a node.
    Null,
    /// `N`.
    None,
    /// `F`.
    False,
    /// `T`.
    True,
    /// `S`: the `StopIteration` class.
    StopIteration,
    /// `.`: `Ellipsis`.
    Ellipsis,
    /// `i`: 32-bit int.
    Int(i32),
    /// `I`: 64-bit int (Python 2 on 64-bit hosts).
    Int64(i64),
    /// `l`: arbitrary-precision int.
    Long(LongDigits<'a>),
    /// `g`: binary float.
    Float(f64),
    /// `f`: float as ASCII text (marshal versions 0 and 1). Text as written (validated).
    FloatText(&'a [u8]),
    /// `y`: binary complex.
    Complex {
        /// Real part.
        re: f64,
        /// Imaginary part.
        im: f64,
    },
    /// `x`: complex as two length-prefixed ASCII texts (real, imaginary), as written. Kept as
    /// the raw payload (length byte, text, length byte, text) so nodes stay small; see
    /// [`Value::complex_text_parts`].
    ComplexText {
        /// The payload after the type byte.
        raw: &'a [u8],
    },
    /// `s` in Python 3: `bytes` (also `co_code` and the other byte tables).
    Bytes(&'a [u8]),
    /// `s`/`t` in Python 2: `str` (bytes with string meaning). `interned` for `t`, which also
    /// appends the string to the interned-string table used by `R`.
    Py2Str {
        /// The bytes.
        data: &'a [u8],
        /// Written as `t` (interned).
        interned: bool,
    },
    /// Text: Py3 `str`, Py2 `unicode`. See [`crate::text::PyStr`] to decode it.
    Str {
        /// Payload as written: UTF-8 with lone surrogates allowed (`u`, `t`), or one byte per
        /// character (`a`, `A`, `z`, `Z`).
        data: &'a [u8],
        /// The type code used.
        kind: StrKind,
    },
    /// `(` (4-byte count) or `)` (1-byte count, `small`).
    Tuple {
        /// The items.
        items: ChildRange,
        /// Written as `)`.
        small: bool,
    },
    /// `[`.
    List(ChildRange),
    /// `{`: key, value, key, value, ... (see [`Value::Null`] for the NULL-value quirk).
    Dict {
        /// Keys and values, alternating.
        items: ChildRange,
        /// The terminating byte as written: `0x30`, or `0xB0` (NULL with FLAG_REF, which CPython
        /// ignores); `0` when a NULL *value* ended the dict (Python 3 only).
        end: u8,
    },
    /// `}`: frozendict (3.15 pre-release, marshal version 6). Same shape as `Dict`.
    FrozenDict {
        /// Keys and values, alternating.
        items: ChildRange,
        /// The terminating byte as written.
        end: u8,
    },
    /// `<`.
    Set(ChildRange),
    /// `>`.
    FrozenSet(ChildRange),
    /// `:` (3.14+): start, stop, step.
    Slice(ChildRange),
    /// `c`: a code object, in [`crate::Stream::code_object`].
    Code(CodeId),
    /// `r`: reference to an earlier flagged object.
    Ref {
        /// The index as written.
        index: u32,
        /// The node it refers to.
        target: NodeId,
    },
    /// `R` (Python 2): reference to the `index`-th interned string (`t`).
    StringRef {
        /// The index as written.
        index: u32,
        /// The `t` node it refers to.
        target: NodeId,
    },
}

impl<'a> Value<'a> {
    /// The type code this value is written with (without FLAG_REF).
    pub fn type_code(&self) -> u8 {
        match self {
            Value::Null => b'0',
            Value::None => b'N',
            Value::False => b'F',
            Value::True => b'T',
            Value::StopIteration => b'S',
            Value::Ellipsis => b'.',
            Value::Int(_) => b'i',
            Value::Int64(_) => b'I',
            Value::Long(_) => b'l',
            Value::Float(_) => b'g',
            Value::FloatText(_) => b'f',
            Value::Complex { .. } => b'y',
            Value::ComplexText { .. } => b'x',
            Value::Bytes(_) => b's',
            Value::Py2Str { interned, .. } => {
                if *interned {
                    b't'
                } else {
                    b's'
                }
            }
            Value::Str { kind, .. } => kind.code(),
            Value::Tuple { small, .. } => {
                if *small {
                    b')'
                } else {
                    b'('
                }
            }
            Value::List(_) => b'[',
            Value::Dict { .. } => b'{',
            Value::FrozenDict { .. } => b'}',
            Value::Set(_) => b'<',
            Value::FrozenSet(_) => b'>',
            Value::Slice(_) => b':',
            Value::Code(_) => b'c',
            Value::Ref { .. } => b'r',
            Value::StringRef { .. } => b'R',
        }
    }

    /// A short name for messages, e.g. `"tuple"`, `"str"`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::None => "None",
            Value::False | Value::True => "bool",
            Value::StopIteration => "StopIteration",
            Value::Ellipsis => "Ellipsis",
            Value::Int(_) | Value::Int64(_) | Value::Long(_) => "int",
            Value::Float(_) | Value::FloatText(_) => "float",
            Value::Complex { .. } | Value::ComplexText { .. } => "complex",
            Value::Bytes(_) => "bytes",
            Value::Py2Str { .. } => "str (Python 2)",
            Value::Str { .. } => "str",
            Value::Tuple { .. } => "tuple",
            Value::List(_) => "list",
            Value::Dict { .. } => "dict",
            Value::FrozenDict { .. } => "frozendict",
            Value::Set(_) => "set",
            Value::FrozenSet(_) => "frozenset",
            Value::Slice(_) => "slice",
            Value::Code(_) => "code",
            Value::Ref { .. } => "reference",
            Value::StringRef { .. } => "interned-string reference",
        }
    }

    /// The children range of a container value.
    pub fn child_range(&self) -> Option<ChildRange> {
        match *self {
            Value::Tuple { items, .. }
            | Value::List(items)
            | Value::Dict { items, .. }
            | Value::FrozenDict { items, .. }
            | Value::Set(items)
            | Value::FrozenSet(items)
            | Value::Slice(items) => Some(items),
            _ => None,
        }
    }

    /// The text of a `Str` value.
    pub fn as_py_str(&self) -> Option<PyStr<'a>> {
        match *self {
            Value::Str { data, kind } => Some(PyStr::new(data, kind.is_one_byte())),
            _ => None,
        }
    }

    /// The payload of a `Bytes` or `Py2Str` value.
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match *self {
            Value::Bytes(b) | Value::Py2Str { data: b, .. } => Some(b),
            _ => None,
        }
    }

    /// An int value that fits `i64` (`i`, `I`, or a small enough `l`).
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int(v) => Some(i64::from(v)),
            Value::Int64(v) => Some(v),
            Value::Long(d) => d.to_i64(),
            _ => None,
        }
    }

    /// Any int value as a big integer.
    pub fn as_bigint(&self) -> Option<BigInt> {
        match *self {
            Value::Int(v) => Some(BigInt::from(v)),
            Value::Int64(v) => Some(BigInt::from(v)),
            Value::Long(d) => Some(d.to_bigint()),
            _ => None,
        }
    }

    /// A float value (binary or text).
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Float(v) => Some(v),
            Value::FloatText(t) => crate::text::parse_float_text(t),
            _ => None,
        }
    }

    /// The real and imaginary texts of a `ComplexText` value.
    pub fn complex_text_parts(&self) -> Option<(&'a [u8], &'a [u8])> {
        let Value::ComplexText { raw } = *self else {
            return None;
        };
        let (&n1, rest) = raw.split_first()?;
        let re = rest.get(..n1 as usize)?;
        let (&n2, rest) = rest.get(n1 as usize..)?.split_first()?;
        let im = rest.get(..n2 as usize)?;
        Some((re, im))
    }

    /// A complex value (binary or text) as `(real, imag)`.
    pub fn as_complex(&self) -> Option<(f64, f64)> {
        match *self {
            Value::Complex { re, im } => Some((re, im)),
            Value::ComplexText { .. } => {
                let (re, im) = self.complex_text_parts()?;
                Some((
                    crate::text::parse_float_text(re)?,
                    crate::text::parse_float_text(im)?,
                ))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    /// Nodes are the reader's main memory traffic: keep them at 32 bytes.
    #[test]
    fn node_is_compact() {
        assert!(std::mem::size_of::<super::Value<'_>>() <= 24);
        assert!(std::mem::size_of::<super::Node<'_>>() <= 32);
    }
}
