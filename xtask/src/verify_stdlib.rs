//! `cargo xtask verify-stdlib [X.Y ...] [--no-view]`: reads every `.pyc` of every installed
//! interpreter's standard library (or only the versions named) with our library, and checks
//! that
//!
//! * it parses to the end (header and marshal stream), with the header naming that version;
//! * writing it back gives the same bytes;
//! * its JSON view (`brine pyc --json`) can be built (skipped with `--no-view`).
//!
//! Then the same over the shared samples of versions with no interpreter here
//! (`brine_tests::pyc_samples_dir()`, when present), grouped by the version their header names.
//!
//! Prints per version: files, code objects, failures, time. Fails (non-zero exit) on any
//! failure, listing the first ones. Files: 3.x `__pycache__/*.<cache_tag>[.opt-N].pyc`; 2.7
//! `*.pyc` and `*.pyo` beside the sources; `site-packages` is not the standard library and is
//! left out.

use brine_marshal::Pyc;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Failures listed in full before the rest are only counted.
const MAX_LISTED: usize = 30;

/// Runs the task.
pub fn run(args: &[String]) -> crate::TaskResult {
    let with_view = !args.iter().any(|a| a == "--no-view");
    let versions: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let interpreters: Vec<_> = brine_tests::interpreters()
        .into_iter()
        .filter(|i| versions.is_empty() || versions.contains(&&i.label()))
        .collect();
    let mut failures: Vec<String> = Vec::new();
    let mut total_files = 0usize;
    if interpreters.is_empty() {
        println!("verify-stdlib: no installed interpreter found (pyenv, PATH or BRINE_PYTHONS); skipping the stdlib part");
    }
    for interp in &interpreters {
        let (stdlib, tag) = stdlib_of(interp)?;
        let files = collect_pycs(&stdlib, tag.as_deref());
        if files.is_empty() {
            failures.push(format!(
                "{}: no .pyc files under {}",
                interp.label(),
                stdlib.display()
            ));
            continue;
        }
        let expected = Some(interp.label());
        let stats = check_files(&files, expected.as_deref(), with_view, &mut failures);
        total_files += stats.files;
        println!(
            "{:>5} ({}): {:>5} files, {:>7} code objects, {:>3} failures, {:.2} s   [{}]",
            interp.label(),
            interp.full_version,
            stats.files,
            stats.code_objects,
            stats.failures,
            stats.seconds,
            stdlib.display()
        );
    }
    match brine_tests::pyc_samples_dir() {
        None => println!("verify-stdlib: no shared pyc samples folder; skipping the samples part"),
        Some(dir) => {
            let mut files = Vec::new();
            walk(&dir, &mut |p| {
                if p.extension().is_some_and(|e| e == "pyc") {
                    files.push(p.to_path_buf());
                }
            });
            files.sort();
            // Group by the version the header names (unreadable headers under "?").
            let mut groups: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
            for f in files {
                let label = std::fs::read(&f)
                    .ok()
                    .and_then(|d| brine_marshal::PycHeader::parse(&d).ok())
                    .map_or_else(|| "?".to_string(), |h| h.version.to_string());
                groups.entry(label).or_default().push(f);
            }
            let mut groups: Vec<_> = groups.into_iter().collect();
            groups.sort_by_key(|(label, _)| label.parse::<brine_marshal::PyVersion>().ok());
            for (label, files) in groups {
                let stats = check_files(&files, None, with_view, &mut failures);
                total_files += stats.files;
                println!(
                    "{:>5} (samples): {:>5} files, {:>7} code objects, {:>3} failures, {:.2} s",
                    label, stats.files, stats.code_objects, stats.failures, stats.seconds
                );
            }
        }
    }
    if failures.is_empty() {
        println!("verify-stdlib: {total_files} files, all parsed and round-tripped");
        return Ok(());
    }
    for f in failures.iter().take(MAX_LISTED) {
        eprintln!("FAIL {f}");
    }
    if failures.len() > MAX_LISTED {
        eprintln!("... and {} more", failures.len() - MAX_LISTED);
    }
    Err(format!(
        "{} failure(s) in {total_files} files",
        failures.len()
    ))
}

/// Totals for one group of files.
struct Stats {
    files: usize,
    code_objects: usize,
    failures: usize,
    seconds: f64,
}

/// Parses, round-trips and (optionally) views each file; records failures.
fn check_files(
    files: &[PathBuf],
    expected_version: Option<&str>,
    with_view: bool,
    failures: &mut Vec<String>,
) -> Stats {
    let start = Instant::now();
    let before = failures.len();
    let mut code_objects = 0;
    for path in files {
        let data = match std::fs::read(path) {
            Ok(d) => d,
            Err(e) => {
                failures.push(format!("{}: cannot read: {e}", path.display()));
                continue;
            }
        };
        let pyc = match Pyc::parse(&data) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!(
                    "{}: at byte {}: {}",
                    path.display(),
                    e.offset,
                    e.kind
                ));
                continue;
            }
        };
        if let Some(v) = expected_version {
            if pyc.header.version.to_string() != v {
                failures.push(format!(
                    "{}: header names Python {}, expected {v}",
                    path.display(),
                    pyc.header.version
                ));
            }
        }
        code_objects += pyc.stream.code_objects().count();
        let written = pyc.write();
        if written != data {
            let at = written
                .iter()
                .zip(&data)
                .position(|(a, b)| a != b)
                .unwrap_or(written.len().min(data.len()));
            failures.push(format!(
                "{}: round trip differs at byte {at} (wrote {} bytes, read {})",
                path.display(),
                written.len(),
                data.len()
            ));
        }
        if with_view {
            if let Err(e) = brine_pickle_ext::json::pyc::pyc_to_json(&pyc) {
                failures.push(format!("{}: JSON view: {e}", path.display()));
            }
        }
    }
    Stats {
        files: files.len(),
        code_objects,
        failures: failures.len() - before,
        seconds: start.elapsed().as_secs_f64(),
    }
}

/// Asks the interpreter for its standard library directory and (3.x) its cache tag.
fn stdlib_of(interp: &brine_tests::Interpreter) -> Result<(PathBuf, Option<String>), String> {
    let out = interp
        .command()
        .arg("-c")
        .arg(
            "import sys, sysconfig\n\
             tag = getattr(getattr(sys, 'implementation', None), 'cache_tag', None)\n\
             sys.stdout.write(sysconfig.get_paths()['stdlib'] + '\\n' + (tag or '') + '\\n')",
        )
        .output()
        .map_err(|e| format!("cannot run {}: {e}", interp.path.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} could not report its stdlib: {}",
            interp.path.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let dir = PathBuf::from(lines.next().unwrap_or_default());
    let tag = lines.next().filter(|t| !t.is_empty()).map(str::to_string);
    Ok((dir, tag))
}

/// The `.pyc` files of a standard library directory, sorted.
fn collect_pycs(stdlib: &Path, cache_tag: Option<&str>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk(stdlib, &mut |p| {
        if p.components().any(|c| c.as_os_str() == "site-packages") {
            return;
        }
        let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
            return;
        };
        let in_cache = p
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|d| d == "__pycache__");
        let wanted = match cache_tag {
            // 3.x: name.cpython-3N.pyc, name.cpython-3N.opt-1.pyc, ...
            Some(tag) => {
                in_cache && name.ends_with(".pyc") && name.split('.').any(|part| part == tag)
            }
            // 2.7: beside the sources.
            None => !in_cache && (name.ends_with(".pyc") || name.ends_with(".pyo")),
        };
        if wanted {
            out.push(p.to_path_buf());
        }
    });
    out.sort();
    out
}

/// Calls `f` on every file under `dir` (symlinked directories are not followed).
fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                f(&e.path());
            }
        }
    }
}
