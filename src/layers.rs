//! The layer order of the crate documentation, checked: every `crate::<module>` path in the sources
//! (outside comments) names a module below the one it is written in. A test only; reads the sources.

use std::fs;
use std::path::Path;

/// The top-level modules, from the top layer down (the order of the list in `lib.rs`).
const LAYERS: [&str; 14] = [
    "cli", "ops", "forge", "gate", "review", "store", "agent", "sandbox", "git", "process", "settings",
    "model", "clock", "runtime",
];

/// Every upward or unknown `crate::` path of one file: `(line number, the module it names)`.
fn violations(layer: usize, source: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in source.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        for (i, _) in code.match_indices("crate::") {
            for name in named_modules(&code[i + "crate::".len()..]) {
                match LAYERS.iter().position(|m| *m == name) {
                    Some(used) if used >= layer => {}
                    _ => found.push((n + 1, name)),
                }
            }
        }
    }
    found
}

/// The top-level modules a path after `crate::` names: one (`store::Store`), or a group
/// (`{process, settings}`, on one line).
fn named_modules(path: &str) -> Vec<String> {
    let word = |s: &str| -> String {
        s.trim()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    match path.strip_prefix('{') {
        Some(group) => group
            .split('}')
            .next()
            .unwrap_or_default()
            .split(',')
            .map(word)
            .filter(|w| !w.is_empty())
            .collect(),
        None => vec![word(path)],
    }
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_module_uses_only_the_layers_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut problems = Vec::new();
    for (layer, module) in LAYERS.iter().enumerate() {
        let mut files = Vec::new();
        let dir = src.join(module);
        if dir.is_dir() {
            rust_files(&dir, &mut files);
        }
        let file = src.join(format!("{module}.rs"));
        if file.is_file() {
            files.push(file);
        }
        for path in files {
            let source = fs::read_to_string(&path).expect("a readable source file");
            for (line, used) in violations(layer, &source) {
                problems.push(format!("{}:{line} uses crate::{used}", path.display()));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "upward (or unlisted) imports; fix them or change the order in lib.rs and LAYERS with a reason:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_top_level_module_has_a_layer() {
    let lib = include_str!("lib.rs");
    for line in lib.lines() {
        if let Some(name) = line.strip_prefix("pub mod ").and_then(|m| m.strip_suffix(';')) {
            assert!(
                LAYERS.contains(&name),
                "lib.rs declares `{name}`, which has no layer"
            );
        }
    }
}

#[test]
fn an_upward_import_is_found_and_comments_are_not() {
    let model = LAYERS
        .iter()
        .position(|m| *m == "model")
        .expect("model is a layer");
    let source =
        "//! see crate::ops\nuse crate::clock::Clock;\nuse crate::store::Store;\nuse crate::{clock, git};\n";
    assert_eq!(
        violations(model, source),
        vec![(3, "store".to_owned()), (4, "git".to_owned())]
    );
}
