//! The new-dependencies scanner: dependencies a change adds to `Cargo.toml`, `package.json`,
//! `requirements*.txt`, `pyproject.toml` or `go.mod` (each a supply-chain decision a human should
//! see: `medium`). A manifest that cannot be read is reported `low`, since its additions went unchecked.

use std::collections::BTreeSet;

use super::{ChangeKind, ChangedFile, Finding, ScannerId, Severity, file_name};

/// Which manifest format a path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Manifest {
    Cargo,
    Npm,
    Requirements,
    Pyproject,
    GoMod,
}

fn manifest(path: &str) -> Option<Manifest> {
    let name = file_name(path);
    match name {
        "Cargo.toml" => Some(Manifest::Cargo),
        "package.json" => Some(Manifest::Npm),
        "pyproject.toml" => Some(Manifest::Pyproject),
        "go.mod" => Some(Manifest::GoMod),
        _ if name.starts_with("requirements") && name.ends_with(".txt") => Some(Manifest::Requirements),
        _ => None,
    }
}

/// Findings for one changed file.
pub(super) fn scan(change: &ChangedFile) -> Vec<Finding> {
    let Some(kind) = manifest(&change.path) else {
        return Vec::new();
    };
    let (Some(new), false) = (&change.new, change.kind == ChangeKind::Deleted) else {
        return Vec::new();
    };
    let new_text = String::from_utf8_lossy(new);
    let Some(after) = dependencies(kind, &new_text) else {
        let message = "the manifest could not be parsed: added dependencies were not checked".to_owned();
        return vec![Finding::new(
            ScannerId::NewDependencies,
            Severity::Low,
            &change.path,
            None,
            message,
        )];
    };
    let old_text = change
        .old
        .as_ref()
        .map(|o| String::from_utf8_lossy(o).into_owned());
    let before = old_text
        .as_deref()
        .and_then(|t| dependencies(kind, t))
        .unwrap_or_default();
    after
        .difference(&before)
        .map(|name| {
            let line = line_of(&new_text, name);
            let message = format!("new dependency `{name}`: check its source, license and maintenance");
            Finding::new(
                ScannerId::NewDependencies,
                Severity::Medium,
                &change.path,
                line,
                message,
            )
        })
        .collect()
}

/// The dependency names a manifest declares, or `None` when it cannot be parsed.
fn dependencies(kind: Manifest, text: &str) -> Option<BTreeSet<String>> {
    match kind {
        Manifest::Cargo => cargo(&toml::from_str(text).ok()?),
        Manifest::Npm => npm(&serde_json::from_str(text).ok()?),
        Manifest::Requirements => Some(text.lines().filter_map(requirement_name).collect()),
        Manifest::Pyproject => Some(pyproject(&toml::from_str(text).ok()?)),
        Manifest::GoMod => Some(go_mod(text)),
    }
}

fn table_keys(value: Option<&toml::Value>, out: &mut BTreeSet<String>) {
    if let Some(table) = value.and_then(toml::Value::as_table) {
        out.extend(table.keys().cloned());
    }
}

fn cargo(doc: &toml::Value) -> Option<BTreeSet<String>> {
    let sections = ["dependencies", "dev-dependencies", "build-dependencies"];
    let mut out = BTreeSet::new();
    for section in sections {
        table_keys(doc.get(section), &mut out);
        table_keys(doc.get("workspace").and_then(|w| w.get(section)), &mut out);
    }
    if let Some(targets) = doc.get("target").and_then(toml::Value::as_table) {
        for target in targets.values() {
            for section in sections {
                table_keys(target.get(section), &mut out);
            }
        }
    }
    Some(out)
}

fn npm(doc: &serde_json::Value) -> Option<BTreeSet<String>> {
    doc.as_object()?;
    let sections = [
        "dependencies",
        "devDependencies",
        "peerDependencies",
        "optionalDependencies",
    ];
    let mut out = BTreeSet::new();
    for section in sections {
        if let Some(map) = doc[section].as_object() {
            out.extend(map.keys().cloned());
        }
    }
    Some(out)
}

/// `requests>=2; python_version>"3"` → `requests` (normalised: lower case, `_`/`.` → `-`).
fn requirement_name(line: &str) -> Option<String> {
    let line = line.split('#').next().unwrap_or_default().trim();
    if line.is_empty() || line.starts_with('-') {
        return None;
    }
    let end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)))
        .unwrap_or(line.len());
    let name = &line[..end];
    (!name.is_empty()).then(|| name.to_ascii_lowercase().replace(['_', '.'], "-"))
}

fn pyproject(doc: &toml::Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut strings = |value: Option<&toml::Value>| {
        for item in value.and_then(toml::Value::as_array).into_iter().flatten() {
            if let Some(name) = item.as_str().and_then(requirement_name) {
                out.insert(name);
            }
        }
    };
    let project = doc.get("project");
    strings(project.and_then(|p| p.get("dependencies")));
    for extra in project
        .and_then(|p| p.get("optional-dependencies"))
        .and_then(toml::Value::as_table)
        .into_iter()
        .flat_map(|t| t.values())
    {
        strings(Some(extra));
    }
    for group in doc
        .get("dependency-groups")
        .and_then(toml::Value::as_table)
        .into_iter()
        .flat_map(|t| t.values())
    {
        strings(Some(group));
    }
    let poetry = doc.get("tool").and_then(|t| t.get("poetry"));
    let mut keys = BTreeSet::new();
    table_keys(poetry.and_then(|p| p.get("dependencies")), &mut keys);
    table_keys(poetry.and_then(|p| p.get("dev-dependencies")), &mut keys);
    for group in poetry
        .and_then(|p| p.get("group"))
        .and_then(toml::Value::as_table)
        .into_iter()
        .flat_map(|t| t.values())
    {
        table_keys(group.get("dependencies"), &mut keys);
    }
    keys.remove("python");
    out.extend(keys.iter().filter_map(|k| requirement_name(k)));
    out
}

/// Module paths of `require` directives (single-line and blocks).
fn go_mod(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut in_block = false;
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or_default().trim();
        if in_block {
            if line == ")" {
                in_block = false;
            } else if let Some(module) = line.split_whitespace().next() {
                out.insert(module.to_owned());
            }
        } else if let Some(rest) = line.strip_prefix("require") {
            let rest = rest.trim();
            if rest == "(" {
                in_block = true;
            } else if let Some(module) = rest.split_whitespace().next() {
                out.insert(module.to_owned());
            }
        }
    }
    out
}

/// The first line that names `dependency` as a whole word (ignoring case and `_`/`-`).
fn line_of(text: &str, dependency: &str) -> Option<u32> {
    let word = |c: char| c.is_ascii_alphanumeric() || "-_./@".contains(c);
    let normal = |s: &str| s.to_ascii_lowercase().replace('_', "-");
    let dependency = normal(dependency);
    let dependency = dependency.as_str();
    text.lines()
        .map(normal)
        .position(|line| {
            line.match_indices(dependency).any(|(i, _)| {
                let before = line[..i].chars().next_back();
                let after = line[i + dependency.len()..].chars().next();
                !before.is_some_and(word) && !after.is_some_and(word)
            })
        })
        .and_then(|i| u32::try_from(i + 1).ok())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    fn new_deps(change: ChangedFile) -> Vec<(String, Option<u32>)> {
        scan(&change)
            .into_iter()
            .filter(|f| f.severity == Severity::Medium)
            .map(|f| {
                let name = f.message.split('`').nth(1).unwrap_or_default().to_owned();
                (name, f.line)
            })
            .collect()
    }

    fn d(name: &str, line: u32) -> (String, Option<u32>) {
        (name.to_owned(), Some(line))
    }

    #[test]
    fn new_dependencies_per_manifest() {
        let cargo_old = "[package]\nname = \"x\"\n\n[dependencies]\nserde = \"1\"\n";
        let cargo_new = "[package]\nname = \"x\"\n\n[dependencies]\nserde = \"1\"\nleft-pad = \"0.1\"\n\n[dev-dependencies]\nproptest = \"1\"\n\n[target.'cfg(unix)'.dependencies]\nnix = \"0.30\"\n";
        let npm_old = r#"{"dependencies":{"react":"18"}}"#;
        let npm_new = "{\n  \"dependencies\": {\"react\": \"18\"},\n  \"devDependencies\": {\n    \"@types/node\": \"22\"\n  }\n}\n";
        let pyproject = "[project]\nname = \"x\"\ndependencies = [\n  \"requests>=2\",\n  \"Flask_Login ; python_version > '3.8'\",\n]\n\n[project.optional-dependencies]\ndev = [\"pytest\"]\n\n[tool.poetry.dependencies]\npython = \"^3.11\"\nrich = \"*\"\n";
        let go_old = "module x\n\ngo 1.22\n\nrequire golang.org/x/text v0.14.0\n";
        let go_new = "module x\n\ngo 1.22\n\nrequire golang.org/x/text v0.14.0\n\nrequire (\n\tgithub.com/pkg/errors v0.9.1 // indirect\n)\n";
        type Case = (&'static str, ChangedFile, Vec<(String, Option<u32>)>);
        let cases: Vec<Case> = vec![
            (
                "cargo",
                modified("Cargo.toml", cargo_old, cargo_new),
                vec![d("left-pad", 6), d("nix", 12), d("proptest", 9)],
            ),
            (
                "npm",
                modified("web/package.json", npm_old, npm_new),
                vec![d("@types/node", 4)],
            ),
            (
                "requirements",
                modified(
                    "requirements-dev.txt",
                    "requests==2.31\n",
                    "requests==2.32\n# tools\nBlack[jupyter]>=24\n-r base.txt\n",
                ),
                vec![d("black", 3)],
            ),
            (
                "pyproject added",
                added("pyproject.toml", pyproject),
                vec![
                    d("flask-login", 5),
                    d("pytest", 9),
                    d("requests", 4),
                    d("rich", 13),
                ],
            ),
            (
                "go.mod",
                modified("go.mod", go_old, go_new),
                vec![d("github.com/pkg/errors", 8)],
            ),
            (
                "version bump only",
                modified("Cargo.toml", cargo_old, &cargo_old.replace("\"1\"", "\"1.1\"")),
                vec![],
            ),
            ("not a manifest", added("src/deps.rs", "serde = 1"), vec![]),
            ("deleted manifest", deleted("package.json", npm_old), vec![]),
        ];
        for (name, change, expected) in cases {
            assert_eq!(new_deps(change), expected, "{name}");
        }
    }

    #[test]
    fn an_unreadable_manifest_is_reported() {
        let findings = scan(&added("Cargo.toml", "[dependencies\nserde = 1"));
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].severity, Severity::Low);
        assert!(findings[0].message.contains("could not be parsed"));
    }
}
