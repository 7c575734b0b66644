//! Helpers shared by the integration tests.
#![allow(dead_code)]

use brine_marshal::{NodeId, PyVersion, Stream, Value};
use std::path::PathBuf;

/// Path of a committed data file (`marshal/tests/data/<name>`).
pub fn data_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("data")
        .join(name)
}

/// Loads a committed JSON data file (parsed once per test binary).
pub fn load_json(name: &str) -> &'static serde_json::Value {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<String, &'static serde_json::Value>>> = OnceLock::new();
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .expect("cache lock");
    cache.entry(name.to_string()).or_insert_with(|| {
        let text = std::fs::read_to_string(data_path(name)).expect("data file exists");
        Box::leak(Box::new(serde_json::from_str(&text).expect("valid JSON")))
    })
}

/// Decodes lowercase/uppercase hex.
pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// Encodes bytes as lowercase hex.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Parses `"3.11"`.
pub fn version(label: &str) -> PyVersion {
    label.parse().expect("version label")
}

/// The type codes of a stream in order, with references replaced by the type codes of what
/// they point to (so streams that differ only in sharing compare equal). FLAG_REF bits are
/// dropped. Bounded by `budget` codes.
pub fn expanded_type_codes(stream: &Stream<'_>, budget: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut stack = vec![stream.root()];
    while let Some(id) = stack.pop() {
        if out.len() >= budget {
            break;
        }
        let id: NodeId = stream.resolve(id);
        let node = stream.node(id);
        out.push(node.value.type_code());
        if let Value::Code(_) = node.value {
            let code = stream.code_object(id).expect("code object");
            for &f in code.layout.fields().iter().rev() {
                if let Some(n) = code.object_field(f) {
                    stack.push(n);
                }
            }
        } else {
            stack.extend(stream.children(id).iter().rev().copied());
        }
    }
    out
}

/// As [`expanded_type_codes`] for the subtree of `id`, but with the items of sets and
/// frozensets in sorted order of their own codes, so that streams differing only in set order
/// compare equal. Recursive: for test data of bounded depth only.
pub fn type_codes_set_order_free(stream: &Stream<'_>, id: NodeId) -> Vec<u8> {
    let id = stream.resolve(id);
    let node = stream.node(id);
    let mut out = vec![node.value.type_code()];
    match node.value {
        Value::Code(_) => {
            let code = stream.code_object(id).expect("code object");
            for &f in code.layout.fields() {
                if let Some(n) = code.object_field(f) {
                    out.extend(type_codes_set_order_free(stream, n));
                }
            }
        }
        Value::Set(_) | Value::FrozenSet(_) => {
            let mut items: Vec<Vec<u8>> = stream
                .children(id)
                .iter()
                .map(|&c| type_codes_set_order_free(stream, c))
                .collect();
            items.sort();
            out.extend(items.concat());
        }
        _ => {
            for &c in stream.children(id) {
                out.extend(type_codes_set_order_free(stream, c));
            }
        }
    }
    out
}
