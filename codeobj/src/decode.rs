//! The instruction decoder: an allocation-free iterator over `co_code` for any version.
//!
//! It folds `EXTENDED_ARG` prefixes into the argument (and yields the prefixes themselves, as
//! `dis` does), skips 3.11+ inline caches, and resolves the argument to what
//! `dis.Instruction.argval` would be. Malformed bytecode never panics: the instruction is
//! yielded with a [`Problem`] and, when decoding cannot go on, iteration stops.

use brine_marshal::PyStr;

use crate::code::{Code, Const};
use crate::opcodes::{ArgKind, OpInfo, OpKind, OpcodeTable};

/// Why an instruction is not what a compiler would have written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Problem {
    /// The opcode byte is not assigned in this version.
    UnknownOpcode,
    /// A specialised or instrumented opcode: only ever present in live code, not in files.
    NotInFiles,
    /// The code ends inside the instruction (or inside its inline caches).
    Truncated,
    /// The argument indexes past the end of the table it refers to.
    IndexOutOfRange,
    /// A jump target lies outside the code.
    JumpOutOfRange,
    /// More `EXTENDED_ARG` prefixes than CPython ever writes.
    TooManyExtendedArgs,
    /// A 3.11+ `CACHE` entry decoded as an instruction: compilers only write `CACHE` inside
    /// the inline-cache slots that follow an instruction (which the decoder skips), so a
    /// standalone one means the bytecode is read with the wrong cache counts.
    StrayCache,
}

impl Problem {
    /// A short description.
    pub fn message(self) -> &'static str {
        match self {
            Problem::UnknownOpcode => "unknown opcode",
            Problem::NotInFiles => "specialised or instrumented opcode",
            Problem::Truncated => "truncated instruction",
            Problem::IndexOutOfRange => "argument out of range",
            Problem::JumpOutOfRange => "jump outside the code",
            Problem::TooManyExtendedArgs => "too many EXTENDED_ARG prefixes",
            Problem::StrayCache => "CACHE entry outside an inline-cache slot",
        }
    }
}

/// The resolved argument of an instruction, as `dis.Instruction.argval`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ArgVal<'c, 'a> {
    /// No argument (`argval` is `None`).
    None,
    /// An integer (the argument itself, or a small int for 3.14 `LOAD_SMALL_INT`).
    Int(i64),
    /// A constant.
    Const(&'c Const<'a>),
    /// `dis.UNKNOWN` (3.11 `KW_NAMES`).
    Unknown,
    /// A name (global, attribute, local, cell or free).
    Name(PyStr<'a>),
    /// Two local names (3.13+ paired opcodes).
    NamePair(PyStr<'a>, PyStr<'a>),
    /// A jump target, as a byte offset.
    Jump(u32),
    /// A comparison operator from `cmp_op`.
    Compare(&'static str),
    /// `FORMAT_VALUE`: `(conversion builtin or None, has format spec)`.
    FormatValue(Option<&'static str>, bool),
    /// `CONVERT_VALUE`: the conversion builtin (`None` for 0).
    Converter(Option<&'static str>),
    /// The argument could not be resolved (index out of range): `dis` would raise.
    Invalid(u32),
}

/// One decoded instruction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Instruction<'c, 'a> {
    /// Byte offset of the opcode.
    pub offset: u32,
    /// Byte offset of the first `EXTENDED_ARG` prefix of this instruction (= `offset` if none).
    pub start_offset: u32,
    /// The opcode byte.
    pub opcode: u8,
    /// What the table says about it.
    pub info: &'static OpInfo,
    /// `dis`'s name for it (`<N>` when unknown).
    pub opname: &'static str,
    /// The argument with `EXTENDED_ARG` folded in (`None` for opcodes without one).
    pub arg: Option<u32>,
    /// The resolved argument.
    pub argval: ArgVal<'c, 'a>,
    /// Number of inline cache entries after it (3.11+).
    pub caches: u8,
    /// Byte offset just past the instruction and its caches.
    pub end: u32,
    /// Set when the instruction is malformed.
    pub problem: Option<Problem>,
}

impl Instruction<'_, '_> {
    /// Whether the argument is a jump target.
    pub fn jump_target(&self) -> Option<u32> {
        match self.argval {
            ArgVal::Jump(t) => Some(t),
            _ => None,
        }
    }

    /// The argument kind of the real opcode this instruction stands for.
    pub fn arg_kind(&self) -> ArgKind {
        self.info.arg
    }
}

/// Iterator over the instructions of a code object. Created by [`Code::instructions`].
#[derive(Debug, Clone)]
pub struct Instructions<'c, 'a> {
    code: &'c Code<'a>,
    table: &'static OpcodeTable,
    pos: usize,
    ext: u64,
    ext_count: u32,
    ext_start: u32,
    stop: bool,
    max_ext: u32,
}

impl<'a> Code<'a> {
    /// Decodes the bytecode, instruction by instruction, without allocating.
    pub fn instructions<'c>(&'c self) -> Instructions<'c, 'a> {
        self.instructions_with_limits(crate::limits::Limits::DEFAULT)
    }

    /// As [`Code::instructions`], with explicit limits (`max_extended_args`).
    pub fn instructions_with_limits<'c>(
        &'c self,
        limits: crate::limits::Limits,
    ) -> Instructions<'c, 'a> {
        Instructions {
            code: self,
            table: self.table,
            pos: 0,
            ext: 0,
            ext_count: 0,
            ext_start: 0,
            stop: false,
            max_ext: limits.max_extended_args,
        }
    }
}

impl<'c, 'a> Instructions<'c, 'a> {
    fn resolve(
        &self,
        info: &'static OpInfo,
        arg: u32,
        end: u32,
    ) -> (ArgVal<'c, 'a>, Option<Problem>) {
        let code = self.code;
        let t = self.table;
        let oob = (ArgVal::Invalid(arg), Some(Problem::IndexOutOfRange));
        let name = |i: u32| code.names.get(i as usize).copied();
        let named = |n: Option<PyStr<'a>>| match n {
            Some(n) => (ArgVal::Name(n), None),
            None => oob,
        };
        let code_len = code.code.len() as u64;
        let jump = |target: i64| -> (ArgVal<'c, 'a>, Option<Problem>) {
            if target < 0 || target as u64 >= code_len.max(1) || target > i64::from(u32::MAX) {
                (
                    ArgVal::Jump(target.clamp(0, i64::from(u32::MAX)) as u32),
                    Some(Problem::JumpOutOfRange),
                )
            } else {
                (ArgVal::Jump(target as u32), None)
            }
        };
        match info.arg {
            ArgKind::None => (ArgVal::None, None),
            ArgKind::Int
            | ArgKind::BinaryOp
            | ArgKind::Intrinsic1
            | ArgKind::Intrinsic2
            | ArgKind::SmallInt
            | ArgKind::CommonConstant
            | ArgKind::IsOp
            | ArgKind::ContainsOp => (ArgVal::Int(i64::from(arg)), None),
            ArgKind::Const => match code.consts.get(arg as usize) {
                Some(c) => (ArgVal::Const(c), None),
                None => oob,
            },
            ArgKind::ConstUnresolved => {
                if (arg as usize) < code.consts.len() {
                    (ArgVal::Unknown, None)
                } else {
                    oob
                }
            }
            ArgKind::Name => named(name(arg)),
            ArgKind::GlobalName | ArgKind::AttrName => named(name(arg >> 1)),
            ArgKind::SuperAttrName => named(name(arg >> 2)),
            ArgKind::Local => named(code.local_name(arg)),
            ArgKind::Free => named(code.deref_name(arg)),
            ArgKind::LocalPair => match (code.local_name(arg >> 4), code.local_name(arg & 15)) {
                (Some(a), Some(b)) => (ArgVal::NamePair(a, b), None),
                _ => oob,
            },
            ArgKind::JumpAbsolute => jump(i64::from(arg) * i64::from(t.jump_unit())),
            ArgKind::JumpForward => {
                jump(i64::from(end) + i64::from(arg) * i64::from(t.jump_unit()))
            }
            ArgKind::JumpBackward => jump(i64::from(end) - i64::from(arg) * 2),
            ArgKind::Compare => match t.cmp_op.get((arg >> t.compare_shift()) as usize) {
                Some(op) => (ArgVal::Compare(op), None),
                None => oob,
            },
            ArgKind::FormatValue => {
                const CONV: [Option<&str>; 4] = [None, Some("str"), Some("repr"), Some("ascii")];
                (
                    ArgVal::FormatValue(CONV[(arg & 3) as usize], arg & 4 != 0),
                    None,
                )
            }
            ArgKind::ConvertValue => match arg {
                0 => (ArgVal::Converter(None), None),
                1 => (ArgVal::Converter(Some("str")), None),
                2 => (ArgVal::Converter(Some("repr")), None),
                3 => (ArgVal::Converter(Some("ascii")), None),
                _ => oob,
            },
        }
    }
}

impl<'c, 'a> Iterator for Instructions<'c, 'a> {
    type Item = Instruction<'c, 'a>;

    fn next(&mut self) -> Option<Instruction<'c, 'a>> {
        let bytes = self.code.code;
        if self.stop || self.pos >= bytes.len() {
            return None;
        }
        let t = self.table;
        let offset = self.pos as u32;
        let op = bytes[self.pos];
        let raw_info = t.op(op);
        // A specialised/instrumented opcode is decoded by the rules of its real opcode.
        let info: &'static OpInfo = match raw_info.deopt {
            Some(d) => t.op(d),
            None => raw_info,
        };
        let mut problem = match raw_info.kind {
            OpKind::Unused => Some(Problem::UnknownOpcode),
            OpKind::Specialized | OpKind::Instrumented => Some(Problem::NotInFiles),
            // Opcode 0 is `CACHE` from 3.11 on; real code never has one at an instruction
            // boundary.
            OpKind::Real if op == 0 && t.version >= (3, 11) && raw_info.name == "CACHE" => {
                Some(Problem::StrayCache)
            }
            OpKind::Real => None,
        };
        let base = raw_info.deopt.unwrap_or(op);
        let has_arg = if t.version >= (3, 12) {
            info.flags.contains(crate::opcodes::OpFlags::HAS_ARG)
        } else {
            base >= t.have_argument
        };
        let is_ext = op == t.extended_arg;
        let mut arg: Option<u32> = None;
        let end: usize;
        if t.is_wordcode() {
            let Some(&lo) = bytes.get(self.pos + 1) else {
                self.stop = true;
                return Some(self.truncated(offset, op, raw_info, info));
            };
            if has_arg {
                let a = self.ext | u64::from(lo);
                arg = Some(a as u32);
                self.ext = if is_ext { (a << 8) & 0xFFFF_FFFF } else { 0 };
            } else if t.version >= (3, 10) {
                // 3.6-3.9's dis keeps a pending EXTENDED_ARG across argument-less opcodes.
                self.ext = 0;
            }
            end = self.pos + 2 + 2 * info.caches as usize;
        } else if has_arg {
            let (Some(&lo), Some(&hi)) = (bytes.get(self.pos + 1), bytes.get(self.pos + 2)) else {
                self.stop = true;
                return Some(self.truncated(offset, op, raw_info, info));
            };
            let a = self.ext + u64::from(u16::from_le_bytes([lo, hi]));
            arg = Some(a as u32);
            self.ext = if is_ext { (a << 16) & 0xFFFF_FFFF } else { 0 };
            end = self.pos + 3;
        } else {
            // Before 3.6 an argument-less opcode leaves a pending EXTENDED_ARG alone.
            end = self.pos + 1;
        }
        let start_offset = if self.ext_count > 0 {
            self.ext_start
        } else {
            offset
        };
        if is_ext {
            if self.ext_count == 0 {
                self.ext_start = offset;
            }
            self.ext_count += 1;
            if self.ext_count > self.max_ext {
                problem = problem.or(Some(Problem::TooManyExtendedArgs));
            }
        } else {
            self.ext_count = 0;
        }
        if end > bytes.len() {
            // The caches run past the end: dis stops there too.
            problem = problem.or(Some(Problem::Truncated));
        }
        let end32 = end.min(u32::MAX as usize) as u32;
        let (argval, p) = match arg {
            Some(a) => self.resolve(info, a, end32),
            None => (ArgVal::None, None),
        };
        problem = problem.or(p);
        self.pos = end;
        Some(Instruction {
            offset,
            start_offset: if is_ext { offset } else { start_offset },
            opcode: op,
            info,
            opname: t.display_name(op),
            arg,
            argval,
            caches: info.caches,
            end: end32,
            problem,
        })
    }
}

impl<'c, 'a> Instructions<'c, 'a> {
    fn truncated(
        &self,
        offset: u32,
        op: u8,
        _raw: &'static OpInfo,
        info: &'static OpInfo,
    ) -> Instruction<'c, 'a> {
        Instruction {
            offset,
            start_offset: offset,
            opcode: op,
            info,
            opname: self.table.display_name(op),
            arg: None,
            argval: ArgVal::None,
            caches: 0,
            end: self.code.code.len() as u32,
            problem: Some(Problem::Truncated),
        }
    }
}

/// The set of jump-target offsets of a code object (`dis`'s labels): targets of jump
/// instructions and, from 3.11, exception handler targets. A bitset over byte offsets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JumpTargets {
    bits: Vec<u64>,
}

impl JumpTargets {
    /// The targets of the jump instructions of `code` (see [`crate::disasm::jump_targets`]
    /// for the exact set `dis` marks in each version).
    pub fn of(code: &Code<'_>) -> JumpTargets {
        crate::disasm::jump_targets(code, false)
    }

    /// Adds the targets of every jump instruction of `code`.
    pub fn extend_from_jumps(&mut self, code: &Code<'_>) {
        for ins in code.instructions() {
            if let Some(t) = ins.jump_target() {
                self.add(t);
            }
        }
    }

    /// An empty set able to hold offsets `0..=max_offset`.
    pub fn with_max_offset(max_offset: usize) -> JumpTargets {
        JumpTargets {
            bits: vec![0; max_offset / 64 + 1],
        }
    }

    /// Adds an offset (offsets beyond the capacity, i.e. outside the code, are ignored).
    pub fn add(&mut self, offset: u32) {
        if let Some(w) = self.bits.get_mut(offset as usize / 64) {
            *w |= 1 << (offset % 64);
        }
    }

    /// Number of targets.
    pub fn len(&self) -> usize {
        self.bits.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.bits.iter().all(|w| *w == 0)
    }

    /// The 1-based rank of `offset` among the targets (3.13's `L<n>` label), if a target.
    pub fn label_of(&self, offset: u32) -> Option<usize> {
        if !self.contains(offset) {
            return None;
        }
        let i = offset as usize / 64;
        let before: usize = self.bits[..i].iter().map(|w| w.count_ones() as usize).sum();
        let mask = (1u64 << (offset % 64)) - 1;
        Some(before + (self.bits[i] & mask).count_ones() as usize + 1)
    }

    /// Whether `offset` is a jump target.
    pub fn contains(&self, offset: u32) -> bool {
        self.bits
            .get(offset as usize / 64)
            .is_some_and(|w| w & (1 << (offset % 64)) != 0)
    }

    /// The targets, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.bits.iter().enumerate().flat_map(|(i, &w)| {
            (0..64u32)
                .filter(move |b| w & (1 << b) != 0)
                .map(move |b| i as u32 * 64 + b)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `EXTENDED_ARG 1; NOP; LOAD_CONST 0`: 3.8's dis gives LOAD_CONST 256 (the prefix survives
    /// the argument-less NOP), 3.10's gives 0 (checked with both interpreters).
    #[test]
    fn extended_arg_across_argumentless_opcode() {
        for (ver, want) in [((3, 8), 256), ((3, 10), 0)] {
            let t = OpcodeTable::for_version(ver.0, ver.1).unwrap();
            let bytes = [
                t.extended_arg,
                1,
                t.opcode("NOP").unwrap(),
                0,
                t.opcode("LOAD_CONST").unwrap(),
                0,
            ];
            let code = Code::empty(t, &bytes);
            let args: Vec<Option<u32>> = code.instructions().map(|i| i.arg).collect();
            assert_eq!(args, [Some(1), None, Some(want)], "{ver:?}");
        }
    }

    #[test]
    fn caches_are_skipped_and_counted_by_jumps() {
        // 3.12: LOAD_GLOBAL (4 caches) then POP_JUMP_IF_FALSE 1 (no caches in 3.12) jumps
        // over one instruction.
        let t = OpcodeTable::for_version(3, 12).unwrap();
        let mut bytes = vec![t.opcode("LOAD_GLOBAL").unwrap(), 0];
        bytes.extend([0; 8]);
        bytes.extend([t.opcode("POP_JUMP_IF_FALSE").unwrap(), 1]);
        bytes.extend([t.opcode("NOP").unwrap(), 0, t.opcode("NOP").unwrap(), 0]);
        let mut code = Code::empty(t, &bytes);
        code.names = vec![PyStr::new(b"g", true)];
        let ins: Vec<_> = code.instructions().collect();
        assert_eq!(ins.len(), 4);
        assert_eq!(ins[1].offset, 10);
        assert_eq!(ins[1].argval, ArgVal::Jump(14));
        assert!(ins.iter().all(|i| i.problem.is_none()));
    }

    /// 3.12 `LOAD_ATTR` has 9 cache entries, 3.11's 4: read with 3.11's count, the decoder
    /// lands inside the zero cache bytes and meets stray `CACHE` instructions.
    #[test]
    fn stray_cache_entries_are_reported() {
        let t12 = OpcodeTable::for_version(3, 12).unwrap();
        let t11 = OpcodeTable::for_version(3, 11).unwrap();
        let mut bytes = vec![t12.opcode("LOAD_ATTR").unwrap(), 0];
        bytes.extend([0; 18]);
        bytes.extend([t12.opcode("RETURN_VALUE").unwrap(), 0]);
        let mut code = Code::empty(t12, &bytes);
        code.names = vec![PyStr::new(b"a", true)];
        assert!(code.instructions().all(|i| i.problem.is_none()));
        code.table = t11;
        let problems: Vec<_> = code.instructions().filter_map(|i| i.problem).collect();
        assert!(problems.contains(&Problem::StrayCache), "{problems:?}");
        // Before 3.11 opcode 0 is not CACHE (2.7's STOP_CODE, then unassigned).
        let t10 = OpcodeTable::for_version(3, 10).unwrap();
        let code = Code::empty(t10, &[0, 0]);
        assert_ne!(
            code.instructions().next().unwrap().problem,
            Some(Problem::StrayCache)
        );
    }
}
