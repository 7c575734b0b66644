//! The reader: an explicit-stack state machine over the input bytes (no recursion), building
//! the node arena of a [`Stream`].
//!
//! Ordering matters for references: a node gets its id, and a flagged object its reference
//! slot, when its type byte is read. Tuples, lists, dicts and sets are usable as reference
//! targets from that moment (CPython registers them before filling them, which is how
//! recursive containers work); code objects, frozensets, slices and frozendicts only once
//! complete (CPython reserves their slot and fills it afterwards; a reference to the reserved
//! slot is an "invalid reference").

use crate::code::CodeObject;
use crate::error::{Error, ErrorKind, NullContext, Result};
use crate::node::{ChildRange, CodeId, LongDigits, Node, NodeId, StrKind, Value};
use crate::stream::{ReadOptions, Stream};
use crate::version::{CodeField, CodeLayout, PyVersion};

/// Reads one marshal stream that must fill `data` exactly (an error reports trailing bytes).
///
/// CPython's `marshal.loads` ignores bytes after the object; use [`read_prefix`] for that.
pub fn read<'a>(data: &'a [u8], options: &ReadOptions) -> Result<Stream<'a>> {
    let stream = read_prefix(data, 0, options)?;
    if stream.end != data.len() {
        return Err(Error::new(
            stream.end,
            ErrorKind::TrailingBytes {
                count: data.len() - stream.end,
            },
        ));
    }
    Ok(stream)
}

/// Reads one marshal stream starting at `data[start..]` and stopping after its object; the
/// stream's [`Stream::byte_range`] says where it ended. Offsets in errors and nodes count from
/// the start of `data`.
pub fn read_prefix<'a>(data: &'a [u8], start: usize, options: &ReadOptions) -> Result<Stream<'a>> {
    if !options.version.is_supported() {
        return Err(Error::new(
            start,
            ErrorKind::UnsupportedVersion(options.version),
        ));
    }
    if start > data.len() {
        return Err(Error::new(
            data.len(),
            ErrorKind::Truncated {
                what: "type code",
                needed: 1,
                available: 0,
            },
        ));
    }
    let mut r = Reader::new(data, start, options);
    let root = r.run()?;
    Ok(Stream {
        version: options.version,
        layout: r.layout,
        nodes: r.nodes,
        children: r.children,
        codes: r.codes,
        refs: r.refs,
        interned: r.interned,
        root,
        start,
        end: r.pos,
    })
}

#[derive(Debug, Clone, Copy)]
enum FrameKind {
    /// Tuple, list, set, frozenset, slice: `remaining` items to read.
    Seq { remaining: u32 },
    /// Dict or frozendict: until a NULL key.
    Dict,
    /// Code object: its int fields so far start at `ints_start` in `code_ints`.
    Code { ints_start: u32 },
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    node: NodeId,
    work_start: u32,
    kind: FrameKind,
    /// Reference slot reserved for this object, completed when it finishes (`u32::MAX`: none).
    reserved_slot: u32,
}

struct Reader<'a, 'o> {
    data: &'a [u8],
    pos: usize,
    version: PyVersion,
    layout: CodeLayout,
    fields: &'static [CodeField],
    options: &'o ReadOptions,
    nodes: Vec<Node<'a>>,
    children: Vec<NodeId>,
    codes: Vec<CodeObject>,
    refs: Vec<NodeId>,
    /// Parallel to `refs`: false while the slot is reserved for an unfinished object.
    ref_ready: Vec<bool>,
    interned: Vec<NodeId>,
    frames: Vec<Frame>,
    work: Vec<NodeId>,
    code_ints: Vec<i32>,
    py2: bool,
    /// FLAG_REF, `r`, and the ASCII/small-tuple codes (3.4+).
    v34: bool,
    slices: bool,
    frozendicts: bool,
}

/// What reading one object produced.
enum Step {
    /// A finished object to attach to the enclosing container.
    Done(NodeId),
    /// A container was opened (its children come next).
    Opened,
}

const NO_SLOT: u32 = u32::MAX;

impl<'a, 'o> Reader<'a, 'o> {
    fn new(data: &'a [u8], start: usize, options: &'o ReadOptions) -> Reader<'a, 'o> {
        let version = options.version;
        let layout = options.code_layout();
        // Rough pre-sizing: pyc streams average one node per ~6 bytes.
        let remaining = data.len() - start;
        Reader {
            data,
            pos: start,
            version,
            layout,
            fields: layout.fields(),
            options,
            nodes: Vec::with_capacity((remaining / 12).min(1 << 16)),
            children: Vec::with_capacity((remaining / 8).min(1 << 16)),
            codes: Vec::with_capacity((remaining / 512).min(1 << 14)),
            refs: Vec::with_capacity((remaining / 16).min(1 << 16)),
            ref_ready: Vec::with_capacity((remaining / 16).min(1 << 16)),
            interned: Vec::new(),
            frames: Vec::with_capacity(32),
            work: Vec::with_capacity(256),
            code_ints: Vec::with_capacity(64),
            py2: version.is_py2(),
            v34: version.at_least(3, 4),
            slices: version.at_least(3, 14),
            frozendicts: version.at_least(3, 15),
        }
    }

    #[inline]
    fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    #[cold]
    fn truncated(&self, what: &'static str, needed: usize) -> Error {
        Error::new(
            self.pos,
            ErrorKind::Truncated {
                what,
                needed,
                available: self.remaining(),
            },
        )
    }

    #[inline]
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.truncated(what, n));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    #[inline]
    fn u8(&mut self, what: &'static str) -> Result<u8> {
        match self.data.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => Err(self.truncated(what, 1)),
        }
    }

    #[inline]
    fn i32(&mut self, what: &'static str) -> Result<i32> {
        let b = self.take(4, what)?;
        Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Reads a 4-byte length/count and checks it against the input left (each unit needing at
    /// least `unit` bytes) and the configured maximum.
    #[inline]
    fn length(&mut self, what: &'static str, unit: usize) -> Result<usize> {
        let at = self.pos;
        let n = self.i32(what)?;
        if n < 0 {
            return Err(Error::new(
                at,
                ErrorKind::NegativeLength {
                    what,
                    value: i64::from(n),
                },
            ));
        }
        self.check_length(at, what, n as usize, unit)
    }

    #[inline]
    fn check_length(&self, at: usize, what: &'static str, n: usize, unit: usize) -> Result<usize> {
        if n.saturating_mul(unit) > self.remaining() {
            return Err(Error::new(
                at,
                ErrorKind::LengthTooLarge {
                    what,
                    value: n as u64,
                    available: self.remaining(),
                },
            ));
        }
        if n as u64 > u64::from(self.options.limits.max_length) {
            return Err(Error::new(
                at,
                ErrorKind::LimitExceeded {
                    what,
                    limit: u64::from(self.options.limits.max_length),
                },
            ));
        }
        Ok(n)
    }

    #[inline]
    fn push_node(&mut self, value: Value<'a>, flag_ref: bool, offset: usize) -> Result<NodeId> {
        let id = self.nodes.len();
        if id >= self.options.limits.max_nodes as usize {
            return Err(Error::new(
                offset,
                ErrorKind::LimitExceeded {
                    what: "number of objects",
                    limit: u64::from(self.options.limits.max_nodes),
                },
            ));
        }
        self.nodes.push(Node {
            value,
            flag_ref,
            offset: offset as u32,
        });
        Ok(NodeId(id as u32))
    }

    /// Pushes a finished leaf and registers it in the reference table when flagged.
    #[inline]
    fn leaf(&mut self, value: Value<'a>, flag: bool, offset: usize) -> Result<Step> {
        let id = self.push_node(value, flag, offset)?;
        if flag {
            self.refs.push(id);
            self.ref_ready.push(true);
        }
        Ok(Step::Done(id))
    }

    #[inline]
    fn open(
        &mut self,
        value: Value<'a>,
        flag: bool,
        offset: usize,
        kind: FrameKind,
        reserve: bool,
    ) -> Result<Step> {
        let id = self.push_node(value, flag, offset)?;
        let mut reserved_slot = NO_SLOT;
        if flag {
            if reserve {
                reserved_slot = self.refs.len() as u32;
            }
            self.refs.push(id);
            self.ref_ready.push(!reserve);
        }
        self.frames.push(Frame {
            node: id,
            work_start: self.work.len() as u32,
            kind,
            reserved_slot,
        });
        Ok(Step::Opened)
    }

    fn utf8(&self, at: usize, data: &'a [u8]) -> Result<()> {
        crate::text::validate_surrogatepass(data)
            .map_err(|i| Error::new(at + i, ErrorKind::InvalidUtf8 { byte: data[i] }))
    }

    fn float_text(&mut self, what: &'static str) -> Result<&'a [u8]> {
        let n = self.u8(what)? as usize;
        let at = self.pos;
        let t = self.take(n, what)?;
        if crate::text::parse_float_text(t).is_none() {
            return Err(Error::new(
                at,
                ErrorKind::InvalidFloatText {
                    text: String::from_utf8_lossy(t).into_owned(),
                },
            ));
        }
        Ok(t)
    }

    fn unknown(&self, offset: usize, byte: u8) -> Error {
        Error::new(
            offset,
            ErrorKind::UnknownTypeCode {
                code: byte,
                version: self.version,
            },
        )
    }

    /// Reads one object head: a whole scalar, or the header of a container.
    fn read_one(&mut self) -> Result<Step> {
        let offset = self.pos;
        if self.frames.len() as u64 + 1 > u64::from(self.options.limits.max_depth) {
            return Err(Error::new(
                offset,
                ErrorKind::DepthLimitExceeded {
                    limit: self.options.limits.max_depth,
                },
            ));
        }
        let byte = self.u8("type code")?;
        let (flag, code) = if self.v34 {
            (byte & 0x80 != 0, byte & 0x7f)
        } else {
            (false, byte)
        };
        match code {
            b'0' => self.null(byte, flag, offset),
            // Singletons never take a reference slot, even when flagged.
            b'N' => Ok(Step::Done(self.push_node(Value::None, flag, offset)?)),
            b'F' => Ok(Step::Done(self.push_node(Value::False, flag, offset)?)),
            b'T' => Ok(Step::Done(self.push_node(Value::True, flag, offset)?)),
            b'S' => Ok(Step::Done(self.push_node(
                Value::StopIteration,
                flag,
                offset,
            )?)),
            b'.' => Ok(Step::Done(self.push_node(Value::Ellipsis, flag, offset)?)),
            b'i' => {
                let v = self.i32("int")?;
                self.leaf(Value::Int(v), flag, offset)
            }
            b'I' => {
                let b = self.take(8, "64-bit int")?;
                let v = i64::from_le_bytes(b.try_into().expect("8 bytes"));
                self.leaf(Value::Int64(v), flag, offset)
            }
            b'l' => self.long(flag, offset),
            b'g' => {
                let b = self.take(8, "float")?;
                let v = f64::from_le_bytes(b.try_into().expect("8 bytes"));
                self.leaf(Value::Float(v), flag, offset)
            }
            b'y' => {
                let b = self.take(16, "complex")?;
                let re = f64::from_le_bytes(b[..8].try_into().expect("8 bytes"));
                let im = f64::from_le_bytes(b[8..].try_into().expect("8 bytes"));
                self.leaf(Value::Complex { re, im }, flag, offset)
            }
            b'f' => {
                let t = self.float_text("text float")?;
                self.leaf(Value::FloatText(t), flag, offset)
            }
            b'x' => {
                let start = self.pos;
                self.float_text("text complex (real part)")?;
                self.float_text("text complex (imaginary part)")?;
                let raw = &self.data[start..self.pos];
                self.leaf(Value::ComplexText { raw }, flag, offset)
            }
            b's' => {
                let n = self.length("string length", 1)?;
                let data = self.take(n, "string")?;
                let v = if self.py2 {
                    Value::Py2Str {
                        data,
                        interned: false,
                    }
                } else {
                    Value::Bytes(data)
                };
                self.leaf(v, flag, offset)
            }
            b't' => {
                let n = self.length("string length", 1)?;
                let at = self.pos;
                let data = self.take(n, "string")?;
                if self.py2 {
                    let id = self.push_node(
                        Value::Py2Str {
                            data,
                            interned: true,
                        },
                        false,
                        offset,
                    )?;
                    self.interned.push(id);
                    Ok(Step::Done(id))
                } else {
                    self.utf8(at, data)?;
                    self.leaf(
                        Value::Str {
                            data,
                            kind: StrKind::Interned,
                        },
                        flag,
                        offset,
                    )
                }
            }
            b'u' => {
                let n = self.length("string length", 1)?;
                let at = self.pos;
                let data = self.take(n, "string")?;
                self.utf8(at, data)?;
                self.leaf(
                    Value::Str {
                        data,
                        kind: StrKind::Unicode,
                    },
                    flag,
                    offset,
                )
            }
            b'z' | b'Z' if self.v34 => {
                let n = self.u8("string length")? as usize;
                let data = self.take(n, "string")?;
                let kind = if code == b'z' {
                    StrKind::ShortAscii
                } else {
                    StrKind::ShortAsciiInterned
                };
                self.leaf(Value::Str { data, kind }, flag, offset)
            }
            b'a' | b'A' if self.v34 => {
                let n = self.length("string length", 1)?;
                let data = self.take(n, "string")?;
                let kind = if code == b'a' {
                    StrKind::Ascii
                } else {
                    StrKind::AsciiInterned
                };
                self.leaf(Value::Str { data, kind }, flag, offset)
            }
            b'R' if self.py2 => {
                let at = self.pos;
                let index = self.i32("interned-string index")?;
                match usize::try_from(index)
                    .ok()
                    .and_then(|i| self.interned.get(i))
                {
                    Some(&target) => Ok(Step::Done(self.push_node(
                        Value::StringRef {
                            index: index as u32,
                            target,
                        },
                        false,
                        offset,
                    )?)),
                    None => Err(Error::new(
                        at,
                        ErrorKind::InvalidStringReference {
                            index: i64::from(index),
                            table_len: self.interned.len(),
                        },
                    )),
                }
            }
            b'r' if self.v34 => {
                let at = self.pos;
                let index = self.i32("reference index")?;
                let slot = usize::try_from(index).ok().filter(|&i| i < self.refs.len());
                match slot {
                    Some(i) if self.ref_ready[i] => {
                        let target = self.refs[i];
                        Ok(Step::Done(self.push_node(
                            Value::Ref {
                                index: index as u32,
                                target,
                            },
                            flag,
                            offset,
                        )?))
                    }
                    _ => Err(Error::new(
                        at,
                        ErrorKind::InvalidReference {
                            index: i64::from(index),
                            table_len: self.refs.len(),
                            reserved: slot.is_some(),
                        },
                    )),
                }
            }
            b'(' => {
                let n = self.length("tuple size", 1)?;
                self.open_seq(
                    Value::Tuple {
                        items: ChildRange::default(),
                        small: false,
                    },
                    flag,
                    offset,
                    n,
                    false,
                )
            }
            b')' if self.v34 => {
                let at = self.pos;
                let n = self.u8("tuple size")? as usize;
                let n = self.check_length(at, "tuple size", n, 1)?;
                self.open_seq(
                    Value::Tuple {
                        items: ChildRange::default(),
                        small: true,
                    },
                    flag,
                    offset,
                    n,
                    false,
                )
            }
            b'[' => {
                let n = self.length("list size", 1)?;
                self.open_seq(Value::List(ChildRange::default()), flag, offset, n, false)
            }
            b'<' => {
                let n = self.length("set size", 1)?;
                self.open_seq(Value::Set(ChildRange::default()), flag, offset, n, false)
            }
            b'>' => {
                let n = self.length("frozenset size", 1)?;
                self.open_seq(
                    Value::FrozenSet(ChildRange::default()),
                    flag,
                    offset,
                    n,
                    true,
                )
            }
            b':' if self.slices => {
                self.open_seq(Value::Slice(ChildRange::default()), flag, offset, 3, true)
            }
            b'{' => self.open(
                Value::Dict {
                    items: ChildRange::default(),
                    end: b'0',
                },
                flag,
                offset,
                FrameKind::Dict,
                false,
            ),
            b'}' if self.frozendicts => self.open(
                Value::FrozenDict {
                    items: ChildRange::default(),
                    end: b'0',
                },
                flag,
                offset,
                FrameKind::Dict,
                true,
            ),
            b'c' => self.open(
                Value::Code(CodeId(u32::MAX)),
                flag,
                offset,
                FrameKind::Code {
                    ints_start: self.code_ints.len() as u32,
                },
                true,
            ),
            _ => Err(self.unknown(offset, byte)),
        }
    }

    #[inline]
    fn open_seq(
        &mut self,
        value: Value<'a>,
        flag: bool,
        offset: usize,
        n: usize,
        reserve: bool,
    ) -> Result<Step> {
        self.open(
            value,
            flag,
            offset,
            FrameKind::Seq {
                remaining: n as u32,
            },
            reserve,
        )
    }

    fn long(&mut self, flag: bool, offset: usize) -> Result<Step> {
        let at = self.pos;
        let n = self.i32("long digit count")?;
        if n == i32::MIN {
            return Err(Error::new(
                at,
                ErrorKind::LengthTooLarge {
                    what: "long digit count",
                    value: 1 << 31,
                    available: self.remaining(),
                },
            ));
        }
        let count = self.check_length(at, "long digit count", n.unsigned_abs() as usize, 2)?;
        let digits_at = self.pos;
        let raw = self.take(count * 2, "long digits")?;
        for (i, d) in raw.chunks_exact(2).enumerate() {
            let d = u16::from_le_bytes([d[0], d[1]]);
            if d >= 0x8000 {
                return Err(Error::new(
                    digits_at + 2 * i,
                    ErrorKind::LongDigitOutOfRange { digit: d },
                ));
            }
        }
        if count > 0 && raw[raw.len() - 2..] == [0, 0] {
            return Err(Error::new(
                digits_at + raw.len() - 2,
                ErrorKind::UnnormalizedLong,
            ));
        }
        let digits = LongDigits::new(&self.data[at..self.pos]).expect("count matches digits");
        self.leaf(Value::Long(digits), flag, offset)
    }

    /// A NULL type code: a dict terminator, a (Py3: dict-ending) dict value, or an error.
    fn null(&mut self, byte: u8, flag: bool, offset: usize) -> Result<Step> {
        let Some(frame) = self.frames.last() else {
            return Err(Error::new(
                offset,
                ErrorKind::UnexpectedNull(NullContext::Object),
            ));
        };
        match frame.kind {
            FrameKind::Dict => {
                let at_key = (self.work.len() - frame.work_start as usize) & 1 == 0;
                if at_key {
                    Ok(Step::Done(self.finish(byte)?))
                } else {
                    let id = self.push_node(Value::Null, flag, offset)?;
                    if self.py2 {
                        Ok(Step::Done(id))
                    } else {
                        // CPython 3 stops reading the dict here, dropping the key.
                        self.work.push(id);
                        Ok(Step::Done(self.finish(0)?))
                    }
                }
            }
            FrameKind::Code { .. } => Err(Error::new(
                offset,
                ErrorKind::UnexpectedNull(NullContext::CodeField),
            )),
            FrameKind::Seq { .. } => {
                let ctx = if matches!(self.nodes[frame.node.index()].value, Value::Slice(_)) {
                    NullContext::SliceField
                } else {
                    NullContext::Item
                };
                Err(Error::new(offset, ErrorKind::UnexpectedNull(ctx)))
            }
        }
    }

    /// Closes the innermost frame: moves its children to the pool and fills in its node.
    fn finish(&mut self, dict_end: u8) -> Result<NodeId> {
        let frame = self.frames.pop().expect("finish called with an open frame");
        let ws = frame.work_start as usize;
        let id = frame.node;
        if let FrameKind::Code { ints_start, .. } = frame.kind {
            let is = ints_start as usize;
            let code = CodeObject::from_fields(
                self.version,
                self.layout,
                id,
                &self.code_ints[is..],
                &self.work[ws..],
            );
            self.code_ints.truncate(is);
            self.work.truncate(ws);
            if self.options.check_code {
                if let Err(why) = self.check_code(&code) {
                    let offset = self.nodes[id.index()].offset as usize;
                    return Err(Error::new(offset, ErrorKind::InvalidCode(why)));
                }
            }
            let cid = CodeId(self.codes.len() as u32);
            self.codes.push(code);
            self.nodes[id.index()].value = Value::Code(cid);
        } else {
            let range = ChildRange {
                start: self.children.len() as u32,
                len: (self.work.len() - ws) as u32,
            };
            self.children.extend_from_slice(&self.work[ws..]);
            self.work.truncate(ws);
            let node = &mut self.nodes[id.index()];
            node.value = match node.value {
                Value::Tuple { small, .. } => Value::Tuple {
                    items: range,
                    small,
                },
                Value::List(_) => Value::List(range),
                Value::Set(_) => Value::Set(range),
                Value::FrozenSet(_) => Value::FrozenSet(range),
                Value::Slice(_) => Value::Slice(range),
                Value::Dict { .. } => Value::Dict {
                    items: range,
                    end: dict_end,
                },
                Value::FrozenDict { .. } => Value::FrozenDict {
                    items: range,
                    end: dict_end,
                },
                other => other,
            };
        }
        if frame.reserved_slot != NO_SLOT {
            self.ref_ready[frame.reserved_slot as usize] = true;
        }
        Ok(id)
    }

    /// Attaches finished objects to their containers, closing every container that is now
    /// complete and reading the int fields of code objects, until the next object to read is
    /// known. Returns the root when the outermost object is complete.
    fn settle(&mut self, mut done: Option<NodeId>) -> Result<Option<NodeId>> {
        loop {
            if let Some(child) = done.take() {
                let Some(frame) = self.frames.last_mut() else {
                    return Ok(Some(child));
                };
                self.work.push(child);
                if let FrameKind::Seq { remaining } = &mut frame.kind {
                    *remaining -= 1;
                }
            }
            let frame = *self.frames.last().expect("settle with an open frame");
            match frame.kind {
                FrameKind::Seq { remaining } => {
                    if remaining == 0 {
                        done = Some(self.finish(0)?);
                    } else {
                        return Ok(None);
                    }
                }
                FrameKind::Dict => return Ok(None),
                FrameKind::Code { ints_start, .. } => {
                    let fields = self.fields;
                    let objs_read = self.work.len() - frame.work_start as usize;
                    let ints_read = self.code_ints.len() - ints_start as usize;
                    // Fields consumed so far: objects in `work` plus ints read.
                    let mut field = (objs_read + ints_read) as u8;
                    while let Some(f) = fields.get(field as usize) {
                        if !f.is_int() {
                            break;
                        }
                        let v = self.i32(f.attribute())?;
                        self.code_ints.push(v);
                        field += 1;
                    }
                    if field as usize == fields.len() {
                        done = Some(self.finish(0)?);
                    } else {
                        return Ok(None);
                    }
                }
            }
        }
    }

    fn resolved(&self, id: NodeId) -> &Value<'a> {
        match self.nodes[id.index()].value {
            Value::Ref { target, .. } | Value::StringRef { target, .. } => {
                &self.nodes[target.index()].value
            }
            ref v => v,
        }
    }

    /// What CPython checks when it builds a code object from marshalled fields (2.7:
    /// `PyCode_New`; 3.x: `PyCode_New*`, from 3.11 `_PyCode_Validate`), and the interning of
    /// name tuples, which needs exact `str` items. Checked against the installed interpreters
    /// by the `live_code_checks` test.
    fn check_code(&self, c: &CodeObject) -> std::result::Result<(), &'static str> {
        let v = self.version;
        let py2 = self.py2;
        let tuple = |id: NodeId| matches!(self.resolved(id), Value::Tuple { .. });
        let bytes = |id: NodeId| {
            if py2 {
                matches!(self.resolved(id), Value::Py2Str { .. })
            } else {
                matches!(self.resolved(id), Value::Bytes(_))
            }
        };
        // (Two-way tests rather than a `match`, which compiles to a jump table: this runs for
        // every name of every code object.)
        let text = |id: NodeId| {
            let value = &self.nodes[id.index()].value;
            if py2 {
                // A `R` always points at a `t` string: no need to look at the target.
                matches!(value, Value::Py2Str { .. } | Value::StringRef { .. })
            } else if let Value::Ref { target, .. } = value {
                matches!(self.nodes[target.index()].value, Value::Str { .. })
            } else {
                matches!(value, Value::Str { .. })
            }
        };
        let all_text = |id: NodeId| {
            let Value::Tuple { items, .. } = *self.resolved(id) else {
                return true; // reported as "not a tuple" below
            };
            let ids = &self.children[items.start as usize..(items.start + items.len) as usize];
            ids.iter().all(|&i| text(i))
        };
        let negative = |x: Option<i32>| x.is_some_and(|x| x < 0);
        if c.argcount < 0 || negative(c.kwonlyargcount) || negative(c.nlocals) {
            return Err("negative argument or local count");
        }
        if v.at_least(3, 8) {
            let posonly = c.posonlyargcount.unwrap_or(0);
            if posonly < 0 || c.argcount < posonly {
                return Err("bad positional-only argument count");
            }
            if c.stacksize < 0 || c.flags < 0 {
                return Err("negative stack size or flags");
            }
        }
        let code_ok = if py2 {
            // Any object with a read buffer: `str` or `unicode`.
            matches!(
                self.resolved(c.code),
                Value::Py2Str { .. } | Value::Str { .. }
            )
        } else {
            bytes(c.code)
        };
        if !code_ok {
            return Err("co_code is not a byte string");
        }
        if !tuple(c.consts) || !tuple(c.names) {
            return Err("co_consts or co_names is not a tuple");
        }
        for t in [c.varnames, c.freevars, c.cellvars, c.localsplusnames]
            .into_iter()
            .flatten()
        {
            if !tuple(t) {
                return Err("a variable-name field is not a tuple");
            }
        }
        if !text(c.name) || !text(c.filename) || c.qualname.is_some_and(|q| !text(q)) {
            return Err("co_name, co_qualname or co_filename is not a string");
        }
        if !bytes(c.linetable) || c.exceptiontable.is_some_and(|e| !bytes(e)) {
            return Err("line or exception table is not a byte string");
        }
        if let Some(kinds) = c.localspluskinds {
            let names_len = match *self.resolved(c.localsplusnames.unwrap_or(kinds)) {
                Value::Tuple { items, .. } => Some(items.len as usize),
                _ => None,
            };
            match *self.resolved(kinds) {
                Value::Bytes(k) if Some(k.len()) == names_len => {}
                _ => return Err("co_localspluskinds does not match co_localsplusnames"),
            }
        }
        for t in [
            Some(c.names),
            c.varnames,
            c.freevars,
            c.cellvars,
            c.localsplusnames,
        ]
        .into_iter()
        .flatten()
        {
            if !all_text(t) {
                return Err("non-string found in a name tuple");
            }
        }
        let args = i64::from(c.argcount)
            + i64::from(c.kwonlyargcount.unwrap_or(0))
            + i64::from(c.flags & 0x4 != 0)
            + i64::from(c.flags & 0x8 != 0);
        if v.at_least(3, 6) && !v.at_least(3, 11) {
            // Enough variable names to cover the arguments (checked from 3.6; 2.7 does not).
            if let Some(Value::Tuple { items, .. }) = c.varnames.map(|n| self.resolved(n)) {
                if args > i64::from(items.len) {
                    return Err("co_varnames is too small");
                }
            }
        }
        if v.at_least(3, 11) {
            if let Value::Bytes(code) = *self.resolved(c.code) {
                if code.len() % 2 != 0 {
                    return Err("co_code is malformed (odd length)");
                }
            }
            // Enough local names to cover the arguments.
            if let Some(Value::Bytes(kinds)) = c.localspluskinds.map(|k| self.resolved(k)) {
                let nlocals = kinds.iter().filter(|&&k| k & 0x20 != 0).count() as i64;
                if nlocals < args {
                    return Err("co_varnames is too small");
                }
            }
        }
        Ok(())
    }

    fn run(&mut self) -> Result<NodeId> {
        loop {
            let done = match self.read_one()? {
                Step::Done(id) => {
                    // Fast path: an item of a sequence that is not its last.
                    if let Some(Frame {
                        kind: FrameKind::Seq { remaining },
                        ..
                    }) = self.frames.last_mut()
                    {
                        if *remaining > 1 {
                            *remaining -= 1;
                            self.work.push(id);
                            continue;
                        }
                    }
                    Some(id)
                }
                Step::Opened => None,
            };
            if let Some(root) = self.settle(done)? {
                return Ok(root);
            }
        }
    }
}
