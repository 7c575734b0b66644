//! `CodeSummary` on hand-picked sources (`tests/data/summary/audit.py`) compiled by every
//! installed CPython (`xtask/py/opcodes_summary_samples.py`): a closure calling `os.system`,
//! a function importing `subprocess` locally, `getattr(__builtins__, name)`, comprehension
//! scopes, `from ... import ... as`, `exec`/`eval`.

use brine_codeobj::summary::{CalleeKind, CodeSummary, DynamicKind};
use brine_codeobj::{Code, FromMarshalOptions};
use brine_marshal::{read, PyVersion, ReadOptions};
use rstest::rstest;

fn summary_of(ver: &str, check: impl FnOnce(&Code<'_>, &CodeSummary)) {
    let path = format!(
        "{}/tests/data/summary/audit-{ver}.marshal",
        env!("CARGO_MANIFEST_DIR")
    );
    let data = std::fs::read(&path).expect("sample");
    let version: PyVersion = ver.parse().unwrap();
    let stream = read(&data, &ReadOptions::new(version)).expect("marshal");
    let code = Code::from_stream(&stream, FromMarshalOptions::default()).expect("code");
    let summary = CodeSummary::of(&code).expect("summary");
    check(&code, &summary);
}

#[rstest]
fn audit_sample(
    #[values("2.7", "3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13")] ver: &str,
) {
    summary_of(ver, |code, s| {
        let v = code.version();
        // A closure calling os.system, on line 6.
        let calls: Vec<_> = s.calls_to("os.system").collect();
        assert_eq!(calls.len(), 1, "{ver}: {:?}", s.calls);
        assert_eq!(calls[0].code, "run_closure.<locals>.inner");
        assert_eq!(calls[0].line, Some(6));
        assert_eq!(calls[0].kind, CalleeKind::Attribute);
        let closure = s
            .closures
            .iter()
            .find(|c| c.code == "run_closure.<locals>.inner")
            .expect("closure");
        assert_eq!(closure.enclosing, "run_closure");
        assert_eq!(closure.captures.len(), 1);
        assert_eq!(closure.captures[0].name, "cmd");
        assert!(closure.captures[0].from_enclosing_cell);

        // A local import of subprocess, then subprocess.run on line 12.
        let imp = s
            .imports
            .iter()
            .find(|i| i.module == "subprocess")
            .expect("import");
        assert_eq!(imp.code, "local_import");
        assert_eq!(imp.level, Some(if v.0 == 2 { -1 } else { 0 }));
        assert_eq!(imp.fromlist, None);
        let run: Vec<_> = s.calls_to("subprocess.run").collect();
        assert_eq!(run.len(), 1, "{ver}: {:?}", s.calls);
        assert_eq!(run[0].line, Some(12));
        assert_eq!(run[0].code, "local_import");

        // getattr(__builtins__, name): dynamic, target known, name not.
        let dynamic = s
            .dynamic
            .iter()
            .find(|d| d.kind == DynamicKind::GetAttr)
            .expect("getattr");
        assert_eq!(dynamic.code, "sneaky");
        assert_eq!(dynamic.target.as_deref(), Some("__builtins__"));
        assert_eq!(dynamic.line, Some(16));
        assert!(s.calls_to("getattr").all(|c| c.kind == CalleeKind::Builtin));

        // Comprehension scopes: nested code objects up to 3.11, inlined from 3.12 (PEP 709);
        // generator expressions stay nested.
        let nested: Vec<&str> = s.nested.iter().map(|n| n.qualname.as_str()).collect();
        assert!(
            nested.contains(&"comprehensions.<locals>.<genexpr>"),
            "{nested:?}"
        );
        let listcomp = nested.contains(&"comprehensions.<locals>.<listcomp>");
        let dictcomp_code = if v >= (3, 12) {
            "comprehensions"
        } else {
            "comprehensions.<locals>.<dictcomp>"
        };
        assert_eq!(listcomp, v < (3, 12) && v.0 == 3, "{ver}: {nested:?}");
        if v.0 == 2 {
            // Python 2 list comprehensions run in the function; dict comprehensions nest.
            assert!(nested.contains(&"comprehensions.<locals>.<dictcomp>"));
        }
        let join = s
            .attribute_chains
            .iter()
            .find(|a| a.chain == "os.path.join")
            .expect("os.path.join");
        assert_eq!(join.line, Some(22));
        if v.0 == 3 {
            assert_eq!(join.code, dictcomp_code);
        }

        // from os.path import join as pjoin; pjoin(...) reaches os.path.join.
        let imp = s
            .imports
            .iter()
            .find(|i| i.module == "os.path")
            .expect("from import");
        assert_eq!(imp.fromlist.as_deref(), Some(&["join".to_string()][..]));
        assert_eq!(imp.names, ["join"]);
        let pj: Vec<_> = s.calls_to("os.path.join").collect();
        assert!(
            pj.iter()
                .any(|c| c.code == "use_from" && c.line == Some(31)),
            "{pj:?}"
        );

        // exec / eval.
        let kinds: Vec<DynamicKind> = s
            .dynamic
            .iter()
            .filter(|d| d.code == "evil")
            .map(|d| d.kind)
            .collect();
        assert!(kinds.contains(&DynamicKind::Exec) && kinds.contains(&DynamicKind::Eval));

        // Constants and module-level names.
        if v.0 == 3 {
            assert!(s.bytes.contains(&b"secret".to_vec()));
        } else {
            assert!(s.strings.iter().any(|t| t == "secret"));
        }
        assert!(s.strings.iter().any(|t| t == "1+1"));
        for name in ["os", "pjoin", "TOKEN", "run_closure"] {
            assert!(s.globals_written.contains(name), "{ver}: {name}");
        }
        assert!(s.globals_read.contains("os"));
        assert_eq!(s.malformed_instructions, 0);

        // A call whose argument holds a loop (an inlined comprehension from 3.12) keeps its
        // callee; a callee chosen by a conditional expression is not claimed.
        let sorted: Vec<_> = s.calls_to("sorted").collect();
        assert_eq!(sorted.len(), 1, "{ver}: {:?}", s.calls);
        assert_eq!(sorted[0].code, "after_loops");
        assert_eq!(sorted[0].line, Some(40));
        assert!(s
            .calls
            .iter()
            .any(|c| c.code == "after_loops" && c.line == Some(41) && c.callee.is_none()));
        assert!(s.calls_to("os.popen").next().is_none());
    });
}
