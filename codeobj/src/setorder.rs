//! The order in which CPython iterates a set built from marshal data, so `repr` of a
//! `frozenset` constant lists its items as the interpreter would.
//!
//! Marshal stores set items in some order (3.11+ writers sort them); loading adds them one by
//! one to a fresh hash table, and `repr` walks the table. We replay that: CPython 3's hash
//! functions (ints, floats, `str` and `bytes` with hash randomisation off, i.e.
//! `PYTHONHASHSEED=0`) and its open-addressing table (linear probes, then perturbation, resize
//! at 60% fill). Python 2 tables and items we cannot hash (tuples, `None` before 3.12, ...)
//! keep the stored order.

use brine_marshal::siphash::{siphash13, siphash24};

use crate::code::Const;

const MODULUS: u64 = (1 << 61) - 1;
const BITS: u32 = 61;

fn fix(h: i64) -> i64 {
    if h == -1 {
        -2
    } else {
        h
    }
}

fn int_hash(n: i128) -> i64 {
    let m = (n.unsigned_abs() % u128::from(MODULUS)) as i64;
    fix(if n < 0 { -m } else { m })
}

fn frexp(v: f64) -> (f64, i32) {
    if v == 0.0 || !v.is_finite() {
        return (v, 0);
    }
    let bits = v.to_bits();
    let exp = ((bits >> 52) & 0x7FF) as i32;
    if exp == 0 {
        // Subnormal: scale up first.
        let (m, e) = frexp(v * f64::from_bits(0x4350_0000_0000_0000)); // 2**54
        return (m, e - 54);
    }
    let m = f64::from_bits((bits & !(0x7FF << 52)) | (1022 << 52));
    (m, exp - 1022)
}

fn float_hash(v: f64) -> Option<i64> {
    if v.is_nan() {
        return None;
    }
    if v.is_infinite() {
        return Some(if v > 0.0 { 314_159 } else { -314_159 });
    }
    let (mut m, mut e) = frexp(v);
    let mut sign: i64 = 1;
    if m < 0.0 {
        sign = -1;
        m = -m;
    }
    let mut x: u64 = 0;
    while m != 0.0 {
        x = ((x << 28) & MODULUS) | (x >> (BITS - 28));
        m *= 268_435_456.0;
        e -= 28;
        let y = m as u64;
        m -= y as f64;
        x += y;
        if x >= MODULUS {
            x -= MODULUS;
        }
    }
    let e = if e >= 0 {
        (e as u32) % BITS
    } else {
        BITS - 1 - (((-1 - e) as u32) % BITS)
    };
    x = ((x << e) & MODULUS) | (x >> (BITS - e));
    Some(fix((x as i64).wrapping_mul(sign)))
}

fn bytes_hash(data: &[u8], minor: u8) -> i64 {
    if data.is_empty() {
        return 0;
    }
    let h = if minor >= 11 {
        siphash13(0, 0, data)
    } else {
        siphash24(0, 0, data)
    };
    fix(h as i64)
}

/// `hash(c)` under CPython 3.`minor` with hash randomisation off, if we can compute it.
fn hash(c: &Const<'_>, minor: u8) -> Option<i64> {
    match c {
        Const::Bool(b) => Some(i64::from(*b)),
        Const::Int(i) => Some(int_hash(i128::from(*i))),
        Const::BigInt(b) => {
            let m = &**b % num_bigint::BigInt::from(MODULUS);
            let v = i64::try_from(&m).ok()?;
            Some(fix(v))
        }
        Const::Float(f) => float_hash(*f),
        Const::Str(s) => {
            let cps: Vec<u32> = s.chars().collect();
            let max = cps.iter().copied().max().unwrap_or(0);
            let mut data = Vec::with_capacity(cps.len() * 4);
            for c in cps {
                if max < 0x100 {
                    data.push(c as u8);
                } else if max < 0x10000 {
                    data.extend_from_slice(&(c as u16).to_le_bytes());
                } else {
                    data.extend_from_slice(&c.to_le_bytes());
                }
            }
            Some(bytes_hash(&data, minor))
        }
        Const::Bytes(b) => Some(bytes_hash(b, minor)),
        // 3.12 made hash(None) a constant (it was the object's address before).
        Const::None if minor >= 12 => Some(0xFCA8_6420),
        Const::Tuple(items) => tuple_hash(items, minor),
        _ => None,
    }
}

/// `hash(tuple)`: xxHash-style from 3.8, the older multiply-xor scheme before.
fn tuple_hash(items: &[Const<'_>], minor: u8) -> Option<i64> {
    if minor >= 8 {
        const P1: u64 = 11_400_714_785_074_694_791;
        const P2: u64 = 14_029_467_366_897_019_727;
        const P5: u64 = 2_870_177_450_012_600_261;
        let mut acc: u64 = P5;
        for it in items {
            let lane = hash(it, minor)? as u64;
            acc = acc.wrapping_add(lane.wrapping_mul(P2));
            acc = acc.rotate_left(31);
            acc = acc.wrapping_mul(P1);
        }
        acc = acc.wrapping_add((items.len() as u64) ^ (P5 ^ 3_527_539));
        if acc == u64::MAX {
            return Some(1_546_275_796);
        }
        Some(acc as i64)
    } else {
        let mut x: u64 = 0x0034_5678;
        let mut mult: u64 = 1_000_003;
        let mut len = items.len() as u64;
        for it in items {
            len -= 1;
            let y = hash(it, minor)? as u64;
            x = (x ^ y).wrapping_mul(mult);
            mult = mult.wrapping_add(82_520 + len + len);
        }
        x = x.wrapping_add(97_531);
        Some(fix(x as i64))
    }
}

const LINEAR_PROBES: usize = 9;
const PERTURB_SHIFT: u32 = 5;

fn insert_clean(table: &mut [Option<usize>], hashes: &[i64], item: usize) {
    let mask = table.len() - 1;
    let h = hashes[item] as u64;
    let mut perturb = h;
    let mut i = (h as usize) & mask;
    loop {
        if table[i].is_none() {
            table[i] = Some(item);
            return;
        }
        if i + LINEAR_PROBES <= mask {
            for j in 1..=LINEAR_PROBES {
                if table[i + j].is_none() {
                    table[i + j] = Some(item);
                    return;
                }
            }
        }
        perturb >>= PERTURB_SHIFT;
        i = (i
            .wrapping_mul(5)
            .wrapping_add(1)
            .wrapping_add(perturb as usize))
            & mask;
    }
}

/// The indices of `items` in the order CPython 3.`minor` iterates a set built by adding them
/// in order; `None` when an item's hash is unknown (or for Python 2).
pub fn set_iteration_order(items: &[Const<'_>], major: u8, minor: u8) -> Option<Vec<usize>> {
    if major != 3 || items.len() > 100_000 {
        return None;
    }
    let hashes: Vec<i64> = items
        .iter()
        .map(|c| hash(c, minor))
        .collect::<Option<Vec<_>>>()?;
    let mut table: Vec<Option<usize>> = vec![None; 8];
    let mut used = 0usize;
    for (idx, c) in items.iter().enumerate() {
        // Equal items (same hash and value) are not added twice.
        let dup = table
            .iter()
            .flatten()
            .any(|&j| hashes[j] == hashes[idx] && items[j] == *c);
        if dup {
            continue;
        }
        let mask = table.len() - 1;
        insert_clean(&mut table, &hashes, idx);
        used += 1;
        if used * 5 >= mask * 3 {
            let minused = if used > 50_000 { used * 2 } else { used * 4 };
            let mut size = 8;
            while size <= minused {
                size <<= 1;
            }
            let old = std::mem::replace(&mut table, vec![None; size]);
            for j in old.into_iter().flatten() {
                insert_clean(&mut table, &hashes, j);
            }
        }
    }
    Some(table.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_cpython() {
        // hash(1.5) == 1152921504606846977, hash(-1) == -2, hash(2**61) == 1.
        assert_eq!(float_hash(1.5), Some(1_152_921_504_606_846_977));
        assert_eq!(float_hash(5.0), Some(5));
        assert_eq!(int_hash(-1), -2);
        assert_eq!(int_hash(1 << 61), 1);
        // hash((1, 2)) == -3550055125485641917 (3.8+); hash(()) == 5740354900026072187.
        let t = [Const::Int(1), Const::Int(2)];
        assert_eq!(tuple_hash(&t, 12), Some(-3_550_055_125_485_641_917));
        assert_eq!(tuple_hash(&[], 12), Some(5_740_354_900_026_072_187));
        assert_eq!(tuple_hash(&t, 7), Some(3_713_081_631_934_410_656));
    }

    #[test]
    fn small_ints_iterate_by_value() {
        // CPython: adding 5 then 1 to a set iterates {1, 5}; 9, 3, 1 iterate {9, 3, 1} (1
        // collides with 9 and is perturbed to slot 6).
        let items = [Const::Int(5), Const::Int(1)];
        assert_eq!(set_iteration_order(&items, 3, 12), Some(vec![1, 0]));
        let items = [Const::Int(9), Const::Int(3), Const::Int(1)];
        assert_eq!(set_iteration_order(&items, 3, 12), Some(vec![0, 1, 2]));
    }
}
