//! The regressions the marshal issue names, on bytes written by real interpreters
//! (`data/values.json`): negative big ints, lone surrogates, a reference to index 0, a flagged
//! tuple of 256+ items referenced twice. (Magic 3351 and both SipHash variants: `pyc.rs`.)

mod common;

use brine_marshal::{read, NodeId, ReadOptions, Stream, Value};
use common::*;
use num_bigint::BigInt;

/// The bytes CPython `label` wrote for `expr` at marshal version `mv`, and its repr.
fn sample(label: &str, expr: &str, mv: u64) -> (Vec<u8>, String) {
    let data = load_json("values.json");
    let e = data[label]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["expr"] == expr && e["marshal_version"] == mv)
        .unwrap_or_else(|| panic!("{label} {expr} v{mv} not in values.json"));
    (
        unhex(e["hex"].as_str().unwrap()),
        e["repr"].as_str().unwrap().to_string(),
    )
}

fn labels() -> Vec<String> {
    // (`load_json` caches the parsed file.)
    load_json("values.json")
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

#[test]
fn negative_big_ints() {
    for label in labels() {
        for expr in ["-2**100", "-(2**1000)", "-2**31-1", "-2**63"] {
            let (bytes, repr) = sample(&label, expr, 2);
            let s = read(&bytes, &ReadOptions::new(version(&label))).unwrap();
            let v = s.value(s.root());
            let expected: BigInt = repr.trim_end_matches('L').parse().unwrap();
            assert_eq!(v.as_bigint(), Some(expected.clone()), "{label} {expr}");
            assert!(expected < BigInt::from(0));
            if let Value::Long(d) = v {
                assert!(d.negative());
            }
            assert_eq!(s.write(), bytes);
        }
    }
}

fn code_points(s: &Stream<'_>, id: NodeId) -> Vec<u32> {
    s.text(id).unwrap().chars().collect()
}

#[test]
fn lone_surrogates_are_kept() {
    for label in labels().into_iter().filter(|l| l.starts_with('3')) {
        let v = version(&label);
        let (bytes, _) = sample(&label, "u'\\ud800'", 2);
        let s = read(&bytes, &ReadOptions::new(v)).unwrap();
        assert_eq!(code_points(&s, s.root()), [0xD800], "{label}");
        assert_eq!(s.text(s.root()).unwrap().as_str(), None);
        assert_eq!(s.write(), bytes);

        let (bytes, repr) = sample(&label, "u'a\\udcff\\ud800b'", 4);
        let s = read(&bytes, &ReadOptions::new(v)).unwrap();
        assert_eq!(code_points(&s, s.root()), [0x61, 0xDCFF, 0xD800, 0x62]);
        assert_eq!(
            brine_marshal::repr::str_repr(s.text(s.root()).unwrap()),
            repr
        );
        assert_eq!(s.text(s.root()).unwrap().to_string(), "a\\udcff\\ud800b");

        // A high surrogate followed by a low one stays two code points in Python 3.
        let (bytes, _) = sample(&label, "u'\\ud83d\\ude00'", 4);
        let s = read(&bytes, &ReadOptions::new(v)).unwrap();
        assert_eq!(code_points(&s, s.root()), [0xD83D, 0xDE00]);
        assert_eq!(s.write(), bytes);
    }
}

#[test]
fn reference_to_index_zero() {
    for label in labels().into_iter().filter(|l| l.starts_with('3')) {
        // A list containing itself: `\xdb` (flagged list, slot 0) then `r 0`.
        let (bytes, _) = sample(&label, "(lambda a: (a.append(a), a)[1])([])", 4);
        assert_eq!(bytes, b"\xdb\x01\x00\x00\x00r\x00\x00\x00\x00");
        let s = read(&bytes, &ReadOptions::new(version(&label))).unwrap();
        let root = s.root();
        assert_eq!(s.refs(), [root]);
        let child = s.children(root)[0];
        assert_eq!(
            s.node(child).value,
            Value::Ref {
                index: 0,
                target: root
            }
        );
        assert_eq!(s.resolve(child), root);
        assert_eq!(s.write(), bytes);
        assert_eq!(brine_marshal::repr::node_repr(&s, root), "[...]");
    }
}

#[test]
fn flagged_tuple_of_300_items_referenced_twice() {
    for label in labels().into_iter().filter(|l| l.starts_with('3')) {
        let (bytes, _) = sample(&label, "(lambda t: (t, t))(tuple(range(300)))", 4);
        let s = read(&bytes, &ReadOptions::new(version(&label))).unwrap();
        let kids = s.children(s.root());
        assert_eq!(kids.len(), 2);
        let first = s.node(kids[0]);
        assert!(first.flag_ref, "{label}: the shared tuple is flagged");
        assert!(matches!(first.value, Value::Tuple { small: false, items } if items.len == 300));
        assert!(matches!(s.node(kids[1]).value, Value::Ref { target, .. } if target == kids[0]));
        assert_eq!(s.resolve(kids[1]), kids[0]);
        let items: Vec<i64> = s
            .items(kids[1])
            .map(|i| s.value(i).as_i64().unwrap())
            .collect();
        assert_eq!(items, (0..300).collect::<Vec<_>>());
        assert_eq!(s.write(), bytes);
    }
}

#[test]
fn python2_interned_strings_and_string_refs() {
    let (bytes, repr) = sample("2.7", "(intern('a'), intern('b'), intern('a'), 'a')", 2);
    let s = read(&bytes, &ReadOptions::new(version("2.7"))).unwrap();
    assert_eq!(brine_marshal::repr::node_repr(&s, s.root()), repr);
    let kids = s.children(s.root());
    assert!(matches!(
        s.node(kids[0]).value,
        Value::Py2Str { interned: true, .. }
    ));
    assert!(
        matches!(s.node(kids[2]).value, Value::StringRef { index: 0, target } if target == kids[0])
    );
    assert_eq!(s.interned_strings(), [kids[0], kids[1]]);
    assert_eq!(s.write(), bytes);
    // At marshal version 0 there is no interning: plain `s` strings.
    let (bytes, _) = sample("2.7", "(intern('a'), intern('b'), intern('a'), 'a')", 0);
    let s = read(&bytes, &ReadOptions::new(version("2.7"))).unwrap();
    assert!(s.interned_strings().is_empty());
}
