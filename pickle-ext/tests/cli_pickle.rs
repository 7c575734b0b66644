//! The `brine dis` command-line contract on committed fixtures (expected text from CPython
//! 3.13's `pickletools.dis`, see `tests/fixtures/pickle/README.md`): stdout equals the
//! `.dis.txt` / `.annotated.txt` files, a stream pickletools rejects exits 1 with
//! `ExceptionClass: message` on stderr (the text printed before the exception still on
//! stdout), and an unreadable file exits 2.
#![cfg(feature = "cli")]

use brine_pickle_ext::json::Json;
use std::path::PathBuf;
use std::process::{Command, Output};

fn pickle_fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .join("tests/fixtures/pickle")
}

fn brine(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_brine"))
        .args(args)
        .output()
        .expect("run brine")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// One stream file of `index.json` that has a recorded `pickletools.dis` result.
struct DisCase {
    stem: String,
    dis_error: Option<String>,
    annotated: bool,
}

fn dis_cases() -> Vec<DisCase> {
    let index = std::fs::read_to_string(pickle_fixtures().join("index.json")).expect("index");
    let doc = Json::parse(&index).expect("index.json parses");
    let Some(Json::Array(streams)) = doc.get("streams") else {
        panic!("index.json has no streams");
    };
    streams
        .iter()
        .filter_map(|s| {
            let dis_error = s.get("dis_error")?;
            Some(DisCase {
                stem: s.get("file")?.as_string()?,
                dis_error: dis_error.as_string(),
                annotated: s.get("annotated") == Some(&Json::Bool(true)),
            })
        })
        .collect()
}

/// Runs `brine dis` on the case and checks stdout, stderr and exit status.
fn check(case: &DisCase, annotated: bool) -> Result<(), String> {
    let dir = pickle_fixtures();
    let pickle = dir.join(format!("{}.pickle", case.stem));
    let (suffix, args): (&str, &[&str]) = if annotated {
        ("annotated.txt", &["--annotate", "30", "--indent", "2"])
    } else {
        ("dis.txt", &[])
    };
    let want = std::fs::read_to_string(dir.join(format!("{}.{suffix}", case.stem)))
        .map_err(|e| format!("{}: {e}", case.stem))?;
    let mut argv = vec!["dis", pickle.to_str().unwrap()];
    argv.extend_from_slice(args);
    let out = brine(&argv);
    let got = text(&out.stdout);
    if got != want {
        return Err(format!("{} ({suffix}): stdout differs", case.stem));
    }
    match &case.dis_error {
        None if out.status.code() == Some(0) && out.stderr.is_empty() => Ok(()),
        Some(err) if out.status.code() == Some(1) && text(&out.stderr).trim_end() == err => Ok(()),
        _ => Err(format!(
            "{} ({suffix}): exit {:?}, stderr {:?}, CPython error {:?}",
            case.stem,
            out.status.code(),
            text(&out.stderr),
            case.dis_error
        )),
    }
}

#[test]
fn dis_output_equals_pickletools_on_fixtures() {
    let cases = dis_cases();
    assert!(
        cases.len() > 100,
        "too few fixture streams: {}",
        cases.len()
    );
    // Every rejected stream, and a spread of the accepted ones (each run spawns the binary).
    let chosen: Vec<&DisCase> = cases
        .iter()
        .enumerate()
        .filter(|(i, c)| c.dis_error.is_some() || i % 16 == 0)
        .map(|(_, c)| c)
        .collect();
    let mut failures = Vec::new();
    let mut annotated = 0;
    for case in &chosen {
        if let Err(e) = check(case, false) {
            failures.push(e);
        }
        if case.annotated {
            annotated += 1;
            if let Err(e) = check(case, true) {
                failures.push(e);
            }
        }
    }
    assert!(annotated > 0, "no annotated fixture was checked");
    assert!(
        chosen.iter().any(|c| c.dis_error.is_some()),
        "no rejected fixture stream was checked"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn dis_rejected_stream_exits_1_with_the_exception_on_stderr() {
    // An unknown opcode after one valid opcode: pickletools prints the first line, then raises
    // `ValueError: at position 1, opcode b'\xff' unknown` (checked against CPython 3.13).
    let dir = std::env::temp_dir().join(format!("brine-cli-pickle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let path = dir.join("bad.pickle");
    std::fs::write(&path, b"N\xff").expect("write");
    let out = brine(&["dis", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "    0: N    NONE\n");
    assert_eq!(
        text(&out.stderr).trim_end(),
        "ValueError: at position 1, opcode b'\\xff' unknown"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn dis_unreadable_file_exits_2() {
    let missing = std::env::temp_dir().join("brine-cli-pickle-no-such-file.pickle");
    let out = brine(&["dis", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(
        text(&out.stderr).starts_with("brine dis: "),
        "stderr: {}",
        text(&out.stderr)
    );
}
