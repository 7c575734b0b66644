//! The `brine` command-line tool: a thin layer over the library crates.
fn main() -> std::process::ExitCode {
    brine_pickle_ext::cli::main()
}
