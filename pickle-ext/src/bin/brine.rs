//! The `brine` command-line tool (a thin layer over the library crates).
fn main() {
    eprintln!("brine: not implemented yet");
    std::process::exit(2);
}
