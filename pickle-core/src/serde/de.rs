//! The serde deserializer over a loaded [`Graph`].
//!
//! Mapping (Python → serde data model): `None` → unit/none; `bool`; `int` → i64 (or i128/u128
//! for larger values); `float` → f64; `str` → string; `bytes`/`bytearray` → bytes; a Python-2
//! string → string (or bytes with `encoding='bytes'`); tuple/list/set/frozenset → sequence;
//! dict → map (CPython's view: a repeated key keeps its first position and the last value).
//! Enums: a `str` is a unit variant; a one-entry dict `{variant: value}` or a 2-tuple
//! `(variant, value)` is a variant with content. An object built by a call whose state was
//! set by `BUILD` with a dict (an ordinary class instance) deserializes as that dict, so
//! structs can be read from pickled instances. Other symbolic objects (globals, calls without
//! dict state, persistent ids, buffers) are errors: they are not plain data.
//!
//! Deserialization recurses once per nesting level, so it stops at
//! [`Limits::max_serde_depth`](crate::Limits) (default 128) instead of overflowing the stack.

use crate::graph::{Graph, Mutation, NodeId, NodeKind, Py2Encoding};
use crate::options::LoadOptions;
use crate::pystr::PyStr;
use hashbrown::HashMap;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};
use std::fmt;

/// A deserialization error: a load error, a type mismatch, or a non-plain-data node.
#[derive(Debug, Clone, PartialEq)]
pub struct DeError {
    /// The message.
    pub message: String,
    /// The load error, if loading failed.
    pub load: Option<crate::Error>,
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> DeError {
        DeError {
            message: msg.to_string(),
            load: None,
        }
    }
}

impl From<crate::Error> for DeError {
    fn from(e: crate::Error) -> DeError {
        DeError {
            message: e.to_string(),
            load: Some(e),
        }
    }
}

/// Loads `data` (first pickle, default options) and deserializes its result as `T`.
pub fn from_slice<T: DeserializeOwned>(data: &[u8]) -> Result<T, DeError> {
    from_slice_with(data, &LoadOptions::default())
}

/// Like [`from_slice`] with load options (encoding of Python-2 strings, limits...).
pub fn from_slice_with<T: DeserializeOwned>(
    data: &[u8],
    options: &LoadOptions,
) -> Result<T, DeError> {
    let graph = crate::loads_with(data, options)?;
    from_graph(&graph, graph.root(), options.limits.max_serde_depth)
}

/// Deserializes node `id` of `graph` as `T`, nesting at most `max_depth` levels.
pub fn from_graph<T: DeserializeOwned>(
    graph: &Graph,
    id: NodeId,
    max_depth: usize,
) -> Result<T, DeError> {
    let ctx = DeContext::new(graph);
    T::deserialize(NodeDeserializer::new(&ctx, id, max_depth))
}

/// A graph plus an index of its mutation log by target (built once, so looking up an
/// object's `BUILD` state or an `OrderedDict`'s items is not a scan of the whole log).
#[derive(Debug)]
pub struct DeContext<'g> {
    graph: &'g Graph,
    mutations: HashMap<NodeId, Vec<usize>>,
}

impl<'g> DeContext<'g> {
    /// Indexes `graph` for deserialization.
    pub fn new(graph: &'g Graph) -> DeContext<'g> {
        let mut mutations: HashMap<NodeId, Vec<usize>> = HashMap::new();
        for (i, (target, _)) in graph.mutation_log.iter().enumerate() {
            mutations.entry(*target).or_default().push(i);
        }
        DeContext { graph, mutations }
    }

    fn mutations_of(&self, id: NodeId) -> impl DoubleEndedIterator<Item = &'g Mutation> + '_ {
        let log = &self.graph.mutation_log;
        self.mutations
            .get(&id)
            .map(|v| v.as_slice())
            .unwrap_or(&[])
            .iter()
            .map(move |&i| &log[i].1)
    }
}

/// A serde `Deserializer` for one node.
#[derive(Debug, Clone, Copy)]
pub struct NodeDeserializer<'g> {
    ctx: &'g DeContext<'g>,
    graph: &'g Graph,
    id: NodeId,
    depth_left: usize,
}

impl<'g> NodeDeserializer<'g> {
    /// A deserializer for node `id` of the context's graph, nesting at most `max_depth` levels.
    pub fn new(ctx: &'g DeContext<'g>, id: NodeId, max_depth: usize) -> NodeDeserializer<'g> {
        NodeDeserializer {
            ctx,
            graph: ctx.graph,
            id,
            depth_left: max_depth,
        }
    }

    fn child(&self, id: NodeId) -> Result<NodeDeserializer<'g>, DeError> {
        if self.depth_left == 0 {
            return Err(de::Error::custom("nesting too deep for deserialization"));
        }
        Ok(NodeDeserializer {
            ctx: self.ctx,
            graph: self.graph,
            id,
            depth_left: self.depth_left - 1,
        })
    }

    /// The dict state of an instance (`BUILD` with a dict), if any.
    fn instance_state(&self) -> Option<NodeId> {
        self.ctx
            .mutations_of(self.id)
            .rev()
            .find_map(|m| match m {
                Mutation::Build(s) => Some(*s),
                _ => None,
            })
            .and_then(|s| match self.graph.kind(s) {
                NodeKind::Dict(_) => Some(s),
                NodeKind::Tuple(v)
                    if v.len() == 2 && matches!(self.graph.kind(v[0]), NodeKind::Dict(_)) =>
                {
                    Some(v[0])
                }
                _ => None,
            })
    }

    fn text(&self) -> Option<Result<String, DeError>> {
        match self.graph.kind(self.id) {
            NodeKind::Str(s) => {
                let p = PyStr::from_validated(self.graph.bytes_of(*s));
                Some(match p.as_str() {
                    Some(t) => Ok(t.to_string()),
                    None => Err(de::Error::custom(
                        "str with a lone surrogate is not valid UTF-8",
                    )),
                })
            }
            NodeKind::Py2Str(_) if self.graph.encoding != Py2Encoding::Bytes => Some(
                self.graph
                    .py2_str_text(self.id)
                    .ok_or_else(|| de::Error::custom("Python-2 string does not decode")),
            ),
            _ => None,
        }
    }
}

/// Plain data that CPython's picklers write through `REDUCE` at low protocols.
enum Known<'g> {
    Bytes(Vec<u8>),
    Items(&'g [NodeId]),
    Pairs(Vec<(NodeId, NodeId)>),
}

impl<'g> NodeDeserializer<'g> {
    fn global_name(&self, id: NodeId) -> Option<(&'g str, &'g str)> {
        match self.graph.kind(id) {
            NodeKind::Global(g) => Some((g.resolved_module.as_str(), g.resolved_name.as_str())),
            _ => None,
        }
    }

    /// The bytes of a `bytes` node or of a `_codecs.encode(text, 'latin1')` call.
    fn bytes_value(&self, id: NodeId, depth: usize) -> Option<Vec<u8>> {
        let g = self.graph;
        match g.kind(id) {
            NodeKind::Bytes(s) | NodeKind::ByteArray(s) => Some(g.bytes_of(*s).to_vec()),
            NodeKind::Object(o) if depth < 4 => match self.known_reduce(o)? {
                Known::Bytes(b) => Some(b),
                _ => None,
            },
            _ => None,
        }
    }

    /// Recognises `_codecs.encode(s, 'latin1')`, `bytes()`, `bytearray(...)`, `set([...])`,
    /// `frozenset([...])` and `OrderedDict()` (+ its recorded SETITEMs): the forms CPython
    /// writes for plain data below protocol 3/4/5.
    fn known_reduce(&self, o: &'g crate::graph::Object) -> Option<Known<'g>> {
        let g = self.graph;
        let (module, name) = self.global_name(o.callable)?;
        let args = g.items(o.args).unwrap_or(&[]);
        if o.call != crate::graph::CallKind::Reduce {
            return None;
        }
        match (module, name) {
            ("_codecs", "encode") if args.len() == 2 => {
                let text = g.as_str(args[0])?;
                let enc = g.as_str(args[1])?;
                if enc.as_bytes() != b"latin1" && enc.as_bytes() != b"latin-1" {
                    return None;
                }
                let mut out = Vec::new();
                for cp in text.chars() {
                    out.push(u8::try_from(cp).ok()?);
                }
                Some(Known::Bytes(out))
            }
            ("builtins", "bytes") | ("builtins", "bytearray") if args.is_empty() => {
                Some(Known::Bytes(Vec::new()))
            }
            ("builtins", "bytearray") if args.len() == 1 => {
                Some(Known::Bytes(self.bytes_value(args[0], 1)?))
            }
            ("builtins", "set") | ("builtins", "frozenset") if args.is_empty() => {
                Some(Known::Items(&[]))
            }
            ("builtins", "set") | ("builtins", "frozenset") if args.len() == 1 => {
                Some(Known::Items(g.items(args[0])?))
            }
            ("collections", "OrderedDict") if args.is_empty() => {
                let mut pairs = Vec::new();
                for m in self.ctx.mutations_of(self.id) {
                    match m {
                        Mutation::SetItem(k, v) => pairs.push((*k, *v)),
                        Mutation::SetItems(ps) => pairs.extend_from_slice(ps),
                        _ => return None,
                    }
                }
                Some(Known::Pairs(pairs))
            }
            _ => None,
        }
    }
}

struct Seq<'g> {
    parent: NodeDeserializer<'g>,
    items: &'g [NodeId],
    pos: usize,
}

impl<'de, 'g> SeqAccess<'de> for Seq<'g> {
    type Error = DeError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        match self.items.get(self.pos) {
            None => Ok(None),
            Some(&id) => {
                self.pos += 1;
                seed.deserialize(self.parent.child(id)?).map(Some)
            }
        }
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len() - self.pos)
    }
}

struct Map<'g> {
    parent: NodeDeserializer<'g>,
    pairs: Vec<(NodeId, NodeId)>,
    pos: usize,
}

impl<'de, 'g> MapAccess<'de> for Map<'g> {
    type Error = DeError;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        match self.pairs.get(self.pos) {
            None => Ok(None),
            Some(&(k, _)) => seed.deserialize(self.parent.child(k)?).map(Some),
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let (_, v) = self.pairs[self.pos];
        self.pos += 1;
        seed.deserialize(self.parent.child(v)?)
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.pairs.len() - self.pos)
    }
}

struct Enum<'g> {
    variant: String,
    content: Option<NodeDeserializer<'g>>,
}

impl<'de, 'g> EnumAccess<'de> for Enum<'g> {
    type Error = DeError;
    type Variant = Self;
    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), DeError> {
        let d: de::value::StringDeserializer<DeError> = self.variant.clone().into_deserializer();
        let v = seed.deserialize(d)?;
        Ok((v, self))
    }
}

impl<'de, 'g> VariantAccess<'de> for Enum<'g> {
    type Error = DeError;
    fn unit_variant(self) -> Result<(), DeError> {
        match self.content {
            None => Ok(()),
            Some(c) if matches!(c.graph.kind(c.id), NodeKind::None) => Ok(()),
            Some(_) => Err(de::Error::custom("expected a unit variant")),
        }
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        match self.content {
            Some(c) => seed.deserialize(c),
            None => Err(de::Error::custom("expected a newtype variant with content")),
        }
    }
    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        match self.content {
            Some(c) => de::Deserializer::deserialize_seq(c, visitor),
            None => Err(de::Error::custom("expected a tuple variant with content")),
        }
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.content {
            Some(c) => de::Deserializer::deserialize_map(c, visitor),
            None => Err(de::Error::custom("expected a struct variant with content")),
        }
    }
}

impl<'de, 'g> de::Deserializer<'de> for NodeDeserializer<'g> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let g = self.graph;
        match g.kind(self.id) {
            NodeKind::None => visitor.visit_unit(),
            NodeKind::Bool(b) => visitor.visit_bool(*b),
            NodeKind::Int(v) => visitor.visit_i64(*v),
            NodeKind::BigInt(b) => {
                if let Ok(v) = i128::try_from(b.as_ref()) {
                    visitor.visit_i128(v)
                } else if let Ok(v) = u128::try_from(b.as_ref()) {
                    visitor.visit_u128(v)
                } else {
                    Err(de::Error::custom(format!(
                        "integer {b} does not fit in 128 bits"
                    )))
                }
            }
            NodeKind::Float(f) => visitor.visit_f64(*f),
            NodeKind::Str(_) | NodeKind::Py2Str(_) => match self.text() {
                Some(t) => visitor.visit_string(t?),
                None => visitor.visit_bytes(g.as_bytes(self.id).unwrap_or_default()),
            },
            NodeKind::Bytes(s) | NodeKind::ByteArray(s) => visitor.visit_bytes(g.bytes_of(*s)),
            NodeKind::Tuple(v) | NodeKind::List(v) | NodeKind::Set(v) | NodeKind::FrozenSet(v) => {
                visitor.visit_seq(Seq {
                    parent: self,
                    items: v,
                    pos: 0,
                })
            }
            NodeKind::Dict(_) => visitor.visit_map(Map {
                parent: self,
                pairs: g.dict_effective(self.id).unwrap_or_default(),
                pos: 0,
            }),
            NodeKind::Object(o) => {
                if let Some(state) = self.instance_state() {
                    return de::Deserializer::deserialize_any(self.child(state)?, visitor);
                }
                match self.known_reduce(o) {
                    Some(Known::Bytes(b)) => visitor.visit_byte_buf(b),
                    Some(Known::Items(items)) => visitor.visit_seq(Seq {
                        parent: self,
                        items,
                        pos: 0,
                    }),
                    Some(Known::Pairs(pairs)) => visitor.visit_map(Map {
                        parent: self,
                        pairs,
                        pos: 0,
                    }),
                    None => Err(de::Error::custom(
                        "a call result without dict state is not plain data",
                    )),
                }
            }
            _ => Err(de::Error::custom(format!(
                "a {} node is not plain data",
                g.type_name(self.id)
            ))),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.graph.kind(self.id) {
            NodeKind::None => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        if let Some(t) = self.text() {
            return visitor.visit_enum(Enum {
                variant: t?,
                content: None,
            });
        }
        let g = self.graph;
        let (tag, content) = match g.kind(self.id) {
            NodeKind::Dict(_) => {
                let pairs = g.dict_effective(self.id).unwrap_or_default();
                if pairs.len() != 1 {
                    return Err(de::Error::custom(
                        "an enum dict must have exactly one entry",
                    ));
                }
                pairs[0]
            }
            NodeKind::Tuple(v) | NodeKind::List(v) if v.len() == 2 => (v[0], v[1]),
            _ => {
                return Err(de::Error::custom(
                    "expected an enum (str, 1-entry dict or 2-tuple)",
                ))
            }
        };
        let variant = match self.child(tag)?.text() {
            Some(t) => t?,
            None => return Err(de::Error::custom("enum variant name must be a str")),
        };
        visitor.visit_enum(Enum {
            variant,
            content: Some(self.child(content)?),
        })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}
