//! Generation: one walk over the schema with a random number generator.

use std::collections::HashSet;

use rand::Rng;
use rand::seq::SliceRandom;
use serde_json::Value;

use crate::Obj;
#[allow(unused_imports)]
use crate::check::*;
#[allow(unused_imports)]
use crate::doc::*;
use crate::guide::{Guide, Oracle, Site, coercions};
#[allow(unused_imports)]
use crate::keywords::*;
#[allow(unused_imports)]
use crate::openapi::*;
#[allow(unused_imports)]
use crate::types::*;
#[allow(unused_imports)]
use crate::*;

/// The schemas one value must satisfy together, after `$ref`, `allOf` and the chosen `anyOf` /
/// `oneOf` branches have been expanded.
#[derive(Clone)]
pub(crate) struct Acc<'g> {
    pub(crate) parts: Vec<&'g Obj>,
    /// Types every part allows.
    pub(crate) types: u8,
    /// Values allowed by every `enum`/`const` seen, if any was.
    pub(crate) literals: Option<Vec<&'g Value>>,
}

impl<'g> Acc<'g> {
    pub(crate) fn new() -> Self {
        Acc {
            parts: Vec::new(),
            types: T_ALL,
            literals: None,
        }
    }

    pub(crate) fn add(&mut self, m: &'g Obj) -> Result<(), SchemaError> {
        self.parts.push(m);
        if let Some(t) = m.get("type") {
            self.types &= type_bits(t);
            if self.types == 0 {
                return Err(SchemaError::Unsatisfiable(format!(
                    "conflicting types (type {t} excludes the others)"
                )));
            }
        }
        if let Some(Value::Array(e)) = m.get("enum") {
            if e.is_empty() {
                return Err(SchemaError::Unsatisfiable("enum is empty".into()));
            }
            self.narrow(e.iter().collect())?;
        }
        if let Some(c) = m.get("const") {
            self.narrow(vec![c])?;
        }
        Ok(())
    }

    pub(crate) fn narrow(&mut self, allowed: Vec<&'g Value>) -> Result<(), SchemaError> {
        let kept: Vec<&'g Value> = match self.literals.take() {
            None => allowed,
            Some(prev) => prev
                .into_iter()
                .filter(|v| allowed.iter().any(|a| json_eq(a, v)))
                .collect(),
        };
        if kept.is_empty() {
            return Err(SchemaError::Unsatisfiable(
                "enum/const values do not intersect".into(),
            ));
        }
        self.literals = Some(kept);
        Ok(())
    }

    pub(crate) fn title(&self) -> Option<&'g str> {
        self.parts
            .iter()
            .find_map(|p| p.get("title").and_then(Value::as_str))
    }
}

/// Where a value is generated: its property name, the sample for it, and the enclosing
/// sample object's concrete text.
#[derive(Clone, Copy)]
pub(crate) struct At<'a> {
    pub(crate) hint: Option<&'a str>,
    pub(crate) guide: Option<&'a Guide>,
    pub(crate) context: &'a [(String, String)],
    pub(crate) in_item: bool,
}

impl<'a> At<'a> {
    pub(crate) fn top() -> Self {
        At {
            hint: None,
            guide: None,
            context: &[],
            in_item: false,
        }
    }

    /// The place of a member of this object: same candidate, its own name and sample.
    fn member<'b>(&self, name: &'b str, guide: Option<&'b Guide>, context: &'b [(String, String)]) -> At<'b>
    where
        'a: 'b,
    {
        At {
            hint: Some(name),
            guide,
            context,
            in_item: self.in_item,
        }
    }

    fn site(&self, hint: Option<&'a str>) -> Site<'a> {
        Site {
            name: self.hint.or(hint),
            hole: match self.guide {
                Some(Guide::Hole(h)) => Some(h.as_str()),
                _ => None,
            },
            context: self.context,
            in_item: self.in_item,
        }
    }
}

pub(crate) struct Run<'g, 'r, R: Rng + ?Sized> {
    pub(crate) doc: Doc<'g>,
    pub(crate) rng: &'r mut R,
    /// Answers the choices the schema leaves open.
    pub(crate) oracle: &'r mut dyn Oracle,
    /// Values left to generate before giving up; keeps retries on narrow schemas bounded.
    pub(crate) fuel: u32,
    pub(crate) max_depth: usize,
    /// The instance location being generated (`["items", "17"]`), for budget errors.
    pub(crate) path: Vec<String>,
    /// Where the budget ran out, recorded when it first did.
    pub(crate) over_at: Option<String>,
}

impl<'g, R: Rng + ?Sized> Run<'g, '_, R> {
    /// A value satisfying every schema in `schemas`, checked before it is returned.
    pub(crate) fn value(
        &mut self,
        schemas: &[&'g Value],
        at: At<'_>,
        depth: usize,
    ) -> Result<Value, SchemaError> {
        let v = self.value_unmetered(schemas, at, depth);
        self.check_budget()?;
        // The value's own bytes (strings count as they are built); containers add their
        // punctuation.
        let own = match &v {
            Ok(Value::String(_)) | Err(_) => 0,
            Ok(Value::Number(n)) => n.to_string().len(),
            Ok(_) => 2,
        };
        if !self.doc.meter.bytes(own) {
            self.check_budget()?;
        }
        v
    }

    /// The budget as an error, once it has run out.
    pub(crate) fn check_budget(&mut self) -> Result<(), SchemaError> {
        match self.doc.meter.limit() {
            None => Ok(()),
            Some(limit) => {
                let path = &self.path;
                let at = self.over_at.get_or_insert_with(|| {
                    path.iter().fold(String::new(), |mut s, seg| {
                        s.push('/');
                        s.push_str(seg);
                        s
                    })
                });
                Err(SchemaError::OverBudget {
                    limit,
                    at: at.clone(),
                })
            }
        }
    }

    fn value_unmetered(
        &mut self,
        schemas: &[&'g Value],
        at: At<'_>,
        depth: usize,
    ) -> Result<Value, SchemaError> {
        if depth > self.max_depth + HARD_DEPTH_MARGIN {
            return Err(SchemaError::UnboundedRecursion(format!(
                "instance nesting passed {} levels",
                self.max_depth + HARD_DEPTH_MARGIN
            )));
        }
        let attempts = if depth == 0 { 16 } else { 4 };
        let mut last = SchemaError::Unsatisfiable("no attempt made".into());
        for attempt in 0..attempts {
            if self.fuel == 0 {
                return Err(SchemaError::Unsatisfiable(format!(
                    "gave up after {FUEL} generation steps"
                )));
            }
            self.fuel -= 1;
            // A sample that keeps failing is dropped for the last tries: the schema wins.
            let at = if attempt + 2 >= attempts && attempts > 2 {
                At { guide: None, ..at }
            } else {
                at
            };
            match self.attempt(schemas, at, depth, (attempt, attempts)) {
                Ok(v) if self.doc.valid_all(&v, schemas) => return Ok(v),
                Ok(_) => {
                    last = SchemaError::Unsatisfiable(
                        "no candidate met every constraint (not/if/oneOf/dependencies?)".into(),
                    );
                }
                Err(e) if e.is_soft() && self.fuel > 0 => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    pub(crate) fn attempt(
        &mut self,
        schemas: &[&'g Value],
        at: At<'_>,
        depth: usize,
        try_no: (usize, usize),
    ) -> Result<Value, SchemaError> {
        // A concrete sample value is echoed when it validates (strings only without a
        // `pattern` or `format`, which the internal validator does not check).
        if let Some(Guide::Value(v)) = at.guide {
            for candidate in coercions(v) {
                if self.doc.valid_all(&candidate, schemas)
                    && !(candidate.is_string() && has_string_shape(&self.doc, schemas))
                {
                    return Ok(candidate);
                }
            }
        }
        let over = depth >= self.max_depth;
        let mut acc = Acc::new();
        for s in schemas {
            self.flatten(s, &mut acc, over, 0)?;
        }
        let title = acc.title();
        let hint = at.hint.or(title);
        if let Some(v) = self.literal(&acc, schemas, at, title)? {
            return Ok(v);
        }
        match self.choose_kind(&acc, over, try_no, at.guide)? {
            Kind::Null => Ok(Value::Null),
            Kind::Bool => {
                let site = at.site(title);
                let b = self
                    .oracle
                    .boolean(&site)
                    .unwrap_or_else(|| self.rng.gen_bool(0.5));
                Ok(Value::Bool(b))
            }
            Kind::Integer => self.integer(&acc.parts, hint),
            Kind::Number => self.number(&acc.parts, hint),
            Kind::String => self.string(&acc.parts, hint, at.site(title)).map(Value::String),
            Kind::Array => self.array(&acc.parts, hint, at, depth),
            Kind::Object => self.object(&acc.parts, hint, at, depth),
        }
    }

    /// Whether the optional value at hand is left out (or null): the oracle's rate, else
    /// the unguided habit `unguided`.
    fn draw_null(&mut self, unguided: f64) -> bool {
        let rate = self.oracle.null_rate().unwrap_or(unguided);
        rate > 0.0 && self.rng.gen_bool(rate.min(1.0))
    }

    /// Expand `$ref`, `allOf` and one branch of each `anyOf`/`oneOf` into `acc`.
    pub(crate) fn flatten(
        &mut self,
        s: &'g Value,
        acc: &mut Acc<'g>,
        over: bool,
        hops: usize,
    ) -> Result<(), SchemaError> {
        if hops > MAX_NESTING {
            return Err(SchemaError::UnboundedRecursion(
                "$ref/allOf chain does not reach a schema".into(),
            ));
        }
        // Each hop is work: `allOf` of `$ref`s can double at every level.
        if !self.doc.meter.step(1) {
            return self.check_budget();
        }
        let m = match s {
            Value::Bool(true) => return Ok(()),
            Value::Bool(false) => {
                return Err(SchemaError::Unsatisfiable("the `false` schema".into()));
            }
            Value::Object(m) => m,
            other => {
                return Err(SchemaError::InvalidSchema(format!(
                    "subschema is {}",
                    kind_name(other)
                )));
            }
        };
        acc.add(m)?;
        // A reference that does not resolve (another document, a missing pointer) is `{}`.
        if let Some(target) = m
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| self.doc.resolve(r))
        {
            self.flatten(target, acc, over, hops + 1)?;
        }
        if let Some(Value::Array(all)) = m.get("allOf") {
            for x in all {
                self.flatten(x, acc, over, hops + 1)?;
            }
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(Value::Array(branches)) = m.get(key) {
                self.choose_branch(key, branches, acc, over, hops)?;
            }
        }
        if let Some(cond) = m.get("if") {
            self.choose_conditional(cond, m.get("then"), m.get("else"), acc, over, hops)?;
        }
        Ok(())
    }

    /// `if`/`then`/`else` read as two branches: build for `if` and `then` together, or for
    /// `else` alone (then checked: the value must not meet `if`). Past the depth budget the
    /// cheaper one goes first, otherwise a random one; the other is the fallback.
    pub(crate) fn choose_conditional(
        &mut self,
        cond: &'g Value,
        then: Option<&'g Value>,
        otherwise: Option<&'g Value>,
        acc: &mut Acc<'g>,
        over: bool,
        hops: usize,
    ) -> Result<(), SchemaError> {
        if then.is_none() && otherwise.is_none() {
            return Ok(());
        }
        let met: Vec<&'g Value> = std::iter::once(cond).chain(then).collect();
        let unmet: Vec<&'g Value> = otherwise.into_iter().collect();
        let met_first = if over {
            let cost = |schemas: &[&Value]| schemas.iter().map(|s| self.doc.cost(s, 0)).max().unwrap_or(0);
            cost(&met) <= cost(&unmet)
        } else {
            self.rng.gen_bool(0.5)
        };
        let options = if met_first { [&met, &unmet] } else { [&unmet, &met] };
        let mut last = None;
        for option in options {
            let mut trial = acc.clone();
            let tried = option
                .iter()
                .try_for_each(|s| self.flatten(s, &mut trial, over, hops + 1));
            match tried {
                Ok(()) => {
                    *acc = trial;
                    return Ok(());
                }
                Err(e) if e.is_soft() => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| SchemaError::Unsatisfiable("no `if`/`else` branch is satisfiable".into())))
    }

    pub(crate) fn choose_branch(
        &mut self,
        key: &str,
        branches: &'g [Value],
        acc: &mut Acc<'g>,
        over: bool,
        hops: usize,
    ) -> Result<(), SchemaError> {
        if branches.is_empty() {
            return Err(SchemaError::Unsatisfiable(format!("`{key}` has no branch")));
        }
        let mut last = None;
        for i in self.branch_order(branches, over) {
            let mut trial = acc.clone();
            match self.flatten(&branches[i], &mut trial, over, hops + 1) {
                Ok(()) => {
                    *acc = trial;
                    return Ok(());
                }
                Err(e) if e.is_soft() => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| SchemaError::Unsatisfiable(format!("no `{key}` branch is satisfiable"))))
    }

    /// Branch indices in the order to try: cheapest first past the depth budget, otherwise a
    /// random order in which a null-only branch comes first about one time in four. Branches
    /// whose `pattern` the generator cannot follow go last either way (pydantic's `Decimal` is
    /// `anyOf: [number, string with a look-ahead pattern]`).
    pub(crate) fn branch_order(&mut self, branches: &[Value], over: bool) -> Vec<usize> {
        let doc = self.doc;
        let mut order: Vec<usize> = (0..branches.len()).collect();
        if over {
            order.shuffle(self.rng);
            order.sort_by_key(|&i| (doc.cost(&branches[i], 0), !doc.faithful(&branches[i])));
            return order;
        }
        let (mut weighted, last): (Vec<usize>, Vec<usize>) =
            order.into_iter().partition(|&i| doc.faithful(&branches[i]));
        if let Some(rate) = self.oracle.null_rate() {
            // Guided: the null branch comes first at the oracle's rate, else last.
            let (nulls, mut others): (Vec<usize>, Vec<usize>) =
                weighted.into_iter().partition(|&i| is_null_only(&branches[i]));
            others.shuffle(self.rng);
            let null_first = !nulls.is_empty() && rate > 0.0 && self.rng.gen_bool(rate.min(1.0));
            let mut out = Vec::with_capacity(branches.len());
            if null_first {
                out.extend(&nulls);
                out.extend(others);
            } else {
                out.extend(others);
                out.extend(nulls);
            }
            out.extend(last);
            return out;
        }
        let mut out = Vec::with_capacity(branches.len());
        while !weighted.is_empty() {
            let weights: Vec<u32> = weighted
                .iter()
                .map(|&i| if is_null_only(&branches[i]) { 1 } else { 3 })
                .collect();
            let pick = self.pick_weighted(&weights);
            out.push(weighted.remove(pick));
        }
        out.extend(last);
        out
    }

    pub(crate) fn pick_weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        if total == 0 {
            return 0;
        }
        let mut r = self.rng.gen_range(0..total);
        for (i, w) in weights.iter().enumerate() {
            if r < *w {
                return i;
            }
            r -= w;
        }
        weights.len().saturating_sub(1)
    }

    pub(crate) fn pick<'x, T>(&mut self, items: &'x [T]) -> Option<&'x T> {
        items.choose(self.rng)
    }

    /// An `enum`/`const` value if the schema has them (the oracle may pick which); sometimes
    /// a `default` or example.
    pub(crate) fn literal(
        &mut self,
        acc: &Acc<'g>,
        schemas: &[&'g Value],
        at: At<'_>,
        title: Option<&str>,
    ) -> Result<Option<Value>, SchemaError> {
        if let Some(lits) = &acc.literals {
            let ok: Vec<Value> = lits
                .iter()
                .copied()
                .filter(|v| self.doc.valid_all(v, schemas))
                .cloned()
                .collect();
            if ok.is_empty() {
                return Err(SchemaError::Unsatisfiable(
                    "no enum/const value meets the other constraints".into(),
                ));
            }
            let chosen = self
                .oracle
                .choose(&at.site(title), &ok)
                .filter(|&i| i < ok.len())
                .unwrap_or_else(|| self.rng.gen_range(0..ok.len()));
            return Ok(Some(ok[chosen].clone()));
        }
        let mut candidates: Vec<&'g Value> = Vec::new();
        for p in &acc.parts {
            candidates.extend(p.get("default"));
            candidates.extend(p.get("example"));
            if let Some(Value::Array(examples)) = p.get("examples") {
                candidates.extend(examples.iter());
            }
        }
        if !candidates.is_empty() && self.rng.gen_bool(0.25) {
            if let Some(c) = self.pick(&candidates).copied() {
                if self.doc.valid_all(c, schemas) {
                    return Ok(Some(c.clone()));
                }
            }
        }
        Ok(None)
    }

    /// The kind of value to build. `try_no` is (this attempt, attempts allowed).
    pub(crate) fn choose_kind(
        &mut self,
        acc: &Acc<'g>,
        over: bool,
        (attempt, attempts): (usize, usize),
        guide: Option<&Guide>,
    ) -> Result<Kind, SchemaError> {
        let inferred = acc.types == T_ALL;
        let mut bits = if inferred {
            inferred_bits(&acc.parts)
        } else {
            acc.types
        };
        if inferred {
            // An untyped schema with nothing to go on (`{}`, `true`) reads best as a string;
            // if strings keep failing (`not: {type: string}`), any kind may do. A string is
            // also the fallback when the inferred kind keeps failing.
            if bits == 0 && attempt == 0 || bits != 0 && attempt + 1 == attempts {
                return Ok(Kind::String);
            }
            if bits == 0 {
                bits = T_ALL;
            }
        }
        let kinds = kinds_of(bits);
        if kinds.is_empty() {
            return Err(SchemaError::Unsatisfiable("no type remains".into()));
        }
        if over {
            let costs: Vec<u32> = kinds.iter().map(|k| self.kind_cost(*k, acc)).collect();
            let best = costs.iter().copied().min().unwrap_or(INF);
            if inferred && best > 0 {
                return Ok(Kind::String);
            }
            let cheapest: Vec<Kind> = kinds
                .iter()
                .zip(&costs)
                .filter(|(_, c)| **c == best)
                .map(|(k, _)| *k)
                .collect();
            return Ok(self.pick(&cheapest).copied().unwrap_or(Kind::Null));
        }
        // The sample's shape decides between the kinds the schema allows.
        let shaped = match guide {
            Some(Guide::Object(_)) => Some(Kind::Object),
            Some(Guide::Array { .. }) => Some(Kind::Array),
            _ => None,
        };
        if let Some(kind) = shaped.filter(|k| kinds.contains(k)) {
            return Ok(kind);
        }
        if self.oracle.null_rate().is_some() {
            let others: Vec<Kind> = kinds.iter().copied().filter(|k| *k != Kind::Null).collect();
            if others.is_empty() {
                return Ok(Kind::Null);
            }
            if kinds.contains(&Kind::Null) && self.draw_null(0.25) {
                return Ok(Kind::Null);
            }
            return Ok(others[self.rng.gen_range(0..others.len())]);
        }
        let weights: Vec<u32> = kinds
            .iter()
            .map(|k| if *k == Kind::Null { 1 } else { 3 })
            .collect();
        let i = self.pick_weighted(&weights);
        Ok(kinds.get(i).copied().unwrap_or(Kind::Null))
    }

    pub(crate) fn kind_cost(&self, kind: Kind, acc: &Acc<'g>) -> u32 {
        match kind {
            Kind::Array => acc
                .parts
                .iter()
                .map(|p| self.doc.array_cost(p, 0))
                .max()
                .unwrap_or(0),
            Kind::Object => acc
                .parts
                .iter()
                .map(|p| self.doc.object_cost(p, 0))
                .max()
                .unwrap_or(0),
            Kind::Null | Kind::Bool | Kind::Integer | Kind::Number | Kind::String => 0,
        }
    }

    // -- numbers ------------------------------------------------------------------------------

    pub(crate) fn integer(&mut self, parts: &[&'g Obj], hint: Option<&str>) -> Result<Value, SchemaError> {
        let b = NumBounds::of(parts.iter().copied());
        // `as` saturates: bounds beyond i64 become i64::MIN/MAX.
        let lo =
            b.lo.map(|(v, ex)| (if ex { v.floor() + 1.0 } else { v.ceil() }) as i64);
        let hi =
            b.hi.map(|(v, ex)| (if ex { v.ceil() - 1.0 } else { v.floor() }) as i64);
        if let (Some(l), Some(h)) = (lo, hi) {
            if l > h {
                return Err(SchemaError::Unsatisfiable(format!(
                    "no integer between the bounds ({l} > {h})"
                )));
            }
        }
        let mut step = 1_i64;
        for m in &b.multiples {
            let s = integer_step(*m)
                .ok_or_else(|| SchemaError::Unsatisfiable(format!("no integer is a multiple of {m}")))?;
            step = lcm(step, s)
                .filter(|s| *s > 0)
                .ok_or_else(|| SchemaError::Unsatisfiable("multipleOf values too large".into()))?;
        }
        let k = self.pick_multiple(lo, hi, step, int_hint_range(hint))?;
        Ok(Value::from(k))
    }

    /// A multiple of `step` in `[lo, hi]` (and in i64), inside `pref` when the two overlap.
    pub(crate) fn pick_multiple(
        &mut self,
        lo: Option<i64>,
        hi: Option<i64>,
        step: i64,
        pref: (i64, i64),
    ) -> Result<i64, SchemaError> {
        let step = i128::from(step.max(1));
        let ceil_div = |n: i64| {
            let n = i128::from(n);
            n.div_euclid(step) + i128::from(n.rem_euclid(step) != 0)
        };
        let floor_div = |n: i64| i128::from(n).div_euclid(step);
        let (kmin, kmax) = (ceil_div(i64::MIN), floor_div(i64::MAX));
        let kl = lo.map(|l| ceil_div(l).max(kmin));
        let kh = hi.map(|h| floor_div(h).min(kmax));
        if kl.unwrap_or(kmin) > kh.unwrap_or(kmax) {
            return Err(SchemaError::Unsatisfiable(format!(
                "no multiple of {step} between the bounds"
            )));
        }
        let (pa, pb) = (ceil_div(pref.0), floor_div(pref.1));
        let a = kl.map_or(pa, |k| k.max(pa));
        let b = kh.map_or(pb, |k| k.min(pb));
        let (a, b) = if a <= b {
            (a, b)
        } else {
            match (kl, kh) {
                (Some(l), Some(h)) => (l, h.min(l + 100)),
                (Some(l), None) => (l, (l + 3).min(kmax)),
                (None, Some(h)) => ((h - 3).max(kmin), h),
                (None, None) => (pa.min(pb), pa.min(pb)),
            }
        };
        let k = self.rng.gen_range(a..=b);
        k.checked_mul(step)
            .and_then(|v| i64::try_from(v).ok())
            .ok_or_else(|| SchemaError::Unsatisfiable("integer out of the i64 range".into()))
    }

    pub(crate) fn number(&mut self, parts: &[&'g Obj], hint: Option<&str>) -> Result<Value, SchemaError> {
        let mut b = NumBounds::of(parts.iter().copied());
        b.lo = b.lo.map(|(v, ex)| (v.clamp(-MAX_NUMBER, MAX_NUMBER), ex));
        b.hi = b.hi.map(|(v, ex)| (v.clamp(-MAX_NUMBER, MAX_NUMBER), ex));
        if let (Some((l, lx)), Some((h, hx))) = (b.lo, b.hi) {
            if l > h || (l == h && (lx || hx)) {
                return Err(SchemaError::Unsatisfiable(format!(
                    "no number between the bounds ({l}, {h})"
                )));
            }
        }
        let (pa, pb) = int_hint_range(hint);
        let (pa, pb) = (pa as f64, pb as f64);
        if let Some(&m) = b.multiples.first() {
            let kl = b.lo.map(|(l, ex)| {
                let k = (l / m).ceil();
                if ex && k * m <= l { k + 1.0 } else { k }
            });
            let kh = b.hi.map(|(h, ex)| {
                let k = (h / m).floor();
                if ex && k * m >= h { k - 1.0 } else { k }
            });
            let clamp = |k: f64| k.clamp(-MAX_NUMBER, MAX_NUMBER) as i64;
            let (pka, pkb) = (clamp((pa / m).ceil()), clamp((pb / m).floor()));
            let (kl, kh) = (kl.map(clamp), kh.map(clamp));
            if let (Some(a), Some(b)) = (kl, kh) {
                if a > b {
                    return Err(SchemaError::Unsatisfiable(format!(
                        "no multiple of {m} between the bounds"
                    )));
                }
            }
            let a = kl.map_or(pka, |k| k.max(pka));
            let z = kh.map_or(pkb, |k| k.min(pkb));
            let (a, z) = if a <= z {
                (a, z)
            } else {
                match (kl, kh) {
                    (Some(l), Some(h)) => (l, h.min(l.saturating_add(100))),
                    (Some(l), None) => (l, l.saturating_add(3)),
                    (None, Some(h)) => (h.saturating_sub(3), h),
                    (None, None) => (pka.min(pkb), pka.min(pkb)),
                }
            };
            let places = decimals_of(m);
            for _ in 0..16 {
                let k = self.rng.gen_range(a..=z);
                let v = round_to(k as f64 * m, places);
                if v.is_finite() && b.contains(v) {
                    return Ok(Value::from(v));
                }
            }
            return Err(SchemaError::Unsatisfiable(format!(
                "no number meets multipleOf {m} and the bounds"
            )));
        }
        let lo = b.lo.map(|(v, _)| v);
        let hi = b.hi.map(|(v, _)| v);
        // The hint's range clipped to the bounds first, then the bounds alone.
        let preferred = (lo.map_or(pa, |l| l.max(pa)), hi.map_or(pb, |h| h.min(pb)));
        let fallback = match (lo, hi) {
            (Some(l), Some(h)) => (l, h),
            (Some(l), None) => (l, l + 100.0),
            (None, Some(h)) => (h - 100.0, h),
            (None, None) => (pa, pb),
        };
        for (a, z) in [preferred, fallback] {
            if a > z {
                continue;
            }
            for _ in 0..8 {
                let v = if a < z { self.rng.gen_range(a..=z) } else { a };
                let rounded = (v * 100.0).round() / 100.0;
                if b.contains(rounded) {
                    return Ok(Value::from(rounded));
                }
                if b.contains(v) {
                    return Ok(Value::from(v));
                }
            }
            let mid = a / 2.0 + z / 2.0;
            if b.contains(mid) {
                return Ok(Value::from(mid));
            }
        }
        Err(SchemaError::Unsatisfiable(
            "no number fits between the bounds".into(),
        ))
    }

    // -- strings ------------------------------------------------------------------------------

    pub(crate) fn string(
        &mut self,
        parts: &[&'g Obj],
        hint: Option<&str>,
        site: Site<'_>,
    ) -> Result<String, SchemaError> {
        let min = max_count(parts, "minLength");
        let max = min_count(parts, "maxLength");
        if let Some(mx) = max {
            if min > mx {
                return Err(SchemaError::Unsatisfiable(format!(
                    "minLength {min} > maxLength {mx}"
                )));
            }
        }
        let (min, max) = (to_usize(min), max.map(to_usize));
        // The shortest allowed string must fit the budget left; refuse before building it.
        if min.saturating_add(2) > self.doc.meter.bytes_left() {
            self.doc.meter.bytes(min.saturating_add(2));
            self.check_budget()?;
        }
        let s = self.string_unmetered(parts, hint, site, min, max)?;
        if !self.doc.meter.bytes(s.len() + 2) || !self.doc.meter.step(1) {
            self.check_budget()?;
        }
        Ok(s)
    }

    fn string_unmetered(
        &mut self,
        parts: &[&'g Obj],
        hint: Option<&str>,
        site: Site<'_>,
        min: usize,
        max: Option<usize>,
    ) -> Result<String, SchemaError> {
        let fits = |s: &str| {
            let n = s.chars().count();
            n >= min && max.is_none_or(|m| n <= m)
        };
        let shaped = parts
            .iter()
            .any(|p| p.contains_key("pattern") || p.contains_key("format"));
        if !shaped {
            if let Some(s) = self.oracle.string(&site) {
                if fits(&s) {
                    return Ok(s);
                }
            }
        }
        if let Some(p) = parts
            .iter()
            .find_map(|p| p.get("pattern").and_then(Value::as_str))
        {
            let cap = self.doc.meter.bytes_left().saturating_sub(2);
            match pattern::generate(p, min, max, cap, self.doc.meter, self.rng) {
                pattern::Outcome::Matched(s) => return Ok(s),
                pattern::Outcome::TooLong { shortest } => {
                    // No string matching the pattern fits in the budget.
                    self.doc.meter.bytes(shortest);
                    self.check_budget()?;
                }
                pattern::Outcome::Unsupported => self.check_budget()?,
            }
        }
        if let Some(f) = parts.iter().find_map(|p| p.get("format").and_then(Value::as_str)) {
            if let Some(s) = words::format(f, self.rng) {
                if fits(&s) {
                    return Ok(s);
                }
            }
        }
        let s = words::for_hint(hint, self.rng);
        Ok(words::fit(s, min, max, self.rng))
    }

    // -- arrays -------------------------------------------------------------------------------

    pub(crate) fn array(
        &mut self,
        parts: &[&'g Obj],
        hint: Option<&str>,
        at: At<'_>,
        depth: usize,
    ) -> Result<Value, SchemaError> {
        let over = depth >= self.max_depth;
        let min = max_count(parts, "minItems");
        let mut max = min_count(parts, "maxItems").map_or(usize::MAX, to_usize);
        for p in parts {
            if let Some(limit) = item_limit(p) {
                max = max.min(limit);
            }
        }
        if min > MAX_COUNT {
            return Err(SchemaError::Unsatisfiable(format!(
                "minItems {min} is beyond what the mock builds"
            )));
        }
        let min = to_usize(min);
        if min > max {
            return Err(SchemaError::Unsatisfiable(format!(
                "minItems {min} > maxItems {max}"
            )));
        }
        let contains: Vec<&'g Value> = parts
            .iter()
            .filter(|p| p.get("minContains").and_then(count).unwrap_or(1) > 0)
            .filter_map(|p| p.get("contains"))
            .collect();
        let extra = 3.min(self.max_depth.saturating_sub(depth));
        let upper = max.min(min + extra);
        // One item per sample item (the sample's `...` or a lone placeholder: a few), or one
        // per identifier the oracle lists for an id-keyed item.
        let sampled = match at.guide {
            Some(Guide::Array { items, more }) => Some((items.as_slice(), *more)),
            _ => None,
        };
        let mut enumerated: Vec<Guide> = Vec::new();
        if sampled.is_none() && !over {
            if let Some(field) = self.item_id_field(parts) {
                let site = at.site(hint);
                if let Some(ids) = self.oracle.enumerate(&site, field) {
                    enumerated = ids
                        .into_iter()
                        .map(|id| Guide::Object(vec![(field.to_string(), Guide::Value(Value::String(id)))]))
                        .collect();
                }
            }
        }
        let wanted = match sampled {
            Some((items, more)) => {
                let lone_hole = items.len() == 1 && matches!(items[0], Guide::Hole(_));
                if items.is_empty() {
                    Some(0)
                } else if lone_hole {
                    Some(self.rng.gen_range(1..=2))
                } else if more {
                    Some(items.len() + usize::from(self.rng.gen_bool(0.25)))
                } else {
                    Some(items.len())
                }
            }
            None if !enumerated.is_empty() => Some(enumerated.len()),
            None => None,
        };
        // A placeholder where the schema wants a list describes each item.
        let hole_item: Vec<Guide> = match at.guide {
            Some(h @ Guide::Hole(_)) => vec![h.clone()],
            _ => Vec::new(),
        };
        let item_guides: &[Guide] = match sampled {
            Some((items, _)) => items,
            None if !enumerated.is_empty() => &enumerated,
            None => &hole_item,
        };
        let mut len = if let Some(n) = wanted {
            n.clamp(min, max.max(min))
        } else if over {
            min
        } else if min == 0 && upper >= 1 {
            if self.rng.gen_bool(0.9) {
                self.rng.gen_range(1..=upper)
            } else {
                0
            }
        } else {
            self.rng.gen_range(min..=upper.max(min))
        };
        if !contains.is_empty() && len == 0 {
            if max == 0 {
                return Err(SchemaError::Unsatisfiable(
                    "contains needs an item but maxItems is 0".into(),
                ));
            }
            len = 1;
        }
        let contains_at = if contains.is_empty() {
            None
        } else {
            Some(self.rng.gen_range(0..len))
        };
        let unique = parts
            .iter()
            .any(|p| p.get("uniqueItems") == Some(&Value::Bool(true)));
        let mut out: Vec<Value> = Vec::with_capacity(len.min(1024));
        let mut seen = Seen::default();
        for i in 0..len {
            let mut subs: Vec<&'g Value> = parts.iter().filter_map(|p| item_schema(p, i)).collect();
            if contains_at == Some(i) {
                subs.extend(contains.iter().copied());
            }
            let item_guide = item_guides.get(i).or(item_guides.last());
            let context = item_guide.map(Guide::context).unwrap_or_default();
            let item_at = At {
                hint: at.hint.or(hint),
                guide: item_guide,
                context: &context,
                in_item: true,
            };
            let mut got = None;
            self.path.push(i.to_string());
            for _ in 0..if unique { 8 } else { 1 } {
                match self.value(&subs, item_at, depth + 1) {
                    Ok(v) if unique && !seen.is_new(&v, &out, self.doc.meter) => {}
                    Ok(v) => {
                        got = Some(v);
                        break;
                    }
                    Err(e) if e.is_soft() && i >= min && self.fuel > 0 => break,
                    Err(e) => {
                        self.path.pop();
                        return Err(e);
                    }
                }
            }
            self.path.pop();
            self.check_budget()?;
            match got {
                Some(v) => out.push(v),
                None if out.len() >= min => break,
                None => {
                    return Err(SchemaError::Unsatisfiable(format!(
                        "could not produce {min} distinct items"
                    )));
                }
            }
        }
        Ok(Value::Array(out))
    }

    /// The id-like required string property of an array's item schema (`guideline_id`),
    /// if it has one.
    fn item_id_field(&self, parts: &[&'g Obj]) -> Option<&'g str> {
        let mut item = parts.iter().find_map(|p| item_schema(p, 0))?;
        for _ in 0..8 {
            match item.get("$ref").and_then(Value::as_str) {
                Some(r) => item = self.doc.resolve(r)?,
                None => break,
            }
        }
        let required = item.get("required")?.as_array()?;
        required.iter().filter_map(Value::as_str).find(|name| {
            let lower = name.to_ascii_lowercase();
            (lower == "id" || lower.ends_with("_id") || name.ends_with("Id"))
                && item
                    .get("properties")
                    .and_then(|p| p.get(*name))
                    .and_then(|s| s.get("type"))
                    .is_some_and(|t| t == "string")
        })
    }

    // -- objects ------------------------------------------------------------------------------

    pub(crate) fn object(
        &mut self,
        parts: &[&'g Obj],
        hint: Option<&str>,
        at: At<'_>,
        depth: usize,
    ) -> Result<Value, SchemaError> {
        let over = depth >= self.max_depth;
        // Lists keep the schema's order; the sets make membership checks constant-time
        // (objects with hundreds of properties are common in configuration schemas).
        let mut declared: Vec<&'g str> = Vec::new();
        let mut declared_set: HashSet<&'g str> = HashSet::new();
        let mut required: Vec<&'g str> = Vec::new();
        let mut required_set: HashSet<&'g str> = HashSet::new();
        for p in parts {
            if let Some(Value::Object(props)) = p.get("properties") {
                for k in props.keys() {
                    if declared_set.insert(k) {
                        declared.push(k);
                    }
                }
            }
            if let Some(Value::Array(req)) = p.get("required") {
                for k in req.iter().filter_map(Value::as_str) {
                    if required_set.insert(k) {
                        required.push(k);
                    }
                }
            }
        }
        let mut order: Vec<&'g str> = Vec::new();
        let mut in_order: HashSet<&'g str> = HashSet::new();
        if let Some(ordering) = parts.iter().find_map(|p| match p.get("propertyOrdering") {
            Some(Value::Array(a)) => Some(a),
            _ => None,
        }) {
            for k in ordering.iter().filter_map(Value::as_str) {
                if (declared_set.contains(k) || required_set.contains(k)) && in_order.insert(k) {
                    order.push(k);
                }
            }
        }
        for &k in declared.iter().chain(required.iter()) {
            if in_order.insert(k) {
                order.push(k);
            }
        }
        let min_p = max_count(parts, "minProperties");
        let max_p = min_count(parts, "maxProperties").map_or(usize::MAX, to_usize);
        if min_p > MAX_COUNT {
            return Err(SchemaError::Unsatisfiable(format!(
                "minProperties {min_p} is beyond what the mock builds"
            )));
        }
        let min_p = to_usize(min_p);
        if min_p > max_p || required.len() > max_p {
            return Err(SchemaError::Unsatisfiable(format!(
                "{} required / minProperties {min_p} exceed maxProperties {max_p}",
                required.len()
            )));
        }

        // With a sample object, optional properties are those it names (each left out at
        // the oracle's null rate); without one, a share of them.
        let sample = match at.guide {
            Some(g @ Guide::Object(_)) => Some(g),
            _ => None,
        };
        let context = sample.map(Guide::context).unwrap_or_default();
        // A wide object (a config file's hundreds of settings) keeps about as many optional
        // properties as a narrow one would, so recursive ones (renovate's `"$ref": "#"`)
        // do not multiply at every level.
        let optional = order.iter().filter(|k| !required_set.contains(*k)).count();
        let thin = (WIDE_OBJECT as f64 / optional.max(1) as f64).min(1.0);
        let mut out: Vec<(String, Value)> = Vec::new();
        let mut skipped: Vec<&'g str> = Vec::new();
        for &name in &order {
            let is_required = required_set.contains(name);
            let member = sample.and_then(|g| g.member(name));
            let include = is_required
                || !over
                    && match sample {
                        Some(_) => member.is_some() && !self.draw_null(0.5),
                        None => !self.draw_null(0.5) && (thin >= 1.0 || self.rng.gen_bool(thin)),
                    };
            if !include {
                skipped.push(name);
                continue;
            }
            let subs: Vec<&'g Value> = parts.iter().filter_map(|p| property_schema(p, name)).collect();
            self.path.push(name.to_string());
            let got = self.value(&subs, at.member(name, member, &context), depth + 1);
            self.path.pop();
            if got.is_ok() && !self.doc.meter.bytes(name.len() + 4) {
                self.check_budget()?;
            }
            match got {
                Ok(v) => out.push((name.to_string(), v)),
                Err(e) if !is_required && e.is_soft() && self.fuel > 0 => {}
                Err(e) => return Err(e),
            }
        }
        for name in skipped {
            if out.len() >= min_p {
                break;
            }
            let subs: Vec<&'g Value> = parts.iter().filter_map(|p| property_schema(p, name)).collect();
            self.path.push(name.to_string());
            let got = self.value(&subs, at.member(name, None, &context), depth + 1);
            self.path.pop();
            match got {
                Ok(v) => out.push((name.to_string(), v)),
                Err(e) if e.is_soft() && self.fuel > 0 => {}
                Err(e) => return Err(e),
            }
        }

        // Entries beyond the declared properties: a map schema (`dict[str, int]`) gets 1–3,
        // anything else only what `minProperties` demands.
        let patterns: Vec<(&'g String, &'g Value)> = parts
            .iter()
            .find_map(|p| match p.get("patternProperties") {
                Some(Value::Object(pp)) if !pp.is_empty() => Some(pp.iter().collect()),
                _ => None,
            })
            .unwrap_or_default();
        let extras_allowed = !patterns.is_empty()
            || parts
                .iter()
                .all(|p| p.get("additionalProperties") != Some(&Value::Bool(false)));
        let map_like = declared.is_empty() && required.is_empty();
        // A map with a sample takes the sample's keys (`"args": {"slot": "<str>"}`).
        let sampled_keys: Vec<(&str, &Guide)> = match sample {
            Some(Guide::Object(entries)) if map_like && extras_allowed && !over => entries
                .iter()
                .filter(|(k, _)| !out.iter().any(|(o, _)| o == k))
                .map(|(k, g)| (k.as_str(), g))
                .take(max_p.saturating_sub(out.len()))
                .collect(),
            _ => Vec::new(),
        };
        for (key, member) in &sampled_keys {
            let subs: Vec<&'g Value> = parts
                .iter()
                .filter_map(|p| p.get("additionalProperties"))
                .collect();
            match self.value(&subs, at.member(key, Some(member), &context), depth + 1) {
                Ok(v) => out.push((key.to_string(), v)),
                Err(e) if e.is_soft() && self.fuel > 0 => {}
                Err(e) => return Err(e),
            }
        }
        let mut want = if map_like && extras_allowed && !over && sample.is_none() {
            self.rng.gen_range(1..=3)
        } else {
            0
        };
        want = want.min(max_p.saturating_sub(out.len()));
        let mut added = 0;
        let mut tries = 0;
        while out.len() < min_p || added < want {
            tries += 1;
            if !extras_allowed || tries > 2 * to_usize(MAX_COUNT) {
                if out.len() >= min_p {
                    break;
                }
                return Err(SchemaError::Unsatisfiable(format!(
                    "minProperties {min_p} needs keys that additionalProperties forbids"
                )));
            }
            let (key, subs) = self.extra_entry(parts, &patterns, &declared, &out, depth)?;
            let child_at = At {
                hint: at.hint.or(hint),
                guide: None,
                context: &[],
                in_item: at.in_item,
            };
            match self.value(&subs, child_at, depth + 1) {
                Ok(v) => {
                    out.push((key, v));
                    added += 1;
                }
                Err(e) if e.is_soft() && out.len() >= min_p && self.fuel > 0 => break,
                Err(e) if e.is_soft() && self.fuel > 0 => {}
                Err(e) => return Err(e),
            }
        }
        while out.len() > max_p {
            match out.iter().rposition(|(k, _)| !required.contains(&k.as_str())) {
                Some(i) => {
                    out.remove(i);
                }
                None => {
                    return Err(SchemaError::Unsatisfiable(
                        "required properties exceed maxProperties".into(),
                    ));
                }
            }
        }
        Ok(Value::Object(out.into_iter().collect()))
    }

    /// A fresh key for an undeclared entry, and the schemas its value must satisfy.
    pub(crate) fn extra_entry(
        &mut self,
        parts: &[&'g Obj],
        patterns: &[(&'g String, &'g Value)],
        declared: &[&'g str],
        taken: &[(String, Value)],
        depth: usize,
    ) -> Result<(String, Vec<&'g Value>), SchemaError> {
        let names: Vec<&'g Value> = parts.iter().filter_map(|p| p.get("propertyNames")).collect();
        let free = |k: &str| !declared.contains(&k) && !taken.iter().any(|(t, _)| t == k);
        for _ in 0..16 {
            let from_pattern = self.pick(patterns).copied();
            let key = if let Some((pat, _)) = from_pattern {
                match pattern::generate(pat, 1, Some(24), 24, self.doc.meter, self.rng) {
                    pattern::Outcome::Matched(s) => Some(s),
                    pattern::Outcome::Unsupported | pattern::Outcome::TooLong { .. } => None,
                }
            } else if !names.is_empty() {
                let at = At {
                    hint: Some("key"),
                    ..At::top()
                };
                match self.value(&names, at, depth + 1) {
                    Ok(Value::String(s)) => Some(s),
                    Ok(_) => None,
                    Err(e) if e.is_soft() && self.fuel > 0 => None,
                    Err(e) => return Err(e),
                }
            } else {
                Some(words::map_key(self.rng))
            };
            let Some(key) = key.filter(|k| free(k)) else {
                continue;
            };
            let mut subs = Vec::new();
            for p in parts {
                let own = from_pattern
                    .filter(|(pat, _)| {
                        matches!(p.get("patternProperties"), Some(Value::Object(pp)) if pp.contains_key(pat.as_str()))
                    })
                    .map(|(_, s)| s);
                if let Some(s) = own.or_else(|| p.get("additionalProperties")) {
                    subs.push(s);
                }
            }
            return Ok((key, subs));
        }
        let key = (taken.len()..)
            .map(|n| format!("key_{n}"))
            .find(|k| free(k))
            .unwrap_or_else(|| "key".into());
        let subs = parts
            .iter()
            .filter_map(|p| p.get("additionalProperties"))
            .collect();
        Ok((key, subs))
    }
}

/// Whether any of `schemas` (after `$ref`) constrains strings with a `pattern` or a
/// `format`, which the internal validator does not check.
fn has_string_shape(doc: &Doc<'_>, schemas: &[&Value]) -> bool {
    schemas.iter().any(|s| {
        let mut s = *s;
        for _ in 0..8 {
            match s.get("$ref").and_then(Value::as_str).and_then(|r| doc.resolve(r)) {
                Some(t) => s = t,
                None => break,
            }
        }
        s.get("pattern").is_some() || s.get("format").is_some()
    })
}

/// A plausible integer range for a property name.
pub(crate) fn int_hint_range(hint: Option<&str>) -> (i64, i64) {
    let tokens = words::tokens(hint);
    let has = |w: &[&str]| tokens.iter().any(|t| w.contains(&t.as_str()));
    if has(&["age"]) {
        (18, 80)
    } else if has(&["year", "yr"]) {
        (1990, 2030)
    } else if has(&["rating", "stars"]) {
        (1, 5)
    } else if has(&["month"]) {
        (1, 12)
    } else if has(&["day"]) {
        (1, 28)
    } else if has(&["hour"]) {
        (0, 23)
    } else if has(&["minute", "minutes", "second", "seconds"]) {
        (0, 59)
    } else if has(&["port"]) {
        (1024, 65535)
    } else if has(&["lat", "latitude"]) {
        (-90, 90)
    } else if has(&["lon", "lng", "longitude"]) {
        (-180, 180)
    } else if has(&["price", "cost", "amount", "salary", "total"]) {
        (1, 500)
    } else if has(&["count", "qty", "quantity", "num", "size"]) {
        (1, 20)
    } else if has(&["id"]) {
        (1, 9999)
    } else {
        (0, 100)
    }
}

/// The items of an array so far, by hash: a duplicate is found in constant time, with an
/// exact comparison only on a hash collision.
#[derive(Default)]
struct Seen {
    by_hash: std::collections::HashMap<u64, Vec<usize>>,
}

impl Seen {
    /// Whether `v` differs from every item of `out`; if so, it is remembered as the next.
    fn is_new(&mut self, v: &Value, out: &[Value], meter: &crate::budget::Meter) -> bool {
        meter.step(1);
        let bucket = self.by_hash.entry(json_hash(v)).or_default();
        if bucket.iter().any(|&j| out.get(j).is_some_and(|x| json_eq(x, v))) {
            return false;
        }
        bucket.push(out.len());
        true
    }
}
