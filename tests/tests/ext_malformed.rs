//! Malformed and hostile extended pickles: misused helpers become opaque calls with a diagnostic,
//! never a panic; truncated or corrupted real payloads give errors, never a panic; cycles and
//! nesting are bounded.

use brine_pickle_core::NodeKind;
use brine_pickle_ext::model::{CellContents, Entity};
use brine_pickle_ext::recognise::{decode, decode_with, DecodeOptions};

/// A tiny protocol-3 pickle writer for hand-made streams.
#[derive(Default)]
struct P(Vec<u8>);

impl P {
    fn new() -> P {
        P(vec![0x80, 3])
    }
    fn global(mut self, module: &str, name: &str) -> P {
        self.0.push(b'c');
        self.0.extend_from_slice(module.as_bytes());
        self.0.push(b'\n');
        self.0.extend_from_slice(name.as_bytes());
        self.0.push(b'\n');
        self
    }
    fn str(mut self, s: &str) -> P {
        self.0.push(b'X');
        self.0.extend_from_slice(&(s.len() as u32).to_le_bytes());
        self.0.extend_from_slice(s.as_bytes());
        self
    }
    fn int(mut self, i: i32) -> P {
        self.0.push(b'J');
        self.0.extend_from_slice(&i.to_le_bytes());
        self
    }
    fn bytes(mut self, b: &[u8]) -> P {
        self.0.push(b'B');
        self.0.extend_from_slice(&(b.len() as u32).to_le_bytes());
        self.0.extend_from_slice(b);
        self
    }
    fn op(mut self, op: u8) -> P {
        self.0.push(op);
        self
    }
    fn names(self, names: &[&str]) -> P {
        let mut p = self.op(b'(');
        for n in names {
            p = p.str(n);
        }
        p.op(b't')
    }
    fn done(self) -> Vec<u8> {
        let mut v = self.0;
        v.push(b'.');
        v
    }
}

/// `_builtin_type('CodeType')(...)` with the 3.11+ layout, `argcount` given by `first`.
fn code_311(p: P, first: impl FnOnce(P) -> P) -> P {
    let p = p
        .global("cloudpickle.cloudpickle", "_builtin_type")
        .op(b'(')
        .str("CodeType")
        .op(b't')
        .op(b'R')
        .op(b'(');
    let p = first(p);
    p.int(0) // posonlyargcount
        .int(0) // kwonlyargcount
        .int(1) // nlocals
        .int(2) // stacksize
        .int(3) // flags
        .bytes(b"\x97\x00|\x00S\x00") // code
        .op(b'(')
        .op(b'N')
        .op(b't') // consts
        .names(&[]) // names
        .names(&["x"]) // varnames
        .str("f.py")
        .str("f")
        .str("f")
        .int(1)
        .bytes(b"")
        .bytes(b"")
        .names(&[])
        .names(&[])
        .op(b't')
        .op(b'R')
}

#[test]
fn make_function_with_the_wrong_arity_stays_opaque() {
    let data = P::new()
        .global("cloudpickle.cloudpickle", "_make_function")
        .op(b'(')
        .int(1)
        .int(2)
        .op(b't')
        .op(b'R')
        .done();
    let m = decode(&data).unwrap();
    assert!(m.function(m.root()).is_none());
    assert!(m.opaque_calls().any(|n| n == m.root()));
    assert!(
        m.diagnostics
            .iter()
            .any(|d| d.message.contains("takes 5 arguments") && d.message.contains("got 2")),
        "{:?}",
        m.diagnostics
    );
    assert_eq!(
        m.producer().unwrap().family,
        brine_pickle_ext::model::Family::Cloudpickle
    );
}

#[test]
fn well_typed_code_arguments_make_a_code_object() {
    let data = code_311(P::new(), |p| p.int(1)).done();
    let m = decode(&data).unwrap();
    let code = m.code(m.root()).expect("a code object");
    assert_eq!(code.args.len(), 18);
    assert!(m.diagnostics.is_empty(), "{:?}", m.diagnostics);
    // 18 arguments: 3.11 and later; the bytecode (RESUME, LOAD_FAST, RETURN_VALUE with
    // 3.11's opcode numbers) narrows it further, and 3.11 stays.
    assert!(m.python.candidates.contains((3, 11)));
    assert!(m.python.candidates.iter().all(|v| v >= (3, 11)));
    assert!(m.python.evidence.len() >= 2, "{:?}", m.python.evidence);
}

#[test]
fn mistyped_code_arguments_give_a_clear_diagnostic() {
    let data = code_311(P::new(), |p| p.str("one")).done();
    let m = decode(&data).unwrap();
    assert!(m.code(m.root()).is_none());
    assert!(m.opaque_calls().any(|n| n == m.root()));
    let msgs: Vec<&str> = m.diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert!(
        msgs.iter()
            .any(|s| s.contains("argument 1 (co_argcount) must be int, not str")),
        "{msgs:?}"
    );
    assert!(m.diagnostics[0].offset > 0);
}

#[test]
fn code_with_an_unknown_argument_count_is_reported() {
    let data = P::new()
        .global("dill._dill", "_create_code")
        .op(b'(')
        .int(1)
        .int(2)
        .int(3)
        .op(b't')
        .op(b'R')
        .done();
    let m = decode(&data).unwrap();
    assert!(m.code(m.root()).is_none());
    assert!(m.diagnostics.iter().any(|d| d
        .message
        .contains("no CodeType argument layout has 3 arguments")));
}

#[test]
fn marshal_bytes_that_are_no_code_object_are_reported() {
    let data = P::new()
        .global("marshal", "loads")
        .op(b'(')
        .bytes(b"\xff\x00not marshal")
        .op(b't')
        .op(b'R')
        .done();
    let m = decode(&data).unwrap();
    assert!(m.code(m.root()).is_none());
    assert!(m.diagnostics.iter().any(|d| d
        .message
        .contains("not a code object in the marshal format")));
}

fn fixture(rel: &str) -> Option<Vec<u8>> {
    std::fs::read(brine_tests::fixtures_dir().join("ext").join(rel)).ok()
}

#[test]
fn marshal_bytes_of_another_version_contradict_a_stated_python() {
    let Some(data) = fixture("3.12/copyreg-marshal-stdlib/lambda.pkl") else {
        brine_tests::skip_live("marshal_bytes_of_another_version", "no ext fixtures");
        return;
    };
    let m = decode(&data).unwrap();
    let code = m.code(m.root()).expect("marshal code");
    assert!(code.marshal_versions.contains((3, 12)));
    assert!(!code.marshal_versions.contains((2, 7)));
    let stated = DecodeOptions {
        python: Some((2, 7)),
        ..DecodeOptions::default()
    };
    let m = decode_with(&data, &stated).unwrap();
    assert!(m.python.stated_conflicts());
    assert_eq!(m.python.version(), Some((2, 7)));
}

#[test]
fn recursive_closures_are_cycles_in_the_model() {
    for rel in [
        "3.13/cloudpickle-3.1.2/closure_recursive.pkl",
        "3.7/cloudpickle-1.2.2/closure_recursive.pkl",
        "2.7/cloudpickle-0.5.6/closure_recursive.pkl",
    ] {
        let Some(data) = fixture(rel) else { continue };
        let m = decode(&data).unwrap();
        let f = m.function(m.root()).expect(rel);
        let cell = m.cell(f.closure.as_ref().unwrap()[0]).unwrap();
        let CellContents::Value(v) = cell.contents else {
            panic!("{rel}: empty cell")
        };
        // The cell holds the function itself (or its skeleton, which stands for it).
        assert_eq!(m.entity_id_of(v), m.entity_id_of(m.root()), "{rel}");
    }
}

#[test]
fn super_cells_point_back_at_their_class() {
    let Some(data) = fixture("3.13/cloudpickle-3.1.2/dynamic_subclass_super.pkl") else {
        return;
    };
    let m = decode(&data).unwrap();
    let class = m.class(m.root()).expect("class");
    let mut found = 0;
    for &(_, v) in &class.dict {
        if let Some(f) = m.function(v) {
            for &c in f.closure.iter().flatten() {
                if let Some(cell) = m.cell(c) {
                    if let CellContents::Value(x) = cell.contents {
                        assert_eq!(m.entity_id_of(x), m.entity_id_of(m.root()));
                        found += 1;
                    }
                }
            }
        }
    }
    assert!(found >= 1, "no __class__ cell found");
}

#[test]
fn nested_pickles_obey_the_depth_limit() {
    let Some(data) = fixture("3.11/joblib-loky-wrapper-1.2.0/closure.pkl") else {
        return;
    };
    let m = decode(&data).unwrap();
    let Some(Entity::Nested(n)) = m.entity_of(m.root()) else {
        panic!("loky wrapper not decoded as a nested pickle")
    };
    let inner = n.model.as_ref().unwrap();
    assert!(inner.function(inner.root()).is_some());
    assert_eq!(
        m.producers.iter().map(|p| p.family).collect::<Vec<_>>(),
        [
            brine_pickle_ext::model::Family::LokyWrapper,
            brine_pickle_ext::model::Family::Cloudpickle
        ]
    );
    let mut opts = DecodeOptions::default();
    opts.limits.max_nested_depth = 0;
    let m = decode_with(&data, &opts).unwrap();
    assert!(m.entity_of(m.root()).is_none());
    assert!(m
        .diagnostics
        .iter()
        .any(|d| d.message.contains("nesting limit")));
}

/// Every prefix and many single-byte corruptions of real payloads: an error or a model, never
/// a panic.
#[test]
fn truncated_and_corrupted_payloads_never_panic() {
    let samples = [
        "3.13/cloudpickle-3.1.2/dynamic_subclass_super.pkl",
        "3.13/dill-0.4.1/closure_empty.pkl",
        "3.10/dill-0.3.5.1/closure_nonlocal.pkl",
        "2.7/cloudpickle-0.2.2/closure.pkl",
        "2.7/cloudpickle-p0-0.5.6/dynamic_class.pkl",
        "3.6/cloudpickle-0.4.1/enum_class.pkl",
        "3.8/cloudpickle-1.4.1/closure.pkl",
        "3.12/extpickle-1.20160617.170648/closure.pkl",
        "3.11/joblib-loky-wrapper-1.2.0/closure_recursive.pkl",
        "3.9/copyreg-marshal-p2-stdlib/nested.pkl",
    ];
    let mut runs = 0;
    for rel in samples {
        let Some(data) = fixture(rel) else { continue };
        // Every prefix of the first 256 bytes, then every 7th.
        for end in (0..data.len()).filter(|&e| e < 256 || e % 7 == 0) {
            let _ = decode(&data[..end]);
            runs += 1;
        }
        // Deterministic corruption: xorshift positions and values.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..200 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut bad = data.clone();
            let pos = (x as usize) % bad.len();
            bad[pos] = (x >> 32) as u8;
            if let Ok(m) = decode(&bad) {
                // Whatever was understood is consistent with the graph.
                for f in m.functions() {
                    assert!(f.node.index() < m.graph.len());
                }
            }
            runs += 1;
        }
    }
    println!("{runs} corrupted or truncated payloads decoded without a panic");
}

#[test]
fn a_self_containing_list_is_fine() {
    // l = []; l.append(l)
    let data = b"\x80\x02]q\x00h\x00a.";
    let m = decode(data).unwrap();
    assert!(matches!(m.graph.kind(m.root()), NodeKind::List(_)));
    assert!(m.producer().is_none());
}

/// Vendored copies: real protocol-2 cloudpickle payloads (text `GLOBAL` opcodes, no length
/// prefixes) with their module paths moved under the namespaces of PySpark, Ray, joblib and
/// srsly decode to the same functions, with the vendor and namespace recorded.
#[test]
fn vendored_module_paths_are_recognised() {
    use brine_pickle_ext::model::Vendor;
    let samples = [
        "3.13/cloudpickle-p2-3.1.2/closure.pkl",
        "3.10/cloudpickle-p2-2.0.0/closure_recursive.pkl",
        "3.7/cloudpickle-p2-1.2.2/defaults.pkl",
        "2.7/cloudpickle-p0-0.5.6/closure.pkl",
    ];
    let vendors = [
        ("pyspark.", Vendor::PySpark, "pyspark"),
        ("ray.", Vendor::Ray, "ray"),
        ("joblib.externals.", Vendor::Joblib, "joblib.externals"),
        ("srsly.", Vendor::Srsly, "srsly"),
    ];
    let mut checked = 0;
    for rel in samples {
        let Some(data) = fixture(rel) else { continue };
        let original = decode(&data).unwrap();
        let want = original.function(original.root()).unwrap().name.clone();
        for (prefix, vendor, ns) in vendors {
            // `c` + module + `\n`: the GLOBAL opcode's text argument.
            let from = b"ccloudpickle.cloudpickle";
            let mut to = b"c".to_vec();
            to.extend_from_slice(prefix.as_bytes());
            to.extend_from_slice(&from[1..]);
            let mut moved = Vec::new();
            let mut i = 0;
            while i < data.len() {
                if data[i..].starts_with(from) {
                    moved.extend_from_slice(&to);
                    i += from.len();
                } else {
                    moved.push(data[i]);
                    i += 1;
                }
            }
            assert_ne!(moved, data, "{rel}: no GLOBAL to move");
            let m = decode(&moved).unwrap();
            let p = m.producer().unwrap();
            assert_eq!((p.vendor, p.namespace.as_str()), (vendor, ns), "{rel}");
            assert_eq!(p.era, original.producer().unwrap().era, "{rel}");
            assert_eq!(m.function(m.root()).unwrap().name, want, "{rel}");
            checked += 1;
        }
    }
    assert!(checked > 0 || fixture(samples[0]).is_none());
}

/// A list nested 100 000 deep: decoding, the JSON view and the writer stay within their depth
/// limits (no stack overflow on a 2 MiB test thread).
#[test]
fn deep_nesting_is_bounded_everywhere() {
    let n = 100_000;
    let mut data = b"\x80\x02".to_vec();
    data.extend(std::iter::repeat_n(b']', n));
    data.extend(std::iter::repeat_n(b'a', n - 1));
    data.push(b'.');
    let m = decode(&data).unwrap();
    let text = serde_json::to_string(&m.to_json()).unwrap();
    assert!(text.contains("truncated"));
    let err = m
        .emit(m.root(), &brine_pickle_ext::model::EmitOptions::default())
        .unwrap_err();
    assert!(err.to_string().contains("too deeply"), "{err}");
}
