//! A tiny generator for simple regular expressions.

use rand::Rng;
use rand::seq::SliceRandom;

use super::words::ALL_LISTS;

/// Repetitions an unbounded quantifier adds beyond its minimum, in normal mode.
const SPREAD: u32 = 3;
/// Largest `{n}` accepted.
const MAX_REPEAT: u32 = 1000;

#[derive(Debug, Clone)]
enum Node {
    Literal(char),
    /// Inclusive ranges; `negated` for `[^...]`.
    Class {
        ranges: Vec<(char, char)>,
        negated: bool,
    },
    /// Alternatives, each a sequence.
    Group(Vec<Vec<Node>>),
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

/// Whether `pattern` uses only the syntax this generator follows.
pub(crate) fn supported(pattern: &str) -> bool {
    Parser::new(pattern).parse().is_some()
}

/// A string matching `pattern` with a length in `[min, max]`, or `None` when the pattern
/// uses unsupported syntax or no attempt fits.
pub(crate) fn generate<R: Rng + ?Sized>(
    pattern: &str,
    min: usize,
    max: Option<usize>,
    rng: &mut R,
) -> Option<String> {
    let alternatives = Parser::new(pattern).parse()?;
    let root = Node::Group(alternatives);
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
        let mut out = String::new();
        if !emit(&root, mode, rng, &mut out) {
            return None;
        }
        let n = out.chars().count();
        if n >= min && max.is_none_or(|m| n <= m) {
            return Some(out);
        }
    }
    None
}

fn emit<R: Rng + ?Sized>(node: &Node, mode: Mode, rng: &mut R, out: &mut String) -> bool {
    match node {
        Node::Empty => true,
        Node::Literal(c) => {
            out.push(*c);
            true
        }
        Node::Class { ranges, negated } => match class_char(ranges, *negated, rng) {
            Some(c) => {
                out.push(c);
                true
            }
            None => false,
        },
        Node::Group(alts) => match alts.choose(rng) {
            Some(seq) => seq.iter().all(|n| emit(n, mode, rng, out)),
            None => true,
        },
        Node::Repeat { node, min, max } => {
            let n = match mode {
                Mode::Shortest => *min,
                Mode::Longer(want) => {
                    let want = u32::try_from(want).unwrap_or(MAX_REPEAT).min(MAX_REPEAT);
                    let n = min.saturating_add(want);
                    max.map_or(n, |m| n.min(m))
                }
                Mode::Normal => {
                    let hi = max.map_or(min + SPREAD, |m| m.min(min + SPREAD));
                    if let Node::Class {
                        ranges,
                        negated: false,
                    } = node.as_ref()
                    {
                        if rng.gen_bool(0.7) {
                            let longest = max.map_or(min + 9, |m| m.min(min + 9));
                            if let Some(w) = word_in_class(ranges, *min, longest, rng) {
                                out.push_str(&w);
                                return true;
                            }
                        }
                    }
                    rng.gen_range(*min..=hi.max(*min))
                }
            };
            (0..n).all(|_| emit(node, mode, rng, out))
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

fn class_char<R: Rng + ?Sized>(ranges: &[(char, char)], negated: bool, rng: &mut R) -> Option<char> {
    let inside = |c: char| ranges.iter().any(|(a, b)| *a <= c && c <= *b);
    if negated {
        let pool: Vec<char> = ('a'..='z')
            .chain('0'..='9')
            .chain('A'..='Z')
            .chain("-_.,:;!?#%&*+=~ ".chars())
            .filter(|c| !inside(*c))
            .collect();
        // Prefer letters, which read better, when any are allowed.
        let letters: Vec<char> = pool.iter().copied().filter(char::is_ascii_lowercase).collect();
        return if letters.is_empty() {
            pool.choose(rng).copied()
        } else {
            letters.choose(rng).copied()
        };
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

struct Parser {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
    /// Set by syntax errors found where parsing otherwise continues.
    invalid: bool,
}

impl Parser {
    fn new(pattern: &str) -> Self {
        Parser {
            chars: pattern.chars().collect(),
            pos: 0,
            depth: 0,
            invalid: false,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        self.pos += 1;
        c
    }

    fn parse(mut self) -> Option<Vec<Vec<Node>>> {
        let alts = self.alternation()?;
        (self.pos >= self.chars.len() && !self.invalid).then_some(alts)
    }

    fn alternation(&mut self) -> Option<Vec<Vec<Node>>> {
        self.depth += 1;
        if self.depth > 64 {
            return None;
        }
        let mut alts = vec![self.sequence()?];
        while self.peek() == Some('|') {
            self.pos += 1;
            alts.push(self.sequence()?);
        }
        self.depth -= 1;
        Some(alts)
    }

    fn sequence(&mut self) -> Option<Vec<Node>> {
        let mut seq = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom()?;
            let atom = self.quantified(atom)?;
            seq.push(atom);
        }
        Some(seq)
    }

    fn atom(&mut self) -> Option<Node> {
        match self.next()? {
            '^' | '$' => Some(Node::Empty),
            '.' => Some(Node::Class {
                ranges: vec![('a', 'z')],
                negated: false,
            }),
            '(' => {
                if self.peek() == Some('?') {
                    self.pos += 1;
                    match self.next()? {
                        ':' => {}
                        'P' if self.peek() == Some('<') => {
                            self.pos += 1;
                            self.skip_name()?;
                        }
                        '<' if !matches!(self.peek(), Some('=' | '!')) => self.skip_name()?,
                        // Look-around, flags, comments: not supported.
                        _ => return None,
                    }
                }
                let alts = self.alternation()?;
                (self.next()? == ')').then_some(Node::Group(alts))
            }
            '[' => self.class(),
            '\\' => self.escape(false).map(|e| match e {
                Escape::Char(c) => Node::Literal(c),
                Escape::Class(ranges, negated) => Node::Class { ranges, negated },
                Escape::Empty => Node::Empty,
            }),
            '*' | '+' | '?' | ')' => None,
            '{' => {
                // A `{` that is not a valid quantifier is a literal in most dialects.
                Some(Node::Literal('{'))
            }
            c => Some(Node::Literal(c)),
        }
    }

    fn skip_name(&mut self) -> Option<()> {
        while self.next()? != '>' {}
        Some(())
    }

    fn quantified(&mut self, atom: Node) -> Option<Node> {
        let (min, max) = match self.peek() {
            Some('*') => {
                self.pos += 1;
                (0, None)
            }
            Some('+') => {
                self.pos += 1;
                (1, None)
            }
            Some('?') => {
                self.pos += 1;
                (0, Some(1))
            }
            Some('{') => match self.braces() {
                Some(q) => q,
                None => return Some(atom),
            },
            _ => return Some(atom),
        };
        // Lazy (`*?`) and possessive (`*+`) suffixes change matching, not the language.
        if matches!(self.peek(), Some('?' | '+')) {
            self.pos += 1;
        }
        // A further quantifier (`a**`) is a syntax error in ECMA-262.
        if matches!(self.peek(), Some('*' | '+' | '?')) {
            return None;
        }
        if matches!(atom, Node::Empty) {
            return Some(atom);
        }
        Some(Node::Repeat {
            node: Box::new(atom),
            min,
            max,
        })
    }

    /// `{n}`, `{n,}`, `{n,m}`; `None` (and no input consumed) when not a quantifier.
    fn braces(&mut self) -> Option<(u32, Option<u32>)> {
        let start = self.pos;
        self.pos += 1;
        let lo = self.number();
        let result = match (lo, self.next()) {
            (Some(n), Some('}')) => Some((n, Some(n))),
            (Some(n), Some(',')) => match (self.number(), self.next()) {
                (Some(m), Some('}')) if m >= n => Some((n, Some(m))),
                (Some(_), Some('}')) => {
                    // `{2,1}`: numbers out of order is a syntax error, not a literal.
                    self.invalid = true;
                    None
                }
                (None, Some('}')) => Some((n, None)),
                _ => None,
            },
            _ => None,
        };
        if result.is_none() {
            self.pos = start;
        }
        result
    }

    fn number(&mut self) -> Option<u32> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let digits: String = self.chars.get(start..self.pos)?.iter().collect();
        digits.parse::<u32>().ok().filter(|n| *n <= MAX_REPEAT)
    }

    fn class(&mut self) -> Option<Node> {
        let negated = self.peek() == Some('^');
        if negated {
            self.pos += 1;
        }
        let mut ranges = Vec::new();
        let mut first = true;
        loop {
            let c = self.next()?;
            if c == ']' && !first {
                break;
            }
            first = false;
            let lo = match c {
                '[' if self.peek() == Some(':') => return None,
                '\\' => match self.escape(true)? {
                    Escape::Char(c) => c,
                    Escape::Class(mut r, false) => {
                        ranges.append(&mut r);
                        continue;
                    }
                    // `[\D]`-style negations inside a class: not supported.
                    Escape::Class(_, true) | Escape::Empty => return None,
                },
                c => c,
            };
            if self.peek() == Some('-') && self.chars.get(self.pos + 1).is_some_and(|c| *c != ']') {
                self.pos += 1;
                let hi = match self.next()? {
                    '\\' => match self.escape(true)? {
                        Escape::Char(c) => c,
                        _ => return None,
                    },
                    c => c,
                };
                if hi < lo {
                    return None;
                }
                ranges.push((lo, hi));
            } else {
                ranges.push((lo, lo));
            }
        }
        Some(Node::Class { ranges, negated })
    }

    fn escape(&mut self, in_class: bool) -> Option<Escape> {
        let digit = vec![('0', '9')];
        let word = vec![('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')];
        let space = vec![(' ', ' ')];
        Some(match self.next()? {
            'd' => Escape::Class(digit, false),
            'D' => Escape::Class(digit, true),
            'w' => Escape::Class(word, false),
            'W' => Escape::Class(word, true),
            's' => Escape::Class(space, false),
            'S' => Escape::Class(vec![(' ', ' '), ('\t', '\r')], true),
            'b' if in_class => Escape::Char('\u{8}'),
            'b' => Escape::Empty,
            // Non-boundaries, Unicode properties, named back-references and non-ECMA anchors.
            'B' | 'p' | 'P' | 'k' | 'A' | 'z' | 'Z' | 'G' => return None,
            '1'..='9' => return None,
            't' => Escape::Char('\t'),
            'n' => Escape::Char('\n'),
            'r' => Escape::Char('\r'),
            'f' => Escape::Char('\u{c}'),
            'v' => Escape::Char('\u{b}'),
            '0' => Escape::Char('\0'),
            'x' => Escape::Char(self.hex(2)?),
            'u' => {
                if self.peek() == Some('{') {
                    self.pos += 1;
                    let start = self.pos;
                    while self.peek().is_some_and(|c| c != '}') {
                        self.pos += 1;
                    }
                    let digits: String = self.chars.get(start..self.pos)?.iter().collect();
                    self.pos += 1;
                    Escape::Char(char::from_u32(u32::from_str_radix(&digits, 16).ok()?)?)
                } else {
                    Escape::Char(self.hex(4)?)
                }
            }
            c if c.is_ascii_alphanumeric() => return None,
            c => Escape::Char(c),
        })
    }

    fn hex(&mut self, n: usize) -> Option<char> {
        let digits: String = self.chars.get(self.pos..self.pos + n)?.iter().collect();
        self.pos += n;
        char::from_u32(u32::from_str_radix(&digits, 16).ok()?)
    }
}

enum Escape {
    Char(char),
    Class(Vec<(char, char)>, bool),
    Empty,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    fn sample(p: &str) -> Vec<String> {
        let mut rng = SmallRng::seed_from_u64(7);
        (0..50)
            .map(|_| generate(p, 0, None, &mut rng).unwrap_or_else(|| panic!("{p} unsupported")))
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

    /// Alternation, groups, optional parts and negated classes.
    #[test]
    fn groups_and_alternation() {
        for s in sample(r"^(foo|bar)-[^0-9]{2}x?$") {
            assert!(s.starts_with("foo-") || s.starts_with("bar-"), "{s}");
            assert!(!s[4..6].chars().any(|c| c.is_ascii_digit()), "{s}");
        }
    }

    /// Unsupported syntax is reported rather than guessed.
    #[test]
    fn unsupported() {
        let mut rng = SmallRng::seed_from_u64(1);
        for p in [r"(a)\1", "(?=a)b", r"\p{L}+", "[[:alpha:]]", "a{2,1}", "(", "a)"] {
            assert!(generate(p, 0, None, &mut rng).is_none(), "{p}");
        }
    }

    /// Length bounds steer the repetition counts.
    #[test]
    fn respects_length() {
        let mut rng = SmallRng::seed_from_u64(3);
        for _ in 0..50 {
            let s = generate("^[a-z]+$", 1, Some(10), &mut rng).expect("fits");
            assert!((1..=10).contains(&s.len()), "{s}");
            let s = generate("^x*$", 12, Some(14), &mut rng).expect("fits");
            assert!((12..=14).contains(&s.len()), "{s}");
        }
    }
}
