//! `cargo xtask fixtures pickle`: regenerates `tests/fixtures/pickle/` from the installed
//! interpreters.
//!
//! Steps (the Python side lives in `xtask/py/pickle_fixtures.py`):
//!
//! 1. every interpreter pickles the corpus with its C and pure-Python picklers at every protocol
//!    it supports (`dump`), into a scratch directory;
//! 2. CPython 3.11 and 3.13 (when installed) run their C and pure-Python unpicklers on the
//!    malformed streams (`malformed`);
//! 3. CPython 3.13 deduplicates the streams, disassembles each with `pickletools` (plain and
//!    annotated), records `genops`, records its JSON view of the loaded data and writes
//!    `index.json` and `malformed.json` (`analyze`).
//!
//! Everything generated is deterministic (`PYTHONHASHSEED=0`, sorted lists, stable JSON), so
//! running the task twice changes nothing. The hand-written `README.md` is kept.

use brine_tests::{fixtures_dir, interpreters, workspace_root, Interpreter};
use std::path::{Path, PathBuf};

/// Runs the task.
pub fn run(_args: &[String]) -> crate::TaskResult {
    let interps = interpreters();
    let Some(analyzer) = interps.iter().find(|i| i.version == (3, 13)) else {
        return Err("CPython 3.13 is needed to disassemble and view the fixtures".to_string());
    };
    let script = workspace_root()
        .join("xtask")
        .join("py")
        .join("pickle_fixtures.py");
    let spec = workspace_root()
        .parent()
        .map(|p| p.join("shared/spec/data/pickle/unpickler_errors_cpython311.json"))
        .filter(|p| p.is_file())
        .ok_or("missing ../shared/spec/data/pickle/unpickler_errors_cpython311.json")?;
    let scratch =
        std::env::temp_dir().join(format!("brine-pickle-fixtures-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let result = generate(&interps, analyzer, &script, &spec, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn generate(
    interps: &[Interpreter],
    analyzer: &Interpreter,
    script: &Path,
    spec: &Path,
    scratch: &Path,
) -> crate::TaskResult {
    for interp in interps {
        eprintln!(
            "pickle fixtures: dumping the corpus with CPython {}",
            interp.full_version
        );
        python(interp, script, &["dump".as_ref(), scratch.as_os_str()])?;
        if matches!(interp.version, (3, 11) | (3, 13)) {
            let out = scratch.join(interp.label()).join("malformed.json");
            python(
                interp,
                script,
                &["malformed".as_ref(), spec.as_os_str(), out.as_os_str()],
            )?;
        }
    }
    std::fs::write(scratch.join("spec_path.txt"), spec.display().to_string())
        .map_err(|e| e.to_string())?;
    let final_dir = fixtures_dir().join("pickle");
    clear_generated(&final_dir)?;
    eprintln!(
        "pickle fixtures: analysing with CPython {}",
        analyzer.full_version
    );
    python(
        analyzer,
        script,
        &[
            "analyze".as_ref(),
            scratch.as_os_str(),
            final_dir.as_os_str(),
        ],
    )?;
    Ok(())
}

/// Removes everything in `dir` except the hand-written `README.md`, so stale fixtures vanish.
fn clear_generated(dir: &Path) -> crate::TaskResult {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path: PathBuf = entry.map_err(|e| e.to_string())?.path();
        if path.file_name().is_some_and(|n| n == "README.md") {
            continue;
        }
        let res = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        res.map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

fn python(interp: &Interpreter, script: &Path, args: &[&std::ffi::OsStr]) -> crate::TaskResult {
    let status = interp
        .command()
        .arg(script)
        .args(args)
        .status()
        .map_err(|e| format!("running {}: {e}", interp.path.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} {} {:?} failed with {status}",
            interp.path.display(),
            script.display(),
            args.first()
        ))
    }
}
