//! Live: every code object of (a sample of) each installed interpreter's standard library
//! decodes exactly as that interpreter's `dis` says: instructions (offset, opname, arg,
//! argval, argrepr, starts_line, line_number, is_jump_target), `findlinestarts`, `co_lines()`,
//! `co_positions()` and the exception table; the summary and the listing of every file are
//! built without error. One file in 80 by default; set `BRINE_STDLIB_EVERY=1` for the whole
//! library (or run `cargo xtask verify-stdlib --dis-every 1`, which makes the same comparison,
//! [`compare_dis_line`], on every interpreter). Skipped without interpreters.

use std::collections::BTreeMap;

use brine_codeobj::FromMarshalOptions;
use brine_marshal::PyVersion;
use brine_pickle_ext::json::code::{compare_dis_line, UNREPRODUCIBLE_SET_ORDER};
use brine_tests::{interpreters, skip_live, workspace_root};

#[test]
fn stdlib_matches_dis() {
    let interps = interpreters();
    if interps.is_empty() {
        skip_live("stdlib_matches_dis", "no CPython found");
        return;
    }
    let every: usize = std::env::var("BRINE_STDLIB_EVERY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(80);
    let script = workspace_root().join("xtask/py/opcodes_stdlib.py");
    let mut total_bad = 0usize;
    for interp in &interps {
        let out = std::env::temp_dir().join(format!(
            "brine-codeobj-stdlib-{}-{}.jsonl",
            interp.label(),
            std::process::id()
        ));
        let status = interp
            .command()
            .arg(&script)
            .arg("dis")
            .arg(&out)
            .arg(every.to_string())
            .status()
            .expect("run interpreter");
        assert!(status.success(), "{} failed", interp.full_version);
        let text = std::fs::read_to_string(&out).unwrap();
        let _ = std::fs::remove_file(&out);
        let version: PyVersion = interp.label().parse().unwrap();
        let options = FromMarshalOptions {
            patch: interp
                .full_version
                .split('.')
                .nth(2)
                .and_then(|p| p.parse().ok()),
            ..Default::default()
        };
        let (mut files, mut codes, mut instructions) = (0usize, 0usize, 0usize);
        let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
        let mut examples: Vec<String> = Vec::new();
        for line in text.lines() {
            let (file, result) =
                compare_dis_line(line, version, options).unwrap_or_else(|e| panic!("{e}"));
            files += 1;
            codes += result.code_objects;
            instructions += result.instructions;
            for m in &result.mismatches {
                *counts.entry(m.what).or_default() += 1;
                if examples.len() < 10 {
                    examples.push(format!("{file}:{} {}: {}", m.path, m.what, m.detail));
                }
            }
        }
        // Set constants holding address-hashed items print in an order CPython itself does
        // not reproduce between runs: reported, not failed.
        let bad: usize = counts
            .iter()
            .filter(|(what, _)| **what != UNREPRODUCIBLE_SET_ORDER)
            .map(|(_, n)| n)
            .sum();
        total_bad += bad;
        println!(
            "stdlib {} (every {every}th file): {files} files, {codes} code objects, {instructions} instructions, {bad} mismatches {counts:?}",
            interp.full_version
        );
        for e in &examples {
            println!("  e.g. {e}");
        }
    }
    assert_eq!(total_bad, 0, "mismatches against dis (see output)");
}
