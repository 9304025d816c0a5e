//! GitHub's official OpenAPI description (npm `@octokit/openapi`, `generated/api.github.com.json`):
//! check that a recorded request names an operation GitHub has (method and path), uses only declared
//! query parameters, and sends a body that fits the operation's schema (required fields, types, enums,
//! no unknown fields where the schema forbids them); and take GitHub's own example responses.

#![allow(dead_code)]

use std::sync::OnceLock;

use serde_json::Value;

use super::http::Recorded;
use super::tools::{Tools, require};

/// The loaded description.
pub struct Spec {
    doc: Value,
}

static SPEC: OnceLock<Option<Spec>> = OnceLock::new();

impl Spec {
    /// Load once per test binary; `None` (skipped loudly) when not installed and not under CI.
    pub fn load() -> Option<&'static Spec> {
        SPEC.get_or_init(|| {
            let path = require(
                "GitHub's OpenAPI description (@octokit/openapi)",
                Tools::locate().openapi,
            )?;
            let text = std::fs::read_to_string(&path).expect("read the OpenAPI description");
            Some(Spec {
                doc: serde_json::from_str(&text).expect("the OpenAPI description is JSON"),
            })
        })
        .as_ref()
    }

    /// The operation for `method path` (path without an API prefix): its template and definition.
    pub fn operation(&self, method: &str, path: &str) -> Option<(&str, &Value)> {
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        let mut best: Option<(usize, &str, &Value)> = None;
        for (template, item) in self.doc["paths"].as_object()? {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                continue;
            }
            let literal = parts.iter().filter(|p| !p.starts_with('{')).count();
            let fits = parts
                .iter()
                .zip(&segments)
                .all(|(p, s)| if p.starts_with('{') { !s.is_empty() } else { p == s });
            let op = &item[method.to_ascii_lowercase()];
            if fits && op.is_object() && best.is_none_or(|(n, _, _)| literal > n) {
                best = Some((literal, template, op));
            }
        }
        best.map(|(_, t, op)| (t, op))
    }

    /// Every problem with one request (empty when it fits GitHub's description).
    pub fn problems(&self, req: &Recorded, prefix: &str) -> Vec<String> {
        let path = req.path().strip_prefix(prefix).unwrap_or(req.path());
        let what = format!("{} {}", req.method, req.target);
        let Some((template, op)) = self.operation(&req.method, path) else {
            return vec![format!("{what}: no such operation in GitHub's API")];
        };
        let mut problems = Vec::new();
        let params: Vec<Value> = op["parameters"]
            .as_array()
            .map(|a| a.iter().map(|p| self.resolve(p).clone()).collect())
            .unwrap_or_default();
        for (name, value) in req.query() {
            match params
                .iter()
                .find(|p| p["in"] == "query" && p["name"] == name.as_str())
            {
                None => problems.push(format!("{what}: query parameter `{name}` is not declared")),
                Some(p) => self.check_param(&what, &name, &value, &p["schema"], &mut problems),
            }
        }
        let template_parts: Vec<&str> = template.split('/').collect();
        for (part, value) in template_parts.iter().zip(path.split('/')) {
            if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}'))
                && let Some(p) = params.iter().find(|p| p["in"] == "path" && p["name"] == name)
            {
                self.check_param(&what, name, value, &p["schema"], &mut problems);
            }
        }
        let schema = &op["requestBody"]["content"]["application/json"]["schema"];
        match (&req.body, schema.is_null()) {
            (Some(body), false) => self.check(&what, "body", body, schema, &mut problems),
            (Some(_), true) => problems.push(format!("{what}: sends a body the operation does not take")),
            (None, false) if op["requestBody"]["required"] == true => {
                problems.push(format!("{what}: the operation requires a body"))
            }
            (None, _) => {}
        }
        problems
    }

    fn check_param(&self, what: &str, name: &str, value: &str, schema: &Value, problems: &mut Vec<String>) {
        let schema = self.resolve(schema);
        let ok = match schema["type"].as_str() {
            Some("integer") => value.parse::<i64>().is_ok(),
            Some("boolean") => value == "true" || value == "false",
            _ => true,
        } && schema["enum"]
            .as_array()
            .is_none_or(|e| e.iter().any(|v| v.as_str() == Some(value)));
        if !ok {
            problems.push(format!(
                "{what}: parameter `{name}` = `{value}` does not fit {schema}"
            ));
        }
    }

    fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        let mut v = value;
        while let Some(r) = v["$ref"].as_str() {
            let pointer = r.trim_start_matches('#');
            v = self.doc.pointer(pointer).unwrap_or(&Value::Null);
        }
        v
    }

    /// Whether `value` fits `schema`, recording each mismatch at `at`.
    fn check(&self, what: &str, at: &str, value: &Value, schema: &Value, problems: &mut Vec<String>) {
        let schema = self.resolve(schema);
        if let Some(options) = schema["oneOf"].as_array().or_else(|| schema["anyOf"].as_array()) {
            let fits = options.iter().any(|o| {
                let mut p = Vec::new();
                self.check(what, at, value, o, &mut p);
                p.is_empty()
            });
            if !fits {
                problems.push(format!("{what}: {at} = {value} fits none of the alternatives"));
            }
            return;
        }
        if let Some(all) = schema["allOf"].as_array() {
            all.iter().for_each(|s| self.check(what, at, value, s, problems));
        }
        if value.is_null() && schema["nullable"] == true {
            return;
        }
        if !type_fits(&schema["type"], value) {
            problems.push(format!(
                "{what}: {at} = {value} is not of type {}",
                schema["type"]
            ));
            return;
        }
        if let Some(allowed) = schema["enum"].as_array()
            && !allowed.contains(value)
        {
            problems.push(format!("{what}: {at} = {value} is not one of {}", schema["enum"]));
        }
        if let Some(object) = value.as_object() {
            self.check_object(what, at, object, schema, problems);
        }
        if let (Some(items), Some(schema_items)) = (value.as_array(), schema.get("items")) {
            for (i, item) in items.iter().enumerate() {
                self.check(what, &format!("{at}[{i}]"), item, schema_items, problems);
            }
        }
    }

    fn check_object(
        &self,
        what: &str,
        at: &str,
        object: &serde_json::Map<String, Value>,
        schema: &Value,
        problems: &mut Vec<String>,
    ) {
        for required in schema["required"].as_array().into_iter().flatten() {
            let name = required.as_str().unwrap_or_default();
            if !object.contains_key(name) {
                problems.push(format!("{what}: {at} lacks the required field `{name}`"));
            }
        }
        let properties = schema["properties"].as_object();
        for (name, field) in object {
            match properties.and_then(|p| p.get(name)) {
                Some(s) => self.check(what, &format!("{at}.{name}"), field, s, problems),
                None if schema["additionalProperties"] == false || properties.is_some() => {
                    problems.push(format!("{what}: {at} has the undeclared field `{name}`"))
                }
                None => {}
            }
        }
    }

    /// GitHub's example answer for an operation: the first success status and its first example.
    pub fn example(&self, method: &str, path: &str) -> Option<(u16, Value)> {
        let (_, op) = self.operation(method, path)?;
        let responses = op["responses"].as_object()?;
        let (status, response) = responses.iter().find(|(s, _)| s.starts_with('2'))?;
        let status: u16 = status.parse().ok()?;
        let content = &self.resolve(response)["content"]["application/json"];
        let example = content["examples"]
            .as_object()
            .and_then(|e| e.values().next())
            .map(|e| self.resolve(e)["value"].clone())
            .or_else(|| content.get("example").cloned())
            .unwrap_or(Value::Null);
        Some((status, example))
    }
}

fn type_fits(ty: &Value, value: &Value) -> bool {
    let one = |t: &str| match t {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "null" => value.is_null(),
        _ => true,
    };
    match ty {
        Value::String(t) => one(t),
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).any(one),
        _ => true,
    }
}
