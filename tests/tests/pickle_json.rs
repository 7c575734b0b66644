//! Our JSON view of the graph the reader builds equals CPython's JSON view of
//! `pickle.loads(data)` for every plain-data fixture stream (all interpreters, both picklers),
//! and the structural view derived from `pickletools.genops` for every symbolic stream.

mod pickle_support;

use brine_pickle_core::{loads_with, LoadOptions, Py2Encoding};
use brine_pickle_ext::json::pickle::{pickle_to_json, ViewOptions};
use pickle_support::*;

#[test]
fn json_view_equals_cpython_view_for_every_fixture() {
    let mut passed = 0;
    let mut failures = Vec::new();
    for s in unique_streams() {
        let expected_path = s.path("json");
        let Ok(expected) = std::fs::read_to_string(&expected_path) else {
            continue; // CPython could not load or parse it (see index.json)
        };
        let opts = LoadOptions {
            encoding: Py2Encoding::Bytes,
            ..LoadOptions::default()
        };
        let graph = match loads_with(&s.bytes(), &opts) {
            Ok(g) => g,
            Err(e) => {
                failures.push(format!("{}: load failed: {e}", s.label()));
                continue;
            }
        };
        let ours = match pickle_to_json(&graph, &ViewOptions::default()) {
            Ok(j) => j.to_text(None),
            Err(e) => {
                failures.push(format!("{}: no view: {e}", s.label()));
                continue;
            }
        };
        if ours == expected.trim_end() {
            passed += 1;
        } else {
            let at = first_diff(ours.as_bytes(), expected.as_bytes());
            failures.push(format!(
                "{}: differs at char {at}: ours ...{}... CPython ...{}...",
                s.label(),
                &ours[at.saturating_sub(40)..(at + 40).min(ours.len())],
                &expected[at.saturating_sub(40)..(at + 40).min(expected.len())],
            ));
        }
    }
    println!("JSON view == CPython's view: {passed} streams passed");
    assert!(passed > 700, "too few fixtures checked: {passed}");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
