//! The JSON views take every nesting the marshal reader accepts (CPython's limit, 2000
//! levels), on a thread with a small stack: the views are built, printed, parsed, compared,
//! cloned and dropped without recursion.

use brine_marshal::{read, PyVersion, Pyc, ReadOptions};
use brine_pickle_ext::json::pyc::{pyc_to_json, value_to_json};
use brine_pickle_ext::json::Json;

/// Runs `f` on a thread with a 2 MiB stack (a debug build's recursion would overflow it).
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("no stack overflow");
}

/// Checks everything a caller does with a view: both text styles parse back to an equal
/// tree, a clone is equal, and `first_difference` agrees.
fn exercise(view: &Json) {
    for indent in [None, Some(1)] {
        let text = view.to_text(indent);
        let back = Json::parse(&text).expect("the text parses back");
        assert!(back == *view);
        assert_eq!(back.first_difference(view), None);
        assert_eq!(back.to_text(indent), text);
    }
    let copy = view.clone();
    assert!(copy == *view);
}

#[test]
fn a_value_nested_1999_deep_gets_a_view() {
    on_small_stack(|| {
        // 1999 one-item tuples around None: 2000 levels, the deepest marshal reads.
        let mut bytes = b")\x01".repeat(1999);
        bytes.push(b'N');
        let options = ReadOptions::new(PyVersion::new(3, 12));
        let stream = read(&bytes, &options).expect("marshal's limit");
        let view = value_to_json(&stream, stream.root()).expect("the view's limit is marshal's");
        let text = view.to_text(None);
        assert_eq!(
            text,
            r#"{"tuple":["#.repeat(1999) + "null" + &"]}".repeat(1999)
        );
        exercise(&view);
        // One level more is refused by the reader itself.
        let mut deeper = b")\x01".repeat(2000);
        deeper.push(b'N');
        assert!(read(&deeper, &options).is_err());
    });
}

#[test]
fn a_pyc_with_constants_nested_to_marshals_limit_gets_a_view() {
    let path = brine_tests::fixtures_dir().join("marshal/3.12/surrogates.pyc");
    let original = std::fs::read(&path).expect("committed fixture");
    // The module's last constant is its only `None` (the byte before the `co_names` tuple);
    // the code object is at depth 1, its constants tuple at 2, so 1997 tuples around that
    // `None` put it at depth 2000.
    let at = original[16..]
        .windows(3)
        .position(|w| w == b"N)\x06")
        .expect("the None constant")
        + 16;
    let nest = |levels: usize| {
        let mut bytes = original[..at].to_vec();
        bytes.extend(b")\x01".repeat(levels));
        bytes.extend_from_slice(&original[at..]);
        bytes
    };
    assert!(
        Pyc::parse(&nest(1998)).is_err(),
        "deeper than marshal's limit"
    );
    let bytes = nest(1997);
    on_small_stack(move || {
        let pyc = Pyc::parse(&bytes).expect("at marshal's limit");
        let view = pyc_to_json(&pyc).expect("the view's limit is marshal's");
        let consts = &view["code"]["co_consts"];
        let Json::Array(items) = consts else {
            panic!("co_consts is an array: {}", consts.to_text(None));
        };
        let mut last = items.last().expect("constants");
        for _ in 0..1997 {
            let Json::Array(inner) = &last["tuple"] else {
                panic!("a one-item tuple");
            };
            last = &inner[0];
        }
        assert!(*last == Json::Null);
        exercise(&view);
    });
}
