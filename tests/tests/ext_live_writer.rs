//! Live: functions, classes, enums, type variables and modules decoded from the fixtures and
//! written back by `Model::emit` (Python 2 targets at protocol 2; before 3.8 with the
//! producers' own cell helpers) load in a fresh interpreter with the real cloudpickle and dill
//! (the fixture venvs of `cargo xtask fixtures ext`, 2.7 and 3.6-3.13) and pass the same
//! behavioural checks as the originals.
//!
//! Skipped (with a line saying so) when the venvs are absent.

use brine_pickle_ext::model::{CellRecipe, ConstValue, EmitError, EmitOptions};
use brine_pickle_ext::recognise::{decode_with, DecodeOptions};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

struct Venv {
    python: (u8, u8),
    exe: PathBuf,
    cloudpickle: Option<String>,
    dill: bool,
    requirements: Vec<String>,
}

fn venvs() -> Vec<Venv> {
    let root = brine_tests::workspace_root();
    let Ok(text) = std::fs::read_to_string(root.join("xtask/py/ext_pins.json")) else {
        return Vec::new();
    };
    let pins: Value = serde_json::from_str(&text).unwrap();
    let base = std::env::var_os("BRINE_VENV_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/brine/venvs")));
    let Some(base) = base else { return Vec::new() };
    let mut out = Vec::new();
    for v in pins["venvs"].as_array().unwrap() {
        let py = v["python"].as_str().unwrap();
        let exe = base
            .join(format!("{py}-{}", v["name"].as_str().unwrap()))
            .join("bin/python");
        if !exe.is_file() {
            continue;
        }
        let (a, b) = py.split_once('.').unwrap();
        let reqs: Vec<&str> = v["requirements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        out.push(Venv {
            python: (a.parse().unwrap(), b.parse().unwrap()),
            exe,
            cloudpickle: reqs
                .iter()
                .find_map(|r| r.strip_prefix("cloudpickle==").map(str::to_string)),
            dill: reqs.iter().any(|r| r.starts_with("dill==")),
            requirements: reqs.iter().map(|r| r.to_string()).collect(),
        });
    }
    out
}

/// Every producer directory made with this venv's pins (cloudpickle, dill and extpickle
/// payloads; the copyreg trick ships bare code objects, not functions).
fn producer_dirs(venv: &Venv) -> Vec<PathBuf> {
    let vdir = brine_tests::fixtures_dir()
        .join("ext")
        .join(format!("{}.{}", venv.python.0, venv.python.1));
    let Ok(entries) = std::fs::read_dir(&vdir) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    dirs.sort();
    dirs.retain(|dir| {
        let Ok(info) = std::fs::read_to_string(dir.join("producer.json")) else {
            return false;
        };
        let info: Value = serde_json::from_str(&info).unwrap();
        let reqs: Vec<String> = info["requirements"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_string())
            .collect();
        reqs == venv.requirements && info["producer"] != "copyreg-marshal"
    });
    dirs
}

fn load_and_check(venv: &Venv, family: &str, sample: &str, path: &std::path::Path) -> Value {
    let out = Command::new(&venv.exe)
        .current_dir(brine_tests::workspace_root().join("xtask/py"))
        .env("PYTHONHASHSEED", "0")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("PYTHONPATH")
        .arg("ext_load.py")
        .arg(family)
        .arg(sample)
        .arg(path)
        .output()
        .expect("run the venv's python");
    assert!(
        out.status.success(),
        "loader crashed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Emission options for a venv's Python: protocol 2 for Python 2; before 3.8 (no
/// `types.CellType`) cells by the installed cloudpickle's helpers (0.4+), else dill's.
fn emit_options(venv: &Venv) -> EmitOptions {
    let old_cloudpickle = venv
        .cloudpickle
        .as_deref()
        .is_some_and(|v| v.starts_with("0.1") || v.starts_with("0.2") || v.starts_with("0.3"));
    let cells = if venv.python >= (3, 8) {
        CellRecipe::TypesCellType
    } else if !old_cloudpickle {
        CellRecipe::Cloudpickle {
            module: "cloudpickle.cloudpickle".into(),
        }
    } else {
        let old_dill = venv.requirements.iter().any(|r| r == "dill==0.2.7.1");
        CellRecipe::Dill {
            module: if old_dill { "dill.dill" } else { "dill._dill" }.into(),
        }
    };
    EmitOptions {
        protocol: if venv.python.0 < 3 { 2 } else { 4 },
        python: Some(venv.python),
        cells,
        ..EmitOptions::default()
    }
}

#[test]
fn emitted_functions_load_and_behave_like_the_originals() {
    let venvs: Vec<Venv> = venvs()
        .into_iter()
        .filter(|v| v.cloudpickle.is_some())
        .collect();
    if venvs.is_empty() {
        brine_tests::skip_live(
            "emitted_functions_load_and_behave_like_the_originals",
            "no fixture venvs (run cargo xtask fixtures ext)",
        );
        return;
    }
    let tmp = std::env::temp_dir().join(format!("brine-ext-live-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let (mut passed, mut unsupported, mut failures) = (0, Vec::new(), Vec::new());
    let jobs: Vec<(&Venv, PathBuf)> = venvs
        .iter()
        .flat_map(|v| producer_dirs(v).into_iter().map(move |d| (v, d)))
        .collect();
    for (venv, dir) in jobs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        for f in files
            .iter()
            .filter(|p| p.to_string_lossy().ends_with(".facts.json"))
        {
            let facts: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
            if facts["passes"] != true {
                continue;
            }
            let sample = facts["sample"].as_str().unwrap();
            let data = std::fs::read(dir.join(format!("{sample}.pkl"))).unwrap();
            let opts = DecodeOptions {
                python: Some(venv.python),
                ..DecodeOptions::default()
            };
            let m = decode_with(&data, &opts).unwrap();
            let bytes = match m.emit(m.root(), &emit_options(venv)) {
                Ok(b) => b,
                Err(EmitError::Unsupported(why)) => {
                    unsupported.push(format!("{} {sample}: {why}", dir.display()));
                    continue;
                }
                Err(e) => {
                    failures.push(format!("{} {sample}: {e}", dir.display()));
                    continue;
                }
            };
            let path = tmp.join(format!("{}.{}-{sample}.pkl", venv.python.0, venv.python.1));
            std::fs::write(&path, &bytes).unwrap();
            // One fresh process per payload (the loaders alternate, so both see every shape
            // across the suite without doubling its run time).
            let mut families = vec!["cloudpickle"];
            if venv.dill && (passed + failures.len()) % 2 == 1 {
                families = vec!["dill"];
            }
            // extpickle payloads name their globals through the `__mp_main__` alias of the
            // producing process; its loader recreates that alias (as the original needed).
            if facts["producer"]["producer"] == "extpickle" {
                families = vec!["extpickle"];
            }
            for family in families {
                let got = load_and_check(venv, family, sample, &path);
                if got["load"]["ok"] != true {
                    failures.push(format!(
                        "{} {sample} ({family}): load failed: {}",
                        dir.display(),
                        got["load"]
                    ));
                } else if got["check"] != facts["check"] {
                    failures.push(format!(
                        "{} {sample} ({family}): check {} != {}",
                        dir.display(),
                        got["check"],
                        facts["check"]
                    ));
                } else {
                    passed += 1;
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    println!(
        "{passed} emitted payloads loaded and passed their checks; {} not emitted",
        unsupported.len()
    );
    for u in &unsupported {
        println!("not emitted: {u}");
    }
    for f in &failures {
        println!("FAIL {f}");
    }
    assert!(failures.is_empty(), "{} failures", failures.len());
    assert!(passed > 0);
}

/// Rewriting: a payload re-emitted without a global, or with a constant replaced, loads in the
/// real loaders and behaves accordingly.
#[test]
fn edited_functions_behave_as_edited() {
    let Some(venv) = venvs()
        .into_iter()
        .find(|v| v.python == (3, 13) && v.cloudpickle.is_some())
    else {
        brine_tests::skip_live("edited_functions_behave_as_edited", "no 3.13 fixture venv");
        return;
    };
    let dir = brine_tests::fixtures_dir().join("ext/3.13/cloudpickle-3.1.2");
    let tmp = std::env::temp_dir().join(format!("brine-ext-edit-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let cases = [
        (
            "global_var",
            EmitOptions {
                remove_globals: vec!["FACTOR".to_string()],
                ..EmitOptions::default()
            },
            // scale(3) now fails: FACTOR is not shipped any more.
            serde_json::json!({"ok": true, "value": {"list": [{"str": "raised"}, {"str": "NameError"}]}}),
        ),
        (
            "recursive_global",
            EmitOptions {
                replace_consts: vec![(ConstValue::Int(1), ConstValue::Int(2))],
                ..EmitOptions::default()
            },
            // fact(n) = 2 if n <= 2 else n * fact(n - 2): fact(6) = 6 * 4 * 2.
            serde_json::json!({"ok": true, "value": {"list": [{"str": "ok"}, {"int": "48"}]}}),
        ),
    ];
    for (sample, opts, want) in cases {
        let data = std::fs::read(dir.join(format!("{sample}.pkl"))).unwrap();
        let m = decode_with(
            &data,
            &DecodeOptions {
                python: Some((3, 13)),
                ..DecodeOptions::default()
            },
        )
        .unwrap();
        let bytes = m.emit_function(m.root(), &opts).unwrap();
        let path = tmp.join(format!("{sample}.pkl"));
        std::fs::write(&path, bytes).unwrap();
        for family in ["cloudpickle", "dill"] {
            let got = load_and_check(&venv, family, sample, &path);
            assert_eq!(got["check"], want, "{sample} ({family})");
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

/// An enum with a mixin base (`class Color(str, Enum)`, shipped by value by a venv's
/// cloudpickle 1.5+) is emitted through the functional API with `type=str` and rebuilt by plain
/// `pickle.loads`, without cloudpickle: same members, values, and the mixin.
#[test]
fn mixin_enum_is_emitted_and_loads_with_plain_pickle() {
    let Some(venv) = venvs().into_iter().find(|v| {
        v.python >= (3, 8)
            && v.cloudpickle
                .as_deref()
                .is_some_and(|c| !c.starts_with("0.") && !c.starts_with("1."))
    }) else {
        brine_tests::skip_live(
            "mixin_enum_is_emitted_and_loads_with_plain_pickle",
            "no venv with Python 3.8+ and cloudpickle 2+",
        );
        return;
    };
    let dump = r#"
import sys, enum, cloudpickle
class Color(str, enum.Enum):
    RED = 'r'
    GREEN = 'g'
sys.stdout.buffer.write(cloudpickle.dumps(Color, protocol=4))
"#;
    let out = Command::new(&venv.exe)
        .args(["-c", dump])
        .output()
        .expect("run the venv's python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m = decode_with(&out.stdout, &DecodeOptions::default()).unwrap();
    let c = m.class(m.root()).expect("a class by value");
    assert_eq!(
        m.graph.items(c.bases.unwrap()).unwrap().len(),
        2,
        "two bases"
    );
    let options = EmitOptions {
        python: Some(venv.python),
        ..EmitOptions::default()
    };
    let bytes = m.emit(m.root(), &options).expect("mixin enums are emitted");
    let load = r#"
import sys, pickle, json
C = pickle.loads(sys.stdin.buffer.read())
print(json.dumps([[x.name, x.value, isinstance(x, str)] for x in C] + [C.__name__, C.RED == 'r']))
"#;
    let mut child = Command::new(&venv.exe)
        .args(["-S", "-c", load])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    println!("mixin enum reloaded by Python {:?}: {got}", venv.python);
    assert_eq!(
        got,
        serde_json::json!([["RED", "r", true], ["GREEN", "g", true], "Color", true])
    );
}
