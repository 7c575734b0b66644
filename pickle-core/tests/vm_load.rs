//! The symbolic loader: robustness (deep nesting, memo bombs), multi-pickle streams, and the
//! loaded graph against live CPython 3.13 (`repr(pickle.loads(data))`, skipped without it).

use brine_pickle_core::pyrepr::repr_node;
use brine_pickle_core::{loads, loads_all, loads_with, LoadOptions, NodeKind, Py2Encoding};
use std::process::Stdio;

#[test]
fn million_deep_list_loads_and_drops_without_recursion() {
    let depth = 1_000_000;
    let mut data = b"\x80\x02".to_vec();
    data.extend(std::iter::repeat_n(b']', depth));
    data.extend(std::iter::repeat_n(b'a', depth - 1));
    data.push(b'.');
    let g = loads(&data).unwrap();
    assert_eq!(g.len(), depth);
    // Walk down iteratively to check the shape.
    let mut id = g.root();
    let mut n = 1;
    while let Some(&[child]) = g.items(id) {
        id = child;
        n += 1;
    }
    assert_eq!(n, depth);
    assert!(repr_node(&g, g.root(), 50).contains("..."));
    drop(g);
    // Same with MARK ... TUPLE nesting (a million open marks).
    let mut data = b"".to_vec();
    data.extend(std::iter::repeat_n(b'(', depth));
    data.extend(std::iter::repeat_n(b't', depth));
    data.push(b'.');
    let g = loads(&data).unwrap();
    assert_eq!(g.len(), depth);
}

#[test]
fn memo_bomb_shares_nodes() {
    // x = []; then 200 times: x = (x, x) through BINGET/TUPLE2/BINPUT: 2^200 leaves if copied.
    let mut data = b"\x80\x02]q\x00".to_vec();
    for _ in 0..200 {
        data.extend_from_slice(b"h\x00h\x00\x86q\x00");
    }
    data.push(b'.');
    let g = loads(&data).unwrap();
    assert_eq!(g.len(), 201);
    let root = g.root();
    let items = g.items(root).unwrap();
    assert_eq!(items[0], items[1], "shared, not copied");
}

#[test]
fn cycles_are_preserved() {
    // l = []; l.append(l); pickle.dumps(l, 4) == b'\x80\x04]\x94h\x00a.' (CPython 3.13).
    let g = loads(b"\x80\x04]\x94h\x00a.").unwrap();
    let root = g.root();
    assert_eq!(g.items(root).unwrap(), &[root]);
    assert_eq!(repr_node(&g, root, 10), "[[...]]");
}

#[test]
fn several_pickles_share_the_memo() {
    // p = pickle.Pickler(f, 4); x = ['shared']; p.dump(x); p.dump(x) (CPython 3.13).
    let data = b"\x80\x04\x95\r\x00\x00\x00\x00\x00\x00\x00]\x94\x8c\x06shared\x94a.\x80\x04h\x00.";
    let g = loads_all(data, &LoadOptions::default()).unwrap();
    assert_eq!(g.pickles.len(), 2);
    assert_eq!(g.pickles[0].root, g.pickles[1].root);
    assert_eq!(g.pickles[1].start, g.pickles[0].end);
    // A lone second pickle fails: its memo key was never stored.
    assert!(loads(b"\x80\x04h\x00.").is_err());
}

#[test]
fn symbolic_objects_record_mutations() {
    // pickle.dumps(collections.OrderedDict(a=1), 2) (CPython 3.13).
    let data = b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01X\x01\x00\x00\x00aq\x02K\x01s.";
    let g = loads(data).unwrap();
    let root = g.root();
    match g.kind(root) {
        NodeKind::Object(o) => match g.kind(o.callable) {
            NodeKind::Global(gl) => assert_eq!(
                (gl.module.as_str(), gl.name.as_str()),
                ("collections", "OrderedDict")
            ),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    assert_eq!(g.mutations(root).count(), 1);
}

#[test]
fn py2_names_are_mapped_below_protocol_3() {
    let g = loads(b"\x80\x02c__builtin__\nxrange\n.").unwrap();
    match g.kind(g.root()) {
        NodeKind::Global(gl) => {
            assert_eq!(gl.resolved_module, "builtins");
            assert_eq!(gl.resolved_name, "range");
        }
        other => panic!("{other:?}"),
    }
    let opts = LoadOptions {
        fix_imports: false,
        ..LoadOptions::default()
    };
    match loads_with(b"\x80\x02c__builtin__\nxrange\n.", &opts)
        .unwrap()
        .kind(brine_pickle_core::NodeId::from_index(0))
    {
        NodeKind::Global(gl) => assert_eq!(gl.resolved_module, "__builtin__"),
        other => panic!("{other:?}"),
    }
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn graphs_match_live_cpython_313() {
    let Some(py) = brine_tests::interpreters()
        .into_iter()
        .find(|i| i.version == (3, 13))
    else {
        brine_tests::skip_live("graphs_match_live_cpython_313", "CPython 3.13 not found");
        return;
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/load_cases.py");
    let out = py
        .command()
        .arg(script)
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(out.status.success());
    let cases: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut compared = 0;
    let mut failures = Vec::new();
    for case in cases.as_array().unwrap() {
        let data = hex_decode(case["hex"].as_str().unwrap());
        for (key, enc) in [
            ("ASCII", Py2Encoding::Ascii),
            ("latin1", Py2Encoding::Latin1),
            ("bytes", Py2Encoding::Bytes),
        ] {
            let want = &case[key];
            let opts = LoadOptions {
                encoding: enc,
                ..LoadOptions::default()
            };
            let got = loads_with(&data, &opts);
            if got.is_ok() != want["ok"].as_bool().unwrap() {
                failures.push(format!(
                    "{} [{key}]: verdict {:?} vs {want}",
                    case["hex"],
                    got.err()
                ));
                continue;
            }
            if let Ok(g) = got {
                let ours = repr_node(&g, g.root(), 10_000);
                if ours.contains('<') {
                    continue; // symbolic objects: CPython's repr is not reproducible
                }
                compared += 1;
                if ours != want["repr"].as_str().unwrap() {
                    failures.push(format!(
                        "{} [{key}]: {ours} vs {}",
                        case["hex"], want["repr"]
                    ));
                }
            }
        }
    }
    println!("{compared} plain-data graphs compared with CPython 3.13");
    assert!(compared > 300);
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn extension_registry() {
    // copyreg.add_extension('collections', 'OrderedDict', 240);
    // pickle.dumps([OrderedDict, OrderedDict], 2) on CPython 3.11.
    let data = b"\x80\x02]q\x00(\x82\xf0\x82\xf0e.";
    // A bare CPython has an empty registry: "unregistered extension code 240".
    assert!(loads_with(data, &LoadOptions::bare_cpython(3, 11)).is_err());
    let opts = LoadOptions {
        extensions: vec![(240, "collections".into(), "OrderedDict".into())],
        ..LoadOptions::bare_cpython(3, 11)
    };
    let g = loads_with(data, &opts).unwrap();
    let items = g.items(g.root()).unwrap();
    assert_eq!(
        items[0], items[1],
        "one object per code, as CPython caches it"
    );
    match g.kind(items[0]) {
        NodeKind::Ext {
            code: 240,
            resolved: Some(r),
        } => match g.kind(*r) {
            NodeKind::Global(gl) => assert_eq!(gl.name, "OrderedDict"),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    // The symbolic environment accepts unknown codes.
    assert!(loads(data).is_ok());
}

#[test]
fn int_text_digit_limit_of_311() {
    // CPython 3.11: b'I' + b'1'*5000 + b'\n.' -> ValueError; b'L' + b'1'*4300 + b'L\n.' loads.
    let mut long_int = b"I".to_vec();
    long_int.extend(std::iter::repeat_n(b'1', 5000));
    long_int.extend_from_slice(b"\n.");
    assert!(loads_with(&long_int, &LoadOptions::bare_cpython(3, 11)).is_err());
    assert!(loads(&long_int).is_ok(), "no digit limit by default");
    let mut ok = b"L".to_vec();
    ok.extend(std::iter::repeat_n(b'1', 4300));
    ok.extend_from_slice(b"L\n.");
    assert!(loads_with(&ok, &LoadOptions::bare_cpython(3, 11)).is_ok());
}

#[test]
fn hashability_checks_stay_linear() {
    // t0 = (); t_i = (t_{i-1}, t_{i-1}) for 60 levels (2^60 paths), then used as a dict key
    // 1000 times, then a list inside a tuple key must still be rejected.
    let mut data = b"\x80\x02)q\x00".to_vec();
    for _ in 0..60 {
        data.extend_from_slice(b"h\x00h\x00\x86q\x00");
    }
    data.extend_from_slice(b"}q\x01");
    for _ in 0..1000 {
        data.extend_from_slice(b"h\x00N");
        data.push(b's');
    }
    data.push(b'.');
    let g = loads(&data).unwrap();
    assert_eq!(g.dict_pairs(g.root()).unwrap().len(), 1000);
    // {([],): None} -> TypeError: unhashable type: 'list' (CPython 3.13).
    let bad = b"\x80\x02}]\x85Ns.";
    let err = loads(bad).unwrap_err();
    assert_eq!(err.cpython_exception(), "TypeError");
}

#[test]
fn c_unpickler_error_classes() {
    // Measured on CPython 3.11.7 (pickle.loads):
    let cases: [(&[u8], &str); 3] = [
        // FRAME length above PY_SSIZE_T_MAX
        (
            b"\x80\x04\x95\xff\xff\xff\xff\xff\xff\xff\xffN.",
            "OverflowError",
        ),
        // INST decodes its lines as ASCII
        (b"(i\xc3\xa9\nfoo\n.", "UnicodeDecodeError"),
        // INST looks for the mark before it reads (and imports) its lines
        (b"ino\nmod\n.", "UnpicklingError"),
    ];
    for (data, exc) in cases {
        let err = loads_with(data, &LoadOptions::bare_cpython(3, 11)).unwrap_err();
        assert_eq!(err.cpython_exception(), exc, "{data:?}: {err}");
    }
}
