//! Live: values built in Rust and written with [`brine_marshal::dumps`] for each installed
//! interpreter and every marshal version it supports must load, in that interpreter, into an
//! object equal to (and of the same type as) the value the expected Python expression builds.
//! Also re-dumps real stdlib code objects and checks the interpreter loads them equal to its
//! own. Skips (printing a line) when no interpreter is installed.

mod common;

use brine_marshal::{dumps, DumpOptions, Object, PyVersion, Pyc};
use common::hex;
use num_bigint::BigInt;
use std::io::Write;
use std::process::Stdio;

/// Loads each `hex` with marshal and compares with `eval(expr)`; prints one line per failure.
const CHECK: &str = r#"
import binascii, json, marshal, sys
fails = []
cases = json.loads(sys.stdin.read())
for c in cases:
    data = binascii.unhexlify(c["hex"])
    try:
        got = marshal.loads(data)
    except Exception as e:
        fails.append("%s: load failed: %r" % (c["name"], e))
        continue
    if c["expr"].startswith("CODE:"):
        with open(c["expr"][5:], "rb") as f:
            raw = f.read()
        want = marshal.loads(raw[int(c["skip"]):])
    else:
        want = eval(c["expr"])
    same = type(got) is type(want) and (got == want or (got != got and want != want))
    # Equal is not enough for floats (0.0 == -0.0): the repr must match too.
    if not c["expr"].startswith("CODE:") and repr(got) != repr(want):
        same = False
    if not same:
        fails.append("%s: got %r (%s), want %r (%s)" % (c["name"], got, type(got).__name__, want, type(want).__name__))
sys.stdout.write(json.dumps(fails))
"#;

fn big(s: &str) -> BigInt {
    s.parse().unwrap()
}

/// (name, value, Python 3 expression, Python 2 expression).
fn cases() -> Vec<(&'static str, Object, &'static str, &'static str)> {
    let s = Object::str;
    vec![
        ("none", Object::None, "None", "None"),
        ("true", Object::Bool(true), "True", "True"),
        (
            "stopiter",
            Object::StopIteration,
            "StopIteration",
            "StopIteration",
        ),
        ("ellipsis", Object::Ellipsis, "Ellipsis", "Ellipsis"),
        ("int", Object::int(-7), "-7", "-7"),
        ("int32max", Object::int(i32::MAX), "2**31-1", "2**31-1"),
        ("int64", Object::int(1i64 << 40), "2**40", "2**40"),
        (
            "neg_big",
            Object::Int(big("-1267650600228229401496703205376")),
            "-2**100",
            "-2**100",
        ),
        ("py2long", Object::Py2Long(BigInt::from(1)), "1", "1L"),
        ("float", Object::Float(0.1), "0.1", "0.1"),
        ("negzero", Object::Float(-0.0), "-0.0", "-0.0"),
        (
            "inf",
            Object::Float(f64::INFINITY),
            "float('inf')",
            "float('inf')",
        ),
        (
            "nan",
            Object::Float(f64::NAN),
            "float('nan')",
            "float('nan')",
        ),
        ("tiny", Object::Float(5e-324), "5e-324", "5e-324"),
        (
            "complex",
            Object::Complex(1.5, -1e300),
            "complex(1.5, -1e300)",
            "complex(1.5, -1e300)",
        ),
        (
            "bytes",
            Object::bytes(b"a\x00\xff"),
            "b'a\\x00\\xff'",
            "'a\\x00\\xff'",
        ),
        ("str", s("hello"), "'hello'", "u'hello'"),
        ("str_long", s(&"x".repeat(300)), "'x' * 300", "u'x' * 300"),
        ("str_latin1", s("caf\u{e9}"), "'caf\\xe9'", "u'caf\\xe9'"),
        (
            "str_astral",
            s("\u{1F600}"),
            "'\\U0001f600'",
            "u'\\U0001f600'",
        ),
        (
            "surrogates",
            Object::str_from_code_points(&[0x61, 0xDCFF, 0xD800], false),
            "'a\\udcff\\ud800'",
            "u'a\\udcff\\ud800'",
        ),
        (
            "interned",
            Object::interned_str("name"),
            "'name'",
            "u'name'",
        ),
        (
            "py2_interned",
            Object::Tuple(vec![
                Object::Py2Str {
                    data: b"ab".to_vec(),
                    interned: true,
                },
                Object::Py2Str {
                    data: b"ab".to_vec(),
                    interned: true,
                },
            ]),
            "(b'ab', b'ab')",
            "('ab', 'ab')",
        ),
        ("empty_tuple", Object::Tuple(vec![]), "()", "()"),
        (
            "tuple_300",
            Object::Tuple((0..300).map(Object::int).collect()),
            "tuple(range(300))",
            "tuple(range(300))",
        ),
        (
            "nested",
            Object::List(vec![
                Object::Tuple(vec![Object::int(1), s("a")]),
                Object::List(vec![]),
            ]),
            "[(1, 'a'), []]",
            "[(1, u'a'), []]",
        ),
        (
            "dict",
            Object::Dict(vec![
                (s("k"), Object::int(1)),
                (Object::int(2), Object::None),
            ]),
            "{'k': 1, 2: None}",
            "{u'k': 1, 2: None}",
        ),
        (
            "frozenset",
            Object::FrozenSet(vec![Object::int(3), s("b"), Object::int(1)]),
            "frozenset([3, 'b', 1])",
            "frozenset([3, u'b', 1])",
        ),
        (
            "set",
            Object::Set(vec![Object::int(9)]),
            "set([9])",
            "set([9])",
        ),
    ]
}

fn marshal_versions(v: PyVersion) -> std::ops::RangeInclusive<u8> {
    0..=v.marshal_version()
}

#[test]
fn interpreters_load_our_values() {
    let interps = brine_tests::interpreters();
    if interps.is_empty() {
        brine_tests::skip_live(
            "interpreters_load_our_values",
            "no CPython interpreter found",
        );
        return;
    }
    let mut failures = Vec::new();
    for interp in &interps {
        let v = PyVersion::new(interp.version.0, interp.version.1);
        let mut payload = Vec::new();
        for mv in marshal_versions(v) {
            let opts = DumpOptions::new(v).with_marshal_version(mv);
            for (name, obj, expr3, expr2) in cases() {
                let bytes = dumps(&obj, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
                payload.push(serde_json::json!({
                    "name": format!("{} v{mv} {name}", interp.label()),
                    "hex": hex(&bytes),
                    "expr": if v.is_py2() { expr2 } else { expr3 },
                }));
            }
        }
        // Real code objects, rebuilt from our reading and written by our writer.
        for (path, skip) in stdlib_sample(interp, 12) {
            let data = std::fs::read(&path).unwrap();
            let pyc = Pyc::parse(&data).unwrap();
            let obj = Object::from_stream(&pyc.stream, pyc.stream.root(), 10_000_000).unwrap();
            for mv in [v.marshal_version(), 2] {
                let bytes = dumps(&obj, &DumpOptions::new(v).with_marshal_version(mv)).unwrap();
                payload.push(serde_json::json!({
                    "name": format!("{} v{mv} {}", interp.label(), path.display()),
                    "hex": hex(&bytes),
                    "expr": format!("CODE:{}", path.display()),
                    "skip": skip,
                }));
            }
        }
        let n = payload.len();
        let mut child = interp
            .command()
            .arg("-c")
            .arg(CHECK)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(serde_json::to_string(&payload).unwrap().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}: checker failed", interp.label());
        let fails: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
        println!(
            "{}: {} values checked, {} failures",
            interp.label(),
            n,
            fails.len()
        );
        failures.extend(fails);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A few `.pyc` files of the interpreter's standard library (path, header length).
fn stdlib_sample(
    interp: &brine_tests::Interpreter,
    count: usize,
) -> Vec<(std::path::PathBuf, usize)> {
    let out = interp
        .command()
        .arg("-c")
        .arg("import sys, sysconfig; sys.stdout.write(sysconfig.get_paths()['stdlib'])")
        .output()
        .unwrap();
    let root = std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).to_string());
    let mut found = Vec::new();
    for name in [
        "abc",
        "os",
        "functools",
        "json/decoder",
        "collections/__init__",
        "re",
        "string",
        "typing",
        "dataclasses",
        "enum",
        "inspect",
        "argparse",
    ] {
        let src = root.join(format!("{name}.py"));
        let Some(dir) = src.parent() else { continue };
        let stem = src.file_stem().unwrap().to_string_lossy().to_string();
        let candidates = std::fs::read_dir(dir.join("__pycache__"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let f = p.file_name().unwrap().to_string_lossy().to_string();
                f.starts_with(&format!(
                    "{stem}.cpython-{}{}.",
                    interp.version.0, interp.version.1
                )) && f.ends_with(".pyc")
            })
            .chain(std::iter::once(dir.join(format!("{stem}.pyc"))).filter(|p| p.is_file()));
        for p in candidates.take(1) {
            let data = std::fs::read(&p).unwrap();
            if let Ok(pyc) = Pyc::parse(&data) {
                if pyc.header.version == PyVersion::new(interp.version.0, interp.version.1) {
                    found.push((p, pyc.header.len()));
                }
            }
        }
        if found.len() >= count {
            break;
        }
    }
    found
}
