//! Python versions, `.pyc` magic numbers, and the marshal format version each Python writes.
//!
//! A `.pyc` magic number names the bytecode format, not a release: every minor version owns a
//! range of numbers, bumped with each incompatible change during its alphas, betas and release
//! candidates, and the number of the final release is the last of that range. One patch release
//! moved the number too (3.5.2: 3350 -> 3351). [`MAGIC_TABLE`] lists, per minor version, its
//! range and its final number(s); [`PyVersion::from_magic`] maps any number in a range to its
//! version, and [`CodeLayout::for_magic`] picks the code-object field layout, which for two 3.8
//! pre-release numbers (3400, 3401) differs from the 3.8 release.
//!
//! What a magic number cannot tell: 3.8.0–3.8.2 and 3.8.3+ share 3413 but moved the
//! `CO_FUTURE_*` flag bits (bpo-39562). The marshal bytes are the same; interpreting flags is
//! `brine_codeobj`'s business.

use std::fmt;

/// A CPython `major.minor` version.
///
/// Ordered as version tuples (`2.7 < 3.0 < 3.14`); never compare magic numbers instead, they are
/// not monotonic across 2 -> 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PyVersion {
    /// Major version (2 or 3).
    pub major: u8,
    /// Minor version.
    pub minor: u8,
}

impl PyVersion {
    /// Python 2.7.
    pub const V2_7: PyVersion = PyVersion::new(2, 7);
    /// The newest release covered (3.14).
    pub const LATEST: PyVersion = PyVersion::new(3, 14);

    /// Builds a version from its parts.
    pub const fn new(major: u8, minor: u8) -> PyVersion {
        PyVersion { major, minor }
    }

    /// Every version this crate knows: 2.7, 3.0 ..= 3.14, and the 3.15 pre-release format.
    pub fn all() -> impl Iterator<Item = PyVersion> {
        MAGIC_TABLE.iter().map(|m| m.version)
    }

    /// Whether this version is one we know (2.7, 3.0–3.15).
    pub fn is_supported(self) -> bool {
        self == PyVersion::V2_7 || (self.major == 3 && self.minor <= 15)
    }

    /// Whether this is a Python 2 version (its `s` is `str`, it has `t`/`R` string sharing).
    pub const fn is_py2(self) -> bool {
        self.major == 2
    }

    /// Whether the version is at least `major.minor`.
    pub const fn at_least(self, major: u8, minor: u8) -> bool {
        self.major > major || (self.major == major && self.minor >= minor)
    }

    /// The marshal format version this Python writes by default (`marshal.version`):
    /// 2 for 2.7 and 3.0–3.3, 4 for 3.4–3.13, 5 for 3.14 (adds slices), 6 for 3.15 (frozendict).
    pub const fn marshal_version(self) -> u8 {
        if self.major == 2 || !self.at_least(3, 4) {
            2
        } else if !self.at_least(3, 14) {
            4
        } else if self.minor == 14 {
            5
        } else {
            6
        }
    }

    /// Maps a `.pyc` magic number (the first two bytes, little-endian) to its Python version,
    /// including pre-release numbers. `None` for numbers outside every known range.
    pub fn from_magic(magic: u16) -> Option<PyVersion> {
        MagicInfo::lookup(magic).map(|m| m.version)
    }

    /// The magic number of this version's final release (for 3.5, 3.5.2's 3351).
    pub fn final_magic(self) -> Option<u16> {
        MAGIC_TABLE
            .iter()
            .find(|m| m.version == self)
            .and_then(|m| m.final_magic)
    }

    /// The layout of code objects written by this version's final release.
    pub fn code_layout(self) -> CodeLayout {
        CodeLayout::for_version(self)
    }
}

impl fmt::Display for PyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl std::str::FromStr for PyVersion {
    type Err = String;
    /// Parses `"3.11"` (a patch part such as `"3.11.7"` is accepted and ignored).
    fn from_str(s: &str) -> Result<PyVersion, String> {
        let mut parts = s.trim().split('.');
        let bad = || format!("not a Python version: {s:?} (expected e.g. \"3.11\")");
        let major = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let minor = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        Ok(PyVersion::new(major, minor))
    }
}

/// The field layout of a marshalled code object (`c`). Layouts follow the Python version that
/// wrote the file, not the marshal format version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeLayout {
    /// 2.x: `argcount, nlocals, stacksize, flags`, 8 objects, `firstlineno`, `lnotab`.
    Py2,
    /// 3.0–3.7 (and the 3.8 pre-releases 3400/3401): adds `kwonlyargcount` after `argcount`.
    Py30,
    /// 3.8–3.10: adds `posonlyargcount` after `argcount`; 3.10's last field is the new
    /// `linetable` in the slot of `lnotab`.
    Py38,
    /// 3.11–3.15: no `nlocals`; `localsplusnames`/`localspluskinds` replace the variable-name
    /// tuples; adds `qualname` and `exceptiontable`.
    Py311,
}

impl CodeLayout {
    /// The layout written by a version's final release.
    pub fn for_version(version: PyVersion) -> CodeLayout {
        if version.is_py2() {
            CodeLayout::Py2
        } else if !version.at_least(3, 8) {
            CodeLayout::Py30
        } else if !version.at_least(3, 11) {
            CodeLayout::Py38
        } else {
            CodeLayout::Py311
        }
    }

    /// The layout for a magic number (3400 and 3401, early 3.8 alphas, predate
    /// positional-only parameters). `None` for unknown numbers.
    pub fn for_magic(magic: u16) -> Option<CodeLayout> {
        let version = PyVersion::from_magic(magic)?;
        if version == PyVersion::new(3, 8) && magic < 3410 {
            Some(CodeLayout::Py30)
        } else {
            Some(CodeLayout::for_version(version))
        }
    }

    /// The fields of this layout in stream order.
    pub fn fields(self) -> &'static [CodeField] {
        use CodeField::*;
        match self {
            CodeLayout::Py2 => &[
                ArgCount,
                NLocals,
                StackSize,
                Flags,
                Code,
                Consts,
                Names,
                VarNames,
                FreeVars,
                CellVars,
                Filename,
                Name,
                FirstLineNo,
                LineTable,
            ],
            CodeLayout::Py30 => &[
                ArgCount,
                KwOnlyArgCount,
                NLocals,
                StackSize,
                Flags,
                Code,
                Consts,
                Names,
                VarNames,
                FreeVars,
                CellVars,
                Filename,
                Name,
                FirstLineNo,
                LineTable,
            ],
            CodeLayout::Py38 => &[
                ArgCount,
                PosOnlyArgCount,
                KwOnlyArgCount,
                NLocals,
                StackSize,
                Flags,
                Code,
                Consts,
                Names,
                VarNames,
                FreeVars,
                CellVars,
                Filename,
                Name,
                FirstLineNo,
                LineTable,
            ],
            CodeLayout::Py311 => &[
                ArgCount,
                PosOnlyArgCount,
                KwOnlyArgCount,
                StackSize,
                Flags,
                Code,
                Consts,
                Names,
                LocalsPlusNames,
                LocalsPlusKinds,
                Filename,
                Name,
                QualName,
                FirstLineNo,
                LineTable,
                ExceptionTable,
            ],
        }
    }
}

/// One field of a marshalled code object. Integer fields are 4-byte little-endian ints in the
/// stream; the others are nested objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeField {
    /// `co_argcount` (int).
    ArgCount,
    /// `co_posonlyargcount` (int, 3.8+).
    PosOnlyArgCount,
    /// `co_kwonlyargcount` (int, 3.0+).
    KwOnlyArgCount,
    /// `co_nlocals` (int, up to 3.10).
    NLocals,
    /// `co_stacksize` (int).
    StackSize,
    /// `co_flags` (int).
    Flags,
    /// `co_code` (bytes object).
    Code,
    /// `co_consts` (tuple).
    Consts,
    /// `co_names` (tuple of str).
    Names,
    /// `co_varnames` (tuple of str, up to 3.10).
    VarNames,
    /// `co_freevars` (tuple of str, up to 3.10).
    FreeVars,
    /// `co_cellvars` (tuple of str, up to 3.10).
    CellVars,
    /// `co_localsplusnames` (tuple of str, 3.11+).
    LocalsPlusNames,
    /// `co_localspluskinds` (bytes, 3.11+).
    LocalsPlusKinds,
    /// `co_filename` (str).
    Filename,
    /// `co_name` (str).
    Name,
    /// `co_qualname` (str, 3.11+).
    QualName,
    /// `co_firstlineno` (int).
    FirstLineNo,
    /// `co_lnotab` (up to 3.9) or `co_linetable` (3.10+) (bytes).
    LineTable,
    /// `co_exceptiontable` (bytes, 3.11+).
    ExceptionTable,
}

impl CodeField {
    /// Whether the field is a 4-byte int in the stream (otherwise it is a nested object).
    pub const fn is_int(self) -> bool {
        matches!(
            self,
            CodeField::ArgCount
                | CodeField::PosOnlyArgCount
                | CodeField::KwOnlyArgCount
                | CodeField::NLocals
                | CodeField::StackSize
                | CodeField::Flags
                | CodeField::FirstLineNo
        )
    }

    /// The CPython attribute name, e.g. `"co_argcount"`.
    pub const fn attribute(self) -> &'static str {
        match self {
            CodeField::ArgCount => "co_argcount",
            CodeField::PosOnlyArgCount => "co_posonlyargcount",
            CodeField::KwOnlyArgCount => "co_kwonlyargcount",
            CodeField::NLocals => "co_nlocals",
            CodeField::StackSize => "co_stacksize",
            CodeField::Flags => "co_flags",
            CodeField::Code => "co_code",
            CodeField::Consts => "co_consts",
            CodeField::Names => "co_names",
            CodeField::VarNames => "co_varnames",
            CodeField::FreeVars => "co_freevars",
            CodeField::CellVars => "co_cellvars",
            CodeField::LocalsPlusNames => "co_localsplusnames",
            CodeField::LocalsPlusKinds => "co_localspluskinds",
            CodeField::Filename => "co_filename",
            CodeField::Name => "co_name",
            CodeField::QualName => "co_qualname",
            CodeField::FirstLineNo => "co_firstlineno",
            CodeField::LineTable => "co_lnotab/co_linetable",
            CodeField::ExceptionTable => "co_exceptiontable",
        }
    }
}

/// One row of [`MAGIC_TABLE`]: the magic numbers of one minor version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MagicInfo {
    /// The version.
    pub version: PyVersion,
    /// First number of the version's range (its first alpha).
    pub first: u16,
    /// Last number of the range.
    pub last: u16,
    /// The number written by the final release (for 3.5, 3.5.2's 3351; 3.5.0–3.5.1 wrote 3350);
    /// `None` for a version not released yet.
    pub final_magic: Option<u16>,
    /// Anything else worth knowing about this version's numbers.
    pub note: &'static str,
}

impl MagicInfo {
    /// The row whose range holds `magic`.
    pub fn lookup(magic: u16) -> Option<&'static MagicInfo> {
        MAGIC_TABLE
            .iter()
            .find(|m| (m.first..=m.last).contains(&magic))
    }

    /// Whether `magic` is the number of a final release (not an alpha, beta or rc).
    pub fn is_final(magic: u16) -> bool {
        MAGIC_TABLE.iter().any(|m| {
            m.final_magic == Some(magic) || (m.version == PyVersion::new(3, 5) && magic == 3350)
        })
    }
}

/// Magic-number ranges of CPython 2.7 and 3.0–3.15 (3.15: pre-release numbers only).
///
/// Source: CPython's magic-number history (`importlib/_bootstrap_external.py`,
/// `pycore_magic_number.h`), final numbers checked against real files or interpreters.
#[rustfmt::skip]
pub const MAGIC_TABLE: &[MagicInfo] = &[
    MagicInfo { version: PyVersion::new(2, 7), first: 62171, last: 62211, final_magic: Some(62211), note: "2.7 run with -U writes 62212, not accepted here" },
    MagicInfo { version: PyVersion::new(3, 0), first: 3000, last: 3131, final_magic: Some(3131), note: "" },
    MagicInfo { version: PyVersion::new(3, 1), first: 3141, last: 3151, final_magic: Some(3151), note: "" },
    MagicInfo { version: PyVersion::new(3, 2), first: 3160, last: 3180, final_magic: Some(3180), note: "" },
    MagicInfo { version: PyVersion::new(3, 3), first: 3190, last: 3230, final_magic: Some(3230), note: "" },
    MagicInfo { version: PyVersion::new(3, 4), first: 3250, last: 3310, final_magic: Some(3310), note: "" },
    MagicInfo { version: PyVersion::new(3, 5), first: 3320, last: 3351, final_magic: Some(3351), note: "3.5.0-3.5.1 wrote 3350; 3.5.2+ write 3351 (a patch-release bump)" },
    MagicInfo { version: PyVersion::new(3, 6), first: 3360, last: 3379, final_magic: Some(3379), note: "" },
    MagicInfo { version: PyVersion::new(3, 7), first: 3390, last: 3394, final_magic: Some(3394), note: "" },
    MagicInfo { version: PyVersion::new(3, 8), first: 3400, last: 3413, final_magic: Some(3413), note: "3400/3401 predate co_posonlyargcount; 3.8.3 moved CO_FUTURE flags under the same 3413" },
    MagicInfo { version: PyVersion::new(3, 9), first: 3420, last: 3425, final_magic: Some(3425), note: "" },
    MagicInfo { version: PyVersion::new(3, 10), first: 3430, last: 3439, final_magic: Some(3439), note: "" },
    MagicInfo { version: PyVersion::new(3, 11), first: 3450, last: 3495, final_magic: Some(3495), note: "" },
    MagicInfo { version: PyVersion::new(3, 12), first: 3500, last: 3531, final_magic: Some(3531), note: "" },
    MagicInfo { version: PyVersion::new(3, 13), first: 3550, last: 3571, final_magic: Some(3571), note: "" },
    MagicInfo { version: PyVersion::new(3, 14), first: 3600, last: 3627, final_magic: Some(3627), note: "3.14rc2 wrote 3626" },
    MagicInfo { version: PyVersion::new(3, 15), first: 3650, last: 3699, final_magic: None, note: "pre-release only: no final number yet; marshal version 6 (frozendict)" },
];
