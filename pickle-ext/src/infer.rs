//! Which CPython produced a payload: a set of candidate versions narrowed by evidence.
//!
//! Code objects are version-specific (constructor arguments, marshal layout, bytecode), so a
//! payload can only be loaded by the Python minor version that wrote it. Each recogniser that
//! learns something adds an [`Evidence`] (what was seen, where, and which versions it allows);
//! the candidates are the intersection of all of them. Callers may state the version
//! ([`crate::recognise::DecodeOptions::python`]); a statement that contradicts the evidence is
//! reported, not silently believed.

use std::fmt;

/// The CPython versions we know, in order. Index `i` is bit `i` of a [`VersionSet`].
pub const KNOWN_VERSIONS: &[(u8, u8)] = &[
    (2, 7),
    (3, 0),
    (3, 1),
    (3, 2),
    (3, 3),
    (3, 4),
    (3, 5),
    (3, 6),
    (3, 7),
    (3, 8),
    (3, 9),
    (3, 10),
    (3, 11),
    (3, 12),
    (3, 13),
    (3, 14),
];

/// A set of CPython minor versions (bit `i` = [`KNOWN_VERSIONS`]`[i]`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct VersionSet(u32);

impl VersionSet {
    /// Every known version.
    pub const ALL: VersionSet = VersionSet((1 << KNOWN_VERSIONS.len() as u32) - 1);
    /// No version.
    pub const EMPTY: VersionSet = VersionSet(0);

    fn bit(v: (u8, u8)) -> Option<u32> {
        KNOWN_VERSIONS
            .iter()
            .position(|&k| k == v)
            .map(|i| 1 << i as u32)
    }

    /// The single version `v` (empty if unknown).
    pub fn only(v: (u8, u8)) -> VersionSet {
        VersionSet(Self::bit(v).unwrap_or(0))
    }

    /// Versions from `lo` to `hi` inclusive (in [`KNOWN_VERSIONS`] order).
    pub const fn range(lo: (u8, u8), hi: (u8, u8)) -> VersionSet {
        let mut bits = 0u32;
        let mut i = 0;
        while i < KNOWN_VERSIONS.len() {
            let v = KNOWN_VERSIONS[i];
            let ge = v.0 > lo.0 || (v.0 == lo.0 && v.1 >= lo.1);
            let le = v.0 < hi.0 || (v.0 == hi.0 && v.1 <= hi.1);
            if ge && le {
                bits |= 1 << i;
            }
            i += 1;
        }
        VersionSet(bits)
    }

    /// Intersection.
    pub fn and(self, other: VersionSet) -> VersionSet {
        VersionSet(self.0 & other.0)
    }

    /// Union.
    pub fn or(self, other: VersionSet) -> VersionSet {
        VersionSet(self.0 | other.0)
    }

    /// True if `v` is in the set.
    pub fn contains(self, v: (u8, u8)) -> bool {
        Self::bit(v).is_some_and(|b| self.0 & b != 0)
    }

    /// True if the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The versions, oldest first.
    pub fn iter(self) -> impl Iterator<Item = (u8, u8)> {
        KNOWN_VERSIONS
            .iter()
            .enumerate()
            .filter(move |(i, _)| self.0 & (1 << *i as u32) != 0)
            .map(|(_, &v)| v)
    }

    /// The one version, if the set has exactly one.
    pub fn single(self) -> Option<(u8, u8)> {
        if self.0.count_ones() == 1 {
            self.iter().next()
        } else {
            None
        }
    }
}

impl fmt::Debug for VersionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for VersionSet {
    /// `"3.8, 3.9"`, or `"none"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        let mut first = true;
        for (a, b) in self.iter() {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{a}.{b}")?;
        }
        Ok(())
    }
}

/// One reason to believe the payload comes from some versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// Byte offset of the opcode the evidence comes from.
    pub offset: u64,
    /// What was seen, in words.
    pub what: String,
    /// The versions it allows.
    pub versions: VersionSet,
}

/// The producing Python, as inferred.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonInference {
    /// Intersection of all evidence (every known version when there is none).
    pub candidates: VersionSet,
    /// The evidence, in the order found.
    pub evidence: Vec<Evidence>,
    /// The version the caller stated, if any.
    pub stated: Option<(u8, u8)>,
}

impl Default for PythonInference {
    fn default() -> PythonInference {
        PythonInference {
            candidates: VersionSet::ALL,
            evidence: Vec::new(),
            stated: None,
        }
    }
}

impl PythonInference {
    /// Adds evidence. Evidence that would empty the candidates is recorded but not applied
    /// (the payload is inconsistent; the caller sees it in [`PythonInference::conflicts`]).
    pub fn add(&mut self, offset: u64, what: impl Into<String>, versions: VersionSet) {
        let next = self.candidates.and(versions);
        if !next.is_empty() {
            self.candidates = next;
        }
        self.evidence.push(Evidence {
            offset,
            what: what.into(),
            versions,
        });
    }

    /// Evidence that disagrees with the final candidates.
    pub fn conflicts(&self) -> impl Iterator<Item = &Evidence> + '_ {
        self.evidence
            .iter()
            .filter(move |e| e.versions.and(self.candidates).is_empty())
    }

    /// The version to use: the stated one, else the single candidate.
    pub fn version(&self) -> Option<(u8, u8)> {
        self.stated.or_else(|| self.candidates.single())
    }

    /// True if the caller's statement contradicts the evidence.
    pub fn stated_conflicts(&self) -> bool {
        self.stated.is_some_and(|v| !self.candidates.contains(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_and_inference() {
        let py38_39 = VersionSet::range((3, 8), (3, 9));
        assert_eq!(py38_39.to_string(), "3.8, 3.9");
        assert!(VersionSet::range((2, 7), (2, 7)).contains((2, 7)));
        assert_eq!(VersionSet::range((3, 11), (3, 14)).iter().count(), 4);
        let mut inf = PythonInference::default();
        inf.add(
            0,
            "16 CodeType arguments",
            VersionSet::range((3, 8), (3, 10)),
        );
        inf.add(5, "lnotab, not linetable", py38_39);
        assert_eq!(inf.candidates, py38_39);
        assert_eq!(inf.version(), None);
        inf.add(9, "contradiction", VersionSet::only((2, 7)));
        assert_eq!(inf.candidates, py38_39);
        assert_eq!(inf.conflicts().count(), 1);
        inf.stated = Some((3, 12));
        assert!(inf.stated_conflicts());
        assert_eq!(inf.version(), Some((3, 12)));
    }
}
