//! Robustness of the JSON view on damaged input: every committed fixture `.pyc` with bytes
//! changed at pseudo-random places (deterministic). Whatever still parses must round-trip byte
//! for byte and get a view (or a view error) without panicking; its text must parse back to the
//! same tree. Hostile streams put unexpected objects in code-object fields (names that are not
//! tuples, constants that are not a tuple, kinds that do not match the names): the view shows
//! them as VALUEs instead of failing.

use brine_marshal::Pyc;
use brine_pickle_ext::json::pyc::pyc_to_json;
use brine_pickle_ext::json::Json;
use std::fs;

/// xorshift64*: small, deterministic, good enough to pick offsets and bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn damaged_pycs_never_panic_the_view() {
    let root = brine_tests::fixtures_dir().join("marshal");
    let mut files = Vec::new();
    for dir in fs::read_dir(&root).expect("fixtures").flatten() {
        for f in fs::read_dir(dir.path()).into_iter().flatten().flatten() {
            let p = f.path();
            if p.extension().is_some_and(|e| e == "pyc")
                && !p.to_string_lossy().contains("extended_arg")
            {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() > 100);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut parsed, mut viewed) = (0, 0);
    for path in &files {
        let original = fs::read(path).expect("read");
        for _ in 0..25 {
            let mut data = original.clone();
            for _ in 0..1 + rng.below(3) {
                // Leave the magic alone so the body is read with a real layout.
                let at = 4 + rng.below(data.len() - 4);
                data[at] = match rng.below(4) {
                    0 => data[at] ^ 0x80,
                    1 => data[at].wrapping_add(1),
                    2 => b"()Nzu[{<>sir"[rng.below(12)],
                    _ => rng.next() as u8,
                };
            }
            let Ok(pyc) = Pyc::parse(&data) else {
                continue;
            };
            parsed += 1;
            assert!(
                pyc.write() == data,
                "{}: damaged copy does not round-trip",
                path.display()
            );
            if let Ok(view) = pyc_to_json(&pyc) {
                viewed += 1;
                let text = view.to_text(None);
                let back = Json::parse(&text).expect("our own text parses");
                assert_eq!(back.first_difference(&view), None, "{}", path.display());
            }
        }
    }
    println!("{parsed} damaged copies parsed, {viewed} viewed");
    assert!(parsed > 300, "only {parsed} damaged copies parsed");
}
