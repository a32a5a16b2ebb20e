//! House rules that a compiler does not check: every Rust file says what it is for, and the
//! invariants ARCHITECTURE.md promises hold.

use std::fs;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("readable dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn files_under(dir: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join(dir), &mut files);
    files
}

#[test]
fn every_rust_file_opens_with_a_line_saying_what_it_is_for() {
    let mut missing = Vec::new();
    for dir in [
        "src",
        "tests",
        "client-protocol/src",
        "benches",
        "load-tests",
        "testkit",
    ] {
        if !Path::new(env!("CARGO_MANIFEST_DIR")).join(dir).exists() {
            continue;
        }
        for file in files_under(dir) {
            let text = fs::read_to_string(&file).expect("readable file");
            if !text.lines().take(5).any(|l| l.starts_with("//!")) {
                missing.push(file.display().to_string());
            }
        }
    }
    assert!(missing.is_empty(), "files without a //! line: {missing:#?}");
}

fn offenders(dir: &str, forbidden: &[&str]) -> Vec<String> {
    files_under(dir)
        .into_iter()
        .filter_map(|file| {
            let text = fs::read_to_string(&file).expect("readable file");
            forbidden
                .iter()
                .find(|f| text.contains(*f))
                .map(|f| format!("{} uses {f}", file.display()))
        })
        .collect()
}

#[test]
fn actors_never_touch_http_or_sockets() {
    let found = offenders("src/actors", &["actix_web", "actix_ws"]);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn game_rules_are_pure() {
    let found = offenders(
        "src/games",
        &["actix", "tokio", "std::time", "std::fs", "std::net"],
    );
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_protocol_crate_depends_on_serde_only() {
    let manifest = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("client-protocol/Cargo.toml"),
    )
    .expect("client-protocol manifest");
    let deps = manifest
        .split("[dependencies]")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .expect("a [dependencies] table");
    let entries: Vec<(&str, &str)> = deps
        .lines()
        .filter_map(|l| l.split_once('=').map(|(n, spec)| (n.trim(), spec)))
        .filter(|(n, _)| !n.is_empty() && !n.starts_with('#'))
        .collect();
    let names: Vec<&str> = entries.iter().map(|(n, _)| *n).collect();
    // schemars is allowed only as an optional dependency (the `schema` feature).
    let required: Vec<&str> = entries
        .iter()
        .filter(|(n, spec)| !(*n == "schemars" && spec.replace(' ', "").contains("optional=true")))
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(required, ["serde"], "client-protocol depends on {names:?}");
}
