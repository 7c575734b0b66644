//! Function and class recognisers, for every producer era.

use super::table::{Helper, Known};
use super::Builder;
use crate::error::Result;
use crate::model::{
    Cell, CellContents, Class, Entity, EntityId, Family, Function, GlobalsBase, Producer, Vendor,
};
use brine_pickle_core::{Mutation, NodeId, NodeKind};

fn placeholder_producer() -> Producer {
    Producer {
        family: Family::Stdlib,
        vendor: Vendor::Upstream,
        namespace: String::new(),
        era: None,
        era_candidates: Vec::new(),
    }
}

fn empty_function(node: NodeId) -> Function {
    Function {
        node,
        aliases: Vec::new(),
        producer: placeholder_producer(),
        code: None,
        name: None,
        qualname: None,
        module: None,
        doc: None,
        globals: GlobalsBase::None,
        shipped_globals: Vec::new(),
        defaults: None,
        kwdefaults: None,
        annotations: None,
        dict: None,
        closure: None,
        submodules: Vec::new(),
    }
}

fn empty_class(node: NodeId) -> Class {
    Class {
        node,
        aliases: Vec::new(),
        producer: placeholder_producer(),
        name: None,
        qualname: None,
        module: None,
        metaclass: None,
        bases: None,
        dict: Vec::new(),
        tracker_id: None,
        enum_members: None,
    }
}

impl Builder<'_> {
    pub(crate) fn function_or_class(
        &mut self,
        id: NodeId,
        helper: Helper,
        k: &Known,
        args: &[NodeId],
    ) -> Result<()> {
        match helper {
            // cloudpickle C/D/E: ctor(code, base_globals, None, None, closure) + setter.
            Helper::MakeFunction => self.cloudpickle_ctor(id, args),
            Helper::FunctionType if k.family == Family::Cloudpickle => {
                self.votes.builtin_type_function();
                self.cloudpickle_ctor(id, args)
            }
            // extpickle, PyPy builtins, hand-made: types.FunctionType(code, globals, name,
            // defaults, closure).
            Helper::FunctionType => self.plain_function(id, args),
            Helper::FillFunction => self.fill_function(id, args),
            Helper::CreateFunction => self.dill_function(id, args),
            Helper::MakeSkeletonClass => self.skeleton_class(id, args),
            Helper::MakeSkeletonEnum => self.skeleton_enum(id, args),
            Helper::RehydrateSkeletonClass => self.rehydrate_class(id, args),
            Helper::CreateType => {
                // dill: _create_type(metaclass, name, bases, dict)
                if args.len() != 4 {
                    self.diag(
                        id,
                        format!("_create_type takes 4 arguments, got {}", args.len()),
                    );
                    return Ok(());
                }
                self.class_from_type_call(id, Some(args[0]), &args[1..])
            }
            Helper::Type if args.len() == 3 => self.class_from_type_call(id, None, args),
            _ => Ok(()),
        }
    }

    fn cell_ids(&mut self, tuple: NodeId) -> Option<Vec<EntityId>> {
        let items = self.graph.items(tuple)?.to_vec();
        items
            .into_iter()
            .map(|c| match self.node_entity.get(&c) {
                Some(&id) if matches!(self.entities[id.index()], Entity::Cell(_)) => Some(id),
                _ => None,
            })
            .collect()
    }

    fn globals_base(&mut self, f: &mut Function, node: NodeId) {
        match self.graph.kind(node) {
            NodeKind::Dict(pairs) => {
                f.globals = GlobalsBase::Dict(node);
                f.shipped_globals.extend(pairs.iter().copied());
            }
            NodeKind::None => f.globals = GlobalsBase::None,
            NodeKind::Str(_) | NodeKind::Py2Str(_) => {
                // cloudpickle 0.5-0.7: the module's name; its live namespace is used.
                f.globals = GlobalsBase::ModuleNamespace(self.text(node).unwrap_or_default())
            }
            NodeKind::Global(g) => {
                // dill's own `find_class` maps `__builtin__.__main__` to the main namespace at
                // every protocol (from 3 on the name is not rewritten to `builtins`).
                let builtin = matches!(g.resolved_module.as_str(), "builtins" | "__builtin__");
                if builtin && g.resolved_name == "__main__" {
                    f.globals = GlobalsBase::MainSentinel;
                } else if g.resolved_name == "__dict__" {
                    f.globals = GlobalsBase::ModuleNamespace(g.resolved_module.clone());
                } else {
                    f.globals = GlobalsBase::Other(node);
                }
            }
            _ => {
                if let Some((Helper::GetModuleDict, _, a)) = self.call_helper(node) {
                    if let Some(name) = a.first().and_then(|&n| self.text(n)) {
                        f.globals = GlobalsBase::ModuleNamespace(name);
                        return;
                    }
                }
                f.globals = GlobalsBase::Other(node);
            }
        }
    }

    fn set_name(&self, slot: &mut Option<String>, node: NodeId) {
        if let Some(t) = self.text(node) {
            *slot = Some(t);
        }
    }

    fn opt_node(&self, node: NodeId) -> Option<NodeId> {
        (!self.is_none(node)).then_some(node)
    }

    fn finish_function(&mut self, mut f: Function) -> Result<()> {
        if f.module.is_none() {
            // CPython takes __module__ from the globals' __name__ when the function is made.
            // (A live module namespace's `__name__` is not known statically: an alias such as
            // `__mp_main__` names `__main__`'s dict, so nothing is inferred from it.)
            f.module = match &f.globals {
                GlobalsBase::MainSentinel => Some("__main__".to_string()),
                _ => None,
            };
            if f.module.is_none() {
                let name = f
                    .shipped_globals
                    .iter()
                    .find(|(k, _)| self.text(*k).as_deref() == Some("__name__"))
                    .map(|&(_, v)| v);
                if let Some(v) = name {
                    f.module = self.text(v);
                }
            }
        }
        let node = f.node;
        let aliases = f.aliases.clone();
        let id = self.add_entity(node, Entity::Function(f))?;
        for a in aliases {
            self.alias(a, id);
        }
        Ok(())
    }

    // ---- cloudpickle C/D/E --------------------------------------------------------------

    fn cloudpickle_ctor(&mut self, id: NodeId, args: &[NodeId]) -> Result<()> {
        if args.len() != 5 {
            self.diag(
                id,
                format!(
                    "cloudpickle function constructor takes 5 arguments (code, globals, name, defaults, closure), got {}",
                    args.len()
                ),
            );
            return Ok(());
        }
        let mut f = empty_function(id);
        f.code = Some(args[0]);
        self.globals_base(&mut f, args[1]);
        self.set_name(&mut f.name, args[2]);
        f.defaults = self.opt_node(args[3]);
        if !self.is_none(args[4]) {
            f.closure = self.cell_ids(args[4]);
            if f.closure.is_none() {
                self.diag(id, "closure is not a tuple of cells");
            }
        }
        let setters = self.setters.get(&id).cloned().unwrap_or_default();
        for (k, state, _call) in setters {
            if k.helper != Helper::FunctionSetstate {
                continue;
            }
            self.apply_function_setstate(&mut f, state);
        }
        self.finish_function(f)
    }

    /// `_function_setstate(f, (func_dict, slotstate))`.
    fn apply_function_setstate(&mut self, f: &mut Function, state: NodeId) {
        let Some(items) = self.graph.items(state).map(<[NodeId]>::to_vec) else {
            self.diag(state, "_function_setstate state is not a tuple");
            return;
        };
        if items.len() != 2 {
            self.diag(state, "_function_setstate state is not a 2-tuple");
            return;
        }
        if let Some(pairs) = self.graph.dict_pairs(items[0]) {
            if !pairs.is_empty() {
                f.dict = Some(items[0]);
            }
        }
        let Some(slots) = self.graph.dict_effective(items[1]) else {
            return;
        };
        for (key, value) in slots {
            let Some(key) = self.text(key) else { continue };
            match key.as_str() {
                "__name__" => self.set_name(&mut f.name, value),
                "__qualname__" => self.set_name(&mut f.qualname, value),
                "__module__" => f.module = self.text(value),
                "__doc__" => f.doc = self.opt_node(value),
                "__annotations__" => f.annotations = Some(value),
                "__kwdefaults__" => f.kwdefaults = self.opt_node(value),
                "__defaults__" => f.defaults = self.opt_node(value),
                // The filled cells: their contents are the closure's.
                "__closure__" if !self.is_none(value) => {
                    if let Some(cells) = self.cell_ids(value) {
                        f.closure = Some(cells);
                    }
                }
                "_cloudpickle_submodules" => {
                    if let Some(items) = self.graph.items(value) {
                        f.submodules.extend_from_slice(items);
                    }
                }
                "__globals__" => {
                    if let Some(pairs) = self.graph.dict_pairs(value) {
                        f.shipped_globals.extend_from_slice(pairs);
                    }
                }
                _ => {}
            }
        }
    }

    // ---- cloudpickle A/B ----------------------------------------------------------------

    fn fill_function(&mut self, id: NodeId, args: &[NodeId]) -> Result<()> {
        self.votes.fill_function_arity(args.len());
        let Some(&skel) = args.first() else {
            self.diag(id, "_fill_function without arguments");
            return Ok(());
        };
        let skel_args = match self.call_helper(skel) {
            Some((Helper::MakeSkelFunc, _, a)) if a.len() == 3 => a,
            _ => {
                self.diag(
                    id,
                    "_fill_function's first argument is not _make_skel_func(code, cells, base_globals)",
                );
                return Ok(());
            }
        };
        if ![2, 4, 5, 6].contains(&args.len()) {
            self.diag(
                id,
                format!(
                    "_fill_function takes 2, 4, 5 or 6 arguments, got {}",
                    args.len()
                ),
            );
            return Ok(());
        }
        let mut f = empty_function(id);
        f.aliases.push(skel);
        f.code = Some(skel_args[0]);
        // The inline `subimport('pkg.sub') POP` calls of 0.4-1.1 sit between `_fill_function`'s
        // MARK and the skeleton (nodes are numbered in stream order): required imports.
        if let NodeKind::Object(call) = self.graph.kind(id) {
            let first = call.callable.index() + 1;
            for i in first..skel.index() {
                let n = NodeId::from_index(i);
                if matches!(self.call_helper(n), Some((Helper::Subimport, _, _))) {
                    f.submodules.push(n);
                }
            }
        }
        self.globals_base(&mut f, skel_args[2]);
        // Cells: an int count (B eras: empty cells filled from closure_values) or a list of
        // values (era A: cells made from the values).
        let cell_count = self.graph.as_i64(skel_args[1]);
        let mut closure_values: Option<NodeId> = None;
        if cell_count.is_none() {
            closure_values = Some(skel_args[1]);
        }
        // The inline `subimport(...) POP` calls of 0.4-1.1 sit between MARK and the skeleton,
        // so they are not arguments; `_cloudpickle_submodules` is in the state from 1.2.
        match args.len() {
            2 => {
                let Some(state) = self.graph.dict_effective(args[1]) else {
                    self.diag(id, "_fill_function state is not a dict");
                    return Ok(());
                };
                for (key, value) in state {
                    let Some(key) = self.text(key) else { continue };
                    match key.as_str() {
                        "globals" => {
                            if let Some(p) = self.graph.dict_pairs(value) {
                                f.shipped_globals.extend_from_slice(p);
                            }
                        }
                        "defaults" => f.defaults = self.opt_node(value),
                        "dict" if self.graph.dict_pairs(value).is_some_and(|p| !p.is_empty()) => {
                            f.dict = Some(value);
                        }
                        "closure_values" => closure_values = self.opt_node(value),
                        "module" => f.module = self.text(value),
                        "qualname" => self.set_name(&mut f.qualname, value),
                        "name" => self.set_name(&mut f.name, value),
                        "doc" => f.doc = self.opt_node(value),
                        "annotations" => f.annotations = Some(value),
                        "kwdefaults" => f.kwdefaults = self.opt_node(value),
                        "_cloudpickle_submodules" => {
                            if let Some(items) = self.graph.items(value) {
                                f.submodules.extend_from_slice(items);
                            }
                        }
                        _ => {}
                    }
                }
            }
            n => {
                // (skel, globals, defaults, dict[, module][, closure_values])
                if let Some(p) = self.graph.dict_pairs(args[1]) {
                    f.shipped_globals.extend_from_slice(p);
                }
                f.defaults = self.opt_node(args[2]);
                if self
                    .graph
                    .dict_pairs(args[3])
                    .is_some_and(|p| !p.is_empty())
                {
                    f.dict = Some(args[3]);
                }
                if n == 6 {
                    f.module = self.text(args[4]);
                }
                if n >= 5 {
                    closure_values = self.opt_node(args[n - 1]);
                }
            }
        }
        let era_a_no_cells = cell_count.is_none()
            && self
                .graph
                .items(skel_args[1])
                .is_some_and(<[NodeId]>::is_empty);
        if cell_count == Some(-1) || era_a_no_cells {
            // -1: no closure; era A: an empty value list also means no closure.
            f.closure = None;
        } else if let Some(values) = closure_values {
            let Some(values) = self.graph.items(values).map(<[NodeId]>::to_vec) else {
                self.diag(id, "closure values are not a list");
                return self.finish_function(f);
            };
            if let Some(n) = cell_count {
                if n as usize != values.len() {
                    self.diag(id, format!("{} closure values for {n} cells", values.len()));
                }
            }
            let mut cells = Vec::with_capacity(values.len());
            for v in values {
                let empty = matches!(self.known(v), Some(k) if k.helper == Helper::EmptyCellValue);
                let contents = if empty {
                    CellContents::Empty
                } else {
                    CellContents::Value(v)
                };
                cells.push(self.push_cell(contents)?);
            }
            f.closure = Some(cells);
        } else if let Some(n) = cell_count {
            let mut cells = Vec::new();
            for _ in 0..n.max(0) {
                cells.push(self.push_cell(CellContents::Empty)?);
            }
            f.closure = Some(cells);
        }
        self.finish_function(f)
    }

    /// A cell with no node of its own (made by the loader from a value).
    fn push_cell(&mut self, contents: CellContents) -> Result<EntityId> {
        if self.entities.len() >= self.options.limits.max_entities {
            return Err(crate::error::Error::Limit {
                what: "number of entities",
                limit: self.options.limits.max_entities,
                offset: 0,
            });
        }
        let id = EntityId(self.entities.len() as u32);
        self.entities.push(Entity::Cell(Cell {
            node: None,
            contents,
        }));
        Ok(id)
    }

    // ---- dill -----------------------------------------------------------------------------

    fn dill_function(&mut self, id: NodeId, args: &[NodeId]) -> Result<()> {
        self.votes.dill_create_function_arity(args.len());
        if !(5..=7).contains(&args.len()) {
            self.diag(
                id,
                format!(
                    "_create_function takes 5 to 7 arguments, got {}",
                    args.len()
                ),
            );
            return Ok(());
        }
        let mut f = empty_function(id);
        f.code = Some(args[0]);
        self.globals_base(&mut f, args[1]);
        self.set_name(&mut f.name, args[2]);
        f.defaults = self.opt_node(args[3]);
        if !self.is_none(args[4]) {
            f.closure = self.cell_ids(args[4]);
            if f.closure.is_none() {
                self.diag(id, "closure is not a tuple of cells");
            }
        }
        if let Some(&fdict) = args.get(5) {
            if self.graph.dict_pairs(fdict).is_some_and(|p| !p.is_empty()) {
                f.dict = Some(fdict);
            }
        }
        if let Some(&kw) = args.get(6) {
            f.kwdefaults = self.opt_node(kw);
        }
        // d4/d5: BUILD (dict_or_None, slotstate) or BUILD dict.
        let builds: Vec<NodeId> = self
            .graph
            .mutations(id)
            .filter_map(|m| match m {
                Mutation::Build(s) => Some(*s),
                _ => None,
            })
            .collect();
        for state in builds {
            let (dict, slots) = match self.graph.kind(state) {
                NodeKind::Dict(_) => (Some(state), None),
                NodeKind::Tuple(items) if items.len() == 2 => {
                    (self.opt_node(items[0]), Some(items[1]))
                }
                _ => {
                    self.diag(
                        state,
                        "function BUILD state is neither a dict nor a 2-tuple",
                    );
                    continue;
                }
            };
            if let Some(d) = dict {
                if self.graph.dict_pairs(d).is_some_and(|p| !p.is_empty()) {
                    f.dict = Some(d);
                }
            }
            if let Some(pairs) = slots.and_then(|s| self.graph.dict_effective(s)) {
                for (key, value) in pairs {
                    self.dill_attr(&mut f, key, value);
                }
            }
        }
        // Python-2 d4: setattr post-processing instead of BUILD.
        if let Some(sets) = self.attr_sets.get(&id).cloned() {
            for (name, value, _) in sets {
                self.dill_attr_named(&mut f, &name, value);
            }
        }
        self.finish_function(f)
    }

    fn dill_attr(&mut self, f: &mut Function, key: NodeId, value: NodeId) {
        if let Some(name) = self.text(key) {
            self.dill_attr_named(f, &name, value);
        }
    }

    fn dill_attr_named(&mut self, f: &mut Function, name: &str, value: NodeId) {
        match name {
            "__doc__" => f.doc = self.opt_node(value),
            "__kwdefaults__" => f.kwdefaults = self.opt_node(value),
            "__annotations__" => f.annotations = Some(value),
            "__qualname__" => self.set_name(&mut f.qualname, value),
            "__module__" => f.module = self.text(value),
            "__dict__" => f.dict = Some(value),
            "__name__" => self.set_name(&mut f.name, value),
            "__defaults__" => f.defaults = self.opt_node(value),
            _ => {}
        }
    }

    // ---- plain FunctionType ---------------------------------------------------------------

    fn plain_function(&mut self, id: NodeId, args: &[NodeId]) -> Result<()> {
        if !(2..=5).contains(&args.len()) {
            self.diag(
                id,
                format!(
                    "FunctionType takes 2 to 5 arguments (code, globals[, name[, defaults[, closure]]]), got {}",
                    args.len()
                ),
            );
            return Ok(());
        }
        let mut f = empty_function(id);
        f.code = Some(args[0]);
        self.globals_base(&mut f, args[1]);
        if let Some(&n) = args.get(2) {
            self.set_name(&mut f.name, n);
        }
        if let Some(&d) = args.get(3) {
            f.defaults = self.opt_node(d);
        }
        if let Some(&c) = args.get(4) {
            if !self.is_none(c) {
                f.closure = self.cell_ids(c);
                if f.closure.is_none() {
                    self.diag(id, "closure is not a tuple of cells");
                }
            }
        }
        self.finish_function(f)
    }

    // ---- classes --------------------------------------------------------------------------

    fn finish_class(&mut self, c: Class) -> Result<()> {
        let node = c.node;
        let aliases = c.aliases.clone();
        let id = self.add_entity(node, Entity::Class(c))?;
        for a in aliases {
            self.alias(a, id);
        }
        Ok(())
    }

    fn apply_class_setstate(&mut self, c: &mut Class) {
        let setters = self.setters.get(&c.node).cloned().unwrap_or_default();
        for (k, state, _) in setters {
            if k.helper != Helper::ClassSetstate {
                continue;
            }
            let Some(items) = self.graph.items(state).map(<[NodeId]>::to_vec) else {
                self.diag(state, "_class_setstate state is not a tuple");
                continue;
            };
            if let Some(pairs) = items.first().and_then(|&d| self.graph.dict_pairs(d)) {
                c.dict.extend_from_slice(pairs);
            }
        }
        self.class_names_from_dict(c);
    }

    fn class_names_from_dict(&mut self, c: &mut Class) {
        for &(k, v) in &c.dict {
            match self.text(k).as_deref() {
                Some("__qualname__") => c.qualname = self.text(v),
                Some("__module__") if c.module.is_none() => c.module = self.text(v),
                _ => {}
            }
        }
        if let Some(sets) = self.attr_sets.get(&c.node) {
            for (name, value, _) in sets {
                match name.as_str() {
                    "__qualname__" => c.qualname = self.text(*value),
                    "__module__" => c.module = self.text(*value),
                    _ => {}
                }
            }
        }
    }

    /// `_make_skeleton_class(metaclass, name, bases, type_kwargs, tracker_id, extra)`.
    fn skeleton_class(&mut self, id: NodeId, args: &[NodeId]) -> Result<()> {
        if args.len() != 6 {
            self.diag(
                id,
                format!("_make_skeleton_class takes 6 arguments, got {}", args.len()),
            );
            return Ok(());
        }
        let mut c = empty_class(id);
        c.metaclass = Some(args[0]);
        c.name = self.text(args[1]);
        c.bases = Some(args[2]);
        if let Some(pairs) = self.graph.dict_effective(args[3]) {
            for (k, v) in pairs {
                if self.text(k).as_deref() == Some("__module__") {
                    c.module = self.text(v);
                }
                // Before 1.5 the type kwargs may also carry `__doc__` and `__slots__`: they
                // are class attributes like the rest of the dict.
                c.dict.push((k, v));
            }
        }
        c.tracker_id = self.text(args[4]);
        self.apply_class_setstate(&mut c);
        self.finish_class(c)
    }

    /// `_make_skeleton_enum(bases, name, qualname, members, module, tracker_id, extra)`.
    fn skeleton_enum(&mut self, id: NodeId, args: &[NodeId]) -> Result<()> {
        if args.len() != 7 {
            self.diag(
                id,
                format!("_make_skeleton_enum takes 7 arguments, got {}", args.len()),
            );
            return Ok(());
        }
        let mut c = empty_class(id);
        c.bases = Some(args[0]);
        c.name = self.text(args[1]);
        c.qualname = self.text(args[2]);
        c.enum_members = Some(args[3]);
        c.module = self.text(args[4]);
        c.tracker_id = self.text(args[5]);
        self.apply_class_setstate(&mut c);
        self.finish_class(c)
    }

    /// `_rehydrate_skeleton_class(skeleton, clsdict)`: the skeleton is a class already.
    fn rehydrate_class(&mut self, id: NodeId, args: &[NodeId]) -> Result<()> {
        if args.len() != 2 {
            self.diag(
                id,
                format!(
                    "_rehydrate_skeleton_class takes 2 arguments, got {}",
                    args.len()
                ),
            );
            return Ok(());
        }
        if !self.node_entity.contains_key(&args[0]) {
            // Before 1.1 the skeleton is `metaclass(name, bases, type_kwargs)` with any
            // metaclass (`enum.EnumMeta`, `abc.ABCMeta`, a dynamic metaclass...).
            if let Some(NodeKind::Object(obj)) = Some(self.graph.kind(args[0])) {
                let callable = obj.callable;
                if let Some(a) = self.graph.items(obj.args).map(<[NodeId]>::to_vec) {
                    if a.len() == 3 {
                        self.class_from_type_call(args[0], Some(callable), &a)?;
                    }
                }
            }
        }
        let Some(&cid) = self.node_entity.get(&args[0]) else {
            self.diag(
                id,
                "_rehydrate_skeleton_class of something that is not a class",
            );
            return Ok(());
        };
        let pairs = self.graph.dict_pairs(args[1]).map(<[_]>::to_vec);
        let Entity::Class(mut c) = self.entities[cid.index()].clone() else {
            self.diag(
                id,
                "_rehydrate_skeleton_class of something that is not a class",
            );
            return Ok(());
        };
        if let Some(p) = pairs {
            c.dict.extend(p);
        }
        self.class_names_from_dict(&mut c);
        c.aliases.push(id);
        self.entities[cid.index()] = Entity::Class(c);
        self.alias(id, cid);
        Ok(())
    }

    /// `metaclass(name, bases, dict)` (era-A cloudpickle, extpickle, pre-1.1 skeletons) and dill's
    /// `_create_type(metaclass, name, bases, dict)`.
    fn class_from_type_call(
        &mut self,
        id: NodeId,
        metaclass: Option<NodeId>,
        args: &[NodeId],
    ) -> Result<()> {
        let (Some(name), true) = (
            self.text(args[0]),
            matches!(self.graph.kind(args[1]), NodeKind::Tuple(_)),
        ) else {
            return Ok(());
        };
        let Some(pairs) = self.graph.dict_pairs(args[2]).map(<[_]>::to_vec) else {
            return Ok(());
        };
        let mut c = empty_class(id);
        c.name = Some(name);
        c.metaclass = metaclass;
        c.bases = Some(args[1]);
        c.dict = pairs;
        self.class_names_from_dict(&mut c);
        self.finish_class(c)
    }
}
