//! `brine dis` and `brine show` (not implemented yet).

use super::{DisArgs, ShowArgs};
use std::process::ExitCode;

/// Runs `brine dis`.
pub fn dis(_args: &DisArgs) -> ExitCode {
    eprintln!("brine dis: not implemented yet");
    ExitCode::from(2)
}

/// Runs `brine show`.
pub fn show(_args: &ShowArgs) -> ExitCode {
    eprintln!("brine show: not implemented yet");
    ExitCode::from(2)
}
