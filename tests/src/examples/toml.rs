//! A small TOML reader for `examples/*/example.toml` (the crate has no TOML dependency): tables,
//! arrays of tables, inline tables, arrays (also over several lines), basic and literal strings,
//! integers, floats and booleans, comments. Produces a `serde_json::Value` object. Dotted keys,
//! multi-line strings and dates are not supported (and not used by example.toml files).

use serde_json::{Map, Value};

pub fn parse(src: &str) -> Result<Value, String> {
    let mut p = P {
        s: src.as_bytes(),
        i: 0,
    };
    let mut root = Value::Object(Map::new());
    // Current table: path from the root; in an array of tables the last element is meant.
    let mut current: Vec<String> = Vec::new();
    loop {
        p.skip_blank_lines();
        if p.eof() {
            break;
        }
        if p.peek() == Some(b'[') {
            let array = p.s.get(p.i + 1) == Some(&b'[');
            p.i += if array { 2 } else { 1 };
            let start = p.i;
            while !p.eof() && p.peek() != Some(b']') {
                p.i += 1;
            }
            let path: Vec<String> = std::str::from_utf8(&p.s[start..p.i])
                .unwrap()
                .split('.')
                .map(|k| k.trim().trim_matches('"').to_string())
                .collect();
            p.expect(b']')?;
            if array {
                p.expect(b']')?;
            }
            p.end_of_line()?;
            let (last, parents) = path.split_last().unwrap();
            let parent = table_at(&mut root, parents)?;
            if array {
                let slot = parent
                    .entry(last.clone())
                    .or_insert_with(|| Value::Array(vec![]));
                slot.as_array_mut()
                    .ok_or_else(|| format!("`{last}` is not an array of tables"))?
                    .push(Value::Object(Map::new()));
            } else {
                parent
                    .entry(last.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
            }
            current = path;
            continue;
        }
        let key = p.key()?;
        p.skip_ws();
        p.expect(b'=')?;
        p.skip_ws();
        let v = p.value()?;
        p.end_of_line()?;
        let t = table_at(&mut root, &current)?;
        if t.insert(key.clone(), v).is_some() {
            return Err(format!("duplicate key `{key}` (line {})", p.line()));
        }
    }
    Ok(root)
}

fn table_at<'v>(
    root: &'v mut Value,
    path: &[String],
) -> Result<&'v mut Map<String, Value>, String> {
    let mut v = root;
    for seg in path {
        let obj = v
            .as_object_mut()
            .ok_or_else(|| format!("`{seg}`: parent is not a table"))?;
        v = obj
            .entry(seg.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Array(a) = v {
            v = a
                .last_mut()
                .ok_or_else(|| format!("`{seg}`: empty array of tables"))?;
        }
    }
    v.as_object_mut().ok_or_else(|| "not a table".to_string())
}

struct P<'a> {
    s: &'a [u8],
    i: usize,
}

impl P<'_> {
    fn eof(&self) -> bool {
        self.i >= self.s.len()
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn line(&self) -> usize {
        self.s[..self.i.min(self.s.len())]
            .iter()
            .filter(|&&c| c == b'\n')
            .count()
            + 1
    }
    fn err<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("line {}: {what}", self.line()))
    }
    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }
    fn skip_comment(&mut self) {
        if self.peek() == Some(b'#') {
            while !self.eof() && self.peek() != Some(b'\n') {
                self.i += 1;
            }
        }
    }
    /// Whitespace, newlines and comments.
    fn skip_blank_lines(&mut self) {
        loop {
            self.skip_ws();
            self.skip_comment();
            match self.peek() {
                Some(b'\n' | b'\r') => self.i += 1,
                _ => return,
            }
        }
    }
    fn end_of_line(&mut self) -> Result<(), String> {
        self.skip_ws();
        self.skip_comment();
        match self.peek() {
            None => Ok(()),
            Some(b'\n' | b'\r') => Ok(()),
            Some(c) => self.err(&format!("unexpected `{}` after a value", c as char)),
        }
    }
    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            self.err(&format!("expected `{}`", c as char))
        }
    }
    fn key(&mut self) -> Result<String, String> {
        match self.peek() {
            Some(b'"') => self.basic_string(),
            Some(b'\'') => self.literal_string(),
            _ => {
                let start = self.i;
                while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
                {
                    self.i += 1;
                }
                if start == self.i {
                    return self.err("expected a key");
                }
                Ok(String::from_utf8(self.s[start..self.i].to_vec()).unwrap())
            }
        }
    }
    fn basic_string(&mut self) -> Result<String, String> {
        self.expect(b'"')?;
        if self.s[self.i..].starts_with(b"\"\"") {
            return self.err("multi-line strings are not supported");
        }
        let mut out = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return self.err("unterminated string");
            };
            self.i += 1;
            match c {
                b'"' => break,
                b'\n' => return self.err("newline in a string"),
                b'\\' => {
                    let Some(e) = self.peek() else {
                        return self.err("unterminated escape");
                    };
                    self.i += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'u' | b'U' => {
                            let n = if e == b'u' { 4 } else { 8 };
                            let hex = std::str::from_utf8(&self.s[self.i..self.i + n]).unwrap();
                            let ch = u32::from_str_radix(hex, 16)
                                .ok()
                                .and_then(char::from_u32)
                                .ok_or_else(|| format!("bad escape \\{}{hex}", e as char))?;
                            self.i += n;
                            out.extend_from_slice(ch.to_string().as_bytes());
                        }
                        _ => return self.err(&format!("unknown escape \\{}", e as char)),
                    }
                }
                _ => out.push(c),
            }
        }
        String::from_utf8(out).map_err(|e| e.to_string())
    }
    fn literal_string(&mut self) -> Result<String, String> {
        self.expect(b'\'')?;
        let start = self.i;
        while self.peek().is_some_and(|c| c != b'\'' && c != b'\n') {
            self.i += 1;
        }
        let s = String::from_utf8(self.s[start..self.i].to_vec()).unwrap();
        self.expect(b'\'')?;
        Ok(s)
    }
    fn value(&mut self) -> Result<Value, String> {
        match self.peek() {
            Some(b'"') => Ok(Value::String(self.basic_string()?)),
            Some(b'\'') => Ok(Value::String(self.literal_string()?)),
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_blank_lines();
                    if self.peek() == Some(b']') {
                        self.i += 1;
                        return Ok(Value::Array(items));
                    }
                    items.push(self.value()?);
                    self.skip_blank_lines();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b']') => {}
                        _ => return self.err("expected `,` or `]` in an array"),
                    }
                }
            }
            Some(b'{') => {
                self.i += 1;
                let mut m = Map::new();
                self.skip_ws();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                    return Ok(Value::Object(m));
                }
                loop {
                    self.skip_ws();
                    let k = self.key()?;
                    self.skip_ws();
                    self.expect(b'=')?;
                    self.skip_ws();
                    let v = self.value()?;
                    m.insert(k, v);
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(Value::Object(m));
                        }
                        _ => return self.err("expected `,` or `}` in an inline table"),
                    }
                }
            }
            _ => {
                let start = self.i;
                while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || b"+-._".contains(&c))
                {
                    self.i += 1;
                }
                let word = std::str::from_utf8(&self.s[start..self.i])
                    .unwrap()
                    .replace('_', "");
                match word.as_str() {
                    "true" => Ok(Value::Bool(true)),
                    "false" => Ok(Value::Bool(false)),
                    w => {
                        if let Ok(n) = w.parse::<i64>() {
                            Ok(Value::from(n))
                        } else if let Ok(f) = w.parse::<f64>() {
                            Ok(Value::from(f))
                        } else {
                            self.err(&format!("unsupported value `{w}`"))
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse;
    use serde_json::json;

    #[test]
    fn example_toml_subset() {
        let v = parse(
            r#"# comment
name = "go" # trailing
n = 30
[build_args]
GO_IMAGE = "slipway-test/golang:latest"
[[runtime]]
target = "a"
run = { kind = "http", port = 8080, expect_body = "hi\n", ok = true }
[[runtime]]
target = "b"
paths = ["/x",
  "/y", # c
]
[parallel]
stages = { frontend = ["npm ci"], backend = ['go build'] }
"#,
        )
        .unwrap();
        assert_eq!(v["name"], "go");
        assert_eq!(v["n"], 30);
        assert_eq!(v["build_args"]["GO_IMAGE"], "slipway-test/golang:latest");
        assert_eq!(
            v["runtime"][0]["run"],
            json!({"kind": "http", "port": 8080, "expect_body": "hi\n", "ok": true})
        );
        assert_eq!(v["runtime"][1]["paths"], json!(["/x", "/y"]));
        assert_eq!(v["parallel"]["stages"]["backend"], json!(["go build"]));
    }
}
