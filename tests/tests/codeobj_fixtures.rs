//! `brine_codeobj` against CPython's own `dis` results recorded by `cargo xtask fixtures`:
//! for every code object of every `.pyc` fixture of every version, the instruction list
//! (offset, opname, arg, argval, argrepr, starts_line, line_number, is_jump_target), the line
//! tables (`dis.findlinestarts`, `co_lines()`, `co_positions()`), the exception table and the
//! `dis.disassemble` text must equal what the interpreter produced.

use std::collections::BTreeMap;
use std::path::Path;

use brine_codeobj::FromMarshalOptions;
use brine_marshal::Pyc;
use brine_pickle_ext::json::code::compare_stream_with_dis;
use brine_pickle_ext::json::Json;
use brine_tests::fixtures_dir;

fn patch_of(python: &str) -> Option<u8> {
    python.split('.').nth(2)?.parse().ok()
}

#[derive(Default)]
struct Report {
    counts: BTreeMap<(String, &'static str), usize>,
    compared: BTreeMap<String, usize>,
    examples: BTreeMap<(String, &'static str), Vec<String>>,
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
    // Python's JSON, lone surrogates included, read exactly.
    let doc = Json::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", dis_path.display()));
    let pyc = Pyc::parse(&data).unwrap_or_else(|e| panic!("{}: {e}", pyc_path.display()));
    let options = FromMarshalOptions {
        patch: doc["python"].as_string().as_deref().and_then(patch_of),
        ..Default::default()
    };
    let result = compare_stream_with_dis(&pyc.stream, options, &doc["code_objects"])
        .unwrap_or_else(|e| panic!("{}: {e}", pyc_path.display()));
    *report.compared.entry(ver.to_string()).or_default() += result.code_objects;
    for m in result.mismatches {
        let key = (ver.to_string(), m.what);
        *report.counts.entry(key.clone()).or_default() += 1;
        let ex = report.examples.entry(key).or_default();
        if ex.len() < 3 {
            ex.push(format!("{ver} {stem}:{} {}: {}", m.path, m.what, m.detail));
        }
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
