//! `SETITEM`/`SETITEMS` on lists and bytearrays against live CPython 3.11 and 3.13 C
//! unpicklers (skipped without them): the verdict (exception class and message) and, when
//! accepted, the resulting items are CPython's.

use brine_pickle_core::{loads_with, LoadOptions, NodeKind};
use std::io::Write;
use std::process::Stdio;

/// `list [1, 2]` and `bytearray b'ab'` prefixes, then a key, a value and SETITEM(S).
fn cases() -> Vec<(&'static str, Vec<u8>)> {
    let list: &[u8] = b"\x80\x02](K\x01K\x02e";
    let ba: &[u8] = b"\x80\x05\x96\x02\x00\x00\x00\x00\x00\x00\x00ab";
    let bigint: &[u8] = b"\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01";
    let minus1: &[u8] = b"J\xff\xff\xff\xff";
    let s = |a: &[u8], b: &[&[u8]]| {
        let mut v = a.to_vec();
        for x in b {
            v.extend_from_slice(x);
        }
        v
    };
    vec![
        ("list k=0", s(list, &[b"K\x00K\x09s."])),
        ("list k=-1", s(list, &[minus1, b"K\x09s."])),
        ("list k=-3", s(list, &[b"J\xfd\xff\xff\xffK\x09s."])),
        ("list k=2", s(list, &[b"K\x02K\x09s."])),
        ("list k=True", s(list, &[b"\x88K\x09s."])),
        ("list k=str", s(list, &[b"X\x01\x00\x00\x00aK\x09s."])),
        (
            "list k=float",
            s(list, &[b"G?\xf0\x00\x00\x00\x00\x00\x00K\x09s."]),
        ),
        ("list k=None", s(list, &[b"NK\x09s."])),
        ("list k=bigint", s(list, &[bigint, b"K\x09s."])),
        ("list setitems", s(list, &[b"(K\x00K\x07K\x01K\x08u."])),
        ("list setitems oob", s(list, &[b"(K\x00K\x07K\x05K\x08u."])),
        ("list self", s(list, &[b"\x94K\x00h\x00s."])),
        ("empty list", b"\x80\x02]K\x00K\x09s.".to_vec()),
        ("ba k=0", s(ba, &[b"K\x00K\x41s."])),
        ("ba k=-1", s(ba, &[minus1, b"K\x41s."])),
        ("ba v=True", s(ba, &[b"K\x00\x88s."])),
        ("ba v=256", s(ba, &[b"K\x00M\x00\x01s."])),
        ("ba v=-1", s(ba, &[b"K\x00", minus1, b"s."])),
        ("ba v=str", s(ba, &[b"K\x00X\x01\x00\x00\x00as."])),
        (
            "ba v=float",
            s(ba, &[b"K\x00G?\xf0\x00\x00\x00\x00\x00\x00s."]),
        ),
        ("ba v=None", s(ba, &[b"K\x00Ns."])),
        ("ba v=bigint", s(ba, &[b"K\x00", bigint, b"s."])),
        ("ba k=5", s(ba, &[b"K\x05K\x41s."])),
        ("ba k=5 v=256", s(ba, &[b"K\x05M\x00\x01s."])),
        ("ba k=5 v=str", s(ba, &[b"K\x05X\x01\x00\x00\x00as."])),
        ("ba k=str v=256", s(ba, &[b"X\x01\x00\x00\x00aM\x00\x01s."])),
        ("ba k=bigint", s(ba, &[bigint, b"K\x01s."])),
        ("ba setitems", s(ba, &[b"(K\x00K\x41K\x01K\x42u."])),
    ]
}

/// Python: one line per stream, `OK <items>` or `ERR <class>: <message>`. Items of a list are
/// ints or `self`; a bytearray is its hex.
const PY: &str = r#"
import pickle, sys
for line in sys.stdin:
    data = bytes.fromhex(line.strip())
    try:
        r = pickle.loads(data)
    except Exception as e:
        print("ERR %s: %s" % (type(e).__name__, e))
        continue
    if isinstance(r, bytearray):
        print("OK " + r.hex())
    else:
        print("OK " + ",".join("self" if x is r else str(int(x)) for x in r))
"#;

fn ours(data: &[u8], options: &LoadOptions) -> String {
    match loads_with(data, options) {
        Err(e) => {
            let message = match &e.kind {
                brine_pickle_core::ErrorKind::Type { message, .. } => message.clone(),
                other => other.to_string(),
            };
            format!("ERR {}: {message}", e.cpython_exception())
        }
        Ok(g) => {
            let root = g.root();
            match g.kind(root) {
                NodeKind::ByteArray(_) => {
                    let b = g.as_bytes(root).unwrap();
                    format!(
                        "OK {}",
                        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
                    )
                }
                NodeKind::List(items) => {
                    let items: Vec<String> = items
                        .iter()
                        .map(|&i| {
                            if i == root {
                                "self".to_string()
                            } else {
                                g.as_i64(i)
                                    .or(g.as_bool(i).map(|b| b as i64))
                                    .map_or("?".to_string(), |v| v.to_string())
                            }
                        })
                        .collect();
                    format!("OK {}", items.join(","))
                }
                _ => "OK ?".to_string(),
            }
        }
    }
}

#[test]
fn list_and_bytearray_item_assignment_match_cpython() {
    let cases = cases();
    let mut checked = 0;
    for version in [(3, 11), (3, 13)] {
        let Some(py) = brine_tests::interpreters()
            .into_iter()
            .find(|i| i.version == version)
        else {
            brine_tests::skip_live(
                "list_and_bytearray_item_assignment_match_cpython",
                &format!("CPython {}.{} not found", version.0, version.1),
            );
            continue;
        };
        let mut child = py
            .command()
            .arg("-c")
            .arg(PY)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run python");
        {
            let mut stdin = child.stdin.take().unwrap();
            for (_, data) in &cases {
                let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
                writeln!(stdin, "{hex}").unwrap();
            }
        }
        let out = child.wait_with_output().expect("python output");
        let text = String::from_utf8(out.stdout).unwrap();
        let want: Vec<&str> = text.lines().collect();
        assert_eq!(want.len(), cases.len(), "python printed {text}");
        let options = LoadOptions::bare_cpython(version.0, version.1);
        let mut failures = Vec::new();
        for ((name, data), want) in cases.iter().zip(want) {
            let got = ours(data, &options);
            if got != want {
                failures.push(format!("{name}: CPython {want:?}, ours {got:?}"));
            }
            checked += 1;
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
    println!("item assignment: {checked} streams compared");
}
