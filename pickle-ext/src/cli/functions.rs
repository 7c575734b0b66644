//! `brine show FILE --functions`: every function and class an extended pickle ships, for a
//! reader who must decide what loading it would do.
//!
//! For each function: producer and era, the inferred Python with its evidence, the signature
//! rebuilt from the code's arguments with the shipped defaults and annotations, closure cells,
//! shipped globals, the static summary of the code (imports, calls, dynamic access) and the
//! disassembly. `--json` prints [`Model::to_json`](crate::model::Model::to_json) instead.

use crate::model::{CellContents, Class, Entity, Function, GlobalsBase, Model, ModuleHow};
use crate::recognise::{decode_with, DecodeOptions};
use brine_codeobj::{disassemble_recursive, Code, CodeFlags, CodeSummary};
use brine_pickle_core::{NodeId, NodeKind};
use std::fmt::Write as _;

/// Longest value rendering before it is cut (a security reader wants the shape, not a dump).
const MAX_VALUE_CHARS: usize = 200;
/// Nesting depth of value renderings.
const VALUE_DEPTH: usize = 4;
/// Nesting depth of the disassembly of nested code objects.
const DIS_DEPTH: usize = 16;

/// Decodes `data` and renders the report (text) or the model (JSON). `Err` carries the decode
/// error (with its byte offset).
pub fn render(data: &[u8], json: bool) -> Result<String, String> {
    let model = decode_with(data, &DecodeOptions::default()).map_err(|e| e.to_string())?;
    if json {
        let mut text = serde_json::to_string_pretty(&model.to_json()).map_err(|e| e.to_string())?;
        text.push('\n');
        return Ok(text);
    }
    Ok(report(&model))
}

/// The text report of a decoded model.
pub fn report(model: &Model) -> String {
    let mut out = String::new();
    let producers: Vec<String> = model.producers.iter().map(|p| p.to_string()).collect();
    let _ = writeln!(
        out,
        "producer: {}",
        if producers.is_empty() {
            "plain pickle (no extended-pickle helper seen)".to_string()
        } else {
            producers.join("; ")
        }
    );
    python_lines(model, &mut out);
    let nfun = model.functions().count();
    let ncls = model.classes().count();
    let _ = writeln!(out, "ships {nfun} function(s), {ncls} class(es)");
    for d in &model.diagnostics {
        let _ = writeln!(out, "warning at byte {}: {}", d.offset, d.message);
    }
    for e in &model.entities {
        match e {
            Entity::Function(f) => function_report(model, f, &mut out),
            Entity::Class(c) => class_report(model, c, &mut out),
            Entity::Module(m) => {
                let how = match m.how {
                    ModuleHow::Import => "imported by name on load",
                    ModuleHow::Dynamic(_) => "rebuilt from a shipped namespace",
                    ModuleHow::ImportThenUpdate(_) => "imported, then its namespace overwritten",
                };
                let _ = writeln!(out, "\nmodule {} ({how})", m.name);
            }
            Entity::TypeVar(t) => {
                let _ = writeln!(
                    out,
                    "\ntypevar {} (bound {}, covariant {:?}, contravariant {:?})",
                    t.name.as_deref().unwrap_or("?"),
                    t.bound.map_or("None".to_string(), |b| value(model, b)),
                    t.covariant,
                    t.contravariant
                );
            }
            Entity::Nested(n) => {
                let _ = writeln!(
                    out,
                    "\nnested pickle at byte {} ({} bytes):",
                    model.graph.node(n.node).offset,
                    model.bytes_of(n.bytes).map_or(0, |b| b.len())
                );
                match &n.model {
                    Ok(inner) => {
                        for line in report(inner).lines() {
                            let _ = writeln!(out, "  | {line}");
                        }
                    }
                    Err(e) => {
                        let _ = writeln!(out, "  cannot decode: {e}");
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn python_lines(model: &Model, out: &mut String) {
    let inf = &model.python;
    let _ = writeln!(out, "python: {}", inf.candidates);
    for e in &inf.evidence {
        let _ = writeln!(
            out,
            "  evidence at byte {}: {} -> {}",
            e.offset, e.what, e.versions
        );
    }
    for e in inf.conflicts() {
        let _ = writeln!(
            out,
            "  CONFLICT at byte {}: {} (allows only {})",
            e.offset, e.what, e.versions
        );
    }
}

/// The code object of a function as `brine_codeobj::Code`, with a note when a version had to
/// be assumed among several candidates.
fn code_of(model: &Model, node: NodeId) -> Option<(Result<Code<'_>, String>, Option<String>)> {
    let first = model.code_object(node, None)?;
    if first.is_ok() {
        return Some((first, None));
    }
    // Ambiguous: the newest candidate whose opcode table decodes every instruction, else the
    // newest that builds (the report says which was assumed).
    let mut candidates: Vec<(u8, u8)> = model.python.candidates.iter().collect();
    candidates.reverse();
    let mut fallback = None;
    for v in candidates {
        if let Some(Ok(code)) = model.code_object(node, Some(v)) {
            let note = format!(
                "assuming Python {}.{} of the candidates {}",
                v.0, v.1, model.python.candidates
            );
            let clean = CodeSummary::of(&code).is_ok_and(|s| s.malformed_instructions == 0);
            if clean {
                return Some((Ok(code), Some(note)));
            }
            fallback.get_or_insert((Ok(code), Some(note)));
        }
    }
    Some(fallback.unwrap_or((first, None)))
}

fn function_report(model: &Model, f: &Function, out: &mut String) {
    let g = &model.graph;
    let qualname = f
        .qualname
        .clone()
        .or_else(|| f.name.clone())
        .unwrap_or_else(|| "?".to_string());
    let _ = writeln!(
        out,
        "\nfunction {qualname}  [{}, byte {}]",
        f.producer,
        g.node(f.node).offset
    );
    if let Some(m) = &f.module {
        let _ = writeln!(out, "  module: {m}");
    }
    let code = f.code.and_then(|c| code_of(model, c));
    match &code {
        Some((Ok(code), note)) => {
            let (a, b) = code.version();
            let _ = writeln!(
                out,
                "  code: Python {a}.{b} bytecode{}",
                note.as_ref().map_or(String::new(), |n| format!(" ({n})"))
            );
            let _ = writeln!(out, "  {}", signature(model, f, code));
        }
        Some((Err(e), _)) => {
            let _ = writeln!(out, "  code: not decoded: {e}");
        }
        None => {
            let _ = writeln!(out, "  code: not shipped as a code object");
        }
    }
    if let Some(doc) = f.doc {
        if !matches!(g.kind(doc), NodeKind::None) {
            let _ = writeln!(out, "  doc: {}", value(model, doc));
        }
    }
    match &f.closure {
        None => {}
        Some(cells) => {
            let names: Vec<String> = match &code {
                Some((Ok(c), _)) => c.freevars.iter().map(|n| n.to_string_lossy()).collect(),
                _ => Vec::new(),
            };
            let _ = writeln!(out, "  closure ({} cell(s)):", cells.len());
            for (i, &cell) in cells.iter().enumerate() {
                let name = names.get(i).cloned().unwrap_or_else(|| format!("#{i}"));
                let shown = match model.cell(cell).map(|c| c.contents) {
                    Some(CellContents::Empty) => "<empty cell>".to_string(),
                    Some(CellContents::Value(v)) => value(model, v),
                    None => "?".to_string(),
                };
                let _ = writeln!(out, "    {name} = {shown}");
            }
        }
    }
    let base = match &f.globals {
        GlobalsBase::Dict(_) => "a dict shipped in the payload".to_string(),
        GlobalsBase::MainSentinel => "the loading process's __main__ namespace".to_string(),
        GlobalsBase::ModuleNamespace(m) => format!("the live namespace of module {m}"),
        GlobalsBase::None => "None".to_string(),
        GlobalsBase::Other(n) => value(model, *n),
    };
    let _ = writeln!(out, "  globals base: {base}");
    if !f.shipped_globals.is_empty() {
        let _ = writeln!(out, "  globals shipped:");
        for &(k, v) in &f.shipped_globals {
            let name = model.text_of(k).unwrap_or_else(|| value(model, k));
            let _ = writeln!(out, "    {name} = {}", value(model, v));
        }
    }
    if !f.submodules.is_empty() {
        let subs: Vec<String> = f.submodules.iter().map(|&s| value(model, s)).collect();
        let _ = writeln!(out, "  imports forced on load: {}", subs.join(", "));
    }
    if let Some(d) = f.dict {
        if !is_empty_container(model, d) {
            let _ = writeln!(out, "  __dict__: {}", value(model, d));
        }
    }
    if let Some((Ok(code), _)) = &code {
        summary_lines(code, out);
        let _ = writeln!(out, "  disassembly:");
        for line in disassemble_recursive(code, DIS_DEPTH).lines() {
            let _ = writeln!(out, "    {line}");
        }
    }
}

fn summary_lines(code: &Code<'_>, out: &mut String) {
    let flags = code.flags();
    let mut kinds = Vec::new();
    for (bit, name) in [
        (CodeFlags::GENERATOR, "generator"),
        (CodeFlags::COROUTINE, "coroutine"),
        (CodeFlags::ITERABLE_COROUTINE, "iterable coroutine"),
        (CodeFlags::ASYNC_GENERATOR, "async generator"),
    ] {
        if flags.contains(bit) {
            kinds.push(name);
        }
    }
    if !kinds.is_empty() {
        let _ = writeln!(out, "  kind: {}", kinds.join(", "));
    }
    let s = match CodeSummary::of(code) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(out, "  summary: not available: {e}");
            return;
        }
    };
    if !s.imports.is_empty() {
        let list: Vec<String> = s
            .imports
            .iter()
            .map(|i| match &i.fromlist {
                Some(names) if !names.is_empty() => {
                    format!("from {} import {}", i.module, names.join(", "))
                }
                _ => format!("import {}", i.module),
            })
            .collect();
        let _ = writeln!(out, "  imports: {}", list.join("; "));
    }
    if !s.calls.is_empty() {
        let list: Vec<String> = s
            .calls
            .iter()
            .map(|c| {
                let callee = c.callee.as_deref().unwrap_or("<unknown>");
                match c.line {
                    Some(l) => format!("{callee} (line {l})"),
                    None => callee.to_string(),
                }
            })
            .collect();
        let _ = writeln!(out, "  calls: {}", list.join(", "));
    }
    if !s.dynamic.is_empty() {
        let list: Vec<String> = s
            .dynamic
            .iter()
            .map(|d| format!("{:?} via {}", d.kind, d.callee))
            .collect();
        let _ = writeln!(out, "  DYNAMIC ACCESS: {}", list.join(", "));
    }
    if !s.globals_read.is_empty() {
        let list: Vec<&str> = s.globals_read.iter().map(String::as_str).collect();
        let _ = writeln!(out, "  globals read: {}", list.join(", "));
    }
    if !s.globals_written.is_empty() {
        let list: Vec<&str> = s.globals_written.iter().map(String::as_str).collect();
        let _ = writeln!(out, "  globals written: {}", list.join(", "));
    }
}

/// `def name(a, b=1, /, c: int = 2, *args, d=3, **kw) -> R:` from the code's argument counts,
/// the shipped defaults, kwdefaults and annotations.
pub(crate) fn signature(model: &Model, f: &Function, code: &Code<'_>) -> String {
    let names: Vec<String> = code.varnames.iter().map(|n| n.to_string_lossy()).collect();
    let argc = code.argcount as usize;
    let posonly = code.posonlyargcount as usize;
    let kwonly = code.kwonlyargcount as usize;
    let flags = code.flags();
    let name_at = |i: usize| names.get(i).cloned().unwrap_or_else(|| format!("arg{i}"));
    let defaults: Vec<NodeId> = f
        .defaults
        .and_then(|d| model.graph.items(d).map(<[NodeId]>::to_vec))
        .unwrap_or_default();
    let kwdefaults = pairs(model, f.kwdefaults);
    let annotations = pairs(model, f.annotations);
    let ann = |n: &str| {
        annotations
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| format!(": {}", value(model, *v)))
            .unwrap_or_default()
    };
    let mut parts = Vec::new();
    let first_default = argc.saturating_sub(defaults.len());
    for i in 0..argc {
        let n = name_at(i);
        let mut p = format!("{n}{}", ann(&n));
        if i >= first_default {
            let d = value(model, defaults[i - first_default]);
            p.push_str(if p.contains(':') { " = " } else { "=" });
            p.push_str(&d);
        }
        parts.push(p);
        if posonly > 0 && i + 1 == posonly {
            parts.push("/".to_string());
        }
    }
    let mut next = argc + kwonly;
    if flags.contains(CodeFlags::VARARGS) {
        let n = name_at(next);
        parts.push(format!("*{n}{}", ann(&n)));
        next += 1;
    } else if kwonly > 0 {
        parts.push("*".to_string());
    }
    for i in argc..argc + kwonly {
        let n = name_at(i);
        let mut p = format!("{n}{}", ann(&n));
        if let Some((_, d)) = kwdefaults.iter().find(|(k, _)| *k == n) {
            p.push_str(if p.contains(':') { " = " } else { "=" });
            p.push_str(&value(model, *d));
        }
        // Keyword-only arguments come after *args in the source.
        parts.push(p);
    }
    if flags.contains(CodeFlags::VARKEYWORDS) {
        let n = name_at(next);
        parts.push(format!("**{n}{}", ann(&n)));
    }
    let ret = annotations
        .iter()
        .find(|(k, _)| k == "return")
        .map(|(_, v)| format!(" -> {}", value(model, *v)))
        .unwrap_or_default();
    let prefix =
        if flags.contains(CodeFlags::COROUTINE) || flags.contains(CodeFlags::ASYNC_GENERATOR) {
            "async def"
        } else {
            "def"
        };
    let name = f
        .name
        .clone()
        .unwrap_or_else(|| code.name.to_string_lossy());
    format!("{prefix} {name}({}){ret}:", parts.join(", "))
}

/// The `(text key, value)` pairs of a dict node.
fn pairs(model: &Model, node: Option<NodeId>) -> Vec<(String, NodeId)> {
    let Some(node) = node else { return Vec::new() };
    match model.graph.kind(node) {
        NodeKind::Dict(p) => p
            .iter()
            .filter_map(|&(k, v)| model.text_of(k).map(|k| (k, v)))
            .collect(),
        _ => Vec::new(),
    }
}

fn is_empty_container(model: &Model, node: NodeId) -> bool {
    match model.graph.kind(node) {
        NodeKind::Dict(p) => p.is_empty(),
        NodeKind::None => true,
        _ => false,
    }
}

fn class_report(model: &Model, c: &Class, out: &mut String) {
    let g = &model.graph;
    let name = c
        .qualname
        .clone()
        .or_else(|| c.name.clone())
        .unwrap_or_else(|| "?".to_string());
    let bases = c
        .bases
        .and_then(|b| g.items(b))
        .map(|items| {
            items
                .iter()
                .map(|&b| value(model, b))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "\nclass {name}({bases})  [{}, byte {}]",
        c.producer,
        g.node(c.node).offset
    );
    if let Some(m) = &c.module {
        let _ = writeln!(out, "  module: {m}");
    }
    if let Some(meta) = c.metaclass {
        let _ = writeln!(out, "  metaclass: {}", value(model, meta));
    }
    if let Some(t) = &c.tracker_id {
        let _ = writeln!(out, "  tracker id: {t}");
    }
    if let Some(members) = c.enum_members {
        let _ = writeln!(out, "  enum members: {}", value(model, members));
    }
    for &(k, v) in &c.dict {
        let key = model.text_of(k).unwrap_or_else(|| value(model, k));
        let _ = writeln!(out, "  {key} = {}", value(model, v));
    }
}

/// A short rendering of a node: functions, classes, modules and code objects by name, globals
/// as `module.name`, other values as Python `repr`, cut at [`MAX_VALUE_CHARS`].
pub(crate) fn value(model: &Model, node: NodeId) -> String {
    value_at(model, node, 0)
}

fn value_at(model: &Model, node: NodeId, depth: usize) -> String {
    if let Some(e) = model.entity_of(node) {
        match e {
            Entity::Function(f) => {
                return format!(
                    "<function {}>",
                    f.qualname.as_deref().or(f.name.as_deref()).unwrap_or("?")
                )
            }
            Entity::Class(c) => {
                return format!(
                    "<class {}>",
                    c.qualname.as_deref().or(c.name.as_deref()).unwrap_or("?")
                )
            }
            Entity::Module(m) => return format!("<module {}>", m.name),
            Entity::Code(_) => return "<code object>".to_string(),
            Entity::TypeVar(t) => return format!("~{}", t.name.as_deref().unwrap_or("?")),
            Entity::Bytes(b) => return cut(format!("{:?}", ByteLit(b))),
            Entity::Nested(_) => return "<nested pickle>".to_string(),
            Entity::Cell(_) => return "<cell>".to_string(),
        }
    }
    match model.graph.kind(node) {
        NodeKind::Global(glob) => {
            let (m, n) = (&glob.resolved_module, &glob.resolved_name);
            if m == "builtins" {
                n.clone()
            } else {
                format!("{m}.{n}")
            }
        }
        // A call no recogniser claimed (classmethod(f), property(...), ...): callee(args).
        NodeKind::Object(obj) if depth < VALUE_DEPTH => {
            let args: Vec<String> = model
                .graph
                .items(obj.args)
                .unwrap_or(&[])
                .iter()
                .map(|&a| value_at(model, a, depth + 1))
                .collect();
            cut(format!(
                "{}({})",
                value_at(model, obj.callable, depth + 1),
                args.join(", ")
            ))
        }
        _ => cut(brine_pickle_core::pyrepr::repr_node(
            &model.graph,
            node,
            VALUE_DEPTH,
        )),
    }
}

struct ByteLit<'a>(&'a [u8]);

impl std::fmt::Debug for ByteLit<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "b'")?;
        for &b in self.0 {
            match b {
                b'\'' => write!(f, "\\'")?,
                b'\\' => write!(f, "\\\\")?,
                0x20..=0x7e => write!(f, "{}", b as char)?,
                _ => write!(f, "\\x{b:02x}")?,
            }
        }
        write!(f, "'")
    }
}

fn cut(s: String) -> String {
    if s.chars().count() <= MAX_VALUE_CHARS {
        return s;
    }
    let mut t: String = s.chars().take(MAX_VALUE_CHARS).collect();
    t.push_str("...");
    t
}
