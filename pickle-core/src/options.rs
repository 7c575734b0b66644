//! Options of the loader ([`LoadOptions`]).

use crate::graph::Py2Encoding;
use crate::limits::Limits;

/// Which CPython unpickler's strictness to follow where the C and pure-Python ones differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strictness {
    /// `pickle.loads` (the `_pickle` C accelerator): lenient framing, `strtol` base 0 for
    /// `INT` (`I010` = 8), strict `FLOAT` text, `OverflowError` on `1e500`.
    #[default]
    C,
    /// `pickle._loads` (pure Python): frame boundaries enforced, `int(text, 0)` for `INT`,
    /// `float()` for `FLOAT`.
    Python,
}

/// How the loader treats things a real CPython process would have to supply from outside:
/// modules to import, a `persistent_load` hook, out-of-band buffers, the extension registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Environment {
    /// Symbolic (default): accept every global, persistent id, buffer and extension code and
    /// record it in the graph. This is what an analysis tool wants.
    #[default]
    Symbolic,
    /// Emulate a bare `pickle.loads(data)` in a CPython with only the standard library: no
    /// persistent_load, no buffers, empty extension registry, and globals must name a stdlib
    /// module (and, for `builtins`, an existing name). Used to compare accept/reject verdicts
    /// with CPython.
    BareCPython,
}

/// Options of [`loads_with`](crate::loads_with) and [`Loader`](crate::Loader).
#[derive(Debug, Clone, PartialEq)]
pub struct LoadOptions {
    /// Emulated CPython version `(major, minor)`; affects version-dependent messages and name
    /// tables (`_compat_pickle` lost `Tix` in 3.13). Default (3, 13).
    pub python: (u8, u8),
    /// `encoding=` for Python-2 strings. Default ASCII, as CPython.
    pub encoding: Py2Encoding,
    /// `fix_imports=` (map Python-2 names for protocol < 3). Default true.
    pub fix_imports: bool,
    /// C or pure-Python unpickler behaviour.
    pub strictness: Strictness,
    /// What outside resources exist.
    pub environment: Environment,
    /// Record one [`Step`](crate::graph::Step) per opcode in [`Graph::steps`](crate::Graph).
    pub record_steps: bool,
    /// The extension registry (`copyreg.add_extension`): `(code, module, name)`. Empty by
    /// default, as in CPython. A registered `EXT` code resolves to a `Global` node.
    pub extensions: Vec<(i32, String, String)>,
    /// Resource limits.
    pub limits: Limits,
}

impl Default for LoadOptions {
    fn default() -> LoadOptions {
        LoadOptions {
            python: (3, 13),
            encoding: Py2Encoding::Ascii,
            fix_imports: true,
            strictness: Strictness::C,
            environment: Environment::Symbolic,
            record_steps: false,
            extensions: Vec::new(),
            limits: Limits::default(),
        }
    }
}

impl LoadOptions {
    /// Options emulating `pickle.loads(data)` of CPython `major.minor` with the C unpickler
    /// in a bare interpreter (see [`Environment::BareCPython`]).
    pub fn bare_cpython(major: u8, minor: u8) -> LoadOptions {
        let mut limits = Limits::default();
        if (major, minor) >= (3, 11) {
            // `sys.get_int_max_str_digits()` default since 3.11 (and 3.10.7).
            limits.max_int_digits = Some(4300);
        }
        LoadOptions {
            python: (major, minor),
            environment: Environment::BareCPython,
            limits,
            ..LoadOptions::default()
        }
    }
}
