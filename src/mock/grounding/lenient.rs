//! A forgiving reader for the JSON-like output templates prompts show the model.
//!
//! Prompts write their expected output the way a person would: `"applies": "<BOOL>"`,
//! unquoted placeholders (`"should_run": <true if …, false otherwise>`), trailing commas,
//! a missing comma at a line end, quotes inside a string (`"<STR, in the format "You are
//! likely to …" >"`), `...` for "more items like these", Python reprs (`'text'`, `True`,
//! `None`). Real models read these without complaint; so does this parser. It never fails
//! on odd input: it returns `None` when the text is not a JSON-like value at all.
//!
//! Work is linear in the input: every loop consumes at least one character and nesting is
//! capped at `MAX_DEPTH`.

use schemagen::Guide;
use serde_json::Value;

/// Deepest nesting read; deeper input is not a template worth following.
const MAX_DEPTH: usize = 64;

/// Parse `text` as one object or array (text after it is ignored).
pub fn parse(text: &str) -> Option<Guide> {
    parse_prefix(text).map(|(g, _)| g)
}

/// Parse the object or array that starts `text` (after whitespace); also returns where it
/// ended, in bytes.
pub fn parse_prefix(text: &str) -> Option<(Guide, usize)> {
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        i: 0,
    };
    p.ws();
    let first = p.peek()?;
    if first != b'{' && first != b'[' {
        return None;
    }
    let guide = p.value(0)?;
    Some((guide, p.i))
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_ascii_whitespace() {
                self.i += 1;
            } else if c == b'/' && self.s.get(self.i + 1) == Some(&b'/') {
                // `// comment` to the end of the line.
                while let Some(c) = self.peek() {
                    if c == b'\n' {
                        break;
                    }
                    self.i += 1;
                }
            } else {
                break;
            }
        }
    }

    /// Whitespace without newlines.
    fn blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r')) {
            self.i += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Option<Guide> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        match self.peek()? {
            b'{' => self.object(depth),
            b'[' => self.array(depth),
            b'"' | b'\'' => {
                let s = self.string()?;
                Some(scalar_string(s))
            }
            b'<' => Some(Guide::Hole(self.hole())),
            _ => self.bare(),
        }
    }

    fn object(&mut self, depth: usize) -> Option<Guide> {
        self.i += 1; // '{'
        let mut entries = Vec::new();
        loop {
            self.ws();
            match self.peek() {
                None => return Some(Guide::Object(entries)),
                Some(b'}') => {
                    self.i += 1;
                    return Some(Guide::Object(entries));
                }
                Some(b',') => {
                    self.i += 1;
                    continue;
                }
                Some(b'.') if self.at_ellipsis() => {
                    self.skip_ellipsis();
                    continue;
                }
                _ => {}
            }
            let start = self.i;
            let key = match self.peek()? {
                b'"' | b'\'' => self.key_string()?,
                _ => self.bare_key()?,
            };
            self.ws();
            if self.peek() == Some(b':') {
                self.i += 1;
                let value = self.value(depth + 1)?;
                entries.push((key, value));
            } else {
                // A key with no value: `{"a", "b"}` is not a template.
                if self.i == start {
                    self.i += 1;
                }
            }
        }
    }

    fn array(&mut self, depth: usize) -> Option<Guide> {
        self.i += 1; // '['
        let mut items = Vec::new();
        let mut more = false;
        loop {
            self.ws();
            match self.peek() {
                None => return Some(Guide::Array { items, more }),
                Some(b']') => {
                    self.i += 1;
                    return Some(Guide::Array { items, more });
                }
                Some(b',') => {
                    self.i += 1;
                    continue;
                }
                Some(b'.') if self.at_ellipsis() => {
                    self.skip_ellipsis();
                    more = true;
                    continue;
                }
                _ => {}
            }
            let start = self.i;
            let item = self.value(depth + 1)?;
            if self.i == start {
                self.i += 1;
            }
            items.push(item);
        }
    }

    fn at_ellipsis(&self) -> bool {
        self.s[self.i..].starts_with(b"...") || self.text[self.i..].starts_with('…')
    }

    fn skip_ellipsis(&mut self) {
        while matches!(self.peek(), Some(b'.')) {
            self.i += 1;
        }
        if self.text[self.i..].starts_with('…') {
            self.i += '…'.len_utf8();
        }
    }

    /// A quoted string. A quote closes it only when what follows (after blanks) can follow a
    /// value: `,` `}` `]` `:` a newline or the end. Any other quote is part of the text, as
    /// in `"<STR, like "this" >"`.
    fn string(&mut self) -> Option<String> {
        self.quoted(false)
    }

    /// A quoted key: closes only before `:` (after blanks).
    fn key_string(&mut self) -> Option<String> {
        self.quoted(true)
    }

    fn quoted(&mut self, key: bool) -> Option<String> {
        let quote = self.peek()?;
        self.i += 1;
        let mut out = String::new();
        let mut seg = self.i;
        while self.i < self.s.len() {
            let c = self.s[self.i];
            if c == b'\\' {
                out.push_str(&self.text[seg..self.i]);
                self.i += 1;
                let esc = self.peek();
                match esc {
                    Some(b'n') => out.push('\n'),
                    Some(b't') => out.push('\t'),
                    Some(b'r') => out.push('\r'),
                    Some(b'u') => {
                        let hex = self.text.get(self.i + 1..self.i + 5);
                        match hex
                            .and_then(|h| u32::from_str_radix(h, 16).ok())
                            .and_then(char::from_u32)
                        {
                            Some(ch) => {
                                out.push(ch);
                                self.i += 4;
                            }
                            None => out.push('u'),
                        }
                    }
                    Some(other) if other.is_ascii() => out.push(other as char),
                    _ => {}
                }
                if esc.is_some_and(|c| c.is_ascii()) {
                    self.i += 1;
                }
                seg = self.i;
                continue;
            }
            if c == quote && self.closes(key) {
                out.push_str(&self.text[seg..self.i]);
                self.i += 1;
                return Some(out);
            }
            self.i += 1;
        }
        // Unterminated: take the rest.
        out.push_str(&self.text[seg..]);
        Some(out)
    }

    /// Whether the quote at `self.i` ends the string.
    fn closes(&self, key: bool) -> bool {
        let mut j = self.i + 1;
        while j < self.s.len() && matches!(self.s[j], b' ' | b'\t' | b'\r') {
            j += 1;
        }
        match self.s.get(j) {
            None => true,
            Some(b':') => true,
            Some(_) if key => false,
            Some(b',' | b'}' | b']' | b'\n') => true,
            Some(_) => false,
        }
    }

    /// `<…>` with nested angle brackets; the text inside, trimmed.
    fn hole(&mut self) -> String {
        let start = self.i + 1;
        let mut depth = 0usize;
        while self.i < self.s.len() {
            match self.s[self.i] {
                b'<' => depth += 1,
                b'>' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        let inner = self.text[start..self.i].trim().to_string();
                        self.i += 1;
                        return inner;
                    }
                }
                _ => {}
            }
            self.i += 1;
        }
        self.text[start.min(self.text.len())..].trim().to_string()
    }

    /// An unquoted key, up to the colon.
    fn bare_key(&mut self) -> Option<String> {
        let start = self.i;
        while let Some(c) = self.peek() {
            if c == b':' || c == b'\n' || c == b'}' || c == b',' {
                break;
            }
            self.i += 1;
        }
        let key = self.text[start..self.i].trim();
        (!key.is_empty()).then(|| key.to_string())
    }

    /// An unquoted scalar: a number, `true`/`false`/`null` (also Python's `True`, `None`),
    /// or free text up to the end of the value, which is read as a placeholder.
    fn bare(&mut self) -> Option<Guide> {
        let start = self.i;
        while let Some(c) = self.peek() {
            if matches!(c, b',' | b'}' | b']' | b'\n') {
                break;
            }
            self.i += 1;
        }
        self.blanks();
        let token = self.text[start..self.i].trim();
        if token.is_empty() {
            // `"a": }` — a value left out; read as an empty placeholder.
            return Some(Guide::Hole(String::new()));
        }
        Some(match token {
            "true" | "True" => Guide::Value(Value::Bool(true)),
            "false" | "False" => Guide::Value(Value::Bool(false)),
            "null" | "None" => Guide::Value(Value::Null),
            _ => match serde_json::from_str::<serde_json::Number>(token) {
                Ok(n) => Guide::Value(Value::Number(n)),
                Err(_) => Guide::Hole(token.to_string()),
            },
        })
    }
}

/// A string value: a placeholder when it reads `<…>`, else a concrete value.
fn scalar_string(s: String) -> Guide {
    let t = s.trim();
    if t.len() >= 2 && t.starts_with('<') && t.ends_with('>') {
        Guide::Hole(t[1..t.len() - 1].trim().to_string())
    } else {
        Guide::Value(Value::String(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(g: &Guide) -> &[(String, Guide)] {
        match g {
            Guide::Object(e) => e,
            other => panic!("not an object: {other:?}"),
        }
    }

    /// Valid JSON reads as JSON, with `<…>` strings as placeholders.
    #[test]
    fn plain_json() {
        let g = parse(r#"{"checks": [{"guideline_id": "1", "applies": "<BOOL>", "n": 2}]}"#).unwrap();
        let checks = &obj(&g)[0].1;
        let Guide::Array { items, more } = checks else {
            panic!("{checks:?}")
        };
        assert!(!more);
        let item = obj(&items[0]);
        assert_eq!(item[0], ("guideline_id".into(), Guide::Value(json!("1"))));
        assert_eq!(item[1], ("applies".into(), Guide::Hole("BOOL".into())));
        assert_eq!(item[2], ("n".into(), Guide::Value(json!(2))));
    }

    /// The forms prompts really use (Parlant 3.3's templates, verbatim).
    #[test]
    fn human_templates() {
        // A quote inside the string and a trailing comma.
        let g = parse(
            "{\n  \"condition\": \"x\",\n  \"rewritten_condition\": \"<STR, in the format of \"You are likely to (do something)\" >\",\n}",
        )
        .unwrap();
        assert_eq!(
            obj(&g)[1].1,
            Guide::Hole("STR, in the format of \"You are likely to (do something)\"".into())
        );
        // A missing comma at a line end, and a trailing comma.
        let g = parse("{\n  \"action\": \"Use the tool\",\n  \"rationale\": \"<str>\"\n  \"is_tool_running_only\": \"<BOOL>\",\n}").unwrap();
        assert_eq!(obj(&g).len(), 3);
        // Unquoted placeholders with commas and parentheses inside.
        let g =
            parse("{\n\"journey_continues\": <bool, whether (really), yes>,\n\"id\": \"<str>\"\n}").unwrap();
        assert_eq!(obj(&g)[0].1, Guide::Hole("bool, whether (really), yes".into()));
        // `...` means more items like these.
        let g = parse("{\"calls\": [ {\"args\": {}}, ... ]}").unwrap();
        assert!(matches!(&obj(&g)[0].1, Guide::Array { items, more: true } if items.len() == 1));
        // A placeholder as the only array element; Python literals.
        let g = parse("{\"insights\": [<Up to 3 insights>], \"ok\": True, \"x\": None}").unwrap();
        assert!(
            matches!(&obj(&g)[0].1, Guide::Array { items, .. } if items == &vec![Guide::Hole("Up to 3 insights".into())])
        );
        assert_eq!(obj(&g)[1].1, Guide::Value(json!(true)));
        assert_eq!(obj(&g)[2].1, Guide::Value(Value::Null));
        // Keys with annotations are kept whole (matched to properties later).
        let g = parse("{\"guidelines (include only if x)\": []}").unwrap();
        assert_eq!(obj(&g)[0].0, "guidelines (include only if x)");
    }

    /// Text that is not a JSON-like value gives nothing; nothing panics on junk.
    #[test]
    fn junk() {
        assert!(parse("hello").is_none());
        assert!(parse("").is_none());
        for s in [
            "{",
            "[",
            "{\"a\":",
            "{\"a\": \"b",
            "[<",
            "{:::}",
            "{\"a\" \"b\"}",
            "[...",
            "{\"\\u12",
            "[\"\\",
        ] {
            let _ = parse(s);
        }
        let deep = "[".repeat(10_000);
        assert!(parse(&deep).is_none());
    }
}
