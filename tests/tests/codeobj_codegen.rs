//! The committed opcode tables of `codeobj` and the printable tables of `brine_marshal::repr`
//! and pickle-core are what `cargo xtask codegen` would produce.
//!
//! * Offline: regenerate the Rust from the committed JSON and compare with the committed Rust.
//! * Live: each installed interpreter's dump equals its committed JSON (skipped without Python),
//!   and so does 3.14's from Pyodide when `BRINE_PYODIDE` names one.

#[allow(dead_code)]
#[path = "../../xtask/src/codegen.rs"]
mod codegen;

use brine_tests::{interpreters, skip_live, workspace_root};

#[test]
fn generated_rust_matches_committed_json() {
    let root = workspace_root();
    let files = codegen::generate_all(&root).expect("generate");
    assert!(
        files.len() >= 19,
        "expected 16 tables, a mod.rs and the marshal and pickle-core printable tables"
    );
    let mut stale = Vec::new();
    for (name, text) in &files {
        let path = root.join(name);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if &committed != text {
            stale.push(name.clone());
        }
    }
    assert!(
        stale.is_empty(),
        "generated opcode tables are stale (run `cargo xtask codegen`): {stale:?}"
    );
}

#[test]
fn interpreter_dumps_match_committed_json() {
    let interps = interpreters();
    if interps.is_empty() {
        skip_live("interpreter_dumps_match_committed_json", "no CPython found");
        return;
    }
    let root = workspace_root();
    for interp in &interps {
        let dumped = codegen::dump_interpreter(&root, interp).expect("dump");
        let path = root
            .join(codegen::DATA_DIR)
            .join(format!("cpython-{}.json", interp.label()));
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            committed,
            dumped,
            "{} differs from CPython {}'s opcode module",
            path.display(),
            interp.full_version
        );
        if interp.version.0 == 3 {
            let dumped = codegen::run_script(&root, interp, codegen::PRINTABLE_SCRIPT).unwrap();
            let path = root
                .join(codegen::PRINTABLE_DIR)
                .join(format!("cpython-{}.json", interp.label()));
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert_eq!(committed, dumped, "{} is stale", path.display());
        }
    }
}

#[test]
fn pyodide_dumps_match_committed_json() {
    let Some(dir) = codegen::pyodide_dir() else {
        skip_live(
            "pyodide_dumps_match_committed_json",
            "BRINE_PYODIDE does not name a Pyodide folder",
        );
        return;
    };
    let root = workspace_root();
    let dumped = codegen::run_pyodide(&root, &dir, codegen::DUMP_SCRIPT).expect("dump");
    let label = codegen::dump_version(&dumped).expect("version");
    let path = root
        .join(codegen::DATA_DIR)
        .join(format!("cpython-{label}.json"));
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        committed,
        dumped,
        "{} differs from Pyodide's",
        path.display()
    );
    let dumped = codegen::run_pyodide(&root, &dir, codegen::PRINTABLE_SCRIPT).expect("dump");
    let path = root
        .join(codegen::PRINTABLE_DIR)
        .join(format!("cpython-{label}.json"));
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(committed, dumped, "{} is stale", path.display());
}
