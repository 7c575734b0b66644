//! `Model::emit` without an interpreter: enums, type variables, Python 2 and pre-3.8 targets,
//! on every committed fixture payload that ships them. The emitted bytes are read back with
//! pickle-core and must state exactly what the fixture's facts (CPython's view of the original
//! object) say. `ext_live_writer.rs` loads the same streams in real interpreters.

use brine_pickle_core::{loads_with, Graph, LoadOptions, NodeId, NodeKind, Py2Encoding};
use brine_pickle_ext::model::{CellRecipe, EmitError, EmitOptions, Entity};
use brine_pickle_ext::recognise::{decode_with, DecodeOptions};
use serde_json::Value;
use std::path::PathBuf;

/// One fixture payload: producing Python, directory, facts, bytes.
type Payload = ((u8, u8), PathBuf, Value, Vec<u8>);

/// Every fixture payload of `sample`.
fn payloads(sample: &str) -> Vec<Payload> {
    let root = brine_tests::fixtures_dir().join("ext");
    let mut out = Vec::new();
    let Ok(versions) = std::fs::read_dir(&root) else {
        return out;
    };
    let mut dirs: Vec<(String, PathBuf)> = versions
        .flatten()
        .filter(|v| v.path().is_dir())
        .flat_map(|v| {
            let label = v.file_name().to_string_lossy().to_string();
            std::fs::read_dir(v.path())
                .into_iter()
                .flatten()
                .flatten()
                .map(move |d| (label.clone(), d.path()))
        })
        .collect();
    dirs.sort();
    for (label, dir) in dirs {
        let (a, b) = label.split_once('.').unwrap();
        let python = (a.parse().unwrap(), b.parse().unwrap());
        let (Ok(facts), Ok(pkl)) = (
            std::fs::read_to_string(dir.join(format!("{sample}.facts.json"))),
            std::fs::read(dir.join(format!("{sample}.pkl"))),
        ) else {
            continue;
        };
        out.push((python, dir, serde_json::from_str(&facts).unwrap(), pkl));
    }
    out
}

fn read_back(bytes: &[u8]) -> Graph {
    loads_with(
        bytes,
        &LoadOptions {
            encoding: Py2Encoding::Bytes,
            ..LoadOptions::default()
        },
    )
    .expect("the emitted stream loads in pickle-core")
}

fn globals(g: &Graph) -> Vec<String> {
    g.nodes
        .iter()
        .filter_map(|n| match &n.kind {
            NodeKind::Global(gl) => Some(format!("{}.{}", gl.module, gl.name)),
            _ => None,
        })
        .collect()
}

fn texts(g: &Graph) -> Vec<String> {
    (0..g.nodes.len())
        .filter_map(|i| {
            let id = NodeId::from_index(i);
            g.as_str(id)
                .map(|s| s.to_string_lossy())
                .or_else(|| g.py2_str_text(id))
        })
        .collect()
}

#[test]
fn typevars_are_rebuilt_with_their_constructor() {
    let mut checked = 0;
    for (python, dir, facts, pkl) in payloads("typevar") {
        let f = &facts["facts"];
        if f["kind"] != "typevar" {
            continue; // by reference (older cloudpickle, dill)
        }
        let m = decode_with(&pkl, &DecodeOptions::default()).unwrap();
        if !matches!(m.entity_of(m.root()), Some(Entity::TypeVar(_))) {
            continue; // shipped by reference (`__main__.T`)
        }
        let options = EmitOptions {
            python: Some(python),
            ..EmitOptions::default()
        };
        let bytes = match m.emit(m.root(), &options) {
            Ok(b) => b,
            Err(e) => panic!("{}: {e}", dir.display()),
        };
        let g = read_back(&bytes);
        let gl = globals(&g);
        assert!(gl.contains(&"typing.TypeVar".to_string()), "{gl:?}");
        assert!(gl.contains(&"functools.partial".to_string()), "{gl:?}");
        let t = texts(&g);
        assert!(
            t.contains(&f["name"].as_str().unwrap().to_string()),
            "{t:?}"
        );
        // bound=int: the keyword and the bound's global.
        if let Some(bound) = f["bound"].get("class").and_then(|c| c["qualname"].as_str()) {
            assert!(t.contains(&"bound".to_string()), "{}: {t:?}", dir.display());
            // The bound is copied as shipped: a global, or dill's `_load_type('int')` (3.6
            // payloads, whose TypeVar travels as its slot state).
            assert!(
                gl.iter().any(|g| g.ends_with(&format!(".{bound}")))
                    || (gl.iter().any(|g| g.ends_with("._load_type"))
                        && t.contains(&bound.to_string())),
                "{}: {gl:?}",
                dir.display()
            );
        }
        checked += 1;
    }
    if checked == 0 {
        println!("skipped: no by-value TypeVar fixtures");
    }
}

#[test]
fn enums_are_rebuilt_with_the_functional_api() {
    let mut checked = 0;
    for (python, dir, facts, pkl) in payloads("enum_class") {
        let f = &facts["facts"];
        let m = decode_with(&pkl, &DecodeOptions::default()).unwrap();
        let Some(class) = m.class(m.root()) else {
            continue; // by reference (dill)
        };
        if class.enum_members.is_none() {
            continue;
        }
        let options = EmitOptions {
            python: Some(python),
            ..EmitOptions::default()
        };
        let bytes = m
            .emit(m.root(), &options)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let g = read_back(&bytes);
        let gl = globals(&g);
        assert!(gl.contains(&"functools.partial".to_string()), "{gl:?}");
        assert!(gl.contains(&"enum.Enum".to_string()), "{gl:?}");
        let t = texts(&g);
        for member in f["enum_members"].as_array().unwrap() {
            let name = member[0].as_str().unwrap();
            assert!(t.contains(&name.to_string()), "{}: {name}", dir.display());
        }
        assert!(t.contains(&f["qualname"].as_str().unwrap().to_string()));
        checked += 1;
    }
    if checked == 0 {
        println!("skipped: no by-value enum fixtures");
    }
}

#[test]
fn closures_before_3_8_use_the_producers_cell_helpers() {
    let mut checked = 0;
    for (python, dir, _facts, pkl) in payloads("closure") {
        if python >= (3, 8) || !dir.to_string_lossy().contains("cloudpickle") {
            continue;
        }
        let stated = DecodeOptions {
            python: Some(python),
            ..DecodeOptions::default()
        };
        let m = decode_with(&pkl, &stated).unwrap();
        let mut options = EmitOptions {
            python: Some(python),
            protocol: if python.0 < 3 { 2 } else { 4 },
            cells: CellRecipe::TypesCellType,
            ..EmitOptions::default()
        };
        // types.CellType, when stated, does not exist there: refused, with the reason.
        match m.emit(m.root(), &options) {
            Err(EmitError::Unsupported(why)) => assert!(why.contains("CellType"), "{why}"),
            other => panic!("{}: {other:?}", dir.display()),
        }
        options.cells = CellRecipe::Cloudpickle {
            module: "cloudpickle.cloudpickle".into(),
        };
        let bytes = m
            .emit(m.root(), &options)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let g = read_back(&bytes);
        let gl = globals(&g);
        assert!(
            gl.contains(&"cloudpickle.cloudpickle._make_empty_cell".to_string())
                && gl.contains(&"cloudpickle.cloudpickle.cell_set".to_string()),
            "{}: {gl:?}",
            dir.display()
        );
        assert!(!gl.iter().any(|g| g.contains("CellType")), "{gl:?}");
        if python.0 < 3 {
            // Python 2: protocol 2, `__builtin__`, byte strings for names.
            assert_eq!(bytes[..2], [0x80, 2]);
            assert!(!gl.iter().any(|g| g.starts_with("builtins.")), "{gl:?}");
            assert!(gl.contains(&"types.FunctionType".to_string()), "{gl:?}");
            let names: Vec<&NodeKind> = g
                .nodes
                .iter()
                .map(|n| &n.kind)
                .filter(|k| matches!(k, NodeKind::Str(_)))
                .collect();
            assert!(
                names.is_empty(),
                "{}: unicode text in a Python 2 stream",
                dir.display()
            );
            // A protocol above 2 is refused for Python 2.
            let p4 = EmitOptions {
                protocol: 4,
                ..options.clone()
            };
            assert!(matches!(
                m.emit(m.root(), &p4),
                Err(EmitError::Unsupported(_))
            ));
        }
        checked += 1;
    }
    if checked == 0 {
        println!("skipped: no pre-3.8 cloudpickle closure fixtures");
    }
}

/// Without a stated recipe, cells are made the producer's way below Python 3.8 (its own
/// helpers, which the loading process has) and by `types.CellType` from 3.8 on.
#[test]
fn cell_recipe_follows_the_producer() {
    let all = payloads("closure");
    if all.is_empty() {
        brine_tests::skip_live("cell_recipe_follows_the_producer", "no ext fixtures");
        return;
    }
    let mut checked = 0;
    for (python, dir, facts, pkl) in all {
        if facts["sample"] != "closure" || !dir.join("closure.pkl").exists() {
            continue;
        }
        let variant = facts["producer"]["variant"].as_str().unwrap().to_string();
        let version = facts["producer"]["version"].as_str().unwrap().to_string();
        let Ok(m) = decode_with(&pkl, &DecodeOptions::default()) else {
            continue;
        };
        if m.function(m.root()).is_none() {
            continue; // a wrapper or by-reference payload
        }
        let options = EmitOptions {
            python: Some(python),
            protocol: if python.0 < 3 { 2 } else { 4 },
            ..EmitOptions::default()
        };
        assert_eq!(options.cells, CellRecipe::FromProducer, "the default");
        let want = if python >= (3, 8) {
            Some("types.CellType")
        } else if variant.starts_with("cloudpickle") && !version.starts_with("0.2") {
            Some("cloudpickle.cloudpickle._make_empty_cell")
        } else if variant.starts_with("joblib-cloudpickle") {
            Some("joblib.externals.cloudpickle.cloudpickle._make_empty_cell")
        } else if variant.starts_with("dill") && version == "0.2.7.1" {
            Some("dill.dill._create_cell")
        } else if variant.starts_with("dill") {
            Some("dill._dill._create_cell")
        } else {
            None // cloudpickle 0.2 and extpickle have no cell helpers: refused below 3.8
        };
        let emitted = m.emit(m.root(), &options);
        match (want, emitted) {
            (Some(w), Ok(bytes)) => {
                let gl = globals(&read_back(&bytes));
                assert!(gl.contains(&w.to_string()), "{}: {gl:?}", dir.display());
                checked += 1;
            }
            (None, Err(EmitError::Unsupported(msg))) => {
                assert!(msg.contains("CellType"), "{}: {msg}", dir.display());
                checked += 1;
            }
            (w, r) => panic!(
                "{}: wanted {w:?}, got {:?}",
                dir.display(),
                r.map(|b| b.len())
            ),
        }
    }
    assert!(checked > 20, "only {checked} closure payloads checked");
}
