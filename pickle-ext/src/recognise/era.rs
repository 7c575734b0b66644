//! Producer eras from the shapes seen (spec §3.1, §4.1, §9): every signal allows a set of eras;
//! the era is the intersection.

use super::table::{Helper, Known};
use crate::infer::VersionSet;
use crate::model::{Era, Family};

const CLOUDPICKLE: &[Era] = &[
    Era::CloudpickleA,
    Era::CloudpickleB0,
    Era::CloudpickleB1,
    Era::CloudpickleB2,
    Era::CloudpickleC0,
    Era::CloudpickleC1,
    Era::CloudpickleD,
    Era::CloudpickleE,
];
const DILL: &[Era] = &[
    Era::DillD0,
    Era::DillD1,
    Era::DillD2,
    Era::DillD3,
    Era::DillD4,
    Era::DillD5,
];

fn mask(eras: &[Era]) -> u32 {
    eras.iter().fold(0, |m, &e| m | (1 << e as u32))
}

/// The era votes of one payload.
#[derive(Debug, Default)]
pub(crate) struct EraVotes {
    /// Intersection of the allowed eras (`None`: no vote yet).
    allowed: Option<u32>,
    /// Votes that would have emptied the set (mixed producers): kept out.
    conflicting: usize,
}

impl EraVotes {
    fn allow(&mut self, eras: &[Era]) {
        let m = mask(eras);
        match self.allowed {
            None => self.allowed = Some(m),
            Some(cur) if cur & m != 0 => self.allowed = Some(cur & m),
            Some(_) => self.conflicting += 1,
        }
    }

    /// A global naming a producer helper.
    pub(crate) fn global(&mut self, k: &Known, _offset: u64) {
        use Era::*;
        match (k.family, k.helper) {
            (Family::Cloudpickle, Helper::FillFunction | Helper::MakeSkelFunc) => {
                self.allow(&[CloudpickleA, CloudpickleB0, CloudpickleB1, CloudpickleB2])
            }
            (Family::Cloudpickle, Helper::RehydrateSkeletonClass | Helper::EmptyCellValue) => {
                self.allow(&[CloudpickleB0, CloudpickleB1, CloudpickleB2])
            }
            (Family::Cloudpickle, Helper::MakeFunction) => {
                self.allow(&[CloudpickleD, CloudpickleE])
            }
            (Family::Cloudpickle, Helper::FunctionSetstate | Helper::ClassSetstate) => {
                if k.module.ends_with("cloudpickle_fast") {
                    self.allow(&[CloudpickleC0, CloudpickleC1, CloudpickleD])
                } else {
                    self.allow(&[CloudpickleE])
                }
            }
            (Family::Cloudpickle, Helper::MakeSkeletonClass | Helper::MakeSkeletonEnum) => self
                .allow(&[
                    CloudpickleB2,
                    CloudpickleC0,
                    CloudpickleC1,
                    CloudpickleD,
                    CloudpickleE,
                ]),
            (Family::Dill, _) => match k.module.as_str() {
                // `dill.dill` is normalised to `dill._dill` in `Known::module`; look at the
                // namespace-free original through the helper's module path.
                "dill._shims" => self.allow(&[DillD4]),
                "dill" => self.allow(&[DillD5]),
                _ => {
                    if k.helper == Helper::CreateCode {
                        self.allow(&[DillD3, DillD4, DillD5]);
                    }
                }
            },
            _ => {}
        }
    }

    /// `dill.dill.*` (before normalisation) was seen.
    pub(crate) fn dill_old_module(&mut self) {
        self.allow(&[Era::DillD0]);
    }

    /// `dill._dill.*` was seen.
    pub(crate) fn dill_new_module(&mut self) {
        self.allow(&[
            Era::DillD1,
            Era::DillD2,
            Era::DillD3,
            Era::DillD4,
            Era::DillD5,
        ]);
    }

    /// `_fill_function` with `n` positional arguments.
    pub(crate) fn fill_function_arity(&mut self, n: usize) {
        match n {
            2 => self.allow(&[Era::CloudpickleB2]),
            4 => self.allow(&[Era::CloudpickleA]),
            5 => self.allow(&[Era::CloudpickleB0]),
            6 => self.allow(&[Era::CloudpickleB1]),
            _ => {}
        }
    }

    /// A function made by `_builtin_type('FunctionType'|'LambdaType')(...)`.
    pub(crate) fn builtin_type_function(&mut self) {
        self.allow(&[Era::CloudpickleC0, Era::CloudpickleC1]);
    }

    /// Cells made by `_builtin_type('CellType')`.
    pub(crate) fn celltype_cells(&mut self, via: &Known) {
        if via.family == Family::Cloudpickle {
            self.allow(&[Era::CloudpickleC0]);
        }
    }

    /// `_make_cell` / `_make_empty_cell` calls.
    pub(crate) fn make_cell_helpers(&mut self) {
        self.allow(&[Era::CloudpickleC1, Era::CloudpickleD, Era::CloudpickleE]);
    }

    /// dill `_create_function` with `n` arguments.
    pub(crate) fn dill_create_function_arity(&mut self, n: usize) {
        match n {
            6 => self.allow(&[Era::DillD0, Era::DillD1]),
            7 => self.allow(&[Era::DillD2, Era::DillD3]),
            5 => self.allow(&[Era::DillD4, Era::DillD5]),
            _ => {}
        }
    }

    /// A code constructor call made through `via`.
    pub(crate) fn code_ctor(&mut self, via: &Known) {
        if via.family == Family::Dill && via.helper == Helper::LoadType {
            self.allow(&[Era::DillD0, Era::DillD1, Era::DillD2]);
        }
    }

    /// dill's `_create_code` with `co_lnotab` first.
    pub(crate) fn dill_leading_lnotab(&mut self) {
        self.allow(&[Era::DillD5]);
    }

    /// The eras of `family` still allowed.
    pub(crate) fn eras(&self, family: Family) -> Vec<Era> {
        let all = match family {
            Family::Cloudpickle => CLOUDPICKLE,
            Family::Dill => DILL,
            _ => return Vec::new(),
        };
        let allowed = self.allowed.unwrap_or(u32::MAX);
        all.iter()
            .copied()
            .filter(|&e| allowed & (1 << e as u32) != 0)
            .collect()
    }

    /// What the eras say about the producing Python (only facts that hold for CPython).
    pub(crate) fn python_evidence(&self, eras: &[Era]) -> Vec<(u64, String, VersionSet)> {
        let mut out = Vec::new();
        if eras.is_empty() {
            return out;
        }
        let pure_path = [
            Era::CloudpickleA,
            Era::CloudpickleB0,
            Era::CloudpickleB1,
            Era::CloudpickleB2,
        ];
        if eras.iter().all(|e| pure_path.contains(e)) {
            out.push((
                0,
                "cloudpickle writes _fill_function only on CPython below 3.8".to_string(),
                VersionSet::range((2, 7), (3, 7)),
            ));
        }
        if eras == [Era::CloudpickleC0] || eras == [Era::CloudpickleE] {
            out.push((
                0,
                format!("{} runs only on CPython 3.8 and later", eras[0].releases()),
                VersionSet::range((3, 8), (3, 14)),
            ));
        }
        out
    }
}
