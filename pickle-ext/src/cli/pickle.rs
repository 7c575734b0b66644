//! `brine dis` and `brine show`.

use super::{DisArgs, ShowArgs};
use std::process::ExitCode;

/// Runs `brine dis`: prints exactly what `pickletools.dis(data, indentlevel=N, annotate=N)`
/// (CPython 3.13) prints for the first pickle of the file, and exits 0. When pickletools would
/// raise, the text it printed before raising goes to stdout, then `ExceptionClass: message` to
/// stderr, and the exit status is 1. An unreadable file (or unwritable output) exits 2.
pub fn dis(args: &DisArgs) -> ExitCode {
    use brine_pickle_core::dis::{dis_to, DisMemo, DisOptions};
    use std::io::Write;
    let data = match std::fs::read(&args.file) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("brine dis: {}: {e}", args.file.display());
            return ExitCode::from(2);
        }
    };
    // Streamed line by line: a large pickle's disassembly never sits in memory.
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let mut write_failed = false;
    let (error, _end) = dis_to(
        &data,
        &DisOptions {
            indentlevel: args.indent,
            annotate: args.annotate,
        },
        &mut DisMemo::new(),
        &mut |text: &str| {
            if !write_failed && stdout.write_all(text.as_bytes()).is_err() {
                write_failed = true;
            }
        },
    );
    if stdout.flush().is_err() || write_failed {
        return ExitCode::from(2);
    }
    match error {
        None => ExitCode::SUCCESS,
        Some(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}

/// Runs `brine show`: loads the first pickle of the file into a graph (nothing is executed;
/// Python-2 strings are kept as bytes, as `pickle.loads(data, encoding='bytes')`) and prints it
/// as readable Python-like text ([`view_to_python`]), or with `--json` as the JSON view
/// documented in [`crate::json::pickle`]. With `--roundtrip`, writes the graph back with the
/// CPython pickler profiles and exits 0 iff one reproduces the input bytes exactly (1 if not).
/// With `--functions`, prints every shipped function and class instead (see
/// [`super::functions`]; `--json` then prints the decoded model).
/// A pickle that does not load exits 1 with the error (and its byte offset) on stderr; an
/// unreadable file exits 2.
pub fn show(args: &ShowArgs) -> ExitCode {
    use crate::json::pickle::{pickle_to_json, view_to_python, ViewOptions};
    use brine_pickle_core::{loads_with, writer, LoadOptions, Py2Encoding};
    let data = match std::fs::read(&args.file) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("brine show: {}: {e}", args.file.display());
            return ExitCode::from(2);
        }
    };
    if args.functions {
        // Extended pickles: the decoded model (functions, classes, ...), never the raw graph.
        return match super::functions::render(&data, args.json) {
            Ok(text) => {
                use std::io::Write;
                let mut stdout = std::io::stdout().lock();
                match stdout
                    .write_all(text.as_bytes())
                    .and_then(|()| stdout.flush())
                {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(_) => ExitCode::from(2),
                }
            }
            Err(e) => {
                eprintln!("brine show: {}: {e}", args.file.display());
                ExitCode::from(1)
            }
        };
    }
    let options = LoadOptions {
        encoding: Py2Encoding::Bytes,
        // The recorded opcode choices let --roundtrip reproduce any pickler's bytes.
        record_steps: args.roundtrip,
        ..LoadOptions::default()
    };
    let graph = match loads_with(&data, &options) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("brine show: {}: {e}", args.file.display());
            return ExitCode::from(1);
        }
    };
    if args.roundtrip {
        return match writer::reemit(&graph, &data) {
            Ok((_, Some(profile))) => {
                println!("{}: round trip OK ({profile:?})", args.file.display());
                ExitCode::SUCCESS
            }
            Ok((ours, None)) => {
                let end = graph.pickles.first().map_or(data.len(), |p| p.end as usize);
                let input = &data[..end.min(data.len())];
                let at = ours
                    .iter()
                    .zip(input)
                    .position(|(a, b)| a != b)
                    .unwrap_or(ours.len().min(input.len()));
                println!(
                    "{}: round trip differs at byte {at} (re-emitted {} bytes, input {})",
                    args.file.display(),
                    ours.len(),
                    input.len()
                );
                ExitCode::from(1)
            }
            Err(e) => {
                eprintln!("brine show: {}: cannot re-emit: {e}", args.file.display());
                ExitCode::from(1)
            }
        };
    }
    let view = match pickle_to_json(&graph, &ViewOptions::default()) {
        Ok(v) => v,
        Err(e) if !args.json => {
            // Too deep for the view: fall back to the iterative repr, cut at the same depth.
            eprintln!(
                "brine show: {}: {e}; showing repr() cut at that depth",
                args.file.display()
            );
            let depth = ViewOptions::default().max_depth;
            println!(
                "{}",
                brine_pickle_core::pyrepr::repr_node(&graph, graph.root(), depth)
            );
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("brine show: {}: {e}", args.file.display());
            return ExitCode::from(1);
        }
    };
    if args.json {
        println!("{}", view.to_text(None));
    } else if let Some(value) = view.get("value") {
        println!("{}", view_to_python(value));
    }
    ExitCode::SUCCESS
}
