//! Which producer (and which era of it) wrote a payload.

use std::fmt;

/// A producer family: the library whose helpers a stream names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// cloudpickle (PyPI, or a vendored copy: see [`Vendor`]).
    Cloudpickle,
    /// dill.
    Dill,
    /// extpickle (albertz/extpickle).
    Extpickle,
    /// The `copyreg.pickle(CodeType, marshal)` trick: plain pickle plus `marshal.loads`.
    CopyregMarshal,
    /// joblib/loky's `cloudpickle_wrapper` (a nested cloudpickle payload).
    LokyWrapper,
    /// The standard library (`types`, `builtins`, `marshal`, ...), used by every family.
    Stdlib,
}

impl Family {
    /// Lower-case name (`"cloudpickle"`, `"dill"`, ...), as in the fixtures' `producer.json`.
    pub fn name(self) -> &'static str {
        match self {
            Family::Cloudpickle => "cloudpickle",
            Family::Dill => "dill",
            Family::Extpickle => "extpickle",
            Family::CopyregMarshal => "copyreg-marshal",
            Family::LokyWrapper => "loky-wrapper",
            Family::Stdlib => "stdlib",
        }
    }
}

/// Who shipped the producer's code (the module prefix of its helpers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Vendor {
    /// The PyPI package itself (`cloudpickle.cloudpickle`, `dill._dill`, ...).
    Upstream,
    /// `pyspark.cloudpickle...`.
    PySpark,
    /// `ray.cloudpickle...`.
    Ray,
    /// `joblib.externals.cloudpickle...`, `joblib.externals.loky...`.
    Joblib,
    /// Stand-alone loky (`loky.cloudpickle_wrapper`).
    Loky,
    /// `srsly.cloudpickle...` (spaCy).
    Srsly,
    /// `odps.lib.cloudpickle` (PyODPS).
    PyOdps,
    /// Some other prefix (kept in [`Producer::namespace`]).
    Other,
}

/// A producer era: a range of releases that write the same shapes (spec §3.1, §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Era {
    /// cloudpickle 0.1–0.3 (old PySpark): `_fill_function(skel, globals, defaults, dict)`.
    CloudpickleA,
    /// cloudpickle 0.4.0: `_fill_function` with 5 positional arguments.
    CloudpickleB0,
    /// cloudpickle 0.4.1 (PySpark 2.2–2.4): `_fill_function` with 6 positional arguments.
    CloudpickleB1,
    /// cloudpickle 0.4.2–1.4.1 pure-Python path: `_fill_function(skel, state)`.
    CloudpickleB2,
    /// cloudpickle 1.2–1.4.1 on Python ≥ 3.8: `_builtin_type` constructor + setter, `CellType` cells.
    CloudpickleC0,
    /// cloudpickle 1.5–2.0: as C0 with `_make_cell`/`_make_empty_cell`.
    CloudpickleC1,
    /// cloudpickle 2.1–2.2.1: `_make_function` + setter in `cloudpickle_fast`.
    CloudpickleD,
    /// cloudpickle 3.x: `_make_function` + setter in `cloudpickle.cloudpickle`.
    CloudpickleE,
    /// dill ≤ 0.2.7.1 (`dill.dill`).
    DillD0,
    /// dill 0.2.8–0.3.0 (`dill._dill`, 6-argument `_create_function`).
    DillD1,
    /// dill 0.3.1.x (7-argument `_create_function`, `_load_type('CodeType')`).
    DillD2,
    /// dill 0.3.2–0.3.4 (`_create_code`).
    DillD3,
    /// dill 0.3.5.x (5-argument `_create_function` + BUILD, `dill._shims`).
    DillD4,
    /// dill 0.3.6–0.4.x.
    DillD5,
}

impl Era {
    /// The releases this era covers, as text.
    pub fn releases(self) -> &'static str {
        match self {
            Era::CloudpickleA => "cloudpickle 0.1-0.3",
            Era::CloudpickleB0 => "cloudpickle 0.4.0",
            Era::CloudpickleB1 => "cloudpickle 0.4.1",
            Era::CloudpickleB2 => "cloudpickle 0.4.2-1.4.1",
            Era::CloudpickleC0 => "cloudpickle 1.2-1.4.1",
            Era::CloudpickleC1 => "cloudpickle 1.5-2.0",
            Era::CloudpickleD => "cloudpickle 2.1-2.2.1",
            Era::CloudpickleE => "cloudpickle 3.x",
            Era::DillD0 => "dill 0.2.x-0.2.7.1",
            Era::DillD1 => "dill 0.2.8-0.3.0",
            Era::DillD2 => "dill 0.3.1.x",
            Era::DillD3 => "dill 0.3.2-0.3.4",
            Era::DillD4 => "dill 0.3.5.x",
            Era::DillD5 => "dill 0.3.6-0.4.x",
        }
    }

    /// Short label used in reports (`"E"`, `"d5"`, ...).
    pub fn label(self) -> &'static str {
        match self {
            Era::CloudpickleA => "A",
            Era::CloudpickleB0 => "B0",
            Era::CloudpickleB1 => "B1",
            Era::CloudpickleB2 => "B2",
            Era::CloudpickleC0 => "C0",
            Era::CloudpickleC1 => "C1",
            Era::CloudpickleD => "D",
            Era::CloudpickleE => "E",
            Era::DillD0 => "d0",
            Era::DillD1 => "d1",
            Era::DillD2 => "d2",
            Era::DillD3 => "d3",
            Era::DillD4 => "d4",
            Era::DillD5 => "d5",
        }
    }
}

/// The producer of a payload, as far as the stream tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Producer {
    /// The family.
    pub family: Family,
    /// Who shipped it.
    pub vendor: Vendor,
    /// Module prefix in front of the producer's modules (`"pyspark"`, `""` upstream).
    pub namespace: String,
    /// The era, when the shapes seen pin it down to one.
    pub era: Option<Era>,
    /// Every era consistent with the shapes seen (one when `era` is set; empty for families
    /// without eras).
    pub era_candidates: Vec<Era>,
}

impl fmt::Display for Producer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.era {
            Some(era) => write!(f, "{} (era {})", era.releases(), era.label())?,
            None => write!(f, "{}", self.family.name())?,
        }
        if !self.namespace.is_empty() {
            write!(f, " under {}", self.namespace)?;
        }
        Ok(())
    }
}
