//! Local-variable kinds and the 3.11+ "localsplus" layout, in both directions.
//!
//! Up to 3.10 a code object stores `co_varnames`, `co_cellvars` and `co_freevars` separately;
//! from 3.11 it stores one tuple of names (`co_localsplusnames`) and one kind byte per name
//! (`co_localspluskinds`). [`split_localsplus`] derives the old tuples from the new ones exactly
//! as CPython does; [`join_localsplus`] builds the new ones from the old.

use bitflags::bitflags;

bitflags! {
    /// The kind byte of one localsplus entry (3.11+).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct LocalKind: u8 {
        /// 3.14: can be passed positionally.
        const ARG_POS = 0x02;
        /// 3.14: can be passed by keyword.
        const ARG_KW = 0x04;
        /// 3.14: `*args` or `**kwargs`.
        const ARG_VAR = 0x08;
        /// 3.12+: an inlined comprehension's temporary (hidden from `locals()`).
        const HIDDEN = 0x10;
        /// A fast local (arguments included).
        const LOCAL = 0x20;
        /// Captured by an inner scope.
        const CELL = 0x40;
        /// Comes from the closure.
        const FREE = 0x80;
        // Keep unknown bits (bit 0) as read.
        const _ = !0;
    }
}

/// Indices into localsplus of the three classic tuples.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SplitLocals {
    /// `co_varnames`: entries with [`LocalKind::LOCAL`], in order.
    pub varnames: Vec<usize>,
    /// `co_cellvars`: entries with [`LocalKind::CELL`], in order.
    pub cellvars: Vec<usize>,
    /// `co_freevars`: entries with [`LocalKind::FREE`], in order.
    pub freevars: Vec<usize>,
}

/// Derives `co_varnames`/`co_cellvars`/`co_freevars` (as indices into localsplus) from the
/// kind bytes, as CPython 3.11+ does: filter by LOCAL, CELL and FREE in localsplus order. An
/// argument captured by an inner function (LOCAL|CELL) appears in both varnames and cellvars.
pub fn split_localsplus(kinds: &[LocalKind]) -> SplitLocals {
    let mut out = SplitLocals::default();
    for (i, k) in kinds.iter().enumerate() {
        if k.contains(LocalKind::LOCAL) {
            out.varnames.push(i);
        }
        if k.contains(LocalKind::CELL) {
            out.cellvars.push(i);
        }
        if k.contains(LocalKind::FREE) {
            out.freevars.push(i);
        }
    }
    out
}

/// What [`join_localsplus`] needs to know about the arguments to set the 3.14 argument bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ArgShape {
    /// `co_posonlyargcount`.
    pub posonly: usize,
    /// `co_argcount` (includes the positional-only ones).
    pub positional: usize,
    /// `co_kwonlyargcount`.
    pub kwonly: usize,
    /// `CO_VARARGS` is set.
    pub varargs: bool,
    /// `CO_VARKEYWORDS` is set.
    pub varkeywords: bool,
}

/// Builds localsplus (names with kinds) from the classic tuples: varnames (LOCAL, plus CELL
/// when the name is also a cell), then the cell-only names, then the free names. With
/// `arg_bits` (3.14 and later) the argument entries also get ARG_POS/ARG_KW/ARG_VAR.
///
/// The HIDDEN bit (3.12+) is not recoverable from the classic tuples and is never set.
pub fn join_localsplus<T: PartialEq + Clone>(
    varnames: &[T],
    cellvars: &[T],
    freevars: &[T],
    args: Option<ArgShape>,
) -> Vec<(T, LocalKind)> {
    let mut out: Vec<(T, LocalKind)> =
        Vec::with_capacity(varnames.len() + cellvars.len() + freevars.len());
    for (i, name) in varnames.iter().enumerate() {
        let mut kind = LocalKind::LOCAL;
        if cellvars.contains(name) {
            kind |= LocalKind::CELL;
        }
        if let Some(shape) = args {
            kind |= arg_bits(i, shape);
        }
        out.push((name.clone(), kind));
    }
    for name in cellvars {
        if !varnames.contains(name) {
            out.push((name.clone(), LocalKind::CELL));
        }
    }
    for name in freevars {
        out.push((name.clone(), LocalKind::FREE));
    }
    out
}

fn arg_bits(i: usize, s: ArgShape) -> LocalKind {
    if i < s.posonly {
        return LocalKind::ARG_POS;
    }
    if i < s.positional {
        return LocalKind::ARG_POS | LocalKind::ARG_KW;
    }
    if i < s.positional + s.kwonly {
        return LocalKind::ARG_KW;
    }
    let mut j = s.positional + s.kwonly;
    if s.varargs {
        if i == j {
            return LocalKind::ARG_POS | LocalKind::ARG_VAR;
        }
        j += 1;
    }
    if s.varkeywords && i == j {
        return LocalKind::ARG_KW | LocalKind::ARG_VAR;
    }
    LocalKind::empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(b: u8) -> LocalKind {
        LocalKind::from_bits_retain(b)
    }

    #[test]
    fn split_and_join_round_trip() {
        // def f(a, b): x = 1; def g(): return a, x   -> a: LOCAL|CELL, b: LOCAL, x: CELL
        let names = ["a", "b", "x", "z"];
        let kinds = [k(0x60), k(0x20), k(0x40), k(0x80)];
        let s = split_localsplus(&kinds);
        assert_eq!(s.varnames, [0, 1]);
        assert_eq!(s.cellvars, [0, 2]);
        assert_eq!(s.freevars, [3]);
        let var: Vec<&str> = s.varnames.iter().map(|&i| names[i]).collect();
        let cell: Vec<&str> = s.cellvars.iter().map(|&i| names[i]).collect();
        let free: Vec<&str> = s.freevars.iter().map(|&i| names[i]).collect();
        let joined = join_localsplus(&var, &cell, &free, None);
        let back: Vec<(&str, LocalKind)> = names.iter().copied().zip(kinds).collect();
        assert_eq!(joined, back);
    }

    #[test]
    fn arg_bits_3_14() {
        // def f(a, /, b, *c, d, **e): pass
        let var = ["a", "b", "d", "c", "e"];
        let shape = ArgShape {
            posonly: 1,
            positional: 2,
            kwonly: 1,
            varargs: true,
            varkeywords: true,
        };
        let got: Vec<u8> = join_localsplus(&var, &[], &[], Some(shape))
            .iter()
            .map(|(_, k)| k.bits())
            .collect();
        assert_eq!(got, [0x22, 0x26, 0x24, 0x2A, 0x2C]);
    }
}
