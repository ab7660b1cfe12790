//! Plausible strings: words, names, places and formats chosen from a property name.

use std::sync::LazyLock;

use rand::Rng;
use rand::seq::SliceRandom;

/// A word list from `data/<name>.txt`: one entry per line, blank lines skipped, in file order.
macro_rules! word_list {
    ($name:ident = $file:literal) => {
        static $name: LazyLock<Vec<&'static str>> =
            LazyLock::new(|| lines(include_str!(concat!("../data/", $file))));
    };
}

fn lines(text: &'static str) -> Vec<&'static str> {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).collect()
}

word_list!(NOUNS = "nouns.txt");
word_list!(ADJECTIVES = "adjectives.txt");
word_list!(VERBS = "verbs.txt");
word_list!(FIRST_NAMES = "first_names.txt");
word_list!(LAST_NAMES = "last_names.txt");
word_list!(CITIES = "cities.txt");
word_list!(COUNTRIES = "countries.txt");
word_list!(STREET_KINDS = "street_kinds.txt");
word_list!(COLORS = "colors.txt");
word_list!(STATUSES = "statuses.txt");
word_list!(LANGUAGES = "languages.txt");
word_list!(CURRENCIES = "currencies.txt");
word_list!(COMPANY_SUFFIXES = "company_suffixes.txt");

/// Every word list, for the pattern generator's "a real word that fits this class" trick.
pub(crate) static ALL_LISTS: LazyLock<[&'static [&'static str]; 9]> = LazyLock::new(|| {
    [
        NOUNS.as_slice(),
        ADJECTIVES.as_slice(),
        VERBS.as_slice(),
        FIRST_NAMES.as_slice(),
        LAST_NAMES.as_slice(),
        CITIES.as_slice(),
        COUNTRIES.as_slice(),
        COLORS.as_slice(),
        STATUSES.as_slice(),
    ]
});

fn pick<R: Rng + ?Sized>(rng: &mut R, list: &[&'static str]) -> &'static str {
    list.choose(rng).copied().unwrap_or("item")
}

/// Lower-case words of a property name or title: `firstName`, `first_name`, `First Name`
/// all give `["first", "name"]`.
pub(crate) fn tokens(hint: Option<&str>) -> Vec<String> {
    hint.map(name_tokens).unwrap_or_default()
}

/// Lower-case words of an identifier in any casing: `firstName`, `first_name`, `First Name`
/// all give `["first", "name"]`.
pub fn name_tokens(hint: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in hint.chars() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A string that reads like a value for the property named by `hint`.
pub(crate) fn for_hint<R: Rng + ?Sized>(hint: Option<&str>, rng: &mut R) -> String {
    let tokens = tokens(hint);
    let has = |w: &[&str]| tokens.iter().any(|t| w.contains(&t.as_str()));
    let last = tokens.last().map(String::as_str).unwrap_or("");
    if has(&["email", "mail"]) {
        return email(rng);
    }
    if has(&["url", "uri", "link", "website", "homepage", "href"]) {
        return url(rng);
    }
    if has(&["phone", "tel", "mobile", "fax"]) {
        return format!("+1-555-{:04}", rng.gen_range(100..10000));
    }
    if matches!(
        last,
        "id" | "uuid" | "guid" | "key" | "slug" | "token" | "sku" | "code" | "ref"
    ) || has(&["identifier"])
    {
        let prefix = tokens
            .iter()
            .find(|t| !matches!(t.as_str(), "id" | "uuid" | "guid" | "key" | "ref"))
            .map(|t| t.chars().take(4).collect::<String>())
            .unwrap_or_else(|| "id".into());
        return format!("{prefix}-{:08x}", rng.r#gen::<u32>());
    }
    if last == "name"
        || matches!(
            last,
            "firstname" | "lastname" | "fullname" | "username" | "surname"
        )
    {
        return if has(&["first", "given", "firstname"]) {
            pick(rng, &FIRST_NAMES).to_string()
        } else if has(&["last", "family", "surname", "lastname"]) {
            pick(rng, &LAST_NAMES).to_string()
        } else if has(&["user", "login", "screen", "username", "nick"]) {
            username(rng)
        } else if has(&["company", "org", "organization", "business", "brand"]) {
            company(rng)
        } else if has(&["city", "town"]) {
            pick(rng, &CITIES).to_string()
        } else if has(&["country"]) {
            pick(rng, &COUNTRIES).to_string()
        } else if has(&["file"]) {
            format!("{}.txt", pick(rng, &NOUNS))
        } else if has(&["product", "item", "project", "task", "event", "team", "app"]) {
            capitalize(&format!("{} {}", pick(rng, &ADJECTIVES), pick(rng, &NOUNS)))
        } else {
            person_name(rng)
        };
    }
    if has(&["city", "town"]) {
        return pick(rng, &CITIES).to_string();
    }
    if has(&["country", "nation"]) {
        return pick(rng, &COUNTRIES).to_string();
    }
    if has(&["street", "address", "addr"]) {
        return format!(
            "{} {} {}",
            rng.gen_range(1..400),
            pick(rng, &LAST_NAMES),
            pick(rng, &STREET_KINDS)
        );
    }
    if has(&["zip", "postal", "postcode"]) {
        return format!("{:05}", rng.gen_range(10000..99999));
    }
    if has(&[
        "description",
        "summary",
        "message",
        "text",
        "content",
        "comment",
        "comments",
        "bio",
        "reason",
        "explanation",
        "body",
        "note",
        "notes",
        "answer",
        "details",
        "question",
        "review",
        "feedback",
        "instructions",
        "prompt",
        "reply",
        "response",
        "caption",
        "abstract",
        "sentence",
        "paragraph",
        "story",
        "reasoning",
        "rationale",
    ]) {
        return sentence(rng);
    }
    if has(&["title", "headline", "subject", "heading", "topic"]) {
        return format!(
            "The {} {}",
            capitalize(pick(rng, &ADJECTIVES)),
            capitalize(pick(rng, &NOUNS))
        );
    }
    if has(&["color", "colour"]) {
        return pick(rng, &COLORS).to_string();
    }
    if has(&["timestamp", "datetime"]) || last == "at" {
        return date_time(rng);
    }
    if has(&["date", "birthday", "dob", "day"]) {
        return date(rng);
    }
    if has(&["time"]) {
        return time(rng);
    }
    if has(&[
        "author", "owner", "person", "customer", "manager", "contact", "employee", "user", "assignee",
        "reviewer",
    ]) {
        return person_name(rng);
    }
    if has(&["company", "organization", "org", "employer", "brand", "vendor"]) {
        return company(rng);
    }
    if has(&["language", "lang", "locale"]) {
        return pick(rng, &LANGUAGES).to_string();
    }
    if has(&["currency"]) {
        return pick(rng, &CURRENCIES).to_string();
    }
    if has(&["status", "state", "stage"]) {
        return pick(rng, &STATUSES).to_string();
    }
    if has(&[
        "tag",
        "tags",
        "label",
        "labels",
        "category",
        "categories",
        "keyword",
        "keywords",
        "type",
        "kind",
        "genre",
        "word",
        "words",
    ]) {
        return pick(rng, &NOUNS).to_string();
    }
    if rng.gen_bool(0.5) {
        pick(rng, &NOUNS).to_string()
    } else {
        format!("{} {}", pick(rng, &ADJECTIVES), pick(rng, &NOUNS))
    }
}

/// A key for a map entry (`dict[str, V]`).
pub(crate) fn map_key<R: Rng + ?Sized>(rng: &mut R) -> String {
    pick(rng, &NOUNS).to_string()
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn person_name<R: Rng + ?Sized>(rng: &mut R) -> String {
    format!("{} {}", pick(rng, &FIRST_NAMES), pick(rng, &LAST_NAMES))
}

fn username<R: Rng + ?Sized>(rng: &mut R) -> String {
    format!(
        "{}{}",
        pick(rng, &FIRST_NAMES).to_lowercase(),
        rng.gen_range(1..100)
    )
}

fn company<R: Rng + ?Sized>(rng: &mut R) -> String {
    format!(
        "{} {}",
        capitalize(pick(rng, &NOUNS)),
        pick(rng, &COMPANY_SUFFIXES)
    )
}

fn sentence<R: Rng + ?Sized>(rng: &mut R) -> String {
    let (a, n1, v, n2) = (
        pick(rng, &ADJECTIVES),
        pick(rng, &NOUNS),
        pick(rng, &VERBS),
        pick(rng, &NOUNS),
    );
    match rng.gen_range(0..4) {
        0 => format!("The {a} {n1} {v} the {n2}."),
        1 => format!(
            "{} {v} a {a} {n1} in {}.",
            pick(rng, &FIRST_NAMES),
            pick(rng, &CITIES)
        ),
        2 => format!("A {a} {n1} for every {n2}."),
        _ => format!("This {n1} {v} {a} ideas about the {n2}."),
    }
}

fn email<R: Rng + ?Sized>(rng: &mut R) -> String {
    format!(
        "{}.{}@example.{}",
        pick(rng, &FIRST_NAMES).to_lowercase(),
        pick(rng, &LAST_NAMES).to_lowercase(),
        if rng.gen_bool(0.5) { "com" } else { "org" }
    )
}

fn url<R: Rng + ?Sized>(rng: &mut R) -> String {
    format!("https://example.com/{}/{}", pick(rng, &NOUNS), pick(rng, &NOUNS))
}

fn date<R: Rng + ?Sized>(rng: &mut R) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        rng.gen_range(2020..=2026),
        rng.gen_range(1..=12),
        rng.gen_range(1..=28)
    )
}

fn time<R: Rng + ?Sized>(rng: &mut R) -> String {
    format!(
        "{:02}:{:02}:{:02}Z",
        rng.gen_range(0..24),
        rng.gen_range(0..60),
        rng.gen_range(0..60)
    )
}

fn date_time<R: Rng + ?Sized>(rng: &mut R) -> String {
    let d = date(rng);
    let t = time(rng);
    format!("{d}T{t}")
}

fn uuid<R: Rng + ?Sized>(rng: &mut R) -> String {
    let mut b: [u8; 16] = rng.r#gen();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn base64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// A value for a `format`, or `None` when the format has no special shape.
pub(crate) fn format<R: Rng + ?Sized>(format: &str, rng: &mut R) -> Option<String> {
    Some(match format {
        "date-time" => date_time(rng),
        "date" => date(rng),
        "time" => time(rng),
        "duration" => match rng.gen_range(0..3) {
            0 => format!("P{}D", rng.gen_range(1..30)),
            1 => format!("PT{}H{}M", rng.gen_range(1..24), rng.gen_range(1..60)),
            _ => format!("PT{}M", rng.gen_range(1..90)),
        },
        "uuid" => uuid(rng),
        "email" | "idn-email" => email(rng),
        "uri" | "iri" | "uri-reference" | "iri-reference" | "url" => url(rng),
        "uri-template" => format!("https://example.com/{}/{{id}}", pick(rng, &NOUNS)),
        "hostname" | "idn-hostname" => format!("{}.example.com", pick(rng, &NOUNS)),
        "ipv4" => format!(
            "{}.{}",
            pick(rng, &["192.0.2", "198.51.100", "203.0.113"][..]),
            rng.gen_range(1..255)
        ),
        "ipv6" => format!("2001:db8::{:x}", rng.gen_range(1..0xffff)),
        "json-pointer" => format!("/{}/{}", pick(rng, &NOUNS), rng.gen_range(0..10)),
        "relative-json-pointer" => format!("{}/{}", rng.gen_range(0..3), pick(rng, &NOUNS)),
        "regex" => "^[a-z]+$".to_string(),
        "byte" => base64(pick(rng, &NOUNS).as_bytes()),
        _ => return None,
    })
}

/// Pad with words up to `min` characters; cut to `max`, at a word boundary when that still
/// leaves `min`.
pub(crate) fn fit<R: Rng + ?Sized>(s: String, min: usize, max: Option<usize>, rng: &mut R) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    while chars.len() < min {
        if !chars.is_empty() {
            chars.push(' ');
        }
        chars.extend(pick(rng, &NOUNS).chars());
    }
    if let Some(max) = max {
        if chars.len() > max {
            let clean_cut = chars.get(max) == Some(&' ');
            chars.truncate(max);
            if !clean_cut {
                if let Some(pos) = chars.iter().rposition(|&c| c == ' ') {
                    if pos >= min && pos > 0 {
                        chars.truncate(pos);
                    }
                }
            }
            while chars.last() == Some(&' ') && chars.len() > min {
                chars.pop();
            }
        }
    }
    if let Some(last) = chars.last_mut() {
        if *last == ' ' {
            *last = 'a';
        }
    }
    chars.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;
    use serde_json::json;

    /// The data files load whole: one trimmed, distinct entry per line, in file order.
    #[test]
    fn word_lists_load() {
        let lists: [(&str, &[&str]); 13] = [
            ("nouns", &NOUNS),
            ("adjectives", &ADJECTIVES),
            ("verbs", &VERBS),
            ("first_names", &FIRST_NAMES),
            ("last_names", &LAST_NAMES),
            ("cities", &CITIES),
            ("countries", &COUNTRIES),
            ("street_kinds", &STREET_KINDS),
            ("colors", &COLORS),
            ("statuses", &STATUSES),
            ("languages", &LANGUAGES),
            ("currencies", &CURRENCIES),
            ("company_suffixes", &COMPANY_SUFFIXES),
        ];
        for (name, list) in lists {
            assert!(!list.is_empty(), "{name} is empty");
            for (i, w) in list.iter().enumerate() {
                assert!(!w.is_empty() && w.trim() == *w, "{name}: {w:?}");
                assert!(!list[..i].contains(w), "{name}: {w:?} twice");
            }
        }
        assert_eq!((NOUNS.len(), NOUNS[0], NOUNS[59]), (60, "apple", "harvest"));
        assert_eq!(ALL_LISTS.len(), 9);
        assert_eq!(ALL_LISTS[0], NOUNS.as_slice());
    }

    /// Every produced format value passes the `jsonschema` crate's format check: no
    /// 31 February, durations in ISO 8601 form (`P3D`, `PT15M`, `PT2H30M`).
    #[test]
    fn formats_are_valid() {
        let mut rng = SmallRng::seed_from_u64(7);
        for f in [
            "date-time",
            "date",
            "time",
            "duration",
            "uuid",
            "email",
            "idn-email",
            "uri",
            "iri",
            "uri-reference",
            "iri-reference",
            "uri-template",
            "hostname",
            "idn-hostname",
            "ipv4",
            "ipv6",
            "json-pointer",
            "relative-json-pointer",
            "regex",
        ] {
            let check = jsonschema::options()
                .should_validate_formats(true)
                .build(&json!({"format": f}))
                .expect("compiles");
            // The checker is on: it rejects what the generator must never produce.
            let bad = match f {
                "date" => Some("2025-02-31"),
                "date-time" => Some("2025-02-31T10:00:00Z"),
                "duration" => Some("P1H"),
                "time" => Some("24:00:00Z"),
                _ => None,
            };
            assert!(
                bad.is_none_or(|b| !check.is_valid(&json!(b))),
                "{f}: {bad:?} accepted"
            );
            for _ in 0..2000 {
                let s = format(f, &mut rng).expect("a shaped value");
                assert!(check.is_valid(&json!(s)), "{f}: {s:?}");
            }
        }
        for _ in 0..2000 {
            let d = date(&mut rng);
            let day: u32 = d[8..].parse().expect("day");
            assert!((1..=28).contains(&day), "{d}");
        }
    }
}
