//! The malformed and edge-case streams of `tests/fixtures/pickle/malformed.json` (the spec's
//! 121 plus our own): our loader's verdict equals the live verdict of CPython 3.11 and 3.13's
//! C unpickler (accept/reject and exception class), and accepted plain streams give CPython's
//! JSON view.

mod pickle_support;

use brine_pickle_core::{loads_with, LoadOptions, Strictness};
use brine_pickle_ext::json::pickle::{pickle_to_json, ViewOptions};
use pickle_support::*;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn check(
    version: (u8, u8),
    impl_: &str,
    compare_exception_class: bool,
) -> (usize, usize, Vec<String>) {
    let text = std::fs::read_to_string(pickle_dir().join("malformed.json")).unwrap();
    let doc = parse_json(&text);
    let key = format!("{}.{}.{}", version.0, version.1, impl_);
    let mut options = LoadOptions::bare_cpython(version.0, version.1);
    if impl_ == "py" {
        options.strictness = Strictness::Python;
    }
    let (mut total, mut agree, mut failures) = (0, 0, Vec::new());
    for case in doc.get("cases").unwrap().arr() {
        let name = case.get("name").unwrap().str().unwrap();
        let Some(want) = case.get("verdicts").and_then(|v| v.get(&key)) else {
            continue;
        };
        total += 1;
        let data = unhex(case.get("hex").unwrap().str().unwrap());
        let want_ok = want.get("ok") == Some(&J::Bool(true));
        let got = loads_with(&data, &options);
        let ok = match (&got, want_ok) {
            (Ok(g), true) => match want.get("value") {
                Some(J::Null) | None => true,
                Some(_) => {
                    // Compare JSON text: re-serialise CPython's view compactly.
                    let ours = pickle_to_json(g, &ViewOptions::default())
                        .map(|j| j.get("value").unwrap().to_text(None));
                    let theirs = compact(&text, name, &key);
                    ours.ok() == theirs
                }
            },
            (Err(e), false) => {
                !compare_exception_class
                    || Some(e.cpython_exception()) == want.get("exc").and_then(J::str)
            }
            _ => false,
        };
        if ok {
            agree += 1;
        } else {
            failures.push(format!(
                "{key} {name}: CPython {:?}, ours {:?}",
                want.get("exc").and_then(J::str).unwrap_or("ok"),
                got.as_ref().map(|_| "ok").map_err(|e| e.to_string())
            ));
        }
    }
    (total, agree, failures)
}

/// CPython's view of an accepted case (the verdict `key`, e.g. `3.11.py`), as compact JSON text (found by re-reading the file with
/// the JSON reader of the view module, which keeps lone surrogates).
fn compact(text: &str, name: &str, key: &str) -> Option<String> {
    let doc = brine_pickle_ext::json::Json::parse(text).ok()?;
    let cases = match doc.get("cases")? {
        brine_pickle_ext::json::Json::Array(c) => c.clone(),
        _ => return None,
    };
    let case = cases
        .iter()
        .find(|c| c.get("name").and_then(|n| n.as_string()).as_deref() == Some(name))?;
    let v = case.get("verdicts")?.get(key)?;
    Some(v.get("value")?.to_text(None))
}

#[test]
fn malformed_verdicts_agree_with_cpython_c_unpickler() {
    let mut all = Vec::new();
    for version in [(3, 11), (3, 13)] {
        let (total, agree, failures) = check(version, "c", true);
        println!(
            "malformed: CPython {}.{} C unpickler: {agree}/{total} agree",
            version.0, version.1
        );
        assert!(total >= 121, "too few cases: {total}");
        all.extend(failures);
    }
    assert!(
        all.is_empty(),
        "{} disagreements:\n{}",
        all.len(),
        all.join("\n")
    );
}

#[test]
fn malformed_verdicts_against_the_pure_python_unpickler() {
    // With `Strictness::Python`, every stream is accepted or rejected exactly as the pure-Python
    // unpickler does, with the same value when accepted. The exception *class* is reported only:
    // the loader raises the C unpickler's classes (pickle.py lets KeyError/IndexError escape where
    // _pickle raises UnpicklingError).
    for version in [(3, 11), (3, 13)] {
        let (total, agree, failures) = check(version, "py", false);
        assert!(total >= 121, "too few cases: {total}");
        assert!(
            failures.is_empty(),
            "{} verdicts differ from the pure-Python unpickler:\n{}",
            failures.len(),
            failures.join("\n")
        );
        let (_, same_class, _) = check(version, "py", true);
        println!(
            "malformed: CPython {}.{} pure-Python unpickler: {agree}/{total} verdicts agree, \
             {same_class}/{total} with the same exception class",
            version.0, version.1
        );
    }
}
