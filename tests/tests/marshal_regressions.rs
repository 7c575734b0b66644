//! Regressions pinned on the committed fixtures (expected values from the interpreters):
//!
//! * free/cell variable order: up to 3.10 CPython stores `co_cellvars` and `co_freevars`
//!   sorted by name; from 3.11 they are derived from localsplus, where captured arguments come
//!   first in argument order. Our view must give CPython's order in every version.
//! * the `__future__` flag move of 3.8.3 (bpo-39562): the same magic number, but
//!   `from __future__ import annotations` sets a different bit in 3.8.3+ than in 3.7.

use brine_marshal::Pyc;
use brine_pickle_ext::json::pyc::pyc_to_json;
use brine_pickle_ext::json::Json;
use std::fs;

fn ours_and_theirs(version: &str, stem: &str) -> (Json, Json) {
    let dir = brine_tests::fixtures_dir().join("marshal").join(version);
    let data = fs::read(dir.join(format!("{stem}.pyc"))).expect("fixture pyc");
    let ours = pyc_to_json(&Pyc::parse(&data).expect("parse")).expect("view");
    let text = fs::read_to_string(dir.join(format!("{stem}.json"))).expect("fixture json");
    (ours, Json::parse(&text).expect("json"))
}

/// Every CODE of a view, depth-first.
fn codes(code: &Json) -> Vec<&Json> {
    let mut out = vec![code];
    if let Some(Json::Array(consts)) = code.get("co_consts") {
        for c in consts {
            if let Some(nested) = c.get("code") {
                out.extend(codes(nested));
            }
        }
    }
    out
}

fn names(v: Option<&Json>) -> Vec<String> {
    match v {
        Some(Json::Array(items)) => items.iter().filter_map(Json::as_string).collect(),
        _ => panic!("not a name tuple"),
    }
}

#[test]
fn cell_and_free_variable_order_matches_cpython_in_every_version() {
    let mut unsorted_cells_seen = Vec::new();
    for version in [
        "2.7", "3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13",
    ] {
        let (ours, theirs) = ours_and_theirs(version, "closures");
        let (ours, theirs) = (codes(&ours["code"]), codes(&theirs["code"]));
        assert_eq!(ours.len(), theirs.len(), "{version}: code object count");
        let mut with_cells = 0;
        for (o, t) in ours.iter().zip(&theirs) {
            let name = t
                .get("co_name")
                .and_then(Json::as_string)
                .unwrap_or_default();
            for key in ["co_cellvars", "co_freevars", "co_varnames", "co_nlocals"] {
                assert_eq!(o.get(key), t.get(key), "{version} {name}: {key}");
            }
            let cells = names(t.get("co_cellvars"));
            if cells.len() > 1 {
                with_cells += 1;
                let mut sorted = cells.clone();
                sorted.sort();
                if sorted != cells {
                    unsorted_cells_seen.push(format!("{version} {name}"));
                }
            }
        }
        assert!(
            with_cells > 0,
            "{version}: closures.py should have several cells somewhere"
        );
    }
    // The fixtures show the order change (arguments first from 3.11; sorted before): if
    // CPython sorted everywhere, the comparison above could not catch an order bug.
    let minor = |label: &String| -> u32 {
        let v = label.split(' ').next().unwrap_or_default();
        if v.starts_with("2.") {
            0
        } else {
            v[2..].parse().unwrap_or(0)
        }
    };
    assert!(
        unsorted_cells_seen.iter().all(|s| minor(s) >= 11),
        "sorted cells expected up to 3.10: {unsorted_cells_seen:?}"
    );
    for v in ["3.11 ", "3.12 ", "3.13 "] {
        assert!(
            unsorted_cells_seen.iter().any(|s| s.starts_with(v)),
            "expected an argument-first cell order in {v}: {unsorted_cells_seen:?}"
        );
    }
}

#[test]
fn future_annotations_flag_follows_the_3_8_3_move() {
    let flags = |version: &str| {
        let (ours, theirs) = ours_and_theirs(version, "py37_future_annotations");
        let o = ours["code"]
            .get("co_flags")
            .and_then(Json::as_i64)
            .expect("flags");
        let t = theirs["code"]
            .get("co_flags")
            .and_then(Json::as_i64)
            .expect("flags");
        assert_eq!(o, t, "{version}: co_flags");
        o
    };
    let (f37, f38, f39) = (flags("3.7"), flags("3.8"), flags("3.9"));
    // 3.8.18 (after the move) agrees with 3.9, not with 3.7: the bit moved under the same
    // layout family, which is why flag names must be keyed on the patch level for 3.8.
    assert_eq!(f38, f39);
    assert_ne!(f37, f38);
    let manifest =
        fs::read_to_string(brine_tests::fixtures_dir().join("marshal/3.8/manifest.json"))
            .expect("manifest");
    let full = Json::parse(&manifest).expect("json")["full_version"]
        .as_string()
        .expect("full_version");
    let patch: u32 = full
        .rsplit('.')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("patch");
    assert!(
        patch >= 3,
        "the 3.8 fixtures must come from 3.8.3 or later, got {full}"
    );

    // Interpreting the bits needs the patch level: with 3.8.18's, codeobj finds `annotations`
    // in the flags CPython 3.8.18 wrote, as it does in 3.7's and 3.9's with theirs; read with
    // the 3.8.0-3.8.2 layout, the same bits do not mean `annotations`.
    use brine_codeobj::{FutureLayout, Futures};
    let layout = |minor: u8, patch: u32| FutureLayout::for_version(3, minor, Some(patch as u8));
    let annotations = |layout: FutureLayout, flags: i64| {
        layout.decode(flags as u32).contains(Futures::ANNOTATIONS)
    };
    assert!(annotations(layout(7, 16), f37));
    assert!(annotations(layout(8, patch), f38));
    assert!(annotations(layout(9, 18), f39));
    assert!(!annotations(layout(8, 2), f38));
}
