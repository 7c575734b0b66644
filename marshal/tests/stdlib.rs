//! Every `.pyc` of every installed interpreter's standard library: parse, byte-identical round
//! trip, and our writer's type codes against CPython's on the same code objects. Slow, so
//! ignored by default: `cargo test -p brine-marshal --release --test stdlib -- --ignored`.

mod common;

use brine_marshal::{dumps, read, DumpOptions, Object, PyVersion, Pyc, ReadOptions};
use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "site-packages") {
                collect(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "pyc") {
            out.push(p);
        }
    }
}

#[test]
#[ignore = "slow: reads every stdlib .pyc of every installed interpreter"]
fn every_stdlib_pyc_parses_round_trips_and_redumps_with_cpythons_type_codes() {
    let interps = brine_tests::interpreters();
    if interps.is_empty() {
        brine_tests::skip_live("stdlib", "no CPython interpreter found");
        return;
    }
    let mut failures = Vec::new();
    for interp in interps {
        let version = PyVersion::new(interp.version.0, interp.version.1);
        let out = interp
            .command()
            .arg("-c")
            .arg("import sys, sysconfig; sys.stdout.write(sysconfig.get_paths()['stdlib'])")
            .output()
            .unwrap();
        let mut files = Vec::new();
        collect(
            Path::new(&*String::from_utf8_lossy(&out.stdout)),
            &mut files,
        );
        let (mut parsed, mut code_objects, mut type_code_diffs) = (0, 0, 0);
        for f in &files {
            let data = std::fs::read(f).unwrap();
            let pyc = match Pyc::parse(&data) {
                Ok(p) => p,
                Err(e) => {
                    failures.push(format!("{}: {e}", f.display()));
                    continue;
                }
            };
            if pyc.header.version != version {
                continue; // a stray pyc of another version
            }
            parsed += 1;
            code_objects += pyc.stream.code_objects().count();
            if pyc.write() != data {
                failures.push(format!("{}: round trip differs", f.display()));
            }
            let obj = Object::from_stream(&pyc.stream, pyc.stream.root(), 100_000_000).unwrap();
            let ours = dumps(&obj, &DumpOptions::new(version)).unwrap();
            let ours = read(&ours, &ReadOptions::new(version)).unwrap();
            // Set order aside (from 3.11 it depends on CPython's refcount-driven FLAG_REF
            // bits), the type codes must be CPython's.
            let (a, b) = (
                common::type_codes_set_order_free(&pyc.stream, pyc.stream.root()),
                common::type_codes_set_order_free(&ours, ours.root()),
            );
            assert_eq!(a.len(), b.len(), "{}", f.display());
            type_code_diffs += a.iter().zip(&b).filter(|(x, y)| x != y).count();
        }
        println!(
            "{}: {} files, {parsed} parsed and round-tripped, {code_objects} code objects, \
             {type_code_diffs} type codes differing from CPython's in our re-dump",
            interp.label(),
            files.len()
        );
        if type_code_diffs > 0 {
            failures.push(format!(
                "{}: {type_code_diffs} type codes differ",
                interp.label()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
