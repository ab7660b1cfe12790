//! Strings for `pattern`: the regular expression is parsed by `regex-syntax` (the `regex`
//! crate's parser) and walked to emit a matching string, with dictionary words for letter
//! runs so values read naturally. Back-references and look-around are not regular and
//! `regex-syntax` refuses them: such patterns are reported unsupported.
//!
//! Work is bounded: the pattern's shortest match is known before anything is emitted (a
//! pattern whose shortest match exceeds the budget is refused at once), every emitted
//! character is metered, and an attempt stops at the length cap.

use rand::Rng;
use rand::seq::SliceRandom;
use regex_syntax::hir::{Class, Hir, HirKind};

use super::words::ALL_LISTS;
use crate::budget::Meter;

/// Repetitions an unbounded quantifier adds beyond its minimum, in normal mode.
const SPREAD: u32 = 3;
/// Longest pattern source parsed.
const MAX_PATTERN: usize = 4096;

#[derive(Debug, Clone)]
enum Node {
    Literal(String),
    /// Inclusive ranges (already resolved: negation, Unicode classes).
    Class(Vec<(char, char)>),
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat {
        node: Box<Node>,
        min: u32,
        max: Option<u32>,
    },
    Empty,
}

/// How long repetitions run.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// A few repetitions past the minimum, or a dictionary word.
    Normal,
    /// Minimum repetitions, to get under a `maxLength`.
    Shortest,
    /// This many repetitions past the minimum (capped by the maximum), to reach a `minLength`.
    Longer(usize),
}

/// A parsed pattern and the length of its shortest match, in characters (bytes for ASCII).
struct Parsed {
    root: Node,
    min_len: Option<usize>,
}

fn parse(pattern: &str) -> Option<Parsed> {
    if pattern.len() > MAX_PATTERN {
        return None;
    }
    let hir = regex_syntax::ParserBuilder::new()
        .nest_limit(64)
        .build()
        .parse(pattern)
        .ok()?;
    let min_len = hir.properties().minimum_len();
    Some(Parsed {
        root: node(&hir),
        min_len,
    })
}

fn node(hir: &Hir) -> Node {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Node::Empty,
        HirKind::Literal(lit) => Node::Literal(String::from_utf8_lossy(&lit.0).into_owned()),
        HirKind::Class(Class::Unicode(c)) => {
            Node::Class(c.ranges().iter().map(|r| (r.start(), r.end())).collect())
        }
        HirKind::Class(Class::Bytes(c)) => Node::Class(
            c.ranges()
                .iter()
                .filter(|r| r.start() < 0x80)
                .map(|r| (r.start() as char, (r.end().min(0x7f)) as char))
                .collect(),
        ),
        HirKind::Repetition(r) => Node::Repeat {
            node: Box::new(node(&r.sub)),
            min: r.min,
            max: r.max,
        },
        HirKind::Capture(c) => node(&c.sub),
        HirKind::Concat(items) => Node::Concat(items.iter().map(node).collect()),
        HirKind::Alternation(items) => Node::Alt(items.iter().map(node).collect()),
    }
}

/// Whether `pattern` uses syntax this generator follows.
pub(crate) fn supported(pattern: &str) -> bool {
    parse(pattern).is_some()
}

/// What a pattern attempt came to.
pub(crate) enum Outcome {
    Matched(String),
    /// The pattern cannot be followed (unsupported syntax, or no attempt fit the lengths).
    Unsupported,
    /// The shortest match is longer than `cap`: no string fits.
    TooLong {
        shortest: usize,
    },
}

/// A string matching `pattern` with a length in `[min, max]` (and at most `cap`
/// characters, the budget left), metered by `meter`.
pub(crate) fn generate<R: Rng + ?Sized>(
    pattern: &str,
    min: usize,
    max: Option<usize>,
    cap: usize,
    meter: &Meter,
    rng: &mut R,
) -> Outcome {
    let Some(parsed) = parse(pattern) else {
        return Outcome::Unsupported;
    };
    let limit = max.map_or(cap, |m| m.min(cap));
    match parsed.min_len {
        Some(shortest) if shortest > cap => return Outcome::TooLong { shortest },
        None => return Outcome::TooLong { shortest: usize::MAX },
        Some(_) => {}
    }
    let modes = [
        Mode::Normal,
        Mode::Normal,
        Mode::Normal,
        Mode::Normal,
        Mode::Shortest,
        Mode::Shortest,
        Mode::Longer(min),
        Mode::Longer(min / 2),
        Mode::Longer(min / 4),
        Mode::Normal,
        Mode::Normal,
        Mode::Normal,
    ];
    for mode in modes {
        let mut out = Emit {
            text: String::new(),
            len: 0,
            limit,
            meter,
        };
        if !out.emit(&parsed.root, mode, rng) {
            if meter.tripped() {
                return Outcome::Unsupported;
            }
            continue;
        }
        if out.len >= min && out.len <= limit {
            return Outcome::Matched(out.text);
        }
    }
    Outcome::Unsupported
}

/// The string being emitted, with its length cap.
struct Emit<'m> {
    text: String,
    /// Characters in `text`.
    len: usize,
    limit: usize,
    meter: &'m Meter,
}

impl Emit<'_> {
    fn push(&mut self, s: &str) -> bool {
        let n = s.chars().count();
        if self.len + n > self.limit || !self.meter.step(n as u64) {
            return false;
        }
        self.text.push_str(s);
        self.len += n;
        true
    }

    fn emit<R: Rng + ?Sized>(&mut self, node: &Node, mode: Mode, rng: &mut R) -> bool {
        match node {
            Node::Empty => true,
            Node::Literal(s) => self.push(s),
            Node::Class(ranges) => match class_char(ranges, rng) {
                Some(c) => self.push(c.encode_utf8(&mut [0; 4])),
                None => false,
            },
            Node::Concat(items) => items.iter().all(|n| self.emit(n, mode, rng)),
            Node::Alt(alts) => match alts.choose(rng) {
                Some(n) => self.emit(n, mode, rng),
                None => true,
            },
            Node::Repeat { node, min, max } => {
                let n = match mode {
                    Mode::Shortest => *min,
                    Mode::Longer(want) => {
                        let want = u32::try_from(want).unwrap_or(u32::MAX);
                        let n = min.saturating_add(want);
                        max.map_or(n, |m| n.min(m))
                    }
                    Mode::Normal => {
                        let hi =
                            max.map_or(min.saturating_add(SPREAD), |m| m.min(min.saturating_add(SPREAD)));
                        if let Node::Class(ranges) = node.as_ref() {
                            if rng.gen_bool(0.7) {
                                let longest =
                                    max.map_or(min.saturating_add(9), |m| m.min(min.saturating_add(9)));
                                if let Some(w) = word_in_class(ranges, *min, longest, rng) {
                                    return self.push(&w);
                                }
                            }
                        }
                        rng.gen_range(*min..=hi.max(*min))
                    }
                };
                (0..n).all(|_| self.emit(node, mode, rng))
            }
        }
    }
}

/// A dictionary word whose letters all fall in `ranges`, with a length in `[min, max]`.
fn word_in_class<R: Rng + ?Sized>(
    ranges: &[(char, char)],
    min: u32,
    max: u32,
    rng: &mut R,
) -> Option<String> {
    let inside = |c: char| ranges.iter().any(|(a, b)| *a <= c && c <= *b);
    for _ in 0..24 {
        let list = ALL_LISTS.choose(rng)?;
        let word = list.choose(rng)?;
        let lower = word.to_lowercase();
        for candidate in [word.to_string(), lower] {
            let n = candidate.chars().count() as u32;
            if n >= min.max(1) && n <= max && candidate.chars().all(inside) {
                return Some(candidate);
            }
        }
    }
    None
}

/// A character from `ranges`, preferring ones that read well: lower-case letters, then
/// other ASCII letters and digits, then printable ASCII, then anything.
fn class_char<R: Rng + ?Sized>(ranges: &[(char, char)], rng: &mut R) -> Option<char> {
    let inside = |c: char| ranges.iter().any(|(a, b)| *a <= c && c <= *b);
    let pools: [&dyn Fn(char) -> bool; 3] = [
        &|c: char| c.is_ascii_lowercase(),
        &|c: char| c.is_ascii_alphanumeric(),
        &|c: char| c.is_ascii_graphic() || c == ' ',
    ];
    for keep in pools {
        let pool: Vec<char> = (' '..='~').filter(|c| keep(*c) && inside(*c)).collect();
        if let Some(c) = pool.choose(rng) {
            return Some(*c);
        }
    }
    let weights: Vec<u32> = ranges
        .iter()
        .map(|(a, b)| (*b as u32).saturating_sub(*a as u32).saturating_add(1))
        .collect();
    let total: u32 = weights.iter().fold(0, |s, w| s.saturating_add(*w));
    if total == 0 {
        return None;
    }
    let mut r = rng.gen_range(0..total);
    for ((a, _), w) in ranges.iter().zip(&weights) {
        if r < *w {
            // Surrogates have no `char`; fall back to the range start.
            return Some(char::from_u32(*a as u32 + r).unwrap_or(*a));
        }
        r -= w;
    }
    ranges.first().map(|(a, _)| *a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::Budget;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    fn one(p: &str, min: usize, max: Option<usize>, rng: &mut SmallRng) -> Option<String> {
        let meter = Meter::new(&Budget::default());
        match generate(p, min, max, 1 << 20, &meter, rng) {
            Outcome::Matched(s) => Some(s),
            Outcome::Unsupported | Outcome::TooLong { .. } => None,
        }
    }

    fn sample(p: &str) -> Vec<String> {
        let mut rng = SmallRng::seed_from_u64(7);
        let re = regex::Regex::new(p).expect("test pattern");
        (0..50)
            .map(|_| {
                let s = one(p, 0, None, &mut rng).unwrap_or_else(|| panic!("{p} unsupported"));
                assert!(re.is_match(&s), "{p}: {s:?} does not match");
                s
            })
            .collect()
    }

    /// Lower-case letter runs come out as dictionary words or letters only.
    #[test]
    fn letters_plus() {
        for s in sample("^[a-z]+$") {
            assert!(!s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase()), "{s}");
        }
    }

    /// Fixed-count digit groups keep their shape.
    #[test]
    fn phone_like() {
        for s in sample(r"^\d{3}-\d{4}$") {
            let b = s.as_bytes();
            assert_eq!(b.len(), 8, "{s}");
            assert!(b[3] == b'-' && s.chars().filter(char::is_ascii_digit).count() == 7);
        }
    }

    /// Alternation, groups, optional parts, negated and Unicode classes; readable output.
    #[test]
    fn groups_and_alternation() {
        for s in sample(r"^(foo|bar)-[^0-9]{2}x?$") {
            assert!(s.starts_with("foo-") || s.starts_with("bar-"), "{s}");
        }
        for s in sample(r"^\p{L}+\.\w{2,4}$") {
            assert!(s.is_ascii(), "{s}");
        }
        sample("^[[:alpha:]]{3}.$");
    }

    /// Back-references and look-around are reported rather than guessed.
    #[test]
    fn unsupported() {
        let mut rng = SmallRng::seed_from_u64(1);
        for p in [r"(a)\1", "(?=a)b", "a{2,1}", "(", "a)"] {
            assert!(one(p, 0, None, &mut rng).is_none(), "{p}");
        }
    }

    /// Length bounds steer the repetition counts.
    #[test]
    fn respects_length() {
        let mut rng = SmallRng::seed_from_u64(3);
        for _ in 0..50 {
            let s = one("^[a-z]+$", 1, Some(10), &mut rng).expect("fits");
            assert!((1..=10).contains(&s.len()), "{s}");
            let s = one("^x*$", 12, Some(14), &mut rng).expect("fits");
            assert!((12..=14).contains(&s.len()), "{s}");
        }
    }

    /// A pattern whose shortest match is beyond the cap is refused before any work.
    #[test]
    fn nested_counts_are_refused_up_front() {
        let mut rng = SmallRng::seed_from_u64(1);
        let meter = Meter::new(&Budget::default());
        let started = std::time::Instant::now();
        match generate(
            "^(((a{1000}){1000}){1000}){1000}$",
            0,
            None,
            1 << 22,
            &meter,
            &mut rng,
        ) {
            Outcome::TooLong { shortest } => assert_eq!(shortest, 1_000_000_000_000),
            _ => panic!("not refused"),
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        assert_eq!(meter.steps(), 0);
    }
}
