//! `brine pyc` (not implemented yet).

use super::PycArgs;
use std::process::ExitCode;

/// Runs `brine pyc`.
pub fn run(_args: &PycArgs) -> ExitCode {
    eprintln!("brine pyc: not implemented yet");
    ExitCode::from(2)
}
