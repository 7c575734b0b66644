//! The `brine` command line: argument parsing and dispatch. Each subcommand lives in its own
//! file and is a thin layer over the library crates.

mod functions;
mod pickle;
mod pyc;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// brine: read Python marshal, .pyc and pickle data without running Python.
#[derive(Debug, Parser)]
#[command(name = "brine", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the header and code-object tree of `.pyc` files (or raw marshal streams).
    Pyc(PycArgs),
    /// Disassemble a pickle exactly as `pickletools.dis` would.
    Dis(DisArgs),
    /// Show the object graph a pickle builds (without executing anything).
    Show(ShowArgs),
}

/// Arguments of `brine pyc`.
#[derive(Debug, clap::Args)]
pub struct PycArgs {
    /// Files to read.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print one JSON document per file.
    #[arg(long)]
    pub json: bool,
    /// Print the disassembly of every code object.
    #[arg(long)]
    pub dis: bool,
    /// Exit 0 iff writing the decoded file reproduces it byte for byte.
    #[arg(long)]
    pub roundtrip: bool,
    /// The files are raw marshal streams, not `.pyc` files (needs `--python`).
    #[arg(long, requires = "python")]
    pub marshal: bool,
    /// The Python version (`X.Y`) that wrote a raw marshal stream.
    #[arg(long, value_name = "X.Y")]
    pub python: Option<String>,
}

/// Arguments of `brine dis`.
#[derive(Debug, clap::Args)]
pub struct DisArgs {
    /// The pickle file.
    pub file: PathBuf,
    /// Annotate each line with a short opcode description, aligned at this column (as
    /// `pickletools.dis(annotate=N)`).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub annotate: usize,
    /// Indent nested structure by this many spaces per MARK level (as `indentlevel`).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub indent: usize,
}

/// Arguments of `brine show`.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// The pickle file.
    pub file: PathBuf,
    /// Print the graph as JSON.
    #[arg(long)]
    pub json: bool,
    /// Exit 0 iff the decoded graph re-emits the input bytes exactly.
    #[arg(long)]
    pub roundtrip: bool,
    /// Print every shipped function and class (extended pickles).
    #[arg(long)]
    pub functions: bool,
}

/// Parses the process arguments and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Pyc(args) => pyc::run(&args),
        Command::Dis(args) => pickle::dis(&args),
        Command::Show(args) => pickle::show(&args),
    }
}
