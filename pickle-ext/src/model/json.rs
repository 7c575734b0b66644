//! JSON view of a model (feature `json`): what `brine show FILE --functions --json` prints.
//!
//! Values use the VALUE schema shared with the marshal and pickle views (`{"int": "1"}`,
//! `{"str": "x"}`, `{"bytes": "<hex>"}`, `{"tuple": [...]}`, `{"code": CODE}`, ...), extended for
//! what only extended pickles carry: `{"function": {"module", "qualname"}}` and `{"class": ...}`
//! references (the full records are in the `functions`/`classes` lists), `{"module": name}`,
//! `{"typevar": name}`, `{"global": "module.name"}`, `{"call": {"callable", "args"}}` for opaque
//! calls, `{"nested_pickle": MODEL}`, and `{"ref": n}` for a container reached again on its own
//! path (a cycle). CODE holds the constructor arguments under their `co_*` names.

use super::{CellContents, Class, CodeSource, Entity, Function, GlobalsBase, Model, ModuleHow};
use crate::recognise::code::FieldType;
use brine_pickle_core::{NodeId, NodeKind};
use serde_json::{json, Map, Value};

use crate::limits::MAX_VIEW_DEPTH as MAX_DEPTH;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Model {
    /// The whole model: producer, Python inference, root value, every function and class,
    /// diagnostics.
    pub fn to_json(&self) -> Value {
        let producers: Vec<Value> = self
            .producers
            .iter()
            .map(|p| json!(p.to_string()))
            .collect();
        json!({
            "producers": producers,
            "python": {
                "candidates": self.python.candidates.iter().map(|(a, b)| format!("{a}.{b}")).collect::<Vec<_>>(),
                "stated": self.python.stated.map(|(a, b)| format!("{a}.{b}")),
                "evidence": self.python.evidence.iter().map(|e| json!({
                    "offset": e.offset, "what": e.what, "versions": e.versions.to_string()
                })).collect::<Vec<_>>(),
            },
            "root": self.value_json(self.root()),
            "functions": self.functions().map(|f| self.function_json(f)).collect::<Vec<_>>(),
            "classes": self.classes().map(|c| self.class_json(c)).collect::<Vec<_>>(),
            "diagnostics": self.diagnostics.iter().map(|d| json!({"offset": d.offset, "message": d.message})).collect::<Vec<_>>(),
        })
    }

    /// One function: `{"function": {"name", "qualname", "module", "code", "globals",
    /// "defaults", "kwdefaults", "closure", "annotations", "doc", "dict", "submodules",
    /// "producer", "offset"}}`.
    pub fn function_json(&self, f: &Function) -> Value {
        let globals: Map<String, Value> = f
            .shipped_globals
            .iter()
            .map(|&(k, v)| {
                (
                    self.text_of(k).unwrap_or_else(|| "?".to_string()),
                    self.value_json(v),
                )
            })
            .collect();
        let base = match &f.globals {
            GlobalsBase::Dict(_) => json!("shipped dict"),
            GlobalsBase::MainSentinel => json!("__main__ of the loading process"),
            GlobalsBase::ModuleNamespace(m) => json!(format!("namespace of module {m}")),
            GlobalsBase::None => Value::Null,
            GlobalsBase::Other(n) => self.value_json(*n),
        };
        let closure = f.closure.as_ref().map(|cells| {
            cells
                .iter()
                .map(|&c| match self.cell(c).map(|c| c.contents) {
                    Some(CellContents::Empty) => json!({"empty": true}),
                    Some(CellContents::Value(v)) => json!({"value": self.value_json(v)}),
                    None => Value::Null,
                })
                .collect::<Vec<_>>()
        });
        let opt = |n: Option<NodeId>| n.map_or(Value::Null, |n| self.value_json(n));
        json!({"function": {
            "name": f.name,
            "qualname": f.qualname,
            "module": f.module,
            "code": f.code.map_or(Value::Null, |c| self.code_json(c)),
            "globals_base": base,
            "globals": globals,
            "defaults": opt(f.defaults),
            "kwdefaults": opt(f.kwdefaults),
            "closure": closure,
            "annotations": opt(f.annotations),
            "doc": opt(f.doc),
            "dict": opt(f.dict),
            "submodules": f.submodules.iter().map(|&s| self.value_json(s)).collect::<Vec<_>>(),
            "producer": f.producer.to_string(),
            "offset": self.graph.node(f.node).offset,
        }})
    }

    /// One class: `{"class": {"name", "qualname", "module", "metaclass", "bases", "dict",
    /// "tracker_id", "enum_members", "producer", "offset"}}`.
    pub fn class_json(&self, c: &Class) -> Value {
        let dict: Vec<Value> = c
            .dict
            .iter()
            .map(|&(k, v)| json!([self.value_json(k), self.value_json(v)]))
            .collect();
        let opt = |n: Option<NodeId>| n.map_or(Value::Null, |n| self.value_json(n));
        json!({"class": {
            "name": c.name,
            "qualname": c.qualname,
            "module": c.module,
            "metaclass": opt(c.metaclass),
            "bases": opt(c.bases),
            "dict": dict,
            "tracker_id": c.tracker_id,
            "enum_members": opt(c.enum_members),
            "producer": c.producer.to_string(),
            "offset": self.graph.node(c.node).offset,
        }})
    }

    /// CODE for a code-object node: the constructor arguments by `co_*` name (plus
    /// `"layout"`), or `{"marshal": "<hex>", "versions": "..."}` for marshal bytes.
    pub fn code_json(&self, node: NodeId) -> Value {
        let Some(c) = self.code(node) else {
            return self.value_json(node);
        };
        match c.source {
            CodeSource::Marshal { bytes } => json!({
                "marshal": self.bytes_of(bytes).map(hex),
                "versions": c.marshal_versions.to_string(),
            }),
            CodeSource::CtorArgs { layout } => {
                let mut out = Map::new();
                for (&field, &arg) in layout.fields.iter().zip(&c.args) {
                    let v = match field.ty() {
                        FieldType::Int => self
                            .graph
                            .as_i64(arg)
                            .map_or_else(|| self.value_json(arg), |i| json!(i)),
                        FieldType::Bytes => self
                            .bytes_of(arg)
                            .map_or_else(|| self.value_json(arg), |b| json!(hex(b))),
                        FieldType::Text => self
                            .text_of(arg)
                            .map_or_else(|| self.value_json(arg), |t| json!(t)),
                        FieldType::Names => json!(self
                            .graph
                            .items(arg)
                            .unwrap_or(&[])
                            .iter()
                            .map(|&n| self.text_of(n))
                            .collect::<Vec<_>>()),
                        FieldType::Tuple => json!(self
                            .graph
                            .items(arg)
                            .unwrap_or(&[])
                            .iter()
                            .map(|&n| self.value_json(n))
                            .collect::<Vec<_>>()),
                    };
                    out.insert(field.attr().to_string(), v);
                }
                out.insert("layout".to_string(), json!(layout.name));
                Value::Object(out)
            }
        }
    }

    /// The VALUE view of a node (see the module docs).
    pub fn value_json(&self, node: NodeId) -> Value {
        let mut path = Vec::new();
        self.value_at(node, 0, &mut path)
    }

    fn value_at(&self, node: NodeId, depth: usize, path: &mut Vec<NodeId>) -> Value {
        if depth > MAX_DEPTH {
            return json!({"truncated": true});
        }
        if path.contains(&node) {
            return json!({"ref": node.index()});
        }
        match self.entity_of(node) {
            Some(Entity::Bytes(b)) => return json!({"bytes": hex(b)}),
            Some(Entity::Code(_)) => return json!({"code": self.code_json(node)}),
            Some(Entity::Function(f)) => {
                return json!({"function": {"module": f.module, "qualname": f.qualname.clone().or_else(|| f.name.clone())}})
            }
            Some(Entity::Class(c)) => {
                return json!({"class": {"module": c.module, "qualname": c.qualname.clone().or_else(|| c.name.clone())}})
            }
            Some(Entity::Module(m)) => {
                return match &m.how {
                    ModuleHow::Import => json!({"module": m.name}),
                    ModuleHow::Dynamic(d) | ModuleHow::ImportThenUpdate(d) => {
                        path.push(node);
                        let v = self.value_at(*d, depth + 1, path);
                        path.pop();
                        json!({"module": m.name, "namespace": v})
                    }
                }
            }
            Some(Entity::TypeVar(t)) => return json!({"typevar": t.name}),
            Some(Entity::Nested(n)) => {
                return match &n.model {
                    Ok(m) => json!({"nested_pickle": m.to_json()}),
                    Err(e) => json!({"nested_pickle": {"error": e}}),
                }
            }
            Some(Entity::Cell(_)) | None => {}
        }
        let g = &self.graph;
        path.push(node);
        let items = |ids: &[NodeId], path: &mut Vec<NodeId>| -> Vec<Value> {
            ids.iter()
                .map(|&i| self.value_at(i, depth + 1, path))
                .collect()
        };
        let v = match g.kind(node) {
            NodeKind::None => Value::Null,
            NodeKind::Bool(b) => json!(b),
            NodeKind::Int(i) => json!({"int": i.to_string()}),
            NodeKind::BigInt(b) => json!({"int": b.to_string()}),
            NodeKind::Float(f) => json!({"float": brine_pickle_core::pyrepr::repr_float(*f)}),
            NodeKind::Str(_) => json!({"str": self.text_of(node)}),
            NodeKind::Bytes(_) | NodeKind::Py2Str(_) => {
                json!({"bytes": g.as_bytes(node).map(hex)})
            }
            NodeKind::ByteArray(_) => json!({"bytearray": g.as_bytes(node).map(hex)}),
            NodeKind::Tuple(v) => json!({"tuple": items(v, path)}),
            NodeKind::List(v) => json!({"list": items(v, path)}),
            NodeKind::Set(v) => json!({"set": items(v, path)}),
            NodeKind::FrozenSet(v) => json!({"frozenset": items(v, path)}),
            NodeKind::Dict(pairs) => {
                let out: Vec<Value> = pairs
                    .iter()
                    .map(|&(k, v)| {
                        json!([
                            self.value_at(k, depth + 1, path),
                            self.value_at(v, depth + 1, path)
                        ])
                    })
                    .collect();
                json!({ "dict": out })
            }
            NodeKind::Global(gl) => {
                json!({"global": format!("{}.{}", gl.resolved_module, gl.resolved_name)})
            }
            NodeKind::Object(obj) => json!({"call": {
                "callable": self.value_at(obj.callable, depth + 1, path),
                "args": self.value_at(obj.args, depth + 1, path),
            }}),
            NodeKind::Persistent { pid } => {
                json!({"persistent": self.value_at(*pid, depth + 1, path)})
            }
            NodeKind::Ext { code, .. } => json!({ "ext": code }),
            NodeKind::Buffer { index } => json!({ "buffer": index }),
            NodeKind::ReadOnly { of } => json!({"readonly": self.value_at(*of, depth + 1, path)}),
        };
        path.pop();
        v
    }
}
