//! The disassembler: `dis`-style listings for every version, and per-instruction line data.
//!
//! [`disassemble`] prints one code object the way that version's `dis.disassemble` does
//! (2.7 and 3.x up to 3.12: line column, `>>` jump-target marks, offsets; 3.13+: `Ln:` labels
//! and an exception table in labels); [`disassemble_recursive`] adds the nested code objects
//! like `dis.dis`.

use std::fmt::Write as _;

use crate::code::{Code, Const};
use crate::decode::{ArgVal, Instruction, Instructions, JumpTargets};
use crate::linetable::{LineRange, LinesStyle};
use crate::opcodes::{ArgKind, OpFlags};
use crate::repr::{code_repr, const_repr_for};

/// Line information of one instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LineInfo {
    /// `Some(line)` when the instruction starts a line (`dis.findlinestarts` has its offset);
    /// the inner value is `None` only in 3.13+, for code without a line.
    pub starts_line: Option<Option<i32>>,
    /// The source line of the instruction (3.13's `Instruction.line_number`; for older
    /// versions the line of the `co_lines()` range, or of the last line start before 3.10).
    pub line: Option<i32>,
    /// Whether the instruction is a jump target (`Instruction.is_jump_target`).
    pub is_jump_target: bool,
}

/// Instructions with their line information. Allocates a few tables per code object, never
/// per instruction.
#[derive(Debug, Clone)]
pub struct InstructionLines<'c, 'a> {
    inner: Instructions<'c, 'a>,
    starts: Vec<(u32, Option<i32>)>,
    next_start: usize,
    ranges: Vec<LineRange>,
    next_range: usize,
    use_ranges: bool,
    current: Option<i32>,
    targets: JumpTargets,
}

impl<'c, 'a> InstructionLines<'c, 'a> {
    /// Starts decoding `code`, with `dis.get_instructions`'s jump-target marks. Broken line or
    /// exception tables give no line data rather than an error.
    pub fn new(code: &'c Code<'a>) -> InstructionLines<'c, 'a> {
        InstructionLines::with_targets(code, false)
    }

    /// As [`InstructionLines::new`], with the jump-target marks of the `dis.disassemble`
    /// listing when `for_listing` (see [`jump_targets`]).
    pub fn with_targets(code: &'c Code<'a>, for_listing: bool) -> InstructionLines<'c, 'a> {
        let style = code.lines_style();
        let use_ranges = !matches!(style, LinesStyle::Lnotab | LinesStyle::LnotabClipped);
        InstructionLines {
            inner: code.instructions(),
            starts: code.line_starts().unwrap_or_default(),
            next_start: 0,
            ranges: if use_ranges {
                code.lines().unwrap_or_default()
            } else {
                Vec::new()
            },
            next_range: 0,
            use_ranges,
            current: None,
            targets: jump_targets(code, for_listing),
        }
    }
}

/// The jump targets `dis` marks. Without `for_listing`, those of `dis.get_instructions`
/// (`is_jump_target`; 3.13's `argrepr` labels): the targets of jump instructions. With it,
/// those of the `dis.disassemble` listing, which from 3.11 adds exception handlers and from
/// 3.13 also the starts and ends of exception-table entries.
pub fn jump_targets(code: &Code<'_>, for_listing: bool) -> JumpTargets {
    let v = code.version();
    let mut jt = JumpTargets::with_max_offset(code.code.len() + 2);
    jt.extend_from_jumps(code);
    if v >= (3, 11) && for_listing {
        for e in code.exception_entries().flatten() {
            jt.add(e.target);
            if v >= (3, 13) {
                jt.add(e.start);
                jt.add(e.end);
            }
        }
    }
    jt
}

impl<'c, 'a> Iterator for InstructionLines<'c, 'a> {
    type Item = (Instruction<'c, 'a>, LineInfo);

    fn next(&mut self) -> Option<Self::Item> {
        let ins = self.inner.next()?;
        let off = ins.offset;
        while self.next_start < self.starts.len() && self.starts[self.next_start].0 < off {
            self.next_start += 1;
        }
        let mut starts_line = None;
        if let Some(&(o, l)) = self.starts.get(self.next_start) {
            if o == off {
                starts_line = Some(l);
                self.next_start += 1;
            }
        }
        let line = if self.use_ranges {
            while self.next_range < self.ranges.len() && self.ranges[self.next_range].end <= off {
                self.next_range += 1;
            }
            match self.ranges.get(self.next_range) {
                Some(r) if r.start <= off => r.line,
                _ => None,
            }
        } else {
            if let Some(l) = starts_line {
                self.current = l;
            }
            self.current
        };
        let info = LineInfo {
            starts_line,
            line,
            is_jump_target: self.targets.contains(off),
        };
        Some((ins, info))
    }
}

/// `MAKE_FUNCTION` / `SET_FUNCTION_ATTRIBUTE` flag names (3.14 adds `annotate`, 0x10).
const MAKE_FUNCTION_FLAGS: [&str; 5] = [
    "defaults",
    "kwdefaults",
    "annotations",
    "closure",
    "annotate",
];

/// `dis.Instruction.argrepr` of an instruction. `labels` maps jump targets to 3.13+ labels.
pub fn argrepr(ins: &Instruction<'_, '_>, code: &Code<'_>, labels: Option<&JumpTargets>) -> String {
    let t = code.table;
    let v = t.version;
    let major = v.0;
    let Some(arg) = ins.arg else {
        return String::new();
    };
    let name = ins.info.name;
    match ins.argval {
        ArgVal::Const(c) => match c {
            Const::Code(inner) => code_repr(inner),
            other => const_repr_for(other, major, v.1),
        },
        ArgVal::Unknown | ArgVal::Invalid(_) => String::new(),
        ArgVal::Name(n) => {
            let n = n.to_string_lossy();
            let flag = match ins.info.arg {
                ArgKind::GlobalName if arg & 1 != 0 => Some("NULL"),
                ArgKind::AttrName | ArgKind::SuperAttrName if arg & 1 != 0 => Some("NULL|self"),
                _ => None,
            };
            match flag {
                Some(f) if v >= (3, 13) => format!("{n} + {f}"),
                Some(f) => format!("{f} + {n}"),
                None => n,
            }
        }
        ArgVal::NamePair(a, b) => format!("{}, {}", a.to_string_lossy(), b.to_string_lossy()),
        // Before 3.10, `dis` gives absolute jumps no "to N".
        ArgVal::Jump(_) if v < (3, 10) && ins.info.arg == ArgKind::JumpAbsolute => String::new(),
        ArgVal::Jump(target) => {
            if v >= (3, 13) {
                // 3.14's END_ASYNC_FOR points back at the loop it ends.
                let preposition = if name == "END_ASYNC_FOR" {
                    "from"
                } else {
                    "to"
                };
                match labels.and_then(|l| l.label_of(target)) {
                    Some(n) => format!("{preposition} L{n}"),
                    None => String::new(),
                }
            } else {
                format!("to {target}")
            }
        }
        ArgVal::Compare(op) => {
            if v >= (3, 13) && arg & 16 != 0 {
                format!("bool({op})")
            } else {
                op.to_string()
            }
        }
        ArgVal::FormatValue(conv, spec) => {
            let mut s = conv.unwrap_or("").to_string();
            if spec {
                if !s.is_empty() {
                    s.push_str(", ");
                }
                s.push_str("with format");
            }
            s
        }
        ArgVal::Converter(conv) => conv.unwrap_or("").to_string(),
        ArgVal::None => String::new(),
        ArgVal::Int(_) => match ins.info.arg {
            ArgKind::BinaryOp => t
                .nb_ops
                .get(arg as usize)
                .map(|(_, sym)| sym.to_string())
                .unwrap_or_default(),
            ArgKind::Intrinsic1 => t
                .intrinsic_1
                .get(arg as usize)
                .map(|s| s.to_string())
                .unwrap_or_default(),
            ArgKind::Intrinsic2 => t
                .intrinsic_2
                .get(arg as usize)
                .map(|s| s.to_string())
                .unwrap_or_default(),
            // 3.14's dis leaves LOAD_SMALL_INT's argrepr empty (the listing shows the arg).
            ArgKind::SmallInt => String::new(),
            ArgKind::CommonConstant => t
                .common_constants
                .get(arg as usize)
                .map(|s| s.to_string())
                .unwrap_or_default(),
            ArgKind::IsOp if v >= (3, 14) => if arg != 0 { "is not" } else { "is" }.to_string(),
            ArgKind::ContainsOp if v >= (3, 14) => {
                if arg != 0 { "not in" } else { "in" }.to_string()
            }
            // 3.3–3.5 dis spells out the call counts of hasnargs ops (CALL_FUNCTION...):
            // 3.3/3.4 from the instruction's own two argument bytes, 3.5 from the whole arg.
            _ if ins.info.flags.contains(OpFlags::NARGS) && ((3, 3)..=(3, 5)).contains(&v) => {
                let (positional, keyword) = if v == (3, 5) {
                    (arg % 256, arg / 256)
                } else {
                    (arg & 0xff, (arg >> 8) & 0xff)
                };
                format!("{positional} positional, {keyword} keyword pair")
            }
            _ if name == "LOAD_SPECIAL" => t
                .special_method_names
                .get(arg as usize)
                .map(|s| s.to_string())
                .unwrap_or_default(),
            _ if (name == "MAKE_FUNCTION" && ((3, 8)..(3, 13)).contains(&v))
                || name == "SET_FUNCTION_ATTRIBUTE" =>
            {
                let known = if v >= (3, 14) { 5 } else { 4 };
                MAKE_FUNCTION_FLAGS[..known]
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| arg & (1 << i) != 0)
                    .map(|(_, s)| *s)
                    .collect::<Vec<_>>()
                    .join(", ")
            }
            _ => String::new(),
        },
    }
}

const OPNAME_WIDTH: usize = 20;
const OPARG_WIDTH: usize = 5;

/// The listing of one code object, as that version's `dis.disassemble(code)` prints it.
pub fn disassemble(code: &Code<'_>) -> String {
    let mut out = String::new();
    let v = code.version();
    if v >= (3, 13) {
        disassemble_313(code, &mut out);
    } else {
        disassemble_classic(code, &mut out);
    }
    out
}

fn disassemble_classic(code: &Code<'_>, out: &mut String) {
    let v = code.version();
    let starts = code.line_starts().unwrap_or_default();
    let show_lineno = if v >= (3, 11) {
        !starts.is_empty()
    } else {
        true
    };
    let maxline = starts.iter().filter_map(|s| s.1).max().unwrap_or(0);
    let lineno_width = if !show_lineno {
        0
    } else if v >= (3, 8) && maxline >= 1000 {
        maxline.to_string().len()
    } else {
        3
    };
    let maxoffset = code.code.len() as i64 - 2;
    let offset_width = if v >= (3, 8) && maxoffset >= 10000 {
        maxoffset.to_string().len()
    } else {
        4
    };
    for (ins, li) in InstructionLines::with_targets(code, true) {
        if show_lineno && li.starts_line.is_some() && ins.offset > 0 {
            out.push('\n');
        }
        let mut fields: Vec<String> = Vec::with_capacity(6);
        if lineno_width > 0 {
            match li.starts_line {
                Some(Some(l)) => fields.push(format!("{l:>lineno_width$}")),
                _ => fields.push(" ".repeat(lineno_width)),
            }
        }
        fields.push("   ".into());
        fields.push(if li.is_jump_target { ">>" } else { "  " }.into());
        fields.push(format!("{:>offset_width$}", ins.offset));
        fields.push(format!("{:<OPNAME_WIDTH$}", ins.opname));
        if let Some(arg) = ins.arg {
            fields.push(format!("{arg:>OPARG_WIDTH$}"));
            let r = argrepr(&ins, code, None);
            if !r.is_empty() {
                fields.push(format!("({r})"));
            }
        }
        let line = fields.join(" ");
        // Python 2's `print x,` keeps the opname padding; Python 3 strips the line.
        out.push_str(if v.0 == 2 { &line } else { line.trim_end() });
        out.push('\n');
    }
    if v >= (3, 11) {
        let entries: Vec<_> = code.exception_entries().flatten().collect();
        if !entries.is_empty() {
            out.push_str("ExceptionTable:\n");
            for e in entries {
                let lasti = if e.lasti { " lasti" } else { "" };
                let _ = writeln!(
                    out,
                    "  {} to {} -> {} [{}]{lasti}",
                    e.start,
                    i64::from(e.end) - 2,
                    e.target,
                    e.depth
                );
            }
        }
    }
}

fn disassemble_313(code: &Code<'_>, out: &mut String) {
    let starts = code.line_starts().unwrap_or_default();
    let maxline = starts.iter().filter_map(|s| s.1).max();
    let lineno_width = match maxline {
        None => 0,
        Some(m) => {
            let w = m.to_string().len().max(3);
            if w < 4 && starts.iter().any(|s| s.1.is_none()) {
                4
            } else {
                w
            }
        }
    };
    let labels = jump_targets(code, true);
    let label_width = 4 + labels.len().to_string().len();
    for (ins, li) in InstructionLines::new(code) {
        if lineno_width > 0 && li.starts_line.is_some() && ins.offset > 0 {
            out.push('\n');
        }
        let mut fields: Vec<String> = Vec::with_capacity(6);
        if lineno_width > 0 {
            match li.starts_line {
                Some(Some(l)) => fields.push(format!("{l:>lineno_width$}")),
                Some(None) => fields.push(format!("{:>lineno_width$}", "  --")),
                None => fields.push(" ".repeat(lineno_width)),
            }
        }
        match labels.label_of(ins.offset) {
            Some(n) => fields.push(format!("{:>label_width$}", format!("L{n}:"))),
            None => fields.push(" ".repeat(label_width)),
        }
        fields.push("   ".into());
        fields.push(format!("{:<OPNAME_WIDTH$}", ins.opname));
        if let Some(arg) = ins.arg {
            let excess = ins.opname.len().saturating_sub(OPNAME_WIDTH);
            let w = OPARG_WIDTH.saturating_sub(excess);
            fields.push(format!("{arg:>w$}"));
            let r = argrepr(&ins, code, Some(&labels));
            if !r.is_empty() {
                fields.push(format!("({r})"));
            }
        }
        let line = fields.join(" ");
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let entries: Vec<_> = code.exception_entries().flatten().collect();
    if !entries.is_empty() {
        out.push_str("ExceptionTable:\n");
        for e in entries {
            let lasti = if e.lasti { " lasti" } else { "" };
            let l = |o: u32| labels.label_of(o).unwrap_or(0);
            let _ = writeln!(
                out,
                "  L{} to L{} -> L{} [{}]{lasti}",
                l(e.start),
                l(e.end),
                l(e.target),
                e.depth
            );
        }
    }
}

/// The listing of a code object and every nested one, as `dis.dis(code)` prints it
/// (depth-first, each nested listing preceded by `Disassembly of <code object ...>:`).
/// Nesting deeper than `max_depth` is not listed.
pub fn disassemble_recursive(code: &Code<'_>, max_depth: usize) -> String {
    let mut out = disassemble(code);
    // Explicit stack: (code, depth); children pushed in reverse to keep co_consts order.
    let mut stack: Vec<(&Code<'_>, usize)> = code.nested().map(|(_, c)| (c, 1)).collect();
    stack.reverse();
    while let Some((c, depth)) = stack.pop() {
        out.push('\n');
        let _ = writeln!(out, "Disassembly of {}:", code_repr(c));
        out.push_str(&disassemble(c));
        if depth < max_depth {
            let mut kids: Vec<(&Code<'_>, usize)> =
                c.nested().map(|(_, k)| (k, depth + 1)).collect();
            kids.reverse();
            stack.extend(kids);
        }
    }
    out
}
