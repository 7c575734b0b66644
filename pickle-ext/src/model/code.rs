//! Turning a shipped code object into a `brine_codeobj::Code` (for disassembly and analysis),
//! whether it travels as constructor arguments or as marshal bytes.

use super::{CodeObject, CodeSource, Entity, Model};
use crate::recognise::code::{CodeField, CtorLayout};
use brine_codeobj::{Code, Const, LineTable, LineTableFormat, OpcodeTable, StoredLocals};
use brine_marshal::PyStr;
use brine_pickle_core::{NodeId, NodeKind};

use crate::limits::MAX_CODE_NESTING as MAX_CONST_DEPTH;

impl Model {
    /// The code object a node stands for, as a `brine_codeobj::Code` of Python `version` (else
    /// the stated or inferred Python, else the only version its evidence allows).
    ///
    /// `None` if the node is not a code object; `Err` with a message when the version is
    /// ambiguous or a field cannot be converted (e.g. a constant that is an opaque call).
    pub fn code_object(
        &self,
        node: NodeId,
        version: Option<(u8, u8)>,
    ) -> Option<Result<Code<'_>, String>> {
        let c = self.code(node)?;
        match c.source {
            CodeSource::Marshal { .. } => self.marshal_code(node, version),
            CodeSource::CtorArgs { layout } => {
                let v = version
                    .or_else(|| self.python.version())
                    .or_else(|| layout.versions.and(self.python.candidates).single());
                let Some(v) = v else {
                    return Some(Err(format!(
                        "the constructor arguments fit Python {}; state which",
                        layout.versions.and(self.python.candidates)
                    )));
                };
                Some(self.ctor_code(c, layout, v, 0))
            }
        }
    }

    fn ctor_code(
        &self,
        c: &CodeObject,
        layout: &'static CtorLayout,
        (major, minor): (u8, u8),
        depth: usize,
    ) -> Result<Code<'_>, String> {
        if depth > MAX_CONST_DEPTH {
            return Err("code objects nested too deeply".to_string());
        }
        let table = OpcodeTable::for_version(major, minor)
            .ok_or_else(|| format!("no opcode table for Python {major}.{minor}"))?;
        let arg = |f: CodeField| layout.position(f).map(|i| c.args[i]);
        let int = |f: CodeField| -> Result<i64, String> {
            match arg(f) {
                None => Ok(0),
                Some(n) => self
                    .graph
                    .as_i64(n)
                    .ok_or_else(|| format!("{} is not an int", f.attr())),
            }
        };
        let u32_of = |f: CodeField| -> Result<u32, String> {
            u32::try_from(int(f)?).map_err(|_| format!("{} is out of range", f.attr()))
        };
        let bytes = |f: CodeField| -> Result<&[u8], String> {
            match arg(f) {
                None => Ok(&[]),
                Some(n) => self
                    .bytes_of(n)
                    .ok_or_else(|| format!("{} is not bytes", f.attr())),
            }
        };
        let names = |f: CodeField| -> Result<Vec<PyStr<'_>>, String> {
            let Some(n) = arg(f) else {
                return Ok(Vec::new());
            };
            let items = self
                .graph
                .items(n)
                .ok_or_else(|| format!("{} is not a tuple", f.attr()))?;
            items
                .iter()
                .map(|&i| {
                    self.pystr(i)
                        .ok_or_else(|| format!("{} holds a non-str", f.attr()))
                })
                .collect()
        };
        let code_bytes = bytes(CodeField::Code)?;
        let mut code = Code::empty(table, code_bytes);
        code.argcount = u32_of(CodeField::ArgCount)?;
        code.posonlyargcount = u32_of(CodeField::PosOnlyArgCount)?;
        code.kwonlyargcount = u32_of(CodeField::KwOnlyArgCount)?;
        code.stacksize = u32_of(CodeField::StackSize)?;
        code.raw_flags = u32_of(CodeField::Flags)?;
        code.names = names(CodeField::Names)?;
        code.filename = arg(CodeField::Filename)
            .and_then(|n| self.pystr(n))
            .ok_or("co_filename is not a str")?;
        code.name = arg(CodeField::Name)
            .and_then(|n| self.pystr(n))
            .ok_or("co_name is not a str")?;
        code.qualname = arg(CodeField::QualName).and_then(|n| self.pystr(n));
        code.firstlineno = i32::try_from(int(CodeField::FirstLineNo)?)
            .map_err(|_| "co_firstlineno is out of range")?;
        // The table the constructor gets (dill's leading co_lnotab is only informative).
        let table_bytes = if layout.position(CodeField::LineTable).is_some() {
            bytes(CodeField::LineTable)?
        } else {
            bytes(CodeField::LnoTab)?
        };
        code.linetable = LineTable::new(
            LineTableFormat::for_version(major, minor),
            table_bytes,
            code.firstlineno,
        );
        code.exceptiontable = bytes(CodeField::ExceptionTable)?;
        let consts = arg(CodeField::Consts)
            .and_then(|n| self.graph.items(n))
            .ok_or("co_consts is not a tuple")?;
        code.consts = consts
            .iter()
            .map(|&n| self.const_of(n, (major, minor), depth + 1))
            .collect::<Result<_, _>>()?;
        let locals = StoredLocals::Split {
            varnames: names(CodeField::VarNames)?,
            cellvars: names(CodeField::CellVars)?,
            freevars: names(CodeField::FreeVars)?,
        };
        Ok(code.with_locals(locals))
    }

    fn pystr(&self, node: NodeId) -> Option<PyStr<'_>> {
        match self.graph.kind(node) {
            NodeKind::Str(span) => Some(PyStr::new(self.graph.bytes_of(*span), false)),
            NodeKind::Py2Str(span) => Some(PyStr::new(self.graph.bytes_of(*span), true)),
            _ => None,
        }
    }

    fn const_of(&self, node: NodeId, v: (u8, u8), depth: usize) -> Result<Const<'_>, String> {
        if depth > MAX_CONST_DEPTH {
            return Err("constants nested too deeply".to_string());
        }
        let items = |ids: &[NodeId]| -> Result<Vec<Const<'_>>, String> {
            ids.iter()
                .map(|&i| self.const_of(i, v, depth + 1))
                .collect()
        };
        match self.entity_of(node) {
            Some(Entity::Bytes(b)) => return Ok(Const::Bytes(b)),
            Some(Entity::Code(c)) => {
                return match c.source {
                    CodeSource::CtorArgs { layout } => self
                        .ctor_code(c, layout, v, depth + 1)
                        .map(|code| Const::Code(Box::new(code))),
                    CodeSource::Marshal { .. } => match self.marshal_code(node, Some(v)) {
                        Some(Ok(code)) => Ok(Const::Code(Box::new(code))),
                        Some(Err(e)) => Err(e),
                        None => Err("nested code object not understood".to_string()),
                    },
                }
            }
            _ => {}
        }
        let g = &self.graph;
        Ok(match g.kind(node) {
            NodeKind::None => Const::None,
            NodeKind::Bool(b) => Const::Bool(*b),
            NodeKind::Int(i) => Const::Int(*i),
            NodeKind::BigInt(b) => Const::BigInt(b.clone()),
            NodeKind::Float(f) => Const::Float(*f),
            NodeKind::Str(s) => Const::Str(PyStr::new(g.bytes_of(*s), false)),
            NodeKind::Bytes(s) => Const::Bytes(g.bytes_of(*s)),
            NodeKind::Py2Str(s) => Const::Py2Str(g.bytes_of(*s)),
            NodeKind::Tuple(ids) => Const::Tuple(items(ids)?),
            NodeKind::List(ids) => Const::List(items(ids)?),
            NodeKind::Set(ids) => Const::Set(items(ids)?),
            NodeKind::FrozenSet(ids) => Const::FrozenSet(items(ids)?),
            NodeKind::Global(gl)
                if gl.resolved_module == "builtins" && gl.resolved_name == "Ellipsis" =>
            {
                Const::Ellipsis
            }
            NodeKind::Global(gl)
                if gl.resolved_module == "builtins" && gl.resolved_name == "StopIteration" =>
            {
                Const::StopIteration
            }
            NodeKind::Object(obj) => {
                // builtins.frozenset([...]) / builtins.complex(re, im) / builtins.set([...]).
                let callee = match g.kind(obj.callable) {
                    NodeKind::Global(gl) if gl.resolved_module == "builtins" => {
                        gl.resolved_name.as_str()
                    }
                    _ => {
                        return Err(format!(
                            "constant at offset {} is an opaque call",
                            g.node(node).offset
                        ))
                    }
                };
                let args = g.items(obj.args).unwrap_or(&[]);
                match (callee, args) {
                    ("frozenset", [l]) => Const::FrozenSet(items(g.items(*l).unwrap_or(&[]))?),
                    ("frozenset", []) => Const::FrozenSet(Vec::new()),
                    ("set", [l]) => Const::Set(items(g.items(*l).unwrap_or(&[]))?),
                    ("complex", [re, im]) => Const::Complex(
                        g.as_f64(*re).ok_or("complex real part is not a float")?,
                        g.as_f64(*im)
                            .ok_or("complex imaginary part is not a float")?,
                    ),
                    _ => {
                        return Err(format!(
                            "constant at offset {} is a call of builtins.{callee}",
                            g.node(node).offset
                        ))
                    }
                }
            }
            other => {
                return Err(format!(
                    "constant at offset {} ({:?}) is not a code constant",
                    g.node(node).offset,
                    std::mem::discriminant(other)
                ))
            }
        })
    }
}
