//! Lossless reader and writer for CPython's marshal format and `.pyc` files, for CPython 2.7
//! and 3.0–3.14 (and the 3.15 pre-release format).
//!
//! * [`read`] / [`Pyc::parse`] turn bytes into a [`Stream`]: an arena of [`Node`]s that borrow
//!   string payloads from the input (zero-copy) and remember everything needed to write the
//!   same bytes back ([`Stream::write`]): type codes, FLAG_REF bits, reference indices.
//! * Code objects are read with the field layout of the Python version that wrote them
//!   ([`CodeLayout`]), into a version-tagged [`CodeObject`].
//! * [`dumps()`] writes new values ([`Object`]) the way a given CPython's `marshal.dumps(value,
//!   version)` would choose type codes.
//! * [`repr`] renders floats, complex numbers, strings and bytes exactly as Python 3's `repr`.
//! * Hostile input is expected: every error is an [`Error`] with a byte offset; reading never
//!   recurses, never panics, and never allocates more than the input justifies ([`Limits`]).
//!
//! # Design notes
//!
//! * **Node order = stream order.** A node gets its [`NodeId`] when its type byte is read,
//!   before its children, which is also how CPython numbers its reference table; so a `r`
//!   reference is resolved while reading ([`Value::Ref`] holds its target) and recursive
//!   containers work. [`Stream::get`], [`Stream::items`] and [`Stream::dict_pairs`] follow
//!   references for you.
//! * **Lossless.** Nodes keep the type code used (`z`/`Z`/`a`/`A`/`u`/`t`, `(` vs `)`, `i`/`I`/`l`,
//!   text vs binary floats), the FLAG_REF bit (also where CPython ignores it, e.g. on `None`),
//!   the index written in each reference, and quirks such as a NULL dict value ending a Python
//!   3 dict. `write(read(b)) == b` holds for every stream CPython wrote (checked on every
//!   stdlib `.pyc` of 2.7 and 3.6–3.13 and on real 3.0–3.5, 3.14 and 3.15-pre files).
//! * **Python 2 vs 3.** The version given to the reader decides the meaning of `s`
//!   ([`Value::Py2Str`] vs [`Value::Bytes`]) and `t`, the type codes accepted (FLAG_REF,
//!   `r` and the ASCII codes from 3.4, slices from 3.14, frozendict from 3.15) and the
//!   code-object layout.
//! * **Text.** `str` payloads may hold lone surrogates (UTF-8 with `surrogatepass`); see
//!   [`PyStr`]. Nothing is forced into Rust's `str`.
//! * **Like `marshal.loads`.** What CPython refuses, we refuse: unknown codes, bad references,
//!   long digits of 2**15 or more, unnormalised longs, invalid UTF-8, text floats that are not
//!   numbers, NULL outside a dict, nesting beyond 2000, and code objects that the version's
//!   CPython would not build ([`ReadOptions::check_code`], on by default).
//!
//! # Speed
//!
//! `cargo run --release -p xtask -- bench marshal` reads every stdlib `.pyc` of each installed
//! interpreter with this crate and with that interpreter's `marshal.loads`, on the same bytes,
//! and prints both throughputs (CPU time, best of 5). On the development machine the reader
//! (code-object checks included) ran 2.5–4.4 times as fast as CPython 2.7–3.13.
//!
//! # Example
//!
//! ```
//! use brine_marshal::{Pyc, PyVersion, Value};
//!
//! // A 3.11 .pyc whose "code" is the tuple (1, 'x'): magic 3495, flags 0, mtime, size, then
//! // `)` (small tuple) of 2: `i` 1 and `Z` (short interned ASCII) "x".
//! let mut file = vec![0xA7, 0x0D, 0x0D, 0x0A, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0];
//! file.extend_from_slice(b")\x02i\x01\x00\x00\x00Z\x01x");
//!
//! let pyc = Pyc::parse(&file)?;
//! assert_eq!(pyc.header.version, PyVersion::new(3, 11));
//! assert_eq!(pyc.header.mtime(), Some(1));
//! let stream = &pyc.stream;
//! let items: Vec<_> = stream.items(stream.root()).collect();
//! assert_eq!(stream.value(items[0]).as_i64(), Some(1));
//! assert_eq!(stream.text(items[1]).unwrap().as_str(), Some("x"));
//! assert!(matches!(stream.value(stream.root()), Value::Tuple { small: true, .. }));
//!
//! // Lossless: writing gives back the same bytes.
//! assert_eq!(pyc.write(), file);
//! # Ok::<(), brine_marshal::Error>(())
//! ```

#![warn(missing_docs)]

pub mod code;
pub mod dumps;
pub mod error;
pub mod limits;
pub mod node;
pub mod object;
pub mod pyc;
pub mod reader;
pub mod repr;
pub mod siphash;
pub mod stream;
pub mod text;
pub mod version;
pub mod writer;

pub use code::{CodeObject, CodeView};
pub use dumps::{dumps, DumpOptions};
pub use error::{Error, ErrorKind, NullContext, Result};
pub use limits::Limits;
pub use node::{ChildRange, CodeId, LongDigits, Node, NodeId, StrKind, Value};
pub use object::{CodeBuilder, Object};
pub use pyc::{source_hash, Invalidation, Pyc, PycHeader};
pub use reader::{read, read_prefix};
pub use stream::{ReadOptions, Stream};
pub use text::PyStr;
pub use version::{CodeField, CodeLayout, MagicInfo, PyVersion, MAGIC_TABLE};
pub use writer::write;
