//! `dis` text against live `pickletools.dis` of CPython 3.13 (skipped without it): a corpus
//! pickled at every protocol by both picklers, plus malformed streams.

use brine_pickle_core::dis::{dis, DisOptions};
use std::io::Write;
use std::process::Stdio;

fn extra_streams() -> Vec<String> {
    let json: serde_json::Value =
        serde_json::from_str(include_str!("data/unpickler_errors_cpython311.json")).unwrap();
    let mut hexes: Vec<String> = json["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["hex"].as_str().unwrap().to_string())
        .collect();
    // Hand-made streams exercising dis' own checks and genops' argument readers.
    for raw in [
        &b"S'abc'\n."[..],
        b"S'caf\\xc3\\xa9'\n.",
        b"S\"a'b\"\n.",
        b"S'abc\n.",
        b"U\x04caf\xe9.",
        b"T\x03\x00\x00\x00abc.",
        b"(K\x01K\x02l.",
        b"(K\x01K\x02t(tp0\np0\n.",
        b"K\x01p0\nK\x02p0\n.",
        b"g3\n.",
        b"(p0\n.",
        b"K\x01K\x020.",
        b"(K\x01\x86t.",
        b"]q\x01(K\x01e(K\x02e.",
        b"I01\nI00\nI-5\n\x86.",
        b"L123L\nF1.5\n\x86.",
        b"Vab\\u20ac\\x\n.",
        b"Va\\u12\n.",
        b"c__builtin__\nset\n.",
        b"\x80\x04\x94.",
        b"\x80\x05\x96\x02\x00\x00\x00\x00\x00\x00\x00ab.",
        b"\x8a\x09\xff\xff\xff\xff\xff\xff\xff\xff\x7f.",
        b"X\x02\x00\x00\x00\xc3\x28.",
        b"\x8c\x03\xed\xa0\x41.",
    ] {
        hexes.push(raw.iter().map(|b| format!("{b:02x}")).collect());
    }
    hexes
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn dis_matches_live_pickletools_313() {
    let Some(py) = brine_tests::interpreters()
        .into_iter()
        .find(|i| i.version == (3, 13))
    else {
        brine_tests::skip_live("dis_matches_live_pickletools_313", "CPython 3.13 not found");
        return;
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/dis_cases.py");
    let mut child = py
        .command()
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn python");
    let input = serde_json::to_vec(&extra_streams()).unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "oracle script failed");
    let cases: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut failures = Vec::new();
    let cases = cases.as_array().unwrap();
    for case in cases {
        let data = hex_decode(case["hex"].as_str().unwrap());
        for (key, opts) in [
            ("default", DisOptions::default()),
            (
                "annotate30",
                DisOptions {
                    indentlevel: 4,
                    annotate: 30,
                },
            ),
            (
                "indent2",
                DisOptions {
                    indentlevel: 2,
                    annotate: 0,
                },
            ),
        ] {
            let want = &case[key];
            let got = dis(&data, &opts);
            let ok = got.text == want["text"].as_str().unwrap()
                && got.error.as_ref().map(|e| e.exception.as_str()) == want["exc"].as_str()
                && got.error.as_ref().map(|e| e.message.as_str()) == want["msg"].as_str();
            if !ok {
                failures.push(format!(
                    "{} [{key}]\n--- want ({:?}: {:?})\n{}--- got ({:?})\n{}",
                    case["hex"].as_str().unwrap(),
                    want["exc"],
                    want["msg"],
                    want["text"].as_str().unwrap(),
                    got.error,
                    got.text
                ));
            }
        }
    }
    println!("{} streams x 3 option sets compared", cases.len());
    assert!(
        failures.is_empty(),
        "{} mismatches; first ones:\n{}",
        failures.len(),
        failures
            .iter()
            .take(4)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
