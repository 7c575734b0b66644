//! Python text as bytes: the UTF-8 encoding with `surrogatepass`, which CPython uses for
//! `BINUNICODE` and friends. Lone surrogates (U+D800..U+DFFF) are legal Python `str` content, so
//! a Rust `String` cannot hold every value; [`PyStr`] can (each surrogate is encoded on its own
//! as 3 bytes, exactly as `str.encode('utf-8', 'surrogatepass')` does).

use std::fmt;

/// A borrowed Python `str`, stored as UTF-8 with lone surrogates allowed ("surrogatepass").
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PyStr<'a>(&'a [u8]);

impl<'a> PyStr<'a> {
    /// Wraps bytes already known to be valid surrogatepass UTF-8 (see [`validate_surrogatepass`]).
    pub fn from_validated(bytes: &'a [u8]) -> PyStr<'a> {
        PyStr(bytes)
    }

    /// The encoded bytes (what `s.encode('utf-8', 'surrogatepass')` returns).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The text as `&str`, or `None` if it contains a lone surrogate.
    pub fn as_str(&self) -> Option<&'a str> {
        std::str::from_utf8(self.0).ok()
    }

    /// The text with every lone surrogate replaced by U+FFFD.
    pub fn to_string_lossy(&self) -> String {
        self.chars()
            .map(|c| char::from_u32(c).unwrap_or('\u{FFFD}'))
            .collect()
    }

    /// The code points (surrogates included), as Python iterates a `str`.
    pub fn chars(&self) -> CodePoints<'a> {
        CodePoints { bytes: self.0 }
    }

    /// Number of code points (Python's `len(s)`).
    pub fn char_len(&self) -> usize {
        self.0.iter().filter(|&&b| (b & 0xC0) != 0x80).count()
    }
}

impl fmt::Debug for PyStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::pyrepr::repr_str_bytes(self.0))
    }
}

/// Iterator over the code points of a [`PyStr`].
#[derive(Debug, Clone)]
pub struct CodePoints<'a> {
    bytes: &'a [u8],
}

impl Iterator for CodePoints<'_> {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        let (&b0, rest) = self.bytes.split_first()?;
        // Bytes are validated on construction; a truncated sequence (only possible through
        // `from_validated` misuse) ends the iteration instead of panicking.
        let need = if b0 < 0x80 {
            0
        } else if b0 < 0xE0 {
            1
        } else if b0 < 0xF0 {
            2
        } else {
            3
        };
        if rest.len() < need {
            self.bytes = &[];
            return None;
        }
        let (cp, n) = if b0 < 0x80 {
            (b0 as u32, 1)
        } else if b0 < 0xE0 {
            (((b0 as u32 & 0x1F) << 6) | (rest[0] as u32 & 0x3F), 2)
        } else if b0 < 0xF0 {
            (
                ((b0 as u32 & 0x0F) << 12)
                    | ((rest[0] as u32 & 0x3F) << 6)
                    | (rest[1] as u32 & 0x3F),
                3,
            )
        } else {
            (
                ((b0 as u32 & 0x07) << 18)
                    | ((rest[0] as u32 & 0x3F) << 12)
                    | ((rest[1] as u32 & 0x3F) << 6)
                    | (rest[2] as u32 & 0x3F),
                4,
            )
        };
        self.bytes = &self.bytes[n..];
        Some(cp)
    }
}

/// Checks that `bytes` is UTF-8 in which surrogate code points may appear (as CPython's
/// `surrogatepass` decoder accepts). On failure returns `(position, reason)` as Python's
/// `UnicodeDecodeError` would describe the first bad byte.
pub fn validate_surrogatepass(bytes: &[u8]) -> Result<(), (usize, &'static str)> {
    validate_surrogatepass_range(bytes).map_err(|(s, _, r)| (s, r))
}

/// Like [`validate_surrogatepass`], returning Python's error range `(start, end, reason)`.
#[inline]
pub fn validate_surrogatepass_range(bytes: &[u8]) -> Result<(), (usize, usize, &'static str)> {
    // Fast path for the common short ASCII string (no function call into the validator).
    if bytes.len() <= 32 && bytes.iter().all(|&b| b < 0x80) {
        return Ok(());
    }
    validate_slow(bytes)
}

fn validate_slow(bytes: &[u8]) -> Result<(), (usize, usize, &'static str)> {
    // Fast path: plain UTF-8.
    let mut pos = match std::str::from_utf8(bytes) {
        Ok(_) => return Ok(()),
        Err(e) => e.valid_up_to(),
    };
    while pos < bytes.len() {
        let b0 = bytes[pos];
        if b0 < 0x80 {
            pos += 1;
            continue;
        }
        let need = match b0 {
            0xC2..=0xDF => 1,
            0xE0..=0xEF => 2,
            0xF0..=0xF4 => 3,
            _ => return Err((pos, pos + 1, "invalid start byte")),
        };
        let cont_ok = |i: usize, lo: u8, hi: u8| -> bool {
            bytes.get(pos + i).is_some_and(|&b| (lo..=hi).contains(&b))
        };
        let (lo1, hi1) = match b0 {
            0xE0 => (0xA0, 0xBF),
            0xF0 => (0x90, 0xBF),
            0xF4 => (0x80, 0x8F),
            // 0xED is allowed its full range: surrogates pass.
            _ => (0x80, 0xBF),
        };
        if !cont_ok(1, lo1, hi1) {
            return Err(if pos + 1 >= bytes.len() {
                (pos, bytes.len(), "unexpected end of data")
            } else {
                (pos, pos + 1, "invalid continuation byte")
            });
        }
        for i in 2..=need {
            if !cont_ok(i, 0x80, 0xBF) {
                if b0 == 0xED && bytes[pos + 1] >= 0xA0 {
                    // The strict decoder already rejected the second byte; surrogatepass
                    // only rescues complete surrogates, so Python reports that error.
                    return Err((pos, pos + 1, "invalid continuation byte"));
                }
                return Err(if pos + i >= bytes.len() {
                    (pos, bytes.len(), "unexpected end of data")
                } else {
                    (pos, pos + i, "invalid continuation byte")
                });
            }
        }
        pos += need + 1;
    }
    Ok(())
}

/// Appends the surrogatepass UTF-8 encoding of one code point (≤ 0x10FFFF) to `out`.
pub fn push_code_point(out: &mut Vec<u8>, cp: u32) {
    if cp < 0x80 {
        out.push(cp as u8);
    } else if cp < 0x800 {
        out.extend_from_slice(&[0xC0 | (cp >> 6) as u8, 0x80 | (cp & 0x3F) as u8]);
    } else if cp < 0x10000 {
        out.extend_from_slice(&[
            0xE0 | (cp >> 12) as u8,
            0x80 | ((cp >> 6) & 0x3F) as u8,
            0x80 | (cp & 0x3F) as u8,
        ]);
    } else {
        out.extend_from_slice(&[
            0xF0 | (cp >> 18) as u8,
            0x80 | ((cp >> 12) & 0x3F) as u8,
            0x80 | ((cp >> 6) & 0x3F) as u8,
            0x80 | (cp & 0x3F) as u8,
        ]);
    }
}

/// Decodes `raw-unicode-escape` (the `UNICODE` opcode's payload) into surrogatepass UTF-8.
/// Bytes stand for U+0000..U+00FF; only `\uXXXX` and `\UXXXXXXXX` are escapes. On a truncated
/// or out-of-range escape, returns `(position, reason)` like Python's decoder.
pub fn decode_raw_unicode_escape(
    input: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), (usize, usize, &'static str)> {
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b == b'\\' {
            // A backslash escapes only when directly followed by `u`/`U` and not itself
            // escaped: in a run of backslashes, only an odd-length run's last one counts.
            let run = input[i..].iter().take_while(|&&c| c == b'\\').count();
            let kind = input.get(i + run).copied();
            let digits = match kind {
                Some(b'u') if run % 2 == 1 => 4,
                Some(b'U') if run % 2 == 1 => 8,
                _ => {
                    for _ in 0..run {
                        out.push(b'\\');
                    }
                    i += run;
                    continue;
                }
            };
            for _ in 0..run - 1 {
                out.push(b'\\');
            }
            i += run - 1;
            let start = i;
            let hex = &input[i + 2..(i + 2 + digits).min(input.len())];
            let good = hex.iter().take_while(|c| c.is_ascii_hexdigit()).count();
            if good < digits {
                let msg = if digits == 4 {
                    "truncated \\uXXXX escape"
                } else {
                    "truncated \\UXXXXXXXX escape"
                };
                return Err((start, start + 2 + good, msg));
            }
            let cp = hex.iter().fold(0u32, |acc, &c| {
                (acc << 4) | (c as char).to_digit(16).unwrap_or(0)
            });
            if cp > 0x10FFFF {
                return Err((start, start + 10, "\\Uxxxxxxxx out of range"));
            }
            push_code_point(out, cp);
            i += 2 + digits;
        } else {
            push_code_point(out, b as u32);
            i += 1;
        }
    }
    Ok(())
}

/// Appends the latin-1 decoding of `input` (every byte is one code point) as UTF-8.
pub fn latin1_to_utf8(input: &[u8], out: &mut Vec<u8>) {
    out.reserve(input.len());
    for &b in input {
        push_code_point(out, b as u32);
    }
}

/// Python's `UnicodeDecodeError` message: `'codec' codec can't decode byte 0xNN in position P:
/// reason` (or `bytes in position A-B` for a longer range).
pub fn decode_error_message(
    codec: &str,
    input: &[u8],
    start: usize,
    end: usize,
    reason: &str,
) -> String {
    if end <= start + 1 {
        format!(
            "'{codec}' codec can't decode byte 0x{:02x} in position {start}: {reason}",
            input.get(start).copied().unwrap_or(0)
        )
    } else {
        format!(
            "'{codec}' codec can't decode bytes in position {start}-{}: {reason}",
            end - 1
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surrogates_pass() {
        assert!(validate_surrogatepass(b"\xed\xa0\x80").is_ok());
        assert!(validate_surrogatepass(b"abc\xff").is_err());
        assert_eq!(
            validate_surrogatepass(b"\xc3"),
            Err((0, "unexpected end of data"))
        );
        let s = PyStr::from_validated(b"a\xed\xa0\x80");
        assert_eq!(s.chars().collect::<Vec<_>>(), vec![0x61, 0xD800]);
        assert_eq!(s.as_str(), None);
    }

    #[test]
    fn raw_unicode_escape() {
        let mut out = Vec::new();
        decode_raw_unicode_escape(b"a\\tb\\u00e9\xe9\\U0001f600", &mut out).unwrap();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            "a\\tb\u{e9}\u{e9}\u{1f600}"
        );
        assert!(decode_raw_unicode_escape(b"\\u12", &mut out).is_err());
    }
}
