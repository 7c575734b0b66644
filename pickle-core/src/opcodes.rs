//! The one table of all 68 pickle opcodes, and the types generated from it.
//!
//! [`for_each_opcode!`](crate::for_each_opcode) lists every opcode exactly once: byte, Rust variant, pickletools name,
//! introducing protocol, argument kind, stack effect (as `pickletools` models it) and the first
//! line of pickletools' documentation (used by `dis(annotate=N)`). Everything else in the crate
//! that needs per-opcode facts (the reader's argument decoding, the disassembler, the writer) is
//! generated from it or uses the [`Opcode`] accessors below, so the facts live in one place.
//!
//! The rows were produced by `scripts/gen_opcode_rows.py` from CPython 3.13's `pickletools` and
//! are checked against `shared/spec/data/pickle/opcodes.json` and (when an interpreter is
//! installed) against live `pickletools.opcodes` by the tests.
//!
//! ```
//! use brine_pickle_core::opcodes::{ArgKind, Opcode};
//! let op = Opcode::from_byte(b'K').unwrap();
//! assert_eq!(op, Opcode::Binint1);
//! assert_eq!(op.name(), "BININT1");
//! assert_eq!(op.arg_kind(), Some(ArgKind::Uint1));
//! assert_eq!(op.proto(), 1);
//! ```

/// Calls `$mac! { ... }` with one row per opcode, in pickletools' order:
///
/// `(byte, Variant, "NAME", proto, ArgKindVariant | None, [stack before], [stack after], "doc");`
///
/// Stack entries are [`StackKind`] variant names. Use it (like wasmparser's
/// `for_each_operator!`) to generate per-opcode code elsewhere, e.g. in the writer.
#[macro_export]
macro_rules! for_each_opcode {
    ($mac:ident) => {
        $mac! {
            (0x49, Int, "INT", 0, DecimalnlShort, [], [IntOrBool], "Push an integer or bool.");
            (0x4A, Binint, "BININT", 1, Int4, [], [Int], "Push a four-byte signed integer.");
            (0x4B, Binint1, "BININT1", 1, Uint1, [], [Int], "Push a one-byte unsigned integer.");
            (0x4D, Binint2, "BININT2", 1, Uint2, [], [Int], "Push a two-byte unsigned integer.");
            (0x4C, Long, "LONG", 0, DecimalnlLong, [], [Int], "Push a long integer.");
            (0x8A, Long1, "LONG1", 2, Long1, [], [Int], "Long integer using one-byte length.");
            (0x8B, Long4, "LONG4", 2, Long4, [], [Int], "Long integer using four-byte length.");
            (0x53, String, "STRING", 0, Stringnl, [], [BytesOrStr], "Push a Python string object.");
            (0x54, Binstring, "BINSTRING", 1, String4, [], [BytesOrStr], "Push a Python string object.");
            (0x55, ShortBinstring, "SHORT_BINSTRING", 1, String1, [], [BytesOrStr], "Push a Python string object.");
            (0x42, Binbytes, "BINBYTES", 3, Bytes4, [], [Bytes], "Push a Python bytes object.");
            (0x43, ShortBinbytes, "SHORT_BINBYTES", 3, Bytes1, [], [Bytes], "Push a Python bytes object.");
            (0x8E, Binbytes8, "BINBYTES8", 4, Bytes8, [], [Bytes], "Push a Python bytes object.");
            (0x96, Bytearray8, "BYTEARRAY8", 5, Bytearray8, [], [Bytearray], "Push a Python bytearray object.");
            (0x97, NextBuffer, "NEXT_BUFFER", 5, None, [], [Buffer], "Push an out-of-band buffer object.");
            (0x98, ReadonlyBuffer, "READONLY_BUFFER", 5, None, [Buffer], [Buffer], "Make an out-of-band buffer object read-only.");
            (0x4E, None, "NONE", 0, None, [], [NoneType], "Push None on the stack.");
            (0x88, Newtrue, "NEWTRUE", 2, None, [], [Bool], "Push True onto the stack.");
            (0x89, Newfalse, "NEWFALSE", 2, None, [], [Bool], "Push False onto the stack.");
            (0x56, Unicode, "UNICODE", 0, Unicodestringnl, [], [Str], "Push a Python Unicode string object.");
            (0x8C, ShortBinunicode, "SHORT_BINUNICODE", 4, Unicodestring1, [], [Str], "Push a Python Unicode string object.");
            (0x58, Binunicode, "BINUNICODE", 1, Unicodestring4, [], [Str], "Push a Python Unicode string object.");
            (0x8D, Binunicode8, "BINUNICODE8", 4, Unicodestring8, [], [Str], "Push a Python Unicode string object.");
            (0x46, Float, "FLOAT", 0, Floatnl, [], [Float], "Newline-terminated decimal float literal.");
            (0x47, Binfloat, "BINFLOAT", 1, Float8, [], [Float], "Float stored in binary form, with 8 bytes of data.");
            (0x5D, EmptyList, "EMPTY_LIST", 1, None, [], [List], "Push an empty list.");
            (0x61, Append, "APPEND", 0, None, [List, Any], [List], "Append an object to a list.");
            (0x65, Appends, "APPENDS", 1, None, [List, Mark, StackSlice], [List], "Extend a list by a slice of stack objects.");
            (0x6C, List, "LIST", 0, None, [Mark, StackSlice], [List], "Build a list out of the topmost stack slice, after markobject.");
            (0x29, EmptyTuple, "EMPTY_TUPLE", 1, None, [], [Tuple], "Push an empty tuple.");
            (0x74, Tuple, "TUPLE", 0, None, [Mark, StackSlice], [Tuple], "Build a tuple out of the topmost stack slice, after markobject.");
            (0x85, Tuple1, "TUPLE1", 2, None, [Any], [Tuple], "Build a one-tuple out of the topmost item on the stack.");
            (0x86, Tuple2, "TUPLE2", 2, None, [Any, Any], [Tuple], "Build a two-tuple out of the top two items on the stack.");
            (0x87, Tuple3, "TUPLE3", 2, None, [Any, Any, Any], [Tuple], "Build a three-tuple out of the top three items on the stack.");
            (0x7D, EmptyDict, "EMPTY_DICT", 1, None, [], [Dict], "Push an empty dict.");
            (0x64, Dict, "DICT", 0, None, [Mark, StackSlice], [Dict], "Build a dict out of the topmost stack slice, after markobject.");
            (0x73, Setitem, "SETITEM", 0, None, [Dict, Any, Any], [Dict], "Add a key+value pair to an existing dict.");
            (0x75, Setitems, "SETITEMS", 1, None, [Dict, Mark, StackSlice], [Dict], "Add an arbitrary number of key+value pairs to an existing dict.");
            (0x8F, EmptySet, "EMPTY_SET", 4, None, [], [Set], "Push an empty set.");
            (0x90, Additems, "ADDITEMS", 4, None, [Set, Mark, StackSlice], [Set], "Add an arbitrary number of items to an existing set.");
            (0x91, Frozenset, "FROZENSET", 4, None, [Mark, StackSlice], [Frozenset], "Build a frozenset out of the topmost slice, after markobject.");
            (0x30, Pop, "POP", 0, None, [Any], [], "Discard the top stack item, shrinking the stack by one item.");
            (0x32, Dup, "DUP", 0, None, [Any], [Any, Any], "Push the top stack item onto the stack again, duplicating it.");
            (0x28, Mark, "MARK", 0, None, [], [Mark], "Push markobject onto the stack.");
            (0x31, PopMark, "POP_MARK", 1, None, [Mark, StackSlice], [], "Pop all the stack objects at and above the topmost markobject.");
            (0x67, Get, "GET", 0, DecimalnlShort, [], [Any], "Read an object from the memo and push it on the stack.");
            (0x68, Binget, "BINGET", 1, Uint1, [], [Any], "Read an object from the memo and push it on the stack.");
            (0x6A, LongBinget, "LONG_BINGET", 1, Uint4, [], [Any], "Read an object from the memo and push it on the stack.");
            (0x70, Put, "PUT", 0, DecimalnlShort, [], [], "Store the stack top into the memo.  The stack is not popped.");
            (0x71, Binput, "BINPUT", 1, Uint1, [], [], "Store the stack top into the memo.  The stack is not popped.");
            (0x72, LongBinput, "LONG_BINPUT", 1, Uint4, [], [], "Store the stack top into the memo.  The stack is not popped.");
            (0x94, Memoize, "MEMOIZE", 4, None, [Any], [Any], "Store the stack top into the memo.  The stack is not popped.");
            (0x82, Ext1, "EXT1", 2, Uint1, [], [Any], "Extension code.");
            (0x83, Ext2, "EXT2", 2, Uint2, [], [Any], "Extension code.");
            (0x84, Ext4, "EXT4", 2, Int4, [], [Any], "Extension code.");
            (0x63, Global, "GLOBAL", 0, StringnlNoescapePair, [], [Any], "Push a global object (module.attr) on the stack.");
            (0x93, StackGlobal, "STACK_GLOBAL", 4, None, [Str, Str], [Any], "Push a global object (module.attr) on the stack.");
            (0x52, Reduce, "REDUCE", 0, None, [Any, Any], [Any], "Push an object built from a callable and an argument tuple.");
            (0x62, Build, "BUILD", 0, None, [Any, Any], [Any], "Finish building an object, via __setstate__ or dict update.");
            (0x69, Inst, "INST", 0, StringnlNoescapePair, [Mark, StackSlice], [Any], "Build a class instance.");
            (0x6F, Obj, "OBJ", 1, None, [Mark, Any, StackSlice], [Any], "Build a class instance.");
            (0x81, Newobj, "NEWOBJ", 2, None, [Any, Any], [Any], "Build an object instance.");
            (0x92, NewobjEx, "NEWOBJ_EX", 4, None, [Any, Any, Any], [Any], "Build an object instance.");
            (0x80, Proto, "PROTO", 2, Uint1, [], [], "Protocol version indicator.");
            (0x2E, Stop, "STOP", 0, None, [Any], [], "Stop the unpickling machine.");
            (0x95, Frame, "FRAME", 4, Uint8, [], [], "Indicate the beginning of a new frame.");
            (0x50, Persid, "PERSID", 0, StringnlNoescape, [], [Any], "Push an object identified by a persistent ID.");
            (0x51, Binpersid, "BINPERSID", 1, None, [Any], [Any], "Push an object identified by a persistent ID.");
        }
    };
}

/// How an opcode's argument is encoded in the stream (pickletools' `ArgumentDescriptor` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArgKind {
    /// 1 byte unsigned.
    Uint1,
    /// 2 bytes unsigned little-endian.
    Uint2,
    /// 4 bytes signed little-endian.
    Int4,
    /// 4 bytes unsigned little-endian.
    Uint4,
    /// 8 bytes unsigned little-endian.
    Uint8,
    /// 8 bytes IEEE-754 big-endian.
    Float8,
    /// Decimal text line; `00`/`01` mean False/True.
    DecimalnlShort,
    /// Decimal text line with an optional trailing `L`.
    DecimalnlLong,
    /// Float text line.
    Floatnl,
    /// Quoted, escaped Python-2 string literal line.
    Stringnl,
    /// One raw text line.
    StringnlNoescape,
    /// Two raw text lines.
    StringnlNoescapePair,
    /// u1 length + bytes (latin-1 text in pickletools).
    String1,
    /// i4 length + bytes (latin-1 text in pickletools).
    String4,
    /// u1 length + bytes.
    Bytes1,
    /// u4 length + bytes.
    Bytes4,
    /// u8 length + bytes.
    Bytes8,
    /// u8 length + bytes (a bytearray).
    Bytearray8,
    /// raw-unicode-escape text line.
    Unicodestringnl,
    /// u1 length + UTF-8 (surrogatepass).
    Unicodestring1,
    /// u4 length + UTF-8 (surrogatepass).
    Unicodestring4,
    /// u8 length + UTF-8 (surrogatepass).
    Unicodestring8,
    /// u1 length + little-endian two's-complement integer.
    Long1,
    /// i4 length (≥ 0) + little-endian two's-complement integer.
    Long4,
}

impl ArgKind {
    /// pickletools' name of this argument kind (`"uint1"`, `"decimalnl_short"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ArgKind::Uint1 => "uint1",
            ArgKind::Uint2 => "uint2",
            ArgKind::Int4 => "int4",
            ArgKind::Uint4 => "uint4",
            ArgKind::Uint8 => "uint8",
            ArgKind::Float8 => "float8",
            ArgKind::DecimalnlShort => "decimalnl_short",
            ArgKind::DecimalnlLong => "decimalnl_long",
            ArgKind::Floatnl => "floatnl",
            ArgKind::Stringnl => "stringnl",
            ArgKind::StringnlNoescape => "stringnl_noescape",
            ArgKind::StringnlNoescapePair => "stringnl_noescape_pair",
            ArgKind::String1 => "string1",
            ArgKind::String4 => "string4",
            ArgKind::Bytes1 => "bytes1",
            ArgKind::Bytes4 => "bytes4",
            ArgKind::Bytes8 => "bytes8",
            ArgKind::Bytearray8 => "bytearray8",
            ArgKind::Unicodestringnl => "unicodestringnl",
            ArgKind::Unicodestring1 => "unicodestring1",
            ArgKind::Unicodestring4 => "unicodestring4",
            ArgKind::Unicodestring8 => "unicodestring8",
            ArgKind::Long1 => "long1",
            ArgKind::Long4 => "long4",
        }
    }

    /// True for the newline-terminated (text) kinds.
    pub fn is_line(self) -> bool {
        matches!(
            self,
            ArgKind::DecimalnlShort
                | ArgKind::DecimalnlLong
                | ArgKind::Floatnl
                | ArgKind::Stringnl
                | ArgKind::StringnlNoescape
                | ArgKind::StringnlNoescapePair
                | ArgKind::Unicodestringnl
        )
    }
}

/// The kinds of stack objects pickletools uses to describe stack effects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StackKind {
    /// Any object (`any`).
    Any,
    /// The mark sentinel (`mark`).
    Mark,
    /// Every item above the topmost mark (`stackslice`).
    StackSlice,
    /// `int`.
    Int,
    /// `int_or_bool`.
    IntOrBool,
    /// `bool`.
    Bool,
    /// `float`.
    Float,
    /// `bytes_or_str` (Python-2 strings).
    BytesOrStr,
    /// `bytes`.
    Bytes,
    /// `bytearray`.
    Bytearray,
    /// `str`.
    Str,
    /// `None`.
    NoneType,
    /// `tuple`.
    Tuple,
    /// `list`.
    List,
    /// `dict`.
    Dict,
    /// `set`.
    Set,
    /// `frozenset`.
    Frozenset,
    /// `buffer`.
    Buffer,
}

impl StackKind {
    /// pickletools' name (its `repr`), e.g. `"int_or_bool"`, `"None"`.
    pub fn name(self) -> &'static str {
        match self {
            StackKind::Any => "any",
            StackKind::Mark => "mark",
            StackKind::StackSlice => "stackslice",
            StackKind::Int => "int",
            StackKind::IntOrBool => "int_or_bool",
            StackKind::Bool => "bool",
            StackKind::Float => "float",
            StackKind::BytesOrStr => "bytes_or_str",
            StackKind::Bytes => "bytes",
            StackKind::Bytearray => "bytearray",
            StackKind::Str => "str",
            StackKind::NoneType => "None",
            StackKind::Tuple => "tuple",
            StackKind::List => "list",
            StackKind::Dict => "dict",
            StackKind::Set => "set",
            StackKind::Frozenset => "frozenset",
            StackKind::Buffer => "buffer",
        }
    }
}

macro_rules! opt_arg {
    (None) => {
        None
    };
    ($kind:ident) => {
        Some(ArgKind::$kind)
    };
}

macro_rules! define_opcodes {
    ($( ($byte:literal, $variant:ident, $name:literal, $proto:literal, $arg:ident,
         [$($before:ident),*], [$($after:ident),*], $doc:literal); )*) => {
        /// A pickle opcode. The discriminant is the opcode byte (`Opcode::Mark as u8 == b'('`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum Opcode {
            $(
                #[doc = $doc]
                $variant = $byte,
            )*
        }

        /// Every opcode, in pickletools' order.
        pub const ALL_OPCODES: [Opcode; 68] = [$(Opcode::$variant,)*];

        static FROM_BYTE: [Option<Opcode>; 256] = {
            let mut table = [None; 256];
            $( table[$byte] = Some(Opcode::$variant); )*
            table
        };

        // Lookup tables indexed by the opcode byte (the hot accessors use these instead of
        // a `match`, which does not always become a jump table).
        static PROTO_TABLE: [u8; 256] = {
            let mut table = [0u8; 256];
            $( table[$byte] = $proto; )*
            table
        };

        /// How the readers' fast path decodes each byte, in one lookup (derived from the
        /// argument kinds above by `FastDecode::of`).
        pub(crate) static DECODE_TABLE: [crate::reader::FastDecode; 256] = {
            let mut table = [crate::reader::FastDecode::SLOW; 256];
            $( table[$byte] = crate::reader::FastDecode::of(Opcode::$variant, opt_arg!($arg)); )*
            table
        };

        static ARG_TABLE: [Option<ArgKind>; 256] = {
            let mut table = [None; 256];
            $( table[$byte] = opt_arg!($arg); )*
            table
        };

        impl Opcode {
            /// The pickletools name, e.g. `"BININT1"`.
            pub const fn name(self) -> &'static str {
                match self { $(Opcode::$variant => $name,)* }
            }

            /// The protocol that introduced this opcode (pickletools' `proto`).
            #[inline]
            pub fn proto(self) -> u8 {
                PROTO_TABLE[self as usize]
            }

            /// How the argument is encoded, or `None` for opcodes without argument.
            #[inline]
            pub fn arg_kind(self) -> Option<ArgKind> {
                ARG_TABLE[self as usize]
            }

            /// Stack items consumed, bottom first, as pickletools models them.
            pub const fn stack_before(self) -> &'static [StackKind] {
                match self { $(Opcode::$variant => &[$(StackKind::$before),*],)* }
            }

            /// Stack items produced, bottom first, as pickletools models them.
            pub const fn stack_after(self) -> &'static [StackKind] {
                match self { $(Opcode::$variant => &[$(StackKind::$after),*],)* }
            }

            /// The first line of pickletools' documentation (what `dis(annotate=N)` prints).
            pub const fn doc(self) -> &'static str {
                match self { $(Opcode::$variant => $doc,)* }
            }
        }
    };
}

for_each_opcode!(define_opcodes);

impl Opcode {
    /// The opcode for a byte, or `None` if the byte is not an opcode.
    #[inline]
    pub fn from_byte(byte: u8) -> Option<Opcode> {
        FROM_BYTE[byte as usize]
    }

    /// The opcode byte.
    #[inline]
    pub const fn byte(self) -> u8 {
        self as u8
    }

    /// True if the opcode consumes a mark (its stack-before contains `mark`).
    pub fn uses_mark(self) -> bool {
        self.stack_before().contains(&StackKind::Mark)
    }
}

impl std::fmt::Display for Opcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        let mut seen = [false; 256];
        for op in ALL_OPCODES {
            assert!(!seen[op.byte() as usize], "duplicate byte {:#x}", op.byte());
            seen[op.byte() as usize] = true;
            assert_eq!(Opcode::from_byte(op.byte()), Some(op));
            assert!(op.proto() <= 5);
        }
        assert_eq!(seen.iter().filter(|s| **s).count(), 68);
    }
}
