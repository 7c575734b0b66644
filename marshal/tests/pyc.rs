//! `.pyc` headers of every layout, hash-based pycs (both SipHash variants, expected hashes
//! from `importlib.util.source_hash` of each interpreter: `data/source_hash.json`), magic
//! numbers, and the real samples of versions with no interpreter here.

mod common;

use brine_marshal::{
    source_hash, CodeLayout, ErrorKind, Invalidation, MagicInfo, PyVersion, Pyc, PycHeader,
};
use common::*;

#[test]
fn source_hash_matches_importlib_for_every_version() {
    let data = load_json("source_hash.json");
    let mut versions = 0;
    let mut failures = Vec::new();
    for (label, entry) in data.as_object().unwrap() {
        let v = version(label);
        let magic: [u8; 4] = unhex(entry["magic"].as_str().unwrap()).try_into().unwrap();
        assert_eq!(
            PyVersion::from_magic(u16::from_le_bytes([magic[0], magic[1]])),
            Some(v)
        );
        for h in entry["hashes"].as_array().unwrap() {
            let src = unhex(h["source"].as_str().unwrap());
            let expected = h["hash"].as_str().unwrap();
            let ours = hex(&source_hash(magic, v, &src));
            if ours != expected {
                failures.push(format!(
                    "{label} source {:?}: ours {ours} importlib {expected}",
                    h["source"]
                ));
            }
        }
        versions += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Both variants are covered when the data has 3.7-3.10 (SipHash-2-4) and 3.11+ (1-3).
    assert!(
        data.get("3.10").is_some() && data.get("3.11").is_some(),
        "need both SipHash variants"
    );
    assert!(versions >= 2);
}

#[test]
fn siphash_variants_differ_and_are_keyed_by_magic() {
    let data = load_json("source_hash.json");
    for label in ["3.10", "3.11"] {
        let e = &data[label];
        let magic: [u8; 4] = unhex(e["magic"].as_str().unwrap()).try_into().unwrap();
        let h = &e["hashes"][5];
        let src = unhex(h["source"].as_str().unwrap());
        // The other variant would give a different hash: the test would catch a swap.
        let other = if label == "3.10" {
            version("3.11")
        } else {
            version("3.10")
        };
        assert_ne!(
            hex(&source_hash(magic, other, &src)),
            h["hash"].as_str().unwrap()
        );
        assert_eq!(
            hex(&source_hash(magic, version(label), &src)),
            h["hash"].as_str().unwrap()
        );
    }
}

fn pyc_bytes(header: &[u8], body: &[u8]) -> Vec<u8> {
    let mut v = header.to_vec();
    v.extend_from_slice(body);
    v
}

#[test]
fn header_layouts_of_every_era() {
    // 2.7: magic + mtime; the stream is Python 2 (`s` is str).
    let f = pyc_bytes(
        &[0x03, 0xF3, 0x0D, 0x0A, 0x10, 0, 0, 0],
        b"s\x01\x00\x00\x00x",
    );
    let p = Pyc::parse(&f).unwrap();
    assert_eq!(p.header.version, PyVersion::V2_7);
    assert_eq!(p.header.layout, CodeLayout::Py2);
    assert_eq!(p.header.len(), 8);
    assert_eq!(p.header.mtime(), Some(16));
    assert_eq!(p.header.source_size(), None);
    assert_eq!(p.write(), f);

    // 3.3: magic + mtime + size.
    let f = pyc_bytes(&[0x9E, 0x0C, 0x0D, 0x0A, 1, 0, 0, 0, 2, 0, 0, 0], b"N");
    let p = Pyc::parse(&f).unwrap();
    assert_eq!(p.header.version, PyVersion::new(3, 3));
    assert_eq!(
        (p.header.mtime(), p.header.source_size()),
        (Some(1), Some(2))
    );
    assert_eq!(p.write(), f);

    // 3.7 timestamp, checked hash, unchecked hash.
    let f = pyc_bytes(
        &[0x42, 0x0D, 0x0D, 0x0A, 0, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0],
        b"N",
    );
    let p = Pyc::parse(&f).unwrap();
    assert_eq!(p.header.flags, Some(0));
    assert_eq!(
        (p.header.mtime(), p.header.source_size()),
        (Some(5), Some(6))
    );
    for (flags, check) in [(3u8, true), (1u8, false)] {
        let f = pyc_bytes(
            &[
                0x42, 0x0D, 0x0D, 0x0A, flags, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8,
            ],
            b"N",
        );
        let p = Pyc::parse(&f).unwrap();
        assert_eq!(
            p.header.invalidation,
            Invalidation::Hash {
                source_hash: [1, 2, 3, 4, 5, 6, 7, 8],
                check_source: check
            }
        );
        assert_eq!(p.write(), f);
    }
}

#[test]
fn magic_3351_is_python_3_5() {
    assert_eq!(PyVersion::from_magic(3351), Some(PyVersion::new(3, 5)));
    assert_eq!(PyVersion::from_magic(3350), Some(PyVersion::new(3, 5)));
    assert!(MagicInfo::is_final(3351) && MagicInfo::is_final(3350));
    assert_eq!(PyVersion::new(3, 5).final_magic(), Some(3351));
    let f = pyc_bytes(
        &[0x17, 0x0D, 0x0D, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0],
        b"\xe9\x07\x00\x00\x00",
    );
    let p = Pyc::parse(&f).unwrap();
    assert_eq!(p.header.version, PyVersion::new(3, 5));
    assert_eq!(p.header.len(), 12);
    assert_eq!(p.stream.value(p.stream.root()).as_i64(), Some(7));
}

#[test]
fn magic_table_covers_every_release() {
    let finals = [
        (62211, 2, 7),
        (3131, 3, 0),
        (3151, 3, 1),
        (3180, 3, 2),
        (3230, 3, 3),
        (3310, 3, 4),
        (3350, 3, 5),
        (3351, 3, 5),
        (3379, 3, 6),
        (3394, 3, 7),
        (3413, 3, 8),
        (3425, 3, 9),
        (3439, 3, 10),
        (3495, 3, 11),
        (3531, 3, 12),
        (3571, 3, 13),
        (3627, 3, 14),
    ];
    for (magic, major, minor) in finals {
        assert_eq!(
            PyVersion::from_magic(magic),
            Some(PyVersion::new(major, minor)),
            "{magic}"
        );
        assert!(MagicInfo::is_final(magic), "{magic}");
    }
    // Pre-releases map to their version; 3.8's first alphas predate posonlyargcount.
    assert_eq!(PyVersion::from_magic(3626), Some(PyVersion::new(3, 14)));
    assert_eq!(CodeLayout::for_magic(3401), Some(CodeLayout::Py30));
    assert_eq!(CodeLayout::for_magic(3410), Some(CodeLayout::Py38));
    assert_eq!(PyVersion::from_magic(3666), Some(PyVersion::new(3, 15)));
    for gap in [3135, 3240, 3315, 3445, 3540, 3590, 62212, 0, 64] {
        assert_eq!(PyVersion::from_magic(gap), None, "{gap}");
    }
    let marshal_versions: Vec<u8> = ["2.7", "3.0", "3.3", "3.4", "3.13", "3.14", "3.15"]
        .iter()
        .map(|v| version(v).marshal_version())
        .collect();
    assert_eq!(marshal_versions, [2, 2, 2, 4, 4, 5, 6]);
}

#[test]
fn header_errors() {
    let unknown = Pyc::parse(&[0x00, 0x01, 0x0D, 0x0A, 0, 0, 0, 0, b'N']).unwrap_err();
    assert_eq!(unknown.offset, 0);
    assert!(matches!(
        unknown.kind,
        ErrorKind::UnknownMagic { number: 256, .. }
    ));
    let no_crlf = Pyc::parse(&[0xA7, 0x0D, 0x0A, 0x0D, 0, 0, 0, 0]).unwrap_err();
    assert!(matches!(no_crlf.kind, ErrorKind::UnknownMagic { .. }));
    let flags = Pyc::parse(&[
        0xA7, 0x0D, 0x0D, 0x0A, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, b'N',
    ])
    .unwrap_err();
    assert_eq!(
        (flags.offset, flags.kind),
        (4, ErrorKind::InvalidPycFlags(4))
    );
    let short = Pyc::parse(&[0xA7, 0x0D, 0x0D, 0x0A, 0, 0]).unwrap_err();
    assert!(matches!(short.kind, ErrorKind::Truncated { .. }));
    let trailing = Pyc::parse(&[
        0xA7, 0x0D, 0x0D, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, b'N', b'N',
    ])
    .unwrap_err();
    assert_eq!(
        (trailing.offset, trailing.kind.clone()),
        (17, ErrorKind::TrailingBytes { count: 1 })
    );
    assert_eq!(
        trailing.to_string(),
        "at byte 0x11: 1 unexpected byte(s) after the object"
    );
}

#[test]
fn check_source_hash_uses_the_versions_variant() {
    let data = load_json("source_hash.json");
    for label in ["3.7", "3.10", "3.11", "3.13"] {
        let Some(e) = data.get(label) else { continue };
        let v = version(label);
        let h = &e["hashes"][5];
        let src = unhex(h["source"].as_str().unwrap());
        let stored: [u8; 8] = unhex(h["hash"].as_str().unwrap()).try_into().unwrap();
        let header = PycHeader::new(
            v,
            Invalidation::Hash {
                source_hash: stored,
                check_source: true,
            },
        )
        .unwrap();
        assert_eq!(hex(&header.magic), e["magic"].as_str().unwrap());
        assert_eq!(header.check_source_hash(&src), Some(true), "{label}");
        assert_eq!(
            header.check_source_hash(b"other source"),
            Some(false),
            "{label}"
        );
        let reparsed = PycHeader::parse(&header.to_bytes()).unwrap();
        assert_eq!(reparsed, header);
    }
}

/// Real pycs of 3.0-3.5, 3.14 and 3.15-pre (shared folder; skipped when absent).
#[test]
fn shared_samples_parse_and_round_trip() {
    let Some(dir) = brine_tests::pyc_samples_dir() else {
        brine_tests::skip_live(
            "shared_samples_parse_and_round_trip",
            "no pyc-samples folder",
        );
        return;
    };
    let mut n = 0;
    for sub in std::fs::read_dir(&dir).unwrap().flatten() {
        if !sub.path().is_dir() {
            continue;
        }
        let expected: PyVersion = sub.file_name().to_str().unwrap().parse().unwrap();
        for f in std::fs::read_dir(sub.path()).unwrap().flatten() {
            let data = std::fs::read(f.path()).unwrap();
            let pyc = Pyc::parse(&data).unwrap_or_else(|e| panic!("{}: {e}", f.path().display()));
            assert_eq!(pyc.header.version, expected, "{}", f.path().display());
            assert!(pyc.stream.root_code().is_some());
            assert_eq!(pyc.write(), data, "{}", f.path().display());
            n += 1;
        }
    }
    assert!(n > 100, "only {n} samples");
}
