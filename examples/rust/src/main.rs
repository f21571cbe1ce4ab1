use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::Instant;

fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "8080".into());
    let listener = TcpListener::bind(format!("0.0.0.0:{port}"))?;
    println!("listening on {port}");
    let started = Instant::now();
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        let mut line = String::new();
        if BufReader::new(&stream).read_line(&mut line).is_err() {
            continue;
        }
        let _ = stream.write_all(slipway_rust::respond(&line, started.elapsed()).as_bytes());
    }
    Ok(())
}
