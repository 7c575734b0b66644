//! The saver: CPython's `save()` as an explicit task stack over a [`Graph`].
//!
//! CPython's pickler recurses; we keep a stack of [`Task`]s instead (continuations pushed in
//! reverse order), so a deep graph costs heap, not native stack, and the depth limit is a
//! plain option. The order of checks per object follows pickle.md §14.2: frame commit, memo
//! hit, then the type-specific saver.
//!
//! Objects CPython creates on the fly while saving (the `(latin-1 text, 'latin1')` arguments of
//! `bytes` below protocol 3, the list inside `set([...])` below protocol 4, the module and
//! name strings of `STACK_GLOBAL`, the `builtins.set` global, ...) are *virtual* nodes owned by
//! the saver. They take memo slots exactly as CPython's temporaries do.

use super::discarded::What;
use super::encode::{latin1_text, long_bytes, py2_str_repr, raw_unicode_escape};
use super::output::Output;
use super::{Profile, WriteError, WriteOptions};
use crate::graph::{CallKind, Graph, Mutation, NodeId, NodeKind};
use crate::pystr::PyStr;
use crate::{ArgKind, Opcode};
use hashbrown::HashMap;
use num_bigint::BigInt;

/// CPython's `_BATCHSIZE`.
const BATCH: usize = 1000;

/// A node of the graph, or a temporary the saver made up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Ref {
    Node(NodeId),
    Virt(u32),
}

/// Temporaries (see the module docs).
#[derive(Debug)]
enum Virt {
    /// A fresh `str` (surrogatepass UTF-8).
    Str(Vec<u8>),
    /// A fresh `bytes`.
    Bytes(Vec<u8>),
    /// A global object, shared by name.
    Global { module: String, name: String },
    /// A fresh tuple.
    Tuple(Vec<Ref>),
    /// A fresh (exact) list.
    List(Vec<Ref>),
}

enum Task {
    Save(Ref, usize),
    Op(Opcode),
    Memoize(Ref),
    TupleEnd { r: Ref, n: usize, marked: bool },
    ReduceEnd(Ref),
    FrozenSetEnd(Ref),
    Mutations(NodeId, usize),
    Raw(Vec<u8>),
}

pub(crate) struct Saver<'g> {
    graph: &'g Graph,
    proto: u8,
    profile: Profile,
    max_depth: usize,
    out: Output,
    memo: HashMap<Ref, u64>,
    memo_len: u64,
    rec: Option<Recorded>,
    virts: Vec<Virt>,
    globals: HashMap<(String, String), u32>,
    latin1: Option<u32>,
    mutations: HashMap<NodeId, Vec<&'g Mutation>>,
    tasks: Vec<Task>,
    /// [`Profile::Recorded`]: values the source built and POPped, last first.
    discarded: Vec<super::discarded::Discarded>,
}

impl<'g> Saver<'g> {
    pub(crate) fn new(graph: &'g Graph, opts: &WriteOptions) -> Saver<'g> {
        let mut rec = (opts.profile == Profile::Recorded).then(|| Recorded::new(graph));
        let discarded = if rec.is_some() {
            super::discarded::discarded_values(graph)
        } else {
            Vec::new()
        };
        if let Some(rec) = &mut rec {
            for d in &discarded {
                if let What::Batches { node, from, .. } = d.what {
                    let e = rec.late_from.entry(node).or_insert(from);
                    *e = (*e).min(from);
                }
            }
        }
        let mut mutations: HashMap<NodeId, Vec<&'g Mutation>> = HashMap::new();
        for (target, m) in &graph.mutation_log {
            mutations.entry(*target).or_default().push(m);
        }
        Saver {
            graph,
            proto: opts.protocol,
            profile: opts.profile,
            max_depth: opts.max_depth,
            out: Output::new(
                !matches!(opts.profile, Profile::CPython36C | Profile::CPython36Py),
                opts.profile != Profile::CPython36C,
            ),
            memo: HashMap::new(),
            memo_len: 0,
            rec,
            virts: Vec::new(),
            globals: HashMap::new(),
            latin1: None,
            mutations,
            tasks: Vec::new(),
            discarded,
        }
    }

    /// Writes the whole pickle of `root`: `PROTO`, the object, `STOP`, frames.
    pub(crate) fn dump(mut self, root: NodeId) -> Result<Vec<u8>, WriteError> {
        if root.index() >= self.graph.nodes.len() {
            return Err(WriteError::NoSuchNode(root.index()));
        }
        if self.proto >= 2 {
            self.out.write(&[Opcode::Proto.byte(), self.proto]);
        }
        if self.proto >= 4 && self.rec.is_none() {
            self.out.start_framing();
        }
        self.tasks.push(Task::Save(Ref::Node(root), 0));
        loop {
            // A value the source built only to POP it goes exactly where the source had it
            // (recorded mode writes the source's bytes in order, so positions agree).
            if let Some(what) = self.next_discarded() {
                let seq = match what {
                    What::Value(node) => {
                        vec![Task::Save(Ref::Node(node), 1), Task::Op(Opcode::Pop)]
                    }
                    What::Batches { node, from, to } => {
                        let mut seq = vec![Task::Save(Ref::Node(node), 1)];
                        seq.extend(self.late_batches(node, from, to));
                        seq.push(Task::Op(Opcode::Pop));
                        seq
                    }
                };
                self.push_seq(seq);
            }
            let Some(task) = self.tasks.pop() else { break };
            self.run(task)?;
        }
        self.out.byte(Opcode::Stop.byte());
        let bytes = self.out.finish();
        Ok(match self.rec {
            Some(_) => insert_recorded_frames(bytes, &self.graph.frames),
            None => bytes,
        })
    }

    /// The discarded value due at the current output position, if any (ones whose position
    /// has passed, because the output already differs from the source, are dropped).
    fn next_discarded(&mut self) -> Option<What> {
        let pos = self.out.len();
        while let Some(d) = self.discarded.last() {
            if d.at < pos {
                self.discarded.pop();
            } else if d.at == pos {
                return self.discarded.pop().map(|d| d.what);
            } else {
                return None;
            }
        }
        None
    }

    fn run(&mut self, task: Task) -> Result<(), WriteError> {
        match task {
            Task::Save(r, depth) => self.save(r, depth),
            Task::Op(op) => {
                self.out.byte(op.byte());
                Ok(())
            }
            Task::Raw(bytes) => {
                self.out.write(&bytes);
                Ok(())
            }
            Task::Memoize(r) => {
                self.memoize(r);
                Ok(())
            }
            Task::TupleEnd { r, n, marked } => {
                if let Some(&key) = self.memo.get(&r) {
                    // The tuple was reached again through a mutable container while its items
                    // were saved: drop the copy on the stack and fetch the memoized one.
                    if marked && self.proto >= 1 {
                        self.out.byte(Opcode::PopMark.byte());
                    } else {
                        let pops = if marked { n + 1 } else { n };
                        for _ in 0..pops {
                            self.out.byte(Opcode::Pop.byte());
                        }
                    }
                    self.emit_get(key);
                } else {
                    let op = match (marked, n) {
                        (false, 1) => Opcode::Tuple1,
                        (false, 2) => Opcode::Tuple2,
                        (false, 3) => Opcode::Tuple3,
                        _ => Opcode::Tuple,
                    };
                    self.out.byte(op.byte());
                    self.memoize(r);
                }
                Ok(())
            }
            Task::ReduceEnd(r) => {
                if let Some(&key) = self.memo.get(&r) {
                    self.out.byte(Opcode::Pop.byte());
                    self.emit_get(key);
                } else {
                    self.memoize(r);
                }
                Ok(())
            }
            Task::FrozenSetEnd(r) => {
                if let Some(&key) = self.memo.get(&r) {
                    self.out.byte(Opcode::PopMark.byte());
                    self.emit_get(key);
                } else {
                    self.out.byte(Opcode::Frozenset.byte());
                    self.memoize(r);
                }
                Ok(())
            }
            Task::Mutations(id, depth) => {
                let mut seq = Vec::new();
                if let Some(list) = self.mutations.get(&id) {
                    for m in list {
                        match m {
                            Mutation::Append(x) => {
                                seq.push(Task::Save(Ref::Node(*x), depth));
                                seq.push(Task::Op(Opcode::Append));
                            }
                            Mutation::Extend(items) => {
                                seq.push(Task::Op(Opcode::Mark));
                                seq.extend(items.iter().map(|x| Task::Save(Ref::Node(*x), depth)));
                                seq.push(Task::Op(Opcode::Appends));
                            }
                            Mutation::SetItem(k, v) => {
                                seq.push(Task::Save(Ref::Node(*k), depth));
                                seq.push(Task::Save(Ref::Node(*v), depth));
                                seq.push(Task::Op(Opcode::Setitem));
                            }
                            Mutation::SetItems(pairs) => {
                                seq.push(Task::Op(Opcode::Mark));
                                for (k, v) in pairs {
                                    seq.push(Task::Save(Ref::Node(*k), depth));
                                    seq.push(Task::Save(Ref::Node(*v), depth));
                                }
                                seq.push(Task::Op(Opcode::Setitems));
                            }
                            Mutation::AddItems(items) => {
                                seq.push(Task::Op(Opcode::Mark));
                                seq.extend(items.iter().map(|x| Task::Save(Ref::Node(*x), depth)));
                                seq.push(Task::Op(Opcode::Additems));
                            }
                            Mutation::Build(state) => {
                                seq.push(Task::Save(Ref::Node(*state), depth));
                                seq.push(Task::Op(Opcode::Build));
                            }
                        }
                    }
                }
                self.push_seq(seq);
                Ok(())
            }
        }
    }

    fn push_seq(&mut self, seq: Vec<Task>) {
        self.tasks.extend(seq.into_iter().rev());
    }

    // ---- memo -------------------------------------------------------------------------------

    fn memoize(&mut self, r: Ref) {
        if let (Some(rec), Ref::Node(id)) = (&mut self.rec, r) {
            // Replay the source: memoize only what it memoized, under its key and opcode.
            if let Some(&(op, key)) = rec.puts.get(&id) {
                if self.memo.contains_key(&r) {
                    return;
                }
                // A key stored again belongs to the new object from now on.
                if let Some(old) = rec.key_owner.insert(key, r) {
                    self.memo.remove(&old);
                }
                self.memo.insert(r, key);
                match op {
                    Opcode::Put => self.out.write(format!("p{key}\n").as_bytes()),
                    Opcode::Binput => self.out.write(&[op.byte(), key as u8]),
                    Opcode::LongBinput => {
                        self.out.byte(op.byte());
                        self.out.write(&(key as u32).to_le_bytes());
                    }
                    _ => self.out.byte(Opcode::Memoize.byte()),
                }
            }
            return;
        }
        let key = self.memo_len;
        self.memo_len += 1;
        self.memo.insert(r, key);
        self.emit_put(key);
    }

    fn emit_put(&mut self, key: u64) {
        if self.proto >= 4 {
            self.out.byte(Opcode::Memoize.byte());
        } else if self.proto >= 1 && key <= u32::MAX as u64 {
            if key < 256 {
                self.out.write(&[Opcode::Binput.byte(), key as u8]);
            } else {
                self.out.byte(Opcode::LongBinput.byte());
                self.out.write(&(key as u32).to_le_bytes());
            }
        } else {
            self.out.write(format!("p{key}\n").as_bytes());
        }
    }

    fn emit_get(&mut self, key: u64) {
        // A stream without PROTO that uses a protocol-2 opcode anyway (pickle.py writes TUPLE2
        // for a state setter at every protocol) still fetches with text GETs.
        let text = self.rec.as_ref().is_some_and(|r| r.text_gets);
        if self.proto >= 1 && key <= u32::MAX as u64 && !text {
            if key < 256 {
                self.out.write(&[Opcode::Binget.byte(), key as u8]);
            } else {
                self.out.byte(Opcode::LongBinget.byte());
                self.out.write(&(key as u32).to_le_bytes());
            }
        } else {
            self.out.write(format!("g{key}\n").as_bytes());
        }
    }

    // ---- virtual nodes ------------------------------------------------------------------------

    fn virt(&mut self, v: Virt) -> Ref {
        self.virts.push(v);
        Ref::Virt((self.virts.len() - 1) as u32)
    }

    /// A global CPython would write for one of its own types (`builtins.set`, ...): named with
    /// Python 2 names below protocol 3 (`fix_imports`), shared by name.
    fn builtin_global(&mut self, module: &str, name: &str) -> Ref {
        let key = if self.proto < 3 {
            super::compat::reverse_name(module, name)
        } else {
            (module.to_string(), name.to_string())
        };
        if let Some(&i) = self.globals.get(&key) {
            return Ref::Virt(i);
        }
        let r = self.virt(Virt::Global {
            module: key.0.clone(),
            name: key.1.clone(),
        });
        if let Ref::Virt(i) = r {
            self.globals.insert(key, i);
        }
        r
    }

    /// The `'latin1'` constant of `bytes.__reduce_ex__` (one object for the whole pickle).
    fn latin1_const(&mut self) -> Ref {
        if let Some(i) = self.latin1 {
            return Ref::Virt(i);
        }
        let r = self.virt(Virt::Str(b"latin1".to_vec()));
        if let Ref::Virt(i) = r {
            self.latin1 = Some(i);
        }
        r
    }

    /// The module-name string of a `STACK_GLOBAL` for a global given by name only: a fresh
    /// object per global, as `__module__` of CPython's built-in (static) types is. Classes
    /// whose `__module__` string is one shared object need a graph whose global nodes carry
    /// their module and name strings (`Global::from_stack`).
    fn module_str(&mut self, module: &str) -> Ref {
        self.virt(Virt::Str(module.as_bytes().to_vec()))
    }

    // ---- save ---------------------------------------------------------------------------------

    fn save(&mut self, r: Ref, depth: usize) -> Result<(), WriteError> {
        if depth > self.max_depth {
            return Err(WriteError::TooDeep(self.max_depth));
        }
        self.out.commit_frame(false);
        if let Some(&key) = self.memo.get(&r) {
            self.emit_get(key);
            return Ok(());
        }
        if let (Some(rec), Ref::Node(id)) = (&mut self.rec, r) {
            // A container reached again without a memo entry was shared with DUP in the
            // source; writing it again would not reproduce the stream and, repeated, could
            // blow up exponentially (`x DUP TUPLE2 DUP TUPLE2 ...`).
            let fans_out = !matches!(
                self.graph.kind(id),
                NodeKind::None
                    | NodeKind::Bool(_)
                    | NodeKind::Int(_)
                    | NodeKind::BigInt(_)
                    | NodeKind::Float(_)
                    | NodeKind::Ext { .. }
                    | NodeKind::Buffer { .. }
            );
            // A tuple is legitimately saved twice by the recursive-tuple trick (pickle.md
            // §14.6): once outside, once inside its own items, before it is memoized.
            let allowed = if matches!(self.graph.kind(id), NodeKind::Tuple(_)) {
                2
            } else {
                1
            };
            let count = rec.written.entry(id).or_insert(0);
            *count += 1;
            if fans_out && *count > allowed {
                return Err(WriteError::Unsupported(format!(
                    "node {} is reached twice but was never memoized in the source (DUP)",
                    id.index()
                )));
            }
        }
        if let (Some(rec), Ref::Node(id)) = (&self.rec, r) {
            // Kinds CPython never memoizes may still have been stored by the source: store
            // them once everything pushed below has been written.
            let memoized_anyway = matches!(
                self.graph.kind(id),
                NodeKind::None
                    | NodeKind::Bool(_)
                    | NodeKind::Int(_)
                    | NodeKind::BigInt(_)
                    | NodeKind::Float(_)
                    | NodeKind::Persistent { .. }
                    | NodeKind::Ext { .. }
                    | NodeKind::Buffer { .. }
                    | NodeKind::ReadOnly { .. }
            ) || matches!(self.graph.kind(id), NodeKind::Tuple(v) if v.is_empty());
            if memoized_anyway && rec.puts.contains_key(&id) {
                self.tasks.push(Task::Memoize(r));
            }
        }
        match r {
            Ref::Node(id) => self.save_node(id, depth),
            Ref::Virt(i) => self.save_virt(i, depth),
        }
    }

    fn save_virt(&mut self, i: u32, depth: usize) -> Result<(), WriteError> {
        let r = Ref::Virt(i);
        // Temporaries are small; cloning their description keeps the borrow checker simple.
        match &self.virts[i as usize] {
            Virt::Str(s) => {
                let s = s.clone();
                self.write_str(PyStr::from_validated(&s));
                self.memoize(r);
            }
            Virt::Bytes(b) => {
                let b = b.clone();
                self.save_bytes(r, &b, depth);
            }
            Virt::Global { module, name } => {
                let (module, name) = (module.clone(), name.clone());
                self.save_global_named(r, &module, &name, None, depth)?;
            }
            Virt::Tuple(items) => {
                let items = items.clone();
                self.save_tuple(r, &items, depth);
            }
            Virt::List(items) => {
                let items = items.clone();
                self.save_list(r, &items, depth);
            }
        }
        Ok(())
    }

    fn save_node(&mut self, id: NodeId, depth: usize) -> Result<(), WriteError> {
        let g = self.graph;
        let r = Ref::Node(id);
        let d = depth + 1;
        if self.mutations.contains_key(&id) && !matches!(g.kind(id), NodeKind::Object(_)) {
            // Runs after everything the kind-specific code below pushes.
            self.tasks.push(Task::Mutations(id, d));
        }
        if self.rec.is_some() && self.save_recorded(id, depth)? {
            return Ok(());
        }
        match &g.node(id).kind {
            NodeKind::None => self.out.byte(Opcode::None.byte()),
            NodeKind::Bool(b) => {
                if self.proto >= 2 {
                    let op = if *b {
                        Opcode::Newtrue
                    } else {
                        Opcode::Newfalse
                    };
                    self.out.byte(op.byte());
                } else {
                    self.out.write(if *b { b"I01\n" } else { b"I00\n" });
                }
            }
            NodeKind::Int(v) => self.save_int(*v),
            NodeKind::BigInt(v) => self.save_bigint(v),
            NodeKind::Float(x) => {
                if self.proto >= 1 {
                    self.out.byte(Opcode::Binfloat.byte());
                    self.out.write(&x.to_bits().to_be_bytes());
                } else {
                    let text = crate::pyrepr::repr_float(*x);
                    self.out.write(format!("F{text}\n").as_bytes());
                }
            }
            NodeKind::Str(span) => {
                self.write_str(PyStr::from_validated(g.bytes_of(*span)));
                self.memoize(r);
            }
            NodeKind::Py2Str(span) => {
                let bytes = g.bytes_of(*span);
                if self.proto >= 1 {
                    if bytes.len() < 256 {
                        self.out
                            .write(&[Opcode::ShortBinstring.byte(), bytes.len() as u8]);
                    } else {
                        self.out.byte(Opcode::Binstring.byte());
                        self.out.write(&(bytes.len() as u32).to_le_bytes());
                    }
                    self.out.write(bytes);
                } else {
                    let mut line = vec![Opcode::String.byte()];
                    py2_str_repr(bytes, &mut line);
                    line.push(b'\n');
                    self.out.write(&line);
                }
                self.memoize(r);
            }
            NodeKind::Bytes(span) => self.save_bytes(r, g.bytes_of(*span), depth),
            NodeKind::ByteArray(span) => {
                let bytes = g.bytes_of(*span);
                if self.proto >= 5 {
                    let mut header = vec![Opcode::Bytearray8.byte()];
                    header.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
                    self.out.write_large(&header, bytes);
                    if self.profile != Profile::CPython38Py {
                        self.memoize(r);
                    }
                } else {
                    let func = self.builtin_global("builtins", "bytearray");
                    let args = if bytes.is_empty() {
                        self.virt(Virt::Tuple(Vec::new()))
                    } else {
                        let b = self.virt(Virt::Bytes(bytes.to_vec()));
                        self.virt(Virt::Tuple(vec![b]))
                    };
                    self.push_reduce(r, func, args, d);
                }
            }
            NodeKind::Tuple(items) => {
                let items: Vec<Ref> = items.iter().map(|x| Ref::Node(*x)).collect();
                self.save_tuple(r, &items, depth);
            }
            NodeKind::List(items) => {
                let items: Vec<Ref> = items.iter().map(|x| Ref::Node(*x)).collect();
                self.save_list(r, &items, depth);
            }
            NodeKind::Dict(pairs) => self.save_dict(r, pairs, depth),
            NodeKind::Set(items) => {
                let items: Vec<Ref> = items.iter().map(|x| Ref::Node(*x)).collect();
                if self.proto >= 4 {
                    self.out.byte(Opcode::EmptySet.byte());
                    self.memoize(r);
                    let mut seq = Vec::new();
                    self.batches(&items, d, Opcode::Additems, &mut seq);
                    self.push_seq(seq);
                } else {
                    self.push_set_reduce(r, "set", items, d);
                }
            }
            NodeKind::FrozenSet(items) => {
                let items: Vec<Ref> = items.iter().map(|x| Ref::Node(*x)).collect();
                if self.proto >= 4 {
                    let mut seq = vec![Task::Op(Opcode::Mark)];
                    seq.extend(items.iter().map(|x| Task::Save(*x, d)));
                    seq.push(Task::FrozenSetEnd(r));
                    self.push_seq(seq);
                } else {
                    self.push_set_reduce(r, "frozenset", items, d);
                }
            }
            NodeKind::Global(glob) => {
                self.save_global_named(r, &glob.module, &glob.name, glob.from_stack, depth)?;
            }
            NodeKind::Object(obj) => {
                let mut seq = Vec::new();
                match obj.call {
                    CallKind::Reduce | CallKind::NewObj | CallKind::NewObjEx => {
                        seq.push(Task::Save(Ref::Node(obj.callable), d));
                        seq.push(Task::Save(Ref::Node(obj.args), d));
                        if let Some(kw) = obj.kwargs {
                            seq.push(Task::Save(Ref::Node(kw), d));
                        }
                        seq.push(Task::Op(match obj.call {
                            CallKind::Reduce => Opcode::Reduce,
                            CallKind::NewObj => Opcode::Newobj,
                            _ => Opcode::NewobjEx,
                        }));
                    }
                    CallKind::Obj | CallKind::Inst => {
                        seq.push(Task::Op(Opcode::Mark));
                        if obj.call == CallKind::Obj {
                            seq.push(Task::Save(Ref::Node(obj.callable), d));
                        }
                        for x in g.items(obj.args).unwrap_or(&[]) {
                            seq.push(Task::Save(Ref::Node(*x), d));
                        }
                    }
                }
                if obj.call == CallKind::Inst {
                    // INST names the class in its argument, after the marked items.
                    let NodeKind::Global(glob) = g.kind(obj.callable) else {
                        return Err(WriteError::Unsupported(
                            "an INST object whose class is not a global".into(),
                        ));
                    };
                    let mut text = vec![Opcode::Inst.byte()];
                    text.extend_from_slice(glob.module.as_bytes());
                    text.push(b'\n');
                    text.extend_from_slice(glob.name.as_bytes());
                    text.push(b'\n');
                    seq.push(Task::Raw(text));
                } else if obj.call == CallKind::Obj {
                    seq.push(Task::Op(Opcode::Obj));
                }
                seq.push(Task::ReduceEnd(r));
                seq.push(Task::Mutations(id, d));
                self.push_seq(seq);
                return Ok(());
            }
            NodeKind::Persistent { pid } => {
                if self.proto >= 1 {
                    self.push_seq(vec![
                        Task::Save(Ref::Node(*pid), d),
                        Task::Op(Opcode::Binpersid),
                    ]);
                } else {
                    let text = match g.kind(*pid) {
                        NodeKind::Str(s) | NodeKind::Py2Str(s) => g.bytes_of(*s),
                        _ => &[][..],
                    };
                    if !text.is_ascii() || matches!(g.kind(*pid), NodeKind::Int(_)) {
                        return Err(WriteError::Unsupported(
                            "persistent IDs in protocol 0 must be ASCII strings".into(),
                        ));
                    }
                    let mut line = vec![Opcode::Persid.byte()];
                    line.extend_from_slice(text);
                    line.push(b'\n');
                    self.out.write(&line);
                }
            }
            NodeKind::Ext { code, .. } => {
                let code = *code;
                if code <= 0xFF && code > 0 {
                    self.out.write(&[Opcode::Ext1.byte(), code as u8]);
                } else if (0..=0xFFFF).contains(&code) && code > 0 {
                    self.out.byte(Opcode::Ext2.byte());
                    self.out.write(&(code as u16).to_le_bytes());
                } else {
                    self.out.byte(Opcode::Ext4.byte());
                    self.out.write(&code.to_le_bytes());
                }
            }
            NodeKind::Buffer { .. } => self.out.byte(Opcode::NextBuffer.byte()),
            NodeKind::ReadOnly { of } => self.push_seq(vec![
                Task::Save(Ref::Node(*of), d),
                Task::Op(Opcode::ReadonlyBuffer),
            ]),
        }
        Ok(())
    }
}

impl Saver<'_> {
    fn is_36(&self) -> bool {
        matches!(self.profile, Profile::CPython36C | Profile::CPython36Py)
    }

    fn save_int(&mut self, v: i64) {
        if self.proto >= 1 {
            if (0..=0xFF).contains(&v) {
                self.out.write(&[Opcode::Binint1.byte(), v as u8]);
                return;
            }
            if (0..=0xFFFF).contains(&v) {
                self.out.byte(Opcode::Binint2.byte());
                self.out.write(&(v as u16).to_le_bytes());
                return;
            }
            if let Ok(v32) = i32::try_from(v) {
                self.out.byte(Opcode::Binint.byte());
                self.out.write(&v32.to_le_bytes());
                return;
            }
        }
        if self.proto < 2 && i32::try_from(v).is_ok() {
            if self.proto == 0 && self.is_36() {
                self.out.write(format!("L{v}L\n").as_bytes());
            } else {
                self.out.write(format!("I{v}\n").as_bytes());
            }
            return;
        }
        self.save_bigint(&BigInt::from(v));
    }

    fn save_bigint(&mut self, v: &BigInt) {
        if let Ok(small) = i64::try_from(v) {
            if i32::try_from(small).is_ok() {
                return self.save_int(small);
            }
        }
        if self.proto >= 2 {
            let bytes = long_bytes(v);
            if bytes.len() < 256 {
                self.out.write(&[Opcode::Long1.byte(), bytes.len() as u8]);
            } else {
                self.out.byte(Opcode::Long4.byte());
                self.out.write(&(bytes.len() as i32).to_le_bytes());
            }
            self.out.write(&bytes);
        } else {
            self.out.write(format!("L{v}L\n").as_bytes());
        }
    }

    /// A `str` (not memoized here).
    fn write_str(&mut self, s: PyStr<'_>) {
        if self.proto == 0 {
            let mut line = vec![Opcode::Unicode.byte()];
            raw_unicode_escape(s, self.is_36(), &mut line);
            line.push(b'\n');
            self.out.write(&line);
            return;
        }
        let bytes = s.as_bytes();
        let n = bytes.len();
        let mut header = Vec::with_capacity(9);
        if n <= 0xFF && self.proto >= 4 {
            header.extend_from_slice(&[Opcode::ShortBinunicode.byte(), n as u8]);
        } else if n as u64 > 0xFFFF_FFFF && self.proto >= 4 {
            header.push(Opcode::Binunicode8.byte());
            header.extend_from_slice(&(n as u64).to_le_bytes());
        } else {
            header.push(Opcode::Binunicode.byte());
            header.extend_from_slice(&(n as u32).to_le_bytes());
        }
        self.out.write_large(&header, bytes);
    }

    /// A `bytes` object: opcodes from protocol 3, `_codecs.encode(text, 'latin1')` below.
    fn save_bytes(&mut self, r: Ref, bytes: &[u8], depth: usize) {
        if self.proto >= 3 {
            let n = bytes.len();
            let mut header = Vec::with_capacity(9);
            if n <= 0xFF {
                header.extend_from_slice(&[Opcode::ShortBinbytes.byte(), n as u8]);
            } else if n as u64 > 0xFFFF_FFFF && self.proto >= 4 {
                header.push(Opcode::Binbytes8.byte());
                header.extend_from_slice(&(n as u64).to_le_bytes());
            } else {
                header.push(Opcode::Binbytes.byte());
                header.extend_from_slice(&(n as u32).to_le_bytes());
            }
            self.out.write_large(&header, bytes);
            self.memoize(r);
            return;
        }
        let d = depth + 1;
        if bytes.is_empty() {
            let func = self.builtin_global("builtins", "bytes");
            let args = self.virt(Virt::Tuple(Vec::new()));
            self.push_reduce(r, func, args, d);
        } else {
            let func = self.builtin_global("_codecs", "encode");
            let text = self.virt(Virt::Str(latin1_text(bytes)));
            let enc = self.latin1_const();
            let args = self.virt(Virt::Tuple(vec![text, enc]));
            self.push_reduce(r, func, args, d);
        }
    }

    /// `func args REDUCE`, then memoize `r` (or POP + GET if `r` got memoized meanwhile).
    fn push_reduce(&mut self, r: Ref, func: Ref, args: Ref, d: usize) {
        self.push_seq(vec![
            Task::Save(func, d),
            Task::Save(args, d),
            Task::Op(Opcode::Reduce),
            Task::ReduceEnd(r),
        ]);
    }

    /// `set`/`frozenset` below protocol 4: `builtins.set` called with `([items],)`.
    fn push_set_reduce(&mut self, r: Ref, ty: &str, items: Vec<Ref>, d: usize) {
        let func = self.builtin_global("builtins", ty);
        let list = self.virt(Virt::List(items));
        let args = self.virt(Virt::Tuple(vec![list]));
        self.push_reduce(r, func, args, d);
    }

    fn save_tuple(&mut self, r: Ref, items: &[Ref], depth: usize) {
        let n = items.len();
        let d = depth + 1;
        if n == 0 {
            if self.proto >= 1 {
                self.out.byte(Opcode::EmptyTuple.byte());
            } else {
                self.out.write(&[Opcode::Mark.byte(), Opcode::Tuple.byte()]);
            }
            return;
        }
        let mut seq = Vec::with_capacity(n + 2);
        let marked = !(n <= 3 && self.proto >= 2);
        if marked {
            seq.push(Task::Op(Opcode::Mark));
        }
        seq.extend(items.iter().map(|x| Task::Save(*x, d)));
        seq.push(Task::TupleEnd { r, n, marked });
        self.push_seq(seq);
    }

    fn save_list(&mut self, r: Ref, items: &[Ref], depth: usize) {
        let d = depth + 1;
        if self.proto >= 1 {
            self.out.byte(Opcode::EmptyList.byte());
        } else {
            self.out.write(&[Opcode::Mark.byte(), Opcode::List.byte()]);
        }
        self.memoize(r);
        let mut seq = Vec::with_capacity(items.len() + 4);
        if self.proto == 0 {
            for x in items {
                seq.push(Task::Save(*x, d));
                seq.push(Task::Op(Opcode::Append));
            }
        } else if items.len() == 1 {
            seq.push(Task::Save(items[0], d));
            seq.push(Task::Op(Opcode::Append));
        } else {
            for (i, chunk) in items.chunks(BATCH).enumerate() {
                let last = (i + 1) * BATCH >= items.len();
                if chunk.len() == 1 && last && !self.profile.c_batching() {
                    // The generic batcher writes a lone trailing item with APPEND; the C
                    // pickler's exact-list path keeps MARK ... APPENDS.
                    seq.push(Task::Save(chunk[0], d));
                    seq.push(Task::Op(Opcode::Append));
                } else {
                    seq.push(Task::Op(Opcode::Mark));
                    seq.extend(chunk.iter().map(|x| Task::Save(*x, d)));
                    seq.push(Task::Op(Opcode::Appends));
                }
            }
        }
        self.push_seq(seq);
    }

    fn save_dict(&mut self, r: Ref, pairs: &[(NodeId, NodeId)], depth: usize) {
        let d = depth + 1;
        if self.proto >= 1 {
            self.out.byte(Opcode::EmptyDict.byte());
        } else {
            self.out.write(&[Opcode::Mark.byte(), Opcode::Dict.byte()]);
        }
        self.memoize(r);
        let mut seq = Vec::with_capacity(pairs.len() * 2 + 4);
        let pair = |seq: &mut Vec<Task>, (k, v): &(NodeId, NodeId)| {
            seq.push(Task::Save(Ref::Node(*k), d));
            seq.push(Task::Save(Ref::Node(*v), d));
        };
        if self.proto == 0 {
            for p in pairs {
                pair(&mut seq, p);
                seq.push(Task::Op(Opcode::Setitem));
            }
        } else if pairs.len() == 1 {
            pair(&mut seq, &pairs[0]);
            seq.push(Task::Op(Opcode::Setitem));
        } else if !pairs.is_empty() {
            let c_style = self.profile.c_batching();
            let mut start = 0;
            loop {
                let chunk = &pairs[start..(start + BATCH).min(pairs.len())];
                start += chunk.len();
                if chunk.len() == 1 && !c_style {
                    pair(&mut seq, &chunk[0]);
                    seq.push(Task::Op(Opcode::Setitem));
                } else if !chunk.is_empty() || c_style {
                    // The C pickler's exact-dict loop writes one more (possibly empty) batch
                    // after every full one.
                    seq.push(Task::Op(Opcode::Mark));
                    for p in chunk {
                        pair(&mut seq, p);
                    }
                    seq.push(Task::Op(Opcode::Setitems));
                }
                if chunk.len() < BATCH {
                    break;
                }
            }
        }
        self.push_seq(seq);
    }

    /// Set items after `EMPTY_SET`: batches of `MARK items ADDITEMS`; the C pickler adds an
    /// empty batch after every full one.
    fn batches(&self, items: &[Ref], d: usize, op: Opcode, seq: &mut Vec<Task>) {
        if items.is_empty() {
            return;
        }
        let c_style = self.profile.c_batching();
        let mut start = 0;
        loop {
            let chunk = &items[start..(start + BATCH).min(items.len())];
            start += chunk.len();
            if !chunk.is_empty() || c_style {
                seq.push(Task::Op(Opcode::Mark));
                seq.extend(chunk.iter().map(|x| Task::Save(*x, d)));
                seq.push(Task::Op(op));
            }
            if chunk.len() < BATCH {
                break;
            }
        }
    }

    /// A global: `STACK_GLOBAL` from protocol 4 (module and name saved as strings first),
    /// `GLOBAL` text below, then memoized.
    fn save_global_named(
        &mut self,
        r: Ref,
        module: &str,
        name: &str,
        from_stack: Option<(NodeId, NodeId)>,
        depth: usize,
    ) -> Result<(), WriteError> {
        let d = depth + 1;
        if self.proto >= 4 {
            let (m, n) = match from_stack {
                Some((m, n)) => (Ref::Node(m), Ref::Node(n)),
                None => {
                    let m = self.module_str(module);
                    let n = self.virt(Virt::Str(name.as_bytes().to_vec()));
                    (m, n)
                }
            };
            self.push_seq(vec![
                Task::Save(m, d),
                Task::Save(n, d),
                Task::Op(Opcode::StackGlobal),
                Task::Memoize(r),
            ]);
            return Ok(());
        }
        if self.proto < 3 && !(module.is_ascii() && name.is_ascii()) {
            return Err(WriteError::Unsupported(format!(
                "can't pickle global identifier '{module}.{name}' using pickle protocol {}",
                self.proto
            )));
        }
        let mut line = vec![Opcode::Global.byte()];
        line.extend_from_slice(module.as_bytes());
        line.push(b'\n');
        line.extend_from_slice(name.as_bytes());
        line.push(b'\n');
        self.out.write(&line);
        self.memoize(r);
        Ok(())
    }
}

/// The source's opcode choices, from [`Graph::steps`], for [`Profile::Recorded`].
struct Recorded {
    /// First memo store of each node: opcode and key.
    puts: HashMap<NodeId, (Opcode, u64)>,
    /// Item-adding opcodes applied to each list, dict or set, in order, with their counts.
    batches: HashMap<NodeId, Vec<(Opcode, u64)>>,
    /// The raw text argument of the opcode that made a node (INT, LONG, FLOAT, STRING, ...).
    raw: HashMap<NodeId, crate::graph::Span>,
    /// How often each node has been saved (see `save`).
    written: HashMap<NodeId, u8>,
    /// Which node holds each memo key now (keys can be stored again).
    key_owner: HashMap<u64, Ref>,
    /// The source fetched from the memo with text `GET`s only.
    text_gets: bool,
    /// Containers filled again later in the stream: the ordinal of their first late batch
    /// (see [`What::Batches`]); earlier batches are written when the container is made.
    late_from: HashMap<NodeId, usize>,
}

impl Recorded {
    fn new(graph: &Graph) -> Recorded {
        let mut rec = Recorded {
            puts: HashMap::new(),
            batches: HashMap::new(),
            raw: HashMap::new(),
            written: HashMap::new(),
            key_owner: HashMap::new(),
            text_gets: false,
            late_from: HashMap::new(),
        };
        let mut binary_gets = false;
        for step in &graph.steps {
            match step.op {
                Opcode::Get => rec.text_gets = true,
                Opcode::Binget | Opcode::LongBinget => binary_gets = true,
                _ => {}
            }
            let Some(node) = step.node else { continue };
            match step.op {
                Opcode::Put | Opcode::Binput | Opcode::LongBinput | Opcode::Memoize => {
                    rec.puts.entry(node).or_insert((step.op, step.arg));
                }
                Opcode::Append
                | Opcode::Appends
                | Opcode::Setitem
                | Opcode::Setitems
                | Opcode::Additems => {
                    if matches!(
                        graph.kind(node),
                        NodeKind::List(_) | NodeKind::Dict(_) | NodeKind::Set(_)
                    ) {
                        rec.batches
                            .entry(node)
                            .or_default()
                            .push((step.op, step.arg));
                    }
                }
                _ => {
                    if let Some(span) = step.raw {
                        rec.raw.entry(node).or_insert(span);
                    }
                }
            }
        }
        rec.text_gets &= !binary_gets;
        rec
    }
}

impl Saver<'_> {
    /// Writes node `id` with the opcodes the source used for it ([`Profile::Recorded`]).
    /// Returns false for kinds the generic code handles the same way (calls, buffers, ...).
    fn save_recorded(&mut self, id: NodeId, depth: usize) -> Result<bool, WriteError> {
        let g = self.graph;
        let node = g.node(id);
        let r = Ref::Node(id);
        let d = depth + 1;
        let Some(rec) = &self.rec else {
            return Ok(false);
        };
        let raw = rec.raw.get(&id).map(|s| g.bytes_of(*s));
        let line = |out: &mut Output, op: Opcode, text: &[u8]| {
            out.byte(op.byte());
            out.write(text);
            out.byte(b'\n');
        };
        match (&node.kind, node.op) {
            (
                NodeKind::Bool(_) | NodeKind::Int(_) | NodeKind::BigInt(_),
                op @ (Opcode::Int | Opcode::Long),
            )
            | (NodeKind::Float(_), op @ Opcode::Float) => {
                let Some(text) = raw else { return Ok(false) };
                line(&mut self.out, op, text);
            }
            (NodeKind::Int(v), Opcode::Binint1) if (0..256).contains(v) => {
                self.out.write(&[Opcode::Binint1.byte(), *v as u8]);
            }
            (NodeKind::Int(v), Opcode::Binint2) if (0..65536).contains(v) => {
                self.out.byte(Opcode::Binint2.byte());
                self.out.write(&(*v as u16).to_le_bytes());
            }
            (NodeKind::Int(v), Opcode::Binint) if i32::try_from(*v).is_ok() => {
                self.out.byte(Opcode::Binint.byte());
                self.out.write(&(*v as i32).to_le_bytes());
            }
            (NodeKind::Int(_) | NodeKind::BigInt(_), op @ (Opcode::Long1 | Opcode::Long4)) => {
                let v = g.as_bigint(id).unwrap_or_default();
                let bytes = long_bytes(&v);
                if op == Opcode::Long1 && bytes.len() < 256 {
                    self.out.write(&[op.byte(), bytes.len() as u8]);
                } else {
                    self.out.byte(Opcode::Long4.byte());
                    self.out.write(&(bytes.len() as i32).to_le_bytes());
                }
                self.out.write(&bytes);
            }
            (NodeKind::Str(_), Opcode::Unicode) | (NodeKind::Py2Str(_), Opcode::String) => {
                let Some(text) = raw else { return Ok(false) };
                line(&mut self.out, node.op, text);
                self.memoize(r);
            }
            (
                NodeKind::Str(s)
                | NodeKind::Bytes(s)
                | NodeKind::Py2Str(s)
                | NodeKind::ByteArray(s),
                op,
            ) => {
                let bytes = g.bytes_of(*s);
                let n = bytes.len() as u64;
                let mut header = vec![op.byte()];
                match op.arg_kind() {
                    Some(ArgKind::Unicodestring1 | ArgKind::Bytes1 | ArgKind::String1)
                        if n < 256 =>
                    {
                        header.push(n as u8)
                    }
                    Some(ArgKind::Unicodestring4 | ArgKind::Bytes4 | ArgKind::String4)
                        if n <= u32::MAX as u64 =>
                    {
                        header.extend_from_slice(&(n as u32).to_le_bytes())
                    }
                    Some(ArgKind::Unicodestring8 | ArgKind::Bytes8 | ArgKind::Bytearray8) => {
                        header.extend_from_slice(&n.to_le_bytes())
                    }
                    _ => return Ok(false),
                }
                self.out.write_large(&header, bytes);
                self.memoize(r);
            }
            (NodeKind::Tuple(items), Opcode::EmptyTuple) if items.is_empty() => {
                self.out.byte(Opcode::EmptyTuple.byte());
            }
            (
                NodeKind::Tuple(items),
                op @ (Opcode::Tuple | Opcode::Tuple1 | Opcode::Tuple2 | Opcode::Tuple3),
            ) => {
                let marked = op == Opcode::Tuple;
                let mut seq = Vec::with_capacity(items.len() + 2);
                if marked {
                    seq.push(Task::Op(Opcode::Mark));
                }
                seq.extend(items.iter().map(|x| Task::Save(Ref::Node(*x), d)));
                if items.is_empty() {
                    seq.push(Task::Op(Opcode::Tuple));
                } else {
                    seq.push(Task::TupleEnd {
                        r,
                        n: items.len(),
                        marked,
                    });
                }
                self.push_seq(seq);
            }
            (NodeKind::List(items), op @ (Opcode::EmptyList | Opcode::List))
            | (NodeKind::Set(items), op @ Opcode::EmptySet) => {
                let items: Vec<Ref> = items.iter().map(|x| Ref::Node(*x)).collect();
                let seq = self.replay_items(id, op, &items, 1, d);
                self.push_seq(seq);
            }
            (NodeKind::Dict(pairs), op @ (Opcode::EmptyDict | Opcode::Dict)) => {
                let flat: Vec<Ref> = pairs
                    .iter()
                    .flat_map(|(k, v)| [Ref::Node(*k), Ref::Node(*v)])
                    .collect();
                let seq = self.replay_items(id, op, &flat, 2, d);
                self.push_seq(seq);
            }
            (NodeKind::Global(glob), Opcode::Global) => {
                let mut text = vec![Opcode::Global.byte()];
                text.extend_from_slice(glob.module.as_bytes());
                text.push(b'\n');
                text.extend_from_slice(glob.name.as_bytes());
                text.push(b'\n');
                self.out.write(&text);
                self.memoize(r);
            }
            (NodeKind::Persistent { pid }, Opcode::Persid) => {
                let Some(text) = g.as_str(*pid).map(|s| s.as_bytes()) else {
                    return Ok(false);
                };
                line(&mut self.out, Opcode::Persid, text);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// A container made by `op` (`EMPTY_LIST`, or `MARK ... LIST` holding its first items),
    /// memoized as the source did, then filled with the batches the source used. `width` is 2
    /// for dicts (flattened key/value pairs).
    fn replay_items(
        &self,
        id: NodeId,
        op: Opcode,
        items: &[Ref],
        width: usize,
        d: usize,
    ) -> Vec<Task> {
        let r = Ref::Node(id);
        let batches: &[(Opcode, u64)] = self
            .rec
            .as_ref()
            .and_then(|rec| rec.batches.get(&id))
            .map_or(&[], |v| v.as_slice());
        let later: usize = batches.iter().map(|(_, n)| *n as usize * width).sum();
        let initial = items.len().saturating_sub(later);
        // Batches from this ordinal on are written where the source had them (late fills).
        let late_from = self
            .rec
            .as_ref()
            .and_then(|rec| rec.late_from.get(&id).copied());
        let batches = &batches[..late_from.unwrap_or(batches.len()).min(batches.len())];
        let mut seq = Vec::with_capacity(items.len() + 2 * batches.len() + 4);
        if op.uses_mark() {
            seq.push(Task::Op(Opcode::Mark));
            seq.extend(items[..initial].iter().map(|x| Task::Save(*x, d)));
        }
        seq.push(Task::Op(op));
        seq.push(Task::Memoize(r));
        let mut pos = initial;
        for &(bop, n) in batches {
            let take = (n as usize * width).min(items.len() - pos);
            let chunk = &items[pos..pos + take];
            pos += take;
            if bop.uses_mark() {
                seq.push(Task::Op(Opcode::Mark));
            }
            seq.extend(chunk.iter().map(|x| Task::Save(*x, d)));
            seq.push(Task::Op(bop));
        }
        if pos < items.len() && late_from.is_none() {
            // Items the recorded batches do not account for (not from a loaded stream).
            seq.push(Task::Op(Opcode::Mark));
            seq.extend(items[pos..].iter().map(|x| Task::Save(*x, d)));
            seq.push(Task::Op(match op {
                Opcode::EmptyDict | Opcode::Dict => Opcode::Setitems,
                Opcode::EmptySet => Opcode::Additems,
                _ => Opcode::Appends,
            }));
        }
        seq
    }
}

impl Saver<'_> {
    /// The item batches `from..to` of container `id` (a late fill, [`What::Batches`]).
    fn late_batches(&self, id: NodeId, from: usize, to: usize) -> Vec<Task> {
        let g = self.graph;
        let (flat, width): (Vec<Ref>, usize) = match g.kind(id) {
            NodeKind::Dict(pairs) => (
                pairs
                    .iter()
                    .flat_map(|(k, v)| [Ref::Node(*k), Ref::Node(*v)])
                    .collect(),
                2,
            ),
            NodeKind::List(items) | NodeKind::Set(items) => {
                (items.iter().map(|x| Ref::Node(*x)).collect(), 1)
            }
            _ => return Vec::new(),
        };
        let batches: &[(Opcode, u64)] = self
            .rec
            .as_ref()
            .and_then(|rec| rec.batches.get(&id))
            .map_or(&[], |v| v.as_slice());
        let later: usize = batches.iter().map(|(_, n)| *n as usize * width).sum();
        let mut pos = flat.len().saturating_sub(later)
            + batches[..from.min(batches.len())]
                .iter()
                .map(|(_, n)| *n as usize * width)
                .sum::<usize>();
        let mut seq = Vec::new();
        for &(bop, n) in &batches[from.min(batches.len())..to.min(batches.len())] {
            let take = (n as usize * width).min(flat.len().saturating_sub(pos));
            if bop.uses_mark() {
                seq.push(Task::Op(Opcode::Mark));
            }
            seq.extend(flat[pos..pos + take].iter().map(|x| Task::Save(*x, 1)));
            pos += take;
            seq.push(Task::Op(bop));
        }
        seq
    }
}

/// Puts the source's `FRAME` headers back into unframed output: the frame announced at source
/// offset `o` (the `i`-th, counting from 0) starts at `o - 9 * i` in the unframed bytes.
fn insert_recorded_frames(unframed: Vec<u8>, frames: &[(u64, u64)]) -> Vec<u8> {
    if frames.is_empty() {
        return unframed;
    }
    let mut out = Vec::with_capacity(unframed.len() + 9 * frames.len());
    let mut pos = 0usize;
    for (i, &(offset, len)) in frames.iter().enumerate() {
        let at = (offset as usize)
            .saturating_sub(9 * i)
            .clamp(pos, unframed.len());
        out.extend_from_slice(&unframed[pos..at]);
        out.push(Opcode::Frame.byte());
        out.extend_from_slice(&len.to_le_bytes());
        pos = at;
    }
    out.extend_from_slice(&unframed[pos..]);
    out
}
