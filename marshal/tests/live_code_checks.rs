//! Live, differential: malformed code objects (made by changing one field of a real one) must
//! be accepted by our reader exactly when the interpreter's `marshal.loads` accepts them.
//! Skips (printing a line) when no interpreter is installed.

use brine_marshal::{dumps, read, DumpOptions, Object, PyVersion, ReadOptions, Value};
use std::io::Write;
use std::process::Stdio;

const PY3_SRC: &str =
    "def f(a, b=1, *c, d, **e):\n    def g():\n        return a + d\n    return g\n";
const PY2_SRC: &str = "def f(a, b=1, *c, **e):\n    def g():\n        return a\n    return g\n";

type Mutation = (&'static str, fn(&mut brine_marshal::CodeBuilder, PyVersion));

fn mutations() -> Vec<Mutation> {
    vec![
        ("unchanged", |_, _| {}),
        ("argcount -1", |c, _| c.argcount = -1),
        ("kwonlyargcount -1", |c, _| c.kwonlyargcount = -1),
        ("posonlyargcount -1", |c, _| c.posonlyargcount = -1),
        ("posonly > argcount", |c, _| {
            c.posonlyargcount = c.argcount + 1
        }),
        ("nlocals -1", |c, _| c.nlocals = -1),
        ("stacksize -1", |c, _| c.stacksize = -1),
        ("flags negative", |c, _| c.flags |= i32::MIN),
        ("odd co_code", |c, _| c.code.push(0)),
        ("empty co_code", |c, _| c.code.clear()),
        ("int in co_names", |c, _| c.names.push(Object::int(1))),
        ("int in varnames", |c, v| {
            if v.at_least(3, 11) {
                c.localsplusnames.push(Object::int(1));
                c.localspluskinds.push(0x20);
            } else {
                c.varnames.push(Object::int(1));
            }
        }),
        ("int in freevars", |c, _| c.freevars.push(Object::int(1))),
        ("filename int", |c, _| {
            c.filename = Some(Box::new(Object::int(1)))
        }),
        ("filename other string type", |c, v| {
            c.filename = Some(Box::new(if v.is_py2() {
                Object::str("f.py")
            } else {
                Object::bytes(b"f.py")
            }))
        }),
        ("name None", |c, _| c.name = Some(Box::new(Object::None))),
        ("qualname bytes", |c, _| {
            c.qualname = Some(Box::new(Object::bytes(b"q")))
        }),
        ("kinds too short", |c, _| {
            c.localspluskinds.pop();
        }),
        ("argcount 50", |c, _| c.argcount = 50),
        ("nlocals 0", |c, _| c.nlocals = 0),
    ]
}

fn loads_ok(interp: &brine_tests::Interpreter, data: &[u8]) -> bool {
    let mut child = interp
        .command()
        .arg("-c")
        .arg("import marshal, sys; marshal.loads(getattr(sys.stdin, 'buffer', sys.stdin).read())")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(data).unwrap();
    child.wait().unwrap().success()
}

#[test]
fn code_checks_agree_with_each_interpreter() {
    let interps = brine_tests::interpreters();
    if interps.is_empty() {
        brine_tests::skip_live(
            "code_checks_agree_with_each_interpreter",
            "no CPython interpreter found",
        );
        return;
    }
    let mut disagreements = Vec::new();
    for interp in &interps {
        let v = PyVersion::new(interp.version.0, interp.version.1);
        let src = if v.is_py2() { PY2_SRC } else { PY3_SRC };
        let out = interp
            .command()
            .arg("-c")
            .arg(format!(
                "import marshal, sys; getattr(sys.stdout, 'buffer', sys.stdout).write(marshal.dumps(compile({src:?}, 'f.py', 'exec')))"
            ))
            .output()
            .unwrap();
        let module = read(&out.stdout, &ReadOptions::new(v)).unwrap();
        let root = Object::from_stream(&module, module.root(), 1_000_000).unwrap();
        let Object::Code(module_code) = root else {
            panic!("module is a code object")
        };
        let Some(Object::Code(f)) = module_code
            .consts
            .iter()
            .find(|c| matches!(c, Object::Code(_)))
            .cloned()
        else {
            panic!("function code in the module constants")
        };
        let mut checked = 0;
        for (what, mutate) in mutations() {
            let mut f2 = f.clone();
            mutate(&mut f2, v);
            if *f2 == *f && what != "unchanged" {
                continue; // the field does not exist in this version
            }
            let data = dumps(&Object::Code(f2), &DumpOptions::new(v)).unwrap();
            let ours = read(&data, &ReadOptions::new(v));
            let theirs = loads_ok(interp, &data);
            checked += 1;
            if ours.is_ok() != theirs {
                disagreements.push(format!(
                    "{} {what}: CPython {}, we {}",
                    interp.label(),
                    if theirs { "accepts" } else { "rejects" },
                    match &ours {
                        Ok(_) => "accept".to_string(),
                        Err(e) => format!("reject ({e})"),
                    }
                ));
            }
            if let Ok(s) = &ours {
                assert!(matches!(s.node(s.root()).value, Value::Code(_)));
            }
        }
        println!("{}: {checked} code variants compared", interp.label());
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
