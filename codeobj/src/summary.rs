//! A static summary of what a code object (and every code object nested in it) reaches:
//! global names, attribute chains, imports, calls, string constants, dynamic access and
//! closure wiring. Nothing is executed.
//!
//! The analysis follows each code object's instructions with a small symbolic stack. Values
//! it can name (a global, a builtin, an attribute chain such as `os.path.join`, a module bound
//! by an import, a constant) keep their names through loads, attribute loads and calls; every
//! other value is "unknown". At a jump target, or after an instruction whose stack effect it
//! does not know, the stack is reset to unknown values: a call whose callee cannot be named
//! is still reported, with no callee.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use brine_codeobj::{Code, CodeSummary, OpcodeTable};
//! use brine_codeobj::code::Const;
//! use brine_marshal::PyStr;
//!
//! // `os.system(cmd)` in CPython 3.8: LOAD_GLOBAL os; LOAD_METHOD system; LOAD_FAST cmd;
//! // CALL_METHOD 1; RETURN_VALUE.
//! let table = OpcodeTable::for_version(3, 8).unwrap();
//! let code_bytes = [116, 0, 160, 1, 124, 0, 161, 1, 83, 0];
//! let mut code = Code::empty(table, &code_bytes);
//! code.names = vec![PyStr::new(b"os", true), PyStr::new(b"system", true)];
//! code.varnames = vec![PyStr::new(b"cmd", true)];
//! code.consts = vec![Const::None];
//! let summary = CodeSummary::of(&code)?;
//! assert!(summary.globals_read.contains("os"));
//! assert_eq!(summary.calls[0].callee.as_deref(), Some("os.system"));
//! assert_eq!(summary.attribute_chains[0].chain, "os.system");
//! # Ok(())
//! # }
//! ```

use std::collections::{BTreeMap, BTreeSet};

use crate::code::{Code, Const};
use crate::decode::{ArgVal, Instruction, JumpTargets};
use crate::disasm::InstructionLines;
use crate::flags::CodeFlags;
use crate::limits::Limits;
use crate::opcodes::ArgKind;

/// Names of Python's builtins (2.7 and 3.x together) used to tell builtins from globals.
const BUILTINS: &[&str] = &[
    "__build_class__",
    "__import__",
    "abs",
    "aiter",
    "all",
    "anext",
    "any",
    "apply",
    "ascii",
    "basestring",
    "bin",
    "bool",
    "breakpoint",
    "buffer",
    "bytearray",
    "bytes",
    "callable",
    "chr",
    "classmethod",
    "cmp",
    "coerce",
    "compile",
    "complex",
    "copyright",
    "credits",
    "delattr",
    "dict",
    "dir",
    "divmod",
    "enumerate",
    "eval",
    "exec",
    "execfile",
    "exit",
    "file",
    "filter",
    "float",
    "format",
    "frozenset",
    "getattr",
    "globals",
    "hasattr",
    "hash",
    "help",
    "hex",
    "id",
    "input",
    "int",
    "intern",
    "isinstance",
    "issubclass",
    "iter",
    "len",
    "license",
    "list",
    "locals",
    "long",
    "map",
    "max",
    "memoryview",
    "min",
    "next",
    "object",
    "oct",
    "open",
    "ord",
    "pow",
    "print",
    "property",
    "quit",
    "range",
    "raw_input",
    "reduce",
    "reload",
    "repr",
    "reversed",
    "round",
    "set",
    "setattr",
    "slice",
    "sorted",
    "staticmethod",
    "str",
    "sum",
    "super",
    "tuple",
    "type",
    "unichr",
    "unicode",
    "vars",
    "xrange",
    "zip",
    "__builtins__",
    "__builtin__",
    "builtins",
];

/// Callees whose use means code or names are chosen at run time.
const DYNAMIC_CALLEES: &[(&str, DynamicKind)] = &[
    ("exec", DynamicKind::Exec),
    ("execfile", DynamicKind::Exec),
    ("eval", DynamicKind::Eval),
    ("compile", DynamicKind::Compile),
    ("__import__", DynamicKind::Import),
    ("importlib.import_module", DynamicKind::Import),
    ("getattr", DynamicKind::GetAttr),
    ("setattr", DynamicKind::SetAttr),
    ("delattr", DynamicKind::DelAttr),
    ("globals", DynamicKind::Namespace),
    ("locals", DynamicKind::Namespace),
    ("vars", DynamicKind::Namespace),
];

/// What kind of name a statically known callee is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CalleeKind {
    /// A builtin function or type (`print`, `getattr`, ...), not assigned in the module.
    Builtin,
    /// A module-level name.
    Global,
    /// An attribute chain rooted at a global or an imported module (`os.path.join`).
    Attribute,
    /// A local, cell or free variable (its value is not known statically).
    Local,
    /// Not statically known.
    Unknown,
}

/// One call site.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Call {
    /// The qualname path of the code object holding the call.
    pub code: String,
    /// The callee, when statically known (`"print"`, `"os.system"`, `"subprocess.run"`).
    pub callee: Option<String>,
    /// What kind of name the callee is.
    pub kind: CalleeKind,
    /// Number of arguments passed (positional and keyword) when known.
    pub argc: Option<u32>,
    /// Source line.
    pub line: Option<i32>,
    /// Byte offset of the call instruction.
    pub offset: u32,
}

/// One `import`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Import {
    /// The qualname path of the code object holding it.
    pub code: String,
    /// The module name given to `IMPORT_NAME`.
    pub module: String,
    /// The relative-import level (`-1` = Python 2 implicit relative, 0 = absolute).
    pub level: Option<i64>,
    /// The `fromlist` (names after `from ... import`; `["*"]` for a star import).
    pub fromlist: Option<Vec<String>>,
    /// Names taken with `IMPORT_FROM` right after it.
    pub names: Vec<String>,
    /// Source line.
    pub line: Option<i32>,
}

/// An attribute chain rooted at a global name or an imported module.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttributeChain {
    /// The qualname path of the code object.
    pub code: String,
    /// The dotted chain, e.g. `os.path.join`.
    pub chain: String,
    /// Source line.
    pub line: Option<i32>,
}

/// Kinds of dynamic access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DynamicKind {
    /// `exec` (function or Python 2 statement), `execfile`.
    Exec,
    /// `eval`.
    Eval,
    /// `compile`.
    Compile,
    /// `__import__`, `importlib.import_module`.
    Import,
    /// `getattr` with a name that is not a constant.
    GetAttr,
    /// `setattr` with a name that is not a constant.
    SetAttr,
    /// `delattr` with a name that is not a constant.
    DelAttr,
    /// `globals()`, `locals()`, `vars()`.
    Namespace,
}

/// One dynamic access.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Dynamic {
    /// The qualname path of the code object.
    pub code: String,
    /// What kind of access.
    pub kind: DynamicKind,
    /// The callee as written (`"getattr"`, `"importlib.import_module"`).
    pub callee: String,
    /// The object operated on, when statically known (`getattr(__builtins__, name)` gives
    /// `"__builtins__"`).
    pub target: Option<String>,
    /// Source line.
    pub line: Option<i32>,
}

/// A nested code object.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NestedCode {
    /// Its qualname path (`outer.<locals>.inner`, `<module>.<listcomp>` ...).
    pub qualname: String,
    /// The constant-index path from the root (`"3/1"`), as in the JSON views.
    pub path: String,
    /// `co_name`.
    pub name: String,
    /// First line.
    pub firstlineno: i32,
}

/// One captured variable of a closure.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Capture {
    /// The name.
    pub name: String,
    /// Whether the enclosing code object owns the cell (`true`) or passes on one of its own
    /// free variables (`false`).
    pub from_enclosing_cell: bool,
}

/// Which cells a nested function captures.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Closure {
    /// The qualname path of the capturing code object.
    pub code: String,
    /// The qualname path of the enclosing code object.
    pub enclosing: String,
    /// The captured variables, in `co_freevars` order.
    pub captures: Vec<Capture>,
}

/// What a code object and its nested code objects reach, statically.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CodeSummary {
    /// Global (and builtin) names read (`LOAD_GLOBAL`, `LOAD_NAME`).
    pub globals_read: BTreeSet<String>,
    /// Global names written or deleted (`STORE_GLOBAL`, module-level `STORE_NAME`).
    pub globals_written: BTreeSet<String>,
    /// Attribute chains loaded from globals or imported modules.
    pub attribute_chains: Vec<AttributeChain>,
    /// Imports.
    pub imports: Vec<Import>,
    /// Call sites.
    pub calls: Vec<Call>,
    /// `str` constants (Python 2 `str` decoded as Latin-1), each once, in first-seen order.
    pub strings: Vec<String>,
    /// `bytes` constants, each once.
    pub bytes: Vec<Vec<u8>>,
    /// Nested code objects.
    pub nested: Vec<NestedCode>,
    /// Dynamic access (`exec`, `eval`, `getattr` with a computed name, ...).
    pub dynamic: Vec<Dynamic>,
    /// Closure wiring.
    pub closures: Vec<Closure>,
    /// Global names bound to an imported module or an attribute chain of one
    /// (`from os.path import join as pjoin` gives `pjoin -> os.path.join`).
    pub module_aliases: BTreeMap<String, String>,
    /// Instructions the decoder marked as malformed (count).
    pub malformed_instructions: usize,
}

/// A symbolic stack value.
#[derive(Debug, Clone, PartialEq)]
enum Sym {
    Unknown,
    /// The NULL pushed before (3.11–3.12) or after (3.13+) a callable.
    Null,
    /// A name whose value is a global/builtin (or module-bound) object: dotted chain.
    Chain(String, CalleeKind),
    /// A local variable's value.
    Local(String),
    /// A constant (index into co_consts).
    Const(usize),
    /// The result of an IMPORT_NAME: the module bound by the matching store.
    Module(String),
}

impl CodeSummary {
    /// Summarises `code` and every code object nested in it, with the default limits.
    pub fn of(code: &Code<'_>) -> crate::Result<CodeSummary> {
        CodeSummary::with_limits(code, Limits::DEFAULT)
    }

    /// Summarises with explicit limits (depth and count of code objects visited).
    pub fn with_limits(code: &Code<'_>, limits: Limits) -> crate::Result<CodeSummary> {
        let mut s = CodeSummary::default();
        let mut strings_seen: BTreeSet<String> = BTreeSet::new();
        let mut bytes_seen: BTreeSet<Vec<u8>> = BTreeSet::new();
        // Explicit stack of (code, qualname, path, depth, parent index).
        struct Item<'c, 'a> {
            code: &'c Code<'a>,
            qualname: String,
            path: String,
            depth: usize,
            parent: Option<&'c Code<'a>>,
            parent_qualname: String,
        }
        let root_name = code.name.to_string_lossy();
        let mut stack = vec![Item {
            code,
            qualname: root_name,
            path: String::new(),
            depth: 0,
            parent: None,
            parent_qualname: String::new(),
        }];
        let mut visited = 0usize;
        while let Some(item) = stack.pop() {
            visited += 1;
            if visited > limits.max_code_objects {
                return Err(crate::Error::Limit("too many code objects"));
            }
            let c = item.code;
            if let Some(parent) = item.parent {
                s.nested.push(NestedCode {
                    qualname: item.qualname.clone(),
                    path: item.path.clone(),
                    name: c.name.to_string_lossy(),
                    firstlineno: c.firstlineno,
                });
                if !c.freevars.is_empty() {
                    let captures = c
                        .freevars
                        .iter()
                        .map(|f| Capture {
                            name: f.to_string_lossy(),
                            from_enclosing_cell: parent.cellvars.contains(f),
                        })
                        .collect();
                    s.closures.push(Closure {
                        code: item.qualname.clone(),
                        enclosing: item.parent_qualname.clone(),
                        captures,
                    });
                }
            }
            collect_constants(&c.consts, &mut s, &mut strings_seen, &mut bytes_seen, 0);
            analyse(c, &item.qualname, item.depth == 0, &mut s);
            if item.depth >= limits.max_code_depth {
                continue;
            }
            let is_function = c.flags().contains(CodeFlags::OPTIMIZED)
                && c.flags().contains(CodeFlags::NEWLOCALS);
            let mut kids: Vec<Item<'_, '_>> = Vec::new();
            for (i, k) in c.nested() {
                let kname = k.name.to_string_lossy();
                // 3.11+ stores the qualname; before, derive it the way the compiler does.
                let qualname = match k.qualname {
                    Some(q) => q.to_string_lossy(),
                    None if item.depth == 0 => kname.clone(),
                    _ if is_function => format!("{}.<locals>.{kname}", item.qualname),
                    _ => format!("{}.{kname}", item.qualname),
                };
                kids.push(Item {
                    code: k,
                    qualname,
                    path: crate_child_path(&item.path, i),
                    depth: item.depth + 1,
                    parent: Some(c),
                    parent_qualname: item.qualname.clone(),
                });
            }
            kids.reverse();
            stack.extend(kids);
        }
        Ok(s)
    }

    /// The calls whose callee is `name` (e.g. `"os.system"`).
    pub fn calls_to<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Call> + 's {
        self.calls
            .iter()
            .filter(move |c| c.callee.as_deref() == Some(name))
    }
}

fn crate_child_path(path: &str, index: usize) -> String {
    if path.is_empty() {
        index.to_string()
    } else {
        format!("{path}/{index}")
    }
}

fn collect_constants(
    consts: &[Const<'_>],
    s: &mut CodeSummary,
    strings_seen: &mut BTreeSet<String>,
    bytes_seen: &mut BTreeSet<Vec<u8>>,
    depth: usize,
) {
    if depth > 64 {
        return;
    }
    for c in consts {
        match c {
            Const::Str(_) | Const::Py2Str(_) => {
                if let Some(t) = c.as_text() {
                    if strings_seen.insert(t.clone()) {
                        s.strings.push(t);
                    }
                }
            }
            Const::Bytes(b) if bytes_seen.insert(b.to_vec()) => s.bytes.push(b.to_vec()),
            Const::Tuple(items)
            | Const::List(items)
            | Const::Set(items)
            | Const::FrozenSet(items) => {
                collect_constants(items, s, strings_seen, bytes_seen, depth + 1)
            }
            Const::Dict(pairs) => {
                for (k, v) in pairs {
                    collect_constants(
                        std::slice::from_ref(k),
                        s,
                        strings_seen,
                        bytes_seen,
                        depth + 1,
                    );
                    collect_constants(
                        std::slice::from_ref(v),
                        s,
                        strings_seen,
                        bytes_seen,
                        depth + 1,
                    );
                }
            }
            _ => {}
        }
    }
}

/// Per-code-object analysis state.
struct Frame<'x> {
    stack: Vec<Sym>,
    /// Names bound to imported modules in this code object (local or global names).
    aliases: BTreeMap<String, String>,
    qualname: &'x str,
    module_level: bool,
    pending_import: Option<usize>,
}

impl Frame<'_> {
    fn push(&mut self, v: Sym) {
        if self.stack.len() < 4096 {
            self.stack.push(v);
        }
    }

    fn pop(&mut self) -> Sym {
        self.stack.pop().unwrap_or(Sym::Unknown)
    }

    fn pop_n(&mut self, n: u32) {
        for _ in 0..n.min(4096) {
            self.pop();
        }
    }

    fn peek(&self, depth: u32) -> Sym {
        let len = self.stack.len();
        match len.checked_sub(1 + depth as usize) {
            Some(i) => self.stack[i].clone(),
            None => Sym::Unknown,
        }
    }

    fn reset(&mut self) {
        self.stack.clear();
    }
}

fn text(n: brine_marshal::PyStr<'_>) -> String {
    n.to_string_lossy()
}

fn analyse(code: &Code<'_>, qualname: &str, is_root: bool, s: &mut CodeSummary) {
    let v = code.version();
    let is_class_body = !is_root && !code.flags().contains(CodeFlags::OPTIMIZED);
    let mut f = Frame {
        stack: Vec::new(),
        aliases: BTreeMap::new(),
        qualname,
        module_level: is_root,
        pending_import: None,
    };
    // Stacks carried along forward jumps, merged at their targets; exception handlers start
    // from an unknown stack.
    let targets = crate::disasm::jump_targets(code, true);
    let mut handlers = JumpTargets::with_max_offset(code.code.len() + 2);
    for e in code.exception_entries().flatten() {
        handlers.add(e.target);
    }
    let mut carried: BTreeMap<u32, Vec<Sym>> = BTreeMap::new();
    let mut falls_through = true;
    for (ins, li) in InstructionLines::new(code) {
        if ins.problem.is_some() {
            s.malformed_instructions += 1;
        }
        let here = ins.offset;
        if targets.contains(here) {
            let incoming = carried.remove(&here);
            if handlers.contains(here) {
                f.reset();
            } else {
                match (falls_through, incoming) {
                    (true, Some(other)) => f.stack = merge(&f.stack, &other),
                    (true, None) => {}
                    (false, Some(other)) => f.stack = other,
                    (false, None) => f.reset(),
                }
            }
        }
        let line = li.line;
        let name = ins.info.name;
        // IMPORT_FROM names attach to the import just before; anything else ends the run.
        if !matches!(
            name,
            "IMPORT_FROM" | "POP_TOP" | "EXTENDED_ARG" | "ROT_TWO" | "SWAP"
        ) && !name.starts_with("STORE_")
        {
            f.pending_import = None;
        }
        let before = f.stack.len();
        step(code, v, &ins, line, &mut f, s, is_class_body);
        if let Some(target) = ins.jump_target().filter(|&t| t > here) {
            // The stack the jump arrives with, where our model knows it.
            let at_target: Option<Vec<Sym>> = match name {
                "FOR_ITER" if v < (3, 12) => {
                    // Exhausted: the iterator is popped (the pushed value never was).
                    let keep = before.saturating_sub(1).min(f.stack.len());
                    Some(f.stack[..keep].to_vec())
                }
                "JUMP_IF_FALSE_OR_POP" | "JUMP_IF_TRUE_OR_POP" => {
                    let mut st = f.stack.clone();
                    st.push(Sym::Unknown);
                    Some(st)
                }
                _ if name.contains("JUMP") || name == "FOR_ITER" || name == "SETUP_LOOP" => {
                    Some(f.stack.clone())
                }
                // SETUP_FINALLY/EXCEPT/WITH, SEND, ...: the target sees values we do not model.
                _ => None,
            };
            if let Some(st) = at_target {
                let merged = match carried.remove(&target) {
                    Some(prev) => merge(&prev, &st),
                    None => st,
                };
                carried.insert(target, merged);
            }
        }
        falls_through = !matches!(
            name,
            "JUMP_FORWARD"
                | "JUMP_ABSOLUTE"
                | "JUMP_BACKWARD"
                | "JUMP_BACKWARD_NO_INTERRUPT"
                | "JUMP"
                | "JUMP_NO_INTERRUPT"
                | "RETURN_VALUE"
                | "RETURN_CONST"
                | "RAISE_VARARGS"
                | "RERAISE"
                | "BREAK_LOOP"
                | "CONTINUE_LOOP"
        );
    }
}

/// Two stacks reaching the same instruction: values that agree are kept, others become
/// unknown; when the depths differ the model is off, and nothing is kept.
fn merge(a: &[Sym], b: &[Sym]) -> Vec<Sym> {
    if a.len() != b.len() {
        return Vec::new();
    }
    a.iter()
        .zip(b)
        .map(|(x, y)| if x == y { x.clone() } else { Sym::Unknown })
        .collect()
}

fn chain_of(f: &Frame<'_>, code: &Code<'_>, sym: &Sym) -> Option<(String, CalleeKind)> {
    match sym {
        Sym::Chain(c, k) => Some((c.clone(), *k)),
        Sym::Module(m) => Some((m.clone(), CalleeKind::Attribute)),
        Sym::Local(n) => Some(match f.aliases.get(n) {
            Some(m) => (m.clone(), CalleeKind::Attribute),
            None => (n.clone(), CalleeKind::Local),
        }),
        Sym::Const(_) | Sym::Null | Sym::Unknown => {
            let _ = code;
            None
        }
    }
}

fn global_sym(f: &Frame<'_>, s: &CodeSummary, n: &str) -> Sym {
    if let Some(m) = f.aliases.get(n).or_else(|| s.module_aliases.get(n)) {
        return Sym::Chain(m.clone(), CalleeKind::Attribute);
    }
    let kind = if BUILTINS.contains(&n) && !s.globals_written.contains(n) {
        CalleeKind::Builtin
    } else {
        CalleeKind::Global
    };
    Sym::Chain(n.to_string(), kind)
}

fn const_str(code: &Code<'_>, sym: &Sym) -> Option<String> {
    match sym {
        Sym::Const(i) => code.consts.get(*i).and_then(Const::as_text),
        _ => None,
    }
}

#[allow(clippy::too_many_lines)]
fn step(
    code: &Code<'_>,
    v: (u8, u8),
    ins: &Instruction<'_, '_>,
    line: Option<i32>,
    f: &mut Frame<'_>,
    s: &mut CodeSummary,
    is_class_body: bool,
) {
    let name = ins.info.name;
    let arg = ins.arg.unwrap_or(0).min(1 << 20);
    let argname = match ins.argval {
        ArgVal::Name(n) => Some(text(n)),
        _ => None,
    };
    let null_first = v < (3, 13);
    match (name, ins.info.arg) {
        (
            "EXTENDED_ARG"
            | "NOP"
            | "RESUME"
            | "CACHE"
            | "PRECALL"
            | "KW_NAMES"
            | "GET_ITER"
            | "GET_AWAITABLE"
            | "GET_YIELD_FROM_ITER"
            | "JUMP_FORWARD"
            | "JUMP_ABSOLUTE"
            | "JUMP_BACKWARD"
            | "JUMP_BACKWARD_NO_INTERRUPT"
            | "JUMP"
            | "SETUP_LOOP"
            | "SETUP_EXCEPT"
            | "SETUP_FINALLY"
            | "POP_BLOCK"
            | "LIST_TO_TUPLE"
            | "TO_BOOL"
            | "FORMAT_SIMPLE"
            | "CONVERT_VALUE"
            | "CALL_INTRINSIC_1"
            | "UNARY_NEGATIVE"
            | "UNARY_POSITIVE"
            | "UNARY_NOT"
            | "UNARY_INVERT"
            | "NOT_TAKEN"
            | "COPY_FREE_VARS"
            | "MAKE_CELL"
            | "RETURN_GENERATOR",
            _,
        ) => {
            if matches!(name, "RETURN_GENERATOR") {
                f.push(Sym::Unknown);
            }
        }
        (_, ArgKind::GlobalName)
        | ("LOAD_GLOBAL" | "LOAD_NAME" | "LOAD_FROM_DICT_OR_GLOBALS", _) => {
            let n = argname.unwrap_or_default();
            s.globals_read.insert(n.clone());
            if name == "LOAD_FROM_DICT_OR_GLOBALS" {
                f.pop();
            }
            let sym = global_sym(f, s, &n);
            let with_null = ins.info.arg == ArgKind::GlobalName && arg & 1 != 0;
            if with_null && null_first {
                f.push(Sym::Null);
            }
            f.push(sym);
            if with_null && !null_first {
                f.push(Sym::Null);
            }
        }
        (
            "LOAD_FAST"
            | "LOAD_FAST_CHECK"
            | "LOAD_FAST_AND_CLEAR"
            | "LOAD_FAST_BORROW"
            | "LOAD_DEREF"
            | "LOAD_CLOSURE"
            | "LOAD_CLASSDEREF"
            | "LOAD_FROM_DICT_OR_DEREF",
            _,
        ) => {
            if name == "LOAD_FROM_DICT_OR_DEREF" {
                f.pop();
            }
            f.push(Sym::Local(argname.unwrap_or_default()));
        }
        (_, ArgKind::LocalPair) if name.starts_with("LOAD_") => {
            if let ArgVal::NamePair(a, b) = ins.argval {
                f.push(Sym::Local(text(a)));
                f.push(Sym::Local(text(b)));
            }
        }
        ("STORE_FAST_STORE_FAST", _) => f.pop_n(2),
        ("STORE_FAST_LOAD_FAST", _) => {
            f.pop();
            if let ArgVal::NamePair(_, b) = ins.argval {
                f.push(Sym::Local(text(b)));
            }
        }
        ("LOAD_CONST", _) => f.push(Sym::Const(arg as usize)),
        (
            "LOAD_SMALL_INT"
            | "LOAD_COMMON_CONSTANT"
            | "LOAD_ASSERTION_ERROR"
            | "LOAD_BUILD_CLASS"
            | "LOAD_LOCALS"
            | "PUSH_NULL"
            | "DUP_TOP"
            | "COPY"
            | "BEFORE_WITH"
            | "LOAD_SPECIAL",
            _,
        ) => {
            let top = f.peek(0);
            match name {
                "PUSH_NULL" => f.push(Sym::Null),
                "DUP_TOP" => f.push(top),
                "COPY" => {
                    let x = f.peek(arg.saturating_sub(1));
                    f.push(x)
                }
                "BEFORE_WITH" => f.push(Sym::Unknown),
                "LOAD_SPECIAL" => {
                    f.pop();
                    f.push(Sym::Unknown);
                    f.push(Sym::Unknown);
                }
                _ => f.push(Sym::Unknown),
            }
        }
        ("LOAD_ATTR" | "LOAD_METHOD" | "LOAD_SUPER_ATTR", _) => {
            let attr = argname.unwrap_or_default();
            if name == "LOAD_SUPER_ATTR" {
                f.pop_n(3);
                f.push(Sym::Unknown);
                if arg & 1 != 0 {
                    f.push(Sym::Unknown);
                }
                return;
            }
            let base = f.pop();
            let result = match chain_of(f, code, &base) {
                Some((c, k)) if k != CalleeKind::Local => {
                    let chain = format!("{c}.{attr}");
                    s.attribute_chains.push(AttributeChain {
                        code: f.qualname.to_string(),
                        chain: chain.clone(),
                        line,
                    });
                    Sym::Chain(chain, CalleeKind::Attribute)
                }
                Some((c, _)) => Sym::Chain(format!("{c}.{attr}"), CalleeKind::Local),
                None => Sym::Unknown,
            };
            let method =
                name == "LOAD_METHOD" || (ins.info.arg == ArgKind::AttrName && arg & 1 != 0);
            if method {
                if null_first {
                    f.push(Sym::Null);
                    f.push(result);
                } else {
                    f.push(result);
                    f.push(Sym::Null);
                }
            } else {
                f.push(result);
            }
        }
        ("IMPORT_NAME", _) => {
            let fromlist_sym = f.pop();
            let level_sym = f.pop();
            let module = argname.unwrap_or_default();
            let level = match level_sym {
                Sym::Const(i) => code.consts.get(i).and_then(Const::as_int),
                _ => None,
            };
            let fromlist = match fromlist_sym {
                Sym::Const(i) => match code.consts.get(i) {
                    Some(Const::Tuple(items)) | Some(Const::List(items)) => {
                        Some(items.iter().filter_map(Const::as_text).collect())
                    }
                    _ => None,
                },
                _ => None,
            };
            let has_fromlist = fromlist.is_some();
            s.imports.push(Import {
                code: f.qualname.to_string(),
                module: module.clone(),
                level,
                fromlist,
                names: Vec::new(),
                line,
            });
            f.pending_import = Some(s.imports.len() - 1);
            // `import a.b` binds `a`; `import a.b as c` (3.x: IMPORT_FROM/LOAD_ATTR follow);
            // `from a import x` leaves the module for IMPORT_FROM.
            let bound = if has_fromlist {
                module.clone()
            } else {
                module.split('.').next().unwrap_or_default().to_string()
            };
            f.push(Sym::Module(bound));
        }
        ("IMPORT_FROM", _) => {
            let attr = argname.unwrap_or_default();
            let base = f.peek(0);
            if let Some(i) = f.pending_import {
                if let Some(imp) = s.imports.get_mut(i) {
                    imp.names.push(attr.clone());
                }
            }
            match base {
                Sym::Module(m) => f.push(Sym::Module(format!("{m}.{attr}"))),
                _ => f.push(Sym::Unknown),
            }
        }
        ("IMPORT_STAR", _) => {
            f.pop();
        }
        (
            "STORE_NAME" | "STORE_GLOBAL" | "STORE_FAST" | "STORE_DEREF" | "DELETE_NAME"
            | "DELETE_GLOBAL",
            _,
        ) => {
            let n = argname.unwrap_or_default();
            let value = if name.starts_with("DELETE") {
                Sym::Unknown
            } else {
                f.pop()
            };
            let global_write = name.ends_with("_GLOBAL")
                || (matches!(name, "STORE_NAME" | "DELETE_NAME") && f.module_level);
            if global_write {
                s.globals_written.insert(n.clone());
            }
            let _ = is_class_body;
            // Remember names bound to modules or to attribute chains of them, so later uses
            // (`sp = subprocess; sp.run(...)`) resolve.
            match value {
                Sym::Module(m) | Sym::Chain(m, CalleeKind::Attribute) => {
                    if global_write {
                        s.module_aliases.insert(n.clone(), m.clone());
                    }
                    f.aliases.insert(n, m);
                }
                _ => {
                    if global_write {
                        s.module_aliases.remove(&n);
                    }
                    f.aliases.remove(&n);
                }
            }
        }
        ("DELETE_FAST" | "DELETE_DEREF", _) => {}
        ("STORE_ATTR", _) => f.pop_n(2),
        ("DELETE_ATTR", _) => f.pop_n(1),
        ("STORE_SUBSCR", _) => f.pop_n(3),
        ("DELETE_SUBSCR", _) => f.pop_n(2),
        (
            "POP_TOP" | "RETURN_VALUE" | "YIELD_FROM" | "PRINT_EXPR" | "PRINT_ITEM" | "LIST_APPEND"
            | "SET_ADD" | "LIST_EXTEND" | "SET_UPDATE" | "DICT_UPDATE" | "DICT_MERGE" | "END_FOR"
            | "POP_ITER",
            _,
        ) => {
            if name == "END_FOR" && v == (3, 12) {
                f.pop();
            }
            f.pop();
        }
        ("MAP_ADD" | "STORE_SLICE", _) => f.pop_n(if name == "MAP_ADD" { 2 } else { 4 }),
        (_, ArgKind::BinaryOp)
        | (
            "BINARY_SUBSCR" | "COMPARE_OP" | "IS_OP" | "CONTAINS_OP" | "CALL_INTRINSIC_2"
            | "FORMAT_WITH_SPEC" | "BINARY_SLICE",
            _,
        ) => {
            let n = if name == "BINARY_SLICE" { 3 } else { 2 };
            f.pop_n(n);
            f.push(Sym::Unknown);
        }
        _ if name.starts_with("BINARY_") || name.starts_with("INPLACE_") => {
            f.pop_n(2);
            f.push(Sym::Unknown);
        }
        (
            "POP_JUMP_IF_FALSE"
            | "POP_JUMP_IF_TRUE"
            | "POP_JUMP_IF_NONE"
            | "POP_JUMP_IF_NOT_NONE"
            | "POP_JUMP_FORWARD_IF_FALSE"
            | "POP_JUMP_FORWARD_IF_TRUE"
            | "POP_JUMP_BACKWARD_IF_FALSE"
            | "POP_JUMP_BACKWARD_IF_TRUE"
            | "POP_JUMP_FORWARD_IF_NONE"
            | "POP_JUMP_FORWARD_IF_NOT_NONE"
            | "POP_JUMP_BACKWARD_IF_NONE"
            | "POP_JUMP_BACKWARD_IF_NOT_NONE"
            | "JUMP_IF_FALSE_OR_POP"
            | "JUMP_IF_TRUE_OR_POP",
            _,
        ) => {
            f.pop();
        }
        ("BUILD_TUPLE" | "BUILD_LIST" | "BUILD_SET" | "BUILD_STRING" | "BUILD_SLICE", _) => {
            f.pop_n(arg);
            f.push(Sym::Unknown);
        }
        ("BUILD_MAP", _) => {
            if v >= (3, 5) {
                f.pop_n(arg.saturating_mul(2));
            }
            f.push(Sym::Unknown);
        }
        ("BUILD_CONST_KEY_MAP", _) => {
            f.pop_n(arg.saturating_add(1));
            f.push(Sym::Unknown);
        }
        ("FORMAT_VALUE", _) => {
            f.pop_n(if arg & 4 != 0 { 2 } else { 1 });
            f.push(Sym::Unknown);
        }
        ("UNPACK_SEQUENCE", _) => {
            f.pop();
            for _ in 0..arg.min(4096) {
                f.push(Sym::Unknown);
            }
        }
        ("UNPACK_EX", _) => {
            f.pop();
            for _ in 0..((arg & 0xFF) + (arg >> 8) + 1).min(4096) {
                f.push(Sym::Unknown);
            }
        }
        ("ROT_TWO" | "ROT_THREE" | "ROT_FOUR" | "SWAP", _) => {
            let n = match name {
                "ROT_TWO" => 2,
                "ROT_THREE" => 3,
                "ROT_FOUR" => 4,
                _ => arg as usize,
            };
            let len = f.stack.len();
            if n >= 2 && len >= n {
                if name == "SWAP" {
                    f.stack.swap(len - 1, len - n);
                } else {
                    let top = f.stack.pop().unwrap_or(Sym::Unknown);
                    f.stack.insert(len - n, top);
                }
            } else {
                f.reset();
            }
        }
        ("MAKE_FUNCTION" | "MAKE_CLOSURE", _) => {
            let pops = if v >= (3, 13) {
                1
            } else if v >= (3, 11) {
                1 + (arg & 0xF).count_ones()
            } else if v >= (3, 6) {
                2 + (arg & 0xF).count_ones()
            } else {
                // ≤ 3.5: defaults, kw-defaults pairs, annotations, (3.x) qualname, closure.
                let mut n = 1 + (arg & 0xFF) + 2 * ((arg >> 8) & 0xFF) + ((arg >> 16) & 0x7FFF);
                if v.0 == 3 {
                    n += 1;
                }
                if name == "MAKE_CLOSURE" {
                    n += 1;
                }
                n
            };
            f.pop_n(pops);
            f.push(Sym::Unknown);
        }
        ("SET_FUNCTION_ATTRIBUTE", _) => {
            let func = f.pop();
            f.pop();
            f.push(func);
        }
        ("FOR_ITER", _) => f.push(Sym::Unknown),
        ("YIELD_VALUE" | "SEND" | "GET_ANEXT" | "GET_AITER", _) => {
            if name != "GET_ANEXT" {
                f.pop();
            }
            f.push(Sym::Unknown);
        }
        ("RETURN_CONST", _) => {}
        ("EXEC_STMT", _) => {
            s.dynamic.push(Dynamic {
                code: f.qualname.to_string(),
                kind: DynamicKind::Exec,
                callee: "exec".into(),
                target: None,
                line,
            });
            f.pop_n(3);
        }
        _ if is_call(name) => call(code, v, ins, line, f, s),
        _ => f.reset(),
    }
}

fn is_call(name: &str) -> bool {
    matches!(
        name,
        "CALL_FUNCTION"
            | "CALL_FUNCTION_VAR"
            | "CALL_FUNCTION_KW"
            | "CALL_FUNCTION_VAR_KW"
            | "CALL_FUNCTION_EX"
            | "CALL_METHOD"
            | "CALL"
            | "CALL_KW"
    )
}

fn call(
    code: &Code<'_>,
    v: (u8, u8),
    ins: &Instruction<'_, '_>,
    line: Option<i32>,
    f: &mut Frame<'_>,
    s: &mut CodeSummary,
) {
    let name = ins.info.name;
    // Arguments can be anything in hostile code: keep the arithmetic saturating.
    let arg = ins.arg.unwrap_or(0).min(1 << 20);
    // (depth of the callable below the top, items popped, argc, depth of the first argument)
    let (callee_depth, pops, argc): (u32, u32, Option<u32>) = match name {
        "CALL_FUNCTION" | "CALL_FUNCTION_VAR" | "CALL_FUNCTION_KW" | "CALL_FUNCTION_VAR_KW"
            if v < (3, 6) =>
        {
            let extra = match name {
                "CALL_FUNCTION" => 0,
                "CALL_FUNCTION_VAR_KW" => 2,
                _ => 1,
            };
            let n = (arg & 0xFF) + 2 * ((arg >> 8) & 0xFF) + extra;
            (n, n + 1, Some((arg & 0xFF) + ((arg >> 8) & 0xFF)))
        }
        "CALL_FUNCTION" => (arg, arg + 1, Some(arg)),
        "CALL_FUNCTION_KW" => (arg + 1, arg + 2, Some(arg)),
        "CALL_FUNCTION_EX" => {
            let n = 1 + (arg & 1);
            if v >= (3, 14) {
                (3, 4, None)
            } else if v >= (3, 11) {
                // [NULL, callable, args, kwargs?] (3.11-3.12) / [callable, NULL, ...] (3.13).
                (n + u32::from(v >= (3, 13)), n + 2, None)
            } else {
                (n, n + 1, None)
            }
        }
        "CALL" | "CALL_KW" | "CALL_METHOD" => {
            let kw = u32::from(name == "CALL_KW");
            // The two slots below the arguments: [NULL|meth, callable|self] before 3.13
            // (also 3.7-3.10's LOAD_METHOD/CALL_METHOD), [callable, NULL|self] from 3.13.
            let upper = f.peek(arg + kw + 1);
            let lower = f.peek(arg + kw);
            let depth = if v >= (3, 13) || upper != Sym::Null {
                arg + kw + 1
            } else {
                let _ = lower;
                arg + kw
            };
            (depth, arg + kw + 2, Some(arg))
        }
        _ => (0, 1, None),
    };
    let callee_sym = f.peek(callee_depth);
    let callee = chain_of(f, code, &callee_sym);
    let (callee_name, kind) = match &callee {
        Some((c, k)) => (Some(c.clone()), *k),
        None => (None, CalleeKind::Unknown),
    };
    if let Some(cn) = &callee_name {
        if kind != CalleeKind::Local {
            if let Some((_, dk)) = DYNAMIC_CALLEES.iter().find(|(n, _)| n == cn) {
                // Positional arguments sit just above the callable (and the NULL/self slot).
                let first_arg_depth = match name {
                    "CALL" | "CALL_KW" => (arg + u32::from(name == "CALL_KW")).saturating_sub(1),
                    "CALL_METHOD" => arg.saturating_sub(1),
                    _ => callee_depth.saturating_sub(1),
                };
                let arg_at = |i: u32| f.peek(first_arg_depth.saturating_sub(i));
                let is_attr = matches!(
                    dk,
                    DynamicKind::GetAttr | DynamicKind::SetAttr | DynamicKind::DelAttr
                );
                let constant_name = is_attr
                    && argc.is_some_and(|n| n >= 2)
                    && const_str(code, &arg_at(1)).is_some();
                let target = if is_attr && argc.is_some_and(|n| n >= 1) {
                    chain_of(f, code, &arg_at(0)).map(|(c, _)| c)
                } else {
                    None
                };
                if constant_name {
                    // getattr(os, "system") reaches os.system.
                    if let (Some(t), Some(n)) = (&target, const_str(code, &arg_at(1))) {
                        s.attribute_chains.push(AttributeChain {
                            code: f.qualname.to_string(),
                            chain: format!("{t}.{n}"),
                            line,
                        });
                    }
                } else {
                    s.dynamic.push(Dynamic {
                        code: f.qualname.to_string(),
                        kind: *dk,
                        callee: cn.clone(),
                        target,
                        line,
                    });
                }
            }
        }
    }
    s.calls.push(Call {
        code: f.qualname.to_string(),
        callee: callee_name,
        kind,
        argc,
        line,
        offset: ins.offset,
    });
    f.pop_n(pops);
    f.push(Sym::Unknown);
}
