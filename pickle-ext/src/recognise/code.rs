//! `types.CodeType` constructor arguments: the positional layouts by producing Python (spec §2.1),
//! as data, and the check that a call's arguments fit one.

use crate::infer::VersionSet;
use brine_pickle_core::{Graph, NodeId, NodeKind};

/// A code-object field as the constructor takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeField {
    /// `co_argcount`.
    ArgCount,
    /// `co_posonlyargcount` (3.8+).
    PosOnlyArgCount,
    /// `co_kwonlyargcount` (3.0+).
    KwOnlyArgCount,
    /// `co_nlocals`.
    NLocals,
    /// `co_stacksize`.
    StackSize,
    /// `co_flags`.
    Flags,
    /// `co_code`.
    Code,
    /// `co_consts`.
    Consts,
    /// `co_names`.
    Names,
    /// `co_varnames`.
    VarNames,
    /// `co_filename`.
    Filename,
    /// `co_name`.
    Name,
    /// `co_qualname` (3.11+).
    QualName,
    /// `co_firstlineno`.
    FirstLineNo,
    /// `co_lnotab` (≤ 3.9; dill's leading argument on 3.10+).
    LnoTab,
    /// `co_linetable` (3.10+).
    LineTable,
    /// `co_exceptiontable` (3.11+).
    ExceptionTable,
    /// `co_freevars`.
    FreeVars,
    /// `co_cellvars`.
    CellVars,
    /// `co_endlinetable` (3.11 alpha layout written by dill 0.3.5.x).
    EndLineTable,
    /// `co_columntable` (3.11 alpha layout written by dill 0.3.5.x).
    ColumnTable,
}

/// The Python type a field must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// `int`.
    Int,
    /// `bytes` (Python 2: `str`).
    Bytes,
    /// `str` (Python 2: `str`).
    Text,
    /// A tuple of `str`.
    Names,
    /// A tuple of anything.
    Tuple,
}

impl CodeField {
    /// The attribute name (`"co_argcount"`, ...).
    pub fn attr(self) -> &'static str {
        match self {
            CodeField::ArgCount => "co_argcount",
            CodeField::PosOnlyArgCount => "co_posonlyargcount",
            CodeField::KwOnlyArgCount => "co_kwonlyargcount",
            CodeField::NLocals => "co_nlocals",
            CodeField::StackSize => "co_stacksize",
            CodeField::Flags => "co_flags",
            CodeField::Code => "co_code",
            CodeField::Consts => "co_consts",
            CodeField::Names => "co_names",
            CodeField::VarNames => "co_varnames",
            CodeField::Filename => "co_filename",
            CodeField::Name => "co_name",
            CodeField::QualName => "co_qualname",
            CodeField::FirstLineNo => "co_firstlineno",
            CodeField::LnoTab => "co_lnotab",
            CodeField::LineTable => "co_linetable",
            CodeField::ExceptionTable => "co_exceptiontable",
            CodeField::FreeVars => "co_freevars",
            CodeField::CellVars => "co_cellvars",
            CodeField::EndLineTable => "co_endlinetable",
            CodeField::ColumnTable => "co_columntable",
        }
    }

    /// The type the constructor requires.
    pub fn ty(self) -> FieldType {
        use CodeField::*;
        match self {
            ArgCount | PosOnlyArgCount | KwOnlyArgCount | NLocals | StackSize | Flags
            | FirstLineNo => FieldType::Int,
            Code | LnoTab | LineTable | ExceptionTable | EndLineTable | ColumnTable => {
                FieldType::Bytes
            }
            Filename | Name | QualName => FieldType::Text,
            Names | VarNames | FreeVars | CellVars => FieldType::Names,
            Consts => FieldType::Tuple,
        }
    }
}

/// One positional layout of the constructor arguments.
#[derive(Debug, PartialEq, Eq)]
pub struct CtorLayout {
    /// Short name (`"3.8-3.9"`, `"dill 3.11+ (lnotab first)"`, ...).
    pub name: &'static str,
    /// The Pythons whose producers write it.
    pub versions: VersionSet,
    /// The fields, in argument order.
    pub fields: &'static [CodeField],
}

impl CtorLayout {
    /// The argument index of `field`, if the layout has it.
    pub fn position(&self, field: CodeField) -> Option<usize> {
        self.fields.iter().position(|&f| f == field)
    }
}

use CodeField::*;

const F27: &[CodeField] = &[
    ArgCount,
    NLocals,
    StackSize,
    Flags,
    Code,
    Consts,
    Names,
    VarNames,
    Filename,
    Name,
    FirstLineNo,
    LnoTab,
    FreeVars,
    CellVars,
];
const F30: &[CodeField] = &[
    ArgCount,
    KwOnlyArgCount,
    NLocals,
    StackSize,
    Flags,
    Code,
    Consts,
    Names,
    VarNames,
    Filename,
    Name,
    FirstLineNo,
    LnoTab,
    FreeVars,
    CellVars,
];
const F38: &[CodeField] = &[
    ArgCount,
    PosOnlyArgCount,
    KwOnlyArgCount,
    NLocals,
    StackSize,
    Flags,
    Code,
    Consts,
    Names,
    VarNames,
    Filename,
    Name,
    FirstLineNo,
    LnoTab,
    FreeVars,
    CellVars,
];
const F310: &[CodeField] = &[
    ArgCount,
    PosOnlyArgCount,
    KwOnlyArgCount,
    NLocals,
    StackSize,
    Flags,
    Code,
    Consts,
    Names,
    VarNames,
    Filename,
    Name,
    FirstLineNo,
    LineTable,
    FreeVars,
    CellVars,
];
const F311: &[CodeField] = &[
    ArgCount,
    PosOnlyArgCount,
    KwOnlyArgCount,
    NLocals,
    StackSize,
    Flags,
    Code,
    Consts,
    Names,
    VarNames,
    Filename,
    Name,
    QualName,
    FirstLineNo,
    LineTable,
    ExceptionTable,
    FreeVars,
    CellVars,
];
const DILL_F310: &[CodeField] = &[
    LnoTab,
    ArgCount,
    PosOnlyArgCount,
    KwOnlyArgCount,
    NLocals,
    StackSize,
    Flags,
    Code,
    Consts,
    Names,
    VarNames,
    Filename,
    Name,
    FirstLineNo,
    LineTable,
    FreeVars,
    CellVars,
];
const DILL_F311: &[CodeField] = &[
    LnoTab,
    ArgCount,
    PosOnlyArgCount,
    KwOnlyArgCount,
    NLocals,
    StackSize,
    Flags,
    Code,
    Consts,
    Names,
    VarNames,
    Filename,
    Name,
    QualName,
    FirstLineNo,
    LineTable,
    ExceptionTable,
    FreeVars,
    CellVars,
];
const DILL_F311_ALPHA: &[CodeField] = &[
    ArgCount,
    PosOnlyArgCount,
    KwOnlyArgCount,
    NLocals,
    StackSize,
    Flags,
    Code,
    Consts,
    Names,
    VarNames,
    Filename,
    Name,
    QualName,
    FirstLineNo,
    LineTable,
    EndLineTable,
    ColumnTable,
    ExceptionTable,
    FreeVars,
    CellVars,
];
const PYPY_F311: &[CodeField] = &[
    ArgCount,
    PosOnlyArgCount,
    KwOnlyArgCount,
    NLocals,
    StackSize,
    Flags,
    Code,
    Consts,
    Names,
    VarNames,
    Filename,
    Name,
    QualName,
    FirstLineNo,
    LineTable,
    FreeVars,
    CellVars,
];

/// Every layout, keyed by argument count and by the type of the first argument.
pub static CTOR_LAYOUTS: &[CtorLayout] = &[
    CtorLayout {
        name: "2.7",
        versions: VersionSet::range((2, 7), (2, 7)),
        fields: F27,
    },
    CtorLayout {
        name: "3.0-3.7",
        versions: VersionSet::range((3, 0), (3, 7)),
        fields: F30,
    },
    CtorLayout {
        name: "3.8-3.9",
        versions: VersionSet::range((3, 8), (3, 9)),
        fields: F38,
    },
    CtorLayout {
        name: "3.10",
        versions: VersionSet::range((3, 10), (3, 10)),
        fields: F310,
    },
    CtorLayout {
        name: "3.11+",
        versions: VersionSet::range((3, 11), (3, 14)),
        fields: F311,
    },
    CtorLayout {
        name: "dill 3.10 (lnotab first)",
        versions: VersionSet::range((3, 10), (3, 10)),
        fields: DILL_F310,
    },
    CtorLayout {
        name: "dill 3.11+ (lnotab first)",
        versions: VersionSet::range((3, 11), (3, 14)),
        fields: DILL_F311,
    },
    CtorLayout {
        name: "dill 0.3.5 3.11-alpha",
        versions: VersionSet::range((3, 11), (3, 11)),
        fields: DILL_F311_ALPHA,
    },
    CtorLayout {
        name: "dill PyPy 3.11",
        versions: VersionSet::range((3, 11), (3, 11)),
        fields: PYPY_F311,
    },
];

/// Why arguments fit no layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayoutMismatch {
    /// No layout has this many arguments.
    Count(usize),
    /// The arguments have the right count but a field has the wrong type.
    Type {
        /// Argument index (0-based).
        index: usize,
        /// The field expected there.
        field: CodeField,
        /// What was found (a Python type name).
        found: &'static str,
    },
}

impl std::fmt::Display for LayoutMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LayoutMismatch::Count(n) => {
                write!(f, "no CodeType argument layout has {n} arguments")
            }
            LayoutMismatch::Type {
                index,
                field,
                found,
            } => write!(
                f,
                "CodeType argument {} ({}) must be {}, not {found}",
                index + 1,
                field.attr(),
                match field.ty() {
                    FieldType::Int => "int",
                    FieldType::Bytes => "bytes",
                    FieldType::Text => "str",
                    FieldType::Names => "a tuple of str",
                    FieldType::Tuple => "tuple",
                }
            ),
        }
    }
}

/// Whether `node` has the Python type `ty` (`is_bytes` says whether a node denotes bytes
/// indirectly, e.g. a folded `_codecs.encode` call).
pub(crate) fn has_type(
    graph: &Graph,
    node: NodeId,
    ty: FieldType,
    is_bytes: &dyn Fn(NodeId) -> bool,
) -> bool {
    match ty {
        FieldType::Int => matches!(
            graph.kind(node),
            NodeKind::Int(_) | NodeKind::BigInt(_) | NodeKind::Bool(_)
        ),
        FieldType::Bytes => {
            matches!(graph.kind(node), NodeKind::Bytes(_) | NodeKind::Py2Str(_)) || is_bytes(node)
        }
        FieldType::Text => matches!(graph.kind(node), NodeKind::Str(_) | NodeKind::Py2Str(_)),
        FieldType::Names => match graph.kind(node) {
            NodeKind::Tuple(items) => items
                .iter()
                .all(|&i| matches!(graph.kind(i), NodeKind::Str(_) | NodeKind::Py2Str(_))),
            _ => false,
        },
        FieldType::Tuple => matches!(graph.kind(node), NodeKind::Tuple(_)),
    }
}

/// The layouts `args` fits, best first. With 16 arguments both the 3.8/3.9 (lnotab) and the 3.10
/// (linetable) layouts fit by type; the caller separates them by the table's content.
pub fn match_layouts(
    graph: &Graph,
    args: &[NodeId],
    is_bytes: &dyn Fn(NodeId) -> bool,
) -> Result<Vec<&'static CtorLayout>, LayoutMismatch> {
    let mut fits = Vec::new();
    let mut first_error = None;
    for layout in CTOR_LAYOUTS.iter().filter(|l| l.fields.len() == args.len()) {
        let bad = layout
            .fields
            .iter()
            .zip(args)
            .enumerate()
            .find(|(_, (f, &a))| !has_type(graph, a, f.ty(), is_bytes));
        match bad {
            None => fits.push(layout),
            Some((index, (&field, &a))) => {
                first_error.get_or_insert(LayoutMismatch::Type {
                    index,
                    field,
                    found: graph.type_name(a),
                });
            }
        }
    }
    if fits.is_empty() {
        return Err(first_error.unwrap_or(LayoutMismatch::Count(args.len())));
    }
    Ok(fits)
}

/// Tells a 3.10 `co_linetable` from a 3.8/3.9 `co_lnotab` given `co_code`: the 3.10 table's
/// byte-offset deltas (even positions) add up to the whole bytecode, an lnotab's stop short of
/// it (it only records where lines change). `None` when the table is empty or odd-sized.
pub fn looks_like_linetable_310(table: &[u8], code: &[u8]) -> Option<bool> {
    if table.is_empty() || !table.len().is_multiple_of(2) {
        return None;
    }
    let covered: usize = table.iter().step_by(2).map(|&b| b as usize).sum();
    Some(covered == code.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_have_the_documented_lengths() {
        let lens: Vec<(&str, usize)> = CTOR_LAYOUTS
            .iter()
            .map(|l| (l.name, l.fields.len()))
            .collect();
        assert_eq!(
            lens,
            [
                ("2.7", 14),
                ("3.0-3.7", 15),
                ("3.8-3.9", 16),
                ("3.10", 16),
                ("3.11+", 18),
                ("dill 3.10 (lnotab first)", 17),
                ("dill 3.11+ (lnotab first)", 19),
                ("dill 0.3.5 3.11-alpha", 20),
                ("dill PyPy 3.11", 17)
            ]
        );
        assert_eq!(CTOR_LAYOUTS[4].position(CodeField::QualName), Some(12));
    }

    #[test]
    fn linetable_heuristic() {
        // 3.10: two entries covering 8 bytes of code.
        assert_eq!(looks_like_linetable_310(&[4, 1, 4, 0], &[0; 8]), Some(true));
        // 3.8 lnotab: one line change at offset 4 of 8.
        assert_eq!(looks_like_linetable_310(&[4, 1], &[0; 8]), Some(false));
        assert_eq!(looks_like_linetable_310(&[], &[0; 8]), None);
    }
}
