//! Bad input: each crafted stream must fail with the right typed error at the right offset
//! (the behaviour checked against CPython where CPython has one: which inputs it rejects).

use brine_marshal::{read, ErrorKind, Limits, NullContext, PyVersion, ReadOptions};

fn err(version: (u8, u8), data: &[u8]) -> (usize, ErrorKind) {
    let e = read(
        data,
        &ReadOptions::new(PyVersion::new(version.0, version.1)),
    )
    .expect_err("input must be rejected");
    (e.offset, e.kind)
}

const PY3: (u8, u8) = (3, 11);
const PY2: (u8, u8) = (2, 7);

#[test]
fn truncated_data() {
    assert!(matches!(
        err(PY3, b""),
        (
            0,
            ErrorKind::Truncated {
                needed: 1,
                available: 0,
                ..
            }
        )
    ));
    assert!(matches!(
        err(PY3, b"i\x01\x00"),
        (
            1,
            ErrorKind::Truncated {
                needed: 4,
                available: 2,
                ..
            }
        )
    ));
    assert!(matches!(
        err(PY3, b"z\x05abc"),
        (
            2,
            ErrorKind::Truncated {
                needed: 5,
                available: 3,
                ..
            }
        )
    ));
    assert!(matches!(
        err(PY3, b")\x02N"),
        (
            1,
            ErrorKind::LengthTooLarge {
                value: 2,
                available: 1,
                ..
            }
        )
    ));
    assert!(matches!(
        err(PY3, b"{"),
        (
            1,
            ErrorKind::Truncated {
                what: "type code",
                ..
            }
        )
    ));
    assert!(matches!(err(PY3, b"{N"), (2, ErrorKind::Truncated { .. })));
    assert!(matches!(
        err(PY3, b"g\x00\x00"),
        (1, ErrorKind::Truncated { needed: 8, .. })
    ));
}

#[test]
fn unknown_type_codes_depend_on_the_version() {
    assert_eq!(
        err(PY3, b"\x99").1,
        ErrorKind::UnknownTypeCode {
            code: 0x99,
            version: PyVersion::new(3, 11)
        }
    );
    assert_eq!(err(PY3, b"?").0, 0);
    // FLAG_REF, `r`, and the ASCII codes arrived in 3.4; Python 2 has none of them.
    assert!(matches!(
        err(PY2, b"\xe9\x01\x00\x00\x00").1,
        ErrorKind::UnknownTypeCode { code: 0xe9, .. }
    ));
    assert!(matches!(
        err(PY2, b"r\x00\x00\x00\x00").1,
        ErrorKind::UnknownTypeCode { .. }
    ));
    assert!(matches!(
        err((3, 3), b"z\x01a").1,
        ErrorKind::UnknownTypeCode { code: b'z', .. }
    ));
    assert!(matches!(
        err((3, 3), b")\x00").1,
        ErrorKind::UnknownTypeCode { .. }
    ));
    // `R` is Python 2 only; `:` (slice) 3.14+; `}` (frozendict) 3.15+.
    assert!(matches!(
        err(PY3, b"R\x00\x00\x00\x00").1,
        ErrorKind::UnknownTypeCode { code: b'R', .. }
    ));
    assert!(matches!(
        err((3, 13), b":NNN").1,
        ErrorKind::UnknownTypeCode { code: b':', .. }
    ));
    assert!(read(b":NNN", &ReadOptions::new(PyVersion::new(3, 14))).is_ok());
    assert!(matches!(
        err((3, 14), b"}0").1,
        ErrorKind::UnknownTypeCode { code: b'}', .. }
    ));
    assert!(read(b"}0", &ReadOptions::new(PyVersion::new(3, 15))).is_ok());
    let message = read(b"\xbf", &ReadOptions::new(PyVersion::new(3, 11)))
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        "at byte 0x0: unknown type code 0xbf ('?' with FLAG_REF) for Python 3.11"
    );
}

#[test]
fn bad_reference_indices() {
    assert!(matches!(
        err(PY3, b"r\x00\x00\x00\x00"),
        (
            1,
            ErrorKind::InvalidReference {
                index: 0,
                table_len: 0,
                reserved: false
            }
        )
    ));
    assert!(matches!(
        err(
            PY3,
            b"(\x02\x00\x00\x00\xe9\x01\x00\x00\x00r\xff\xff\xff\xff"
        ),
        (
            11,
            ErrorKind::InvalidReference {
                index: -1,
                table_len: 1,
                ..
            }
        )
    ));
    // A frozenset's slot is reserved until it is complete (CPython: "invalid reference").
    assert!(matches!(
        err(PY3, b"\xbe\x01\x00\x00\x00r\x00\x00\x00\x00"),
        (
            6,
            ErrorKind::InvalidReference {
                index: 0,
                table_len: 1,
                reserved: true
            }
        )
    ));
    // Flagged singletons take no slot.
    assert!(matches!(
        err(PY3, b"(\x02\x00\x00\x00\xcer\x00\x00\x00\x00"),
        (7, ErrorKind::InvalidReference { table_len: 0, .. })
    ));
    assert!(matches!(
        err(PY2, b"R\x00\x00\x00\x00"),
        (
            1,
            ErrorKind::InvalidStringReference {
                index: 0,
                table_len: 0
            }
        )
    ));
}

#[test]
fn null_outside_a_dict() {
    assert_eq!(
        err(PY3, b"0"),
        (0, ErrorKind::UnexpectedNull(NullContext::Object))
    );
    assert_eq!(
        err(PY3, b")\x010"),
        (2, ErrorKind::UnexpectedNull(NullContext::Item))
    );
    assert_eq!(
        err(PY3, b"[\x01\x00\x00\x000"),
        (5, ErrorKind::UnexpectedNull(NullContext::Item))
    );
    assert_eq!(
        err((3, 14), b":N0N"),
        (2, ErrorKind::UnexpectedNull(NullContext::SliceField))
    );
    let code =
        b"c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x000";
    assert_eq!(
        err(PY3, code),
        (21, ErrorKind::UnexpectedNull(NullContext::CodeField))
    );
}

#[test]
fn null_dict_values_follow_each_python() {
    // Python 3 stops the dict at a NULL value (dropping the key); Python 2 skips the pair.
    let py3 = read(
        b"{i\x01\x00\x00\x000",
        &ReadOptions::new(PyVersion::new(3, 11)),
    )
    .unwrap();
    assert_eq!(py3.dict_pairs(py3.root()).count(), 0);
    assert_eq!(py3.write(), b"{i\x01\x00\x00\x000");
    let data = b"{i\x01\x00\x00\x000i\x02\x00\x00\x00i\x03\x00\x00\x000";
    let py2 = read(data, &ReadOptions::new(PyVersion::V2_7)).unwrap();
    let pairs: Vec<_> = py2
        .dict_pairs(py2.root())
        .map(|(k, v)| (py2.value(k).as_i64(), py2.value(v).as_i64()))
        .collect();
    assert_eq!(pairs, [(Some(2), Some(3))]);
    assert_eq!(py2.write(), data);
    // In Python 3 the same bytes leave `i 2 ...` as trailing data.
    assert!(matches!(
        err(PY3, data).1,
        ErrorKind::TrailingBytes { count: 11 }
    ));
}

#[test]
fn negative_and_oversized_lengths() {
    assert!(matches!(
        err(PY3, b"s\xff\xff\xff\xff"),
        (1, ErrorKind::NegativeLength { value: -1, .. })
    ));
    assert!(matches!(
        err(PY3, b"(\x00\x00\x00\x80"),
        (1, ErrorKind::NegativeLength { .. })
    ));
    assert!(matches!(
        err(PY3, b"s\x05\x00\x00\x00ab"),
        (
            1,
            ErrorKind::LengthTooLarge {
                value: 5,
                available: 2,
                ..
            }
        )
    ));
    // A huge count is refused before anything is allocated: each item needs a byte.
    assert!(matches!(
        err(PY3, b"[\xff\xff\xff\x7fNN"),
        (
            1,
            ErrorKind::LengthTooLarge {
                value: 0x7fff_ffff,
                available: 2,
                ..
            }
        )
    ));
    assert!(matches!(
        err(PY3, b"l\x00\x00\x00\x80"),
        (1, ErrorKind::LengthTooLarge { .. })
    ));
    assert!(matches!(
        err(PY3, b"l\x03\x00\x00\x00\x01\x00"),
        (1, ErrorKind::LengthTooLarge { value: 3, .. })
    ));
    let small = Limits {
        max_length: 3,
        ..Limits::default()
    };
    let e = read(
        b"s\x04\x00\x00\x00abcd",
        &ReadOptions::new(PyVersion::new(3, 11)).with_limits(small),
    )
    .unwrap_err();
    assert!(matches!(e.kind, ErrorKind::LimitExceeded { limit: 3, .. }));
}

#[test]
fn invalid_long_digits() {
    // CPython (2.7 and 3.x alike) rejects a digit of 0x8000 or more, and a zero top digit.
    assert_eq!(
        err(PY3, b"l\x01\x00\x00\x00\x00\x80"),
        (5, ErrorKind::LongDigitOutOfRange { digit: 0x8000 })
    );
    assert_eq!(
        err(PY2, b"l\x02\x00\x00\x00\x01\x00\xff\xff").1,
        ErrorKind::LongDigitOutOfRange { digit: 0xffff }
    );
    assert_eq!(
        err(PY3, b"l\x02\x00\x00\x00\x01\x00\x00\x00"),
        (7, ErrorKind::UnnormalizedLong)
    );
    assert_eq!(
        err(PY3, b"l\xff\xff\xff\xff\x00\x00"),
        (5, ErrorKind::UnnormalizedLong)
    );
}

fn nested(n: usize, leaf: &[u8]) -> Vec<u8> {
    let mut v = b")\x01".repeat(n);
    v.extend_from_slice(leaf);
    v
}

#[test]
fn nesting_limit_matches_cpython_and_is_configurable() {
    // CPython 2.7-3.13 accept 1999 nested tuples around None (depth 2000) and refuse 2000.
    let ok = nested(1999, b"N");
    assert!(read(&ok, &ReadOptions::new(PyVersion::new(3, 11))).is_ok());
    let deep = nested(2000, b"N");
    assert_eq!(
        err(PY3, &deep),
        (4000, ErrorKind::DepthLimitExceeded { limit: 2000 })
    );
    let mut dicts = b"{".repeat(2000);
    dicts.extend_from_slice(&b"0".repeat(2000));
    assert!(matches!(
        err(PY3, &dicts).1,
        ErrorKind::DepthLimitExceeded { .. }
    ));

    let opts = ReadOptions::new(PyVersion::new(3, 11)).with_limits(Limits {
        max_depth: 10,
        ..Limits::default()
    });
    assert!(read(&nested(9, b"N"), &opts).is_ok());
    assert_eq!(read(&nested(10, b"N"), &opts).unwrap_err().offset, 20);
    // Far deeper than any native stack could recurse: still a clean error.
    let huge = nested(1_000_000, b"N");
    let unlimited = ReadOptions::new(PyVersion::new(3, 11)).with_limits(Limits {
        max_depth: u32::MAX,
        ..Limits::default()
    });
    let s = read(&huge, &unlimited).unwrap();
    assert_eq!(s.write(), huge);
}

#[test]
fn invalid_text() {
    assert_eq!(
        err(PY3, b"u\x02\x00\x00\x00\xc3("),
        (5, ErrorKind::InvalidUtf8 { byte: 0xc3 })
    );
    assert_eq!(
        err(PY3, b"t\x01\x00\x00\x00\xff"),
        (5, ErrorKind::InvalidUtf8 { byte: 0xff })
    );
    // Overlong encodings are not surrogates: refused.
    assert!(matches!(
        err(PY3, b"u\x02\x00\x00\x00\xc0\x80").1,
        ErrorKind::InvalidUtf8 { .. }
    ));
    for bad in [&b"f\x03abc"[..], b"f\x00", b"f\x04 1.5", b"f\x031_0"] {
        assert!(
            matches!(err(PY3, bad), (2, ErrorKind::InvalidFloatText { .. })),
            "{bad:?}"
        );
    }
    assert!(matches!(
        err(PY3, b"x\x011\x01z"),
        (4, ErrorKind::InvalidFloatText { .. })
    ));
}

#[test]
fn node_limit() {
    let opts = ReadOptions::new(PyVersion::new(3, 11)).with_limits(Limits {
        max_nodes: 3,
        ..Limits::default()
    });
    assert!(read(b")\x02NN", &opts).is_ok());
    assert!(matches!(
        read(b")\x03NNN", &opts).unwrap_err().kind,
        ErrorKind::LimitExceeded { limit: 3, .. }
    ));
}

#[test]
fn deep_streams_do_not_overflow_the_stack_in_helpers() {
    // The helpers that recurse (owned copy, repr, dumps) are bounded by the reader's depth
    // limit; check they fit a small (1 MiB) thread stack at that depth.
    let data = nested(1999, b"N");
    let handle = std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || {
            let s = read(&data, &ReadOptions::new(PyVersion::new(3, 11))).unwrap();
            let text = brine_marshal::repr::node_repr(&s, s.root());
            assert!(text.starts_with("((("));
            let obj = brine_marshal::Object::from_stream(&s, s.root(), 10_000).unwrap();
            let out = brine_marshal::dumps(
                &obj,
                &brine_marshal::DumpOptions::new(PyVersion::new(3, 11)),
            )
            .unwrap();
            assert_eq!(out, data);
        })
        .unwrap();
    handle.join().unwrap();
}

/// A 3.11 code object with the given `co_code` and `co_names` payloads (other fields valid).
fn code311(code: &[u8], names: &[u8]) -> Vec<u8> {
    let mut v = b"c".to_vec();
    for i in [0i32, 0, 0, 1, 0] {
        v.extend_from_slice(&i.to_le_bytes());
    }
    v.push(b's');
    v.extend_from_slice(&(code.len() as i32).to_le_bytes());
    v.extend_from_slice(code);
    v.extend_from_slice(b")\x01N"); // consts
    v.extend_from_slice(names);
    v.extend_from_slice(b")\x00s\x00\x00\x00\x00"); // localsplusnames, kinds
    v.extend_from_slice(b"z\x01fz\x01nz\x01n"); // filename, name, qualname
    v.extend_from_slice(&1i32.to_le_bytes());
    v.extend_from_slice(b"s\x00\x00\x00\x00s\x00\x00\x00\x00"); // linetable, exceptiontable
    v
}

#[test]
fn code_objects_cpython_refuses_to_build() {
    let ok = code311(b"\x97\x00", b")\x00");
    assert!(read(&ok, &ReadOptions::new(PyVersion::new(3, 11))).is_ok());
    // (CPython 3.11: SystemError "non-string found in code slot" / ValueError "co_code is
    // malformed"; see the live_code_checks test for the comparison with each interpreter.)
    let int_name = code311(b"\x97\x00", b")\x01i\x01\x00\x00\x00");
    assert!(matches!(
        err(PY3, &int_name),
        (0, ErrorKind::InvalidCode(_))
    ));
    let odd = code311(b"\x97", b")\x00");
    assert!(matches!(err(PY3, &odd), (0, ErrorKind::InvalidCode(_))));
    // Before 3.11 an odd co_code is accepted.
    assert!(read(
        &odd,
        &ReadOptions::new(PyVersion::new(3, 11)).with_code_checks(false)
    )
    .is_ok());
    // With the checks off, malformed code objects can be inspected.
    let s = read(
        &int_name,
        &ReadOptions::new(PyVersion::new(3, 11)).with_code_checks(false),
    )
    .unwrap();
    assert!(s.root_code().unwrap().names().is_empty());
    assert_eq!(s.write(), int_name);
    let message = read(&int_name, &ReadOptions::new(PyVersion::new(3, 11)))
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        "at byte 0x0: invalid code object: non-string found in a name tuple"
    );
}
