//! `co_flags`: bits that mean the same in every version, and the `__future__` bits that moved.
//!
//! The `CO_FUTURE_*` bits moved in 3.8.3 (bpo-39562) without a magic-number change, so the
//! meaning of a 3.8 code object's high bits depends on the patch release that wrote it: see
//! [`FutureLayout`].

use bitflags::bitflags;

bitflags! {
    /// The version-independent `co_flags` bits (unknown bits are kept as they are).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct CodeFlags: u32 {
        /// Fast locals (function bodies).
        const OPTIMIZED = 0x0001;
        /// A new `locals` dict is made for each call.
        const NEWLOCALS = 0x0002;
        /// Has `*args`.
        const VARARGS = 0x0004;
        /// Has `**kwargs`.
        const VARKEYWORDS = 0x0008;
        /// Defined inside another function.
        const NESTED = 0x0010;
        /// A generator.
        const GENERATOR = 0x0020;
        /// No cell or free variables (set by compilers up to 3.10 only).
        const NOFREE = 0x0040;
        /// `async def` (3.5+).
        const COROUTINE = 0x0080;
        /// `types.coroutine` (3.5+).
        const ITERABLE_COROUTINE = 0x0100;
        /// Async generator (3.6+).
        const ASYNC_GENERATOR = 0x0200;
        /// `CO_GENERATOR_ALLOWED` (old headers; never set by compilers of those versions).
        const GENERATOR_ALLOWED = 0x1000;
        /// 3.13+: no `sys.monitoring` events.
        const NO_MONITORING_EVENTS = 0x0200_0000;
        /// 3.14+: `co_consts[0]` is the docstring.
        const HAS_DOCSTRING = 0x0400_0000;
        /// 3.14+: a function defined in a class body.
        const METHOD = 0x0800_0000;
        // Keep every other bit (the `__future__` bits are interpreted through `FutureLayout`).
        const _ = !0;
    }
}

bitflags! {
    /// `from __future__ import ...` features, independent of where a version stores them.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct Futures: u16 {
        /// `division`.
        const DIVISION = 1 << 0;
        /// `absolute_import`.
        const ABSOLUTE_IMPORT = 1 << 1;
        /// `with_statement`.
        const WITH_STATEMENT = 1 << 2;
        /// `print_function`.
        const PRINT_FUNCTION = 1 << 3;
        /// `unicode_literals`.
        const UNICODE_LITERALS = 1 << 4;
        /// `barry_as_FLUFL` (3.1+).
        const BARRY_AS_BDFL = 1 << 5;
        /// `generator_stop` (3.5+).
        const GENERATOR_STOP = 1 << 6;
        /// `annotations` (3.7+).
        const ANNOTATIONS = 1 << 7;
    }
}

/// Where a version keeps the `CO_FUTURE_*` bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FutureLayout {
    /// 2.7, 3.0–3.7 and 3.8.0–3.8.2: `division` = 0x2000 ... `annotations` = 0x100000.
    Old,
    /// 3.8.3+ and 3.9+: every bit shifted left by 4 (`division` = 0x20000).
    New,
}

impl FutureLayout {
    /// The layout for a `major.minor` version. For 3.8, `patch` picks the side of the 3.8.3
    /// move; when it is unknown (a magic number cannot tell) we assume 3.8.3+, the layout of
    /// every 3.8 release since May 2020.
    pub fn for_version(major: u8, minor: u8, patch: Option<u8>) -> FutureLayout {
        match (major, minor) {
            (2, _) => FutureLayout::Old,
            (3, m) if m < 8 => FutureLayout::Old,
            (3, 8) if patch.is_some_and(|p| p < 3) => FutureLayout::Old,
            _ => FutureLayout::New,
        }
    }

    /// The bit of a feature (exactly one feature) in this layout.
    pub fn bit(self, feature: Futures) -> u32 {
        let base = 0x2000u32 << feature.bits().trailing_zeros();
        match self {
            FutureLayout::Old => base,
            FutureLayout::New => base << 4,
        }
    }

    /// The features whose bits are set in raw `co_flags`.
    pub fn decode(self, raw: u32) -> Futures {
        let mut out = Futures::empty();
        for f in Futures::all().iter() {
            if raw & self.bit(f) != 0 {
                out |= f;
            }
        }
        out
    }

    /// The raw bits for a set of features.
    pub fn encode(self, futures: Futures) -> u32 {
        futures.iter().map(|f| self.bit(f)).fold(0, |a, b| a | b)
    }

    /// Every bit this layout uses for features.
    pub fn mask(self) -> u32 {
        self.encode(Futures::all())
    }
}

/// The names `dis` uses for the set version-independent bits of `co_flags`, in bit order,
/// for a version (bits a version does not define are left out).
pub fn flag_names(flags: CodeFlags, major: u8, minor: u8) -> Vec<&'static str> {
    let v = (major, minor);
    let table: &[(CodeFlags, &str, (u8, u8))] = &[
        (CodeFlags::OPTIMIZED, "OPTIMIZED", (2, 0)),
        (CodeFlags::NEWLOCALS, "NEWLOCALS", (2, 0)),
        (CodeFlags::VARARGS, "VARARGS", (2, 0)),
        (CodeFlags::VARKEYWORDS, "VARKEYWORDS", (2, 0)),
        (CodeFlags::NESTED, "NESTED", (2, 0)),
        (CodeFlags::GENERATOR, "GENERATOR", (2, 0)),
        (CodeFlags::NOFREE, "NOFREE", (2, 0)),
        (CodeFlags::COROUTINE, "COROUTINE", (3, 5)),
        (CodeFlags::ITERABLE_COROUTINE, "ITERABLE_COROUTINE", (3, 5)),
        (CodeFlags::ASYNC_GENERATOR, "ASYNC_GENERATOR", (3, 6)),
        (CodeFlags::HAS_DOCSTRING, "HAS_DOCSTRING", (3, 14)),
        (CodeFlags::METHOD, "METHOD", (3, 14)),
    ];
    table
        .iter()
        .filter(|(f, _, since)| v >= *since && flags.contains(*f))
        .map(|(_, n, _)| *n)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn future_bits_move_in_3_8_3() {
        let old = FutureLayout::for_version(3, 8, Some(2));
        let new = FutureLayout::for_version(3, 8, Some(3));
        assert_eq!(old, FutureLayout::Old);
        assert_eq!(new, FutureLayout::New);
        assert_eq!(FutureLayout::for_version(3, 8, None), FutureLayout::New);
        assert_eq!(old.bit(Futures::DIVISION), 0x2000);
        assert_eq!(old.bit(Futures::ANNOTATIONS), 0x100000);
        assert_eq!(new.bit(Futures::ANNOTATIONS), 0x1000000);
        assert_eq!(new.bit(Futures::GENERATOR_STOP), 0x800000);
        // 2.7 module with `from __future__ import division, print_function` (spec, run).
        let f = FutureLayout::Old.decode(0x12040);
        assert_eq!(f, Futures::DIVISION | Futures::PRINT_FUNCTION);
        assert_eq!(FutureLayout::Old.encode(f), 0x12000);
        // 0x20000 is unicode_literals in the old layout and division in the new.
        assert_eq!(FutureLayout::Old.decode(0x20000), Futures::UNICODE_LITERALS);
        assert_eq!(FutureLayout::New.decode(0x20000), Futures::DIVISION);
    }

    #[test]
    fn names_follow_version() {
        let f = CodeFlags::from_bits_retain(0x0800_0083);
        assert_eq!(
            flag_names(f, 3, 14),
            ["OPTIMIZED", "NEWLOCALS", "COROUTINE", "METHOD"]
        );
        assert_eq!(
            flag_names(f, 3, 13),
            ["OPTIMIZED", "NEWLOCALS", "COROUTINE"]
        );
        assert_eq!(flag_names(f, 2, 7), ["OPTIMIZED", "NEWLOCALS"]);
    }
}
