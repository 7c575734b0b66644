//! Real `.pyc` files of versions with no interpreter here (3.0–3.5, 3.14, 3.15 pre-release), in
//! the shared samples folder (`brine_tests::pyc_samples_dir()`; never copied into the repo):
//! each must parse to its end, round-trip byte for byte, and have a JSON view. Skipped, with a
//! line saying so, when the folder is absent.

use brine_marshal::Pyc;
use brine_pickle_ext::json::pyc::pyc_to_json;
use std::path::{Path, PathBuf};

fn pycs_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            pycs_under(&p, out);
        } else if p.extension().is_some_and(|x| x == "pyc") {
            out.push(p);
        }
    }
}

#[test]
fn shared_samples_parse_round_trip_and_view() {
    let Some(dir) = brine_tests::pyc_samples_dir() else {
        brine_tests::skip_live(
            "shared_samples_parse_round_trip_and_view",
            "no shared pyc-samples folder",
        );
        return;
    };
    let mut files = Vec::new();
    pycs_under(&dir, &mut files);
    files.sort();
    let mut failures = Vec::new();
    let mut versions = std::collections::BTreeSet::new();
    for path in &files {
        let data = std::fs::read(path).expect("read sample");
        let pyc = match Pyc::parse(&data) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        versions.insert(pyc.header.version);
        if pyc.write() != data {
            failures.push(format!("{}: round trip differs", path.display()));
        }
        match pyc_to_json(&pyc) {
            Ok(view) => {
                if view["code"].get("co_code").is_none() {
                    failures.push(format!("{}: root is not a code object", path.display()));
                }
            }
            Err(e) => failures.push(format!("{}: view: {e}", path.display())),
        }
    }
    println!("{} sample pycs, versions {versions:?}", files.len());
    assert!(!files.is_empty(), "{} holds no .pyc", dir.display());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
