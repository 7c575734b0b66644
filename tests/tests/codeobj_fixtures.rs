//! `brine_codeobj` against CPython's own `dis` results recorded by `cargo xtask fixtures`:
//! for every code object of every `.pyc` fixture of every version, the instruction list
//! (offset, opname, arg, argval, argrepr, starts_line, line_number, is_jump_target), the line
//! tables (`dis.findlinestarts`, `co_lines()`, `co_positions()`), the exception table and the
//! `dis.disassemble` text must equal what the interpreter produced.

use std::collections::BTreeMap;
use std::path::Path;

use brine_codeobj::json::argval_view;
use brine_codeobj::{disassemble, Code, FromMarshalOptions, InstructionLines};
use brine_marshal::Pyc;
use brine_tests::fixtures_dir;
use serde_json::{json, Value};

/// Mismatch counts per (version, what), and a few examples.
#[derive(Default)]
struct Report {
    counts: BTreeMap<(String, &'static str), usize>,
    compared: BTreeMap<String, usize>,
    examples: BTreeMap<(String, &'static str), Vec<String>>,
}

/// The first line where two texts differ, for readable reports.
fn first_diff(got: &str, want: &str) -> String {
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

impl Report {
    fn check(&mut self, ver: &str, what: &'static str, ctx: &str, got: Value, want: &Value) {
        if &got != want {
            *self.counts.entry((ver.to_string(), what)).or_default() += 1;
            let ex = self.examples.entry((ver.to_string(), what)).or_default();
            if ex.len() < 3 {
                let detail = match (&got, want) {
                    (Value::String(g), Value::String(w)) if what == "dis text" => first_diff(g, w),
                    _ => format!("got {got} want {want}"),
                };
                ex.push(format!("{ver} {ctx} {what}: {detail}"));
            }
        }
    }
}

fn find<'c, 'a>(root: &'c Code<'a>, path: &str) -> Option<&'c Code<'a>> {
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

/// serde_json rejects lone surrogate escapes (`"\\ud800"`), which Python writes for strings
/// holding them; `PyStr::to_string_lossy` shows them as U+FFFD, so do the same here.
fn replace_lone_surrogates(text: &str) -> String {
    let b = text.as_bytes();
    let hex4 = |i: usize| -> Option<u32> {
        let h = text.get(i..i + 4)?;
        u32::from_str_radix(h, 16).ok()
    };
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            if b[i + 1] == b'u' {
                if let Some(u) = hex4(i + 2) {
                    if (0xD800..0xDC00).contains(&u)
                        && b.get(i + 6) == Some(&b'\\')
                        && b.get(i + 7) == Some(&b'u')
                        && hex4(i + 8).is_some_and(|l| (0xDC00..0xE000).contains(&l))
                    {
                        out.push_str(&text[i..i + 12]);
                        i += 12;
                        continue;
                    }
                    if (0xD800..0xE000).contains(&u) {
                        out.push_str("\\ufffd");
                        i += 6;
                        continue;
                    }
                }
            }
            out.push_str(&text[i..i + 2]);
            i += 2;
            continue;
        }
        let ch = text[i..].chars().next().unwrap();
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

fn patch_of(python: &str) -> Option<u8> {
    python.split('.').nth(2)?.parse().ok()
}

fn check_file(report: &mut Report, ver: &str, dis_path: &Path) {
    let stem = dis_path
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .trim_end_matches(".dis.json")
        .to_string();
    let pyc_path = dis_path.with_file_name(format!("{stem}.pyc"));
    let data = std::fs::read(&pyc_path).expect("pyc beside dis.json");
    let text = std::fs::read_to_string(dis_path).unwrap();
    let doc: Value = serde_json::from_str(&replace_lone_surrogates(&text)).unwrap();
    let pyc = Pyc::parse(&data).unwrap_or_else(|e| panic!("{}: {e}", pyc_path.display()));
    let options = FromMarshalOptions {
        patch: doc["python"].as_str().and_then(patch_of),
        ..Default::default()
    };
    let root = Code::from_stream(&pyc.stream, options)
        .unwrap_or_else(|e| panic!("{}: {e}", pyc_path.display()));
    let v313 = root.version() >= (3, 13);
    for entry in doc["code_objects"].as_array().unwrap() {
        let path = entry["path"].as_str().unwrap();
        let ctx = format!("{stem}:{path}");
        let code = find(&root, path).unwrap_or_else(|| panic!("{ctx}: no such code object"));
        *report.compared.entry(ver.to_string()).or_default() += 1;
        let mut got_ins = Vec::new();
        for (ins, li) in InstructionLines::new(code) {
            let mut m = serde_json::Map::new();
            m.insert("offset".into(), json!(ins.offset));
            m.insert("opname".into(), json!(ins.opname));
            m.insert("arg".into(), json!(ins.arg));
            m.insert("argval".into(), argval_view(&ins, path));
            m.insert("is_jump_target".into(), json!(li.is_jump_target));
            if v313 {
                m.insert("starts_line".into(), json!(li.starts_line.is_some()));
                m.insert("line_number".into(), json!(li.line));
            } else {
                m.insert("starts_line".into(), json!(li.starts_line.flatten()));
            }
            got_ins.push((ins, Value::Object(m)));
        }
        let want_ins = entry["instructions"].as_array().unwrap();
        report.check(
            ver,
            "instruction count",
            &ctx,
            json!(got_ins.len()),
            &json!(want_ins.len()),
        );
        for ((ins, got), want) in got_ins.iter().zip(want_ins) {
            let ictx = format!("{ctx}@{}", ins.offset);
            for key in [
                "offset",
                "opname",
                "arg",
                "argval",
                "starts_line",
                "line_number",
                "is_jump_target",
            ] {
                if want.get(key).is_some() || got.get(key).is_some() {
                    let what: &'static str = match key {
                        "offset" => "offset",
                        "opname" => "opname",
                        "arg" => "arg",
                        "argval" => "argval",
                        "starts_line" => "starts_line",
                        "line_number" => "line_number",
                        _ => "is_jump_target",
                    };
                    report.check(
                        ver,
                        what,
                        &ictx,
                        got.get(key).cloned().unwrap_or(Value::Null),
                        want.get(key).unwrap_or(&Value::Null),
                    );
                }
            }
            let labels = brine_codeobj::disasm::jump_targets(code, false);
            let got_repr = brine_codeobj::argrepr(ins, code, Some(&labels));
            report.check(ver, "argrepr", &ictx, json!(got_repr), &want["argrepr"]);
        }
        let starts: Vec<Value> = code
            .line_starts()
            .unwrap()
            .iter()
            .map(|(o, l)| json!([o, l]))
            .collect();
        report.check(
            ver,
            "findlinestarts",
            &ctx,
            json!(starts),
            &entry["findlinestarts"],
        );
        if let Some(want) = entry.get("co_lines") {
            let got: Vec<Value> = code
                .lines()
                .unwrap()
                .iter()
                .map(|r| json!([r.start, r.end, r.line]))
                .collect();
            report.check(ver, "co_lines", &ctx, json!(got), want);
        }
        if let Some(want) = entry.get("co_positions") {
            let got: Vec<Value> = code
                .positions()
                .unwrap()
                .iter()
                .map(|p| json!([p.line, p.end_line, p.col, p.end_col]))
                .collect();
            report.check(ver, "co_positions", &ctx, json!(got), want);
        }
        if let Some(want) = entry.get("exception_table") {
            let got: Vec<Value> = code
                .exception_table()
                .unwrap()
                .iter()
                .map(|e| json!([e.start, e.end, e.target, e.depth, e.lasti]))
                .collect();
            report.check(ver, "exception_table", &ctx, json!(got), want);
        }
        report.check(
            ver,
            "dis text",
            &ctx,
            json!(disassemble(code)),
            &entry["text"],
        );
    }
}

#[test]
fn every_fixture_code_object_matches_dis() {
    let base = fixtures_dir().join("marshal");
    let mut versions: Vec<String> = std::fs::read_dir(&base)
        .expect("tests/fixtures/marshal")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    versions.sort();
    assert!(!versions.is_empty(), "no marshal fixtures");
    let mut report = Report::default();
    for ver in &versions {
        let mut files: Vec<_> = std::fs::read_dir(base.join(ver))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with(".dis.json"))
            .collect();
        files.sort();
        for f in files {
            check_file(&mut report, ver, &f);
        }
    }
    for (ver, n) in &report.compared {
        let bad: usize = report
            .counts
            .iter()
            .filter(|((v, _), _)| v == ver)
            .map(|(_, n)| n)
            .sum();
        println!("codeobj fixtures {ver}: {n} code objects, {bad} mismatches");
    }
    for ((ver, what), n) in &report.counts {
        println!("  {ver} {what}: {n}");
    }
    for ex in report.examples.values().flatten() {
        println!("  e.g. {ex}");
    }
    assert!(
        report.counts.is_empty(),
        "mismatches against dis (see output)"
    );
    assert!(report.compared.values().sum::<usize>() > 0);
}
