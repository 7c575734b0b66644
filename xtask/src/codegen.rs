//! `cargo xtask codegen [--check]`: the opcode tables of `codeobj`.
//!
//! Two steps:
//! 1. For every installed interpreter, run `xtask/py/opcodes_dump.py` and store its output as
//!    `codeobj/data/opcodes/cpython-X.Y.json`; likewise for CPython 3.14 running as WebAssembly
//!    (Pyodide under `node`) when `BRINE_PYODIDE` names a Pyodide folder. The JSON of 3.0–3.5
//!    (no interpreter) is committed as written from those releases' `Lib/opcode.py`.
//! 2. Turn every JSON file into `codeobj/src/opcodes/generated/cpython_X_Y.rs` plus a `mod.rs`
//!    listing them.
//!
//! With `--check` nothing is written; the task fails if either step would change a file.
//!
//! This file is also compiled into `tests/tests/codeobj_codegen.rs` (through `#[path]`), so the
//! test suite can regenerate the Rust from the committed JSON without Python. It therefore uses
//! only `std`, `serde_json` and `brine_tests`, and nothing from the xtask crate.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Where the committed JSON lives, relative to the workspace root.
pub const DATA_DIR: &str = "codeobj/data/opcodes";
/// Where the generated Rust lives, relative to the workspace root.
pub const GENERATED_DIR: &str = "codeobj/src/opcodes/generated";
/// The dump script, relative to the workspace root.
pub const DUMP_SCRIPT: &str = "xtask/py/opcodes_dump.py";
/// Where the committed printable-character tables live (Python 3 interpreters only).
pub const PRINTABLE_DIR: &str = "marshal/data/printable";
/// The Rust generated from them: `brine_marshal::repr`'s per-version tables.
pub const PRINTABLE_RUST: &str = "marshal/src/repr/printable.rs";
/// pickle-core's own copy of 3.13's table (pickle-core does not depend on marshal).
pub const PICKLE_PRINTABLE_RUST: &str = "pickle-core/src/printable_table.rs";
/// The version whose table pickle-core carries (the `dis` it emulates).
pub const PICKLE_PRINTABLE_VERSION: (u8, u8) = (3, 13);
/// The script dumping them.
pub const PRINTABLE_SCRIPT: &str = "xtask/py/opcodes_printable.py";

/// Runs the task.
pub fn run(args: &[String]) -> Result<(), String> {
    let check = args.iter().any(|a| a == "--check");
    if let Some(bad) = args.iter().find(|a| *a != "--check") {
        return Err(format!("unknown argument {bad:?} (expected --check)"));
    }
    let root = brine_tests::workspace_root();
    let mut stale: Vec<String> = Vec::new();

    // Step 1: dump from interpreters.
    let interps = brine_tests::interpreters();
    if interps.is_empty() {
        println!("codegen: no interpreters found; using the committed JSON as is");
    }
    for interp in &interps {
        let json = dump_interpreter(&root, interp)?;
        let path = root
            .join(DATA_DIR)
            .join(format!("cpython-{}.json", interp.label()));
        update(&path, &json, check, &mut stale)?;
        if interp.version.0 == 3 {
            let json = run_script(&root, interp, PRINTABLE_SCRIPT)?;
            let path = root
                .join(PRINTABLE_DIR)
                .join(format!("cpython-{}.json", interp.label()));
            update(&path, &json, check, &mut stale)?;
        }
    }

    // Step 1b: CPython in WebAssembly (Pyodide) under node, for a version with no native
    // interpreter here (3.14).
    match pyodide_dir() {
        Some(dir) => {
            let json = run_pyodide(&root, &dir, DUMP_SCRIPT)?;
            let label = dump_version(&json)?;
            let path = root.join(DATA_DIR).join(format!("cpython-{label}.json"));
            update(&path, &json, check, &mut stale)?;
            let json = run_pyodide(&root, &dir, PRINTABLE_SCRIPT)?;
            let path = root
                .join(PRINTABLE_DIR)
                .join(format!("cpython-{label}.json"));
            update(&path, &json, check, &mut stale)?;
        }
        None => println!("codegen: {PYODIDE_ENV} not set; 3.14 tables used as committed"),
    }

    // Step 2: JSON -> Rust. In check mode, read the JSON we would have written.
    let files = generate_all(&root)?;
    if !check {
        let out_dir = root.join(GENERATED_DIR);
        std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    }
    for (path, text) in &files {
        update(&root.join(path), text, check, &mut stale)?;
    }
    if check && !stale.is_empty() {
        return Err(format!(
            "out of date (run `cargo xtask codegen`): {}",
            stale.join(", ")
        ));
    }
    println!(
        "codegen: {} JSON tables, {} Rust files {}",
        count_json(&root.join(DATA_DIR))?,
        files.len(),
        if check { "up to date" } else { "written" }
    );
    Ok(())
}

/// Runs the dump script under one interpreter and returns its JSON text.
pub fn dump_interpreter(root: &Path, interp: &brine_tests::Interpreter) -> Result<String, String> {
    run_script(root, interp, DUMP_SCRIPT)
}

/// Runs one of the scripts under an interpreter and returns its standard output.
pub fn run_script(
    root: &Path,
    interp: &brine_tests::Interpreter,
    script: &str,
) -> Result<String, String> {
    let out = interp
        .command()
        .arg(root.join(script))
        .output()
        .map_err(|e| format!("running {}: {e}", interp.path.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} {script} failed: {}",
            interp.path.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| format!("dump output is not UTF-8: {e}"))
}

/// The environment variable naming a Pyodide distribution (the folder holding `pyodide.mjs`,
/// e.g. `node_modules/pyodide` after `npm install pyodide@314.0.7`): CPython 3.14 compiled to
/// WebAssembly, run by `node`. The 3.14 tables come from it.
pub const PYODIDE_ENV: &str = "BRINE_PYODIDE";

/// The Pyodide folder from [`PYODIDE_ENV`], when it is set and holds `pyodide.mjs`.
pub fn pyodide_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os(PYODIDE_ENV)?);
    dir.join("pyodide.mjs").is_file().then_some(dir)
}

/// Loads Pyodide, mounts the host's file system at `/host`, runs the script (an absolute host
/// path) with `sys.argv` = the script and the arguments after it, and passes its standard
/// output through byte for byte. Host paths in the arguments are the script's to prefix.
const PYODIDE_RUNNER: &str = r#"
const sep = process.argv.indexOf("BRINE_ARGS");
const [dir, script, ...args] = process.argv.slice(sep + 1);
const { loadPyodide } = await import(dir + "/pyodide.mjs");
const py = await loadPyodide({ indexURL: dir + "/", env: { PYTHONHASHSEED: "0" } });
const write = (stream) => ({ write: (buf) => { stream.write(buf); return buf.length; } });
py.setStdout(write(process.stdout));
py.setStderr(write(process.stderr));
py.FS.mkdirTree("/host");
py.FS.mount(py.FS.filesystems.NODEFS, { root: "/" }, "/host");
py.globals.set("ARGV", py.toPy(["/host" + script, ...args]));
await py.runPythonAsync(
  "import sys\nsys.argv = list(ARGV)\n" +
  "exec(compile(open(sys.argv[0]).read(), sys.argv[0], 'exec'), {'__name__': '__main__'})");
"#;

/// Runs one of the scripts (relative to the workspace `root`) under Pyodide (see
/// [`PYODIDE_ENV`]) and returns its standard output.
pub fn run_pyodide(root: &Path, dir: &Path, script: &str) -> Result<String, String> {
    run_pyodide_with(dir, &root.join(script), &[])
}

/// Runs a script (absolute path) under Pyodide with arguments; returns its standard output.
pub fn run_pyodide_with(dir: &Path, script: &Path, args: &[&str]) -> Result<String, String> {
    let out = std::process::Command::new("node")
        .arg("--input-type=module")
        .arg("-e")
        .arg(PYODIDE_RUNNER)
        .arg("BRINE_ARGS")
        .arg(dir)
        .arg(script)
        .args(args)
        .output()
        .map_err(|e| format!("running node for Pyodide: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "Pyodide {} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| format!("Pyodide output is not UTF-8: {e}"))
}

/// The `"version"` (`X.Y`) a dump says it comes from.
pub fn dump_version(json: &str) -> Result<String, String> {
    let v: Value = serde_json::from_str(json).map_err(|e| format!("dump: {e}"))?;
    v.get("version")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| "dump has no version".to_string())
}

fn update(path: &Path, text: &str, check: bool, stale: &mut Vec<String>) -> Result<(), String> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    if old == text {
        return Ok(());
    }
    if check {
        stale.push(path.display().to_string());
        Ok(())
    } else {
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

fn count_json(dir: &Path) -> Result<usize, String> {
    Ok(json_files(dir)?.len())
}

/// A table file: its `(major, minor)` and path.
pub type TableFile = ((u8, u8), PathBuf);

/// The `cpython-X.Y.json` files of `dir`, sorted by version.
pub fn json_files(dir: &Path) -> Result<Vec<TableFile>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(ver) = name
            .strip_prefix("cpython-")
            .and_then(|r| r.strip_suffix(".json"))
        else {
            continue;
        };
        let mut parts = ver.split('.');
        let (Some(a), Some(b), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!("bad table file name {name}"));
        };
        let major = a.parse().map_err(|_| format!("bad version in {name}"))?;
        let minor = b.parse().map_err(|_| format!("bad version in {name}"))?;
        out.push(((major, minor), path));
    }
    out.sort();
    Ok(out)
}

/// Generates every Rust file from the committed JSON under the workspace `root`: `(path
/// relative to the root, contents)`.
pub fn generate_all(root: &Path) -> Result<Vec<(String, String)>, String> {
    let mut files = Vec::new();
    let tables = json_files(&root.join(DATA_DIR))?;
    for ((major, minor), path) in &tables {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let json: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let rust = generate_table((*major, *minor), &json)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        files.push((format!("{GENERATED_DIR}/cpython_{major}_{minor}.rs"), rust));
    }
    files.push((format!("{GENERATED_DIR}/mod.rs"), generate_mod(&tables)));
    let printable = read_printable(&root.join(PRINTABLE_DIR))?;
    files.push((PRINTABLE_RUST.to_string(), generate_printable(&printable)?));
    files.push((
        PICKLE_PRINTABLE_RUST.to_string(),
        generate_pickle_printable(&printable)?,
    ));
    Ok(files)
}

/// One version's printable table: `(major, minor)`, the interpreter it was dumped from, its
/// Unicode version and the non-ASCII printable ranges.
type PrintableTable = ((u8, u8), String, String, Vec<(u64, u64)>);

fn read_printable(dir: &Path) -> Result<Vec<PrintableTable>, String> {
    let mut out = Vec::new();
    for ((major, minor), path) in json_files(dir)? {
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let json: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let ranges = json
            .get("printable")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("{}: no printable list", path.display()))?
            .iter()
            .map(|r| {
                let a = r.get(0).and_then(Value::as_u64);
                let b = r.get(1).and_then(Value::as_u64);
                match (a, b) {
                    (Some(a), Some(b)) if 0x80 <= a && a <= b && b <= 0x10FFFF => Ok((a, b)),
                    _ => Err(format!("{}: bad range {r}", path.display())),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        let get = |key: &str| {
            json.get(key)
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string()
        };
        out.push(((major, minor), get("python"), get("unicode"), ranges));
    }
    if out.is_empty() {
        return Err(format!("{}: no printable tables", dir.display()));
    }
    Ok(out)
}

fn write_ranges(s: &mut String, ranges: &[(u64, u64)]) {
    for chunk in ranges.chunks(6) {
        let items: Vec<String> = chunk
            .iter()
            .map(|(a, b)| format!("(0x{a:X}, 0x{b:X})"))
            .collect();
        let _ = writeln!(s, "    {},", items.join(", "));
    }
}

/// `marshal/src/repr/printable.rs`: per Python 3 version, the non-ASCII code points
/// `str.isprintable()` accepts, as sorted inclusive ranges, and the list of tables.
fn generate_printable(tables: &[PrintableTable]) -> Result<String, String> {
    let mut s = String::from(HEADER);
    s.push_str(
        "//! Per-version printable code points (from `marshal/data/printable/*.json`): the\n\
         //! non-ASCII code points each CPython's `str.isprintable()` accepts.\n\n",
    );
    for ((major, minor), python, unicode, ranges) in tables {
        let _ = writeln!(
            s,
            "/// CPython {python} (Unicode {unicode}).\n#[rustfmt::skip]\nstatic PRINTABLE_{major}_{minor}: &[(u32, u32)] = &["
        );
        write_ranges(&mut s, ranges);
        s.push_str("];\n\n");
    }
    s.push_str("/// Every table, oldest first: `(major, minor)`, Unicode version, ranges.\n");
    s.push_str("#[rustfmt::skip]\n");
    s.push_str("pub(crate) static TABLES: &[super::TableEntry] = &[\n");
    for ((major, minor), _, unicode, _) in tables {
        let _ = writeln!(
            s,
            "    (({major}, {minor}), {}, PRINTABLE_{major}_{minor}),",
            rust_str(unicode)
        );
    }
    s.push_str("];\n");
    Ok(s)
}

/// `pickle-core/src/printable_table.rs`: 3.13's table, ASCII included, in the shape
/// pickle-core's `repr` reads.
fn generate_pickle_printable(tables: &[PrintableTable]) -> Result<String, String> {
    let (_, python, unicode, ranges) = tables
        .iter()
        .find(|t| t.0 == PICKLE_PRINTABLE_VERSION)
        .ok_or("no printable table for pickle-core's version")?;
    let mut all = vec![(0x20u64, 0x7Eu64)];
    all.extend(ranges.iter().copied());
    let mut s = String::from(HEADER);
    let _ = writeln!(
        s,
        "//! From `marshal/data/printable/cpython-{}.{}.json` (CPython {python}, Unicode {unicode}).\n",
        PICKLE_PRINTABLE_VERSION.0, PICKLE_PRINTABLE_VERSION.1
    );
    s.push_str("/// Inclusive code-point ranges for which Python's `str.isprintable()` is true.\n");
    s.push_str("#[rustfmt::skip]\n");
    let _ = writeln!(
        s,
        "pub(crate) static PRINTABLE: [(u32, u32); {}] = [",
        all.len()
    );
    write_ranges(&mut s, &all);
    s.push_str("];\n");
    Ok(s)
}

const HEADER: &str =
    "// @generated by `cargo xtask codegen` (xtask/src/codegen.rs). Do not edit.\n";

fn generate_mod(tables: &[TableFile]) -> String {
    let mut s = String::from(HEADER);
    s.push_str("//! Per-version opcode tables, generated from `codeobj/data/opcodes/*.json`.\n\n");
    for ((a, b), _) in tables {
        let _ = writeln!(s, "#[rustfmt::skip]\nmod cpython_{a}_{b};");
    }
    s.push_str("\nuse super::OpcodeTable;\n\n");
    s.push_str("/// Every generated table, oldest version first.\n");
    s.push_str("pub(crate) static ALL: &[&OpcodeTable] = &[\n");
    for ((a, b), _) in tables {
        let _ = writeln!(s, "    &cpython_{a}_{b}::TABLE,");
    }
    s.push_str("];\n\n");
    s.push_str("/// `dis`'s name for an opcode number no version assigns: `<N>`.\n");
    s.push_str("#[rustfmt::skip]\npub(crate) static UNKNOWN_NAMES: [&str; 256] = [\n");
    for chunk in (0..256).collect::<Vec<u32>>().chunks(8) {
        let items: Vec<String> = chunk.iter().map(|n| format!("\"<{n}>\"")).collect();
        let _ = writeln!(s, "    {},", items.join(", "));
    }
    s.push_str("];\n");
    s
}

/// How an opcode's argument is resolved. Must match `brine_codeobj::opcodes::ArgKind`.
fn arg_kind(ver: (u8, u8), name: &str, has: &dyn Fn(&str) -> bool, hasarg: bool) -> &'static str {
    let v311 = ver >= (3, 11);
    if !hasarg {
        return "None";
    }
    match name {
        "LOAD_GLOBAL" if v311 => return "GlobalName",
        "LOAD_ATTR" if ver >= (3, 12) => return "AttrName",
        "LOAD_SUPER_ATTR" => return "SuperAttrName",
        "KW_NAMES" if ver == (3, 11) => return "ConstUnresolved",
        "LOAD_FAST_LOAD_FAST"
        | "STORE_FAST_LOAD_FAST"
        | "STORE_FAST_STORE_FAST"
        | "LOAD_FAST_BORROW_LOAD_FAST_BORROW" => return "LocalPair",
        "BINARY_OP" => return "BinaryOp",
        "CALL_INTRINSIC_1" => return "Intrinsic1",
        "CALL_INTRINSIC_2" => return "Intrinsic2",
        "LOAD_SMALL_INT" => return "SmallInt",
        "LOAD_COMMON_CONSTANT" => return "CommonConstant",
        "FORMAT_VALUE" => return "FormatValue",
        "CONVERT_VALUE" => return "ConvertValue",
        "IS_OP" => return "IsOp",
        "CONTAINS_OP" => return "ContainsOp",
        _ => {}
    }
    if has("hasconst") {
        "Const"
    } else if has("hasname") {
        "Name"
    } else if has("hasjabs") {
        "JumpAbsolute"
    } else if has("hasjrel") {
        let backward =
            v311 && (name.contains("JUMP_BACKWARD") || (ver >= (3, 14) && name == "END_ASYNC_FOR"));
        if backward {
            "JumpBackward"
        } else {
            "JumpForward"
        }
    } else if has("haslocal") {
        "Local"
    } else if has("hasfree") {
        "Free"
    } else if has("hascompare") {
        "Compare"
    } else {
        "Int"
    }
}

fn obj(json: &Value, key: &str) -> Result<BTreeMap<String, i64>, String> {
    let mut out = BTreeMap::new();
    match json.get(key) {
        Some(Value::Object(map)) => {
            for (k, v) in map {
                let n = v
                    .as_i64()
                    .ok_or_else(|| format!("{key}.{k} is not an integer"))?;
                out.insert(k.clone(), n);
            }
            Ok(out)
        }
        Some(Value::Null) | None => Ok(out),
        _ => Err(format!("{key} is not an object")),
    }
}

fn num_list(json: &Value, key: &str) -> Result<Option<Vec<i64>>, String> {
    match json.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_i64()
                    .ok_or_else(|| format!("{key} holds a non-integer"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        _ => Err(format!("{key} is not a list")),
    }
}

fn str_list(json: &Value, key: &str) -> Result<Option<Vec<String>>, String> {
    match json.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("{key} holds a non-string"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        _ => Err(format!("{key} is not a list")),
    }
}

fn int(json: &Value, key: &str) -> Result<Option<i64>, String> {
    match json.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("{key} is not an integer")),
    }
}

fn rust_str(s: &str) -> String {
    format!("{s:?}")
}

fn opt_u16(v: Option<i64>) -> String {
    match v {
        Some(n) => format!("Some({n})"),
        None => "None".to_string(),
    }
}

/// The has* list keys and the flag each one sets.
const HAS_FLAGS: &[(&str, &str)] = &[
    ("hasconst", "CONST"),
    ("hasname", "NAME"),
    ("hasjrel", "JREL"),
    ("hasjabs", "JABS"),
    ("haslocal", "LOCAL"),
    ("hasfree", "FREE"),
    ("hascompare", "COMPARE"),
    ("hasnargs", "NARGS"),
    ("hasexc", "EXC"),
    ("hasjump", "JUMP"),
];

#[derive(Clone)]
struct Entry {
    name: String,
    kind: &'static str,
    deopt: Option<String>,
}

/// Generates the Rust table for one version from its JSON.
pub fn generate_table(ver: (u8, u8), json: &Value) -> Result<String, String> {
    let opmap = obj(json, "opmap")?;
    let specialized = obj(json, "specialized")?;
    let instrumented = obj(json, "instrumented")?;
    let pseudo = obj(json, "pseudo")?;
    let have_argument = int(json, "have_argument")?.ok_or("have_argument missing")?;
    let extended_arg = int(json, "extended_arg")?.ok_or("extended_arg missing")?;
    let caches = obj(json, "inline_cache_entries")?;
    let hasarg: Vec<i64> = num_list(json, "hasarg")?.ok_or("hasarg missing")?;
    let mut lists: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for (key, _) in HAS_FLAGS {
        if let Some(l) = num_list(json, key)? {
            lists.insert(key, l);
        }
    }
    // family name -> specialised names, to find each specialised opcode's base.
    let mut family_of: BTreeMap<String, String> = BTreeMap::new();
    if let Some(Value::Object(fams)) = json.get("specializations") {
        for (fam, members) in fams {
            if let Value::Array(ms) = members {
                for m in ms {
                    if let Some(m) = m.as_str() {
                        family_of.insert(m.to_string(), fam.clone());
                    }
                }
            }
        }
    }

    let mut entries: Vec<Option<Entry>> = vec![None; 256];
    let mut place = |map: &BTreeMap<String, i64>, kind: &'static str| -> Result<(), String> {
        for (name, &num) in map {
            let idx = usize::try_from(num).map_err(|_| format!("bad opcode {num}"))?;
            if idx >= 256 {
                return Err(format!("{name} = {num} is not a byte"));
            }
            if let Some(prev) = &entries[idx] {
                return Err(format!("{name} and {} share opcode {num}", prev.name));
            }
            let deopt = match kind {
                "Specialized" => family_of.get(name).cloned().or_else(|| {
                    // 3.14 tables carry no family list: the longest base-name prefix.
                    opmap
                        .keys()
                        .filter(|base| name.starts_with(&format!("{base}_")))
                        .max_by_key(|b| b.len())
                        .cloned()
                }),
                "Instrumented" => name
                    .strip_prefix("INSTRUMENTED_")
                    .filter(|b| opmap.contains_key(*b))
                    .map(str::to_string),
                _ => None,
            };
            entries[idx] = Some(Entry {
                name: name.clone(),
                kind,
                deopt,
            });
        }
        Ok(())
    };
    place(&opmap, "Real")?;
    place(&specialized, "Specialized")?;
    place(&instrumented, "Instrumented")?;

    let mut s = String::from(HEADER);
    let _ = writeln!(
        s,
        "//! CPython {}.{} opcode table (from `codeobj/data/opcodes/cpython-{}.{}.json`).\n",
        ver.0, ver.1, ver.0, ver.1
    );
    s.push_str("use crate::opcodes::{ArgKind, OpFlags, OpInfo, OpKind, OpcodeTable};\n\n");
    let python = json
        .get("python")
        .and_then(Value::as_str)
        .map(|p| format!("Some({})", rust_str(p)))
        .unwrap_or_else(|| "None".to_string());
    let _ = writeln!(s, "/// The CPython {}.{} table.", ver.0, ver.1);
    s.push_str("pub(crate) static TABLE: OpcodeTable = OpcodeTable {\n");
    let _ = writeln!(s, "    version: ({}, {}),", ver.0, ver.1);
    let _ = writeln!(s, "    python: {python},");
    let _ = writeln!(s, "    have_argument: {have_argument},");
    let _ = writeln!(s, "    extended_arg: {extended_arg},");
    let _ = writeln!(
        s,
        "    min_instrumented: {},",
        opt_u16(int(json, "min_instrumented_opcode")?)
    );
    s.push_str("    ops: [\n");
    let opnum = |name: &str| -> Option<i64> { opmap.get(name).copied() };
    for (num, entry) in entries.iter().enumerate() {
        let Some(e) = entry else {
            let _ = writeln!(s, "        OpInfo::UNUSED, // {num}");
            continue;
        };
        let n = num as i64;
        // A specialised or instrumented opcode takes its argument rules from its base.
        let rule_num = e.deopt.as_deref().and_then(opnum).unwrap_or(n);
        let rule_name = e.deopt.as_deref().unwrap_or(&e.name);
        let mut flags: Vec<&str> = Vec::new();
        if hasarg.contains(&rule_num) || (e.kind != "Real" && rule_num >= have_argument) {
            flags.push("HAS_ARG");
        }
        for (key, flag) in HAS_FLAGS {
            if lists.get(key).is_some_and(|l| l.contains(&n)) {
                flags.push(flag);
            }
        }
        let has = |key: &str| lists.get(key).is_some_and(|l| l.contains(&rule_num));
        let kind = arg_kind(ver, rule_name, &has, flags.first() == Some(&"HAS_ARG"));
        let cache = caches.get(rule_name).copied().unwrap_or(0);
        let flags_expr = if flags.is_empty() {
            "OpFlags::empty()".to_string()
        } else {
            let mut expr = format!("OpFlags::{}", flags[0]);
            for f in &flags[1..] {
                expr = format!("{expr}.union(OpFlags::{f})");
            }
            expr
        };
        let deopt = match e.deopt.as_deref().and_then(opnum) {
            Some(d) => format!("Some({d})"),
            None => "None".to_string(),
        };
        let _ = writeln!(
            s,
            "        OpInfo {{ name: {}, kind: OpKind::{}, arg: ArgKind::{kind}, flags: {flags_expr}, caches: {cache}, deopt: {deopt} }}, // {num}",
            rust_str(&e.name),
            e.kind,
        );
    }
    s.push_str("    ],\n");
    let strs = |v: Option<Vec<String>>| -> String {
        let items: Vec<String> = v.unwrap_or_default().iter().map(|x| rust_str(x)).collect();
        format!("&[{}]", items.join(", "))
    };
    let _ = writeln!(s, "    cmp_op: {},", strs(str_list(json, "cmp_op")?));
    let nb: Vec<String> = match json.get("nb_ops") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|pair| {
                let a = pair.get(0).and_then(Value::as_str).unwrap_or_default();
                let b = pair.get(1).and_then(Value::as_str).unwrap_or_default();
                format!("({}, {})", rust_str(a), rust_str(b))
            })
            .collect(),
        _ => Vec::new(),
    };
    let _ = writeln!(s, "    nb_ops: &[{}],", nb.join(", "));
    let _ = writeln!(
        s,
        "    intrinsic_1: {},",
        strs(str_list(json, "intrinsic_1")?)
    );
    let _ = writeln!(
        s,
        "    intrinsic_2: {},",
        strs(str_list(json, "intrinsic_2")?)
    );
    let mut pseudo_sorted: Vec<(&String, &i64)> = pseudo.iter().collect();
    pseudo_sorted.sort_by_key(|(name, num)| (**num, (*name).clone()));
    let ps: Vec<String> = pseudo_sorted
        .iter()
        .map(|(name, num)| format!("({}, {num})", rust_str(name)))
        .collect();
    let _ = writeln!(s, "    pseudo: &[{}],", ps.join(", "));
    let _ = writeln!(
        s,
        "    special_method_names: {},",
        strs(str_list(json, "special_method_names")?)
    );
    let _ = writeln!(
        s,
        "    common_constants: {},",
        strs(str_list(json, "common_constants")?)
    );
    s.push_str("};\n");
    Ok(s)
}
