//! `loads_shared` (payloads referenced from the input) builds the same graph as `loads`
//! (payloads copied) on every committed fixture stream, and really shares.

use brine_pickle_core::{loads_shared, loads_with, LoadOptions, NodeKind, SharedInput};
use std::sync::Arc;

fn payload_bytes(g: &brine_pickle_core::Graph, kind: &NodeKind) -> Option<Vec<u8>> {
    match kind {
        NodeKind::Str(s) | NodeKind::Bytes(s) | NodeKind::ByteArray(s) | NodeKind::Py2Str(s) => {
            Some(g.bytes_of(*s).to_vec())
        }
        _ => None,
    }
}

#[test]
fn shared_load_equals_copying_load_on_every_fixture() {
    let dir = brine_tests::fixtures_dir().join("pickle");
    let mut files = Vec::new();
    for case in std::fs::read_dir(&dir).unwrap() {
        let case = case.unwrap().path();
        if !case.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&case).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "pickle") {
                files.push(f);
            }
        }
    }
    assert!(files.len() > 100, "too few fixtures: {}", files.len());
    let options = LoadOptions {
        encoding: brine_pickle_core::Py2Encoding::Bytes,
        ..LoadOptions::default()
    };
    let (mut compared, mut shared_spans) = (0, 0);
    for f in &files {
        let data = std::fs::read(f).unwrap();
        let copied = loads_with(&data, &options);
        let shared = loads_shared(&SharedInput::new(Arc::new(data.clone())), &options);
        let (copied, shared) = match (copied, shared) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(a), Err(b)) => {
                assert_eq!(a, b, "{}", f.display());
                continue;
            }
            (a, b) => panic!("{}: {:?} vs {:?}", f.display(), a.err(), b.err()),
        };
        assert_eq!(copied.len(), shared.len(), "{}", f.display());
        assert_eq!(copied.pickles, shared.pickles, "{}", f.display());
        for (a, b) in copied.nodes.iter().zip(&shared.nodes) {
            assert_eq!((a.op, a.offset), (b.op, b.offset), "{}", f.display());
            match (
                payload_bytes(&copied, &a.kind),
                payload_bytes(&shared, &b.kind),
            ) {
                (Some(x), Some(y)) => {
                    assert_eq!(x, y, "{}", f.display());
                    if let NodeKind::Bytes(s) | NodeKind::Str(s) = b.kind {
                        shared_spans += s.is_shared() as usize;
                    }
                    if let NodeKind::ByteArray(s) = b.kind {
                        assert!(!s.is_shared(), "bytearrays are mutable: always copied");
                    }
                }
                // Debug text: NaN floats are not equal to themselves.
                (None, None) => assert_eq!(
                    format!("{:?}", a.kind),
                    format!("{:?}", b.kind),
                    "{}",
                    f.display()
                ),
                _ => panic!("{}: node kinds differ", f.display()),
            }
        }
        compared += 1;
    }
    assert!(
        compared > 100 && shared_spans > 1000,
        "{compared} {shared_spans}"
    );
}
