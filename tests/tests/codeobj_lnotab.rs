//! `LineTable::to_lnotab` (3.10+, where CPython derives `co_lnotab` from the line table)
//! against the `co_lnotab` CPython reported for every code object of every `.pyc` fixture of
//! 3.10–3.13 (the `<name>.json` views recorded by `cargo xtask fixtures`).

use brine_codeobj::linetable::{LineTable, LineTableFormat};
use brine_pickle_ext::json::Json;
use brine_tests::fixtures_dir;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

/// Every CODE (an object with `co_linetable`) in a view, depth first.
fn codes<'j>(v: &'j Json, out: &mut Vec<&'j Json>) {
    match v {
        Json::Object(fields) => {
            if v.get("co_linetable").is_some() {
                out.push(v);
            }
            for (_, x) in fields {
                codes(x, out);
            }
        }
        Json::Array(items) => items.iter().for_each(|x| codes(x, out)),
        _ => {}
    }
}

#[test]
fn derived_lnotab_equals_cpythons() {
    let mut checked = 0;
    let mut nonempty = 0;
    for (ver, minor) in [("3.10", 10u8), ("3.11", 11), ("3.12", 12), ("3.13", 13)] {
        let dir = fixtures_dir().join("marshal").join(ver);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("fixture folder")
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let name = p.file_name().unwrap().to_string_lossy();
                name.ends_with(".json")
                    && !name.ends_with(".dis.json")
                    && name != "manifest.json"
                    && name != "values.json"
            })
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{ver}");
        let format = LineTableFormat::for_version(3, minor);
        for f in files {
            let doc = Json::parse(&std::fs::read_to_string(&f).unwrap()).expect("view");
            let mut found = Vec::new();
            codes(&doc["code"], &mut found);
            for code in found {
                let table = unhex(&code["co_linetable"].as_string().unwrap());
                let first = code["co_firstlineno"].as_i64().unwrap() as i32;
                let want = unhex(&code["co_lnotab"].as_string().unwrap());
                let got = LineTable::new(format, &table, first)
                    .to_lnotab()
                    .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
                assert_eq!(
                    got,
                    want,
                    "{} {:?}",
                    f.display(),
                    code["co_qualname"]
                        .as_string()
                        .or(code["co_name"].as_string())
                );
                checked += 1;
                nonempty += usize::from(!want.is_empty());
            }
        }
    }
    assert!(checked > 400, "{checked} code objects");
    assert!(nonempty > 300, "{nonempty} non-empty lnotabs");
}
