//! Reading a prompt the way a model does before it answers: which JSON-like blocks it
//! shows, which of them are few-shot examples and which is the output template, what the
//! latest user message is, and which identifiers (`Condition (2)`, `Child id: 6`, `3)`)
//! the real part of the prompt offers.
//!
//! Examples are recognised by their framing, not by framework: a line that says
//! "Example …" opens an example region, which ends at the example's expected output (the
//! first block shaped like the response schema), at a line that introduces the real task
//! ("OUTPUT FORMAT", "Expected output", "Example section is over", "the following spec"…),
//! or at the next example. A block whose values say they are examples
//! (`<example-id-for-few-shots--do-not-use-this-in-output>`) is one too.
//!
//! Work is bounded: at most `MAX_BLOCKS` blocks are parsed, each from at most
//! `MAX_BLOCK_BYTES` of text, and every scan is linear.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;
use schemagen::Guide;
use serde_json::Value;

use super::lenient;

/// Blocks parsed per prompt.
const MAX_BLOCKS: usize = 256;
/// Text one block may span.
const MAX_BLOCK_BYTES: usize = 256 * 1024;
/// Identifiers collected per prompt.
const MAX_IDS: usize = 512;

/// A JSON-like block in the prompt.
#[derive(Debug, Clone)]
pub struct Block {
    pub span: Range<usize>,
    pub guide: Guide,
    pub example: bool,
}

/// An identifier the prompt offers, with the word it was labelled by and its line.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    /// Lower-case label (`condition` for `Condition (2):`), empty for a bare numbered item.
    pub label: String,
    pub value: String,
    /// The text of its line, for judging how it relates to the user's message.
    pub line: String,
}

/// What the mock learned from a prompt.
#[derive(Debug, Clone, Default)]
pub struct Reading {
    pub blocks: Vec<Block>,
    /// Byte ranges of example regions.
    pub examples: Vec<Range<usize>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Example,
    Real,
}

static EXAMPLE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(examples?|few[- ]shots?|sample (output|response)s?)\b").expect("static regex")
});
static REAL_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(output format|response format|expected output|example section is over|end of examples|the following is the real|now it'?s your turn|following (spec|format|json format|schema)|in the following json|fill in the (following|details)|provide your (answer|output|response)|your (output|response|answer) (must|should))",
    )
    .expect("static regex")
});
static EXAMPLE_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(example[-_ ]id|few[-_ ]shots?|do[-_ ]not[-_ ]use)").expect("static regex")
});

/// Read `text`. `shape` scores how well a block fits the response schema (0 to 1).
pub fn read(text: &str, shape: &dyn Fn(&Guide) -> f64) -> Reading {
    let lines = line_spans(text);
    let mut blocks = find_blocks(text, &lines);
    // Marker lines outside blocks (a template's own text may say "example").
    let markers: Vec<(usize, Marker)> = lines
        .iter()
        .filter(|r| !blocks.iter().any(|b| b.span.contains(&r.start)))
        .filter_map(|r| {
            let line = &text[r.clone()];
            // Headings are short; a long line that mentions "example" is prose.
            if line.len() > 200 {
                return None;
            }
            if REAL_LINE.is_match(line) {
                Some((r.start, Marker::Real))
            } else if EXAMPLE_LINE.is_match(line) {
                Some((r.start, Marker::Example))
            } else {
                None
            }
        })
        .collect();

    // Example regions: from an example marker to its expected output, the next marker, or
    // the end.
    let mut examples: Vec<Range<usize>> = Vec::new();
    for (i, (start, kind)) in markers.iter().enumerate() {
        if *kind != Marker::Example {
            continue;
        }
        let next_marker = markers.get(i + 1).map_or(text.len(), |(s, _)| *s);
        let end = blocks
            .iter()
            .filter(|b| b.span.start >= *start && b.span.start < next_marker)
            .find(|b| shape(&b.guide) >= 0.5)
            .map_or(next_marker, |b| b.span.end);
        examples.push(*start..end);
    }
    for b in &mut blocks {
        b.example = examples.iter().any(|r| r.contains(&b.span.start)) || marks_example(&b.guide);
    }
    Reading { blocks, examples }
}

impl Reading {
    /// The output template: the non-example block that best fits the schema (score ≥ ½;
    /// the last of equals, as templates come at the end).
    pub fn template(&self, shape: &dyn Fn(&Guide) -> f64) -> Option<&Guide> {
        let mut best: Option<(f64, &Guide)> = None;
        for b in self.blocks.iter().filter(|b| !b.example) {
            let score = shape(&b.guide);
            if score >= 0.5 && best.is_none_or(|(s, _)| score >= s) {
                best = Some((score, &b.guide));
            }
        }
        best.map(|(_, g)| g)
    }

    /// Whether byte `at` lies in an example region.
    pub fn in_example(&self, at: usize) -> bool {
        self.examples.iter().any(|r| r.contains(&at))
    }

    /// Example blocks.
    pub fn example_guides(&self) -> impl Iterator<Item = &Guide> {
        self.blocks.iter().filter(|b| b.example).map(|b| &b.guide)
    }
}

/// Byte ranges of the lines of `text` (without the newline).
fn line_spans(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if c == '\n' {
            out.push(start..i);
            start = i + 1;
        }
    }
    if start < text.len() {
        out.push(start..text.len());
    }
    out
}

/// Fenced code blocks (```` ``` ````) and unfenced objects or arrays that start a line.
fn find_blocks(text: &str, lines: &[Range<usize>]) -> Vec<Block> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut attempts = 0;
    while i < lines.len() && attempts < MAX_BLOCKS {
        let line = &text[lines[i].clone()];
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            // A fence: the block is what lies before the closing fence.
            let open = i;
            let close =
                (i + 1..lines.len()).find(|&j| text[lines[j].clone()].trim_start().starts_with("```"));
            let body_start = lines.get(open + 1).map_or(text.len(), |r| r.start);
            let body_end = close.map_or(text.len(), |c| lines[c].start);
            attempts += 1;
            if body_start < body_end {
                let limit = body_end.min(body_start + MAX_BLOCK_BYTES);
                if let Some(slice) = text.get(body_start..limit) {
                    if let Some((guide, _)) = lenient::parse_prefix(slice) {
                        out.push(Block {
                            span: lines[open].start..body_end,
                            guide,
                            example: false,
                        });
                    }
                }
            }
            i = close.map_or(lines.len(), |c| c + 1);
            continue;
        }
        if trimmed.starts_with('{') || trimmed.starts_with('[') {
            attempts += 1;
            let start = lines[i].start + (line.len() - trimmed.len());
            let limit = text.len().min(start + MAX_BLOCK_BYTES);
            let slice = text.get(start..limit).unwrap_or("");
            if let Some((guide, used)) = lenient::parse_prefix(slice) {
                let end = start + used;
                out.push(Block {
                    span: start..end,
                    guide,
                    example: false,
                });
                // Continue after the block.
                while i < lines.len() && lines[i].start < end {
                    i += 1;
                }
                continue;
            }
        }
        i += 1;
    }
    out
}

/// A block whose placeholders or values say it is an example.
fn marks_example(g: &Guide) -> bool {
    match g {
        Guide::Hole(h) => EXAMPLE_VALUE.is_match(h),
        Guide::Value(Value::String(s)) => EXAMPLE_VALUE.is_match(s),
        Guide::Value(_) => false,
        Guide::Object(entries) => entries.iter().any(|(_, v)| marks_example(v)),
        Guide::Array { items, .. } => items.iter().any(marks_example),
    }
}

static USER_EVENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)["']?(?:event_source|source|role|speaker|author|from)["']?\s*:\s*["'](?:user|customer|human|client|end_user)["']"#,
    )
    .expect("static regex")
});
static MESSAGE_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"["'](?:message|content|text|utterance)["']\s*:\s*"((?:[^"\\]|\\.){0,4000})""#)
        .expect("static regex")
});
static TRANSCRIPT_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?im)^[ \t]*(?:user|customer|human|client)[ \t]*:[ \t]*(\S.{0,2000})$")
        .expect("static regex")
});

/// The latest user message quoted inside a prompt (an event list or a transcript), outside
/// example regions.
pub fn embedded_user_message(text: &str, reading: &Reading) -> Option<String> {
    let mut best: Option<(usize, String)> = None;
    for m in USER_EVENT.find_iter(text) {
        if reading.in_example(m.start()) {
            continue;
        }
        let window_end = floor_boundary(text, (m.end() + 2000).min(text.len()));
        let window = &text[m.end()..window_end];
        if let Some(c) = MESSAGE_FIELD.captures(window) {
            let raw = c.get(1).map_or("", |g| g.as_str());
            best = Some((m.start(), unescape(raw)));
        }
    }
    for c in TRANSCRIPT_LINE.captures_iter(text) {
        let Some(g) = c.get(1) else { continue };
        if reading.in_example(g.start()) {
            continue;
        }
        if best.as_ref().is_none_or(|(at, _)| g.start() > *at) {
            best = Some((g.start(), g.as_str().trim().to_string()));
        }
    }
    best.map(|(_, s)| s).filter(|s| !s.trim().is_empty())
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// JSON string escapes, plus `\'` from Python reprs.
fn unescape(raw: &str) -> String {
    let quoted = format!("\"{}\"", raw.replace("\\'", "'"));
    serde_json::from_str::<String>(&quoted).unwrap_or_else(|_| raw.replace("\\'", "'"))
}

static LABELLED_PAREN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b([A-Za-z]{2,30})\s*\((\w[\w.-]{0,31})\)\s*[:.]").expect("static regex"));
static LABELLED_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\b([a-z]{2,30})[ _-]?id\b\s*[:=#]?\s*["'(]?([A-Za-z0-9][\w.@:/-]{0,63})"#)
        .expect("static regex")
});
static LABELLED_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^[ \t#*-]*([A-Za-z]{2,30})\s*#?\s*(\d{1,6})\s*[:.)]").expect("static regex")
});
static NUMBERED_ITEM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^[ \t-]*(\d{1,4})\)\s").expect("static regex"));
static BARE_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)["']?\bid["']?\s*[:=]\s*["']?([A-Za-z0-9][\w.@:/-]{0,63})"#).expect("static regex")
});

/// Identifiers in the non-example part of the prompt, in order of appearance.
pub fn identifiers(text: &str, reading: &Reading) -> Vec<Ident> {
    let mut found: Vec<(usize, Ident)> = Vec::new();
    let line_of = |at: usize| -> String {
        let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
        text[start..end].trim().chars().take(400).collect()
    };
    let mut push = |at: usize, label: &str, value: &str| {
        if found.len() >= MAX_IDS || reading.in_example(at) {
            return;
        }
        let label = label.to_lowercase();
        let value = value.trim_end_matches(['.', ':', ',', ')']).to_string();
        // An identifier has a digit or a separator; a plain word ("that") is prose.
        let looks_like_id = value
            .chars()
            .any(|c| c.is_ascii_digit() || matches!(c, '_' | '-' | ':' | '.' | '@' | '/'));
        if value.is_empty() || !looks_like_id {
            return;
        }
        found.push((
            at,
            Ident {
                label,
                value,
                line: line_of(at),
            },
        ));
    };
    for c in LABELLED_PAREN.captures_iter(text) {
        if let (Some(l), Some(v)) = (c.get(1), c.get(2)) {
            push(l.start(), l.as_str(), v.as_str());
        }
    }
    for c in LABELLED_ID.captures_iter(text) {
        if let (Some(l), Some(v)) = (c.get(1), c.get(2)) {
            push(l.start(), l.as_str(), v.as_str());
        }
    }
    for c in LABELLED_NUMBER.captures_iter(text) {
        if let (Some(l), Some(v)) = (c.get(1), c.get(2)) {
            push(l.start(), l.as_str(), v.as_str());
        }
    }
    for c in NUMBERED_ITEM.captures_iter(text) {
        if let Some(v) = c.get(1) {
            push(v.start(), "", v.as_str());
        }
    }
    for c in BARE_ID.captures_iter(text) {
        if let Some(v) = c.get(1) {
            push(v.start(), "", v.as_str());
        }
    }
    found.sort_by_key(|(at, _)| *at);
    let mut out: Vec<Ident> = Vec::new();
    for (_, id) in found {
        if !out.iter().any(|o| o.label == id.label && o.value == id.value) {
            out.push(id);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape_checks(g: &Guide) -> f64 {
        match g {
            Guide::Object(e) if e.iter().any(|(k, _)| k == "checks") => 1.0,
            _ => 0.0,
        }
    }

    const PROMPT: &str = r#"Task: check guidelines.

Examples of evaluations:
Example #1: ###
- **Interaction Events**:
[
  {"event_kind": "message", "event_source": "user", "data": {"message": "Where is Rome?"}}
]
- Guidelines:
1) Condition The customer asks about travel.
- **Expected Result**:
```json
{"checks": [{"guideline_id": "<example-id-for-few-shots--do-not-use-this-in-output>", "applies": true}]}
```

The following is a list of events: ###
['{"event_kind": "message", "event_source": "user", "data": {"participant": "Guest", "message": "Hi, I\'d like to book."}}']
###

- Guidelines List: ###
1) Condition: The patient asks about insurance. Action: List providers
2) Condition: The patient wants to book. Action: Book
###
Condition (3): a transition
Child id: 6

OUTPUT FORMAT
```json
{"checks": [{"guideline_id": "1", "applies": "<BOOL>"}, {"guideline_id": "2", "applies": "<BOOL>"}]}
```
"#;

    /// The example's expected output is an example; the last block is the template.
    #[test]
    fn template_and_examples() {
        let r = read(PROMPT, &shape_checks);
        let examples: Vec<bool> = r.blocks.iter().map(|b| b.example).collect();
        assert_eq!(examples, [true, true, false, false], "{:#?}", r.blocks);
        let t = r.template(&shape_checks).expect("template");
        let Guide::Object(e) = t else { panic!() };
        let Guide::Array { items, .. } = &e[0].1 else {
            panic!()
        };
        assert_eq!(items.len(), 2);
    }

    /// The latest user message comes from the real history, not the example's.
    #[test]
    fn latest_user() {
        let r = read(PROMPT, &shape_checks);
        assert_eq!(
            embedded_user_message(PROMPT, &r).as_deref(),
            Some("Hi, I'd like to book.")
        );
        let t = "User: first\nAssistant: ok\nUser: second one\n";
        assert_eq!(
            embedded_user_message(t, &read(t, &shape_checks)).as_deref(),
            Some("second one")
        );
    }

    /// Identifiers from the real part only, with their labels.
    #[test]
    fn idents() {
        let r = read(PROMPT, &shape_checks);
        let ids = identifiers(PROMPT, &r);
        let pairs: Vec<(&str, &str)> = ids.iter().map(|i| (i.label.as_str(), i.value.as_str())).collect();
        assert!(pairs.contains(&("condition", "3")), "{pairs:?}");
        assert!(pairs.contains(&("child", "6")), "{pairs:?}");
        assert!(
            pairs.contains(&("", "1")) && pairs.contains(&("", "2")),
            "{pairs:?}"
        );
        // The example's "1) Condition The customer asks about travel." is not offered twice
        // and nothing comes from inside the example region.
        assert!(!ids.iter().any(|i| i.line.contains("travel")), "{ids:?}");
    }
}
