//! `brine pyc`: the header and code-object tree of `.pyc` files (or raw marshal streams).
//!
//! * default: a readable tree (a title line with the header fields, then each code object's
//!   fields, indented);
//! * `--json`: one compact JSON document per file, per line (schema:
//!   [`crate::json::pyc`]), every CODE with its `"instructions"` and `"summary"`
//!   ([`crate::json::code`]);
//! * `--dis`: the header, then a `dis.dis`-style listing of every code object (the listing of
//!   the interpreter version that wrote the file);
//! * `--roundtrip`: exit 0 iff writing the decoded file gives back the same bytes; otherwise
//!   print the first differing offset and exit 1;
//! * `--marshal --python X.Y`: the files are raw marshal streams written by Python X.Y.
//!
//! A file that cannot be read or parsed gets one line on stderr,
//! `brine: FILE: at byte N: cause`, and the exit status is 2 (the other files are still
//! processed). Otherwise the status is 1 if any round trip differed, else 0.

use super::PycArgs;
use crate::json::pyc::{pyc_to_json_with, stream_to_json_with, ViewOptions};
use crate::json::Json;
use brine_marshal::{repr, PyVersion, Pyc, ReadOptions};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Runs `brine pyc`.
pub fn run(args: &PycArgs) -> ExitCode {
    let version = match (&args.python, args.marshal) {
        (Some(v), true) => match v.parse::<PyVersion>() {
            Ok(v) if v.is_supported() => Some(v),
            Ok(v) => {
                eprintln!("brine: Python {v} is not supported (2.7 and 3.0-3.15 are)");
                return ExitCode::from(2);
            }
            Err(e) => {
                eprintln!("brine: --python: {e}");
                return ExitCode::from(2);
            }
        },
        (Some(_), false) => {
            eprintln!("brine: --python only applies to raw marshal streams (--marshal)");
            return ExitCode::from(2);
        }
        _ => None,
    };
    if args.dis && args.json {
        eprintln!("brine: --dis and --json cannot be combined (the JSON view has no listing)");
        return ExitCode::from(2);
    }
    let mut status = 0u8;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for file in &args.files {
        let code = match process(file, version, args, &mut out) {
            Ok(code) => code,
            Err(msg) => {
                let _ = out.flush();
                eprintln!("brine: {}: {msg}", file.display());
                2
            }
        };
        status = status.max(code);
    }
    let _ = out.flush();
    ExitCode::from(status)
}

/// Handles one file; returns its exit status (0 or 1), or the error line's text.
fn process(
    file: &Path,
    version: Option<PyVersion>,
    args: &PycArgs,
    out: &mut impl Write,
) -> Result<u8, String> {
    let data = std::fs::read(file).map_err(|e| format!("cannot read: {e}"))?;
    let at = |e: brine_marshal::Error| format!("at byte {}: {}", e.offset, e.kind);
    let view_err = |e: crate::json::pyc::ViewError| format!("cannot show: {e}");
    let wants_view = args.json || (!args.roundtrip && !args.dis);
    // The JSON document adds instructions and summaries; the readable tree shows the fields.
    let options = ViewOptions {
        analysis: args.json,
        ..ViewOptions::default()
    };
    let (written, view, header_line, listing) = match version {
        Some(v) => {
            let stream = brine_marshal::read(&data, &ReadOptions::new(v)).map_err(at)?;
            let view = if wants_view {
                Some(stream_to_json_with(&stream, &options).map_err(view_err)?)
            } else {
                None
            };
            let listing = if args.dis {
                Some(listing(&stream)?)
            } else {
                None
            };
            let line = format!(
                "{}: marshal stream, Python {v}, {} bytes",
                file.display(),
                data.len()
            );
            (stream.write(), view, line, listing)
        }
        None => {
            let pyc = Pyc::parse(&data).map_err(at)?;
            let view = if wants_view {
                Some(pyc_to_json_with(&pyc, &options).map_err(view_err)?)
            } else {
                None
            };
            let listing = if args.dis {
                Some(listing(&pyc.stream)?)
            } else {
                None
            };
            let h = &pyc.header;
            let line = format!(
                "{}: Python {} pyc, magic {}, flags {}, {}",
                file.display(),
                h.version,
                h.magic_number(),
                h.flags.unwrap_or(0),
                match (h.mtime(), h.source_size(), h.source_hash()) {
                    (_, _, Some(hash)) => format!("source hash {}", crate::json::hex(&hash)),
                    (Some(m), Some(n), None) => format!("mtime {m}, source size {n}"),
                    (Some(m), None, None) => format!("mtime {m}"),
                    _ => String::new(),
                }
            );
            (pyc.write(), view, line, listing)
        }
    };
    let io = |e: std::io::Error| format!("cannot write output: {e}");
    if let Some(listing) = &listing {
        writeln!(out, "{header_line}\n{listing}").map_err(io)?;
    }
    if let Some(view) = &view {
        if args.json {
            writeln!(out, "{}", view.to_text(None)).map_err(io)?;
        } else if !args.roundtrip && !args.dis {
            let mut text = String::new();
            text.push_str(&header_line);
            text.push('\n');
            render_tree(view, &mut text);
            out.write_all(text.as_bytes()).map_err(io)?;
        }
    }
    if args.roundtrip {
        match first_difference(&written, &data) {
            None => {
                if !args.json {
                    writeln!(
                        out,
                        "{}: round trip identical ({} bytes)",
                        file.display(),
                        data.len()
                    )
                    .map_err(io)?;
                }
                Ok(0)
            }
            Some(offset) => {
                writeln!(
                    out,
                    "{}: round trip differs at byte {offset} (wrote {} bytes, read {})",
                    file.display(),
                    written.len(),
                    data.len()
                )
                .map_err(io)?;
                Ok(1)
            }
        }
    } else {
        Ok(0)
    }
}

/// The `dis.dis`-style listing of the stream's code object (and every nested one).
fn listing(stream: &brine_marshal::Stream<'_>) -> Result<String, String> {
    use brine_codeobj::{disassemble_recursive, Code, FromMarshalOptions};
    let code = Code::from_stream(stream, FromMarshalOptions::default())
        .map_err(|e| format!("cannot disassemble: {e}"))?;
    Ok(disassemble_recursive(&code, usize::MAX))
}

/// The first offset where `a` and `b` differ (the shorter length if one is a prefix).
fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => Some(i),
        None if a.len() != b.len() => Some(a.len().min(b.len())),
        None => None,
    }
}

// ---------------------------------------------------------------------------------------------
// The readable tree, rendered from the JSON view (so both always show the same fields).

fn render_tree(view: &Json, out: &mut String) {
    let version: (u8, u8) = view["python"]
        .as_string()
        .and_then(|v| {
            let (a, b) = v.split_once('.')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        })
        .unwrap_or((3, 0));
    if let Json::Object(pairs) = view {
        for (key, value) in pairs {
            match key.as_str() {
                "code" => {
                    if value.get("co_code").is_some() {
                        render_code(value, version, 1, out);
                    } else {
                        line(out, 1, &format!("object: {}", value_repr(value)));
                    }
                }
                "value" => {
                    if let Some(code) = value.get("code") {
                        render_code(code, version, 1, out);
                    } else {
                        line(out, 1, &format!("value: {}", value_repr(value)));
                    }
                }
                // Shown in the title line.
                "magic" | "flags" | "mtime" | "source_size" | "source_hash" | "python" => {}
                _ => line(out, 1, &format!("{key}: {}", value.to_text(None))),
            }
        }
    }
}

fn line(out: &mut String, indent: usize, text: &str) {
    for _ in 0..indent {
        out.push_str("  ");
    }
    out.push_str(text);
    out.push('\n');
}

fn render_code(code: &Json, version: (u8, u8), indent: usize, out: &mut String) {
    let text = |k: &str| {
        code.get(k)
            .map(|v| match v {
                Json::Str(points) => repr::str_repr_code_points(points),
                other => value_repr(other),
            })
            .unwrap_or_default()
    };
    let name = if code.get("co_qualname").is_some() {
        text("co_qualname")
    } else {
        text("co_name")
    };
    let first = code
        .get("co_firstlineno")
        .and_then(Json::as_i64)
        .unwrap_or(0);
    line(
        out,
        indent,
        &format!("code {name} (file {}, line {first})", text("co_filename")),
    );
    let Json::Object(pairs) = code else { return };
    // Scalars and tables first, then the constants (which may nest whole code objects).
    let ordered = pairs
        .iter()
        .filter(|(k, _)| k != "co_consts")
        .chain(pairs.iter().filter(|(k, _)| k == "co_consts"));
    for (key, value) in ordered {
        match (key.as_str(), value) {
            ("co_consts", Json::Array(items)) => {
                line(
                    out,
                    indent + 1,
                    &format!("co_consts: {} item(s)", items.len()),
                );
                for (i, item) in items.iter().enumerate() {
                    match item.get("code") {
                        Some(nested) if nested.get("co_code").is_some() => {
                            line(out, indent + 2, &format!("[{i}]"));
                            render_code(nested, version, indent + 3, out);
                        }
                        _ => line(out, indent + 2, &format!("[{i}] {}", value_repr(item))),
                    }
                }
            }
            ("co_code" | "co_lnotab" | "co_linetable" | "co_exceptiontable", Json::Str(_)) => {
                let hex = value.as_string().unwrap_or_default();
                line(
                    out,
                    indent + 1,
                    &format!("{key}: ({} bytes) {hex}", hex.len() / 2),
                );
            }
            ("co_flags", Json::Int(v)) => line(
                out,
                indent + 1,
                &format!("{key}: {v:#x}{}", flag_names(*v, version)),
            ),
            (_, Json::Int(v)) => line(out, indent + 1, &format!("{key}: {v}")),
            (_, Json::Str(points)) => line(
                out,
                indent + 1,
                &format!("{key}: {}", repr::str_repr_code_points(points)),
            ),
            (_, Json::Array(items)) => {
                let names: Vec<String> = items
                    .iter()
                    .map(|n| match n {
                        Json::Str(p) => repr::str_repr_code_points(p),
                        other => value_repr(other),
                    })
                    .collect();
                line(out, indent + 1, &format!("{key}: {}", tuple(&names)));
            }
            (_, other) => line(out, indent + 1, &format!("{key}: {}", value_repr(other))),
        }
    }
}

/// ` (OPTIMIZED, NEWLOCALS, future ANNOTATIONS)`: the names of the set bits, as `dis` names
/// them, for the version (3.8 read with the 3.8.3+ `__future__` bits).
fn flag_names(flags: i64, (major, minor): (u8, u8)) -> String {
    use brine_codeobj::flags::flag_names;
    use brine_codeobj::{CodeFlags, FutureLayout};
    let bits = flags as u32;
    let mut names: Vec<String> = flag_names(CodeFlags::from_bits_retain(bits), major, minor)
        .into_iter()
        .map(str::to_string)
        .collect();
    let futures = FutureLayout::for_version(major, minor, None).decode(bits);
    names.extend(futures.iter_names().map(|(n, _)| format!("future {n}")));
    if names.is_empty() {
        String::new()
    } else {
        format!(" ({})", names.join(", "))
    }
}

fn tuple(items: &[String]) -> String {
    if items.len() == 1 {
        format!("({},)", items[0])
    } else {
        format!("({})", items.join(", "))
    }
}

fn unhex(s: &str) -> Vec<u8> {
    s.as_bytes()
        .chunks_exact(2)
        .filter_map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
        .collect()
}

/// A Python-like repr of a VALUE (Python 3 spelling).
fn value_repr(v: &Json) -> String {
    let list = |v: &Json| -> Vec<String> {
        match v {
            Json::Array(items) => items.iter().map(value_repr).collect(),
            _ => Vec::new(),
        }
    };
    let pairs = |v: &Json| -> String {
        let Json::Array(items) = v else {
            return String::new();
        };
        items
            .iter()
            .map(|p| {
                let kv = list(p);
                format!(
                    "{}: {}",
                    kv.first().map_or("?", String::as_str),
                    kv.get(1).map_or("?", String::as_str)
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    match v {
        Json::Null => "None".into(),
        Json::Bool(true) => "True".into(),
        Json::Bool(false) => "False".into(),
        Json::Object(p) if p.len() == 1 => {
            let (tag, inner) = (&p[0].0, &p[0].1);
            match tag.as_str() {
                "int" | "float" => inner.as_string().unwrap_or_default(),
                "complex" => {
                    let parts: Vec<f64> = list(inner)
                        .iter()
                        .map(|s| s.trim_matches('\'').parse().unwrap_or(f64::NAN))
                        .collect();
                    match parts.as_slice() {
                        [re, im] => repr::complex_repr(*re, *im),
                        _ => inner.to_text(None),
                    }
                }
                "str" => match inner {
                    Json::Str(points) => repr::str_repr_code_points(points),
                    _ => inner.to_text(None),
                },
                "bytes" => repr::bytes_repr(&unhex(&inner.as_string().unwrap_or_default())),
                "tuple" => tuple(&list(inner)),
                "list" => format!("[{}]", list(inner).join(", ")),
                "set" if list(inner).is_empty() => "set()".into(),
                "set" => format!("{{{}}}", list(inner).join(", ")),
                "frozenset" if list(inner).is_empty() => "frozenset()".into(),
                "frozenset" => format!("frozenset({{{}}})", list(inner).join(", ")),
                "dict" => format!("{{{}}}", pairs(inner)),
                "frozendict" => format!("frozendict({{{}}})", pairs(inner)),
                "slice" => format!("slice({})", list(inner).join(", ")),
                "ellipsis" => "Ellipsis".into(),
                "stopiteration" => "StopIteration".into(),
                "cycle" => "...".into(),
                "code" => format!(
                    "<code object {}>",
                    inner
                        .get("co_name")
                        .and_then(Json::as_string)
                        .unwrap_or_default()
                ),
                _ => v.to_text(None),
            }
        }
        other => other.to_text(None),
    }
}

#[cfg(test)]
mod tests {
    use super::first_difference;

    #[test]
    fn first_difference_reports_the_first_offset_or_the_shorter_length() {
        assert_eq!(first_difference(b"abc", b"abc"), None);
        assert_eq!(first_difference(b"abc", b"abd"), Some(2));
        assert_eq!(first_difference(b"xbc", b"abc"), Some(0));
        assert_eq!(first_difference(b"ab", b"abc"), Some(2));
        assert_eq!(first_difference(b"abc", b"ab"), Some(2));
    }
}
