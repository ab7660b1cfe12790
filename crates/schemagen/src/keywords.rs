//! Keyword readers: counts, numeric bounds, multiples, item and property schemas.

use serde_json::Value;

use crate::Obj;
#[allow(unused_imports)]
use crate::check::*;
#[allow(unused_imports)]
use crate::doc::*;
#[allow(unused_imports)]
use crate::openapi::*;
#[allow(unused_imports)]
use crate::types::*;
#[allow(unused_imports)]
use crate::*;

/// A non-negative count keyword (`minItems`...); integral floats are accepted.
pub(crate) fn count(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| {
        v.as_f64()
            .filter(|f| f.is_finite() && *f >= 0.0)
            .map(|f| f.ceil().min(u64::MAX as f64) as u64)
    })
}

pub(crate) fn max_count(parts: &[&Obj], key: &str) -> u64 {
    parts
        .iter()
        .filter_map(|p| p.get(key).and_then(count))
        .max()
        .unwrap_or(0)
}

pub(crate) fn min_count(parts: &[&Obj], key: &str) -> Option<u64> {
    parts.iter().filter_map(|p| p.get(key).and_then(count)).min()
}

pub(crate) fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Numeric bounds merged over several schemas: `(value, exclusive)`.
#[derive(Debug, Default)]
pub(crate) struct NumBounds {
    pub(crate) lo: Option<(f64, bool)>,
    pub(crate) hi: Option<(f64, bool)>,
    pub(crate) multiples: Vec<f64>,
}

impl NumBounds {
    pub(crate) fn of<'x>(parts: impl IntoIterator<Item = &'x Obj>) -> Self {
        let mut b = NumBounds::default();
        for p in parts {
            let min = p.get("minimum").and_then(Value::as_f64);
            let max = p.get("maximum").and_then(Value::as_f64);
            if let Some(v) = min {
                b.raise(v, false);
            }
            if let Some(v) = max {
                b.lower(v, false);
            }
            match p.get("exclusiveMinimum") {
                Some(Value::Bool(true)) => {
                    if let Some(v) = min {
                        b.raise(v, true);
                    }
                }
                Some(v) => {
                    if let Some(v) = v.as_f64() {
                        b.raise(v, true);
                    }
                }
                None => {}
            }
            match p.get("exclusiveMaximum") {
                Some(Value::Bool(true)) => {
                    if let Some(v) = max {
                        b.lower(v, true);
                    }
                }
                Some(v) => {
                    if let Some(v) = v.as_f64() {
                        b.lower(v, true);
                    }
                }
                None => {}
            }
            if let Some(m) = p.get("multipleOf").and_then(Value::as_f64) {
                if m > 0.0 && m.is_finite() {
                    b.multiples.push(m);
                }
            }
        }
        b
    }

    pub(crate) fn raise(&mut self, v: f64, exclusive: bool) {
        self.lo = match self.lo {
            Some((c, cx)) if c > v || (c == v && cx) => Some((c, cx)),
            Some((c, _)) if c == v => Some((c, exclusive)),
            _ => Some((v, exclusive)),
        };
    }

    pub(crate) fn lower(&mut self, v: f64, exclusive: bool) {
        self.hi = match self.hi {
            Some((c, cx)) if c < v || (c == v && cx) => Some((c, cx)),
            Some((c, _)) if c == v => Some((c, exclusive)),
            _ => Some((v, exclusive)),
        };
    }

    pub(crate) fn contains(&self, v: f64) -> bool {
        let above = match self.lo {
            Some((l, true)) => v > l,
            Some((l, false)) => v >= l,
            None => true,
        };
        let below = match self.hi {
            Some((h, true)) => v < h,
            Some((h, false)) => v <= h,
            None => true,
        };
        above && below && self.multiples.iter().all(|m| is_multiple(v, *m))
    }
}

/// Whether `v / m` is an integer, computed on the shortest decimal forms as JSON Schema
/// validators do (so `0.3` is a multiple of `0.1`).
pub(crate) fn is_multiple(v: f64, m: f64) -> bool {
    if !(m > 0.0 && m.is_finite()) || v == 0.0 {
        return true;
    }
    if let (Some((vm, vd)), Some((mm, md))) = (decimal(v), decimal(m)) {
        let d = vd.max(md);
        let scale = |mantissa: i128, decimals: u32| {
            10_i128
                .checked_pow(d - decimals)
                .and_then(|p| mantissa.checked_mul(p))
        };
        if let (Some(a), Some(b)) = (scale(vm, vd), scale(mm, md)) {
            if b != 0 {
                return a % b == 0;
            }
        }
    }
    let q = v / m;
    (q - q.round()).abs() < 1e-9
}

/// `12.5` → `(125, 1)`; `None` when the shortest form is too long to hold.
pub(crate) fn decimal(x: f64) -> Option<(i128, u32)> {
    let s = format!("{x}");
    if s.len() > 30 || s.contains(['e', 'E']) {
        return None;
    }
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let digits = format!("{int}{frac}");
    let mantissa = digits.parse::<i128>().ok()?;
    Some((mantissa, u32::try_from(frac.len()).ok()?))
}

pub(crate) fn decimals_of(x: f64) -> usize {
    let s = format!("{x}");
    s.split_once('.').map_or(0, |(_, f)| f.len()).min(15)
}

pub(crate) fn round_to(x: f64, decimals: usize) -> f64 {
    format!("{x:.decimals$}").parse::<f64>().unwrap_or(x)
}

pub(crate) fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a.abs() } else { gcd(b, a % b) }
}

pub(crate) fn lcm(a: i64, b: i64) -> Option<i64> {
    let g = gcd(a, b);
    if g == 0 {
        return Some(0);
    }
    (a / g).checked_mul(b).map(i64::abs)
}

/// Smallest positive integer that is a multiple of `m` (`0.5` → 1, `0.3` → 3, `4` → 4).
pub(crate) fn integer_step(m: f64) -> Option<i64> {
    if m.fract() == 0.0 && m <= MAX_SAFE_INT as f64 {
        return Some(m as i64);
    }
    (1..=1000).find_map(|n| {
        let x = m * f64::from(n);
        let r = x.round();
        (r >= 1.0 && r <= MAX_SAFE_INT as f64 && (x - r).abs() < 1e-9 && is_multiple(r, m))
            .then_some(r as i64)
    })
}

/// JSON equality with numbers compared by value (`1` equals `1.0`).
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(i), Some(j)) => i == j,
                _ => x.as_f64() == y.as_f64(),
            },
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

pub(crate) fn is_null_only(s: &Value) -> bool {
    match s {
        Value::Object(m) => {
            m.get("type").is_some_and(|t| type_bits(t) == T_NULL)
                || m.get("const") == Some(&Value::Null)
                || m.get("enum") == Some(&Value::Array(vec![Value::Null]))
        }
        _ => false,
    }
}

/// Subschemas that element `i` of an array must satisfy under one schema.
pub(crate) fn item_schema(p: &Obj, i: usize) -> Option<&Value> {
    if let Some(Value::Array(prefix)) = p.get("prefixItems") {
        if let Some(s) = prefix.get(i) {
            return Some(s);
        }
        return p.get("items");
    }
    match p.get("items") {
        Some(Value::Array(tuple)) => tuple.get(i).or_else(|| p.get("additionalItems")),
        other => other,
    }
}

/// The fixed number of positions after which one schema forbids further items, if any.
pub(crate) fn item_limit(p: &Obj) -> Option<usize> {
    if let Some(Value::Array(prefix)) = p.get("prefixItems") {
        return (p.get("items") == Some(&Value::Bool(false))).then_some(prefix.len());
    }
    match p.get("items") {
        Some(Value::Array(tuple)) => {
            (p.get("additionalItems") == Some(&Value::Bool(false))).then_some(tuple.len())
        }
        Some(Value::Bool(false)) => Some(0),
        _ => None,
    }
}

/// Subschemas a property `name` must satisfy under one schema (ignoring `patternProperties`).
pub(crate) fn property_schema<'v>(p: &'v Obj, name: &str) -> Option<&'v Value> {
    p.get("properties")
        .and_then(|props| props.get(name))
        .or_else(|| p.get("additionalProperties"))
}

/// A hash of a JSON value that agrees with [`json_eq`]: numbers by value (`1` = `1.0`),
/// object members in any order.
pub(crate) fn json_hash(v: &Value) -> u64 {
    use std::hash::{Hash, Hasher};
    fn feed(v: &Value, h: &mut std::collections::hash_map::DefaultHasher) {
        match v {
            Value::Null => 0u8.hash(h),
            Value::Bool(b) => (1u8, b).hash(h),
            Value::Number(n) => (2u8, n.as_f64().map(f64::to_bits)).hash(h),
            Value::String(s) => (3u8, s).hash(h),
            Value::Array(a) => {
                (4u8, a.len()).hash(h);
                a.iter().for_each(|x| feed(x, h));
            }
            Value::Object(o) => {
                // Order-independent: combine member hashes with a commutative sum.
                let mut sum = 0u64;
                for (k, x) in o {
                    let mut m = std::collections::hash_map::DefaultHasher::new();
                    k.hash(&mut m);
                    feed(x, &mut m);
                    sum = sum.wrapping_add(m.finish());
                }
                (5u8, o.len(), sum).hash(h);
            }
        }
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    feed(v, &mut h);
    h.finish()
}

/// Whether the items of `a` are pairwise distinct: hashed, so linear in the items' size,
/// with [`json_eq`] only on hash collisions. Metered: one step per item.
pub(crate) fn all_distinct(a: &[Value], meter: &crate::budget::Meter) -> bool {
    let mut seen: std::collections::HashMap<u64, Vec<usize>> =
        std::collections::HashMap::with_capacity(a.len());
    for (i, x) in a.iter().enumerate() {
        if !meter.step(1) {
            return false;
        }
        let bucket = seen.entry(json_hash(x)).or_default();
        if bucket.iter().any(|&j| json_eq(&a[j], x)) {
            return false;
        }
        bucket.push(i);
    }
    true
}
