//! Parses every `.pyc` under the given directories, checks the byte-identical round trip,
//! and prints a summary per directory.
//!
//! `cargo run --release -p brine-marshal --example roundtrip -- ~/.pyenv/versions/3.11.7/lib`

use brine_marshal::Pyc;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|x| x == "pyc") {
            out.push(p);
        }
    }
}

fn main() {
    let mut failures = 0;
    for dir in std::env::args().skip(1) {
        let mut files = Vec::new();
        collect(Path::new(&dir), &mut files);
        files.sort();
        let (mut ok, mut bad, mut bytes, mut codes) = (0usize, 0usize, 0usize, 0usize);
        for f in &files {
            let data = std::fs::read(f).expect("readable file");
            match Pyc::parse(&data) {
                Ok(pyc) => {
                    codes += pyc.stream.code_objects().count();
                    if pyc.write() == data {
                        ok += 1;
                        bytes += data.len();
                    } else {
                        bad += 1;
                        eprintln!("{}: round trip differs", f.display());
                    }
                }
                Err(e) => {
                    bad += 1;
                    eprintln!("{}: {e}", f.display());
                }
            }
        }
        failures += bad;
        println!(
            "{dir}: {} files, {ok} parsed and round-tripped ({bytes} bytes, {codes} code objects), {bad} failed",
            files.len()
        );
    }
    if failures > 0 {
        std::process::exit(1);
    }
}
