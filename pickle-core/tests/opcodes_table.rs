//! The opcode table against CPython's pickletools: the committed JSON (generated from 3.11.7)
//! and, when interpreters are installed, live `pickletools.opcodes` of every Python 3.

use brine_pickle_core::opcodes::{Opcode, ALL_OPCODES};

/// `check_doc`: compare the annotate docs too (they are 3.13's; older versions differ in a
/// few words, e.g. 3.8's LONG4 says "found-byte length").
fn check_against(json: &serde_json::Value, source: &str, check_doc: bool) {
    let ops = json["opcodes"].as_array().expect("opcodes array");
    assert_eq!(ops.len(), 68, "{source}");
    for o in ops {
        let code = o["code"].as_u64().unwrap() as u8;
        let op = Opcode::from_byte(code).unwrap_or_else(|| panic!("{source}: {code:#x} missing"));
        assert_eq!(op.name(), o["name"].as_str().unwrap(), "{source}");
        assert_eq!(
            op.proto() as u64,
            o["proto"].as_u64().unwrap(),
            "{source} {op}"
        );
        assert_eq!(
            op.arg_kind().map(|k| k.name()),
            o["arg"].as_str(),
            "{source} {op}"
        );
        let names = |v: &serde_json::Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect()
        };
        let ours = |s: &[brine_pickle_core::StackKind]| -> Vec<String> {
            s.iter().map(|k| k.name().to_string()).collect()
        };
        assert_eq!(
            ours(op.stack_before()),
            names(&o["stack_before"]),
            "{source} {op}"
        );
        assert_eq!(
            ours(op.stack_after()),
            names(&o["stack_after"]),
            "{source} {op}"
        );
        if let (true, Some(doc)) = (check_doc, o.get("doc")) {
            assert_eq!(op.doc(), doc.as_str().unwrap(), "{source} {op}");
        }
    }
    assert_eq!(ALL_OPCODES.len(), 68);
}

#[test]
fn opcodes_match_committed_json() {
    let text = include_str!("data/opcodes.json");
    check_against(
        &serde_json::from_str(text).unwrap(),
        "opcodes.json (3.11.7)",
        true,
    );
}

const DUMP: &str = r#"
import json, pickletools
print(json.dumps({"opcodes": [dict(name=o.name, code=ord(o.code), proto=o.proto,
    arg=o.arg.name if o.arg else None, stack_before=[s.name for s in o.stack_before],
    stack_after=[s.name for s in o.stack_after], doc=o.doc.split("\n", 1)[0])
    for o in pickletools.opcodes]}))
"#;

#[test]
fn opcodes_match_live_pickletools() {
    let pythons: Vec<_> = brine_tests::interpreters()
        .into_iter()
        .filter(|i| i.version >= (3, 8))
        .collect();
    if pythons.is_empty() {
        brine_tests::skip_live("opcodes_match_live_pickletools", "no CPython 3.8+ found");
        return;
    }
    for py in pythons {
        let out = py
            .command()
            .arg("-c")
            .arg(DUMP)
            .output()
            .expect("run python");
        assert!(out.status.success());
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        check_against(&json, &py.full_version, py.version == (3, 13));
    }
}
