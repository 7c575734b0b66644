//! `.pyc` files: header (every layout from 2.7 to 3.15) plus one marshal stream.
//!
//! | Python | Header |
//! |---|---|
//! | 2.7, 3.0–3.2 | magic, mtime |
//! | 3.3–3.6 | magic, mtime, source size |
//! | 3.7+ | magic, PEP 552 flags, then mtime + source size (flags 0) or an 8-byte source hash |

use crate::error::{Error, ErrorKind, Result};
use crate::reader::read_prefix;
use crate::stream::{ReadOptions, Stream};
use crate::version::{CodeLayout, MagicInfo, PyVersion};
use crate::Limits;

/// PEP 552 flag: the pyc is hash-based.
pub const FLAG_HASH_BASED: u32 = 0x1;
/// PEP 552 flag: the importer checks the hash against the source.
pub const FLAG_CHECK_SOURCE: u32 = 0x2;

/// How a `.pyc` ties itself to its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Invalidation {
    /// Source modification time and (3.3+) size.
    Timestamp {
        /// Source mtime (seconds, mod 2**32).
        mtime: u32,
        /// Source size (mod 2**32); `None` before 3.3.
        source_size: Option<u32>,
    },
    /// PEP 552 hash-based pyc (3.7+).
    Hash {
        /// The SipHash of the source (8 bytes as stored, little-endian).
        source_hash: [u8; 8],
        /// Whether the importer re-checks the hash (flags bit 0x2).
        check_source: bool,
    },
}

/// A parsed `.pyc` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PycHeader {
    /// The 4 magic bytes (number, then `\r\n`).
    pub magic: [u8; 4],
    /// The version the magic belongs to.
    pub version: PyVersion,
    /// The code layout the magic implies.
    pub layout: CodeLayout,
    /// PEP 552 flags (3.7+; `None` before).
    pub flags: Option<u32>,
    /// How the pyc is validated against its source.
    pub invalidation: Invalidation,
}

impl PycHeader {
    /// The magic number (first two bytes, little-endian).
    pub fn magic_number(&self) -> u16 {
        u16::from_le_bytes([self.magic[0], self.magic[1]])
    }

    /// Header size in bytes: 8 (2.7, 3.0–3.2), 12 (3.3–3.6) or 16 (3.7+).
    pub fn len(&self) -> usize {
        header_len(self.version)
    }

    /// Always false (a header has at least a magic).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Source mtime for a timestamp pyc.
    pub fn mtime(&self) -> Option<u32> {
        match self.invalidation {
            Invalidation::Timestamp { mtime, .. } => Some(mtime),
            Invalidation::Hash { .. } => None,
        }
    }

    /// Source size for a timestamp pyc of 3.3+.
    pub fn source_size(&self) -> Option<u32> {
        match self.invalidation {
            Invalidation::Timestamp { source_size, .. } => source_size,
            Invalidation::Hash { .. } => None,
        }
    }

    /// Source hash for a hash-based pyc.
    pub fn source_hash(&self) -> Option<[u8; 8]> {
        match self.invalidation {
            Invalidation::Hash { source_hash, .. } => Some(source_hash),
            Invalidation::Timestamp { .. } => None,
        }
    }

    /// Parses the header at the start of `data`.
    pub fn parse(data: &[u8]) -> Result<PycHeader> {
        let magic: [u8; 4] = match data.get(..4) {
            Some(m) => m.try_into().expect("4 bytes"),
            None => {
                return Err(Error::new(
                    0,
                    ErrorKind::Truncated {
                        what: "pyc magic",
                        needed: 4,
                        available: data.len(),
                    },
                ))
            }
        };
        let number = u16::from_le_bytes([magic[0], magic[1]]);
        let unknown = || {
            Error::new(
                0,
                ErrorKind::UnknownMagic {
                    bytes: magic,
                    number,
                },
            )
        };
        if magic[2..] != *b"\r\n" {
            return Err(unknown());
        }
        let info = MagicInfo::lookup(number).ok_or_else(unknown)?;
        let version = info.version;
        let layout = CodeLayout::for_magic(number).ok_or_else(unknown)?;
        let len = header_len(version);
        if data.len() < len {
            return Err(Error::new(
                4,
                ErrorKind::Truncated {
                    what: "pyc header",
                    needed: len - 4,
                    available: data.len() - 4,
                },
            ));
        }
        let word = |i: usize| u32::from_le_bytes(data[i..i + 4].try_into().expect("4 bytes"));
        let (flags, invalidation) = if version.at_least(3, 7) {
            let flags = word(4);
            if flags & !(FLAG_HASH_BASED | FLAG_CHECK_SOURCE) != 0 {
                return Err(Error::new(4, ErrorKind::InvalidPycFlags(flags)));
            }
            let inv = if flags & FLAG_HASH_BASED != 0 {
                Invalidation::Hash {
                    source_hash: data[8..16].try_into().expect("8 bytes"),
                    check_source: flags & FLAG_CHECK_SOURCE != 0,
                }
            } else {
                Invalidation::Timestamp {
                    mtime: word(8),
                    source_size: Some(word(12)),
                }
            };
            (Some(flags), inv)
        } else if version.at_least(3, 3) {
            (
                None,
                Invalidation::Timestamp {
                    mtime: word(4),
                    source_size: Some(word(8)),
                },
            )
        } else {
            (
                None,
                Invalidation::Timestamp {
                    mtime: word(4),
                    source_size: None,
                },
            )
        };
        Ok(PycHeader {
            magic,
            version,
            layout,
            flags,
            invalidation,
        })
    }

    /// The header's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16);
        out.extend_from_slice(&self.magic);
        if self.version.at_least(3, 7) {
            out.extend_from_slice(&self.flags.unwrap_or(0).to_le_bytes());
        }
        match self.invalidation {
            Invalidation::Timestamp { mtime, source_size } => {
                out.extend_from_slice(&mtime.to_le_bytes());
                if self.version.at_least(3, 3) {
                    out.extend_from_slice(&source_size.unwrap_or(0).to_le_bytes());
                }
            }
            Invalidation::Hash { source_hash, .. } => out.extend_from_slice(&source_hash),
        }
        out
    }

    /// A header for `version`'s final magic number.
    pub fn new(version: PyVersion, invalidation: Invalidation) -> Option<PycHeader> {
        let number = version.final_magic()?;
        let b = number.to_le_bytes();
        let bits = match invalidation {
            Invalidation::Timestamp { .. } => 0,
            Invalidation::Hash { check_source, .. } => {
                FLAG_HASH_BASED | if check_source { FLAG_CHECK_SOURCE } else { 0 }
            }
        };
        let flags = version.at_least(3, 7).then_some(bits);
        Some(PycHeader {
            magic: [b[0], b[1], b'\r', b'\n'],
            version,
            layout: CodeLayout::for_magic(number)?,
            flags,
            invalidation,
        })
    }

    /// Whether `source` hashes to this header's source hash. `None` for timestamp pycs.
    pub fn check_source_hash(&self, source: &[u8]) -> Option<bool> {
        let stored = self.source_hash()?;
        Some(source_hash(self.magic, self.version, source) == stored)
    }
}

/// The source hash CPython stores in a hash-based pyc (`importlib.util.source_hash`):
/// SipHash keyed by `(magic as little-endian u32, 0)`: SipHash-2-4 in 3.7–3.10, SipHash-1-3
/// from 3.11. Returned as the 8 stored bytes.
pub fn source_hash(magic: [u8; 4], version: PyVersion, source: &[u8]) -> [u8; 8] {
    let k0 = u64::from(u32::from_le_bytes(magic));
    let h = if version.at_least(3, 11) {
        crate::siphash::siphash13(k0, 0, source)
    } else {
        crate::siphash::siphash24(k0, 0, source)
    };
    h.to_le_bytes()
}

fn header_len(version: PyVersion) -> usize {
    if version.at_least(3, 7) {
        16
    } else if version.at_least(3, 3) {
        12
    } else {
        8
    }
}

/// A `.pyc` file: header and marshal stream (normally a code object).
#[derive(Debug, Clone)]
pub struct Pyc<'a> {
    /// The header.
    pub header: PycHeader,
    /// The stream after the header.
    pub stream: Stream<'a>,
}

impl<'a> Pyc<'a> {
    /// Parses a whole `.pyc`: the version and code layout come from the magic; bytes after the
    /// object are an error.
    pub fn parse(data: &'a [u8]) -> Result<Pyc<'a>> {
        Pyc::parse_with_limits(data, Limits::default())
    }

    /// As [`Pyc::parse`] with explicit limits.
    pub fn parse_with_limits(data: &'a [u8], limits: Limits) -> Result<Pyc<'a>> {
        Pyc::parse_with(
            data,
            &ReadOptions::new(PyVersion::LATEST).with_limits(limits),
        )
    }

    /// As [`Pyc::parse`] with explicit options; their version and layout are replaced by
    /// the ones the magic number gives.
    pub fn parse_with(data: &'a [u8], options: &ReadOptions) -> Result<Pyc<'a>> {
        let header = PycHeader::parse(data)?;
        let options = ReadOptions {
            version: header.version,
            layout: Some(header.layout),
            ..*options
        };
        let stream = read_prefix(data, header.len(), &options)?;
        if stream.end != data.len() {
            return Err(Error::new(
                stream.end,
                ErrorKind::TrailingBytes {
                    count: data.len() - stream.end,
                },
            ));
        }
        Ok(Pyc { header, stream })
    }

    /// The file's bytes: header then stream (for a parsed file, the bytes it was parsed from).
    pub fn write(&self) -> Vec<u8> {
        let mut out = self.header.to_bytes();
        crate::writer::write_into(&self.stream, &mut out);
        out
    }
}

/// Builds a `.pyc` from a header and marshal bytes (e.g. from [`crate::dumps()`]).
pub fn write_pyc(header: &PycHeader, marshal: &[u8]) -> Vec<u8> {
    let mut out = header.to_bytes();
    out.extend_from_slice(marshal);
    out
}
