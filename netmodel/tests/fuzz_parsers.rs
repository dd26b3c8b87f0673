//! Structure-aware fuzzing of the two parsers at the plan's edge, as property tests that run with `cargo test`
//! (stable toolchain, bounded: a few seconds each in debug). Each case takes a valid document — a sample plan, or
//! the AWS fixtures — and changes one thing: a value replaced by an odd one (huge or negative numbers, wrong
//! types, control characters, bad CIDRs, very long text), an array emptied or an element duplicated (duplicate
//! ids), a field removed. Then:
//!
//! - `Plan::from_json` never panics; it either accepts the document (and the plan then checks, exports and
//!   round-trips through JSON) or its error names the changed field (its path, a path around it, or the value);
//! - the AWS import never panics; it either produces a plan that passes the plan's own validation (nothing it
//!   reads can smuggle past the edge), or its error names one of the input files.
//!
//! These replace the cargo-fuzz targets under `netmodel/fuzz` (which need nightly) as what runs; see
//! `netmodel/fuzz/README.md`. `PEERPLAN_FUZZ_CASES=20000 cargo test -p netmodel --test fuzz_parsers` runs longer.

use std::path::Path;

use netmodel::{
    check,
    export::{curl_script, markdown, ScriptPart},
    import::aws::{import, SourceFile},
    CheckOptions, Plan,
};
use proptest::{prelude::*, sample::Index};
use serde_json::{json, Value};

/// Values that a parser must survive in any position.
fn odd_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!(1e308)),
        Just(json!(u64::MAX)),
        Just(json!(i64::MIN)),
        Just(json!(-1)),
        Just(json!(0)),
        Just(json!(65536)),
        Just(json!(32767)),
        Just(json!(-0.5)),
        Just(Value::Null),
        Just(json!(true)),
        Just(json!([])),
        Just(json!({})),
        Just(json!([1, "a"])),
        Just(json!("")),
        Just(json!("10.0.0.0/33")),
        Just(json!("10.0.0.1/8")),
        Just(json!("::/129")),
        Just(json!("1.2.3")),
        Just(json!("999999999999999999999")),
        Just(json!("0.0.0.0/0")),
        Just(json!("a/b/c")),
        Just(json!("x".repeat(5000))),
        Just(json!("a\u{2028}b")),
        Just(json!("\u{202e}gnp.exe")),
        "[\\x00-\\x1f\\x7f]{1,3}".prop_map(Value::from),
        "\\PC{0,8}".prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
    ]
}

/// One change to a document.
#[derive(Clone, Debug)]
enum Mutation {
    Replace(Index, Value),
    Remove(Index),
    EmptyArray(Index),
    DuplicateElement(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        6 => (any::<Index>(), odd_value()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        1 => any::<Index>().prop_map(Mutation::Remove),
        1 => any::<Index>().prop_map(Mutation::EmptyArray),
        2 => any::<Index>().prop_map(Mutation::DuplicateElement),
    ]
}

/// Every node below `v`: its JSON pointer and its path as the plan's errors write it (`vpcs[2].cidr`).
fn nodes(v: &Value, pointer: String, path: String, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                out.push((format!("{pointer}/{k}"), p.clone()));
                nodes(child, format!("{pointer}/{k}"), p, out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                let p = format!("{path}[{i}]");
                out.push((format!("{pointer}/{i}"), p.clone()));
                nodes(child, format!("{pointer}/{i}"), p, out);
            }
        }
        _ => {}
    }
}

/// Applies the mutation; returns the path of what changed and the value that was there before.
fn apply(doc: &mut Value, m: &Mutation) -> Option<(String, Value)> {
    let mut all = Vec::new();
    nodes(doc, String::new(), String::new(), &mut all);
    let pick = |i: &Index, keep: &dyn Fn(&Value) -> bool| {
        let fit: Vec<&(String, String)> = all
            .iter()
            .filter(|(p, _)| keep(doc.pointer(p).unwrap()))
            .collect();
        (!fit.is_empty()).then(|| fit[i.index(fit.len())].clone())
    };
    match m {
        Mutation::Replace(i, v) => {
            let (ptr, path) = pick(i, &|_| true)?;
            let old = std::mem::replace(doc.pointer_mut(&ptr).unwrap(), v.clone());
            Some((path, old))
        }
        Mutation::Remove(i) => {
            let (ptr, path) = pick(i, &|_| true)?;
            let (parent, key) = ptr.rsplit_once('/').unwrap();
            let old = match doc.pointer_mut(parent).unwrap() {
                Value::Object(o) => o.remove(key)?,
                Value::Array(a) => a.remove(key.parse().unwrap()),
                _ => return None,
            };
            Some((path, old))
        }
        Mutation::EmptyArray(i) => {
            let (ptr, path) = pick(i, &|v| v.is_array())?;
            let old = std::mem::replace(doc.pointer_mut(&ptr).unwrap(), json!([]));
            Some((path, old))
        }
        Mutation::DuplicateElement(i) => {
            let (ptr, path) = pick(i, &|v| v.as_array().is_some_and(|a| !a.is_empty()))?;
            let a = doc.pointer_mut(&ptr).unwrap().as_array_mut().unwrap();
            let first = a[0].clone();
            a.push(first.clone());
            Some((path, first))
        }
    }
}

/// Whether two paths are the same field or one lies inside the other.
fn related(a: &str, b: &str) -> bool {
    let inside = |outer: &str, inner: &str| {
        inner == outer
            || outer == "."
            || outer.is_empty()
            || (inner.starts_with(outer) && matches!(inner.as_bytes()[outer.len()], b'.' | b'['))
    };
    inside(a, b) || inside(b, a)
}

/// Text by which an error can name a value: strings as written and escaped, numbers as written.
fn names(message: &str, v: &Value) -> bool {
    match v {
        Value::String(s) if !s.is_empty() => {
            let head: String = s.chars().take(20).collect();
            let escaped = format!("{:?}", head);
            message.contains(&head) || message.contains(escaped.trim_end_matches('"'))
        }
        Value::Number(n) => message.contains(&n.to_string()),
        // A removed object or list: an error about a reference to one of its ids.
        Value::Object(o) => o.values().any(|v| names(message, v)),
        Value::Array(a) => a.iter().any(|v| names(message, v)),
        _ => false,
    }
}

/// Cases per property: `default` (a few seconds in debug), or `PEERPLAN_FUZZ_CASES` for a longer run.
fn cases(default: u32) -> u32 {
    std::env::var("PEERPLAN_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

fn samples() -> [&'static str; 3] {
    [
        include_str!("../../examples/seed.json"),
        include_str!("../../examples/transitive.json"),
        include_str!("../../examples/multi-region.json"),
    ]
}

fn aws_files() -> Vec<SourceFile> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<SourceFile>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, root, out);
            } else {
                out.push(SourceFile {
                    path: p.strip_prefix(root).unwrap().to_string_lossy().into_owned(),
                    text: std::fs::read_to_string(&p).unwrap(),
                });
            }
        }
    }
    let mut out = Vec::new();
    for name in ["aws", "aws-cross-account"] {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        let mut files = Vec::new();
        walk(&root, &root, &mut files);
        out.extend(files.into_iter().map(|f| SourceFile {
            path: format!("{name}/{}", f.path),
            text: f.text,
        }));
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(1500), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn plan_json_accepts_or_names_the_changed_field(which in 0usize..3, m in mutation()) {
        let mut doc: Value = serde_json::from_str(samples()[which]).unwrap();
        let Some((path, old)) = apply(&mut doc, &m) else { return Ok(()) };
        let text = doc.to_string();
        match Plan::from_json(&text) {
            Ok(plan) => {
                // What parses is a plan like any other: it checks, exports and round-trips.
                let _ = check(&plan, &CheckOptions::default());
                let _ = markdown(&plan, &[]);
                let _ = curl_script(&plan, ScriptPart::All);
                // (Canvas positions aside: serde_json does not round-trip every float to the last bit.)
                let unplaced = |p: &Plan| {
                    let mut p = p.clone();
                    p.vpcs.iter_mut().for_each(|v| v.position = None);
                    p
                };
                let again = Plan::from_json(&plan.to_json()).map(|p| unplaced(&p));
                prop_assert_eq!(again, Ok(unplaced(&plan)));
            }
            Err(e) => {
                let new = match &m { Mutation::Replace(_, v) => v.clone(), _ => Value::Null };
                prop_assert!(
                    related(&e.path, &path) || names(&e.message, &old) || names(&e.message, &new),
                    "changed {path} ({m:?}, was {old}) but the error is {e}"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(400), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn aws_import_yields_a_valid_plan_or_names_a_file(file in any::<Index>(), m in mutation()) {
        let mut files = aws_files();
        let at = file.index(files.len());
        let mut doc: Value = serde_json::from_str(&files[at].text).unwrap();
        let Some((path, _)) = apply(&mut doc, &m) else { return Ok(()) };
        files[at].text = doc.to_string();
        match import(&files) {
            Ok(imported) => {
                let again = Plan::from_json(&imported.plan.to_json());
                prop_assert!(again.is_ok(), "{}: changed {path} ({m:?}); the imported plan is invalid: {}", files[at].path, again.unwrap_err());
                let _ = check(&imported.plan, &CheckOptions::default());
            }
            Err(e) => {
                prop_assert!(
                    files.iter().any(|f| f.path == e.path),
                    "{}: changed {path} ({m:?}); the error names no input file: {e}", files[at].path
                );
                prop_assert!(!e.message.is_empty());
            }
        }
    }
}
