//! The schema document: resolution, termination analysis, validation.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::budget::{Budget, Meter};

use crate::Obj;
#[allow(unused_imports)]
use crate::check::*;
#[allow(unused_imports)]
use crate::keywords::*;
#[allow(unused_imports)]
use crate::openapi::*;
#[allow(unused_imports)]
use crate::types::*;
#[allow(unused_imports)]
use crate::*;

#[derive(Clone, Copy)]
pub(crate) struct Doc<'g> {
    pub(crate) root: &'g Value,
    pub(crate) ref_cost: &'g BTreeMap<String, u32>,
    /// Meters validation: a schema can make checking a value exponential (`allOf` through
    /// `$ref`s), so every node visited counts.
    pub(crate) meter: &'g Meter,
}

/// Least instance depth through each `$ref`, by fixed-point iteration from "none".
pub(crate) fn ref_costs(root: &Value, refs: &[String]) -> BTreeMap<String, u32> {
    let unmetered = Meter::new(&Budget::unlimited());
    // A reference that does not resolve reads as `{}`: nothing to build.
    let mut env: BTreeMap<String, u32> = refs
        .iter()
        .map(|r| (r.clone(), if resolve(root, r).is_some() { INF } else { 0 }))
        .collect();
    for _ in 0..1000 {
        let mut changed = false;
        for r in refs {
            let Some(target) = resolve(root, r) else {
                continue;
            };
            let c = Doc {
                root,
                ref_cost: &env,
                meter: &unmetered,
            }
            .cost(target, 0);
            if c < env.get(r).copied().unwrap_or(INF) {
                env.insert(r.clone(), c);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    env
}

pub(crate) fn add1(c: u32) -> u32 {
    if c == INF { INF } else { c + 1 }
}

impl<'g> Doc<'g> {
    pub(crate) fn resolve(&self, r: &str) -> Option<&'g Value> {
        resolve(self.root, r)
    }

    /// False when `s` (or what its `$ref`/`allOf` lead to, a few levels down) has a `pattern`
    /// the generator cannot follow, so a value for it would likely not match.
    pub(crate) fn faithful(&self, s: &Value) -> bool {
        self.faithful_at(s, 0)
    }

    pub(crate) fn faithful_at(&self, s: &Value, hops: usize) -> bool {
        let Value::Object(m) = s else {
            return true;
        };
        if hops > 8 {
            return true;
        }
        if m.get("pattern")
            .and_then(Value::as_str)
            .is_some_and(|p| !pattern::supported(p))
        {
            return false;
        }
        let via_ref = m
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| self.resolve(r))
            .is_none_or(|t| self.faithful_at(t, hops + 1));
        let via_all = match m.get("allOf") {
            Some(Value::Array(all)) => all.iter().all(|x| self.faithful_at(x, hops + 1)),
            _ => true,
        };
        via_ref && via_all
    }

    /// Least nesting depth of an instance of `s`, following `$ref`s through `ref_cost`.
    /// Mirrors the choices generation makes past its depth budget.
    pub(crate) fn cost(&self, s: &Value, depth: usize) -> u32 {
        if depth > 2 * MAX_NESTING {
            return INF;
        }
        let m = match s {
            Value::Bool(true) => return 0,
            Value::Object(m) => m,
            _ => return INF,
        };
        let mut c = self.own_cost(m, depth);
        if let Some(r) = m.get("$ref").and_then(Value::as_str) {
            c = c.max(self.ref_cost.get(r).copied().unwrap_or(INF));
        }
        if let Some(Value::Array(all)) = m.get("allOf") {
            for x in all {
                c = c.max(self.cost(x, depth + 1));
            }
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(Value::Array(branches)) = m.get(key) {
                let best = branches
                    .iter()
                    .map(|x| self.cost(x, depth + 1))
                    .min()
                    .unwrap_or(INF);
                c = c.max(best);
            }
        }
        c
    }

    pub(crate) fn own_cost(&self, m: &Obj, depth: usize) -> u32 {
        if let Some(Value::Array(e)) = m.get("enum") {
            return if e.is_empty() { INF } else { 0 };
        }
        if m.contains_key("const") {
            return 0;
        }
        let Some(bits) = m.get("type").map(type_bits) else {
            // Without `type`, a plain string is always an option.
            return 0;
        };
        if bits & T_SCALAR != 0 {
            return 0;
        }
        let mut best = INF;
        if bits & T_ARR != 0 {
            best = best.min(self.array_cost(m, depth));
        }
        if bits & T_OBJ != 0 {
            best = best.min(self.object_cost(m, depth));
        }
        best
    }

    pub(crate) fn array_cost(&self, m: &Obj, depth: usize) -> u32 {
        let n = m.get("minItems").and_then(count).unwrap_or(0);
        let needs_contains =
            m.contains_key("contains") && m.get("minContains").and_then(count).unwrap_or(1) > 0;
        if n == 0 && !needs_contains {
            return 0;
        }
        let mut worst = 0;
        // Positions past the tuple share one schema; only distinct ones need costing.
        let distinct = match (m.get("prefixItems"), m.get("items")) {
            (Some(Value::Array(p)), _) | (None, Some(Value::Array(p))) => p.len() + 1,
            _ => 1,
        };
        for i in 0..to_usize(n).min(distinct) {
            let c = item_schema(m, i).map_or(0, |s| self.cost(s, depth + 1));
            worst = worst.max(c);
        }
        if needs_contains {
            if let Some(c) = m.get("contains") {
                worst = worst.max(self.cost(c, depth + 1));
            }
        }
        add1(worst)
    }

    pub(crate) fn object_cost(&self, m: &Obj, depth: usize) -> u32 {
        let Some(Value::Array(required)) = m.get("required") else {
            return 0;
        };
        if required.is_empty() {
            return 0;
        }
        let worst = required
            .iter()
            .filter_map(Value::as_str)
            .map(|k| property_schema(m, k).map_or(0, |s| self.cost(s, depth + 1)))
            .max()
            .unwrap_or(0);
        add1(worst)
    }

    pub(crate) fn valid_all(&self, v: &Value, schemas: &[&Value]) -> bool {
        schemas.iter().all(|s| self.valid(v, s, 0))
    }

    /// JSON Schema validation of the keywords listed in the module doc; `pattern`, `format` and
    /// `patternProperties` matching are not checked.
    pub(crate) fn valid(&self, v: &Value, s: &Value, depth: usize) -> bool {
        if depth > 4 * MAX_NESTING || !self.meter.step(1) {
            return false;
        }
        match s {
            Value::Bool(b) => *b,
            Value::Object(m) => self.valid_obj(v, m, depth + 1),
            _ => false,
        }
    }

    pub(crate) fn valid_obj(&self, v: &Value, m: &Obj, d: usize) -> bool {
        if let Some(r) = m.get("$ref").and_then(Value::as_str) {
            // A reference that does not resolve is `{}`.
            if self.resolve(r).is_some_and(|t| !self.valid(v, t, d)) {
                return false;
            }
        }
        if let Some(t) = m.get("type") {
            if type_bits(t) & value_bit(v) == 0 {
                return false;
            }
        }
        if let Some(Value::Array(e)) = m.get("enum") {
            if !e.iter().any(|x| json_eq(x, v)) {
                return false;
            }
        }
        if let Some(c) = m.get("const") {
            if !json_eq(c, v) {
                return false;
            }
        }
        if let Some(Value::Array(all)) = m.get("allOf") {
            if !all.iter().all(|x| self.valid(v, x, d)) {
                return false;
            }
        }
        if let Some(Value::Array(any)) = m.get("anyOf") {
            if !any.iter().any(|x| self.valid(v, x, d)) {
                return false;
            }
        }
        if let Some(Value::Array(one)) = m.get("oneOf") {
            if one.iter().filter(|x| self.valid(v, x, d)).take(2).count() != 1 {
                return false;
            }
        }
        if let Some(n) = m.get("not") {
            if self.valid(v, n, d) {
                return false;
            }
        }
        if let Some(cond) = m.get("if") {
            let branch = if self.valid(v, cond, d) {
                m.get("then")
            } else {
                m.get("else")
            };
            if branch.is_some_and(|b| !self.valid(v, b, d)) {
                return false;
            }
        }
        match v {
            Value::Number(n) => n.as_f64().is_none_or(|f| NumBounds::of([m]).contains(f)),
            Value::String(s) => {
                let len = s.chars().count() as u64;
                m.get("minLength").and_then(count).is_none_or(|n| len >= n)
                    && m.get("maxLength").and_then(count).is_none_or(|n| len <= n)
            }
            Value::Array(a) => self.valid_array(a, m, d),
            Value::Object(o) => self.valid_object(o, m, d),
            Value::Null | Value::Bool(_) => true,
        }
    }

    pub(crate) fn valid_array(&self, a: &[Value], m: &Obj, d: usize) -> bool {
        let len = a.len() as u64;
        if m.get("minItems").and_then(count).is_some_and(|n| len < n)
            || m.get("maxItems").and_then(count).is_some_and(|n| len > n)
        {
            return false;
        }
        if m.get("uniqueItems") == Some(&Value::Bool(true)) && !all_distinct(a, self.meter) {
            return false;
        }
        for (i, x) in a.iter().enumerate() {
            if let Some(s) = item_schema(m, i) {
                if !self.valid(x, s, d) {
                    return false;
                }
            }
        }
        if let Some(c) = m.get("contains") {
            let hits = a.iter().filter(|x| self.valid(x, c, d)).count() as u64;
            let min = m.get("minContains").and_then(count).unwrap_or(1);
            if hits < min || m.get("maxContains").and_then(count).is_some_and(|n| hits > n) {
                return false;
            }
        }
        true
    }

    pub(crate) fn valid_object(&self, o: &Obj, m: &Obj, d: usize) -> bool {
        let len = o.len() as u64;
        if m.get("minProperties").and_then(count).is_some_and(|n| len < n)
            || m.get("maxProperties").and_then(count).is_some_and(|n| len > n)
        {
            return false;
        }
        if let Some(Value::Array(req)) = m.get("required") {
            if req.iter().filter_map(Value::as_str).any(|k| !o.contains_key(k)) {
                return false;
            }
        }
        let has_patterns = matches!(m.get("patternProperties"), Some(Value::Object(p)) if !p.is_empty());
        for (k, x) in o {
            let declared = m.get("properties").and_then(|p| p.get(k));
            let schema = match declared {
                Some(s) => Some(s),
                // Which keys a pattern matches is unknown here, so extra keys are not judged.
                None if has_patterns => None,
                None => m.get("additionalProperties"),
            };
            if schema.is_some_and(|s| !self.valid(x, s, d)) {
                return false;
            }
            if let Some(names) = m.get("propertyNames") {
                if !self.valid(&Value::String(k.clone()), names, d) {
                    return false;
                }
            }
        }
        for key in ["dependentRequired", "dependencies", "dependentSchemas"] {
            let Some(Value::Object(deps)) = m.get(key) else {
                continue;
            };
            for (k, dep) in deps {
                if !o.contains_key(k) {
                    continue;
                }
                let ok = match dep {
                    Value::Array(names) => names.iter().filter_map(Value::as_str).all(|n| o.contains_key(n)),
                    schema => self.valid(&Value::Object(o.clone()), schema, d),
                };
                if !ok {
                    return false;
                }
            }
        }
        true
    }
}
