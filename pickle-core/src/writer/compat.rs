//! Python 3 → Python 2 global names for protocols below 3 (`fix_imports`, pickle.md §12.4).

/// The `(module, name)` CPython writes below protocol 3 for the Python 3 global
/// `module.name`: `REVERSE_NAME_MAPPING` first, then `REVERSE_IMPORT_MAPPING` for the module.
pub(crate) fn reverse_name(module: &str, name: &str) -> (String, String) {
    // TODO(pwriter): use the reader's `_compat_pickle` tables once they are exported.
    match module {
        "builtins" => ("__builtin__".to_string(), name.to_string()),
        "copyreg" => ("copy_reg".to_string(), name.to_string()),
        _ => (module.to_string(), name.to_string()),
    }
}
