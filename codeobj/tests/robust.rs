//! Hostile input never panics, and `Code` survives a round trip through marshal.
//!
//! * Random bytecode, line tables and exception tables for every version decode to
//!   instructions marked with problems or to errors, never a panic.
//! * Every fixture code object converts to marshal fields ([`Code::to_marshal`]), is written
//!   with `brine_marshal::dumps`, read back, and converts to an equal `Code`.

use brine_codeobj::code::Const;
use brine_codeobj::linetable::{LineTable, LineTableFormat, LinesStyle};
use brine_codeobj::{
    disassemble, parse_exception_table, Code, CodeSummary, FromMarshalOptions, OpcodeTable,
};
use brine_marshal::{dumps, read, DumpOptions, Object, PyStr, Pyc, ReadOptions};

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn random_bytecode_never_panics() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for table in OpcodeTable::all() {
        for round in 0..300 {
            let len = (rng.next() % 64) as usize;
            let code_bytes = rng.bytes(len);
            let lt_len = (rng.next() % 24) as usize;
            let lt = rng.bytes(lt_len);
            let et_len = (rng.next() % 16) as usize;
            let et = rng.bytes(et_len);
            let mut code = Code::empty(table, &code_bytes);
            code.names = vec![PyStr::new(b"a", true)];
            code.varnames = vec![PyStr::new(b"x", true)];
            code.consts = vec![Const::None, Const::Int(round)];
            code.linetable = LineTable::new(code.linetable.format, &lt, 1);
            code.exceptiontable = &et;
            let mut last_end = 0u32;
            for ins in code.instructions() {
                assert!(ins.offset >= last_end || ins.offset == 0);
                assert!(ins.end > ins.offset);
                last_end = ins.end;
            }
            let _ = disassemble(&code);
            let _ = code.line_starts();
            let _ = code.lines();
            let _ = code.positions();
            let _ = CodeSummary::of(&code);
        }
    }
}

#[test]
fn every_opcode_with_the_largest_argument_never_panics() {
    for table in OpcodeTable::all() {
        for op in 0..=255u8 {
            let e = table.extended_arg;
            let bytes: Vec<u8> = if table.is_wordcode() {
                vec![e, 0xFF, e, 0xFF, e, 0xFF, op, 0xFF, op, 0xFF]
            } else {
                vec![e, 0xFF, 0xFF, op, 0xFF, 0xFF, op]
            };
            let mut code = Code::empty(table, &bytes);
            code.names = vec![PyStr::new(b"n", true)];
            code.consts = vec![Const::None];
            let _: Vec<_> = code.instructions().collect();
            let _ = disassemble(&code);
            let _ = CodeSummary::of(&code).unwrap();
        }
    }
}

#[test]
fn random_tables_never_panic() {
    let mut rng = Rng(42);
    for _ in 0..2000 {
        let n = (rng.next() % 40) as usize;
        let bytes = rng.bytes(n);
        for format in [
            LineTableFormat::LnotabUnsigned,
            LineTableFormat::LnotabSigned,
            LineTableFormat::Linetable310,
            LineTableFormat::Locations,
        ] {
            let t = LineTable::new(format, &bytes, i32::MAX - 3);
            for style in [
                LinesStyle::Lnotab,
                LinesStyle::PerEntry,
                LinesStyle::Merged,
                LinesStyle::MergedWithNone,
            ] {
                let _ = t.lines(style, u32::MAX);
                let _ = t.line_starts(style, 100);
            }
            let _ = t.positions();
        }
        let _ = parse_exception_table(&bytes);
    }
    // A jump far outside the code is flagged, not followed.
    let table = OpcodeTable::for_version(3, 12).unwrap();
    let bytes = [
        table.opcode("EXTENDED_ARG").unwrap(),
        0xFF,
        table.opcode("JUMP_FORWARD").unwrap(),
        0xFF,
    ];
    let code = Code::empty(table, &bytes);
    let ins: Vec<_> = code.instructions().collect();
    assert_eq!(ins[1].arg, Some(0xFFFF));
    assert_eq!(ins[1].problem, Some(brine_codeobj::Problem::JumpOutOfRange));
    // An unknown opcode and a truncated instruction (3.5: 3-byte form).
    let table = OpcodeTable::for_version(3, 5).unwrap();
    let bytes = [8, table.opcode("LOAD_CONST").unwrap(), 0];
    let code = Code::empty(table, &bytes);
    let ins: Vec<_> = code.instructions().collect();
    assert_eq!(ins[0].problem, Some(brine_codeobj::Problem::UnknownOpcode));
    assert_eq!(ins[0].opname, "<8>");
    assert_eq!(ins[1].problem, Some(brine_codeobj::Problem::Truncated));
    // An index past co_names.
    let table = OpcodeTable::for_version(3, 9).unwrap();
    let bytes = [table.opcode("LOAD_NAME").unwrap(), 7];
    let code = Code::empty(table, &bytes);
    let ins: Vec<_> = code.instructions().collect();
    assert_eq!(
        ins[0].problem,
        Some(brine_codeobj::Problem::IndexOutOfRange)
    );
}

/// Set items in a canonical order: 3.11+ marshal writers sort sets, so a round trip may
/// reorder them (the set is the same).
fn normalise(code: &mut Code<'_>) {
    fn walk(c: &mut Const<'_>) {
        match c {
            Const::Set(items) | Const::FrozenSet(items) => {
                items.iter_mut().for_each(walk);
                items.sort_by_cached_key(|x| format!("{x:?}"));
            }
            Const::Tuple(items) | Const::List(items) => items.iter_mut().for_each(walk),
            Const::Code(inner) => normalise(inner),
            _ => {}
        }
    }
    code.consts.iter_mut().for_each(walk);
}

#[test]
fn fixture_code_objects_round_trip_through_marshal() {
    let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("tests/fixtures/marshal");
    let Ok(versions) = std::fs::read_dir(&base) else {
        brine_tests::skip_live("fixture round trip", "no tests/fixtures/marshal");
        return;
    };
    let mut checked = 0;
    for v in versions.filter_map(|e| e.ok()) {
        let mut files: Vec<_> = std::fs::read_dir(v.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "pyc"))
            .collect();
        files.sort();
        for path in files {
            let data = std::fs::read(&path).unwrap();
            let pyc = Pyc::parse(&data).unwrap();
            let version = pyc.header.version;
            let mut code = Code::from_stream(&pyc.stream, FromMarshalOptions::default()).unwrap();
            let obj = Object::Code(Box::new(code.to_marshal()));
            let bytes = dumps(&obj, &DumpOptions::new(version))
                .unwrap_or_else(|e| panic!("{}: dumps: {e}", path.display()));
            let stream = read(&bytes, &ReadOptions::new(version)).unwrap();
            let mut back = Code::from_stream(&stream, FromMarshalOptions::default()).unwrap();
            normalise(&mut code);
            normalise(&mut back);
            // Compared through Debug so NaN constants compare equal to themselves.
            let (a, b) = (format!("{code:?}"), format!("{back:?}"));
            if a != b {
                let at = a
                    .bytes()
                    .zip(b.bytes())
                    .position(|(x, y)| x != y)
                    .unwrap_or(0);
                panic!(
                    "{}: differs after a marshal round trip near {:?} vs {:?}",
                    path.display(),
                    &a[at.saturating_sub(150)..(at + 100).min(a.len())],
                    &b[at.saturating_sub(150)..(at + 100).min(b.len())]
                );
            }
            checked += 1;
        }
    }
    println!("round trip: {checked} files");
}

#[test]
fn constant_budget_is_enforced() {
    // Marshal back-references can share a tuple many times; every use becomes its own
    // constant, so the number built is bounded by `Limits::max_constants`.
    use brine_codeobj::Limits;
    let version = brine_marshal::PyVersion::new(3, 12);
    let data = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/summary/audit-3.12.marshal"),
    )
    .unwrap();
    let stream = read(&data, &ReadOptions::new(version)).unwrap();
    let small = FromMarshalOptions {
        limits: Limits {
            max_constants: 10,
            ..Limits::DEFAULT
        },
        ..Default::default()
    };
    let err = Code::from_stream(&stream, small).unwrap_err();
    assert!(err.to_string().contains("too many constants"), "{err}");
    assert!(Code::from_stream(&stream, FromMarshalOptions::default()).is_ok());
}
