//! Python text as marshal stores it, without losing anything.
//!
//! Python `str` values may hold lone surrogates (U+D800–U+DFFF), which UTF-8 cannot encode and
//! Rust's `str` cannot hold. CPython marshals them with the `surrogatepass` error handler: each
//! surrogate becomes its own 3-byte sequence (`ED A0 80` for U+D800). Even a high surrogate
//! followed by a low one stays two code points: Python does not pair them. [`PyStr`] views such
//! bytes (or the one-byte-per-character payload of the ASCII type codes, which CPython decodes
//! as Latin-1 without checking) and decodes them to code points.

use std::fmt;

/// A view of a Python string's payload.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PyStr<'a> {
    bytes: &'a [u8],
    one_byte: bool,
}

impl<'a> PyStr<'a> {
    /// Views `bytes`: UTF-8 with surrogates (`one_byte == false`) or one byte per code point.
    /// The bytes should have been validated (the reader does); invalid sequences decode as
    /// U+FFFD rather than panicking.
    pub const fn new(bytes: &'a [u8], one_byte: bool) -> PyStr<'a> {
        PyStr { bytes, one_byte }
    }

    /// The payload as stored.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Whether the payload is one byte per code point (`a`, `A`, `z`, `Z`).
    pub const fn is_one_byte(&self) -> bool {
        self.one_byte
    }

    /// The text as a Rust `&str` when it is valid UTF-8 with the same meaning (no lone
    /// surrogates; for one-byte payloads, ASCII only).
    pub fn as_str(&self) -> Option<&'a str> {
        if self.one_byte && !self.bytes.is_ascii() {
            return None;
        }
        std::str::from_utf8(self.bytes).ok()
    }

    /// Whether every code point is ASCII.
    pub fn is_ascii(&self) -> bool {
        self.bytes.is_ascii()
    }

    /// The code points, in order (lone surrogates included).
    pub fn chars(&self) -> CodePoints<'a> {
        CodePoints {
            bytes: self.bytes,
            one_byte: self.one_byte,
        }
    }

    /// Number of code points (Python's `len()`).
    pub fn char_len(&self) -> usize {
        if self.one_byte {
            self.bytes.len()
        } else {
            self.bytes.iter().filter(|&&b| (b & 0xC0) != 0x80).count()
        }
    }

    /// The text as a Rust `String`, replacing each lone surrogate with U+FFFD. Lossy: use
    /// [`PyStr::chars`] or the `Display` impl (which escapes surrogates) to keep everything.
    pub fn to_string_lossy(&self) -> String {
        self.chars()
            .map(|c| char::from_u32(c).unwrap_or('\u{FFFD}'))
            .collect()
    }

    /// UTF-8 with surrogates (CPython's `surrogatepass` encoding) of the text, whatever form
    /// it is stored in. Borrowed when no conversion is needed.
    pub fn to_surrogatepass_utf8(&self) -> std::borrow::Cow<'a, [u8]> {
        if !self.one_byte || self.bytes.is_ascii() {
            std::borrow::Cow::Borrowed(self.bytes)
        } else {
            let mut out = Vec::with_capacity(self.bytes.len() * 2);
            for c in self.chars() {
                push_code_point(&mut out, c);
            }
            std::borrow::Cow::Owned(out)
        }
    }
}

/// Displays the text with every lone surrogate written `\udXXX` and backslashes doubled, so
/// distinct strings display differently. (For Python's own `repr`, see [`crate::repr`].)
impl fmt::Display for PyStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        for c in self.chars() {
            match char::from_u32(c) {
                Some('\\') => f.write_str("\\\\")?,
                Some(ch) => f.write_char(ch)?,
                None => write!(f, "\\u{c:04x}")?,
            }
        }
        Ok(())
    }
}

impl fmt::Debug for PyStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::repr::str_repr(*self))
    }
}

/// Iterator over the code points of a [`PyStr`].
#[derive(Clone, Debug)]
pub struct CodePoints<'a> {
    bytes: &'a [u8],
    one_byte: bool,
}

impl Iterator for CodePoints<'_> {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        let (&b0, rest) = self.bytes.split_first()?;
        if self.one_byte || b0 < 0x80 {
            self.bytes = rest;
            return Some(u32::from(b0));
        }
        match decode_one(self.bytes) {
            Some((c, n)) => {
                self.bytes = &self.bytes[n..];
                Some(c)
            }
            None => {
                self.bytes = rest;
                Some(0xFFFD)
            }
        }
    }
}

/// Decodes one non-ASCII UTF-8 sequence (surrogates allowed) at the start of `b`.
/// Returns the code point and the sequence length.
fn decode_one(b: &[u8]) -> Option<(u32, usize)> {
    let b0 = *b.first()?;
    let cont = |i: usize| -> Option<u32> {
        let x = *b.get(i)?;
        (x & 0xC0 == 0x80).then_some(u32::from(x & 0x3F))
    };
    match b0 {
        0xC2..=0xDF => Some(((u32::from(b0 & 0x1F) << 6) | cont(1)?, 2)),
        0xE0..=0xEF => {
            let c = (u32::from(b0 & 0x0F) << 12) | (cont(1)? << 6) | cont(2)?;
            (c >= 0x800).then_some((c, 3))
        }
        0xF0..=0xF4 => {
            let c = (u32::from(b0 & 0x07) << 18) | (cont(1)? << 12) | (cont(2)? << 6) | cont(3)?;
            (0x10000..=0x10FFFF).contains(&c).then_some((c, 4))
        }
        _ => None,
    }
}

/// Checks that `b` is UTF-8 allowing encoded surrogates (what CPython's `utf-8` decoder with
/// `surrogatepass` accepts). On failure returns the offset of the first bad byte.
pub fn validate_surrogatepass(b: &[u8]) -> Result<(), usize> {
    // Fast path: strict UTF-8 is a subset.
    let mut start = match std::str::from_utf8(b) {
        Ok(_) => return Ok(()),
        Err(e) => e.valid_up_to(),
    };
    while start < b.len() {
        if b[start] < 0x80 {
            start += 1;
            continue;
        }
        match decode_one(&b[start..]) {
            Some((_, n)) => start += n,
            None => return Err(start),
        }
    }
    Ok(())
}

/// Appends the surrogatepass UTF-8 encoding of code point `c` (any value up to 0x10FFFF).
pub fn push_code_point(out: &mut Vec<u8>, c: u32) {
    match c {
        0..=0x7F => out.push(c as u8),
        0x80..=0x7FF => out.extend_from_slice(&[0xC0 | (c >> 6) as u8, 0x80 | (c & 0x3F) as u8]),
        0x800..=0xFFFF => out.extend_from_slice(&[
            0xE0 | (c >> 12) as u8,
            0x80 | ((c >> 6) & 0x3F) as u8,
            0x80 | (c & 0x3F) as u8,
        ]),
        _ => out.extend_from_slice(&[
            0xF0 | (c >> 18) as u8,
            0x80 | ((c >> 12) & 0x3F) as u8,
            0x80 | ((c >> 6) & 0x3F) as u8,
            0x80 | (c & 0x3F) as u8,
        ]),
    }
}

/// Parses a text float as CPython's `float()` of the marshal text does: optional sign, decimal
/// or exponent notation, `inf`/`infinity`/`nan` in any case; no spaces, no underscores.
pub fn parse_float_text(t: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(t).ok()?;
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = body.to_ascii_lowercase();
    let special = matches!(lower.as_str(), "inf" | "infinity" | "nan");
    if !special {
        // Rust accepts a few spellings Python rejects and vice versa; restrict to
        // digits, '.', exponent.
        let ok_chars = body
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'));
        if body.is_empty() || !ok_chars || !body.bytes().any(|c| c.is_ascii_digit()) {
            return None;
        }
    }
    s.parse::<f64>().ok()
}
