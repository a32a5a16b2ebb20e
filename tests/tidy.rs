//! House rules that a compiler does not check: every Rust file says what it is for, and the
//! invariants ARCHITECTURE.md promises hold, including the layering of `src/` read from the
//! `use` lines.

use std::collections::{BTreeMap, BTreeSet};
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

/// Which top-level modules of `src/` each one may import: the layering of ARCHITECTURE.md,
/// lowest first. A module not listed here may not exist: add it to the table and to the doc.
const LAYERS: &[(&str, &[&str])] = &[
    ("config", &[]),
    ("domain", &[]),
    ("games", &[]),
    ("analysis", &["games"]),
    ("telemetry", &["config"]),
    ("messages", &["domain"]),
    ("audit", &["domain", "telemetry"]),
    ("store", &["analysis", "domain", "games"]),
    ("cluster", &["domain", "messages", "store", "telemetry"]),
    (
        "events",
        &["audit", "cluster", "config", "domain", "store", "telemetry"],
    ),
    ("auth", &["audit", "cluster", "domain", "store"]),
    ("rooms", &["cluster", "domain"]),
    (
        "jobs",
        &["audit", "cluster", "config", "domain", "telemetry"],
    ),
    (
        "notify",
        &[
            "cluster",
            "config",
            "domain",
            "jobs",
            "messages",
            "store",
            "telemetry",
        ],
    ),
    (
        "listeners",
        &[
            "analysis",
            "audit",
            "cluster",
            "config",
            "domain",
            "events",
            "jobs",
            "messages",
            "notify",
            "store",
            "telemetry",
        ],
    ),
    (
        "actors",
        &[
            "cluster",
            "config",
            "domain",
            "events",
            "games",
            "messages",
            "notify",
            "rooms",
            "store",
            "telemetry",
        ],
    ),
    (
        "session",
        &[
            "audit",
            "actors",
            "auth",
            "cluster",
            "config",
            "domain",
            "messages",
            "rooms",
            "store",
            "telemetry",
        ],
    ),
    (
        "node",
        &[
            "auth", "cluster", "config", "events", "jobs", "notify", "rooms", "session", "store",
        ],
    ),
    (
        "http",
        &[
            "actors",
            "analysis",
            "audit",
            "auth",
            "config",
            "domain",
            "events",
            "games",
            "jobs",
            "messages",
            "node",
            "notify",
            "rooms",
            "session",
            "store",
            "telemetry",
        ],
    ),
    ("startup", &["*"]),
];

/// Every file of `src/` as its module path (`actors::game::decide`), with its text.
fn modules() -> BTreeMap<String, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    files_under("src")
        .into_iter()
        .map(|file| {
            let rel = file.strip_prefix(&root).expect("under src");
            let mut parts: Vec<String> = rel
                .with_extension("")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
                parts.pop();
            }
            let text = fs::read_to_string(&file).expect("readable file");
            (parts.join("::"), text)
        })
        .collect()
}

/// The modules a file's `crate::` and `super::` paths name (each path resolved to the longest
/// prefix that is a module), leaving out its own descendants (which it declares).
fn imports(module: &str, text: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (start, _) in text
        .match_indices("crate::")
        .chain(text.match_indices("super::"))
    {
        if text[..start].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':') {
            continue; // `rookery::crate::`-like or `super::super::` continuations
        }
        let path: String = text[start..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let mut segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
        let base: Vec<&str> = if segments[0] == "crate" {
            Vec::new()
        } else {
            // `super` in `a::b` is `a`; a file that is a directory's `mod.rs` is its own parent.
            let mut own: Vec<&str> = module.split("::").collect();
            own.pop();
            own
        };
        segments.remove(0);
        let mut best = base.join("::");
        for n in 1..=segments.len() {
            let candidate = base
                .iter()
                .chain(&segments[..n])
                .copied()
                .collect::<Vec<_>>()
                .join("::");
            if known.contains(&candidate) {
                best = candidate;
            }
        }
        let own_descendant = best.starts_with(&format!("{module}::"));
        if !best.is_empty() && best != module && !own_descendant {
            found.insert(best);
        }
    }
    found
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules();
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    modules
        .iter()
        .map(|(module, text)| (module.clone(), imports(module, text, &known)))
        .collect()
}

fn top(module: &str) -> &str {
    module.split("::").next().unwrap_or(module)
}

#[test]
fn src_modules_import_one_another_without_a_circle() {
    let graph = graph();
    // Depth-first search for a back edge; report the circle it closes.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == node) {
            let mut circle = path[i..].to_vec();
            circle.push(node.to_owned());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(circle) = visit(next, graph, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        let circle = visit(module, &graph, &mut Vec::new(), &mut done);
        assert!(
            circle.is_none(),
            "modules import each other in a circle: {circle:?}"
        );
    }
    // The same at the level of top-level modules, which is what the layering speaks of.
    let mut tops: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, imported) in &graph {
        let entry = tops.entry(top(module).to_owned()).or_default();
        entry.extend(
            imported
                .iter()
                .map(|m| top(m).to_owned())
                .filter(|m| m != top(module)),
        );
    }
    let mut done = BTreeSet::new();
    for module in tops.keys() {
        let circle = visit(module, &tops, &mut Vec::new(), &mut done);
        assert!(
            circle.is_none(),
            "top-level modules in a circle: {circle:?}"
        );
    }
}

#[test]
fn each_module_imports_only_the_layers_below_it() {
    let allowed: BTreeMap<&str, &[&str]> = LAYERS.iter().copied().collect();
    let mut wrong = Vec::new();
    for (module, imported) in graph() {
        if matches!(module.as_str(), "" | "main") {
            continue; // the crate root and the binary sit above everything
        }
        let Some(may) = allowed.get(top(&module)) else {
            wrong.push(format!("{module}: top-level module missing from LAYERS"));
            continue;
        };
        for target in imported {
            let target_top = top(&target);
            if target_top != top(&module) && !may.contains(&"*") && !may.contains(&target_top) {
                wrong.push(format!("{module} imports {target}"));
            }
        }
    }
    assert!(wrong.is_empty(), "imports against the layering: {wrong:#?}");
}

#[test]
fn architecture_md_states_the_same_layering() {
    let doc = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md"))
        .expect("ARCHITECTURE.md");
    for (module, may) in LAYERS {
        let line = if may.contains(&"*") {
            format!("| `{module}` | everything |")
        } else if may.is_empty() {
            format!("| `{module}` | nothing |")
        } else {
            let mut sorted = may.to_vec();
            sorted.sort();
            let list: Vec<String> = sorted.iter().map(|m| format!("`{m}`")).collect();
            format!("| `{module}` | {} |", list.join(", "))
        };
        assert!(
            doc.contains(&line),
            "ARCHITECTURE.md lacks the layering row {line}"
        );
    }
}

#[test]
fn actors_never_touch_http_or_sockets() {
    let found = offenders("src/actors", &["actix_web", "actix_ws"]);
    assert!(found.is_empty(), "{found:#?}");
    // Nor through anything they import: no file reachable from `actors` uses them either.
    let graph = graph();
    let texts = modules();
    let mut seen = BTreeSet::new();
    let mut todo: Vec<String> = graph
        .keys()
        .filter(|m| top(m) == "actors")
        .cloned()
        .collect();
    while let Some(module) = todo.pop() {
        if !seen.insert(module.clone()) {
            continue;
        }
        let text = &texts[&module];
        for forbidden in ["actix_web", "actix_ws"] {
            assert!(
                !text.contains(forbidden),
                "{module}, reachable from src/actors, uses {forbidden}"
            );
        }
        todo.extend(graph[&module].iter().cloned());
    }
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
