//! `cargo xtask fixtures ext [X.Y ...]`: regenerates `tests/fixtures/ext/` (extended pickles made
//! by real cloudpickle, dill, extpickle, joblib and the copyreg+marshal trick, with the facts
//! CPython reports and the outcome of reloading each payload in a fresh process).
//!
//! The producer versions are pinned in `xtask/py/ext_pins.json`: one virtualenv per entry, created
//! outside the repository (`$BRINE_VENV_DIR/<X.Y>-<name>`, default `~/.cache/brine/venvs`) and reused
//! while the requirements recorded in it (`brine-requirements.txt`) match the table. Python 3 venvs
//! use `python -m venv`; Python 2.7 has no `venv` module, so a self-contained `virtualenv` 16.7.12
//! is first installed with `pip install --target` into `<venv root>/_virtualenv-16.7.12` and run
//! from there. Creating a venv needs PyPI; reusing one does not.
//!
//! The Python side (`xtask/py/ext_samples.py`) does the pickling, one child process per producer
//! family, and the fresh-process reloads; see its docstring and `tests/fixtures/ext/README.md`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use brine_tests::{fixtures_dir, interpreters, workspace_root, Interpreter};
use serde_json::Value;

/// The self-contained virtualenv release used to make Python 2.7 venvs.
const PY2_VIRTUALENV: &str = "virtualenv==16.7.12";

/// One row of `ext_pins.json`.
struct VenvSpec {
    python: String,
    name: String,
    requirements: Vec<String>,
    producers: Vec<String>,
}

fn py_dir() -> PathBuf {
    workspace_root().join("xtask").join("py")
}

fn load_pins() -> Result<Vec<VenvSpec>, String> {
    let path = py_dir().join("ext_pins.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let json: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let rows = json["venvs"]
        .as_array()
        .ok_or("ext_pins.json: no \"venvs\" array")?;
    let strings = |v: &Value, key: &str| -> Result<Vec<String>, String> {
        v[key]
            .as_array()
            .ok_or(format!("ext_pins.json: {key} is not an array"))?
            .iter()
            .map(|s| {
                s.as_str()
                    .map(str::to_string)
                    .ok_or(format!("ext_pins.json: {key} holds a non-string"))
            })
            .collect()
    };
    rows.iter()
        .map(|row| {
            Ok(VenvSpec {
                python: row["python"]
                    .as_str()
                    .ok_or("ext_pins.json: python")?
                    .to_string(),
                name: row["name"]
                    .as_str()
                    .ok_or("ext_pins.json: name")?
                    .to_string(),
                requirements: strings(row, "requirements")?,
                producers: strings(row, "producers")?,
            })
        })
        .collect()
}

fn venv_root() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("BRINE_VENV_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let home = std::env::var_os("HOME").ok_or("neither BRINE_VENV_DIR nor HOME is set")?;
    Ok(PathBuf::from(home)
        .join(".cache")
        .join("brine")
        .join("venvs"))
}

fn run_cmd(mut cmd: Command, what: &str) -> Result<(), String> {
    let status = cmd
        .status()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what}: exited with {status}"))
    }
}

/// The same deterministic environment as `Interpreter::command`, for another executable.
fn command_for(base: &Interpreter, exe: &Path) -> Command {
    Interpreter {
        path: exe.to_path_buf(),
        ..base.clone()
    }
    .command()
}

/// Creates (or reuses) the venv for `spec`; returns its python executable.
fn ensure_venv(interp: &Interpreter, spec: &VenvSpec, root: &Path) -> Result<PathBuf, String> {
    let dir = root.join(format!("{}-{}", spec.python, spec.name));
    let python = dir.join("bin").join("python");
    let marker = dir.join("brine-requirements.txt");
    let wanted = spec.requirements.join("\n") + "\n";
    if python.is_file() && std::fs::read_to_string(&marker).ok().as_deref() == Some(&wanted) {
        return Ok(python);
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::create_dir_all(root).map_err(|e| format!("{}: {e}", root.display()))?;
    eprintln!("creating venv {}", dir.display());
    if interp.version.0 == 2 {
        let boot = root.join("_virtualenv-16.7.12");
        if !boot.join("virtualenv.py").is_file() {
            let mut cmd = interp.command();
            cmd.args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
                .arg("--target")
                .arg(&boot)
                .arg(PY2_VIRTUALENV);
            run_cmd(cmd, "pip install virtualenv (Python 2 bootstrap)")?;
        }
        let mut cmd = interp.command();
        cmd.env("PYTHONPATH", &boot)
            .args(["-m", "virtualenv", "-q"])
            .arg(&dir);
        run_cmd(cmd, "virtualenv")?;
    } else {
        let mut cmd = interp.command();
        cmd.args(["-m", "venv"]).arg(&dir);
        run_cmd(cmd, "python -m venv")?;
    }
    let mut cmd = command_for(interp, &python);
    cmd.args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
        .args(&spec.requirements);
    run_cmd(cmd, &format!("pip install {}", spec.requirements.join(" ")))?;
    std::fs::write(&marker, wanted).map_err(|e| format!("{}: {e}", marker.display()))?;
    Ok(python)
}

/// Runs the task. Arguments: optional `X.Y` labels restricting the interpreters used.
pub fn run(args: &[String]) -> crate::TaskResult {
    let pins = load_pins()?;
    let only: BTreeSet<&str> = args.iter().map(String::as_str).collect();
    let found = interpreters();
    let out_dir = fixtures_dir().join("ext");
    let root = venv_root()?;
    let mut cleared: BTreeSet<String> = BTreeSet::new();
    let mut done = 0usize;
    for spec in &pins {
        if !only.is_empty() && !only.contains(spec.python.as_str()) {
            continue;
        }
        let Some(interp) = found.iter().find(|i| i.label() == spec.python) else {
            eprintln!(
                "skipping {}-{}: no Python {} found",
                spec.python, spec.name, spec.python
            );
            continue;
        };
        let python = ensure_venv(interp, spec, &root)?;
        // Stale fixtures of this Python go once, before its first venv runs.
        if cleared.insert(spec.python.clone()) {
            let dir = out_dir.join(&spec.python);
            if dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
        }
        eprintln!(
            "fixtures ext: Python {} with {}",
            interp.full_version,
            spec.requirements.join(" ")
        );
        // A relative output path keeps local paths out of everything the scripts record.
        let mut cmd = command_for(interp, &python);
        cmd.current_dir(py_dir())
            .arg("ext_samples.py")
            .arg("run")
            .arg("--out")
            .arg(
                Path::new("..")
                    .join("..")
                    .join("tests")
                    .join("fixtures")
                    .join("ext"),
            )
            .arg("--producers")
            .arg(spec.producers.join(","))
            .arg("--pins")
            .arg(spec.requirements.join(" "));
        run_cmd(
            cmd,
            &format!("ext_samples.py for {}-{}", spec.python, spec.name),
        )?;
        done += 1;
    }
    if done == 0 {
        return Err("no interpreter matched any venv of ext_pins.json".to_string());
    }
    eprintln!(
        "fixtures ext: {done} venv(s) done; output in {}",
        out_dir.display()
    );
    Ok(())
}
