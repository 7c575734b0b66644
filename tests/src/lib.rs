//! Helpers shared by the integration tests and `xtask`: where the fixtures live and which
//! CPython interpreters are installed on this machine.
//!
//! Live tests call [`interpreters`] and skip (printing a line saying so) when it returns nothing,
//! so `cargo test` passes on a machine with no Python at all.

#![warn(missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root (the directory holding the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent directory")
        .to_path_buf()
}

/// The committed fixtures directory, `tests/fixtures/`.
pub fn fixtures_dir() -> PathBuf {
    workspace_root().join("tests").join("fixtures")
}

/// The shared folder of real `.pyc` samples for versions with no interpreter here
/// (`../shared/pyc-samples` beside the checkout), if it exists.
pub fn pyc_samples_dir() -> Option<PathBuf> {
    let dir = workspace_root()
        .parent()?
        .join("shared")
        .join("pyc-samples");
    dir.is_dir().then_some(dir)
}

/// One installed CPython interpreter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpreter {
    /// `(major, minor)` as reported by the interpreter itself.
    pub version: (u8, u8),
    /// Full version string, e.g. `"3.11.7"`.
    pub full_version: String,
    /// Path of the executable.
    pub path: PathBuf,
}

impl Interpreter {
    /// `"3.11"`-style label.
    pub fn label(&self) -> String {
        format!("{}.{}", self.version.0, self.version.1)
    }

    /// A command running this interpreter with a deterministic environment
    /// (`PYTHONHASHSEED=0`, no user site, no bytecode writing).
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.path);
        cmd.env("PYTHONHASHSEED", "0")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONNOUSERSITE", "1")
            .env("PYTHONIOENCODING", "utf-8")
            .env_remove("PYTHONPATH")
            .env_remove("PYTHONSTARTUP");
        cmd
    }
}

/// Asks a candidate executable for its version; `None` if it is not a working CPython.
fn probe(path: &Path) -> Option<Interpreter> {
    let out = Command::new(path)
        .arg("-c")
        .arg("import sys, platform; sys.stdout.write('%s %d %d' % (platform.python_implementation(), sys.version_info[0], sys.version_info[1]) + ' ' + platform.python_version())")
        .env("PYTHONHASHSEED", "0")
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let mut parts = text.split_whitespace();
    if parts.next()? != "CPython" {
        return None;
    }
    let major: u8 = parts.next()?.parse().ok()?;
    let minor: u8 = parts.next()?.parse().ok()?;
    let full_version = parts.next()?.to_string();
    Some(Interpreter {
        version: (major, minor),
        full_version,
        path: path.to_path_buf(),
    })
}

/// Finds the installed CPython interpreters, one per `major.minor`, sorted by version.
///
/// Sources, in order: the `BRINE_PYTHONS` environment variable (paths separated by the
/// platform's path-list separator; when set, it is the only source, and an empty value means
/// "no interpreters"), then `$PYENV_ROOT/versions/*/bin/python` (default `~/.pyenv`), then
/// `python2.7`, `python3.N` on `PATH`.
pub fn interpreters() -> Vec<Interpreter> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(list) = std::env::var_os("BRINE_PYTHONS") {
        candidates.extend(std::env::split_paths(&list).filter(|p| !p.as_os_str().is_empty()));
    } else {
        let pyenv_root = std::env::var_os("PYENV_ROOT")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pyenv")));
        if let Some(root) = pyenv_root {
            if let Ok(entries) = std::fs::read_dir(root.join("versions")) {
                let mut dirs: Vec<PathBuf> =
                    entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
                dirs.sort();
                for dir in dirs {
                    candidates.push(dir.join("bin").join("python"));
                }
            }
        }
        if let Some(path) = std::env::var_os("PATH") {
            for dir in std::env::split_paths(&path) {
                candidates.push(dir.join("python2.7"));
                for minor in 0..=20 {
                    candidates.push(dir.join(format!("python3.{minor}")));
                }
            }
        }
    }
    let mut found: Vec<Interpreter> = Vec::new();
    for cand in candidates {
        if !cand.is_file() {
            continue;
        }
        if let Some(interp) = probe(&cand) {
            if !found.iter().any(|f| f.version == interp.version) {
                found.push(interp);
            }
        }
    }
    found.sort_by_key(|i| i.version);
    found
}

/// Prints the standard "skipped" line for a live test that cannot run here (no interpreter, no
/// shared samples, no fixtures).
///
/// The line is written straight to the process's standard error handle, not through
/// `println!`/`eprintln!`, which the test harness captures and hides for passing tests: a
/// skipped check must be visible in every `cargo test` run.
pub fn skip_live(test: &str, why: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "SKIPPED live test {test}: {why}");
}
