//! `cargo xtask fixtures marshal [X.Y ...]`: regenerates `tests/fixtures/marshal/<X.Y>/` from
//! every installed interpreter (or only the versions named).
//!
//! The work is done by `xtask/py/marshal_fixtures.py`, run once per interpreter with the
//! deterministic environment of [`brine_tests::Interpreter::command`]. It compiles the corpus in
//! `tests/fixtures/src/` and writes, per source file the version can compile, the `.pyc`, CPython's
//! JSON view of it (the `brine pyc --json` schema) and its `dis` view; then `values.json` (sample
//! values marshalled at every marshal version) and `manifest.json` (compiled and skipped sources).
//! The output directory of each version is emptied first, so files of a removed source do not
//! linger; versions with no interpreter here are left alone. Running the task twice changes
//! nothing.

use std::fs;
use std::path::Path;

/// Runs the task. `args` optionally restricts it to some `X.Y` versions.
pub fn run(args: &[String]) -> crate::TaskResult {
    let root = brine_tests::workspace_root();
    let script = root.join("xtask").join("py").join("marshal_fixtures.py");
    let src = brine_tests::fixtures_dir().join("src");
    let out_root = brine_tests::fixtures_dir().join("marshal");
    let interpreters: Vec<_> = brine_tests::interpreters()
        .into_iter()
        .filter(|i| args.is_empty() || args.contains(&i.label()))
        .collect();
    if interpreters.is_empty() {
        return Err(if args.is_empty() {
            "no CPython interpreter found (pyenv, PATH or BRINE_PYTHONS)".to_string()
        } else {
            format!("no installed interpreter matches {args:?}")
        });
    }
    for interp in &interpreters {
        let out = out_root.join(interp.label());
        clear_dir(&out)?;
        let status = interp
            .command()
            .arg(&script)
            .arg(&src)
            .arg(&out)
            .current_dir(&root)
            .status()
            .map_err(|e| format!("cannot run {}: {e}", interp.path.display()))?;
        if !status.success() {
            return Err(format!(
                "{} failed on {} ({status})",
                script.display(),
                interp.path.display()
            ));
        }
        let files = fs::read_dir(&out).map_err(|e| e.to_string())?.count();
        println!(
            "fixtures marshal: {} ({}): {files} files in {}",
            interp.label(),
            interp.full_version,
            out.strip_prefix(&root).unwrap_or(&out).display()
        );
    }
    Ok(())
}

/// Empties (or creates) `dir`.
fn clear_dir(dir: &Path) -> crate::TaskResult {
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(|e| format!("cannot empty {}: {e}", dir.display()))?;
    }
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))
}
