//! The house rules of docs/architecture.md, checked on the source (issue 14):
//! the library's top-level modules import each other without a cycle (so
//! there is an order of floors), nothing in the library imports the
//! ceremonies but the ceremonies themselves, and no file of `src/` holds more
//! than 600 lines of non-test code.
//!
//! The import graph is read from the text: every `crate::NAME` and every
//! name in `use crate::{…}` outside comments and outside the file's
//! `#[cfg(test)] mod tests`, per top-level module (`src/NAME.rs` or
//! `src/NAME/`). `cli` is the binary's tree (it uses `breakglass::`) and is
//! not part of the library graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_NON_TEST_LINES: usize = 600;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The file's code before its unit tests, without comment lines.
fn code(text: &str) -> Vec<&str> {
    text.lines()
        .take_while(|l| !l.starts_with("#[cfg(test)]"))
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect()
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Top-level module of a file under `src/`.
fn module_of(path: &Path) -> String {
    let rel = path.strip_prefix(src()).unwrap();
    let first = rel.components().next().unwrap().as_os_str();
    first.to_string_lossy().trim_end_matches(".rs").to_owned()
}

fn identifier_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// Module → the other top-level modules it names.
fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let m = module_of(f);
        if m == "main" || m == "lib" || m == "cli" {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        let refs = graph.entry(m.clone()).or_default();
        for line in code(&text) {
            for (i, _) in line.match_indices("crate::") {
                let rest = &line[i + "crate::".len()..];
                if let Some(group) = rest.strip_prefix('{') {
                    let group = group.split('}').next().unwrap_or("");
                    for item in group.split(',') {
                        refs.insert(identifier_at(item.trim()).to_owned());
                    }
                } else {
                    refs.insert(identifier_at(rest).to_owned());
                }
            }
        }
        refs.remove(&m);
    }
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for refs in graph.values_mut() {
        refs.retain(|r| modules.contains(r));
    }
    graph
}

/// The modules on a cycle, if any (depth-first search with colours).
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(m.to_owned(), 1);
        path.push(m.to_owned());
        for next in &graph[m] {
            match state.get(next.as_str()).copied().unwrap_or(0) {
                1 => {
                    let from = path.iter().position(|p| p == next).unwrap();
                    let mut cycle = path[from..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(next, graph, state, path) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        path.pop();
        state.insert(m.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for m in graph.keys() {
        if state.get(m.as_str()).copied().unwrap_or(0) == 0 {
            if let Some(c) = visit(m, graph, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

#[test]
fn library_modules_import_each_other_without_a_cycle() {
    let graph = import_graph();
    assert!(
        graph.len() >= 20 && graph["ceremony"].contains("log") && graph["log"].contains("sign"),
        "the scan read too little: {graph:?}"
    );
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "import cycle between modules: {} (see docs/architecture.md, floors)",
            cycle.join(" -> ")
        );
    }
}

#[test]
fn nothing_below_the_ceremonies_imports_them() {
    for (m, refs) in import_graph() {
        assert!(
            !refs.contains("ceremony"),
            "src/{m} imports crate::ceremony, a higher floor"
        );
    }
}

/// The scan finds a cycle when there is one (so a pass means something).
#[test]
fn the_cycle_finder_finds_cycles() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (a, b) in [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")] {
        g.entry(a.into()).or_default().insert(b.into());
        g.entry(b.into()).or_default();
    }
    g.entry("d".into()).or_default();
    let c = find_cycle(&g).unwrap();
    assert_eq!(c.first(), c.last());
    assert!(c.len() == 4, "{c:?}");
    g.get_mut("c").unwrap().clear();
    assert_eq!(find_cycle(&g), None);
}

#[test]
fn no_file_holds_more_than_600_lines_of_non_test_code() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut over = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let n = text
            .lines()
            .take_while(|l| !l.starts_with("#[cfg(test)]"))
            .count();
        if n > MAX_NON_TEST_LINES {
            over.push(format!(
                "{} ({n} lines)",
                f.strip_prefix(src()).unwrap().display()
            ));
        }
    }
    assert!(
        over.is_empty(),
        "over {MAX_NON_TEST_LINES} lines of non-test code: {}",
        over.join(", ")
    );
}
