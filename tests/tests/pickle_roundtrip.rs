//! Lossless re-emission: the graph the reader builds from a CPython-written fixture, written
//! back with the C (or pure-Python) pickler's choices, gives the input bytes exactly.

mod pickle_support;

use brine_pickle_core::writer::reemit;
use brine_pickle_core::{loads_with, LoadOptions, Py2Encoding};
use pickle_support::*;

#[test]
fn reemitting_every_cpython3_fixture_reproduces_its_bytes() {
    let mut passed = 0;
    let mut failures = Vec::new();
    let mut py2 = (0, 0);
    for s in unique_streams() {
        let data = s.bytes();
        let opts = LoadOptions {
            encoding: Py2Encoding::Bytes,
            ..LoadOptions::default()
        };
        let graph = loads_with(&data, &opts).unwrap_or_else(|e| panic!("{}: {e}", s.label()));
        let (ours, profile) = match reemit(&graph, &data) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{}: {e}", s.label()));
                continue;
            }
        };
        if s.interpreter == "2.7" {
            // Python 2's picklers make other choices (memo from 1, no tuple memo in cPickle,
            // 17-digit floats, INT for big ints); counted, not required.
            py2.1 += 1;
            if profile.is_some() {
                py2.0 += 1;
            }
            continue;
        }
        if profile.is_some() {
            passed += 1;
        } else {
            let at = first_diff(&ours, &data);
            failures.push(format!(
                "{}: differs at byte {at}: ours {:?} input {:?}",
                s.label(),
                String::from_utf8_lossy(&ours[at.saturating_sub(8)..(at + 16).min(ours.len())]),
                String::from_utf8_lossy(&data[at.saturating_sub(8)..(at + 16).min(data.len())]),
            ));
        }
    }
    println!(
        "lossless re-emission: {passed} CPython 3 streams reproduced; Python 2.7: {} of {}",
        py2.0, py2.1
    );
    assert!(passed > 450, "too few fixtures checked: {passed}");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
