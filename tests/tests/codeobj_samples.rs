//! Real `.pyc` files of versions with no interpreter here (3.0–3.5, 3.14) from the shared
//! samples folder: every code object converts, decodes without a problem (no unknown,
//! specialised or truncated instruction, every index and jump target in range), its line and
//! exception tables decode, and its location table covers exactly the code units (3.14).
//! Skipped when the folder is absent. With `BRINE_PYODIDE` (CPython 3.14 in WebAssembly, see
//! `codeobj/data/README.md`), the 3.14 listings are also compared with its `dis.dis`.

use brine_codeobj::{disassemble_recursive, Code, FromMarshalOptions};
use brine_marshal::Pyc;
use brine_tests::{pyc_samples_dir, skip_live};

fn walk<'c, 'a>(code: &'c Code<'a>, out: &mut Vec<&'c Code<'a>>) {
    out.push(code);
    for (_, c) in code.nested() {
        walk(c, out);
    }
}

#[test]
fn sample_pycs_decode_cleanly() {
    let Some(dir) = pyc_samples_dir() else {
        skip_live("sample_pycs_decode_cleanly", "no ../shared/pyc-samples");
        return;
    };
    let mut total = 0usize;
    let mut problems: Vec<String> = Vec::new();
    for ver in ["3.0", "3.1", "3.2", "3.3", "3.4", "3.5", "3.14"] {
        let vdir = dir.join(ver);
        let Ok(entries) = std::fs::read_dir(&vdir) else {
            continue;
        };
        let mut files: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        let mut codes_seen = 0usize;
        for path in files
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "pyc"))
        {
            let data = std::fs::read(path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let pyc = match Pyc::parse(&data) {
                Ok(p) => p,
                Err(e) => {
                    problems.push(format!("{ver}/{name}: marshal: {e}"));
                    continue;
                }
            };
            let root = match Code::from_stream(&pyc.stream, FromMarshalOptions::default()) {
                Ok(c) => c,
                Err(e) => {
                    problems.push(format!("{ver}/{name}: {e}"));
                    continue;
                }
            };
            assert_eq!(format!("{}.{}", root.version().0, root.version().1), ver);
            let mut all = Vec::new();
            walk(&root, &mut all);
            for code in all {
                codes_seen += 1;
                let qual = code.name.to_string_lossy();
                for ins in code.instructions() {
                    if let Some(p) = ins.problem {
                        problems.push(format!(
                            "{ver}/{name} {qual} @{} {} {:?}: {}",
                            ins.offset,
                            ins.opname,
                            ins.arg,
                            p.message()
                        ));
                    }
                }
                if let Err(e) = code.line_starts() {
                    problems.push(format!("{ver}/{name} {qual}: lines: {e}"));
                }
                if let Err(e) = code.exception_table() {
                    problems.push(format!("{ver}/{name} {qual}: exceptions: {e}"));
                }
                if code.version() >= (3, 11) {
                    match code.positions() {
                        Ok(p) if p.len() == code.code.len() / 2 => {}
                        Ok(p) => problems.push(format!(
                            "{ver}/{name} {qual}: {} positions for {} code units",
                            p.len(),
                            code.code.len() / 2
                        )),
                        Err(e) => problems.push(format!("{ver}/{name} {qual}: positions: {e}")),
                    }
                }
            }
            assert!(!disassemble_recursive(&root, 100).is_empty());
        }
        println!(
            "pyc samples {ver}: {} files, {codes_seen} code objects",
            files.len()
        );
        total += codes_seen;
    }
    for p in problems.iter().take(30) {
        println!("  {p}");
    }
    assert!(
        problems.is_empty(),
        "{} problems (see output)",
        problems.len()
    );
    assert!(total > 0);
}

#[allow(dead_code)]
#[path = "../../xtask/src/codegen.rs"]
mod codegen;

/// Live, with CPython 3.14 in WebAssembly (`BRINE_PYODIDE`, see `codeobj/data/README.md`): the
/// listing of every 3.14 sample is what 3.14's `dis.dis` prints.
#[test]
fn sample_314_listings_match_dis() {
    let Some(dir) = pyc_samples_dir() else {
        skip_live("sample_314_listings_match_dis", "no ../shared/pyc-samples");
        return;
    };
    let Some(pyodide) = codegen::pyodide_dir() else {
        skip_live(
            "sample_314_listings_match_dis",
            "BRINE_PYODIDE does not name a Pyodide folder",
        );
        return;
    };
    let samples = dir.join("3.14");
    let script = brine_tests::workspace_root().join("xtask/py/opcodes_dis_samples.py");
    let out = codegen::run_pyodide_with(
        &pyodide,
        &script,
        &[samples.to_str().expect("UTF-8 path"), "/host"],
    )
    .expect("dis under Pyodide");
    let listings: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&out).expect("JSON");
    assert!(!listings.is_empty());
    let mut differ = Vec::new();
    for (name, want) in &listings {
        let data = std::fs::read(samples.join(name)).unwrap();
        let pyc = Pyc::parse(&data).unwrap();
        let root = Code::from_stream(&pyc.stream, FromMarshalOptions::default()).unwrap();
        let got = disassemble_recursive(&root, 100);
        if &got != want {
            let at = got
                .lines()
                .zip(want.lines())
                .position(|(g, w)| g != w)
                .unwrap_or(0);
            differ.push(format!("{name} line {at}"));
        }
    }
    println!("3.14 listings: {} compared", listings.len());
    assert!(differ.is_empty(), "listings differ from dis: {differ:?}");
}
