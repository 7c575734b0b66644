//! `cargo xtask`: project automation.
//!
//! * `cargo xtask fixtures [marshal|pickle|ext|all]` regenerates `tests/fixtures/` from the installed
//!   interpreters (deterministic; running it twice changes nothing).
//! * `cargo xtask codegen [--check]` regenerates the committed opcode tables of `codeobj`.
//! * `cargo xtask verify-stdlib [VERSION...]` parses, round-trips and decodes every `.pyc` of
//!   every installed interpreter's standard library.
//! * `cargo xtask bench <marshal|codeobj|pickle>` compares our readers with CPython on the same
//!   input in the same run and prints ratios.

mod bench_codeobj;
mod bench_marshal;
mod bench_pickle;
mod codegen;
mod fixtures_ext;
mod fixtures_marshal;
mod fixtures_pickle;
mod verify_stdlib;

use std::process::ExitCode;

/// Result type used by every task.
pub type TaskResult = Result<(), String>;

fn usage() -> ExitCode {
    eprintln!(
        "usage: cargo xtask <task>\n\
         tasks:\n  \
         fixtures [marshal|pickle|ext|all] regenerate tests/fixtures from the installed interpreters\n  \
         codegen [--check]               regenerate (or check) codeobj's opcode tables\n  \
         verify-stdlib [X.Y ...]         parse/round-trip/decode every stdlib .pyc of installed interpreters\n  \
         bench <marshal|codeobj|pickle>  compare our readers with CPython on the same input"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(task) = args.first() else {
        return usage();
    };
    let rest = &args[1..];
    let result = match task.as_str() {
        "fixtures" => {
            let which = rest.first().map(String::as_str).unwrap_or("all");
            match which {
                "marshal" => fixtures_marshal::run(&rest[1.min(rest.len())..]),
                "pickle" => fixtures_pickle::run(&rest[1.min(rest.len())..]),
                "ext" => fixtures_ext::run(&rest[1.min(rest.len())..]),
                "all" => fixtures_marshal::run(&[])
                    .and_then(|()| fixtures_pickle::run(&[]))
                    .and_then(|()| fixtures_ext::run(&[])),
                other => Err(format!("unknown fixture set {other:?}")),
            }
        }
        "codegen" => codegen::run(rest),
        "verify-stdlib" => verify_stdlib::run(rest),
        "bench" => match rest.first().map(String::as_str) {
            Some("marshal") => bench_marshal::run(&rest[1..]),
            Some("codeobj") => bench_codeobj::run(&rest[1..]),
            Some("pickle") => bench_pickle::run(&rest[1..]),
            _ => return usage(),
        },
        _ => return usage(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("xtask {task}: {msg}");
            ExitCode::FAILURE
        }
    }
}
