//! Every committed marshal fixture (`tests/fixtures/marshal/<X.Y>/`, written by
//! `cargo xtask fixtures marshal` from real interpreters) against our reader, writer and JSON
//! view. No Python needed.
//!
//! * each `.pyc` parses to exactly CPython's view (`<name>.json`), and writing it back gives
//!   the same bytes;
//! * each sample value of `values.json` (marshal.dumps at every marshal version) parses to
//!   CPython's view of the value and round-trips byte for byte.
//!
//! Every test collects all failures before asserting, so one run reports them all.

use brine_marshal::{PyVersion, Pyc, ReadOptions};
use brine_pickle_ext::json::pyc::{pyc_to_json, value_to_json};
use brine_pickle_ext::json::Json;
use std::fs;
use std::path::{Path, PathBuf};

/// Keys our view cannot produce yet, per minimum version. They are removed from both views
/// before comparing. (Empty: every attribute, derived ones included, is produced.)
const NOT_YET_DERIVED: &[((u8, u8), &str)] = &[];

fn version_dirs() -> Vec<(PyVersion, PathBuf)> {
    let root = brine_tests::fixtures_dir().join("marshal");
    let mut out: Vec<(PyVersion, PathBuf)> = fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| {
            let v: PyVersion = e.file_name().to_str()?.parse().ok()?;
            Some((v, e.path()))
        })
        .collect();
    out.sort();
    out
}

fn load_json(path: &Path) -> Json {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Json::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `.pyc` files the manifest lists for a version directory.
fn manifest_pycs(dir: &Path) -> Vec<String> {
    let manifest = load_json(&dir.join("manifest.json"));
    let Some(Json::Array(compiled)) = manifest.get("compiled") else {
        panic!("{}: manifest without 'compiled'", dir.display());
    };
    let mut out = Vec::new();
    for entry in compiled {
        let Some(Json::Array(pycs)) = entry.get("pycs") else {
            panic!("{}: bad manifest entry", dir.display());
        };
        for p in pycs {
            out.push(p.get("pyc").and_then(Json::as_string).expect("pyc name"));
        }
    }
    out
}

/// Removes `keys` from every object that looks like a CODE (has `co_code`), recursively.
fn strip_keys(v: &mut Json, keys: &[&str]) {
    match v {
        Json::Array(items) => items.iter_mut().for_each(|i| strip_keys(i, keys)),
        Json::Object(pairs) => {
            if pairs.iter().any(|(k, _)| k == "co_code") {
                pairs.retain(|(k, _)| !keys.contains(&k.as_str()));
            }
            pairs.iter_mut().for_each(|(_, i)| strip_keys(i, keys));
        }
        _ => {}
    }
}

#[test]
fn every_pyc_fixture_matches_cpython_and_round_trips() {
    let mut failures: Vec<String> = Vec::new();
    let mut checked = 0;
    let dirs = version_dirs();
    assert!(
        dirs.len() >= 9,
        "expected fixtures for 2.7 and 3.6-3.13, found {dirs:?}"
    );
    for (version, dir) in &dirs {
        let skipped: Vec<&str> = NOT_YET_DERIVED
            .iter()
            .filter(|((ma, mi), _)| version.at_least(*ma, *mi))
            .map(|(_, k)| *k)
            .collect();
        for name in manifest_pycs(dir) {
            let path = dir.join(&name);
            let label = format!("{version}/{name}");
            let data = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let pyc = match Pyc::parse(&data) {
                Ok(p) => p,
                Err(e) => {
                    failures.push(format!("{label}: parse error: {e}"));
                    continue;
                }
            };
            checked += 1;
            if pyc.header.version != *version {
                failures.push(format!("{label}: read as {}", pyc.header.version));
            }
            let written = pyc.write();
            if written != data {
                let at = written.iter().zip(&data).position(|(a, b)| a != b);
                failures.push(format!(
                    "{label}: round trip differs at byte {:?} (lengths {} vs {})",
                    at.unwrap_or(written.len().min(data.len())),
                    written.len(),
                    data.len()
                ));
            }
            let mut ours = match pyc_to_json(&pyc) {
                Ok(j) => j,
                Err(e) => {
                    failures.push(format!("{label}: view error: {e}"));
                    continue;
                }
            };
            let expected_path = path.with_extension("json");
            let mut theirs = load_json(&expected_path);
            if skipped.is_empty() {
                // Byte-exact text, as `brine pyc --json` would print it with indent 1.
                let text = fs::read_to_string(&expected_path).expect("read");
                if ours.to_text(Some(1)) + "\n" != text && ours == theirs {
                    failures.push(format!("{label}: same tree, different JSON text"));
                }
            }
            strip_keys(&mut ours, &skipped);
            strip_keys(&mut theirs, &skipped);
            if let Some(d) = ours.first_difference(&theirs) {
                failures.push(format!("{label}: ours vs CPython at {d}"));
            }
        }
    }
    println!("checked {checked} pyc fixtures");
    assert!(checked >= 100, "only {checked} pyc fixtures found");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn every_sample_value_matches_cpython_and_round_trips() {
    let mut failures: Vec<String> = Vec::new();
    let mut checked = 0;
    for (version, dir) in version_dirs() {
        let doc = load_json(&dir.join("values.json"));
        let Json::Array(entries) = &doc else {
            panic!("{}: values.json is not an array", dir.display());
        };
        for entry in entries {
            let name = entry.get("name").and_then(Json::as_string).expect("name");
            let mv = entry
                .get("version")
                .and_then(Json::as_i64)
                .expect("version");
            let label = format!("{version} {name} (marshal version {mv})");
            let Some(hex) = entry.get("hex").and_then(Json::as_string) else {
                continue; // CPython could not dump it (e.g. a recursive list below version 3)
            };
            let data = unhex(&hex);
            let stream = match brine_marshal::read(&data, &ReadOptions::new(version)) {
                Ok(s) => s,
                Err(e) => {
                    failures.push(format!("{label}: read error: {e}"));
                    continue;
                }
            };
            checked += 1;
            if stream.write() != data {
                failures.push(format!("{label}: round trip differs"));
            }
            let expected = entry.get("value").expect("value");
            if entry.get("recursive").is_some() {
                continue;
            }
            match value_to_json(&stream, stream.root()) {
                Ok(ours) => {
                    if let Some(d) = ours.first_difference(expected) {
                        failures.push(format!("{label}: ours vs CPython at {d}"));
                    }
                }
                Err(e) => failures.push(format!("{label}: view error: {e}")),
            }
        }
    }
    println!("checked {checked} sample values");
    assert!(checked >= 500, "only {checked} sample values found");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn hash_based_fixtures_carry_cpythons_source_hash_and_sizes_match() {
    let src = brine_tests::fixtures_dir().join("src");
    let (mut hashed, mut sized) = (0, 0);
    for (version, dir) in version_dirs() {
        let manifest = load_json(&dir.join("manifest.json"));
        let Json::Array(compiled) = &manifest["compiled"] else {
            panic!("manifest")
        };
        for entry in compiled {
            let source_name = entry["source"].as_string().expect("source");
            let source = fs::read(src.join(&source_name)).expect("source file");
            let Json::Array(pycs) = &entry["pycs"] else {
                panic!("pycs")
            };
            for p in pycs {
                let name = p["pyc"].as_string().expect("pyc");
                let data = fs::read(dir.join(&name)).expect("pyc file");
                let header = Pyc::parse(&data).expect("parse").header;
                match header.check_source_hash(&source) {
                    Some(ok) => {
                        assert!(ok, "{version}/{name}: our SipHash differs from importlib's");
                        hashed += 1;
                    }
                    None => {
                        if let Some(size) = header.source_size() {
                            assert_eq!(size as usize, source.len(), "{version}/{name}");
                            sized += 1;
                        }
                    }
                }
            }
        }
    }
    // basics.py in two hash-based flavours for each of 3.7-3.13.
    assert!(hashed >= 14, "only {hashed} hash-based fixtures");
    assert!(sized >= 100, "only {sized} timestamp fixtures with a size");
}

#[test]
fn every_source_compiles_somewhere_and_skips_are_syntax_errors() {
    let src = brine_tests::fixtures_dir().join("src");
    let mut sources: Vec<String> = fs::read_dir(&src)
        .expect("src")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".py"))
        .collect();
    sources.sort();
    let mut compiled_somewhere = std::collections::BTreeSet::new();
    for (version, dir) in version_dirs() {
        let manifest = load_json(&dir.join("manifest.json"));
        let (Json::Array(compiled), Json::Array(skipped)) =
            (&manifest["compiled"], &manifest["skipped"])
        else {
            panic!("manifest")
        };
        assert_eq!(
            compiled.len() + skipped.len(),
            sources.len(),
            "{version}: every source is either compiled or skipped"
        );
        for s in skipped {
            let reason = s["reason"].as_string().expect("reason");
            assert!(reason.starts_with("SyntaxError"), "{version}: {reason}");
        }
        for c in compiled {
            compiled_somewhere.insert(c["source"].as_string().expect("source"));
        }
    }
    let never: Vec<_> = sources
        .iter()
        .filter(|s| !compiled_somewhere.contains(*s))
        .collect();
    assert!(
        never.is_empty(),
        "sources no interpreter compiled: {never:?}"
    );
}
