//! Lossless re-emission: the graph the reader builds from a CPython-written fixture, written
//! back, gives the input bytes exactly.
//!
//! * CPython 3 streams are reproduced by the rule-based writer profiles alone (the C or
//!   pure-Python pickler's choices, with the 3.6 and 3.8/3.9 quirks), i.e. from the graph;
//! * every stream (Python 2.7's `cPickle` and `pickle.py` included) is reproduced by
//!   `Profile::Recorded`, which replays the memo and batching choices recorded while loading.

mod pickle_support;

use brine_pickle_core::writer::{reemit, write_graph, Profile, WriteOptions};
use brine_pickle_core::{loads_with, LoadOptions, Py2Encoding};
use pickle_support::*;
use std::collections::BTreeMap;

fn describe(s: &Stream, ours: &[u8], data: &[u8]) -> String {
    let at = first_diff(ours, data);
    format!(
        "{}: differs at byte {at}: ours {:?} input {:?}",
        s.label(),
        String::from_utf8_lossy(&ours[at.saturating_sub(8)..(at + 16).min(ours.len())]),
        String::from_utf8_lossy(&data[at.saturating_sub(8)..(at + 16).min(data.len())]),
    )
}

#[test]
fn reemitting_every_fixture_reproduces_its_bytes() {
    let mut by_profile: BTreeMap<String, usize> = BTreeMap::new();
    let mut recorded_ok = 0;
    let mut total = 0;
    let mut failures = Vec::new();
    for s in unique_streams() {
        total += 1;
        let data = s.bytes();
        let opts = LoadOptions {
            encoding: Py2Encoding::Bytes,
            record_steps: true,
            ..LoadOptions::default()
        };
        let graph = loads_with(&data, &opts).unwrap_or_else(|e| panic!("{}: {e}", s.label()));
        let root = graph.root();
        // 1. Replaying the recorded choices reproduces every stream.
        let protocol = brine_pickle_core::writer::source_protocol(&graph);
        let replay = WriteOptions {
            profile: Profile::Recorded,
            ..WriteOptions::new(protocol)
        };
        match write_graph(&graph, root, &replay) {
            Ok(ours) if ours == data => recorded_ok += 1,
            Ok(ours) => failures.push(format!("Recorded {}", describe(&s, &ours, &data))),
            Err(e) => failures.push(format!("Recorded {}: {e}", s.label())),
        }
        // 2. CPython 3 streams are also reproduced from the graph by a rule-based profile.
        match reemit(&graph, &data) {
            Ok((_, Some(profile))) => {
                if s.interpreter != "2.7" && profile == Profile::Recorded {
                    failures.push(format!(
                        "{}: only Profile::Recorded reproduces it",
                        s.label()
                    ));
                }
                *by_profile.entry(format!("{profile:?}")).or_default() += 1;
            }
            Ok((ours, None)) => failures.push(describe(&s, &ours, &data)),
            Err(e) => failures.push(format!("{}: {e}", s.label())),
        }
    }
    println!("lossless re-emission of {total} streams: Recorded {recorded_ok}; first matching profile: {by_profile:?}");
    assert!(total > 700, "too few fixtures checked: {total}");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
