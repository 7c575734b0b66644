//! `brine dis` and `brine show`.

use super::{DisArgs, ShowArgs};
use std::process::ExitCode;

/// Runs `brine dis`: prints exactly what `pickletools.dis(data, indentlevel=N, annotate=N)`
/// (CPython 3.13) prints for the first pickle of the file, and exits 0. When pickletools would
/// raise, the text it printed before raising goes to stdout, then `ExceptionClass: message` to
/// stderr, and the exit status is 1. An unreadable file exits 2.
pub fn dis(args: &DisArgs) -> ExitCode {
    use brine_pickle_core::dis::{dis, DisOptions};
    use std::io::Write;
    let data = match std::fs::read(&args.file) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("brine dis: {}: {e}", args.file.display());
            return ExitCode::from(2);
        }
    };
    let out = dis(
        &data,
        &DisOptions {
            indentlevel: args.indent,
            annotate: args.annotate,
        },
    );
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.text.as_bytes());
    let _ = stdout.flush();
    match out.error {
        None => ExitCode::SUCCESS,
        Some(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}

/// Runs `brine show`.
pub fn show(_args: &ShowArgs) -> ExitCode {
    eprintln!("brine show: not implemented yet");
    ExitCode::from(2)
}
