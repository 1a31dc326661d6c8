//! The JSON reader: `kubectl get -o json`, JSON manifests and `List`s of live objects. jiter's
//! cursor walks the text without building its own tree; each key and item goes to the same
//! [`Builder`] as YAML's events, so a JSON document gets the value, the [`Lines`] and the
//! `managedFields` skipping that its YAML twin would, at a fraction of the time and memory
//! (yaml-rust2 holds every token of a flow collection until it closes).

use super::{Builder, Lines, SKIPPED_KEY};
use jiter::{Jiter, NumberAny, NumberInt, Peek};
use serde_json::Value;

/// Parses `text` as one JSON value into `builder`. `None` when the text is not valid JSON (the
/// caller reads it as YAML, which may still accept it and words its error in YAML's terms);
/// `Some(Err((line, message)))` when it is JSON the builder refuses (nested deeper than the cap).
pub(super) fn parse(text: &str, builder: Builder) -> Option<Result<(Value, Lines), (usize, String)>> {
    let mut reader = Reader { jiter: Jiter::new(text.as_bytes()), lines: LineCursor::new(text, builder.first_line) };
    match reader.walk(builder) {
        Ok(parsed) => Some(Ok(parsed)),
        Err(Failure::Refused(line, message)) => Some(Err((line, message))),
        Err(Failure::NotJson) => None,
    }
}

enum Failure {
    NotJson,
    Refused(usize, String),
}

impl From<jiter::JiterError> for Failure {
    fn from(_: jiter::JiterError) -> Self {
        Failure::NotJson
    }
}

struct Reader<'j> {
    jiter: Jiter<'j>,
    lines: LineCursor<'j>,
}

impl Reader<'_> {
    fn walk(&mut self, mut b: Builder) -> Result<(Value, Lines), Failure> {
        // Open containers, innermost last: true for an object.
        let mut open: Vec<bool> = Vec::new();
        let mut next = Some(self.jiter.peek()?);
        loop {
            if let Some(peek) = next.take() {
                let line = self.lines.at(self.jiter.current_index());
                let refused = |m: String| Failure::Refused(line, m);
                match peek {
                    Peek::Object => {
                        b.open_map(line, 0).map_err(refused)?;
                        open.push(true);
                        if let Some(k) = self.first_key()? {
                            next = Some(self.value_of(k, &mut b)?);
                            continue;
                        }
                    }
                    Peek::Array => {
                        b.open_seq(line, 0).map_err(refused)?;
                        open.push(false);
                        if let Some(p) = self.jiter.known_array()? {
                            next = Some(p);
                            continue;
                        }
                    }
                    _ => {
                        let value = self.scalar(peek)?;
                        b.scalar(value, line, 0).map_err(refused)?;
                    }
                }
            }
            // A value ended (or a container was empty): close what is finished, step to the next.
            loop {
                let line = self.lines.at(self.jiter.current_index());
                let step = match open.last() {
                    None => {
                        self.jiter.finish()?;
                        return Ok(b.into_root());
                    }
                    Some(true) => match self.next_key()? {
                        Some(k) => Some(self.value_of(k, &mut b)?),
                        None => None,
                    },
                    Some(false) => self.jiter.array_step()?,
                };
                if step.is_some() {
                    next = step;
                    break;
                }
                let closed = if open.pop() == Some(true) { b.close_map() } else { b.close_seq() };
                closed.map_err(|m| Failure::Refused(line, m))?;
            }
        }
    }

    /// The first key of the object the cursor is at, skipping [`SKIPPED_KEY`].
    fn first_key(&mut self) -> Result<Option<String>, Failure> {
        let key = self.jiter.known_object()?.map(str::to_owned);
        self.skip_unread(key)
    }

    /// The next key of the current object, skipping [`SKIPPED_KEY`].
    fn next_key(&mut self) -> Result<Option<String>, Failure> {
        let key = self.jiter.next_key()?.map(str::to_owned);
        self.skip_unread(key)
    }

    fn skip_unread(&mut self, mut key: Option<String>) -> Result<Option<String>, Failure> {
        while key.as_deref() == Some(SKIPPED_KEY) {
            self.jiter.next_skip()?;
            key = self.jiter.next_key()?.map(str::to_owned);
        }
        Ok(key)
    }

    /// Hands key `k` (the cursor is just past its colon, on the key's line) to the builder and
    /// peeks at its value.
    fn value_of(&mut self, k: String, b: &mut Builder) -> Result<Peek, Failure> {
        let line = self.lines.at(self.jiter.current_index().saturating_sub(1));
        b.key(k, line);
        Ok(self.jiter.peek()?)
    }

    fn scalar(&mut self, peek: Peek) -> Result<Value, Failure> {
        Ok(match peek {
            Peek::String => Value::String(self.jiter.known_str()?.to_owned()),
            Peek::True | Peek::False => Value::Bool(self.jiter.known_bool(peek)?),
            Peek::Null => {
                self.jiter.known_null()?;
                Value::Null
            }
            _ => match self.jiter.known_number(peek)? {
                NumberAny::Int(NumberInt::Int(i)) => Value::from(i),
                // Finite: jiter refuses NaN and Infinity unless asked to accept them.
                NumberAny::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
            },
        })
    }
}

/// The line of a byte offset, for offsets that only grow: counts the newlines since the last
/// offset asked, so a whole document costs one pass over its bytes.
struct LineCursor<'t> {
    bytes: &'t [u8],
    offset: usize,
    line: usize,
}

impl<'t> LineCursor<'t> {
    fn new(text: &'t str, first_line: usize) -> Self {
        LineCursor { bytes: text.as_bytes(), offset: 0, line: first_line }
    }

    /// The absolute 1-based line of byte `offset` (clamped to the text).
    fn at(&mut self, offset: usize) -> usize {
        let offset = offset.min(self.bytes.len());
        if offset > self.offset {
            self.line += memchr::memchr_iter(b'\n', &self.bytes[self.offset..offset]).count();
            self.offset = offset;
        }
        self.line
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::parse_value;

    /// The JSON reader and the YAML parser agree on value and lines for what both read.
    #[test]
    fn json_and_yaml_readers_agree() {
        let text = "{\n  \"kind\": \"Pod\",\n  \"n\": [1, 2.5, -3, true, null, \"x\"],\n  \"spec\": {\"a\":\n    {\"b\": []}, \"a\": 7},\n  \"e\": {}\n}\n";
        let (jv, jl) = parse_value(text, "f", 3).unwrap();
        // A leading comment makes it YAML-only: the same text through yaml-rust2.
        let (yv, yl) = parse_value(&format!("#\n{text}"), "f", 2).unwrap();
        assert_eq!(jv, yv);
        assert_eq!(jl, yl);
        assert_eq!(jv["spec"]["a"], 7, "a repeated key takes the last value");
    }

    /// The same for every JSON fixture of the repository (a live-cluster `List` among them).
    #[test]
    fn json_fixtures_read_the_same_as_yaml() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut seen = 0;
        for entry in walkdir::WalkDir::new(dir) {
            let path = entry.unwrap().into_path();
            if path.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(&path).unwrap();
                let json = parse_value(&text, "f", 2).unwrap();
                assert_eq!(json, parse_value(&format!("#\n{text}"), "f", 1).unwrap(), "{}", path.display());
                seen += 1;
            }
        }
        assert!(seen >= 2, "no JSON fixtures found");
    }

    #[test]
    fn not_json_falls_back_to_yaml() {
        let (v, l) = parse_value("{a: 1,\n b: [x]}", "f", 1).unwrap();
        assert_eq!(v["b"][0], "x");
        assert_eq!(l.line_of(&v, "b"), 2);
        let e = parse_value("{\"a\": [1,\n", "f.json", 1).unwrap_err();
        assert!(e.to_string().starts_with("f.json:"), "{e}");
    }

    #[test]
    fn managed_fields_are_skipped_in_json_too() {
        let text = "{\"managedFields\": [{\"x\": 1}], \"metadata\": {\"managedFields\": {}, \"managedFields\": 2,\n\"name\": \"p\"}}";
        let (v, l) = parse_value(text, "f", 1).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 1);
        assert_eq!(v["metadata"].as_object().unwrap().len(), 1);
        assert_eq!(l.line_of(&v, "metadata.name"), 2);
    }

    #[test]
    fn deep_json_is_refused() {
        let deep = format!("{}{}", "[".repeat(600), "]".repeat(600));
        assert!(parse_value(&deep, "f", 1).unwrap_err().to_string().contains("nested deeper"));
    }
}
