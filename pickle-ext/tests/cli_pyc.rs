//! The `brine pyc` command-line contract, on committed fixtures: exit codes, the error line,
//! the JSON document shape, round trips of `.pyc` files and raw marshal streams.
#![cfg(feature = "cli")]

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
    // The document equals CPython's view recorded beside the fixture.
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("3.11/closures.json")).unwrap())
            .unwrap();
    assert_eq!(docs[0], expected);
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
