//! Live round trip: `pickle.loads(brine_dumps(v)) == v` on every installed interpreter, for
//! every protocol it supports, for every plain object of the fixture corpus. Our bytes are
//! written from the corpus objects' source views (`<case>/value.json`); the interpreter compares
//! what it loads with the object the corpus script builds. Skips (with a printed line) when no
//! interpreter is installed.

mod pickle_support;

use brine_pickle_core::writer::{write_graph, WriteOptions};
use pickle_support::*;

#[test]
fn every_interpreter_loads_our_pickles_back_to_the_original_object() {
    let interps = brine_tests::interpreters();
    if interps.is_empty() {
        brine_tests::skip_live("pickle_live", "no CPython interpreter found");
        return;
    }
    let dir = std::env::temp_dir().join(format!("brine-pickle-live-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut cases: Vec<String> = streams()
        .into_iter()
        .filter(|s| s.kind == "plain" && s.interpreter == "3.13" && s.impl_ == "c")
        .map(|s| format!("{}.p{}", s.case, s.protocol))
        .collect();
    cases.dedup();
    for stem in &cases {
        let (case, proto) = stem.rsplit_once(".p").unwrap();
        let proto: u8 = proto.parse().unwrap();
        let text = std::fs::read_to_string(pickle_dir().join(case).join("value.json")).unwrap();
        let (graph, root) = graph_from_source_view(parse_json(&text).get("value").unwrap(), proto);
        let bytes = write_graph(&graph, root, &WriteOptions::new(proto)).unwrap();
        std::fs::write(dir.join(format!("{stem}.pickle")), bytes).unwrap();
    }
    let script = brine_tests::workspace_root().join("xtask/py/pickle_live_check.py");
    let mut failures = Vec::new();
    for interp in &interps {
        let out = interp.command().arg(&script).arg(&dir).output().unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            interp.label(),
            String::from_utf8_lossy(&out.stderr)
        );
        let results = parse_json(&String::from_utf8(out.stdout).unwrap());
        let J::Obj(pairs) = results else {
            panic!("bad output")
        };
        let ok = pairs.iter().filter(|(_, v)| v.str() == Some("ok")).count();
        println!(
            "CPython {}: {ok}/{} of our pickles load back equal",
            interp.label(),
            pairs.len()
        );
        assert!(!pairs.is_empty(), "{}: nothing checked", interp.label());
        for (file, verdict) in &pairs {
            if verdict.str() != Some("ok") {
                failures.push(format!("{} {file}: {:?}", interp.label(), verdict.str()));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
