//! Functions and closure cells as the extended pickle formats rebuild them, generic over the
//! value type of the layer that supplies them (the pickle object graph, for instance).

use crate::code::Code;

/// A closure cell: `types.CellType`. An empty cell has no contents.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Cell<V> {
    /// The value, `None` for an empty cell.
    pub contents: Option<V>,
}

impl<V> Cell<V> {
    /// A cell holding `value`.
    pub fn new(value: V) -> Cell<V> {
        Cell {
            contents: Some(value),
        }
    }

    /// An empty cell (reading it raises `NameError`/`ValueError` in Python).
    pub fn empty() -> Cell<V> {
        Cell { contents: None }
    }

    /// Whether the cell is empty.
    pub fn is_empty(&self) -> bool {
        self.contents.is_none()
    }
}

/// A Python function: a code object plus what `types.FunctionType` carries. `V` is the value
/// type for everything that is not code (globals, defaults, annotations, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Function<'a, V> {
    /// `__code__`.
    pub code: Code<'a>,
    /// `__globals__` (the values a serializer shipped; often a subset).
    pub globals: Option<V>,
    /// `__name__`.
    pub name: Option<String>,
    /// `__qualname__`.
    pub qualname: Option<String>,
    /// `__module__`.
    pub module: Option<String>,
    /// `__defaults__`.
    pub defaults: Vec<V>,
    /// `__kwdefaults__`, in insertion order.
    pub kwdefaults: Vec<(String, V)>,
    /// `__closure__`: one cell per `co_freevars` entry.
    pub closure: Vec<Cell<V>>,
    /// `__annotations__`, in insertion order.
    pub annotations: Vec<(String, V)>,
    /// `__doc__`.
    pub doc: Option<V>,
    /// `__dict__` (extra attributes), in insertion order.
    pub dict: Vec<(String, V)>,
}

impl<'a, V> Function<'a, V> {
    /// A function with only its code; `name`/`qualname` taken from the code object.
    pub fn new(code: Code<'a>) -> Function<'a, V> {
        let name = Some(code.name.to_string_lossy());
        let qualname = code
            .qualname
            .map(|q| q.to_string_lossy())
            .or_else(|| name.clone());
        Function {
            code,
            globals: None,
            name,
            qualname,
            module: None,
            defaults: Vec::new(),
            kwdefaults: Vec::new(),
            closure: Vec::new(),
            annotations: Vec::new(),
            doc: None,
            dict: Vec::new(),
        }
    }

    /// The closure cells paired with the free-variable names they bind, in order. When the
    /// counts differ (a malformed pickle), the extra names or cells are left out; see
    /// [`Function::closure_matches_code`].
    pub fn captured(&self) -> impl Iterator<Item = (String, &Cell<V>)> + '_ {
        self.code
            .freevars
            .iter()
            .map(|n| n.to_string_lossy())
            .zip(self.closure.iter())
    }

    /// Whether there is exactly one cell per free variable, as CPython requires when it builds
    /// the function.
    pub fn closure_matches_code(&self) -> bool {
        self.closure.len() == self.code.freevars.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opcodes::OpcodeTable;
    use brine_marshal::PyStr;

    #[test]
    fn captured_pairs_cells_with_freevars() {
        let table = OpcodeTable::for_version(3, 10).unwrap();
        let mut code = Code::empty(table, &[]);
        code.name = PyStr::new(b"inner", true);
        code.freevars = vec![PyStr::new(b"cmd", true), PyStr::new(b"n", true)];
        let mut f: Function<'_, i32> = Function::new(code);
        assert_eq!(f.qualname.as_deref(), Some("inner"));
        f.closure = vec![Cell::new(1)];
        assert!(!f.closure_matches_code());
        f.closure.push(Cell::empty());
        assert!(f.closure_matches_code());
        let got: Vec<(String, bool)> = f.captured().map(|(n, c)| (n, c.is_empty())).collect();
        assert_eq!(got, [("cmd".to_string(), false), ("n".to_string(), true)]);
    }
}
