//! A disassembler whose text is identical to CPython 3.13's `pickletools.dis`, including
//! `annotate`, `indentlevel`, the memo and stack sanity checks, and the exception it raises for
//! streams it rejects.
//!
//! ```
//! use brine_pickle_core::dis::{dis, DisOptions};
//! let out = dis(b"\x80\x02K\x01.", &DisOptions::default());
//! assert!(out.error.is_none());
//! assert_eq!(
//!     out.text,
//!     "    0: \\x80 PROTO      2\n    2: K    BININT1    1\n    4: .    STOP\nhighest protocol among opcodes = 2\n"
//! );
//! ```

use crate::error::ErrorKind;
use crate::opcodes::{Opcode, StackKind};
use crate::pyrepr::{opcode_char, repr_bytes, repr_float, repr_str_bytes};
use crate::pystr::latin1_to_utf8;
use crate::reader::{decode_long, Arg, OpReader};
use std::collections::HashMap;
use std::fmt::Write;

/// Options of [`dis`] (pickletools' `indentlevel` and `annotate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DisOptions {
    /// Blanks per open MARK level (default 4).
    pub indentlevel: usize,
    /// Annotation column hint; 0 = no annotations.
    pub annotate: usize,
}

impl Default for DisOptions {
    fn default() -> DisOptions {
        DisOptions {
            indentlevel: 4,
            annotate: 0,
        }
    }
}

/// The exception `pickletools.dis` raised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisError {
    /// Python exception class (`ValueError`, `UnicodeDecodeError`, `IndexError`).
    pub exception: String,
    /// The message.
    pub message: String,
}

impl std::fmt::Display for DisError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.exception, self.message)
    }
}

/// What a disassembly produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisOutput {
    /// Everything printed (including the text printed before an error).
    pub text: String,
    /// The exception, if the stream was rejected.
    pub error: Option<DisError>,
    /// Offset just after the last opcode read (where a following pickle would start).
    pub end: usize,
}

/// The memo `dis` keeps between pickles (`dis(..., memo=m)`): key → stack object kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DisMemo {
    entries: HashMap<String, StackKind>,
}

impl DisMemo {
    /// An empty memo.
    pub fn new() -> DisMemo {
        DisMemo::default()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Python's `repr()` of an argument as genops decodes it.
pub fn repr_arg(arg: &Arg<'_>) -> Option<String> {
    Some(match arg {
        Arg::None => return None,
        Arg::Int(v) => v.to_string(),
        Arg::BigInt(v) => v.to_string(),
        Arg::Bool(true) => "True".to_string(),
        Arg::Bool(false) => "False".to_string(),
        Arg::U64(v) => v.to_string(),
        Arg::Float(v) => repr_float(*v),
        Arg::Long(b) => decode_long(b).to_string(),
        Arg::Bytes(b) => repr_bytes(b),
        Arg::ByteArray(b) => format!("bytearray({})", repr_bytes(b)),
        Arg::Latin1(b) => {
            let mut u = Vec::with_capacity(b.len());
            latin1_to_utf8(b, &mut u);
            repr_str_bytes(&u)
        }
        Arg::Text(t) => repr_str_bytes(t),
        Arg::TextPair(pair) => {
            let (a, b) = &**pair;
            let mut u = Vec::with_capacity(a.len() + b.len() + 1);
            u.extend_from_slice(a);
            u.push(b' ');
            u.extend_from_slice(b);
            repr_str_bytes(&u)
        }
    })
}

/// The memo key of a PUT/GET argument, normalised as Python's dict would (True == 1).
fn memo_key(arg: &Arg<'_>) -> String {
    match arg {
        Arg::Bool(b) => (*b as u8).to_string(),
        Arg::Int(v) => v.to_string(),
        Arg::BigInt(v) => v.to_string(),
        other => repr_arg(other).unwrap_or_default(),
    }
}

/// Disassembles the first pickle of `data` as `pickletools.dis(data, indentlevel=..,
/// annotate=..)` prints it.
pub fn dis(data: &[u8], options: &DisOptions) -> DisOutput {
    dis_with_memo(data, options, &mut DisMemo::new())
}

/// Like [`dis`], with a memo kept across calls (pickletools' `memo=` argument).
pub fn dis_with_memo(data: &[u8], options: &DisOptions, memo: &mut DisMemo) -> DisOutput {
    let mut text = String::new();
    let (error, end) = dis_to(data, options, memo, &mut |s: &str| text.push_str(s));
    DisOutput { text, error, end }
}

/// Like [`dis_with_memo`], but hands the text to `out` line by line instead of collecting it
/// (for disassembling large pickles without holding the whole text). Returns the exception
/// pickletools would raise, if any, and the offset after the last opcode read.
pub fn dis_to(
    data: &[u8],
    options: &DisOptions,
    memo: &mut DisMemo,
    out: &mut dyn FnMut(&str),
) -> (Option<DisError>, usize) {
    let mut text = String::new();
    let mut stack: Vec<StackKind> = Vec::new();
    let mut markstack: Vec<u64> = Vec::new();
    let mut maxproto: i32 = -1;
    let indentchunk = " ".repeat(options.indentlevel);
    let mut annocol = options.annotate;
    let mut reader = OpReader::new(data);
    let fail =
        |text: String, exception: &str, message: String, end: usize, out: &mut dyn FnMut(&str)| {
            out(&text);
            (
                Some(DisError {
                    exception: exception.to_string(),
                    message,
                }),
                end,
            )
        };
    loop {
        let op = match reader.read_op() {
            Ok(Some(op)) => op,
            Ok(None) => break,
            Err(e) => {
                let (exc, msg) = match e.kind {
                    ErrorKind::Invalid { exception, message } => (exception, message),
                    other => ("ValueError", other.to_string()),
                };
                return fail(text, exc, msg, reader.position(), out);
            }
        };
        let opcode = op.opcode;
        let _ = write!(text, "{:5}: ", op.offset);
        let name = opcode.name();
        let mut line = format!(
            "{:<4} {}{}",
            opcode_char(opcode.byte()),
            indentchunk.repeat(markstack.len()),
            name
        );
        maxproto = maxproto.max(opcode.proto() as i32);
        let before = opcode.stack_before();
        let mut after: Vec<StackKind> = opcode.stack_after().to_vec();
        let mut numtopop = before.len();
        let mut markmsg: Option<String> = None;
        let mut errormsg: Option<String> = None;

        let pops_mark = before.contains(&StackKind::Mark)
            || (opcode == Opcode::Pop && stack.last() == Some(&StackKind::Mark));
        if pops_mark {
            if let Some(markpos) = markstack.pop() {
                markmsg = Some(format!("(MARK at {markpos})"));
                loop {
                    match stack.last() {
                        Some(StackKind::Mark) => break,
                        Some(_) => {
                            stack.pop();
                        }
                        None => {
                            // pickletools indexes an empty list here.
                            return fail(
                                text,
                                "IndexError",
                                "list index out of range".to_string(),
                                reader.position(),
                                out,
                            );
                        }
                    }
                }
                stack.pop();
                numtopop = before
                    .iter()
                    .position(|k| *k == StackKind::Mark)
                    .unwrap_or(0);
            } else {
                let m = "no MARK exists on stack".to_string();
                errormsg = Some(m.clone());
                markmsg = Some(m);
            }
        }

        match opcode {
            Opcode::Put | Opcode::Binput | Opcode::LongBinput | Opcode::Memoize => {
                let key = if opcode == Opcode::Memoize {
                    let k = memo.entries.len().to_string();
                    markmsg = Some(format!("(as {k})"));
                    k
                } else {
                    memo_key(&op.arg())
                };
                let top = stack.last().copied();
                match memo.entries.entry(key) {
                    std::collections::hash_map::Entry::Occupied(_) => {
                        let shown = repr_arg(&op.arg()).unwrap_or_else(|| "None".to_string());
                        errormsg = Some(format!("memo key {shown} already defined"));
                    }
                    std::collections::hash_map::Entry::Vacant(slot) => match top {
                        None => {
                            errormsg = Some("stack is empty -- can't store into memo".to_string())
                        }
                        Some(StackKind::Mark) => {
                            errormsg = Some("can't store markobject in the memo".to_string())
                        }
                        Some(kind) => {
                            slot.insert(kind);
                        }
                    },
                }
            }
            Opcode::Get | Opcode::Binget | Opcode::LongBinget => {
                let key = memo_key(&op.arg());
                match memo.entries.get(&key) {
                    Some(kind) => after = vec![*kind],
                    None => {
                        let shown = repr_arg(&op.arg()).unwrap_or_default();
                        errormsg = Some(format!("memo key {shown} has never been stored into"));
                    }
                }
            }
            _ => {}
        }

        let arg_repr = repr_arg(&op.arg());
        if arg_repr.is_some() || markmsg.is_some() {
            for _ in name.len()..10 {
                line.push(' ');
            }
            if let Some(r) = &arg_repr {
                line.push(' ');
                line.push_str(r);
            }
            if let Some(m) = &markmsg {
                line.push(' ');
                line.push_str(m);
            }
        }
        if options.annotate > 0 {
            let len = line.chars().count();
            for _ in len..annocol {
                line.push(' ');
            }
            annocol = line.chars().count();
            if annocol > 50 {
                annocol = options.annotate;
            }
            line.push(' ');
            line.push_str(opcode.doc());
        }
        text.push_str(&line);
        text.push('\n');

        if let Some(msg) = errormsg {
            return fail(text, "ValueError", msg, reader.position(), out);
        }
        out(&text);
        text.clear();
        if stack.len() < numtopop {
            let msg = format!(
                "tries to pop {numtopop} items from stack with only {} items",
                stack.len()
            );
            return fail(text, "ValueError", msg, reader.position(), out);
        }
        stack.truncate(stack.len() - numtopop);
        if after.contains(&StackKind::Mark) {
            markstack.push(op.offset);
        }
        stack.extend(after);
    }
    let _ = writeln!(text, "highest protocol among opcodes = {maxproto}");
    if !stack.is_empty() {
        let names: Vec<&str> = stack.iter().map(|k| k.name()).collect();
        let msg = format!("stack not empty after STOP: [{}]", names.join(", "));
        return fail(text, "ValueError", msg, reader.position(), out);
    }
    out(&text);
    (None, reader.position())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_example_indent2() {
        let data = b"\x80\x02]q\x00(K\x01K\x02X\x01\x00\x00\x00aq\x01\x86q\x02e.";
        let out = dis(
            data,
            &DisOptions {
                indentlevel: 2,
                annotate: 0,
            },
        );
        let expected = "    0: \\x80 PROTO      2
    2: ]    EMPTY_LIST
    3: q    BINPUT     0
    5: (    MARK
    6: K      BININT1    1
    8: K      BININT1    2
   10: X      BINUNICODE 'a'
   16: q      BINPUT     1
   18: \\x86   TUPLE2
   19: q      BINPUT     2
   21: e      APPENDS    (MARK at 5)
   22: .    STOP
highest protocol among opcodes = 2
";
        assert_eq!(out.text, expected);
        assert!(out.error.is_none());
    }
}
