//! Values built by hand (from CPython's JSON view of each sample in
//! `tests/fixtures/marshal/<X.Y>/values.json`, not from our reader) and written with
//! `brine_marshal::dumps` give exactly the bytes CPython's `marshal.dumps(value, version)` gave,
//! wherever CPython's output does not depend on interpreter state.
//!
//! What depends on interpreter state, and how the test handles it:
//! * FLAG_REF (marshal version 3+) follows reference counts at dump time: entries whose CPython
//!   bytes carry a flag are not compared (our writer never sets one).
//! * Whether a string is interned is runtime state, like FLAG_REF: the test takes each string's
//!   interned bit from CPython's bytes (the only thing it takes from them).
//! * Set order before 3.11 follows hashing: sets with more than one item are compared from 3.11
//!   on only (3.11+ sorts them by their marshalled bytes).
//! * Python 2 `long` vs `int` is not in the VALUE view: samples named `long_*` are longs.
//! * A NaN's sign and payload are not in its repr (`nan`), and CPython 2.7's `float('nan')`
//!   has the sign bit set (bytes `...f8ff`) where 3.x's has not: 2.7 values holding a NaN are
//!   not compared.

use brine_marshal::{dumps, DumpOptions, Object, PyVersion, ReadOptions, Stream, Value};
use brine_pickle_ext::json::Json;
use num_bigint::BigInt;
use std::collections::VecDeque;
use std::fs;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The interned bit of every string occurrence of the stream, in stream order (a Python 2
/// `R` back-reference counts as an occurrence of an interned string).
fn interned_bits(stream: &Stream<'_>) -> VecDeque<bool> {
    stream
        .nodes()
        .iter()
        .filter_map(|n| match n.value {
            Value::Str { kind, .. } => Some(kind.is_interned()),
            Value::Py2Str { interned, .. } => Some(interned),
            Value::StringRef { .. } => Some(true),
            _ => None,
        })
        .collect()
}

struct Builder {
    py2: bool,
    long: bool,
    interned: VecDeque<bool>,
}

impl Builder {
    fn text(v: &Json) -> String {
        v.as_string().expect("text")
    }

    fn float(v: &Json) -> f64 {
        let t = Builder::text(v);
        t.parse().unwrap_or_else(|_| panic!("float repr {t:?}"))
    }

    fn list(&mut self, v: &Json) -> Vec<Object> {
        let Json::Array(items) = v else {
            panic!("array expected")
        };
        items.iter().map(|i| self.object(i)).collect()
    }

    /// The object a VALUE stands for.
    fn object(&mut self, v: &Json) -> Object {
        match v {
            Json::Null => return Object::None,
            Json::Bool(b) => return Object::Bool(*b),
            _ => {}
        }
        let Json::Object(pairs) = v else {
            panic!("VALUE expected: {}", v.to_text(None))
        };
        let (tag, inner) = (&pairs[0].0, &pairs[0].1);
        match tag.as_str() {
            "int" => {
                let n: BigInt = Builder::text(inner).parse().expect("int");
                if self.py2 && self.long {
                    Object::Py2Long(n)
                } else {
                    Object::Int(n)
                }
            }
            "float" => Object::Float(Builder::float(inner)),
            "complex" => {
                let Json::Array(p) = inner else { panic!() };
                Object::Complex(Builder::float(&p[0]), Builder::float(&p[1]))
            }
            "bytes" => {
                let data = unhex(&Builder::text(inner));
                if self.py2 {
                    let interned = self.interned.pop_front().expect("a string in the stream");
                    Object::Py2Str { data, interned }
                } else {
                    Object::Bytes(data)
                }
            }
            "str" => {
                let Json::Str(points) = inner else { panic!() };
                let interned = self.interned.pop_front().expect("a string in the stream");
                Object::str_from_code_points(points, interned)
            }
            "tuple" => Object::Tuple(self.list(inner)),
            "list" => Object::List(self.list(inner)),
            "set" => Object::Set(self.list(inner)),
            "frozenset" => Object::FrozenSet(self.list(inner)),
            "dict" => {
                let Json::Array(p) = inner else { panic!() };
                Object::Dict(
                    p.iter()
                        .map(|kv| {
                            let Json::Array(kv) = kv else { panic!() };
                            (self.object(&kv[0]), self.object(&kv[1]))
                        })
                        .collect(),
                )
            }
            "ellipsis" => Object::Ellipsis,
            "stopiteration" => Object::StopIteration,
            other => panic!("unexpected VALUE tag {other}"),
        }
    }
}

/// Whether a VALUE holds a set or frozenset of more than one item.
fn has_unordered_set(v: &Json) -> bool {
    match v {
        Json::Array(items) => items.iter().any(has_unordered_set),
        Json::Object(pairs) => pairs.iter().any(|(k, inner)| {
            ((k == "set" || k == "frozenset") && matches!(inner, Json::Array(i) if i.len() > 1))
                || has_unordered_set(inner)
        }),
        _ => false,
    }
}

#[test]
fn hand_built_values_match_cpython_dumps() {
    let root = brine_tests::fixtures_dir().join("marshal");
    let mut dirs: Vec<_> = fs::read_dir(&root)
        .expect("fixtures")
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().to_str()?.parse::<PyVersion>().ok()?, e.path())))
        .collect();
    dirs.sort();
    let (mut compared, mut flagged, mut unordered, mut nans) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for (version, dir) in dirs {
        let text = fs::read_to_string(dir.join("values.json")).expect("values.json");
        let doc = Json::parse(&text).expect("JSON");
        let Json::Array(entries) = &doc else {
            panic!("array")
        };
        for e in entries {
            let name = e.get("name").and_then(Json::as_string).expect("name");
            let mv = e.get("version").and_then(Json::as_i64).expect("version") as u8;
            let (Some(hex), None) = (e.get("hex").and_then(Json::as_string), e.get("recursive"))
            else {
                continue;
            };
            let expected = unhex(&hex);
            let stream = brine_marshal::read(&expected, &ReadOptions::new(version))
                .unwrap_or_else(|err| panic!("{version} {name} v{mv}: {err}"));
            if stream.nodes().iter().any(|n| n.flag_ref) {
                flagged += 1;
                continue;
            }
            let value = e.get("value").expect("value");
            if !version.at_least(3, 11) && has_unordered_set(value) {
                unordered += 1;
                continue;
            }
            if version.is_py2() && value.to_text(None).contains(r#""nan""#) {
                nans += 1;
                continue;
            }
            let mut b = Builder {
                py2: version.is_py2(),
                long: name.starts_with("long_"),
                interned: interned_bits(&stream),
            };
            let object = b.object(value);
            let options = DumpOptions::new(version).with_marshal_version(mv);
            match dumps(&object, &options) {
                Ok(ours) if ours == expected => compared += 1,
                Ok(ours) => failures.push(format!(
                    "{version} {name} v{mv}: ours {} vs CPython {hex}",
                    brine_pickle_ext::json::hex(&ours)
                )),
                Err(err) => failures.push(format!("{version} {name} v{mv}: {err}")),
            }
        }
    }
    println!(
        "compared {compared}; skipped {flagged} with FLAG_REF, {unordered} with hash-ordered \
         sets, {nans} with a NaN"
    );
    assert!(compared >= 1000, "only {compared} values compared");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
