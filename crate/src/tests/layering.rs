//! Dependencies run one way (docs/architecture.md, "Layers"): no file of the core imports from a
//! layer above its own — test code included. Read from the sources, so a new `use` that breaks the
//! rule fails here.

use std::path::{Path, PathBuf};

/// The layer of a module path under `crate/src` (first component).
fn layer(module: &str) -> Option<u8> {
    Some(match module {
        "text" | "rng" | "clock" | "error" => 1,
        "lm" => 2,
        "train" | "modelfile" | "tasks" => 3,
        "ngram" | "nn" => 4,
        "config" | "families" => 5,
        "session" | "devices" => 6,
        "wasm" | "bench" | "bin" | "tests" | "lib" => 7,
        _ => return None,
    })
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every `crate::<module>` a file names (in `use` lines and paths alike).
fn imports(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices("crate::") {
        // `lmplay::crate::` cannot occur; skip identifiers that merely end in "crate".
        if i > 0 && text.as_bytes()[i - 1].is_ascii_alphanumeric() {
            continue;
        }
        let rest = &text[i + "crate::".len()..];
        let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if name.is_empty() && rest.starts_with('{') {
            // `use crate::{a, b::{c, d}, e}`: the first name of every top-level item in the braces.
            let (mut depth, mut item) = (0, String::new());
            for c in rest[1..].chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.push(item.trim().split("::").next().unwrap_or("").to_string());
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 {
                    item.push(c);
                }
            }
            if !item.trim().is_empty() {
                out.push(item.trim().split("::").next().unwrap_or("").to_string());
            }
        } else {
            out.push(name);
        }
    }
    out
}

#[test]
fn no_module_imports_from_a_layer_above_its_own() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut bad = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let first = rel.components().next().unwrap().as_os_str().to_str().unwrap().trim_end_matches(".rs").to_string();
        let own = layer(&first).unwrap_or_else(|| panic!("{} is in no layer: add its module to layering.rs and docs/architecture.md", rel.display()));
        // Code only: comments may name any layer.
        let text: String = std::fs::read_to_string(f).unwrap().lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
        for m in imports(&text) {
            if let Some(l) = layer(&m) {
                if l > own {
                    bad.push(format!("{} (layer {own}) imports crate::{m} (layer {l})", rel.display()));
                }
            }
        }
    }
    assert!(files.len() > 50, "found only {} sources", files.len());
    assert!(bad.is_empty(), "imports against the layering:\n{}", bad.join("\n"));
}

#[test]
fn the_import_scanner_sees_paths_and_braces() {
    let names = imports("use crate::session::Session;\nlet x = crate::nn::tensor::Shape::new(&[1]);\nuse crate::{lm::X, nn::{a, b}, text};");
    assert_eq!(names, ["session", "nn", "lm", "nn", "text"]);
}
