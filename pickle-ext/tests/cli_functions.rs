//! `brine show FILE --functions` on the committed extended-pickle fixtures: every expected
//! value comes from the fixture's `<sample>.facts.json` (what CPython reported about the
//! original function), never typed by hand.
#![cfg(feature = "cli")]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn ext_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .join("tests/fixtures/ext")
}

fn brine(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_brine"))
        .args(args)
        .output()
        .expect("run brine")
}

/// `(pkl path, facts)` of every fixture payload of `sample` that loaded in a fresh process.
fn payloads(sample: &str) -> Vec<(PathBuf, Value)> {
    let mut out = Vec::new();
    let Ok(pythons) = std::fs::read_dir(ext_dir()) else {
        return out;
    };
    let mut dirs: Vec<PathBuf> = pythons
        .flatten()
        .filter(|e| e.path().is_dir())
        .flat_map(|py| std::fs::read_dir(py.path()).into_iter().flatten().flatten())
        .map(|e| e.path())
        .collect();
    dirs.sort();
    for dir in dirs {
        let pkl = dir.join(format!("{sample}.pkl"));
        let facts = dir.join(format!("{sample}.facts.json"));
        let (Ok(_), Ok(text)) = (std::fs::metadata(&pkl), std::fs::read_to_string(&facts)) else {
            continue;
        };
        let facts: Value = serde_json::from_str(&text).expect("facts json");
        if facts["load"]["ok"] == Value::Bool(true) {
            out.push((pkl, facts));
        }
    }
    out
}

fn lost(facts: &Value, path: &str) -> bool {
    facts["reloaded_differs"]
        .as_array()
        .is_some_and(|d| d.iter().any(|e| e[0].as_str() == Some(path)))
}

/// Python's `repr` of a fixture VALUE, for the literals the samples use as defaults and cell
/// contents (`None` for anything else).
fn repr(v: &Value) -> Option<String> {
    if v.is_null() {
        return Some("None".into());
    }
    if let Some(b) = v.as_bool() {
        return Some(if b { "True" } else { "False" }.into());
    }
    if let Some(i) = v.get("int").and_then(Value::as_str) {
        return Some(i.to_string());
    }
    let text = if let Some(s) = v.get("str").and_then(Value::as_str) {
        s.to_string()
    } else if let Some(h) = v.get("bytes").and_then(Value::as_str) {
        // A Python 2 `str` (read as Latin-1 text).
        (0..h.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&h[i..i + 2], 16).ok().map(|b| b as char))
            .collect::<Option<String>>()?
    } else {
        return None;
    };
    if text.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ') {
        Some(format!("'{text}'"))
    } else {
        None
    }
}

/// The `def` line CPython's facts imply: argument names from the code, defaults and
/// kwdefaults (when the payload carried them), `/`, `*`, `*args`, `**kw`.
fn expected_def(facts: &Value) -> Option<String> {
    let f = &facts["facts"];
    let code = &f["code"];
    let names: Vec<&str> = code["co_varnames"]
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let argc = code["co_argcount"].as_u64()? as usize;
    let posonly = code["co_posonlyargcount"].as_u64().unwrap_or(0) as usize;
    let kwonly = code["co_kwonlyargcount"].as_u64().unwrap_or(0) as usize;
    let flags = code["co_flags"].as_u64()?;
    let defaults: Vec<Value> = if lost(facts, "/defaults") {
        Vec::new()
    } else {
        f["defaults"].as_array().cloned().unwrap_or_default()
    };
    let kwdefaults = if lost(facts, "/kwdefaults") {
        None
    } else {
        f["kwdefaults"].as_object().cloned()
    };
    if f["annotations"].as_object().is_some_and(|a| !a.is_empty()) {
        return None;
    }
    let mut parts = Vec::new();
    let first_default = argc.saturating_sub(defaults.len());
    for (i, name) in names.iter().enumerate().take(argc) {
        if i >= first_default {
            parts.push(format!("{name}={}", repr(&defaults[i - first_default])?));
        } else {
            parts.push(name.to_string());
        }
        if posonly > 0 && i + 1 == posonly {
            parts.push("/".into());
        }
    }
    let mut next = argc + kwonly;
    if flags & 0x04 != 0 {
        parts.push(format!("*{}", names.get(next)?));
        next += 1;
    } else if kwonly > 0 {
        parts.push("*".into());
    }
    for name in names.iter().skip(argc).take(kwonly) {
        match kwdefaults.as_ref().and_then(|k| k.get(*name)) {
            Some(d) => parts.push(format!("{name}={}", repr(d)?)),
            None => parts.push(name.to_string()),
        }
    }
    if flags & 0x08 != 0 {
        parts.push(format!("**{}", names.get(next)?));
    }
    let prefix = if flags & 0x280 != 0 {
        "async def"
    } else {
        "def"
    };
    let name = if lost(facts, "/name") {
        return None;
    } else {
        f["name"].as_str()?
    };
    Some(format!("{prefix} {name}({}):", parts.join(", ")))
}

fn show_functions(pkl: &Path) -> String {
    let out = brine(&["show", "--functions", pkl.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}: {}",
        pkl.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

#[test]
fn signatures_match_cpython_facts() {
    let mut checked = 0;
    for sample in [
        "defaults",
        "kwdefaults",
        "posonly",
        "lambda",
        "closure",
        "generator",
    ] {
        for (pkl, facts) in payloads(sample) {
            if facts["facts"]["kind"] != "function" {
                continue;
            }
            let Some(def) = expected_def(&facts) else {
                continue;
            };
            let text = show_functions(&pkl);
            assert!(
                text.lines().any(|l| l.trim() == def),
                "{}: no line `{def}` in\n{text}",
                pkl.display()
            );
            checked += 1;
        }
    }
    if checked == 0 {
        println!(
            "skipped: no extended-pickle fixtures found under {}",
            ext_dir().display()
        );
        return;
    }
    // Every producer family ships these samples on every Python, so dozens are checked.
    assert!(checked > 100, "only {checked} signatures checked");
}

#[test]
fn closure_cells_show_names_and_values_and_the_code_is_disassembled() {
    let mut checked = 0;
    for (pkl, facts) in payloads("closure") {
        let f = &facts["facts"];
        if f["kind"] != "function" || lost(&facts, "/closure") {
            continue;
        }
        let text = show_functions(&pkl);
        let names = f["code"]["co_freevars"].as_array().expect("freevars");
        for (name, cell) in names.iter().zip(f["closure"].as_array().expect("closure")) {
            let Some(v) = repr(&cell["value"]) else {
                continue;
            };
            let line = format!("{} = {v}", name.as_str().unwrap());
            assert!(
                text.lines().any(|l| l.trim() == line),
                "{}: no `{line}` in\n{text}",
                pkl.display()
            );
        }
        // The disassembly names the free variable it loads.
        let free = names[0].as_str().unwrap();
        assert!(
            text.contains("disassembly:") && text.contains(&format!("({free})")),
            "{}: {text}",
            pkl.display()
        );
        checked += 1;
    }
    if checked == 0 {
        println!("skipped: no closure fixtures");
    }
}

#[test]
fn shipped_globals_and_calls_are_listed() {
    // `global_var` reads a module-level FACTOR; producers that ship it by value list it.
    let mut checked = 0;
    for (pkl, facts) in payloads("global_var") {
        let f = &facts["facts"];
        if f["kind"] != "function" || lost(&facts, "/globals/FACTOR") {
            continue;
        }
        let Some(v) = f["globals"].get("FACTOR").and_then(repr) else {
            continue;
        };
        let text = show_functions(&pkl);
        assert!(
            text.lines().any(|l| l.trim() == format!("FACTOR = {v}")),
            "{}: {text}",
            pkl.display()
        );
        assert!(
            text.lines()
                .any(|l| l.trim().starts_with("globals read:") && l.contains("FACTOR")),
            "{}: {text}",
            pkl.display()
        );
        checked += 1;
    }
    if checked == 0 {
        println!("skipped: no global_var fixtures that ship FACTOR");
    }
}

#[test]
fn json_lists_functions_with_their_code_arguments() {
    let mut checked = 0;
    for sample in ["defaults", "closure", "kwdefaults"] {
        for (pkl, facts) in payloads(sample) {
            let f = &facts["facts"];
            if f["kind"] != "function" || lost(&facts, "/name") {
                continue;
            }
            let out = brine(&["show", "--functions", "--json", pkl.to_str().unwrap()]);
            assert_eq!(out.status.code(), Some(0), "{}", pkl.display());
            let j: Value = serde_json::from_slice(&out.stdout).expect("json");
            let funcs = j["functions"].as_array().expect("functions");
            let Some(func) = funcs
                .iter()
                .map(|x| &x["function"])
                // Producers that do not ship `__name__` leave it to the code's co_name.
                .find(|x| x["name"] == f["name"] || x["code"]["co_name"] == f["name"])
            else {
                panic!("{}: no function {} in {j}", pkl.display(), f["name"]);
            };
            assert!(func["producer"].as_str().is_some_and(|p| !p.is_empty()));
            let code = &func["code"];
            if code.get("marshal").is_none() {
                assert_eq!(
                    code["co_argcount"],
                    f["code"]["co_argcount"],
                    "{}",
                    pkl.display()
                );
                assert_eq!(code["co_name"], f["code"]["co_name"], "{}", pkl.display());
            }
            checked += 1;
        }
    }
    if checked == 0 {
        println!("skipped: no fixtures");
    }
}

#[test]
fn not_a_pickle_exits_1_with_the_offset() {
    let dir = std::env::temp_dir().join(format!("brine-cli-functions-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("bad.pkl");
    std::fs::write(&p, b"\x80\x05\xff").unwrap();
    let out = brine(&["show", "--functions", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.pkl"), "{err}");
    let missing = brine(&["show", "--functions", dir.join("absent").to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(2));
}
