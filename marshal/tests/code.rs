//! Code objects read with each version's layout: every field against the attributes the
//! interpreter itself reports for the same compiled module (`data/code.json`).

mod common;

use brine_marshal::{read, CodeLayout, ReadOptions};
use common::*;
use serde_json::Value as Json;

fn strs(v: Vec<brine_marshal::PyStr<'_>>) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn json_strs(j: &Json) -> Vec<String> {
    j.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn code_fields_match_the_interpreters_attributes() {
    let data = load_json("code.json");
    let mut checked = 0;
    for (label, entry) in data.as_object().unwrap() {
        let v = version(label);
        let bytes = unhex(entry["hex"].as_str().unwrap());
        let s = read(&bytes, &ReadOptions::new(v)).unwrap();
        assert_eq!(s.write(), bytes);
        assert_eq!(s.layout(), CodeLayout::for_version(v));
        let codes: Vec<_> = s.code_objects().collect();
        let expected = entry["codes"].as_array().unwrap();
        assert_eq!(
            codes.len(),
            expected.len(),
            "{label}: number of code objects"
        );
        for (c, e) in codes.iter().zip(expected) {
            let at = format!("{label} {}", e["co_name"]);
            assert_eq!(
                i64::from(c.argcount),
                e["co_argcount"].as_i64().unwrap(),
                "{at}"
            );
            assert_eq!(
                i64::from(c.stacksize),
                e["co_stacksize"].as_i64().unwrap(),
                "{at}"
            );
            assert_eq!(
                i64::from(c.flags_u32()),
                e["co_flags"].as_i64().unwrap(),
                "{at}"
            );
            assert_eq!(
                i64::from(c.firstlineno),
                e["co_firstlineno"].as_i64().unwrap(),
                "{at}"
            );
            assert_eq!(hex(c.code_bytes()), e["co_code"].as_str().unwrap(), "{at}");
            assert_eq!(strs(c.names()), json_strs(&e["co_names"]), "{at}");
            assert_eq!(
                c.filename().unwrap().to_string(),
                e["co_filename"].as_str().unwrap()
            );
            assert_eq!(
                c.name().unwrap().to_string(),
                e["co_name"].as_str().unwrap()
            );
            assert_eq!(
                c.consts().len() as u64,
                e["consts"].as_u64().unwrap(),
                "{at}"
            );
            let opt = |key: &str| e.get(key).map(|x| x.as_i64().unwrap() as i32);
            assert_eq!(c.kwonlyargcount, opt("co_kwonlyargcount"), "{at}");
            assert_eq!(c.posonlyargcount, opt("co_posonlyargcount"), "{at}");
            assert_eq!(c.nlocals, opt("co_nlocals"), "{at}");
            if let Some(vn) = e.get("co_varnames") {
                assert_eq!(strs(c.varnames()), json_strs(vn), "{at}");
                assert_eq!(strs(c.cellvars()), json_strs(&e["co_cellvars"]), "{at}");
                assert_eq!(strs(c.freevars()), json_strs(&e["co_freevars"]), "{at}");
            } else {
                // 3.11+: the free variables are the last names of localsplus.
                let lp = strs(c.localsplusnames());
                let free = json_strs(&e["co_freevars"]);
                assert!(lp.ends_with(&free), "{at}: {lp:?} / {free:?}");
                assert_eq!(c.localspluskinds_bytes().len(), lp.len());
            }
            let table = e.get("co_lnotab").or(e.get("co_linetable")).unwrap();
            assert_eq!(hex(c.linetable_bytes()), table.as_str().unwrap(), "{at}");
            if let Some(q) = e.get("co_qualname") {
                assert_eq!(
                    c.qualname().unwrap().to_string(),
                    q.as_str().unwrap(),
                    "{at}"
                );
                assert_eq!(
                    hex(c.exceptiontable_bytes()),
                    e["co_exceptiontable"].as_str().unwrap()
                );
            } else {
                assert!(c.qualname.is_none() && c.exceptiontable.is_none());
            }
            checked += 1;
        }
        // Nested code objects are reachable from their parent's constants.
        let root = s.root_code().unwrap();
        assert!(!root.nested_codes().is_empty());
    }
    assert!(checked >= 9 * 5, "{checked}");
}
