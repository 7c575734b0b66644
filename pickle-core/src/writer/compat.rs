//! Python 3 → Python 2 global names for protocols below 3 (`fix_imports`, pickle.md §12.4),
//! from the crate's one copy of `_compat_pickle`'s tables ([`crate::names_table`]).

use crate::names_table::{REVERSE_IMPORT_MAPPING, REVERSE_NAME_MAPPING};

/// The `(module, name)` CPython writes below protocol 3 for the Python 3 global
/// `module.name`: `REVERSE_NAME_MAPPING` first, then `REVERSE_IMPORT_MAPPING` for the module.
pub(crate) fn reverse_name(module: &str, name: &str) -> (String, String) {
    if let Some((_, (m, n))) = REVERSE_NAME_MAPPING
        .iter()
        .find(|((m, n), _)| *m == module && *n == name)
    {
        return (m.to_string(), n.to_string());
    }
    if let Some((_, m)) = REVERSE_IMPORT_MAPPING.iter().find(|(m, _)| *m == module) {
        return (m.to_string(), name.to_string());
    }
    (module.to_string(), name.to_string())
}

#[cfg(test)]
mod tests {
    use super::reverse_name;

    #[test]
    fn python3_names_map_back_as_cpython_writes_them() {
        let pair = |m: &str, n: &str| (m.to_string(), n.to_string());
        assert_eq!(reverse_name("builtins", "set"), pair("__builtin__", "set"));
        assert_eq!(
            reverse_name("builtins", "range"),
            pair("__builtin__", "xrange")
        );
        assert_eq!(
            reverse_name("copyreg", "_reconstructor"),
            pair("copy_reg", "_reconstructor")
        );
        assert_eq!(
            reverse_name("collections", "OrderedDict"),
            pair("collections", "OrderedDict")
        );
    }
}
