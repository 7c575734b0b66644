//! Analysis views of code objects (instructions and static summaries), added to every CODE of
//! the `.pyc` view by `brine pyc --json` ([`ViewOptions::analysis`](super::pyc::ViewOptions)),
//! and the comparison of our decoding with CPython's `dis` records (the `.dis.json` fixtures,
//! `cargo xtask verify-stdlib`).
//!
//! Every VALUE here (a constant's `argval`) is the VALUE the [`pyc`](super::pyc) view gives the
//! same constant in `co_consts`: one renderer, lone surrogates kept.
//!
//! # Instructions
//!
//! `"instructions"` is an array with one object per instruction, in order, as
//! `dis.get_instructions` lists them (3.11+ caches and `EXTENDED_ARG` prefixes not folded away,
//! exactly as `dis` shows them):
//!
//! ```text
//! {"offset": int, "opname": "LOAD_GLOBAL", "arg": int|null, "argval": ARGVAL, "line": int|null}
//! ```
//!
//! * `line`: the instruction's source line (3.13's `Instruction.line_number`; before, the line
//!   of its `co_lines()` range or of the last line start), `null` for none.
//! * ARGVAL is `dis.Instruction.argval`: a VALUE for constant-loading opcodes (`co_consts[arg]`
//!   as in `co_consts`, but a nested code object is `{"code": PATH}`, PATH being `""` for the
//!   root, `"i"` for `co_consts[i]` of the root and `"p/i"` below `p`); a string for names
//!   (globals, attributes, locals, cells); an integer for jump targets (a byte offset) and
//!   other raw arguments; a pair of names for 3.13's paired opcodes; a comparison operator
//!   string; `[{"builtin": name}|null, has_spec]` for `FORMAT_VALUE`; `{"builtin": name}` or
//!   `null` for `CONVERT_VALUE`; `{"unknown": true}` for 3.11's `KW_NAMES` sentinel;
//!   `{"invalid": arg}` when the argument indexes nothing (where `dis` would raise).
//! * A malformed instruction also has `"problem": "<message>"`.
//!
//! # Summary
//!
//! `"summary"` is the static [`CodeSummary`] of the code object and everything nested in it
//! (code paths, `"code"` below, are qualname paths relative to this code object):
//!
//! ```text
//! {"globals_read": [name...], "globals_written": [name...],
//!  "module_aliases": {alias: module},
//!  "attribute_chains": [{"code", "chain", "line"}],
//!  "imports": [{"code", "module", "level", "fromlist", "names", "line"}],
//!  "calls": [{"code", "callee", "kind", "argc", "line", "offset"}],
//!  "dynamic": [{"code", "kind", "callee", "target", "line"}],
//!  "strings": [text...], "bytes": [hex...],
//!  "nested": [{"qualname", "path", "name", "firstlineno"}],
//!  "closures": [{"code", "enclosing", "captures": [{"name", "from_enclosing_cell"}]}],
//!  "malformed_instructions": int}
//! ```
//!
//! `kind` of a call is `builtin`, `global`, `attribute`, `local` or `unknown`; of a dynamic
//! access `exec`, `eval`, `compile`, `import`, `getattr`, `setattr`, `delattr` or `namespace`.
//!
//! When the code object cannot be decoded at all (no opcode table for its version, such as
//! the 3.15 pre-release, or malformed fields), both are `null` and the document's top level has
//! `"analysis_error": "<message>"`.

use super::tree::{hex, Json};
use brine_codeobj::decode::{ArgVal, Instruction};
use brine_codeobj::summary::CodeSummary;
use brine_codeobj::{Code, Const, FromMarshalOptions, InstructionLines};
use brine_marshal::Stream;

/// The PATH of `co_consts[index]` of the code object at `path`.
pub fn child_path(path: &str, index: usize) -> String {
    if path.is_empty() {
        index.to_string()
    } else {
        format!("{path}/{index}")
    }
}

/// The `co_consts` array of a CODE view (empty when there is none).
pub fn consts_of(code_view: &Json) -> &[Json] {
    match code_view.get("co_consts") {
        Some(Json::Array(items)) => items,
        _ => &[],
    }
}

/// The index in `code.consts` of the constant an instruction loads.
fn const_index(code: &Code<'_>, ins: &Instruction<'_, '_>, c: &Const<'_>) -> Option<usize> {
    let guess = ins.arg.map(|a| a as usize);
    if let Some(i) = guess {
        if code.consts.get(i).is_some_and(|x| std::ptr::eq(x, c)) {
            return Some(i);
        }
    }
    code.consts
        .iter()
        .position(|x| std::ptr::eq(x, c))
        .or(guess)
}

/// `dis.Instruction.argval` of an instruction of `code` (see the [module docs](self)).
/// `consts` is the `co_consts` of the code object's CODE view ([`consts_of`]); `path` its PATH.
pub fn argval_to_json(
    code: &Code<'_>,
    ins: &Instruction<'_, '_>,
    consts: &[Json],
    path: &str,
) -> Json {
    let builtin = |name: &str| Json::tagged("builtin", Json::str(name));
    match ins.argval {
        ArgVal::None => Json::Null,
        ArgVal::Int(i) => Json::Int(i),
        ArgVal::Const(c) => {
            let index = const_index(code, ins, c).unwrap_or(0);
            match c {
                Const::Code(_) => Json::tagged("code", Json::str(&child_path(path, index))),
                _ => consts.get(index).cloned().unwrap_or(Json::Null),
            }
        }
        ArgVal::Unknown => Json::tagged("unknown", Json::Bool(true)),
        ArgVal::Name(n) => Json::py_str(n),
        ArgVal::NamePair(a, b) => Json::Array(vec![Json::py_str(a), Json::py_str(b)]),
        ArgVal::Jump(t) => Json::Int(i64::from(t)),
        ArgVal::Compare(op) => Json::str(op),
        ArgVal::FormatValue(conv, spec) => {
            Json::Array(vec![conv.map_or(Json::Null, builtin), Json::Bool(spec)])
        }
        ArgVal::Converter(conv) => conv.map_or(Json::Null, builtin),
        ArgVal::Invalid(i) => Json::tagged("invalid", Json::Int(i64::from(i))),
    }
}

fn opt_int(v: Option<impl Into<i64>>) -> Json {
    v.map_or(Json::Null, |v| Json::Int(v.into()))
}

fn opt_str(v: Option<&str>) -> Json {
    v.map_or(Json::Null, Json::str)
}

fn strs<'s>(items: impl IntoIterator<Item = &'s String>) -> Json {
    Json::Array(items.into_iter().map(|s| Json::str(s)).collect())
}

/// The `"instructions"` view of `code` (see the [module docs](self)). `consts` is the
/// `co_consts` of its CODE view, `path` its PATH.
pub fn instructions_to_json(code: &Code<'_>, consts: &[Json], path: &str) -> Json {
    let mut out = Vec::new();
    for (ins, lines) in InstructionLines::new(code) {
        let mut fields = vec![
            ("offset", Json::Int(i64::from(ins.offset))),
            ("opname", Json::str(ins.opname)),
            ("arg", opt_int(ins.arg)),
            ("argval", argval_to_json(code, &ins, consts, path)),
            ("line", opt_int(lines.line)),
        ];
        if let Some(p) = ins.problem {
            fields.push(("problem", Json::str(p.message())));
        }
        out.push(Json::object(fields));
    }
    Json::Array(out)
}

/// The `"summary"` view of a [`CodeSummary`] (see the [module docs](self)).
pub fn summary_to_json(s: &CodeSummary) -> Json {
    let kind = |k: &dyn std::fmt::Debug| Json::str(&format!("{k:?}").to_lowercase());
    let calls = s.calls.iter().map(|c| {
        Json::object([
            ("code", Json::str(&c.code)),
            ("callee", opt_str(c.callee.as_deref())),
            ("kind", kind(&c.kind)),
            ("argc", opt_int(c.argc)),
            ("line", opt_int(c.line)),
            ("offset", Json::Int(i64::from(c.offset))),
        ])
    });
    let imports = s.imports.iter().map(|i| {
        Json::object([
            ("code", Json::str(&i.code)),
            ("module", Json::str(&i.module)),
            ("level", opt_int(i.level)),
            ("fromlist", i.fromlist.as_ref().map_or(Json::Null, strs)),
            ("names", strs(&i.names)),
            ("line", opt_int(i.line)),
        ])
    });
    let chains = s.attribute_chains.iter().map(|a| {
        Json::object([
            ("code", Json::str(&a.code)),
            ("chain", Json::str(&a.chain)),
            ("line", opt_int(a.line)),
        ])
    });
    let dynamic = s.dynamic.iter().map(|d| {
        Json::object([
            ("code", Json::str(&d.code)),
            ("kind", kind(&d.kind)),
            ("callee", Json::str(&d.callee)),
            ("target", opt_str(d.target.as_deref())),
            ("line", opt_int(d.line)),
        ])
    });
    let nested = s.nested.iter().map(|n| {
        Json::object([
            ("qualname", Json::str(&n.qualname)),
            ("path", Json::str(&n.path)),
            ("name", Json::str(&n.name)),
            ("firstlineno", Json::Int(i64::from(n.firstlineno))),
        ])
    });
    let closures = s.closures.iter().map(|c| {
        let captures = c.captures.iter().map(|x| {
            Json::object([
                ("name", Json::str(&x.name)),
                ("from_enclosing_cell", Json::Bool(x.from_enclosing_cell)),
            ])
        });
        Json::object([
            ("code", Json::str(&c.code)),
            ("enclosing", Json::str(&c.enclosing)),
            ("captures", Json::Array(captures.collect())),
        ])
    });
    Json::object([
        ("globals_read", strs(&s.globals_read)),
        ("globals_written", strs(&s.globals_written)),
        (
            "module_aliases",
            Json::object(
                s.module_aliases
                    .iter()
                    .map(|(k, v)| (k.clone(), Json::str(v))),
            ),
        ),
        ("attribute_chains", Json::Array(chains.collect())),
        ("imports", Json::Array(imports.collect())),
        ("calls", Json::Array(calls.collect())),
        ("strings", strs(&s.strings)),
        (
            "bytes",
            Json::Array(s.bytes.iter().map(|b| Json::str(&hex(b))).collect()),
        ),
        ("nested", Json::Array(nested.collect())),
        ("dynamic", Json::Array(dynamic.collect())),
        ("closures", Json::Array(closures.collect())),
        (
            "malformed_instructions",
            Json::Int(s.malformed_instructions as i64),
        ),
    ])
}

/// The code object at a PATH below `root`.
pub fn code_at<'c, 'a>(root: &'c Code<'a>, path: &str) -> Option<&'c Code<'a>> {
    let mut cur = root;
    if path.is_empty() {
        return Some(cur);
    }
    for part in path.split('/') {
        let i: usize = part.parse().ok()?;
        cur = cur.consts.get(i)?.as_code()?;
    }
    Some(cur)
}

/// The CODE view at a PATH below the CODE view `root` (nested code objects are
/// `{"code": CODE}` items of `co_consts`).
pub fn code_view_at<'j>(root: &'j Json, path: &str) -> Option<&'j Json> {
    let mut cur = root;
    if path.is_empty() {
        return Some(cur);
    }
    for part in path.split('/') {
        let i: usize = part.parse().ok()?;
        cur = consts_of(cur).get(i)?.get("code")?;
    }
    Some(cur)
}

fn code_view_at_mut<'j>(root: &'j mut Json, indices: &[usize]) -> Option<&'j mut Json> {
    let mut cur = root;
    for &i in indices {
        let Json::Object(fields) = cur else {
            return None;
        };
        let (_, consts) = fields.iter_mut().find(|(k, _)| k == "co_consts")?;
        let Json::Array(items) = consts else {
            return None;
        };
        let Json::Object(tag) = items.get_mut(i)? else {
            return None;
        };
        cur = &mut tag.iter_mut().find(|(k, _)| k == "code")?.1;
    }
    Some(cur)
}

fn insert_fields(code_view: &mut Json, add: Vec<(String, Json)>) {
    if let Json::Object(fields) = code_view {
        fields.extend(add);
        fields.sort_by(|a, b| a.0.cmp(&b.0));
    }
}

/// Adds `"instructions"` and `"summary"` to the CODE view `view` of `root` and to every CODE
/// nested in it (walking both trees together, without recursion).
pub fn add_analysis(view: &mut Json, root: &Code<'_>) {
    // First pass (shared borrows): what to add where; second pass: insert.
    let mut additions: Vec<(Vec<usize>, Json, Json)> = Vec::new();
    let mut stack: Vec<(Vec<usize>, &Code<'_>)> = vec![(Vec::new(), root)];
    while let Some((indices, code)) = stack.pop() {
        let path = indices
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join("/");
        let Some(code_view) = code_view_at(view, &path) else {
            continue;
        };
        let instructions = instructions_to_json(code, consts_of(code_view), &path);
        let summary = match CodeSummary::of(code) {
            Ok(s) => summary_to_json(&s),
            Err(e) => Json::tagged("error", Json::str(&e.to_string())),
        };
        for (i, nested) in code.nested() {
            let mut child = indices.clone();
            child.push(i);
            stack.push((child, nested));
        }
        additions.push((indices, instructions, summary));
    }
    for (indices, instructions, summary) in additions {
        if let Some(code_view) = code_view_at_mut(view, &indices) {
            insert_fields(
                code_view,
                vec![
                    ("instructions".to_string(), instructions),
                    ("summary".to_string(), summary),
                ],
            );
        }
    }
}

/// Sets `"instructions"` and `"summary"` to `null` in every CODE below `view` (for code that
/// cannot be decoded).
pub fn add_null_analysis(view: &mut Json) {
    let mut stack: Vec<&mut Json> = vec![view];
    while let Some(code_view) = stack.pop() {
        insert_fields(
            code_view,
            vec![
                ("instructions".to_string(), Json::Null),
                ("summary".to_string(), Json::Null),
            ],
        );
        if let Json::Object(fields) = code_view {
            for (k, v) in fields.iter_mut() {
                if k != "co_consts" {
                    continue;
                }
                if let Json::Array(items) = v {
                    for item in items {
                        if let Json::Object(tag) = item {
                            if let [(key, nested)] = tag.as_mut_slice() {
                                if key == "code" {
                                    stack.push(nested);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Comparison with CPython's `dis`

/// The [`DisMismatch::what`] of an `argrepr` difference inside a set constant whose
/// iteration order cannot be known from the file: it holds items hashed by address (`None`
/// before 3.12, for instance), so CPython itself prints it differently from run to run.
pub const UNREPRODUCIBLE_SET_ORDER: &str = "argrepr (set order not reproducible)";

fn has_unreproducible_set(ins: &Instruction<'_, '_>, code: &Code<'_>) -> bool {
    fn walk(c: &Const<'_>, v: (u8, u8), depth: usize) -> bool {
        if depth > 64 {
            return false;
        }
        match c {
            Const::Set(items) | Const::FrozenSet(items) => {
                brine_codeobj::setorder::set_iteration_order(items, v.0, v.1).is_none()
                    || items.iter().any(|x| walk(x, v, depth + 1))
            }
            Const::Tuple(items) | Const::List(items) => items.iter().any(|x| walk(x, v, depth + 1)),
            _ => false,
        }
    }
    match ins.argval {
        ArgVal::Const(c) => walk(c, code.version(), 0),
        _ => false,
    }
}

/// One difference between our decoding and a `dis` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisMismatch {
    /// The PATH of the code object.
    pub path: String,
    /// What differs (`"argval"`, `"co_lines"`, `"dis text"`, ...).
    pub what: &'static str,
    /// Where (`@offset` for instructions) and the two values.
    pub detail: String,
}

/// Replaces every ` at 0x<hex>` by ` at 0x0`, as the recorders of `dis` output do to hide
/// object addresses (which also rewrites such text inside string constants).
pub fn mask_addresses(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(" at 0x") {
        let after = &rest[i + 6..];
        let hex_len = after.bytes().take_while(|b| b.is_ascii_hexdigit()).count();
        out.push_str(&rest[..i]);
        if hex_len > 0 {
            out.push_str(" at 0x0");
            rest = &after[hex_len..];
        } else {
            out.push_str(" at 0x");
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn first_line_diff(got: &str, want: &str) -> String {
    for (i, (g, w)) in got.split('\n').zip(want.split('\n')).enumerate() {
        if g != w {
            return format!("line {}: got {g:?} want {w:?}", i + 1);
        }
    }
    format!(
        "line counts differ: got {} want {}",
        got.split('\n').count(),
        want.split('\n').count()
    )
}

fn int_rows<const N: usize>(rows: impl Iterator<Item = [Option<i64>; N]>) -> Json {
    Json::Array(
        rows.map(|r| Json::Array(r.iter().map(|&v| opt_int(v)).collect()))
            .collect(),
    )
}

/// Compares one code object with a record of what CPython's `dis` says about it, in the
/// format of the `<name>.dis.json` fixtures (`instructions` with `offset`, `opname`, `arg`,
/// `argval`, `argrepr`, `starts_line`, `line_number` (3.13+), `is_jump_target`;
/// `findlinestarts`, `co_lines`, `co_positions`, `exception_table`, `text`; keys that are
/// absent are not compared; addresses in `argrepr` and `text` are masked as the recorders
/// mask them, see [`mask_addresses`]). `consts` is the `co_consts` of the code object's CODE
/// view (constants' `argval`s are compared as VALUEs), `path` its PATH. Returns the
/// differences.
pub fn compare_with_dis(
    code: &Code<'_>,
    consts: &[Json],
    path: &str,
    record: &Json,
) -> Vec<DisMismatch> {
    let mut out = Vec::new();
    let mut check = |what: &'static str, at: &str, got: Json, want: &Json| {
        if &got != want {
            let detail = match (what, got.as_string(), want.as_string()) {
                ("dis text", Some(g), Some(w)) => first_line_diff(&g, &w),
                _ => format!("{at} got {} want {}", got.to_text(None), want.to_text(None)),
            };
            out.push(DisMismatch {
                path: path.to_string(),
                what,
                detail,
            });
        }
    };
    let v313 = code.version() >= (3, 13);
    let labels = brine_codeobj::disasm::jump_targets(code, false);
    if let Some(Json::Array(want_ins)) = record.get("instructions") {
        let got: Vec<_> = InstructionLines::new(code).collect();
        check(
            "instruction count",
            "",
            Json::Int(got.len() as i64),
            &Json::Int(want_ins.len() as i64),
        );
        for ((ins, li), want) in got.iter().zip(want_ins) {
            let at = format!("@{}", ins.offset);
            let mut field = |what: &'static str, got: Json| {
                if let Some(w) = want.get(what) {
                    check(what, &at, got, w);
                }
            };
            field("offset", Json::Int(i64::from(ins.offset)));
            field("opname", Json::str(ins.opname));
            field("arg", opt_int(ins.arg));
            field("argval", argval_to_json(code, ins, consts, path));
            field("is_jump_target", Json::Bool(li.is_jump_target));
            if v313 {
                field("starts_line", Json::Bool(li.starts_line.is_some()));
                field("line_number", opt_int(li.line));
            } else {
                field("starts_line", opt_int(li.starts_line.flatten()));
            }
            let got_repr = Json::str(&mask_addresses(&brine_codeobj::argrepr(
                ins,
                code,
                Some(&labels),
            )));
            match want.get("argrepr") {
                Some(w) if *w != got_repr && has_unreproducible_set(ins, code) => {
                    check(UNREPRODUCIBLE_SET_ORDER, &at, got_repr, w)
                }
                Some(w) => check("argrepr", &at, got_repr, w),
                None => {}
            }
        }
    }
    if let Some(want) = record.get("findlinestarts") {
        let got = code.line_starts().unwrap_or_default();
        let rows = got
            .iter()
            .map(|&(o, l)| [Some(i64::from(o)), l.map(i64::from)]);
        check("findlinestarts", "", int_rows(rows), want);
    }
    if let Some(want) = record.get("co_lines") {
        let got = code.lines().unwrap_or_default();
        let rows = got.iter().map(|r| {
            [
                Some(i64::from(r.start)),
                Some(i64::from(r.end)),
                r.line.map(i64::from),
            ]
        });
        check("co_lines", "", int_rows(rows), want);
    }
    if let Some(want) = record.get("co_positions") {
        let got = code.positions().unwrap_or_default();
        let rows = got
            .iter()
            .map(|p| [p.line, p.end_line, p.col, p.end_col].map(|v| v.map(i64::from)));
        check("co_positions", "", int_rows(rows), want);
    }
    if let Some(want) = record.get("exception_table") {
        let got = code.exception_table().unwrap_or_default();
        let rows = got.iter().map(|e| {
            Json::Array(vec![
                Json::Int(i64::from(e.start)),
                Json::Int(i64::from(e.end)),
                Json::Int(i64::from(e.target)),
                Json::Int(i64::from(e.depth)),
                Json::Bool(e.lasti),
            ])
        });
        check("exception_table", "", Json::Array(rows.collect()), want);
    }
    if let Some(want) = record.get("text") {
        let got = Json::str(&brine_codeobj::disassemble(code));
        check("dis text", "", got, want);
    }
    out
}

/// The result of comparing every code object of one marshalled module with CPython's `dis`
/// records of it ([`compare_stream_with_dis`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DisComparison {
    /// Code objects compared.
    pub code_objects: usize,
    /// Instructions in the records.
    pub instructions: usize,
    /// The differences.
    pub mismatches: Vec<DisMismatch>,
}

impl DisComparison {
    /// The differences that count as failures: all but [`UNREPRODUCIBLE_SET_ORDER`] ones.
    pub fn failures(&self) -> impl Iterator<Item = &DisMismatch> {
        self.mismatches
            .iter()
            .filter(|m| m.what != UNREPRODUCIBLE_SET_ORDER)
    }
}

/// Compares every code object of `stream` (whose root is a code object) with `records`, the
/// `code_objects` array of a `.dis.json` fixture or of a line of `xtask/py/opcodes_stdlib.py
/// dis` (each record names its code object by `path`). Also checks that the
/// summary and the recursive listing can be built. `Err` when the stream cannot be decoded
/// at all, or a record names a code object that is not there.
pub fn compare_stream_with_dis(
    stream: &Stream<'_>,
    options: FromMarshalOptions,
    records: &Json,
) -> Result<DisComparison, String> {
    let root = Code::from_stream(stream, options).map_err(|e| e.to_string())?;
    let code_view = stream
        .code_view(stream.root())
        .ok_or("the root is not a code object")?;
    let view = super::pyc::code_to_json(code_view).map_err(|e| e.to_string())?;
    CodeSummary::of(&root).map_err(|e| format!("summary: {e}"))?;
    if brine_codeobj::disassemble_recursive(&root, usize::MAX).is_empty() {
        return Err("empty listing".into());
    }
    let mut result = DisComparison::default();
    let Json::Array(records) = records else {
        return Err("the records are not an array".into());
    };
    for record in records {
        let path = record["path"]
            .as_string()
            .ok_or("a record without a path")?;
        let code = code_at(&root, &path).ok_or_else(|| format!("no code object at {path:?}"))?;
        let code_view =
            code_view_at(&view, &path).ok_or_else(|| format!("no CODE view at {path:?}"))?;
        result.code_objects += 1;
        if let Json::Array(ins) = &record["instructions"] {
            result.instructions += ins.len();
        }
        result
            .mismatches
            .extend(compare_with_dis(code, consts_of(code_view), &path, record));
    }
    Ok(result)
}

/// One line of `xtask/py/opcodes_stdlib.py dis` output (`{"file", "marshal": "<hex of
/// marshal.dumps(code)>", "code_objects": [...]}`, written by Python `version`) compared with
/// our decoding ([`compare_stream_with_dis`]). Returns the file named by the line and the
/// comparison; `Err` names the file too.
pub fn compare_dis_line(
    line: &str,
    version: brine_marshal::PyVersion,
    options: FromMarshalOptions,
) -> Result<(String, DisComparison), String> {
    let record = Json::parse(line).map_err(|e| format!("record does not parse: {e}"))?;
    let file = record["file"]
        .as_string()
        .unwrap_or_else(|| "?".to_string());
    let at = |e: String| format!("{file}: {e}");
    let data = record["marshal"]
        .as_string()
        .and_then(|h| unhex(&h))
        .ok_or_else(|| at("no marshal hex".into()))?;
    let stream = brine_marshal::read(&data, &brine_marshal::ReadOptions::new(version))
        .map_err(|e| at(format!("marshal: {e}")))?;
    let result = compare_stream_with_dis(&stream, options, &record["code_objects"]).map_err(at)?;
    Ok((file, result))
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    let b = text.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks_exact(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_addresses_like_the_recorders() {
        assert_eq!(
            mask_addresses("'<function f at 0x7fAB12>' at 0x x at 0x1"),
            "'<function f at 0x0>' at 0x x at 0x0"
        );
    }

    #[test]
    fn paths_name_nested_constants() {
        assert_eq!(child_path("", 3), "3");
        assert_eq!(child_path("3", 1), "3/1");
        let inner = Json::object([("co_name", Json::str("inner"))]);
        let outer = Json::object([(
            "co_consts",
            Json::Array(vec![Json::Null, Json::tagged("code", inner.clone())]),
        )]);
        assert_eq!(code_view_at(&outer, "1"), Some(&inner));
        assert_eq!(code_view_at(&outer, "0"), None);
        assert_eq!(code_view_at(&outer, ""), Some(&outer));
    }
}
