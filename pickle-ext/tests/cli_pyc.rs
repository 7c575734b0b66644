//! The `brine pyc` command-line contract, on committed fixtures: exit codes, the error line,
//! the JSON document shape, round trips of `.pyc` files and raw marshal streams.
#![cfg(feature = "cli")]

use brine_pickle_ext::json::Json;
use std::path::PathBuf;
use std::process::{Command, Output};

fn fixture(rel: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_path_buf();
    root.join("tests/fixtures/marshal").join(rel)
}

fn brine(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_brine"))
        .args(args)
        .output()
        .expect("run brine")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn tmp(name: &str, data: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("brine-cli-pyc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let p = dir.join(name);
    std::fs::write(&p, data).expect("write tmp");
    p
}

#[test]
fn json_is_one_document_per_file_with_the_documented_keys() {
    let a = fixture("3.11/closures.pyc");
    let b = fixture("2.7/numbers.pyc");
    let out = brine(&["pyc", "--json", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let docs: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is a JSON document"))
        .collect();
    assert_eq!(docs.len(), 2);
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    for d in &docs {
        assert_eq!(
            keys(d),
            [
                "code",
                "flags",
                "magic",
                "mtime",
                "python",
                "source_hash",
                "source_size"
            ]
        );
    }
    assert_eq!(docs[0]["python"], "3.11");
    assert_eq!(docs[0]["magic"], 3495);
    assert_eq!(docs[1]["python"], "2.7");
    assert!(docs[1]["source_size"].is_null());
    assert!(docs[0]["code"]["co_qualname"].is_string());
    assert!(docs[1]["code"].get("co_qualname").is_none());
    // Every CODE has its analysis; without it, the document equals CPython's view recorded
    // beside the fixture.
    let mut ours = docs[0].clone();
    // As many CODEs as the dis record has code objects.
    assert_eq!(strip_analysis(&mut ours), 19);
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("3.11/closures.json")).unwrap())
            .unwrap();
    assert_eq!(ours, expected);
    let mut ours = docs[1].clone();
    assert!(strip_analysis(&mut ours) >= 1);
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("2.7/numbers.json")).unwrap())
            .unwrap();
    assert_eq!(ours, expected);
}

/// Removes `"instructions"` and `"summary"` from every CODE (objects with `co_code`),
/// asserting each has both; returns how many CODEs there were.
fn strip_analysis(v: &mut serde_json::Value) -> usize {
    let mut n = 0;
    match v {
        serde_json::Value::Object(m) => {
            if m.contains_key("co_code") {
                assert!(m.remove("instructions").is_some_and(|i| i.is_array()));
                assert!(m.remove("summary").is_some_and(|s| s.is_object()));
                n += 1;
            }
            for x in m.values_mut() {
                n += strip_analysis(x);
            }
        }
        serde_json::Value::Array(a) => {
            for x in a {
                n += strip_analysis(x);
            }
        }
        _ => {}
    }
    n
}

/// The CODE at a PATH (`""`, `"i"`, `"p/i"`) below a CODE.
fn code_at<'j>(root: &'j Json, path: &str) -> &'j Json {
    let mut cur = root;
    for part in path.split('/').filter(|p| !p.is_empty()) {
        let i: usize = part.parse().unwrap();
        let Json::Array(consts) = &cur["co_consts"] else {
            panic!("no co_consts at {path}");
        };
        cur = &consts[i]["code"];
    }
    cur
}

#[test]
fn json_instructions_equal_dis_and_summaries_name_what_the_source_does() {
    let mut versions = 0;
    for entry in std::fs::read_dir(fixture("")).unwrap() {
        let dir = entry.unwrap().path();
        let ver = dir.file_name().unwrap().to_str().unwrap().to_string();
        let pyc = dir.join("basics.pyc");
        if !pyc.exists() {
            continue;
        }
        versions += 1;
        let out = brine(&["pyc", "--json", pyc.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "stderr: {}", text(&out.stderr));
        let doc = Json::parse(text(&out.stdout).trim()).expect("JSON document");
        let dis = Json::parse(&std::fs::read_to_string(dir.join("basics.dis.json")).unwrap())
            .expect("dis fixture");
        let Json::Array(records) = &dis["code_objects"] else {
            panic!("code_objects");
        };
        let mut compared = 0;
        for record in records {
            let path = record["path"].as_string().unwrap();
            let Json::Array(ours) = &code_at(&doc["code"], &path)["instructions"] else {
                panic!("{ver} {path:?}: no instructions");
            };
            let Json::Array(theirs) = &record["instructions"] else {
                panic!("{ver} {path:?}: no dis instructions");
            };
            assert_eq!(ours.len(), theirs.len(), "{ver} {path:?}");
            let mut line = Json::Null;
            for (o, t) in ours.iter().zip(theirs) {
                for key in ["offset", "opname", "arg", "argval"] {
                    assert_eq!(o[key], t[key], "{ver} {path:?} {key} at {:?}", t["offset"]);
                }
                // 3.13 records each instruction's line; before 3.10 it is the last line start.
                if t.get("line_number").is_some() {
                    assert_eq!(o["line"], t["line_number"], "{ver} {path:?}");
                } else if ver.as_str() < "3.10" {
                    if t["starts_line"] != Json::Null {
                        line = t["starts_line"].clone();
                    }
                    assert_eq!(o["line"], line, "{ver} {path:?}");
                }
                compared += 1;
            }
        }
        assert!(compared > 100, "{ver}: {compared} instructions");
        // basics.py: `import os` (line 2), `from sys import (argv, path as syspath)` (line 4),
        // `open(path)` in `with_and_try` (line 47), `sorted(kwargs)` in `plain`.
        let summary = &doc["code"]["summary"];
        let Json::Array(imports) = &summary["imports"] else {
            panic!("imports");
        };
        let module = |i: &Json| i["module"].as_string().unwrap_or_default();
        let os = imports
            .iter()
            .find(|i| module(i) == "os")
            .expect("import os");
        assert_eq!(os["line"], Json::Int(2), "{ver}");
        let sys = imports
            .iter()
            .find(|i| module(i) == "sys")
            .expect("import sys");
        assert_eq!(
            sys["fromlist"],
            Json::Array(vec![Json::str("argv"), Json::str("path")]),
            "{ver}"
        );
        let Json::Array(calls) = &summary["calls"] else {
            panic!("calls");
        };
        let callee = |c: &Json, name: &str| c["callee"].as_string().as_deref() == Some(name);
        let open = calls
            .iter()
            .find(|c| callee(c, "open"))
            .expect("open() call");
        assert_eq!(open["line"], Json::Int(47), "{ver}");
        assert_eq!(open["kind"], Json::str("builtin"));
        assert_eq!(
            open["code"].as_string().unwrap().rsplit('.').next(),
            Some("with_and_try")
        );
        assert!(calls.iter().any(|c| callee(c, "sorted")), "{ver}");
        let Json::Array(read) = &summary["globals_read"] else {
            panic!("globals_read");
        };
        assert!(read.contains(&Json::str("square")), "{ver}");
    }
    assert_eq!(versions, 9);
}

#[test]
fn hash_based_pyc_shows_the_hash_and_no_mtime() {
    let out = brine(&[
        "pyc",
        "--json",
        fixture("3.12/basics.hash-checked.pyc").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(doc["flags"], 3);
    assert!(doc["mtime"].is_null());
    assert_eq!(doc["source_hash"].as_str().map(str::len), Some(16));
}

#[test]
fn lone_surrogates_are_escaped_like_python_json() {
    let out = brine(&[
        "pyc",
        "--json",
        fixture("3.13/surrogates.pyc").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    assert!(stdout.is_ascii());
    assert!(stdout.contains(r#"{"str":"\udc80"}"#), "{stdout}");
}

#[test]
fn roundtrip_exit_codes() {
    for rel in [
        "2.7/closures.pyc",
        "3.6/strings.pyc",
        "3.10/classes.pyc",
        "3.13/py312_type_params.pyc",
    ] {
        let out = brine(&["pyc", "--roundtrip", fixture(rel).to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{rel}: {}", text(&out.stdout));
        assert!(text(&out.stdout).contains("round trip identical"));
    }
    // Dropping FLAG_REF from the root code object shifts every reference index by one: the
    // first reference then points at a slot not registered yet, which is a read error (2),
    // reported with its offset. (A mismatch, exit 1, cannot come from valid input with a
    // lossless writer; the offset report is unit-tested in `cli::pyc`.)
    let mut data = std::fs::read(fixture("3.10/classes.pyc")).unwrap();
    assert_eq!(data[16], 0xE3, "3.10 pycs start with a flagged `c`");
    data[16] = b'c';
    let p = tmp("unflagged.pyc", &data);
    let out = brine(&["pyc", "--roundtrip", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("invalid reference"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn unreadable_files_get_one_error_line_and_exit_2() {
    let data = std::fs::read(fixture("3.13/basics.pyc")).unwrap();
    let truncated = tmp("truncated.pyc", &data[..data.len() / 2]);
    let out = brine(&["pyc", truncated.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!("brine: {}: at byte ", truncated.display())),
        "{err}"
    );

    let missing = tmp("x", b"").with_file_name("does-not-exist.pyc");
    let out = brine(&["pyc", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("does-not-exist.pyc"));

    // A bad file among good ones: the good ones are still shown, the status is 2.
    let good = fixture("3.9/strings.pyc");
    let out = brine(&[
        "pyc",
        "--json",
        good.to_str().unwrap(),
        truncated.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stdout).lines().count(), 1);
}

#[test]
fn raw_marshal_streams() {
    let data = std::fs::read(fixture("3.8/containers.pyc")).unwrap();
    let raw = tmp("containers.marshal", &data[16..]);
    let out = brine(&[
        "pyc",
        "--marshal",
        "--python",
        "3.8",
        "--roundtrip",
        raw.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = brine(&[
        "pyc",
        "--marshal",
        "--python",
        "3.8",
        "--json",
        raw.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(doc["python"], "3.8");
    assert!(doc["value"]["code"]["co_consts"].is_array());
    // A code object at the root gets its analysis too.
    let ins = doc["value"]["code"]["instructions"].as_array().unwrap();
    assert_eq!(ins[0]["offset"], 0);
    assert!(doc["value"]["code"]["summary"]["calls"].is_array());
    // Trailing bytes after the object are an error.
    let mut extra = data[16..].to_vec();
    extra.push(b'N');
    let raw = tmp("extra.marshal", &extra);
    let out = brine(&["pyc", "--marshal", "--python", "3.8", raw.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn tree_view_lists_header_and_nested_code() {
    let out = brine(&["pyc", fixture("3.12/closures.pyc").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let s = text(&out.stdout);
    assert!(
        s.contains("Python 3.12 pyc, magic 3531, flags 0, mtime 0"),
        "{s}"
    );
    assert!(
        s.contains("code 'outer.<locals>.inner.<locals>.innermost'"),
        "{s}"
    );
    assert!(
        s.contains("co_freevars: ('alpha', 'beta', 'gamma', 'kw', 'zeta')"),
        "{s}"
    );
}

#[test]
fn dis_lists_every_code_object() {
    let out = brine(&[
        "pyc",
        "--dis",
        fixture("3.12/closures.pyc").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("Disassembly of <code object innermost"), "{s}");
    assert!(
        s.contains("RETURN_VALUE") || s.contains("RETURN_CONST"),
        "{s}"
    );
    let out = brine(&[
        "pyc",
        "--dis",
        "--json",
        fixture("3.12/closures.pyc").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
}
