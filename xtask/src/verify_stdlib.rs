//! `cargo xtask verify-stdlib [X.Y ...] [--no-view] [--no-decode] [--compare-every N] [--dis-every N]`:
//! reads every `.pyc` of
//! every installed interpreter's standard library (or only the versions named) with our
//! library, and checks that
//!
//! * it parses to the end (header and marshal stream), with the header naming that version;
//! * writing it back gives the same bytes;
//! * `brine_codeobj` decodes every code object (instructions without a problem, line table,
//!   positions, exception table; skipped with `--no-decode`);
//! * its JSON view (`brine pyc --json`) can be built (skipped with `--no-view`), and equals
//!   CPython's own view of the file (`xtask/py/marshal_view.py`, run by that interpreter), text
//!   for text, for every N-th file (default 5; 1 compares every file, 0 none);
//! * every code object of every N-th source file of the library (`--dis-every`, default
//!   [`DEFAULT_DIS_EVERY`]; 1 = every file, 0 = none; skipped with `--no-decode`), compiled
//!   by that interpreter, decodes exactly as its `dis` says: instructions (offset, opname,
//!   arg, argval, argrepr, starts_line, line_number, is_jump_target), `findlinestarts`,
//!   `co_lines()`, `co_positions()`, the exception table and the `dis.disassemble` text
//!   (`xtask/py/opcodes_stdlib.py dis` records them, running beside our checks;
//!   `brine_pickle_ext::json::code::compare_dis_line` compares, as the `codeobj_stdlib` test
//!   does on a sample). Set constants holding items hashed by address (`None` before 3.12),
//!   whose printed order CPython itself does not reproduce, are counted apart, not failed.
//!
//! Then the same over the shared samples of versions with no interpreter here
//! (`brine_tests::pyc_samples_dir()`, when present), grouped by the version their header names.
//!
//! Prints per version: files, code objects, failures, time. Fails (non-zero exit) on any
//! failure, listing the first ones. Files: 3.x `__pycache__/*.<cache_tag>[.opt-N].pyc`; 2.7
//! `*.pyc` and `*.pyo` beside the sources; `site-packages` is not the standard library and is
//! left out.

use brine_marshal::Pyc;
use brine_pickle_ext::json::pyc::pyc_to_json;
use brine_pickle_ext::json::Json;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};
use std::time::Instant;

/// Failures listed in full before the rest are only counted.
const MAX_LISTED: usize = 30;

/// Default for `--dis-every`: the whole default task (nine interpreters) takes under two
/// minutes on two cores, leaving room for a busy CI machine (`--dis-every 1 --compare-every 1`
/// takes about 19 minutes, CPython's side dominating).
pub const DEFAULT_DIS_EVERY: usize = 4;

/// Runs the task.
pub fn run(args: &[String]) -> crate::TaskResult {
    let with_view = !args.iter().any(|a| a == "--no-view");
    let decode = !args.iter().any(|a| a == "--no-decode");
    let mut compare_every = 5usize;
    let mut dis_every = DEFAULT_DIS_EVERY;
    let mut versions: Vec<&String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--no-view" | "--no-decode" => {}
            "--dis-every" => {
                dis_every = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or("--dis-every needs a number")?;
            }
            "--compare-every" => {
                compare_every = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or("--compare-every needs a number")?;
            }
            other if other.starts_with("--") => return Err(format!("unknown option {other}")),
            _ => versions.push(a),
        }
    }
    if !with_view {
        compare_every = 0;
    }
    if !decode {
        dis_every = 0;
    }
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
        let mut cpython = if compare_every > 0 {
            Some(CpythonViews::start(interp)?)
        } else {
            None
        };
        // CPython's dis records are made while we check the files.
        let dis = if dis_every > 0 {
            Some(DisRecords::start(interp, dis_every)?)
        } else {
            None
        };
        let check = Check {
            expected_version: expected.as_deref(),
            with_view,
            compare_every,
            decode: decode.then(|| interp.full_version.split('.').nth(2)?.parse().ok()),
        };
        let stats = check_files(&files, &check, cpython.as_mut(), &mut failures);
        if let Some(c) = cpython {
            c.finish();
        }
        let dis_stats = dis.map(|d| d.compare(interp, &mut failures));
        total_files += stats.files;
        println!(
            "{:>5} ({}): {:>5} files, {:>7} code objects, {:>8} instructions, {:>5} views equal to CPython's, {:>3} failures, {:.2} s   [{}]",
            interp.label(),
            interp.full_version,
            stats.files,
            stats.code_objects,
            stats.instructions,
            stats.compared,
            stats.failures,
            stats.seconds,
            stdlib.display()
        );
        if let Some(d) = dis_stats {
            println!(
                "{:>5}   dis (every {dis_every}): {:>5} sources, {:>7} code objects, {:>8} instructions, {:>3} mismatches, {:>3} set-order differences apart, {:.2} s",
                "",
                d.files,
                d.code_objects,
                d.instructions,
                d.mismatches,
                d.set_order,
                d.seconds,
            );
        }
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
                let check = Check {
                    expected_version: None,
                    with_view,
                    compare_every: 0,
                    decode: decode.then_some(None),
                };
                let stats = check_files(&files, &check, None, &mut failures);
                total_files += stats.files;
                println!(
                    "{:>5} (samples): {:>5} files, {:>7} code objects, {:>8} instructions, {:>3} failures, {:.2} s{}",
                    label,
                    stats.files,
                    stats.code_objects,
                    stats.instructions,
                    stats.failures,
                    stats.seconds,
                    if stats.not_decoded > 0 {
                        format!("   ({} not decoded: no opcode table)", stats.not_decoded)
                    } else {
                        String::new()
                    }
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
    instructions: usize,
    /// Files of a version `brine_codeobj` has no opcode table for.
    not_decoded: usize,
    compared: usize,
    failures: usize,
    seconds: f64,
}

/// What to check for each file of a group.
struct Check<'s> {
    /// The version every header must name.
    expected_version: Option<&'s str>,
    /// Build the JSON view.
    with_view: bool,
    /// Compare the view with CPython's for every N-th file (0: never).
    compare_every: usize,
    /// Decode with `brine_codeobj` (`Some(patch level, when known)`), or not (`None`).
    decode: Option<Option<u8>>,
}

/// Parses, round-trips, views and compares each file; records failures.
fn check_files(
    files: &[PathBuf],
    check: &Check<'_>,
    mut cpython: Option<&mut CpythonViews>,
    failures: &mut Vec<String>,
) -> Stats {
    let start = Instant::now();
    let before = failures.len();
    let mut code_objects = 0;
    let mut instructions = 0;
    let mut not_decoded = 0;
    let mut compared = 0;
    for (index, path) in files.iter().enumerate() {
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
        if let Some(v) = check.expected_version {
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
        if let Some(patch) = check.decode {
            match decode_all(&pyc.stream, patch) {
                Ok(Some(n)) => instructions += n,
                Ok(None) => not_decoded += 1,
                Err(e) => failures.push(format!("{}: decode: {e}", path.display())),
            }
        }
        if !check.with_view {
            continue;
        }
        let ours = match pyc_to_json(&pyc) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{}: JSON view: {e}", path.display()));
                continue;
            }
        };
        let Some(cpython) = cpython.as_deref_mut() else {
            continue;
        };
        if check.compare_every == 0 || index % check.compare_every != 0 {
            continue;
        }
        match cpython.view(path) {
            Err(e) => {
                failures.push(format!("{}: CPython's view: {e}", path.display()));
                // The helper is gone or confused: stop asking it.
                cpython.broken = true;
            }
            Ok(theirs) => {
                let ours_text = ours.to_text(None);
                if ours_text == theirs {
                    compared += 1;
                } else {
                    let at = match Json::parse(&theirs) {
                        Ok(t) => ours
                            .first_difference(&t)
                            .unwrap_or_else(|| "same tree, different text".into()),
                        Err(e) => format!("CPython's view does not parse: {e}"),
                    };
                    failures.push(format!(
                        "{}: view differs from CPython's at {at}",
                        path.display()
                    ));
                }
            }
        }
    }
    Stats {
        files: files.len(),
        code_objects,
        instructions,
        not_decoded,
        compared,
        failures: failures.len() - before,
        seconds: start.elapsed().as_secs_f64(),
    }
}

/// Decodes every code object of a pyc with `brine_codeobj`: instructions (none may have a
/// problem), line ranges, positions, exception table. Returns the number of instructions, or
/// `None` for a version codeobj has no opcode table for (the 3.15 pre-release samples).
fn decode_all(
    stream: &brine_marshal::Stream<'_>,
    patch: Option<u8>,
) -> Result<Option<usize>, String> {
    use brine_codeobj::{Code, Error, FromMarshalOptions};
    let options = FromMarshalOptions {
        patch,
        ..Default::default()
    };
    let root = match Code::from_stream(stream, options) {
        Ok(root) => root,
        Err(Error::UnsupportedVersion { .. }) => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let mut count = 0;
    let mut stack = vec![(String::new(), &root)];
    while let Some((path, code)) = stack.pop() {
        let at =
            |what: &str, e: &dyn std::fmt::Display| format!("code object {path:?}: {what}: {e}");
        code.lines().map_err(|e| at("line table", &e))?;
        code.positions().map_err(|e| at("positions", &e))?;
        code.exception_table()
            .map_err(|e| at("exception table", &e))?;
        for ins in code.instructions() {
            count += 1;
            if let Some(problem) = ins.problem {
                return Err(at(
                    &format!("instruction at {}", ins.offset),
                    &problem.message(),
                ));
            }
        }
        for (i, nested) in code.nested() {
            let p = if path.is_empty() {
                i.to_string()
            } else {
                format!("{path}/{i}")
            };
            stack.push((p, nested));
        }
    }
    Ok(Some(count))
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

/// A running `xtask/py/marshal_view.py`: one path in, one line of CPython's view out.
struct CpythonViews {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    broken: bool,
}

impl CpythonViews {
    fn start(interp: &brine_tests::Interpreter) -> Result<CpythonViews, String> {
        let script = brine_tests::workspace_root()
            .join("xtask")
            .join("py")
            .join("marshal_view.py");
        let mut child = interp
            .command()
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", interp.path.display()))?;
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        Ok(CpythonViews {
            child,
            stdin,
            stdout,
            broken: false,
        })
    }

    /// CPython's view of `path` as compact JSON text (no newline).
    fn view(&mut self, path: &Path) -> Result<String, String> {
        if self.broken {
            return Err("the helper failed earlier".into());
        }
        let stdin = self.stdin.as_mut().ok_or("helper stdin closed")?;
        writeln!(stdin, "{}", path.display())
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("cannot talk to the helper: {e}"))?;
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) => Err("the helper exited".into()),
            Ok(_) => {
                let line = line.trim_end_matches('\n').to_string();
                if line.starts_with("{\"error\"") {
                    Err(line)
                } else {
                    Ok(line)
                }
            }
            Err(e) => Err(format!("cannot read the helper's answer: {e}")),
        }
    }

    fn finish(mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// Totals of the comparison with `dis`.
struct DisStats {
    files: usize,
    code_objects: usize,
    instructions: usize,
    mismatches: usize,
    /// [`UNREPRODUCIBLE_SET_ORDER`](brine_pickle_ext::json::code::UNREPRODUCIBLE_SET_ORDER)
    /// differences, not failures.
    set_order: usize,
    seconds: f64,
}

/// A running `xtask/py/opcodes_stdlib.py dis OUT EVERY`: CPython's `dis` records of every
/// EVERY-th source file of its standard library, one JSON line per file, into a temporary file.
struct DisRecords {
    child: Child,
    out: PathBuf,
    start: Instant,
}

impl DisRecords {
    fn start(interp: &brine_tests::Interpreter, every: usize) -> Result<DisRecords, String> {
        let script = brine_tests::workspace_root()
            .join("xtask")
            .join("py")
            .join("opcodes_stdlib.py");
        let out = std::env::temp_dir().join(format!(
            "brine-verify-stdlib-dis-{}-{}.jsonl",
            interp.label(),
            std::process::id()
        ));
        let child = interp
            .command()
            .arg(&script)
            .arg("dis")
            .arg(&out)
            .arg(every.to_string())
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", interp.path.display()))?;
        Ok(DisRecords {
            child,
            out,
            start: Instant::now(),
        })
    }

    /// Waits for the records and compares each file's code objects with our decoding.
    fn compare(
        mut self,
        interp: &brine_tests::Interpreter,
        failures: &mut Vec<String>,
    ) -> DisStats {
        use brine_pickle_ext::json::code::{compare_dis_line, UNREPRODUCIBLE_SET_ORDER};
        let mut stats = DisStats {
            files: 0,
            code_objects: 0,
            instructions: 0,
            mismatches: 0,
            set_order: 0,
            seconds: 0.0,
        };
        let label = interp.label();
        match self.child.wait() {
            Ok(status) if status.success() => {}
            other => {
                failures.push(format!("{label}: opcodes_stdlib.py dis failed: {other:?}"));
                let _ = std::fs::remove_file(&self.out);
                return stats;
            }
        }
        let version: brine_marshal::PyVersion = match label.parse() {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{label}: {e}"));
                return stats;
            }
        };
        let options = brine_codeobj::FromMarshalOptions {
            patch: interp
                .full_version
                .split('.')
                .nth(2)
                .and_then(|p| p.parse().ok()),
            ..Default::default()
        };
        let file = match std::fs::File::open(&self.out) {
            Ok(f) => f,
            Err(e) => {
                failures.push(format!("{label}: dis records: {e}"));
                return stats;
            }
        };
        for line in BufReader::new(file).lines() {
            let line = match line {
                Ok(l) => l,
                Err(e) => {
                    failures.push(format!("{label}: dis records: {e}"));
                    break;
                }
            };
            if line.is_empty() {
                continue;
            }
            stats.files += 1;
            match compare_dis_line(&line, version, options) {
                Err(e) => failures.push(format!("{label}: dis: {e}")),
                Ok((name, result)) => {
                    stats.code_objects += result.code_objects;
                    stats.instructions += result.instructions;
                    for m in &result.mismatches {
                        if m.what == UNREPRODUCIBLE_SET_ORDER {
                            stats.set_order += 1;
                        } else {
                            stats.mismatches += 1;
                            failures.push(format!(
                                "{label}: {name}: code object {:?}: {} differs from dis: {}",
                                m.path, m.what, m.detail
                            ));
                        }
                    }
                }
            }
        }
        let _ = std::fs::remove_file(&self.out);
        stats.seconds = self.start.elapsed().as_secs_f64();
        stats
    }
}
