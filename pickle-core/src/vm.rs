//! The symbolic pickle machine: runs a pickle exactly as CPython's unpickler would, but instead
//! of importing and calling anything it builds a [`Graph`].
//!
//! The machine is iterative (one explicit stack, one mark stack, a memo of [`NodeId`]s), so a
//! list nested a million deep loads without recursion, and memo references share nodes. Checks
//! follow CPython's C unpickler (`pickle.loads`) by default, including its quirks (`POP` drops a
//! mark, the mark acts as a fence, `I01` is `True`, `INT` text goes through `strtol` base 0,
//! `FRAME` only checks that enough bytes exist); [`Strictness::Python`] switches to the pure-Python
//! unpickler's rules where the two differ. Type errors that CPython would raise for operands of
//! *known* type (appending to an int, a list as dict key, `NEWOBJ` of an int...) are raised too;
//! operations on symbolic objects (calls, globals, persistent ids) are recorded, never judged.

use crate::error::{Error, ErrorKind, Result};
use crate::graph::{
    CallKind, Global, Graph, Mutation, NodeId, NodeKind, Object, PickleInfo, Py2Encoding,
    SharedInput, Span, Step,
};
use crate::names_table as names;
use crate::opcodes::Opcode;
use crate::options::{Environment, LoadOptions, Strictness};
use crate::pyrepr::repr_str_bytes;
use crate::pystr::{decode_error_message, decode_raw_unicode_escape, validate_surrogatepass_range};
use crate::reader::{
    decode_long, decode_long_i64, parse_decimal_digits, py_float, py_int_base10, Arg,
};
use hashbrown::HashMap;
use num_bigint::BigInt;

const NO_NODE: u32 = u32::MAX;

/// The memo: dense array for small keys, hash map for the rest (a huge `LONG_BINPUT` key never
/// sizes an array).
#[derive(Debug, Default, Clone)]
struct Memo {
    dense: Vec<u32>,
    sparse: HashMap<u64, NodeId>,
    len: usize,
}

impl Memo {
    #[inline(always)]
    fn get(&self, key: u64) -> Option<NodeId> {
        if let Some(&v) = self.dense.get(key as usize) {
            if v != NO_NODE {
                return Some(NodeId(v));
            }
            return None;
        }
        self.sparse.get(&key).copied()
    }

    #[inline]
    fn put(&mut self, key: u64, id: NodeId) {
        if (key as usize) < self.dense.len() {
            let slot = &mut self.dense[key as usize];
            if *slot == NO_NODE {
                self.len += 1;
            }
            *slot = id.0;
            return;
        }
        if (key < (1 << 20) || key < (self.dense.len() as u64) * 2) && self.sparse.is_empty() {
            {
                let new_len = ((key as usize + 1).max(16)).next_power_of_two();
                self.dense.resize(new_len, NO_NODE);
                self.len += 1;
                self.dense[key as usize] = id.0;
                return;
            }
        }
        if self.sparse.insert(key, id).is_none() {
            self.len += 1;
        }
    }
}

/// Loads pickles into one graph, keeping the memo between them (like one `Unpickler` object
/// whose `load()` is called repeatedly).
#[derive(Debug)]
pub struct Loader {
    options: LoadOptions,
    graph: Graph,
    memo: Memo,
    next_buffer: u32,
    ext_cache: HashMap<i32, NodeId>,
    /// Tuples already walked by the hashability check (see `check_hashable_slow`).
    hashable_tuples: hashbrown::HashSet<NodeId>,
    /// Streaming: input read past the last `STOP` (`load_from_reader`).
    stream_buf: Vec<u8>,
    /// Streaming: stream offset of `stream_buf[0]`.
    stream_base: u64,
}

/// Result of one `STOP`-terminated pickle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loaded {
    /// The pickle's result.
    pub root: NodeId,
    /// Offset just after its `STOP`.
    pub end: usize,
}

fn truncated() -> ErrorKind {
    ErrorKind::Truncated
}

fn type_error(exception: &'static str, message: String) -> ErrorKind {
    ErrorKind::Type { exception, message }
}

/// Python's `int(text, 0)` (used by the pure-Python `INT` and the C fallback).
fn py_int_base0(text: &[u8]) -> std::result::Result<Arg<'static>, ()> {
    let s = {
        let start = text
            .iter()
            .position(|b| !b" \t\n\r\x0b\x0c".contains(b))
            .unwrap_or(text.len());
        let end = text
            .iter()
            .rposition(|b| !b" \t\n\r\x0b\x0c".contains(b))
            .map_or(start, |e| e + 1);
        &text[start..end]
    };
    let (neg, body) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = if body.len() >= 2 && body[0] == b'0' {
        match body[1] | 0x20 {
            b'x' => (16, &body[2..]),
            b'o' => (8, &body[2..]),
            b'b' => (2, &body[2..]),
            _ => (10, body),
        }
    } else {
        (10, body)
    };
    let mut clean = Vec::with_capacity(digits.len());
    let mut prev_digit = radix != 10; // after a prefix, one underscore may follow
    for (i, &c) in digits.iter().enumerate() {
        if c == b'_' {
            if !prev_digit || i + 1 >= digits.len() {
                return Err(());
            }
            prev_digit = false;
            continue;
        }
        if !(c as char).is_digit(radix) {
            return Err(());
        }
        clean.push(c);
        prev_digit = true;
    }
    if clean.is_empty() {
        return Err(());
    }
    if radix == 10 && clean[0] == b'0' && clean.iter().any(|&c| c != b'0') {
        return Err(());
    }
    if radix == 10 {
        return Ok(parse_decimal_digits(neg, &clean));
    }
    let mut big = BigInt::parse_bytes(&clean, radix).ok_or(())?;
    if neg {
        big = -big;
    }
    Ok(match i64::try_from(&big) {
        Ok(v) => Arg::Int(v),
        Err(_) => Arg::BigInt(Box::new(big)),
    })
}

/// C's `strtol(s, &end, 0)` on the line (without its newline): `Some(value)` if the whole line
/// (up to an optional NUL) was consumed without overflow.
fn c_strtol_full(s: &[u8]) -> Option<i64> {
    let mut i = s
        .iter()
        .position(|b| !b" \t\n\r\x0b\x0c".contains(b))
        .unwrap_or(s.len());
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut radix = 10u32;
    if s.get(i) == Some(&b'0') {
        if matches!(s.get(i + 1), Some(b'x' | b'X'))
            && s.get(i + 2).is_some_and(|c| c.is_ascii_hexdigit())
        {
            radix = 16;
            i += 2;
        } else {
            radix = 8;
        }
    }
    let start = i;
    let mut v: i128 = 0;
    while let Some(d) = s.get(i).and_then(|&c| (c as char).to_digit(radix)) {
        v = v * radix as i128 + d as i128;
        if v > (i64::MAX as i128) + 1 {
            return None;
        }
        i += 1;
    }
    if i == start {
        return None;
    }
    if i < s.len() && s[i] != 0 {
        return None;
    }
    let v = if neg { -v } else { v };
    i64::try_from(v).ok()
}

/// C's `PyOS_string_to_double` on the whole line: no whitespace, no underscores.
fn c_float(s: &[u8]) -> std::result::Result<f64, ErrorKind> {
    let bad = || ErrorKind::BadLiteral("could not convert string to float".to_string());
    let st = std::str::from_utf8(s).map_err(|_| bad())?;
    let body = st.strip_prefix(['+', '-']).unwrap_or(st);
    let lower = body.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        return st.parse::<f64>().map_err(|_| bad());
    }
    if body.is_empty()
        || !body
            .bytes()
            .all(|b| b.is_ascii_digit() || b"eE.+-".contains(&b))
    {
        return Err(bad());
    }
    let v: f64 = st.parse().map_err(|_| bad())?;
    if v.is_infinite() {
        return Err(ErrorKind::Type {
            exception: "OverflowError",
            message: format!("value too large to convert to float: {}", repr_str_bytes(s)),
        });
    }
    Ok(v)
}

impl Loader {
    /// A loader with `options`.
    pub fn new(options: LoadOptions) -> Loader {
        let graph = Graph {
            encoding: options.encoding,
            ..Graph::default()
        };
        Loader {
            options,
            graph,
            memo: Memo::default(),
            next_buffer: 0,
            ext_cache: HashMap::new(),
            hashable_tuples: hashbrown::HashSet::new(),
            stream_buf: Vec::new(),
            stream_base: 0,
        }
    }

    /// The graph built so far.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Finishes loading and returns the graph.
    pub fn into_graph(self) -> Graph {
        self.graph
    }

    /// Loads the pickle that starts at `data[start..]`, up to its `STOP`, into the graph.
    /// Offsets in errors and nodes are positions in `data`.
    pub fn load_at(&mut self, data: &[u8], start: usize) -> Result<Loaded> {
        self.load_impl(data, start, false)
    }

    /// Like [`Loader::load_at`] on `input`'s bytes, but strings and bytes (not bytearrays,
    /// which are mutable, nor text that needs decoding) reference `input` instead of being
    /// copied into [`Graph::data`]: loading a 1 GB `bytes` payload costs no copy. The graph
    /// keeps `input` alive ([`Graph::source`]). A loader shares one input only: if it
    /// already holds a different one, this copies as `load_at` does.
    pub fn load_shared_at(&mut self, input: &SharedInput, start: usize) -> Result<Loaded> {
        let same = |a: &SharedInput| {
            let (a, b) = (a.bytes(), input.bytes());
            a.as_ptr() == b.as_ptr() && a.len() == b.len()
        };
        let share = match &self.graph.source {
            None => {
                self.graph.source = Some(input.clone());
                true
            }
            Some(current) => same(current),
        };
        // Shared spans store their offset below the `Span::SHARED` bit.
        let share = share && input.bytes().len() < Span::SHARED;
        let data = input.clone();
        self.load_impl(data.bytes(), start, share)
    }

    fn load_impl(&mut self, data: &[u8], start: usize, shared: bool) -> Result<Loaded> {
        // Typical pickles spend 2-10 bytes per node; reserving up front avoids repeated
        // reallocation (only touched pages cost memory).
        let rest = data.len().saturating_sub(start);
        self.graph.nodes.reserve((rest / 6).min(1 << 22));
        self.graph.data.reserve(rest.min(1 << 26));
        let mut m = self.machine(data, start, MachineState::default(), 0, shared);
        m.start_abs = start as u64;
        match m.run() {
            (Ok(Some(loaded)), _, _) => Ok(loaded),
            (Err(e), _, _) => Err(e),
            // Only a chunked machine suspends; this one runs to STOP or an error.
            (Ok(None), _, pos) => Err(Error::new(pos as u64, None, ErrorKind::Eof)),
        }
    }

    /// A machine over `data` from `pos`, resuming `state`; `base` is the stream offset of
    /// `data[0]`.
    fn machine<'d>(
        &mut self,
        data: &'d [u8],
        pos: usize,
        state: MachineState,
        base: u64,
        shared: bool,
    ) -> Machine<'d, '_> {
        // CPython's C unpickler sizes its memo array from the key and fails with MemoryError
        // on huge keys; emulate that (at 2^30) when emulating a bare C unpickler.
        let c_limit = if self.options.environment == Environment::BareCPython
            && self.options.strictness != Strictness::Python
        {
            1 << 30
        } else {
            u64::MAX
        };
        let memo_key_cap = self.options.limits.max_memo_key.min(c_limit);
        Machine {
            data,
            pos,
            op_offset: pos,
            op: None,
            stack: state.stack,
            marks: state.marks,
            proto: state.proto,
            max_proto: state.max_proto,
            frame_end: state.frame_end,
            base,
            start_abs: base + pos as u64,
            chunk_end: data.len(),
            chunked: false,
            record_steps: self.options.record_steps,
            max_stack: self.options.limits.max_stack,
            max_nodes: self.options.limits.max_nodes.min(NO_NODE as usize),
            max_memo_entries: self.options.limits.max_memo_entries,
            max_data_bytes: self.options.limits.max_data_bytes,
            memo_key_cap,
            shared,
            loader: self,
        }
    }

    /// Loads the next pickle from `reader`, up to its `STOP`, into the graph, holding only a
    /// bounded window of the input in memory: input is read in 64 KiB blocks and run
    /// opcode by opcode as soon as each opcode is complete. An opcode is only held whole
    /// when it must be (a long string or bytes payload, a text line, a protocol-4 frame, which
    /// CPython also reads whole); its size is bounded by the input actually present (nothing
    /// is allocated from an announced length) and by [`Limits::max_data_bytes`] for payloads.
    /// Bytes read past `STOP` are kept for the next call, so repeated calls read successive
    /// pickles of one stream (sharing the memo, as `Unpickler.load()` does). Offsets in
    /// nodes, errors and [`Loaded::end`] count from the start of the stream. Verdicts,
    /// errors and graphs equal those of [`Loader::load_at`] on the whole input, except that
    /// an I/O error is reported as an `OSError` and a payload above `max_data_bytes` is
    /// refused before it is read (as a limit error, even if the input turns out shorter).
    ///
    /// [`Limits::max_data_bytes`]: crate::Limits::max_data_bytes
    pub fn load_from_reader<R: std::io::Read>(&mut self, reader: &mut R) -> Result<Loaded> {
        let mut buf = std::mem::take(&mut self.stream_buf);
        let mut base = self.stream_base;
        let mut eof = false;
        let mut state = MachineState::default();
        let mut scratch: Option<Vec<u8>> = None;
        let start_abs = base;
        loop {
            // The input from `buf[0]` up to the end of the last complete opcode.
            let complete = loop {
                match complete_prefix(&buf, &self.options) {
                    Scan::Complete(end) if end > 0 => break end,
                    _ if eof => break 0,
                    Scan::Complete(_) => {}
                    Scan::TooLarge => {
                        let what = "data bytes";
                        let limit = self.options.limits.max_data_bytes as u64;
                        return Err(Error::new(
                            base,
                            buf.first().and_then(|&b| Opcode::from_byte(b)),
                            ErrorKind::LimitExceeded { what, limit },
                        ));
                    }
                }
                let block = scratch.get_or_insert_with(|| vec![0u8; 1 << 16]);
                match read_block(reader, block, &mut buf) {
                    Ok(0) => eof = true,
                    Ok(_) => {}
                    Err(e) => {
                        return Err(Error::new(
                            base + buf.len() as u64,
                            None,
                            type_error("OSError", e.to_string()),
                        ))
                    }
                }
            };
            let mut m = self.machine(&buf, 0, std::mem::take(&mut state), base, false);
            m.start_abs = start_abs;
            // At the end of the input the rest runs whole, exactly as the slice loader would
            // run it (truncated opcodes give the same errors).
            if !eof {
                m.chunked = true;
                m.chunk_end = complete;
            }
            let (result, mut next, consumed) = m.run();
            next.frame_end = next.frame_end.map(|e| e.saturating_sub(consumed));
            state = next;
            match result? {
                Some(loaded) => {
                    buf.drain(..consumed);
                    self.stream_buf = buf;
                    self.stream_base = base + consumed as u64;
                    return Ok(loaded);
                }
                None => {
                    buf.drain(..consumed);
                    base += consumed as u64;
                }
            }
        }
    }
}

/// What a suspended machine carries from one input window to the next.
#[derive(Default)]
struct MachineState {
    stack: Vec<NodeId>,
    marks: Vec<usize>,
    proto: u8,
    max_proto: u8,
    frame_end: Option<usize>,
}

/// Reads what `reader` has (up to one block) onto the end of `buf`, through `block` (a
/// zeroed scratch buffer reused across reads); `Ok(0)` at end of input. One `read` call: a
/// pipe is never asked to wait for more than it has.
fn read_block<R: std::io::Read>(
    reader: &mut R,
    block: &mut [u8],
    buf: &mut Vec<u8>,
) -> std::io::Result<usize> {
    loop {
        match reader.read(block) {
            Ok(n) => {
                buf.extend_from_slice(&block[..n]);
                return Ok(n);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Result of scanning buffered input for complete opcodes.
enum Scan {
    /// Opcodes up to this offset are complete (0: not even the first one).
    Complete(usize),
    /// The first incomplete opcode announces a payload above `max_data_bytes`.
    TooLarge,
}

/// How far `buf` holds complete opcodes (argument and payload present; for `FRAME`, the whole
/// frame, which CPython's C unpickler checks is there). Malformed arguments (negative counts,
/// unknown opcodes) count as complete: the machine reports them.
fn complete_prefix(buf: &[u8], options: &LoadOptions) -> Scan {
    let mut pos = 0;
    while pos < buf.len() {
        match opcode_extent(&buf[pos..], options) {
            Extent::Complete(n) => pos += n,
            Extent::Incomplete => break,
            Extent::TooLarge if pos == 0 => return Scan::TooLarge,
            Extent::TooLarge => break,
        }
    }
    Scan::Complete(pos)
}

/// Length of one opcode with its argument, if buffered whole.
enum Extent {
    Complete(usize),
    Incomplete,
    TooLarge,
}

fn opcode_extent(b: &[u8], options: &LoadOptions) -> Extent {
    use crate::opcodes::ArgKind as K;
    let Some(op) = Opcode::from_byte(b[0]) else {
        return Extent::Complete(1);
    };
    let fixed = |n: usize| {
        if b.len() >= n {
            Extent::Complete(n)
        } else {
            Extent::Incomplete
        }
    };
    let line = |from: usize| {
        b.get(from..)
            .and_then(|r| r.iter().position(|&c| c == b'\n'))
    };
    let counted = |header: usize, n: u64| {
        if n > options.limits.max_data_bytes as u64 {
            return Extent::TooLarge;
        }
        match (header as u64).checked_add(n) {
            Some(total) if (b.len() as u64) >= total => Extent::Complete(total as usize),
            _ => Extent::Incomplete,
        }
    };
    let le = |from: usize, width: usize| -> Option<u64> {
        let s = b.get(from..from + width)?;
        let mut a = [0u8; 8];
        a[..width].copy_from_slice(s);
        Some(u64::from_le_bytes(a))
    };
    match op.arg_kind() {
        None => Extent::Complete(1),
        Some(K::Uint1) => fixed(2),
        Some(K::Uint2) => fixed(3),
        Some(K::Int4 | K::Uint4) => fixed(5),
        Some(K::Float8) => fixed(9),
        Some(K::Uint8) => {
            let Some(n) = le(1, 8) else {
                return Extent::Incomplete;
            };
            // FRAME: the whole frame must be buffered for the C unpickler's check, unless
            // the machine refuses the length outright.
            if op == Opcode::Frame && n <= options.limits.max_frame_size && n <= i64::MAX as u64 {
                return match 9u64.checked_add(n) {
                    Some(total) if (b.len() as u64) >= total => Extent::Complete(9),
                    _ => Extent::Incomplete,
                };
            }
            Extent::Complete(9)
        }
        Some(
            K::DecimalnlShort
            | K::DecimalnlLong
            | K::Floatnl
            | K::Stringnl
            | K::StringnlNoescape
            | K::Unicodestringnl,
        ) => match line(1) {
            Some(i) => Extent::Complete(1 + i + 1),
            None => Extent::Incomplete,
        },
        Some(K::StringnlNoescapePair) => match line(1) {
            Some(i) => match line(1 + i + 1) {
                Some(j) => Extent::Complete(1 + i + 1 + j + 1),
                None => Extent::Incomplete,
            },
            None => Extent::Incomplete,
        },
        Some(K::String1 | K::Bytes1 | K::Unicodestring1 | K::Long1) => match b.get(1) {
            Some(&n) => counted(2, n as u64),
            None => Extent::Incomplete,
        },
        Some(K::String4 | K::Long4) => match le(1, 4) {
            Some(n) if (n as u32 as i32) < 0 => Extent::Complete(5),
            Some(n) => counted(5, n),
            None => Extent::Incomplete,
        },
        Some(K::Bytes4 | K::Unicodestring4) => match le(1, 4) {
            Some(n) => counted(5, n),
            None => Extent::Incomplete,
        },
        Some(K::Bytes8 | K::Bytearray8 | K::Unicodestring8) => match le(1, 8) {
            // Beyond what any input can hold: the machine reports it without the payload.
            Some(n) if n > (isize::MAX as u64) - 64 => Extent::Complete(9),
            Some(n) => counted(9, n),
            None => Extent::Incomplete,
        },
    }
}

struct Machine<'d, 'l> {
    data: &'d [u8],
    pos: usize,
    op_offset: usize,
    op: Option<Opcode>,
    stack: Vec<NodeId>,
    marks: Vec<usize>,
    proto: u8,
    max_proto: u8,
    /// Pure-Python strictness only: end of the current frame.
    frame_end: Option<usize>,
    /// Stream offset of `data[0]` (streaming loads run over a window of the input).
    base: u64,
    /// Stream offset of the pickle's first opcode.
    start_abs: u64,
    /// Streaming: opcodes before this offset are complete; the machine suspends here.
    chunk_end: usize,
    /// Streaming: suspend (return `None`) at `chunk_end` instead of running on.
    chunked: bool,
    // Copies of hot options (read on every opcode).
    record_steps: bool,
    max_stack: usize,
    max_nodes: usize,
    max_memo_entries: usize,
    max_data_bytes: usize,
    /// Largest memo key accepted (the limit, and CPython's C `MemoryError` when emulated).
    memo_key_cap: u64,
    /// Verbatim payloads reference the input (`Loader::load_shared_at`).
    shared: bool,
    loader: &'l mut Loader,
}

impl<'d> Machine<'d, '_> {
    #[cold]
    #[inline(never)]
    fn err(&self, kind: ErrorKind) -> Error {
        Error::new(self.base + self.op_offset as u64, self.op, kind)
    }

    fn strict(&self) -> bool {
        self.loader.options.strictness == Strictness::Python
    }

    fn bare(&self) -> bool {
        self.loader.options.environment == Environment::BareCPython
    }

    /// Pure-Python frame bookkeeping before reading `n` bytes.
    fn frame_check(&mut self, n: usize) -> Result<()> {
        if let Some(end) = self.frame_end {
            if self.pos >= end {
                self.frame_end = None;
            } else if self.pos + n > end {
                return Err(self.err(ErrorKind::FrameViolation(
                    "pickle exhausted before end of frame",
                )));
            }
        }
        Ok(())
    }

    #[inline(always)]
    fn take(&mut self, n: usize) -> Result<&'d [u8]> {
        if self.frame_end.is_some() {
            self.frame_check(n)?;
        }
        match self
            .pos
            .checked_add(n)
            .and_then(|e| self.data.get(self.pos..e))
        {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(self.err(if self.strict() {
                ErrorKind::Eof
            } else {
                truncated()
            })),
        }
    }

    #[inline(always)]
    fn take_array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// A line including its `\n`.
    fn line(&mut self) -> Result<&'d [u8]> {
        let rest = &self.data[self.pos..];
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                if let Some(end) = self.frame_end {
                    if self.pos >= end {
                        self.frame_end = None;
                    } else if self.pos + i + 1 > end {
                        return Err(self.err(ErrorKind::FrameViolation(
                            "pickle exhausted before end of frame",
                        )));
                    }
                }
                self.pos += i + 1;
                Ok(&rest[..=i])
            }
            None => Err(self.err(truncated())),
        }
    }

    /// A line of at least one character before the newline (C's `len < 2` check).
    fn line2(&mut self) -> Result<&'d [u8]> {
        let l = self.line()?;
        if l.len() < 2 {
            return Err(self.err(truncated()));
        }
        Ok(l)
    }

    #[inline(always)]
    fn push_node(&mut self, kind: NodeKind) -> Result<NodeId> {
        if self.loader.graph.nodes.len() >= self.max_nodes {
            return Err(self.err(ErrorKind::LimitExceeded {
                what: "nodes",
                limit: self.loader.options.limits.max_nodes as u64,
            }));
        }
        let op = self.op.unwrap_or(Opcode::Stop);
        Ok(self
            .loader
            .graph
            .push(kind, op, self.base + self.op_offset as u64))
    }

    fn push_data(&mut self, bytes: &[u8]) -> Result<crate::graph::Span> {
        let g = &mut self.loader.graph;
        if g.data.len().saturating_add(bytes.len()) > self.loader.options.limits.max_data_bytes {
            return Err(self.err(ErrorKind::LimitExceeded {
                what: "data bytes",
                limit: self.loader.options.limits.max_data_bytes as u64,
            }));
        }
        Ok(g.push_data(bytes))
    }

    /// The span of a verbatim payload `raw` (a slice of the input): a reference into the
    /// shared input when sharing, else a copy in the graph's data.
    #[inline(always)]
    fn payload_span(&mut self, raw: &[u8]) -> Result<Span> {
        if self.shared {
            let base = self.data.as_ptr() as usize;
            let at = (raw.as_ptr() as usize).wrapping_sub(base);
            if at <= self.data.len() && raw.len() <= self.data.len() - at {
                return Ok(Span {
                    start: at | Span::SHARED,
                    len: raw.len(),
                });
            }
        }
        self.push_data(raw)
    }

    #[inline(always)]
    fn push(&mut self, id: NodeId) -> Result<()> {
        if self.stack.len() >= self.max_stack {
            return Err(self.err(ErrorKind::LimitExceeded {
                what: "stack",
                limit: self.loader.options.limits.max_stack as u64,
            }));
        }
        self.stack.push(id);
        Ok(())
    }

    #[inline]
    fn fence(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn underflow(&self) -> Error {
        self.err(if self.marks.is_empty() {
            ErrorKind::StackUnderflow
        } else {
            ErrorKind::MarkBlocks
        })
    }

    #[inline]
    fn pop(&mut self) -> Result<NodeId> {
        if self.stack.len() <= self.fence() {
            return Err(self.underflow());
        }
        Ok(self.stack.pop().unwrap_or(NodeId(0)))
    }

    #[inline]
    fn top(&self) -> Result<NodeId> {
        if self.stack.len() <= self.fence() {
            return Err(self.underflow());
        }
        Ok(self.stack[self.stack.len() - 1])
    }

    /// Pops the topmost mark and returns its stack position.
    fn marker(&mut self) -> Result<usize> {
        self.marks.pop().ok_or_else(|| self.err(ErrorKind::NoMark))
    }

    #[inline(always)]
    fn step(&mut self, node: Option<NodeId>, arg: u64, raw: Option<&[u8]>) -> Result<()> {
        if self.record_steps {
            return self.record_step(node, arg, raw);
        }
        Ok(())
    }

    #[inline(never)]
    fn record_step(&mut self, node: Option<NodeId>, arg: u64, raw: Option<&[u8]>) -> Result<()> {
        let raw = match raw {
            Some(r) => Some(self.push_data(r)?),
            None => None,
        };
        let op = self.op.unwrap_or(Opcode::Stop);
        self.loader.graph.steps.push(Step {
            offset: self.base + self.op_offset as u64,
            op,
            node,
            arg,
            raw,
        });
        Ok(())
    }

    fn kind(&self, id: NodeId) -> &NodeKind {
        self.loader.graph.kind(id)
    }

    /// True for nodes whose Python type the reader cannot know.
    fn symbolic(&self, id: NodeId) -> bool {
        matches!(
            self.kind(id),
            NodeKind::Global(_)
                | NodeKind::Object(_)
                | NodeKind::Persistent { .. }
                | NodeKind::Ext { .. }
                | NodeKind::Buffer { .. }
        )
    }

    fn py_type(&self, id: NodeId) -> &'static str {
        self.loader.graph.type_name(id)
    }

    /// CPython's "unhashable type" check for a dict key or set item of known type.
    #[inline]
    fn check_hashable(&mut self, id: NodeId) -> Result<()> {
        match self.kind(id) {
            NodeKind::List(_) | NodeKind::Dict(_) | NodeKind::Set(_) | NodeKind::ByteArray(_) => {
                self.check_hashable_slow(id)
            }
            NodeKind::Tuple(items)
                if !items.is_empty() && !self.loader.hashable_tuples.contains(&id) =>
            {
                self.check_hashable_slow(id)
            }
            _ => Ok(()),
        }
    }

    /// Walks a tuple's elements (iteratively). Tuples are immutable, so a tuple found hashable
    /// once is remembered: hostile input reusing a huge tuple as a key costs one walk, and a
    /// shared tuple DAG is walked once per node, not once per path.
    fn check_hashable_slow(&mut self, id: NodeId) -> Result<()> {
        // (On error the load fails, so tuples marked on the way never matter.)
        let mut todo = vec![id];
        while let Some(n) = todo.pop() {
            match self.loader.graph.kind(n) {
                NodeKind::List(_)
                | NodeKind::Dict(_)
                | NodeKind::Set(_)
                | NodeKind::ByteArray(_) => {
                    return Err(self.err(type_error(
                        "TypeError",
                        format!("unhashable type: '{}'", self.py_type(n)),
                    )))
                }
                NodeKind::Tuple(items) if self.loader.hashable_tuples.insert(n) => {
                    todo.extend(items.iter().copied());
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn is_str(&self, id: NodeId) -> bool {
        match self.kind(id) {
            NodeKind::Str(_) => true,
            NodeKind::Py2Str(_) => self.loader.graph.encoding != Py2Encoding::Bytes,
            _ => false,
        }
    }

    fn str_text(&self, id: NodeId) -> String {
        let g = &self.loader.graph;
        match g.kind(id) {
            NodeKind::Str(s) => {
                crate::pystr::PyStr::from_validated(g.bytes_of(*s)).to_string_lossy()
            }
            NodeKind::Py2Str(_) => g.py2_str_text(id).unwrap_or_default(),
            _ => String::new(),
        }
    }

    fn stdlib(&self) -> (&'static [&'static str], &'static [&'static str]) {
        match self.loader.options.python {
            (3, m) if m >= 13 => (&names::STDLIB_3_13, &names::BUILTINS_3_13),
            (3, 12) => (&names::STDLIB_3_12, &names::BUILTINS_3_12),
            (3, 11) => (&names::STDLIB_3_11, &names::BUILTINS_3_11),
            _ => (&names::STDLIB_3_10, &names::BUILTINS_3_10),
        }
    }

    /// Builds a `Global` node the way `find_class` would resolve it.
    fn make_global(
        &mut self,
        module: String,
        name: String,
        from_stack: Option<(NodeId, NodeId)>,
    ) -> Result<NodeId> {
        let (mut rmod, mut rname) = (module.clone(), name.clone());
        if self.proto < 3 && self.loader.options.fix_imports {
            let py313 = self.loader.options.python >= (3, 13);
            if let Some((_, (m, n))) = names::NAME_MAPPING
                .iter()
                .find(|((m, n), _)| *m == module && *n == name)
            {
                rmod = m.to_string();
                rname = n.to_string();
            } else if let Some((_, m)) = names::IMPORT_MAPPING
                .iter()
                .find(|(m, _)| *m == module && !(py313 && *m == "Tix"))
            {
                rmod = m.to_string();
            }
        }
        if self.proto < 4 && rname.contains('.') {
            return Err(self.err(ErrorKind::Global {
                exception: "AttributeError",
                message: format!("Can't get attribute '{rname}' on <module '{rmod}'>"),
            }));
        }
        if self.bare() {
            let (stdlib, builtins) = self.stdlib();
            let top = rmod.split('.').next().unwrap_or("");
            if !stdlib.contains(&top) {
                return Err(self.err(ErrorKind::Global {
                    exception: "ModuleNotFoundError",
                    message: format!("No module named {}", repr_str_bytes(rmod.as_bytes())),
                }));
            }
            let first = rname.split('.').next().unwrap_or("");
            if rmod == "builtins" && !builtins.contains(&first) {
                return Err(self.err(ErrorKind::Global {
                    exception: "AttributeError",
                    message: format!(
                        "Can't get attribute '{rname}' on <module 'builtins' (built-in)>"
                    ),
                }));
            }
        }
        let proto = self.proto;
        self.push_node(NodeKind::Global(Box::new(Global {
            module,
            name,
            resolved_module: rmod,
            resolved_name: rname,
            proto,
            from_stack,
        })))
    }

    fn decode_line_utf8(&self, line: &[u8]) -> Result<String> {
        let s = &line[..line.len() - 1];
        match std::str::from_utf8(s) {
            Ok(t) => Ok(t.to_string()),
            Err(e) => {
                let start = e.valid_up_to();
                let end = start + e.error_len().unwrap_or(s.len() - start).max(1);
                let reason = match e.error_len() {
                    None => "unexpected end of data",
                    Some(_) if s[start] >= 0xF5 || (0x80..0xC2).contains(&s[start]) => {
                        "invalid start byte"
                    }
                    Some(_) => "invalid continuation byte",
                };
                Err(self.err(ErrorKind::Decode(decode_error_message(
                    "utf-8", s, start, end, reason,
                ))))
            }
        }
    }

    fn decode_line_ascii(&self, line: &[u8]) -> Result<String> {
        let s = &line[..line.len() - 1];
        match s.iter().position(|&b| b >= 0x80) {
            None => Ok(String::from_utf8_lossy(s).into_owned()),
            Some(p) => Err(self.err(ErrorKind::Decode(decode_error_message(
                "ascii",
                s,
                p,
                p + 1,
                "ordinal not in range(128)",
            )))),
        }
    }

    /// Python-2 string: check it decodes under the encoding, then make the node.
    fn py2_str(&mut self, raw: &[u8]) -> Result<NodeId> {
        match self.loader.options.encoding {
            Py2Encoding::Ascii => {
                if let Some(p) = raw.iter().position(|&b| b >= 0x80) {
                    return Err(self.err(ErrorKind::Decode(decode_error_message(
                        "ascii",
                        raw,
                        p,
                        p + 1,
                        "ordinal not in range(128)",
                    ))));
                }
            }
            Py2Encoding::Utf8 => {
                if let Err(e) = std::str::from_utf8(raw) {
                    let p = e.valid_up_to();
                    return Err(self.err(ErrorKind::Decode(decode_error_message(
                        "utf-8",
                        raw,
                        p,
                        p + 1,
                        "invalid start byte",
                    ))));
                }
            }
            Py2Encoding::Latin1 | Py2Encoding::Bytes => {}
        }
        let span = self.payload_span(raw)?;
        self.push_node(NodeKind::Py2Str(span))
    }

    fn utf8_str(&mut self, raw: &[u8]) -> Result<NodeId> {
        if let Err((a, b, r)) = validate_surrogatepass_range(raw) {
            return Err(self.err(ErrorKind::Decode(decode_error_message(
                "utf-8", raw, a, b, r,
            ))));
        }
        let span = self.payload_span(raw)?;
        self.push_node(NodeKind::Str(span))
    }

    fn int_node(&mut self, arg: Arg<'_>) -> Result<NodeId> {
        match arg {
            Arg::Int(v) => self.push_node(NodeKind::Int(v)),
            Arg::Bool(b) => self.push_node(NodeKind::Bool(b)),
            Arg::BigInt(b) => self.push_node(NodeKind::BigInt(b)),
            _ => self.push_node(NodeKind::Int(0)),
        }
    }

    /// Length field of a counted payload, checked against the input (never allocates first).
    #[inline(always)]
    fn counted(&mut self, n: u64) -> Result<&'d [u8]> {
        let remaining = (self.data.len() - self.pos) as u64;
        if n > remaining {
            return Err(self.err(if n > (isize::MAX as u64) - 64 {
                ErrorKind::TooLarge
            } else if self.strict() {
                ErrorKind::Eof
            } else {
                truncated()
            }));
        }
        self.take(n as usize)
    }

    #[inline(always)]
    fn memo_put(&mut self, key: u64) -> Result<()> {
        let top = self.top()?;
        if key > self.memo_key_cap {
            return Err(self.err(ErrorKind::MemoTooLarge(key)));
        }
        // Fast path: a slot of the dense array (the common case: small sequential keys).
        let memo = &mut self.loader.memo;
        match memo.dense.get_mut(key as usize) {
            Some(slot) if *slot != NO_NODE || memo.len < self.max_memo_entries => {
                if *slot == NO_NODE {
                    memo.len += 1;
                }
                *slot = top.0;
            }
            _ => self.memo_put_slow(key, top)?,
        }
        self.step(Some(top), key, None)
    }

    #[inline(never)]
    fn memo_put_slow(&mut self, key: u64, top: NodeId) -> Result<()> {
        if self.loader.memo.len >= self.max_memo_entries && self.loader.memo.get(key).is_none() {
            return Err(self.err(ErrorKind::LimitExceeded {
                what: "memo entries",
                limit: self.loader.options.limits.max_memo_entries as u64,
            }));
        }
        self.loader.memo.put(key, top);
        Ok(())
    }

    #[inline(always)]
    fn memo_get(&mut self, key: u64, shown: i64) -> Result<()> {
        match self.loader.memo.get(key) {
            Some(id) => {
                self.push(id)?;
                self.step(Some(id), key, None)
            }
            None => Err(self.err(ErrorKind::MemoMissing(shown))),
        }
    }

    /// Limits on integer text before parsing it: CPython 3.11+'s digit limit (when emulated)
    /// and our hard cap (decimal parsing is quadratic in the number of digits).
    fn check_int_text(&self, line: &[u8]) -> Result<()> {
        let limits = &self.loader.options.limits;
        if line.len() > limits.max_decimal_digits {
            return Err(self.err(ErrorKind::LimitExceeded {
                what: "integer text digits",
                limit: limits.max_decimal_digits as u64,
            }));
        }
        if let Some(max) = limits.max_int_digits {
            let digits = line.iter().filter(|b| b.is_ascii_digit()).count();
            if digits > max {
                return Err(self.err(ErrorKind::BadLiteral(format!(
                    "Exceeds the limit ({max} digits) for integer string conversion: value has {digits} digits; use sys.set_int_max_str_digits() to increase the limit"
                ))));
            }
        }
        Ok(())
    }

    fn parse_base10_line(&self, line: &[u8]) -> Result<Arg<'static>> {
        self.check_int_text(line)?;
        py_int_base10(line, self.loader.options.limits.max_int_digits).map_err(|_| {
            let text: String = line.iter().map(|&b| b as char).collect();
            self.err(ErrorKind::BadLiteral(format!(
                "invalid literal for int() with base 10: {}",
                repr_str_bytes(text.as_bytes())
            )))
        })
    }

    fn record_mutation(&mut self, target: NodeId, m: Mutation) {
        self.loader.graph.mutation_log.push((target, m));
    }

    /// `APPEND`/`APPENDS` onto `target` (CPython's `do_append` rules).
    fn append_items(&mut self, target: NodeId, items: Vec<NodeId>, batch: bool) -> Result<()> {
        let kind_name = self.py_type(target);
        let symbolic = self.symbolic(target);
        match &mut self.loader.graph.nodes[target.index()].kind {
            NodeKind::List(v) => {
                v.extend_from_slice(&items);
                return Ok(());
            }
            _ if symbolic => {}
            _ => {
                return Err(self.err(type_error(
                    "AttributeError",
                    format!("'{kind_name}' object has no attribute 'append'"),
                )))
            }
        }
        let m = if batch {
            Mutation::Extend(items)
        } else {
            Mutation::Append(items[0])
        };
        self.record_mutation(target, m);
        Ok(())
    }

    fn set_items(
        &mut self,
        target: NodeId,
        pairs: Vec<(NodeId, NodeId)>,
        batch: bool,
    ) -> Result<()> {
        let symbolic = self.symbolic(target);
        let kind_name = self.py_type(target);
        let is_dict = matches!(self.kind(target), NodeKind::Dict(_));
        if matches!(
            self.kind(target),
            NodeKind::List(_) | NodeKind::ByteArray(_)
        ) {
            return self.assign_items(target, &pairs, batch);
        }
        if !is_dict && !symbolic {
            return Err(self.err(type_error(
                "TypeError",
                format!("'{kind_name}' object does not support item assignment"),
            )));
        }
        if is_dict {
            for &(k, _) in &pairs {
                self.check_hashable(k)?;
            }
            if let NodeKind::Dict(v) = &mut self.loader.graph.nodes[target.index()].kind {
                v.extend_from_slice(&pairs);
            }
            return Ok(());
        }
        let m = if batch {
            Mutation::SetItems(pairs)
        } else {
            Mutation::SetItem(pairs[0].0, pairs[0].1)
        };
        self.record_mutation(target, m);
        Ok(())
    }

    /// `SETITEM`/`SETITEMS` on a list or bytearray: `target[key] = value` for each pair, in
    /// order, with the checks and messages of CPython's `list`/`bytearray` item assignment
    /// (key type, then for a bytearray the byte value, then the index range). A key (or byte
    /// value) whose Python type is unknown (a symbolic node) cannot be judged: that pair and
    /// the rest are recorded as a mutation of the target instead.
    fn assign_items(
        &mut self,
        target: NodeId,
        pairs: &[(NodeId, NodeId)],
        batch: bool,
    ) -> Result<()> {
        let is_list = matches!(self.kind(target), NodeKind::List(_));
        let container = if is_list { "list" } else { "bytearray" };
        for (i, &(k, v)) in pairs.iter().enumerate() {
            if self.symbolic(k) || (!is_list && self.symbolic(v)) {
                let m = if batch {
                    Mutation::SetItems(pairs[i..].to_vec())
                } else {
                    Mutation::SetItem(k, v)
                };
                self.record_mutation(target, m);
                return Ok(());
            }
            let index = match self.kind(k) {
                NodeKind::Int(i) => *i,
                NodeKind::Bool(b) => *b as i64,
                NodeKind::BigInt(_) => {
                    return Err(self.err(type_error(
                        "IndexError",
                        "cannot fit 'int' into an index-sized integer".to_string(),
                    )))
                }
                _ => {
                    return Err(self.err(type_error(
                        "TypeError",
                        format!(
                            "{container} indices must be integers or slices, not {}",
                            self.py_type(k)
                        ),
                    )))
                }
            };
            let byte = if is_list {
                0
            } else {
                match self.kind(v) {
                    NodeKind::Int(x) if (0..256).contains(x) => *x as u8,
                    NodeKind::Bool(b) => *b as u8,
                    NodeKind::Int(_) | NodeKind::BigInt(_) => {
                        return Err(self.err(type_error(
                            "ValueError",
                            "byte must be in range(0, 256)".to_string(),
                        )))
                    }
                    _ => {
                        return Err(self.err(type_error(
                            "TypeError",
                            format!(
                                "'{}' object cannot be interpreted as an integer",
                                self.py_type(v)
                            ),
                        )))
                    }
                }
            };
            let len = match self.kind(target) {
                NodeKind::List(items) => items.len(),
                NodeKind::ByteArray(span) => span.len,
                _ => 0,
            } as i64;
            let at = if index < 0 { index + len } else { index };
            if at < 0 || at >= len {
                return Err(self.err(type_error(
                    "IndexError",
                    if is_list {
                        "list assignment index out of range".to_string()
                    } else {
                        "bytearray index out of range".to_string()
                    },
                )));
            }
            let g = &mut self.loader.graph;
            match &mut g.nodes[target.index()].kind {
                NodeKind::List(items) => items[at as usize] = v,
                NodeKind::ByteArray(span) => g.data[span.start + at as usize] = byte,
                _ => {}
            }
        }
        Ok(())
    }

    fn check_callable(&self, id: NodeId) -> Result<()> {
        if self.symbolic(id) {
            return Ok(());
        }
        Err(self.err(type_error(
            "TypeError",
            format!("'{}' object is not callable", self.py_type(id)),
        )))
    }

    /// Runs the most frequent opcodes of real pickles when nothing unusual can happen (no
    /// step recording, no pure-Python frame bookkeeping, in-range arguments, no limit or
    /// error). Returns false, having changed nothing, whenever the general path must decide;
    /// the general path then runs the same opcode with every check. Keeping this small and
    /// branch-light is what makes memo-heavy and string-heavy pickles fast.
    #[inline(always)]
    fn fast_op(&mut self) -> bool {
        let pos = self.pos;
        let data = self.data;
        let Some(&b) = data.get(pos) else {
            return false;
        };
        match b {
            // LONG_BINGET / BINGET: push a memoized node.
            0x6a | 0x68 => {
                let (key, width) = if b == 0x6a {
                    let Some(a) = data.get(pos + 1..pos + 5) else {
                        return false;
                    };
                    (u32::from_le_bytes([a[0], a[1], a[2], a[3]]) as usize, 5)
                } else {
                    let Some(&k) = data.get(pos + 1) else {
                        return false;
                    };
                    (k as usize, 2)
                };
                let Some(&v) = self.loader.memo.dense.get(key) else {
                    return false;
                };
                if v == NO_NODE || self.stack.len() >= self.max_stack {
                    return false;
                }
                self.stack.push(NodeId(v));
                self.max_proto = self.max_proto.max(Opcode::LongBinget.proto());
                // Memo references come in runs (a list of shared objects is a run of GETs
                // between MARK and APPENDS): take the following ones in a tight loop. Any
                // one that needs a check falls back to the general path.
                let memo = &self.loader.memo.dense;
                let mut at = pos + width;
                loop {
                    let (key, width) = match data.get(at) {
                        Some(0x6a) => match data.get(at + 1..at + 5) {
                            Some(a) => (u32::from_le_bytes([a[0], a[1], a[2], a[3]]) as usize, 5),
                            None => break,
                        },
                        Some(0x68) => match data.get(at + 1) {
                            Some(&k) => (k as usize, 2),
                            None => break,
                        },
                        _ => break,
                    };
                    match memo.get(key) {
                        Some(&v) if v != NO_NODE && self.stack.len() < self.max_stack => {
                            self.stack.push(NodeId(v));
                            at += width;
                        }
                        _ => break,
                    }
                }
                self.pos = at;
                true
            }
            // MEMOIZE / BINPUT: store the top of the stack in a dense memo slot.
            0x94 | 0x71 => {
                let (key, width, proto) = if b == 0x94 {
                    (self.loader.memo.len, 1, Opcode::Memoize.proto())
                } else {
                    let Some(&k) = data.get(pos + 1) else {
                        return false;
                    };
                    (k as usize, 2, Opcode::Binput.proto())
                };
                let len = self.stack.len();
                if len <= self.fence() || key as u64 > self.memo_key_cap {
                    return false;
                }
                let top = self.stack[len - 1];
                let memo = &mut self.loader.memo;
                match memo.dense.get_mut(key) {
                    Some(slot) if *slot != NO_NODE => *slot = top.0,
                    Some(slot) if memo.len < self.max_memo_entries => {
                        *slot = top.0;
                        memo.len += 1;
                    }
                    _ => return false,
                }
                self.pos = pos + width;
                self.max_proto = self.max_proto.max(proto);
                true
            }
            // MARK.
            0x28 => {
                self.marks.push(self.stack.len());
                self.pos = pos + 1;
                true
            }
            // SHORT_BINUNICODE: a str node whose text is copied into the graph.
            0x8c => {
                let Some(&n) = data.get(pos + 1) else {
                    return false;
                };
                let Some(raw) = data.get(pos + 2..pos + 2 + n as usize) else {
                    return false;
                };
                let g = &self.loader.graph;
                if g.nodes.len() >= self.max_nodes
                    || self.stack.len() >= self.max_stack
                    || (!self.shared && g.data.len() + raw.len() > self.max_data_bytes)
                    || validate_surrogatepass_range(raw).is_err()
                {
                    return false;
                }
                let g = &mut self.loader.graph;
                let span = if self.shared {
                    Span {
                        start: (pos + 2) | Span::SHARED,
                        len: raw.len(),
                    }
                } else {
                    g.push_data(raw)
                };
                let id = g.push(
                    NodeKind::Str(span),
                    Opcode::ShortBinunicode,
                    self.base + pos as u64,
                );
                self.stack.push(id);
                self.pos = pos + 2 + n as usize;
                self.max_proto = self.max_proto.max(Opcode::ShortBinunicode.proto());
                true
            }
            // BININT1 / NONE / EMPTY_LIST / EMPTY_DICT / NEWTRUE / NEWFALSE: a new scalar or
            // empty container.
            0x4b | 0x4e | 0x5d | 0x7d | 0x88 | 0x89 => {
                let (kind, width, op) = match b {
                    0x4b => {
                        let Some(&v) = data.get(pos + 1) else {
                            return false;
                        };
                        (NodeKind::Int(v as i64), 2, Opcode::Binint1)
                    }
                    0x4e => (NodeKind::None, 1, Opcode::None),
                    0x5d => (NodeKind::List(Vec::new()), 1, Opcode::EmptyList),
                    0x7d => (NodeKind::Dict(Vec::new()), 1, Opcode::EmptyDict),
                    0x88 => (NodeKind::Bool(true), 1, Opcode::Newtrue),
                    _ => (NodeKind::Bool(false), 1, Opcode::Newfalse),
                };
                if self.loader.graph.nodes.len() >= self.max_nodes
                    || self.stack.len() >= self.max_stack
                {
                    return false;
                }
                let id = self.loader.graph.push(kind, op, self.base + pos as u64);
                self.stack.push(id);
                self.pos = pos + width;
                self.max_proto = self.max_proto.max(op.proto());
                true
            }
            _ => false,
        }
    }

    /// Runs to `STOP` (`Some`), or, for a chunked machine, until `chunk_end` (`None`); also
    /// returns the state to resume from and the position reached. Takes the machine by value
    /// so that the optimiser can keep its fields in registers in the opcode loop.
    fn run(mut self) -> (Result<Option<Loaded>>, MachineState, usize) {
        let result = self.run_loop();
        let state = MachineState {
            stack: std::mem::take(&mut self.stack),
            marks: std::mem::take(&mut self.marks),
            proto: self.proto,
            max_proto: self.max_proto,
            frame_end: self.frame_end,
        };
        (result, state, self.pos)
    }

    #[inline(always)]
    fn run_loop(&mut self) -> Result<Option<Loaded>> {
        let strict = self.strict();
        let fast = !self.record_steps;
        loop {
            // The fast path never runs past `chunk_end`: the opcode there is incomplete (the
            // scanner stopped at it) and the fast path only runs opcodes whose argument is
            // fully present (or, for a too-large payload, within `max_data_bytes`), so the
            // chunk check can stay off the hot path.
            if fast && self.frame_end.is_none() && self.fast_op() {
                continue;
            }
            if self.chunked && self.pos >= self.chunk_end {
                return Ok(None);
            }
            self.op_offset = self.pos;
            self.op = None;
            if self.frame_end.is_some() {
                self.frame_check(1)?;
            }
            let Some(&byte) = self.data.get(self.pos) else {
                return Err(self.err(ErrorKind::Eof));
            };
            self.pos += 1;
            let Some(op) = Opcode::from_byte(byte) else {
                return Err(self.err(ErrorKind::UnknownOpcode(byte)));
            };
            self.op = Some(op);
            self.max_proto = self.max_proto.max(op.proto());
            match op {
                Opcode::Mark => {
                    self.marks.push(self.stack.len());
                    self.step(None, 0, None)?;
                }
                Opcode::Stop => {
                    let root = self.pop()?;
                    self.step(Some(root), 0, None)?;
                    let info = PickleInfo {
                        root,
                        start: self.start_abs,
                        end: self.base + self.pos as u64,
                        proto: self.proto,
                        max_opcode_proto: self.max_proto,
                    };
                    self.loader.graph.pickles.push(info);
                    return Ok(Some(Loaded {
                        root,
                        end: (self.base + self.pos as u64) as usize,
                    }));
                }
                Opcode::Pop => {
                    let len = self.stack.len();
                    if self.marks.last() == Some(&len) {
                        self.marks.pop();
                    } else if len <= self.fence() {
                        return Err(self.underflow());
                    } else {
                        self.stack.pop();
                    }
                    self.step(None, 0, None)?;
                }
                Opcode::PopMark => {
                    let m = self.marker()?;
                    self.stack.truncate(m);
                    self.step(None, 0, None)?;
                }
                Opcode::Dup => {
                    let t = self.top()?;
                    self.push(t)?;
                    self.step(Some(t), 0, None)?;
                }
                Opcode::Put => {
                    let line = self.line2()?;
                    let key = match self.parse_base10_line(line)? {
                        Arg::Int(v) if v < 0 => return Err(self.err(ErrorKind::NegativePut)),
                        Arg::Int(v) => v as u64,
                        Arg::BigInt(b) if b.sign() == num_bigint::Sign::Minus => {
                            return Err(self.err(ErrorKind::NegativePut))
                        }
                        _ => return Err(self.err(ErrorKind::MemoTooLarge(u64::MAX))),
                    };
                    self.memo_put(key)?;
                }
                Opcode::Binput => {
                    let k = self.take_array::<1>()?[0] as u64;
                    self.memo_put(k)?;
                }
                Opcode::LongBinput => {
                    let k = u32::from_le_bytes(self.take_array()?) as u64;
                    self.memo_put(k)?;
                }
                Opcode::Memoize => {
                    let k = self.loader.memo.len as u64;
                    self.memo_put(k)?;
                }
                Opcode::Get => {
                    let line = self.line2()?;
                    match self.parse_base10_line(line)? {
                        Arg::Int(v) if v >= 0 => self.memo_get(v as u64, v)?,
                        Arg::Int(v) => return Err(self.err(ErrorKind::MemoMissing(v))),
                        _ => {
                            return Err(self.err(ErrorKind::BadLiteral(
                                "Python int too large to convert to C ssize_t".to_string(),
                            )))
                        }
                    }
                }
                Opcode::Binget => {
                    let k = self.take_array::<1>()?[0] as u64;
                    self.memo_get(k, k as i64)?;
                }
                Opcode::LongBinget => {
                    let k = u32::from_le_bytes(self.take_array()?) as u64;
                    self.memo_get(k, k as i64)?;
                }
                Opcode::Proto => {
                    let p = self.take_array::<1>()?[0];
                    if p > 5 {
                        return Err(self.err(ErrorKind::UnsupportedProtocol(p)));
                    }
                    self.proto = p;
                    self.step(None, p as u64, None)?;
                }
                Opcode::Frame => {
                    let n = u64::from_le_bytes(self.take_array()?);
                    if n > self.loader.options.limits.max_frame_size {
                        return Err(self.err(ErrorKind::LimitExceeded {
                            what: "frame size",
                            limit: self.loader.options.limits.max_frame_size,
                        }));
                    }
                    if strict {
                        if n > i64::MAX as u64 {
                            return Err(self.err(type_error(
                                "ValueError",
                                format!("frame size > sys.maxsize: {n}"),
                            )));
                        }
                        if let Some(end) = self.frame_end {
                            if self.pos < end {
                                return Err(self.err(ErrorKind::FrameViolation(
                                    "beginning of a new frame before end of current frame",
                                )));
                            }
                        }
                        self.frame_end = Some(
                            self.pos
                                .saturating_add(n.min(usize::MAX as u64) as usize)
                                .min(self.data.len()),
                        );
                    } else {
                        if n > i64::MAX as u64 {
                            return Err(self.err(type_error(
                                "OverflowError",
                                format!(
                                    "FRAME length exceeds system's maximum of {} bytes",
                                    i64::MAX
                                ),
                            )));
                        }
                        if n > (isize::MAX as u64).saturating_sub(self.base + self.pos as u64) {
                            return Err(self.err(ErrorKind::FrameOverflow));
                        }
                        if n > (self.data.len() - self.pos) as u64 {
                            return Err(self.err(truncated()));
                        }
                    }
                    self.loader
                        .graph
                        .frames
                        .push((self.base + self.op_offset as u64, n));
                    self.step(None, n, None)?;
                }
                Opcode::None => {
                    let id = self.push_node(NodeKind::None)?;
                    self.push(id)?;
                    self.step(Some(id), 0, None)?;
                }
                Opcode::Newtrue | Opcode::Newfalse => {
                    let id = self.push_node(NodeKind::Bool(op == Opcode::Newtrue))?;
                    self.push(id)?;
                    self.step(Some(id), 0, None)?;
                }
                Opcode::Int => {
                    let line = self.line2()?;
                    self.check_int_text(line)?;
                    let s = &line[..line.len() - 1];
                    let arg = if strict {
                        match s {
                            b"00" => Arg::Bool(false),
                            b"01" => Arg::Bool(true),
                            _ => py_int_base0(line).map_err(|_| {
                                self.err(ErrorKind::BadLiteral(format!(
                                    "invalid literal for int() with base 0: {}",
                                    repr_str_bytes(
                                        &s.iter()
                                            .map(|&b| b as char)
                                            .collect::<String>()
                                            .into_bytes()
                                    )
                                )))
                            })?,
                        }
                    } else {
                        match c_strtol_full(s) {
                            Some(x) if s.len() == 2 && (x == 0 || x == 1) => Arg::Bool(x == 1),
                            Some(x) => Arg::Int(x),
                            None => py_int_base0(line).map_err(|_| {
                                self.err(ErrorKind::BadLiteral(
                                    "could not convert string to int".to_string(),
                                ))
                            })?,
                        }
                    };
                    let id = self.int_node(arg)?;
                    self.push(id)?;
                    self.step(Some(id), 0, Some(s))?;
                }
                Opcode::Binint => {
                    let v = i32::from_le_bytes(self.take_array()?) as i64;
                    let id = self.push_node(NodeKind::Int(v))?;
                    self.push(id)?;
                    self.step(Some(id), 0, None)?;
                }
                Opcode::Binint1 => {
                    let v = self.take_array::<1>()?[0] as i64;
                    let id = self.push_node(NodeKind::Int(v))?;
                    self.push(id)?;
                    self.step(Some(id), 0, None)?;
                }
                Opcode::Binint2 => {
                    let v = u16::from_le_bytes(self.take_array()?) as i64;
                    let id = self.push_node(NodeKind::Int(v))?;
                    self.push(id)?;
                    self.step(Some(id), 0, None)?;
                }
                Opcode::Long => {
                    let line = self.line2()?;
                    self.check_int_text(line)?;
                    let mut s = line;
                    if s.len() >= 2 && s[s.len() - 2] == b'L' {
                        s = &line[..line.len() - 2];
                    }
                    let arg = py_int_base10(s, self.loader.options.limits.max_int_digits).map_err(
                        |_| {
                            self.err(ErrorKind::BadLiteral(format!(
                                "invalid literal for int() with base 10: {}",
                                repr_str_bytes(
                                    &line
                                        .iter()
                                        .map(|&b| b as char)
                                        .collect::<String>()
                                        .into_bytes()
                                )
                            )))
                        },
                    )?;
                    let id = self.int_node(arg)?;
                    self.push(id)?;
                    self.step(Some(id), 0, Some(&line[..line.len() - 1]))?;
                }
                Opcode::Long1 | Opcode::Long4 => {
                    let n = if op == Opcode::Long1 {
                        self.take_array::<1>()?[0] as i64
                    } else {
                        i32::from_le_bytes(self.take_array()?) as i64
                    };
                    if n < 0 {
                        return Err(self.err(ErrorKind::NegativeLength));
                    }
                    if n as usize > self.loader.options.limits.max_long_bytes {
                        return Err(self.err(ErrorKind::LimitExceeded {
                            what: "LONG payload bytes",
                            limit: self.loader.options.limits.max_long_bytes as u64,
                        }));
                    }
                    let payload = self.counted(n as u64)?;
                    let kind = match decode_long_i64(payload) {
                        Some(v) => NodeKind::Int(v),
                        None => NodeKind::BigInt(Box::new(decode_long(payload))),
                    };
                    let id = self.push_node(kind)?;
                    self.push(id)?;
                    self.step(Some(id), n as u64, None)?;
                }
                Opcode::Float => {
                    let line = self.line2()?;
                    let s = &line[..line.len() - 1];
                    let v = if strict {
                        py_float(line).map_err(|m| self.err(ErrorKind::BadLiteral(m)))?
                    } else {
                        c_float(s).map_err(|k| self.err(k))?
                    };
                    let id = self.push_node(NodeKind::Float(v))?;
                    self.push(id)?;
                    self.step(Some(id), 0, Some(s))?;
                }
                Opcode::Binfloat => {
                    let v = f64::from_be_bytes(self.take_array()?);
                    let id = self.push_node(NodeKind::Float(v))?;
                    self.push(id)?;
                    self.step(Some(id), 0, None)?;
                }
                Opcode::String => {
                    let line = self.line()?;
                    let s = &line[..line.len() - 1];
                    if !(s.len() >= 2 && s[0] == s[s.len() - 1] && (s[0] == b'\'' || s[0] == b'"'))
                    {
                        return Err(self.err(ErrorKind::BadQuote));
                    }
                    let raw = crate::pyrepr::escape_decode(&s[1..s.len() - 1])
                        .map_err(|m| self.err(ErrorKind::BadEscape(m)))?;
                    let id = self.py2_str(&raw)?;
                    self.push(id)?;
                    self.step(Some(id), 0, Some(s))?;
                }
                Opcode::Binstring => {
                    let n = i32::from_le_bytes(self.take_array()?);
                    if n < 0 {
                        return Err(self.err(if strict {
                            ErrorKind::Type {
                                exception: "UnpicklingError",
                                message: "BINSTRING pickle has negative byte count".to_string(),
                            }
                        } else {
                            truncated()
                        }));
                    }
                    let raw = self.counted(n as u64)?;
                    let id = self.py2_str(raw)?;
                    self.push(id)?;
                    self.step(Some(id), 0, None)?;
                }
                Opcode::ShortBinstring => {
                    let n = self.take_array::<1>()?[0] as u64;
                    let raw = self.counted(n)?;
                    let id = self.py2_str(raw)?;
                    self.push(id)?;
                    self.step(Some(id), 0, None)?;
                }
                Opcode::Unicode => {
                    let line = self.line()?;
                    let s = &line[..line.len() - 1];
                    let id = if s.iter().all(|&b| b < 0x80 && b != b'\\') {
                        let span = self.push_data(s)?;
                        self.push_node(NodeKind::Str(span))?
                    } else {
                        let mut out = Vec::with_capacity(s.len() + 8);
                        decode_raw_unicode_escape(s, &mut out).map_err(|(a, b, r)| {
                            self.err(ErrorKind::Decode(decode_error_message(
                                "rawunicodeescape",
                                s,
                                a,
                                b,
                                r,
                            )))
                        })?;
                        let span = self.push_data(&out)?;
                        self.push_node(NodeKind::Str(span))?
                    };
                    self.push(id)?;
                    self.step(Some(id), 0, Some(s))?;
                }
                Opcode::ShortBinunicode | Opcode::Binunicode | Opcode::Binunicode8 => {
                    let n = match op {
                        Opcode::ShortBinunicode => self.take_array::<1>()?[0] as u64,
                        Opcode::Binunicode => u32::from_le_bytes(self.take_array()?) as u64,
                        _ => u64::from_le_bytes(self.take_array()?),
                    };
                    let raw = self.counted(n)?;
                    let id = self.utf8_str(raw)?;
                    self.push(id)?;
                    self.step(Some(id), 0, None)?;
                }
                Opcode::ShortBinbytes
                | Opcode::Binbytes
                | Opcode::Binbytes8
                | Opcode::Bytearray8 => {
                    let n = match op {
                        Opcode::ShortBinbytes => self.take_array::<1>()?[0] as u64,
                        Opcode::Binbytes => u32::from_le_bytes(self.take_array()?) as u64,
                        _ => u64::from_le_bytes(self.take_array()?),
                    };
                    let raw = self.counted(n)?;
                    // Bytearrays are mutable (SETITEM), so always copied.
                    let kind = if op == Opcode::Bytearray8 {
                        NodeKind::ByteArray(self.push_data(raw)?)
                    } else {
                        NodeKind::Bytes(self.payload_span(raw)?)
                    };
                    let id = self.push_node(kind)?;
                    self.push(id)?;
                    self.step(Some(id), 0, None)?;
                }
                Opcode::EmptyTuple | Opcode::EmptyList | Opcode::EmptyDict | Opcode::EmptySet => {
                    let kind = match op {
                        Opcode::EmptyTuple => NodeKind::Tuple(Vec::new()),
                        Opcode::EmptyList => NodeKind::List(Vec::new()),
                        Opcode::EmptyDict => NodeKind::Dict(Vec::new()),
                        _ => NodeKind::Set(Vec::new()),
                    };
                    let id = self.push_node(kind)?;
                    self.push(id)?;
                    self.step(Some(id), 0, None)?;
                }
                Opcode::Tuple | Opcode::List | Opcode::Frozenset => {
                    let m = self.marker()?;
                    let items = self.stack.split_off(m);
                    let n = items.len() as u64;
                    if op == Opcode::Frozenset {
                        for &i in &items {
                            self.check_hashable(i)?;
                        }
                    }
                    let kind = match op {
                        Opcode::Tuple => NodeKind::Tuple(items),
                        Opcode::List => NodeKind::List(items),
                        _ => NodeKind::FrozenSet(items),
                    };
                    let id = self.push_node(kind)?;
                    self.push(id)?;
                    self.step(Some(id), n, None)?;
                }
                Opcode::Tuple1 | Opcode::Tuple2 | Opcode::Tuple3 => {
                    let n = match op {
                        Opcode::Tuple1 => 1,
                        Opcode::Tuple2 => 2,
                        _ => 3,
                    };
                    if self.stack.len() < n || self.stack.len() - n < self.fence() {
                        return Err(self.underflow());
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    let id = self.push_node(NodeKind::Tuple(items))?;
                    self.push(id)?;
                    self.step(Some(id), n as u64, None)?;
                }
                Opcode::Dict => {
                    let m = self.marker()?;
                    let items = self.stack.split_off(m);
                    if items.len() & 1 == 1 {
                        return Err(self.err(ErrorKind::OddItemCount("DICT")));
                    }
                    let mut pairs = Vec::with_capacity(items.len() / 2);
                    for kv in items.chunks_exact(2) {
                        self.check_hashable(kv[0])?;
                        pairs.push((kv[0], kv[1]));
                    }
                    let n = pairs.len() as u64;
                    let id = self.push_node(NodeKind::Dict(pairs))?;
                    self.push(id)?;
                    self.step(Some(id), n, None)?;
                }
                Opcode::Append => {
                    let len = self.stack.len();
                    if len < 2 || len - 1 <= self.fence() {
                        return Err(self.underflow());
                    }
                    let item = self.stack.pop().unwrap_or(NodeId(0));
                    let target = self.stack[len - 2];
                    self.append_items(target, vec![item], false)?;
                    self.step(Some(target), 1, None)?;
                }
                Opcode::Appends => {
                    let x = self.marker()?;
                    if x == 0 || x > self.stack.len() {
                        return Err(self.underflow());
                    }
                    let target = self.stack[x - 1];
                    let n = (self.stack.len() - x) as u64;
                    if n > 0 {
                        // Fast path: extend a real list straight from the stack.
                        if let NodeKind::List(v) = &mut self.loader.graph.nodes[target.index()].kind
                        {
                            v.extend_from_slice(&self.stack[x..]);
                        } else {
                            let items = self.stack[x..].to_vec();
                            self.append_items(target, items, true)?;
                        }
                    }
                    self.stack.truncate(x);
                    self.step(Some(target), n, None)?;
                }
                Opcode::Setitem => {
                    let len = self.stack.len();
                    if len < 3 {
                        return Err(self.underflow());
                    }
                    let x = len - 2;
                    let target = self.stack[x - 1];
                    let items = self.stack.split_off(x);
                    self.set_items(target, vec![(items[0], items[1])], false)?;
                    self.step(Some(target), 1, None)?;
                }
                Opcode::Setitems => {
                    let x = self.marker()?;
                    if x == 0 || x > self.stack.len() {
                        return Err(self.underflow());
                    }
                    let target = self.stack[x - 1];
                    let count = self.stack.len() - x;
                    if count & 1 == 1 {
                        return Err(self.err(ErrorKind::OddItemCount("SETITEMS")));
                    }
                    let n = (count / 2) as u64;
                    if count > 0 {
                        let is_dict = matches!(self.kind(target), NodeKind::Dict(_));
                        if is_dict {
                            // Fast path: check keys, then extend the dict from the stack.
                            for i in (x..self.stack.len()).step_by(2) {
                                self.check_hashable(self.stack[i])?;
                            }
                            if let NodeKind::Dict(v) =
                                &mut self.loader.graph.nodes[target.index()].kind
                            {
                                v.extend(self.stack[x..].chunks_exact(2).map(|kv| (kv[0], kv[1])));
                            }
                        } else {
                            let pairs: Vec<(NodeId, NodeId)> = self.stack[x..]
                                .chunks_exact(2)
                                .map(|kv| (kv[0], kv[1]))
                                .collect();
                            self.set_items(target, pairs, true)?;
                        }
                    }
                    self.stack.truncate(x);
                    self.step(Some(target), n, None)?;
                }
                Opcode::Additems => {
                    let x = self.marker()?;
                    if x == 0 || x > self.stack.len() {
                        return Err(self.underflow());
                    }
                    let target = self.stack[x - 1];
                    let items = self.stack.split_off(x);
                    let n = items.len() as u64;
                    if !items.is_empty() {
                        let is_set = matches!(self.kind(target), NodeKind::Set(_));
                        if is_set {
                            for &i in &items {
                                self.check_hashable(i)?;
                            }
                            if let NodeKind::Set(v) =
                                &mut self.loader.graph.nodes[target.index()].kind
                            {
                                v.extend_from_slice(&items);
                            }
                        } else if self.symbolic(target) {
                            self.record_mutation(target, Mutation::AddItems(items));
                        } else {
                            return Err(self.err(type_error(
                                "AttributeError",
                                format!("'{}' object has no attribute 'add'", self.py_type(target)),
                            )));
                        }
                    }
                    self.step(Some(target), n, None)?;
                }
                Opcode::Global | Opcode::Inst => {
                    // CPython's INST looks for the mark before reading its lines.
                    let inst_mark = if op == Opcode::Inst {
                        Some(self.marker()?)
                    } else {
                        None
                    };
                    let l1 = self.line2()?;
                    let module = if op == Opcode::Global {
                        self.decode_line_utf8(l1)?
                    } else {
                        self.decode_line_ascii(l1)?
                    };
                    let l2 = self.line2()?;
                    let name = if op == Opcode::Global {
                        self.decode_line_utf8(l2)?
                    } else {
                        self.decode_line_ascii(l2)?
                    };
                    let mut raw = l1.to_vec();
                    raw.extend_from_slice(&l2[..l2.len() - 1]);
                    if op == Opcode::Global {
                        let id = self.make_global(module, name, None)?;
                        self.push(id)?;
                        self.step(Some(id), 0, Some(&raw))?;
                    } else {
                        let m = inst_mark.unwrap_or(self.stack.len());
                        let cls = self.make_global(module, name, None)?;
                        let items = self.stack.split_off(m);
                        let args = self.push_node(NodeKind::Tuple(items))?;
                        let id = self.push_node(NodeKind::Object(Box::new(Object {
                            call: CallKind::Inst,
                            callable: cls,
                            args,
                            kwargs: None,
                        })))?;
                        self.push(id)?;
                        self.step(Some(id), 0, Some(&raw))?;
                    }
                }
                Opcode::StackGlobal => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    if !self.is_str(name) || !self.is_str(module) {
                        return Err(self.err(type_error(
                            "UnpicklingError",
                            "STACK_GLOBAL requires str".to_string(),
                        )));
                    }
                    let (m, n) = (self.str_text(module), self.str_text(name));
                    let id = self.make_global(m, n, Some((module, name)))?;
                    self.push(id)?;
                    self.step(Some(id), 0, None)?;
                }
                Opcode::Reduce => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    if !matches!(self.kind(args), NodeKind::Tuple(_)) && !self.symbolic(args) {
                        return Err(self.err(type_error(
                            "TypeError",
                            "argument list must be a tuple".to_string(),
                        )));
                    }
                    self.check_callable(callable)?;
                    let id = self.push_node(NodeKind::Object(Box::new(Object {
                        call: CallKind::Reduce,
                        callable,
                        args,
                        kwargs: None,
                    })))?;
                    self.push(id)?;
                    self.step(Some(id), 0, None)?;
                }
                Opcode::Newobj | Opcode::NewobjEx => {
                    let kwargs = if op == Opcode::NewobjEx {
                        Some(self.pop()?)
                    } else {
                        None
                    };
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    let name = op.name();
                    if !matches!(self.kind(args), NodeKind::Tuple(_)) && !self.symbolic(args) {
                        let msg = if op == Opcode::Newobj {
                            "NEWOBJ expected an arg tuple.".to_string()
                        } else {
                            format!(
                                "{name} args argument must be a tuple, not {}",
                                self.py_type(args)
                            )
                        };
                        return Err(self.err(type_error("UnpicklingError", msg)));
                    }
                    if let Some(kw) = kwargs {
                        if !matches!(self.kind(kw), NodeKind::Dict(_)) && !self.symbolic(kw) {
                            return Err(self.err(type_error(
                                "UnpicklingError",
                                format!(
                                    "{name} kwargs argument must be a dict, not {}",
                                    self.py_type(kw)
                                ),
                            )));
                        }
                    }
                    if !self.symbolic(cls) {
                        return Err(self.err(type_error(
                            "UnpicklingError",
                            format!(
                                "{name} class argument must be a type, not {}",
                                self.py_type(cls)
                            ),
                        )));
                    }
                    let call = if op == Opcode::Newobj {
                        CallKind::NewObj
                    } else {
                        CallKind::NewObjEx
                    };
                    let id = self.push_node(NodeKind::Object(Box::new(Object {
                        call,
                        callable: cls,
                        args,
                        kwargs,
                    })))?;
                    self.push(id)?;
                    self.step(Some(id), 0, None)?;
                }
                Opcode::Obj => {
                    let m = self.marker()?;
                    if self.stack.len() < m + 1 {
                        return Err(self.underflow());
                    }
                    let items = self.stack.split_off(m + 1);
                    let cls = self.pop()?;
                    self.check_callable(cls)?;
                    let args = self.push_node(NodeKind::Tuple(items))?;
                    let id = self.push_node(NodeKind::Object(Box::new(Object {
                        call: CallKind::Obj,
                        callable: cls,
                        args,
                        kwargs: None,
                    })))?;
                    self.push(id)?;
                    self.step(Some(id), 0, None)?;
                }
                Opcode::Build => {
                    if self.stack.len() < 2 || self.stack.len() - 2 < self.fence() {
                        return Err(self.underflow());
                    }
                    let state = self.stack.pop().unwrap_or(NodeId(0));
                    let inst = self.stack[self.stack.len() - 1];
                    if !self.symbolic(inst) {
                        // No `__setstate__` on builtin types: a non-None dict state needs
                        // `inst.__dict__`, which they do not have.
                        let (dict_state, slot_state) = match self.kind(state) {
                            NodeKind::Tuple(v) if v.len() == 2 => (Some(v[0]), Some(v[1])),
                            _ => (Some(state), None),
                        };
                        let is_none = |id: Option<NodeId>| match id {
                            None => true,
                            Some(i) => matches!(self.kind(i), NodeKind::None),
                        };
                        let empty_dict = |id: Option<NodeId>| {
                            id.is_some_and(
                                |i| matches!(self.kind(i), NodeKind::Dict(v) if v.is_empty()),
                            )
                        };
                        // The pure-Python unpickler skips falsy states (`if state:`).
                        let dict_ok = is_none(dict_state) || (strict && empty_dict(dict_state));
                        if !dict_ok || !(is_none(slot_state) || empty_dict(slot_state)) {
                            return Err(self.err(type_error(
                                "AttributeError",
                                format!(
                                    "'{}' object has no attribute '__dict__'",
                                    self.py_type(inst)
                                ),
                            )));
                        }
                    }
                    self.record_mutation(inst, Mutation::Build(state));
                    self.step(Some(inst), 0, None)?;
                }
                Opcode::Persid => {
                    if self.bare() {
                        return Err(self.err(ErrorKind::PersistentNotAllowed));
                    }
                    let line = self.line()?;
                    let s = &line[..line.len() - 1];
                    if s.iter().any(|&b| b >= 0x80) {
                        return Err(self.err(type_error(
                            "UnpicklingError",
                            "persistent IDs in protocol 0 must be ASCII strings".to_string(),
                        )));
                    }
                    let span = self.push_data(s)?;
                    let pid = self.push_node(NodeKind::Str(span))?;
                    let id = self.push_node(NodeKind::Persistent { pid })?;
                    self.push(id)?;
                    self.step(Some(id), 0, Some(s))?;
                }
                Opcode::Binpersid => {
                    if self.bare() {
                        return Err(self.err(ErrorKind::PersistentNotAllowed));
                    }
                    let pid = self.pop()?;
                    let id = self.push_node(NodeKind::Persistent { pid })?;
                    self.push(id)?;
                    self.step(Some(id), 0, None)?;
                }
                Opcode::Ext1 | Opcode::Ext2 | Opcode::Ext4 => {
                    let code: i64 = match op {
                        Opcode::Ext1 => self.take_array::<1>()?[0] as i64,
                        Opcode::Ext2 => u16::from_le_bytes(self.take_array()?) as i64,
                        _ => i32::from_le_bytes(self.take_array()?) as i64,
                    };
                    if code <= 0 {
                        return Err(
                            self.err(ErrorKind::ExtCode("EXT specifies code <= 0".to_string()))
                        );
                    }
                    let code = code as i32;
                    let registered = self
                        .loader
                        .options
                        .extensions
                        .iter()
                        .find(|(c, _, _)| *c == code)
                        .map(|(_, m, n)| (m.clone(), n.clone()));
                    if self.bare() && registered.is_none() {
                        return Err(self.err(ErrorKind::ExtCode(format!(
                            "unregistered extension code {code}"
                        ))));
                    }
                    // CPython caches the object per code, so repeated EXTs share one node.
                    let id = match self.loader.ext_cache.get(&code) {
                        Some(&id) => id,
                        None => {
                            let resolved = match registered {
                                Some((m, n)) => Some(self.make_global(m, n, None)?),
                                None => None,
                            };
                            let id = self.push_node(NodeKind::Ext { code, resolved })?;
                            self.loader.ext_cache.insert(code, id);
                            id
                        }
                    };
                    self.push(id)?;
                    self.step(Some(id), code as u64, None)?;
                }
                Opcode::NextBuffer => {
                    if self.bare() {
                        return Err(self.err(ErrorKind::Buffers(
                            "pickle stream refers to out-of-band data but no *buffers* argument was given",
                        )));
                    }
                    let index = self.loader.next_buffer;
                    self.loader.next_buffer += 1;
                    let id = self.push_node(NodeKind::Buffer { index })?;
                    self.push(id)?;
                    self.step(Some(id), index as u64, None)?;
                }
                Opcode::ReadonlyBuffer => {
                    let top = self.top()?;
                    match self.kind(top) {
                        NodeKind::Bytes(_) | NodeKind::ReadOnly { .. } => {}
                        NodeKind::ByteArray(_)
                        | NodeKind::Buffer { .. }
                        | NodeKind::Object(_)
                        | NodeKind::Global(_)
                        | NodeKind::Persistent { .. }
                        | NodeKind::Ext { .. } => {
                            let id = self.push_node(NodeKind::ReadOnly { of: top })?;
                            let last = self.stack.len() - 1;
                            self.stack[last] = id;
                        }
                        _ => {
                            return Err(self.err(type_error(
                                "TypeError",
                                format!(
                                    "memoryview: a bytes-like object is required, not '{}'",
                                    self.py_type(top)
                                ),
                            )))
                        }
                    }
                    let t = self.stack[self.stack.len() - 1];
                    self.step(Some(t), 0, None)?;
                }
            }
        }
    }
}

/// Loads the first pickle of `data` with default options (C unpickler rules, symbolic
/// environment). Bytes after its `STOP` are ignored, as `pickle.loads` ignores them.
///
/// ```
/// let g = brine_pickle_core::loads(b"\x80\x04\x95\x09\x00\x00\x00\x00\x00\x00\x00]\x94(K\x01K\x02e.").unwrap();
/// let root = g.root_ref();
/// assert_eq!(root.type_name(), "list");
/// assert_eq!(root.index(1).unwrap().as_i64(), Some(2));
/// ```
pub fn loads(data: &[u8]) -> Result<Graph> {
    loads_with(data, &LoadOptions::default())
}

/// Loads the first pickle of `data` with `options`.
pub fn loads_with(data: &[u8], options: &LoadOptions) -> Result<Graph> {
    let mut loader = Loader::new(options.clone());
    loader.load_at(data, 0)?;
    Ok(loader.into_graph())
}

/// Loads the first pickle of `input` with `options`, referencing its strings and bytes instead
/// of copying them (see [`Loader::load_shared_at`]); the graph keeps `input` alive.
///
/// ```
/// use std::sync::Arc;
/// use brine_pickle_core::{loads_shared, LoadOptions, SharedInput};
///
/// // pickle.dumps(b"abc", 4)
/// let data = Arc::new(b"\x80\x04\x95\x07\x00\x00\x00\x00\x00\x00\x00C\x03abc\x94.".to_vec());
/// let graph = loads_shared(&SharedInput::new(data), &LoadOptions::default()).unwrap();
/// assert_eq!(graph.as_bytes(graph.root()), Some(&b"abc"[..]));
/// assert!(graph.data.is_empty());
/// ```
pub fn loads_shared(input: &SharedInput, options: &LoadOptions) -> Result<Graph> {
    let mut loader = Loader::new(options.clone());
    loader.load_shared_at(input, 0)?;
    Ok(loader.into_graph())
}

/// Loads the first pickle read from `reader` with `options`, holding only a bounded window of
/// the input in memory (see [`Loader::load_from_reader`]).
///
/// ```
/// use brine_pickle_core::{loads_from_reader, LoadOptions};
///
/// // pickle.dumps([1, 2], 2), read through `std::io::Read`.
/// let mut file: &[u8] = b"\x80\x02]q\x00(K\x01K\x02e.";
/// let graph = loads_from_reader(&mut file, &LoadOptions::default()).unwrap();
/// assert_eq!(graph.root_ref().index(1).unwrap().as_i64(), Some(2));
/// ```
pub fn loads_from_reader<R: std::io::Read>(reader: &mut R, options: &LoadOptions) -> Result<Graph> {
    let mut loader = Loader::new(options.clone());
    loader.load_from_reader(reader)?;
    Ok(loader.into_graph())
}

/// Loads every pickle in `data` one after another (sharing the memo, as repeated
/// `Unpickler.load()` calls do) until the input is exhausted.
pub fn loads_all(data: &[u8], options: &LoadOptions) -> Result<Graph> {
    let mut loader = Loader::new(options.clone());
    let mut pos = 0;
    while pos < data.len() {
        pos = loader.load_at(data, pos)?.end;
    }
    Ok(loader.into_graph())
}
