//! The one table of module paths and helper names the recognisers know (spec §1, §3.6, §4.6, §5).
//!
//! Every global of a stream goes through [`classify`] once; nothing else in the crate matches
//! module or helper names by string. A module path is first mapped to a [`Family`] and a
//! [`Vendor`] (who shipped the copy: PyPI, PySpark, Ray, joblib, ...), then the name is looked up
//! among that family's helpers.

use crate::model::{Family, Vendor};

/// How a module path is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pattern {
    /// The whole path.
    Exact(&'static str),
    /// The last dotted component (any prefix, which becomes the namespace).
    Last(&'static str),
    /// The path ends with these components (any prefix).
    Suffix(&'static str),
}

/// Module-path rules, first match wins.
const MODULE_RULES: &[(Pattern, Family)] = &[
    (Pattern::Exact("pyspark.cloudpickle"), Family::Cloudpickle),
    (Pattern::Last("cloudpickle"), Family::Cloudpickle),
    (Pattern::Last("cloudpickle_fast"), Family::Cloudpickle),
    (
        Pattern::Suffix("loky.cloudpickle_wrapper"),
        Family::LokyWrapper,
    ),
    (Pattern::Exact("dill.dill"), Family::Dill),
    (Pattern::Exact("dill._dill"), Family::Dill),
    (Pattern::Exact("dill._shims"), Family::Dill),
    (Pattern::Exact("dill"), Family::Dill),
    (Pattern::Exact("extpickle.extpickle"), Family::Extpickle),
    (Pattern::Exact("extpickle"), Family::Extpickle),
];

/// Vendored copies, by the namespace (module prefix) in front of the producer's own modules.
const VENDORS: &[(&str, Vendor)] = &[
    ("", Vendor::Upstream),
    ("pyspark", Vendor::PySpark),
    ("ray", Vendor::Ray),
    ("joblib.externals", Vendor::Joblib),
    ("joblib.externals.loky", Vendor::Joblib),
    ("loky", Vendor::Loky),
    ("srsly", Vendor::Srsly),
    ("odps.lib", Vendor::PyOdps),
];

/// A helper (or stdlib callable) the recognisers give meaning to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Helper {
    // ---- cloudpickle
    /// `_builtin_type(name)`: a type from the `types` module (`'ClassType'` means `type`).
    BuiltinType,
    /// `_make_function(code, base_globals, name, defaults, closure)` (2.1+).
    MakeFunction,
    /// `_function_setstate(func, (dict, slotstate))` (setter, 1.2+).
    FunctionSetstate,
    /// `_class_setstate(cls, (dict, slotstate))` (setter, 1.2+).
    ClassSetstate,
    /// `_make_skeleton_class(metaclass, name, bases, type_kwargs, tracker_id, extra)`.
    MakeSkeletonClass,
    /// `_make_skeleton_enum(bases, name, qualname, members, module, tracker_id, extra)`.
    MakeSkeletonEnum,
    /// `_make_cell(value)` (1.5+).
    MakeCell,
    /// `_make_empty_cell()`.
    MakeEmptyCell,
    /// `_make_skel_func(code, cell_count_or_values, base_globals)` (≤ 1.4).
    MakeSkelFunc,
    /// `_fill_function(skel, ...)` (≤ 1.4; 2, 4, 5 or 6 arguments by era).
    FillFunction,
    /// `_rehydrate_skeleton_class(skeleton, clsdict)` (≤ 1.4).
    RehydrateSkeletonClass,
    /// `subimport(name)`: a module by import.
    Subimport,
    /// `dynamic_subimport(name, vars)`: a module rebuilt from its namespace.
    DynamicSubimport,
    /// `_make_typevar(name, bound, constraints, covariant, contravariant, tracker_id)`.
    MakeTypevar,
    /// `_empty_cell_value` (a global sentinel: an empty cell in `closure_values`).
    EmptyCellValue,
    /// Other cloudpickle helpers, kept as opaque calls (`_make_dict_keys`, `_gen_ellipsis`, ...).
    CloudpickleOther,
    // ---- dill
    /// `_create_function(code, globals, name, defaults, closure[, fdict[, fkwdefaults]])`.
    CreateFunction,
    /// `_create_code(args...)` (0.3.2+).
    CreateCode,
    /// `_load_type(name)`: a builtins/`types` type by name.
    LoadType,
    /// `_create_cell(value)`.
    CreateCell,
    /// `_create_type(metaclass, name, bases, dict)`.
    CreateType,
    /// `_create_namedtuple(name, fields, module[, defaults])`.
    CreateNamedtuple,
    /// `_import_module(name[, safe])`.
    ImportModuleDill,
    /// `_eval_repr(text)`: a singleton by repr (never evaluated).
    EvalRepr,
    /// The `dill._dill` module object (postprocessing `getattr(_dill, '_setattr', setattr)`).
    DillModule,
    /// Other dill helpers, kept as opaque calls.
    DillOther,
    // ---- extpickle
    /// `makeFuncCell(value)`.
    MakeFuncCell,
    /// `getModuleDict(modname)`: the globals of an importable module, by reference.
    GetModuleDict,
    /// Other extpickle helpers (`make_buffer`, numpy arrays), kept as opaque calls.
    ExtpickleOther,
    // ---- loky (joblib)
    /// `_reconstruct_wrapper(pickled_bytes, keep_wrapper)`: a nested pickle.
    ReconstructWrapper,
    // ---- stdlib
    /// `types.FunctionType` / `types.LambdaType`.
    FunctionType,
    /// `types.CodeType`.
    CodeType,
    /// `types.CellType`.
    CellType,
    /// `types.ModuleType`.
    ModuleType,
    /// `types.new_class(name, bases, kwds, exec_body)`.
    NewClass,
    /// `marshal.loads(bytes)`: a code object (or any marshal value).
    MarshalLoads,
    /// `importlib.import_module(name)`.
    ImportModule,
    /// `_codecs.encode(text, 'latin1')`: how protocol ≤ 2 writes bytes from Python 3.
    CodecsEncode,
    /// `builtins.bytes` (`bytes()` is `b''` at protocol ≤ 2).
    Bytes,
    /// `builtins.getattr`.
    Getattr,
    /// `builtins.setattr`.
    Setattr,
    /// `builtins.delattr`.
    Delattr,
    /// `builtins.type` (also the metaclass of most dynamic classes).
    Type,
    /// `builtins.classmethod`.
    ClassMethod,
    /// `builtins.staticmethod`.
    StaticMethod,
    /// `builtins.property`.
    Property,
    /// `pickle.loads` / `_pickle.loads` (and `cloudpickle.loads`, `dill.loads`): a nested pickle.
    PickleLoads,
    /// `typing.TypeVar`.
    TypeVar,
}

/// Helper names per family. `(family, name, helper)`.
const HELPERS: &[(Family, &str, Helper)] = &[
    (Family::Cloudpickle, "_builtin_type", Helper::BuiltinType),
    (Family::Cloudpickle, "_make_function", Helper::MakeFunction),
    (
        Family::Cloudpickle,
        "_function_setstate",
        Helper::FunctionSetstate,
    ),
    (
        Family::Cloudpickle,
        "_class_setstate",
        Helper::ClassSetstate,
    ),
    (
        Family::Cloudpickle,
        "_make_skeleton_class",
        Helper::MakeSkeletonClass,
    ),
    (
        Family::Cloudpickle,
        "_make_skeleton_enum",
        Helper::MakeSkeletonEnum,
    ),
    (Family::Cloudpickle, "_make_cell", Helper::MakeCell),
    (
        Family::Cloudpickle,
        "_make_empty_cell",
        Helper::MakeEmptyCell,
    ),
    (Family::Cloudpickle, "_make_skel_func", Helper::MakeSkelFunc),
    (Family::Cloudpickle, "_fill_function", Helper::FillFunction),
    (
        Family::Cloudpickle,
        "_rehydrate_skeleton_class",
        Helper::RehydrateSkeletonClass,
    ),
    (Family::Cloudpickle, "subimport", Helper::Subimport),
    (
        Family::Cloudpickle,
        "dynamic_subimport",
        Helper::DynamicSubimport,
    ),
    (Family::Cloudpickle, "_make_typevar", Helper::MakeTypevar),
    (
        Family::Cloudpickle,
        "_empty_cell_value",
        Helper::EmptyCellValue,
    ),
    (Family::Cloudpickle, "cell_set", Helper::CloudpickleOther),
    (
        Family::Cloudpickle,
        "_make_dict_keys",
        Helper::CloudpickleOther,
    ),
    (
        Family::Cloudpickle,
        "_make_dict_values",
        Helper::CloudpickleOther,
    ),
    (
        Family::Cloudpickle,
        "_make_dict_items",
        Helper::CloudpickleOther,
    ),
    (
        Family::Cloudpickle,
        "_file_reconstructor",
        Helper::CloudpickleOther,
    ),
    (
        Family::Cloudpickle,
        "_get_dataclass_field_type_sentinel",
        Helper::CloudpickleOther,
    ),
    (
        Family::Cloudpickle,
        "_create_parametrized_type_hint",
        Helper::CloudpickleOther,
    ),
    (
        Family::Cloudpickle,
        "_gen_ellipsis",
        Helper::CloudpickleOther,
    ),
    (
        Family::Cloudpickle,
        "_gen_not_implemented",
        Helper::CloudpickleOther,
    ),
    (
        Family::Cloudpickle,
        "_restore_attr",
        Helper::CloudpickleOther,
    ),
    (
        Family::Cloudpickle,
        "_load_namedtuple",
        Helper::CloudpickleOther,
    ),
    (Family::Cloudpickle, "_getobject", Helper::CloudpickleOther),
    (Family::Cloudpickle, "instance", Helper::CloudpickleOther),
    (
        Family::Cloudpickle,
        "_rebuild_tornado_coroutine",
        Helper::CloudpickleOther,
    ),
    (
        Family::Cloudpickle,
        "_make__new__factory",
        Helper::CloudpickleOther,
    ),
    (
        Family::Cloudpickle,
        "_get_dict_new",
        Helper::CloudpickleOther,
    ),
    (
        Family::Cloudpickle,
        "_get_tuple_new",
        Helper::CloudpickleOther,
    ),
    (
        Family::Cloudpickle,
        "_modules_to_main",
        Helper::CloudpickleOther,
    ),
    (Family::Dill, "_create_function", Helper::CreateFunction),
    (Family::Dill, "_create_code", Helper::CreateCode),
    (Family::Dill, "_load_type", Helper::LoadType),
    (Family::Dill, "_create_cell", Helper::CreateCell),
    (Family::Dill, "_create_type", Helper::CreateType),
    (Family::Dill, "_create_namedtuple", Helper::CreateNamedtuple),
    (Family::Dill, "_import_module", Helper::ImportModuleDill),
    (Family::Dill, "_eval_repr", Helper::EvalRepr),
    (Family::Dill, "_dill", Helper::DillModule),
    (Family::Dill, "loads", Helper::PickleLoads),
    (Family::Dill, "_get_attr", Helper::DillOther),
    (Family::Dill, "_getattr", Helper::DillOther),
    (Family::Dill, "_create_ftype", Helper::DillOther),
    (Family::Dill, "_create_lock", Helper::DillOther),
    (Family::Dill, "_create_rlock", Helper::DillOther),
    (Family::Dill, "_create_filehandle", Helper::DillOther),
    (Family::Dill, "_create_stringi", Helper::DillOther),
    (Family::Dill, "_create_stringo", Helper::DillOther),
    (Family::Dill, "_create_weakref", Helper::DillOther),
    (Family::Dill, "_create_weakproxy", Helper::DillOther),
    (Family::Dill, "_create_array", Helper::DillOther),
    (Family::Dill, "_create_dtypemeta", Helper::DillOther),
    (Family::Dill, "_create_capsule", Helper::DillOther),
    (Family::Dill, "_create_typing_tuple", Helper::DillOther),
    (Family::Dill, "_create_thread_handle", Helper::DillOther),
    (Family::Dill, "_unmarshal", Helper::DillOther),
    (Family::Dill, "_setitems", Helper::DillOther),
    (Family::Dill, "_setattr", Helper::Setattr),
    (Family::Dill, "_delattr", Helper::Delattr),
    (Family::Extpickle, "makeFuncCell", Helper::MakeFuncCell),
    (Family::Extpickle, "getModuleDict", Helper::GetModuleDict),
    (Family::Extpickle, "make_buffer", Helper::ExtpickleOther),
    (
        Family::Extpickle,
        "make_numpy_ndarray_fromstring",
        Helper::ExtpickleOther,
    ),
    (
        Family::LokyWrapper,
        "_reconstruct_wrapper",
        Helper::ReconstructWrapper,
    ),
];

/// Standard-library callables, by `(module, name)` after `_compat_pickle` normalisation.
const STDLIB: &[(&str, &str, Helper)] = &[
    ("types", "FunctionType", Helper::FunctionType),
    ("types", "LambdaType", Helper::FunctionType),
    ("types", "CodeType", Helper::CodeType),
    ("types", "CellType", Helper::CellType),
    ("types", "ModuleType", Helper::ModuleType),
    ("types", "new_class", Helper::NewClass),
    ("marshal", "loads", Helper::MarshalLoads),
    ("importlib", "import_module", Helper::ImportModule),
    ("_codecs", "encode", Helper::CodecsEncode),
    ("codecs", "encode", Helper::CodecsEncode),
    ("builtins", "bytes", Helper::Bytes),
    ("builtins", "getattr", Helper::Getattr),
    ("builtins", "setattr", Helper::Setattr),
    ("builtins", "delattr", Helper::Delattr),
    ("builtins", "type", Helper::Type),
    ("builtins", "classmethod", Helper::ClassMethod),
    ("builtins", "staticmethod", Helper::StaticMethod),
    ("builtins", "property", Helper::Property),
    ("pickle", "loads", Helper::PickleLoads),
    ("_pickle", "loads", Helper::PickleLoads),
    ("cloudpickle", "loads", Helper::PickleLoads),
    ("typing", "TypeVar", Helper::TypeVar),
];

/// What a global names, once classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    /// The helper.
    pub helper: Helper,
    /// Which producer family defines it ([`Family::Stdlib`] for standard-library callables).
    pub family: Family,
    /// Who shipped the producer's copy.
    pub vendor: Vendor,
    /// The module path in front of the producer's own module (`"pyspark"`, `"joblib.externals"`,
    /// `""` for upstream); a writer must echo it.
    pub namespace: String,
    /// The module path as normalised (dill's `dill.dill` becomes `dill._dill`).
    pub module: String,
}

/// Maps `(module, name)` (after `_compat_pickle`) to a known helper, or `None`.
pub fn classify(module: &str, name: &str) -> Option<Known> {
    if let Some(&(_, _, helper)) = STDLIB.iter().find(|(m, n, _)| *m == module && *n == name) {
        return Some(Known {
            helper,
            family: Family::Stdlib,
            vendor: Vendor::Upstream,
            namespace: String::new(),
            module: module.to_string(),
        });
    }
    // `dill _dill` is the module object itself (GLOBAL 'dill _dill').
    let (family, namespace) = module_family(module)?;
    let helper = HELPERS
        .iter()
        .find(|(f, n, _)| *f == family && *n == name)
        .map(|&(_, _, h)| h)?;
    let vendor = vendor_of(&namespace);
    let module = if module == "dill.dill" {
        "dill._dill".to_string()
    } else {
        module.to_string()
    };
    Some(Known {
        helper,
        family,
        vendor,
        namespace,
        module,
    })
}

/// The family of a module path and the namespace in front of it.
pub fn module_family(module: &str) -> Option<(Family, String)> {
    for &(pattern, family) in MODULE_RULES {
        match pattern {
            Pattern::Exact(p) if module == p => {
                let ns = p.rsplit_once('.').map(|(a, _)| a).unwrap_or("");
                // The namespace of `pyspark.cloudpickle` is `pyspark`; of `dill._dill`, "".
                let ns = if family == Family::Cloudpickle {
                    ns
                } else {
                    ""
                };
                return Some((family, ns.to_string()));
            }
            Pattern::Last(last) => {
                let (prefix, tail) = module.rsplit_once('.').unwrap_or(("", module));
                if tail == last {
                    // `cloudpickle.cloudpickle` -> namespace ""; `ray.cloudpickle.cloudpickle` -> "ray".
                    let ns = prefix
                        .strip_suffix("cloudpickle")
                        .map(|p| p.trim_end_matches('.'))
                        .unwrap_or(prefix);
                    return Some((family, ns.to_string()));
                }
            }
            Pattern::Suffix(suffix) => {
                if module == suffix {
                    return Some((family, String::new()));
                }
                if let Some(prefix) = module.strip_suffix(suffix) {
                    if let Some(prefix) = prefix.strip_suffix('.') {
                        return Some((family, prefix.to_string()));
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// The vendor owning a namespace.
pub fn vendor_of(namespace: &str) -> Vendor {
    VENDORS
        .iter()
        .find(|(ns, _)| *ns == namespace)
        .map(|&(_, v)| v)
        .unwrap_or(Vendor::Other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_paths_of_every_known_copy() {
        let cases = [
            ("cloudpickle.cloudpickle", Family::Cloudpickle, ""),
            ("cloudpickle.cloudpickle_fast", Family::Cloudpickle, ""),
            ("pyspark.cloudpickle", Family::Cloudpickle, "pyspark"),
            (
                "pyspark.cloudpickle.cloudpickle_fast",
                Family::Cloudpickle,
                "pyspark",
            ),
            ("ray.cloudpickle.cloudpickle", Family::Cloudpickle, "ray"),
            (
                "joblib.externals.cloudpickle.cloudpickle",
                Family::Cloudpickle,
                "joblib.externals",
            ),
            (
                "srsly.cloudpickle.cloudpickle",
                Family::Cloudpickle,
                "srsly",
            ),
            ("odps.lib.cloudpickle", Family::Cloudpickle, "odps.lib"),
            ("dill.dill", Family::Dill, ""),
            ("dill._dill", Family::Dill, ""),
            ("dill._shims", Family::Dill, ""),
            ("extpickle.extpickle", Family::Extpickle, ""),
            (
                "joblib.externals.loky.cloudpickle_wrapper",
                Family::LokyWrapper,
                "joblib.externals",
            ),
        ];
        for (module, family, ns) in cases {
            assert_eq!(
                module_family(module),
                Some((family, ns.to_string())),
                "{module}"
            );
        }
        assert_eq!(module_family("os.path"), None);
        assert_eq!(module_family("mycloudpickle"), None);
    }

    #[test]
    fn helpers_and_vendors() {
        let k = classify("pyspark.cloudpickle.cloudpickle", "_make_function").unwrap();
        assert_eq!(k.helper, Helper::MakeFunction);
        assert_eq!(k.vendor, Vendor::PySpark);
        let k = classify("dill.dill", "_create_function").unwrap();
        assert_eq!(k.module, "dill._dill");
        assert_eq!(k.family, Family::Dill);
        assert_eq!(
            classify("types", "LambdaType").unwrap().helper,
            Helper::FunctionType
        );
        assert_eq!(classify("cloudpickle.cloudpickle", "no_such_helper"), None);
        assert_eq!(classify("os", "system"), None);
    }
}
