//! Code objects (`c`) as read, tagged with the layout they were read with.

use crate::node::NodeId;
use crate::version::{CodeField, CodeLayout, PyVersion};

/// A code object as read. Integer fields hold the values as written; object fields are node ids
/// (possibly [`crate::Value::Ref`] nodes: use [`crate::Stream::get`] or the [`CodeView`]
/// accessors to follow them). Fields the layout lacks are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeObject {
    /// The Python version whose layout was used.
    pub version: PyVersion,
    /// The field layout.
    pub layout: CodeLayout,
    /// The `c` node.
    pub node: NodeId,
    /// `co_argcount`.
    pub argcount: i32,
    /// `co_posonlyargcount` (3.8+).
    pub posonlyargcount: Option<i32>,
    /// `co_kwonlyargcount` (3.0+).
    pub kwonlyargcount: Option<i32>,
    /// `co_nlocals` (up to 3.10).
    pub nlocals: Option<i32>,
    /// `co_stacksize`.
    pub stacksize: i32,
    /// `co_flags` as written (a signed 4-byte int; see [`CodeObject::flags_u32`]).
    pub flags: i32,
    /// `co_code`.
    pub code: NodeId,
    /// `co_consts`.
    pub consts: NodeId,
    /// `co_names`.
    pub names: NodeId,
    /// `co_varnames` (up to 3.10).
    pub varnames: Option<NodeId>,
    /// `co_freevars` (up to 3.10).
    pub freevars: Option<NodeId>,
    /// `co_cellvars` (up to 3.10).
    pub cellvars: Option<NodeId>,
    /// `co_localsplusnames` (3.11+).
    pub localsplusnames: Option<NodeId>,
    /// `co_localspluskinds` (3.11+).
    pub localspluskinds: Option<NodeId>,
    /// `co_filename`.
    pub filename: NodeId,
    /// `co_name`.
    pub name: NodeId,
    /// `co_qualname` (3.11+).
    pub qualname: Option<NodeId>,
    /// `co_firstlineno`.
    pub firstlineno: i32,
    /// `co_lnotab` (up to 3.9) or `co_linetable` (3.10+).
    pub linetable: NodeId,
    /// `co_exceptiontable` (3.11+).
    pub exceptiontable: Option<NodeId>,
}

impl CodeObject {
    /// `co_flags` as unsigned bits.
    pub fn flags_u32(&self) -> u32 {
        self.flags as u32
    }

    /// The value of an integer field, `None` if the layout lacks it or the field is an object.
    pub fn int_field(&self, field: CodeField) -> Option<i32> {
        match field {
            CodeField::ArgCount => Some(self.argcount),
            CodeField::PosOnlyArgCount => self.posonlyargcount,
            CodeField::KwOnlyArgCount => self.kwonlyargcount,
            CodeField::NLocals => self.nlocals,
            CodeField::StackSize => Some(self.stacksize),
            CodeField::Flags => Some(self.flags),
            CodeField::FirstLineNo => Some(self.firstlineno),
            _ => None,
        }
    }

    /// The node of an object field, `None` if the layout lacks it or the field is an int.
    pub fn object_field(&self, field: CodeField) -> Option<NodeId> {
        match field {
            CodeField::Code => Some(self.code),
            CodeField::Consts => Some(self.consts),
            CodeField::Names => Some(self.names),
            CodeField::VarNames => self.varnames,
            CodeField::FreeVars => self.freevars,
            CodeField::CellVars => self.cellvars,
            CodeField::LocalsPlusNames => self.localsplusnames,
            CodeField::LocalsPlusKinds => self.localspluskinds,
            CodeField::Filename => Some(self.filename),
            CodeField::Name => Some(self.name),
            CodeField::QualName => self.qualname,
            CodeField::LineTable => Some(self.linetable),
            CodeField::ExceptionTable => self.exceptiontable,
            _ => None,
        }
    }

    /// Builds a code object from its field values in layout order (ints and nodes in the order
    /// of [`CodeLayout::fields`]). Used by the reader.
    pub(crate) fn from_fields(
        version: PyVersion,
        layout: CodeLayout,
        node: NodeId,
        ints: &[i32],
        objs: &[NodeId],
    ) -> CodeObject {
        let mut c = CodeObject {
            version,
            layout,
            node,
            argcount: 0,
            posonlyargcount: None,
            kwonlyargcount: None,
            nlocals: None,
            stacksize: 0,
            flags: 0,
            code: node,
            consts: node,
            names: node,
            varnames: None,
            freevars: None,
            cellvars: None,
            localsplusnames: None,
            localspluskinds: None,
            filename: node,
            name: node,
            qualname: None,
            firstlineno: 0,
            linetable: node,
            exceptiontable: None,
        };
        let (mut i, mut o) = (0, 0);
        for &f in layout.fields() {
            if f.is_int() {
                let v = ints[i];
                i += 1;
                match f {
                    CodeField::ArgCount => c.argcount = v,
                    CodeField::PosOnlyArgCount => c.posonlyargcount = Some(v),
                    CodeField::KwOnlyArgCount => c.kwonlyargcount = Some(v),
                    CodeField::NLocals => c.nlocals = Some(v),
                    CodeField::StackSize => c.stacksize = v,
                    CodeField::Flags => c.flags = v,
                    CodeField::FirstLineNo => c.firstlineno = v,
                    _ => unreachable!("is_int covers exactly these"),
                }
            } else {
                let v = objs[o];
                o += 1;
                match f {
                    CodeField::Code => c.code = v,
                    CodeField::Consts => c.consts = v,
                    CodeField::Names => c.names = v,
                    CodeField::VarNames => c.varnames = Some(v),
                    CodeField::FreeVars => c.freevars = Some(v),
                    CodeField::CellVars => c.cellvars = Some(v),
                    CodeField::LocalsPlusNames => c.localsplusnames = Some(v),
                    CodeField::LocalsPlusKinds => c.localspluskinds = Some(v),
                    CodeField::Filename => c.filename = v,
                    CodeField::Name => c.name = v,
                    CodeField::QualName => c.qualname = Some(v),
                    CodeField::LineTable => c.linetable = v,
                    CodeField::ExceptionTable => c.exceptiontable = Some(v),
                    _ => unreachable!("non-int fields"),
                }
            }
        }
        c
    }
}

/// A code object together with its stream, for convenient access to resolved fields.
/// Obtained from [`crate::Stream::code_view`] or [`crate::Stream::code_objects`].
#[derive(Clone, Copy)]
pub struct CodeView<'s, 'a> {
    /// The stream.
    pub stream: &'s crate::Stream<'a>,
    /// The code object.
    pub code: &'s CodeObject,
}

impl std::ops::Deref for CodeView<'_, '_> {
    type Target = CodeObject;
    fn deref(&self) -> &CodeObject {
        self.code
    }
}

impl std::fmt::Debug for CodeView<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.code.fmt(f)
    }
}

impl<'s, 'a> CodeView<'s, 'a> {
    fn bytes_of(&self, id: NodeId) -> &'a [u8] {
        self.stream.get(id).value.as_bytes().unwrap_or(&[])
    }

    fn strs_of(&self, id: Option<NodeId>) -> Vec<crate::text::PyStr<'a>> {
        match id {
            Some(id) => self.stream.str_items(id),
            None => Vec::new(),
        }
    }

    /// `co_code` bytes (empty if the field is not a bytes object).
    pub fn code_bytes(&self) -> &'a [u8] {
        self.bytes_of(self.code.code)
    }

    /// `co_lnotab`/`co_linetable` bytes.
    pub fn linetable_bytes(&self) -> &'a [u8] {
        self.bytes_of(self.code.linetable)
    }

    /// `co_exceptiontable` bytes (3.11+; empty before).
    pub fn exceptiontable_bytes(&self) -> &'a [u8] {
        self.code
            .exceptiontable
            .map(|id| self.bytes_of(id))
            .unwrap_or(&[])
    }

    /// `co_localspluskinds` bytes (3.11+; empty before).
    pub fn localspluskinds_bytes(&self) -> &'a [u8] {
        self.code
            .localspluskinds
            .map(|id| self.bytes_of(id))
            .unwrap_or(&[])
    }

    /// The constants (resolved node ids, references followed).
    pub fn consts(&self) -> Vec<NodeId> {
        self.stream.items(self.code.consts).collect()
    }

    /// `co_names` as strings (items that are not strings are skipped).
    pub fn names(&self) -> Vec<crate::text::PyStr<'a>> {
        self.strs_of(Some(self.code.names))
    }

    /// `co_varnames` (up to 3.10; empty after — derive it from localsplus in `brine_codeobj`).
    pub fn varnames(&self) -> Vec<crate::text::PyStr<'a>> {
        self.strs_of(self.code.varnames)
    }

    /// `co_freevars` (up to 3.10).
    pub fn freevars(&self) -> Vec<crate::text::PyStr<'a>> {
        self.strs_of(self.code.freevars)
    }

    /// `co_cellvars` (up to 3.10).
    pub fn cellvars(&self) -> Vec<crate::text::PyStr<'a>> {
        self.strs_of(self.code.cellvars)
    }

    /// `co_localsplusnames` (3.11+).
    pub fn localsplusnames(&self) -> Vec<crate::text::PyStr<'a>> {
        self.strs_of(self.code.localsplusnames)
    }

    /// `co_filename` (text; Python 2 byte strings are viewed as Latin-1).
    pub fn filename(&self) -> Option<crate::text::PyStr<'a>> {
        self.stream.text(self.code.filename)
    }

    /// `co_name`.
    pub fn name(&self) -> Option<crate::text::PyStr<'a>> {
        self.stream.text(self.code.name)
    }

    /// `co_qualname` (3.11+).
    pub fn qualname(&self) -> Option<crate::text::PyStr<'a>> {
        self.code.qualname.and_then(|id| self.stream.text(id))
    }

    /// Code objects among the constants (direct children only), in order.
    pub fn nested_codes(&self) -> Vec<CodeView<'s, 'a>> {
        self.stream
            .items(self.code.consts)
            .filter_map(|id| self.stream.code_view(id))
            .collect()
    }
}
