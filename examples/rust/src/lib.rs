//! A tiny HTTP responder (std only, plus `humantime` from crates.io).
use std::time::Duration;

/// The answer to `GET /?name=...`.
pub fn greeting(name: &str) -> String {
    let who = name.trim();
    let who = if who.is_empty() { "world" } else { who };
    format!("hello, {who}, from rust\n")
}

/// "up 1m 30s" style uptime text.
pub fn uptime(d: Duration) -> String {
    format!("up {}", humantime::format_duration(Duration::from_secs(d.as_secs())))
}

/// Builds the whole HTTP response for a request line like `GET /path?query HTTP/1.1`.
pub fn respond(request_line: &str, up: Duration) -> String {
    let target = request_line.split_whitespace().nth(1).unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let body = if path == "/healthz" {
        format!("ok, {}\n", uptime(up))
    } else {
        let name = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("name="))
            .unwrap_or("");
        greeting(name)
    };
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        body.len(),
        body
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greets() {
        assert_eq!(greeting(""), "hello, world, from rust\n");
        assert_eq!(greeting(" ferris "), "hello, ferris, from rust\n");
    }

    #[test]
    fn formats_uptime() {
        assert_eq!(uptime(Duration::from_secs(90)), "up 1m 30s");
    }

    #[test]
    fn responds() {
        let r = respond("GET /?name=ada HTTP/1.1", Duration::ZERO);
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(r.ends_with("hello, ada, from rust\n"));
    }

    /// FAIL_TEST=1 (a build arg of the test stage) makes the suite fail on purpose.
    #[test]
    fn deliberate_failure_switch() {
        assert_ne!(std::env::var("FAIL_TEST").as_deref(), Ok("1"), "FAIL_TEST=1: failing on purpose");
    }
}
