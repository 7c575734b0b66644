//! `brine show`'s readable rendering: for plain data without sharing it is CPython's own
//! `repr()` of the loaded object when dict and set orders agree, and shared or symbolic nodes
//! are labelled as documented.

mod pickle_support;

use brine_pickle_core::{loads_with, LoadOptions, Py2Encoding};
use brine_pickle_ext::json::pickle::{graph_to_json, view_to_python, ViewOptions};
use pickle_support::*;

fn show(case_stem: &str) -> String {
    let data = std::fs::read(pickle_dir().join(format!("{case_stem}.pickle"))).unwrap();
    let opts = LoadOptions {
        encoding: Py2Encoding::Bytes,
        ..LoadOptions::default()
    };
    let g = loads_with(&data, &opts).unwrap();
    view_to_python(&graph_to_json(&g, g.root(), &ViewOptions::default()).unwrap())
}

#[test]
fn readable_rendering_of_fixtures() {
    // repr() of the corpus objects, as CPython prints them.
    assert_eq!(show("tuple_2/3.13.c.p2"), "(1, 'two')");
    assert_eq!(show("bools_none/3.13.c.p0"), "[True, False, None, True]");
    assert_eq!(show("bytes_small/3.13.c.p1"), "b'\\x00\\x01abc\\xff'");
    assert_eq!(
        show("bytearray_small/3.13.c.p2"),
        "bytearray(b'ab\\xff\\x00')"
    );
    assert_eq!(show("frozenset_small/3.13.c.p4"), "frozenset({1, 2, 3})");
    assert_eq!(show("complex/3.13.c.p2"), "complex(1.0, 2.0)");
    assert_eq!(show("str_latin1/3.13.c.p4"), "'café ÿ'");
    // Shared and recursive nodes are labelled.
    assert_eq!(show("recursive_list/3.13.c.p4"), "#0=[#0]");
    assert_eq!(show("recursive_tuple_2/3.13.c.p2"), "#0=([#0], 1)");
    assert_eq!(
        show("shared/3.13.c.p4"),
        "['shared', 'shared', #1=[1, 2], #1, #2=('t', 1), #2, (#1,), {'k': #1}, b'bb', b'bb']"
    );
    // Symbolic objects read as calls.
    assert_eq!(
        show("sym_ordereddict/3.13.c.p4"),
        "collections.OrderedDict().update({'a': 1, 'b': [2]})"
    );
    assert_eq!(
        show("sym_instance/3.13.c.p2"),
        "brine_fixture.Point.__new__(brine_fixture.Point).__setstate__({'x': 1, 'y': 'y'})"
    );
    assert_eq!(
        show("sym_instance/2.7.c.p0"),
        "copyreg._reconstructor(brine_fixture.Point, builtins.object, None).__setstate__({b'y': 'y', b'x': 1})"
    );
    // Long containers break into indented lines.
    let long = show("list_999/3.13.c.p1");
    assert!(long.starts_with("[\n    0,\n    1,\n"), "{}", &long[..40]);
    assert!(long.ends_with("    998,\n]"));
}

/// For plain data the rendering is Python's `repr()`: compared with the reader's `repr_node`
/// (itself checked against live CPython `repr()` in pickle-core's tests) on every fixture whose
/// rendering is one line, has no shared nodes, sets or symbolic objects.
#[test]
fn readable_rendering_is_python_repr_for_plain_data() {
    let mut compared = 0;
    let mut failures = Vec::new();
    for s in unique_streams() {
        if s.kind != "plain" {
            continue;
        }
        let opts = LoadOptions {
            encoding: Py2Encoding::Bytes,
            ..LoadOptions::default()
        };
        let g = loads_with(&s.bytes(), &opts).unwrap();
        let Ok(view) = graph_to_json(&g, g.root(), &ViewOptions::default()) else {
            continue;
        };
        let ours = view_to_python(&view);
        let repr = brine_pickle_core::pyrepr::repr_node(&g, g.root(), 1000);
        let text = view.to_text(None);
        if ours.contains('\n')
            || ours.contains('#')
            || repr.contains('<')
            || text.contains("\"set\"")
            || text.contains("\"frozenset\"")
            || text.contains("\"complex\"")
        {
            continue;
        }
        compared += 1;
        if ours != repr {
            failures.push(format!("{}: ours {ours} / repr {repr}", s.label()));
        }
    }
    println!("rendering == repr on {compared} streams");
    assert!(compared > 200, "too few compared: {compared}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
