//! Text from a plan cannot escape its place in an export. Plans here are built in code, bypassing the plan's
//! edge (which refuses control characters), so the exports are tested as the last line of defence:
//!
//! - the curl script, for random names, ids, accounts, regions and descriptions (newlines, quotes, `$`, backticks,
//!   `;`, `$(…)`, Unicode), passes `bash -n`, and run with a PATH of recording stubs it calls nothing but `curl`,
//!   `jq`, `seq` and `sleep` (any other command is caught by bash's `command_not_found_handle`; an injected
//!   `touch` would create a canary file), and hands the plan's strings to `jq` unchanged;
//! - the Markdown, HTML, DOT and Mermaid exports never pass markup or line breaks through.

use std::{fs, path::Path, process::Command};

use netmodel::{
    export::{curl_script, dot, html, key_var, markdown, md_escape, mermaid, ScriptPart},
    model::*,
    Plan,
};
use proptest::prelude::*;

fn seed() -> Plan {
    Plan::from_json(include_str!("../../examples/seed.json")).unwrap()
}

/// Strings meant to break out of a shell word, a comment, a double-quoted string or a `${VAR:?…}` message.
fn nasty() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("$(touch CANARY)".to_string()),
        Just("`touch CANARY`".to_string()),
        Just("\ntouch CANARY\n".to_string()),
        Just("\rtouch CANARY".to_string()),
        Just("; touch CANARY;".to_string()),
        Just("'; touch CANARY; '".to_string()),
        Just("\"; touch CANARY; \"".to_string()),
        Just("${X:?$(touch CANARY)}".to_string()),
        Just("'\"$(touch CANARY)\"'".to_string()),
        Just("\\".to_string()),
        Just("$".to_string()),
        Just("!".to_string()),
        Just("\u{0}".to_string()),
        Just("\u{2028}".to_string()),
        Just("\u{202e}".to_string()),
        Just("\u{85}".to_string()),
        Just("<script>alert(1)</script>".to_string()),
        "[ -~]{0,6}",
        "\\PC{0,4}",
        "[\\x00-\\x1f]{1,2}",
    ];
    prop::collection::vec(piece, 1..4).prop_map(|v| v.concat())
}

/// The seed plan with every piece of its text replaced, references kept consistent.
#[derive(Debug, Clone)]
struct Texts {
    plan_name: String,
    accounts: [String; 2],
    vpc_ids: [String; 2],
    vpc_names: [String; 2],
    regions: [String; 2],
    peering: String,
    table: String,
    table_is_main: bool,
    groups: [String; 2],
    description: String,
    part: u8,
}

fn texts() -> impl Strategy<Value = Texts> {
    (
        nasty(),
        [nasty(), nasty()],
        [nasty(), nasty()],
        [nasty(), nasty()],
        [nasty(), nasty()],
        nasty(),
        nasty(),
        any::<bool>(),
        [nasty(), nasty()],
        nasty(),
        0u8..3,
    )
        .prop_filter("two distinct accounts and VPCs", |t| {
            t.1[0] != t.1[1] && t.2[0] != t.2[1] && key_var(&t.1[0]) != key_var(&t.1[1])
        })
        .prop_map(
            |(
                plan_name,
                accounts,
                vpc_ids,
                vpc_names,
                regions,
                peering,
                table,
                table_is_main,
                groups,
                description,
                part,
            )| {
                Texts {
                    plan_name,
                    accounts,
                    vpc_ids,
                    vpc_names,
                    regions,
                    peering,
                    table,
                    table_is_main,
                    groups,
                    description,
                    part,
                }
            },
        )
}

fn build(t: &Texts) -> Plan {
    let mut p = seed();
    p.name = t.plan_name.clone();
    for i in 0..2 {
        let (old_acct, old_vpc) = (p.accounts[i].id.clone(), p.vpcs[i].id.clone());
        p.accounts[i].id = t.accounts[i].as_str().into();
        p.accounts[i].name = t.vpc_names[1 - i].clone();
        let v = &mut p.vpcs[i];
        v.id = t.vpc_ids[i].as_str().into();
        v.name = t.vpc_names[i].clone();
        v.account = t.accounts[i].as_str().into();
        v.region = t.regions[i].clone();
        for s in p.subnets.iter_mut().filter(|s| s.vpc == old_vpc) {
            s.vpc = v.id.clone();
        }
        for r in p.route_tables.iter_mut().filter(|r| r.vpc == old_vpc) {
            r.vpc = v.id.clone();
        }
        for g in p.security_groups.iter_mut().filter(|g| g.vpc == old_vpc) {
            g.vpc = v.id.clone();
            g.name = t.groups[i].clone();
            for r in g.ingress.iter_mut().chain(&mut g.egress) {
                r.description = t.description.clone();
            }
        }
        for a in p.network_acls.iter_mut().filter(|a| a.vpc == old_vpc) {
            a.vpc = v.id.clone();
        }
        let pcx = &mut p.peerings[0];
        for side in [&mut pcx.requester, &mut pcx.accepter] {
            if side.vpc == old_vpc {
                side.vpc = v.id.clone();
                side.region = t.regions[i].clone();
            }
            if side.account == old_acct {
                side.account = t.accounts[i].as_str().into();
            }
        }
    }
    // A group rule that references the other group, so the script builds a rule with `$REF`.
    let other = p.security_groups[1].id.clone();
    p.security_groups[0].ingress.push(SgRule {
        protocol: Protocol::Tcp,
        ports: Some(PortRange::single(5432)),
        cidr: None,
        sg: Some(SgRef {
            account: None,
            group: other,
        }),
        description: t.description.clone(),
    });
    p.peerings[0].id = t.peering.as_str().into();
    p.peerings[0].status_message = Some(t.description.clone());
    for r in &mut p.route_tables {
        for route in &mut r.routes {
            route.target = Target::Peering(t.peering.as_str().into());
        }
    }
    p.route_tables[0].id = t.table.as_str().into();
    p.route_tables[0].main = t.table_is_main;
    p.sort();
    p
}

const STUBS: &[(&str, &str)] = &[
    // curl: a 200 with an empty JSON body.
    ("curl", "printf '{}\\n200'"),
    // jq: answers shaped by the filter, so the script walks every branch it can.
    (
        "jq",
        r#"read -r -d '' _ || true
for a in "$@"; do
  case "$a" in
    -e) exit 1 ;;
    *'requester_vpc_id == $b'*) exit 0 ;;
    .status) echo active; exit 0 ;;
    -cn|-c) echo '{}'; exit 0 ;;
  esac
done
echo stub-id"#,
    ),
    ("seq", "echo 1"),
    ("sleep", ":"),
    // Never expected: an injected `touch` would leave the canary behind.
    ("touch", r#"for f; do : > "$f"; done"#),
];

/// Runs the script with stub commands; returns the recorded calls (each a list of arguments, command first) and
/// the commands bash could not find.
fn run_with_stubs(dir: &Path, script: &str, accounts: &[String]) -> (Vec<Vec<String>>, String, String) {
    let bin = dir.join("bin");
    fs::create_dir_all(&bin).unwrap();
    let log = dir.join("calls");
    fs::create_dir_all(&log).unwrap();
    let missing = dir.join("missing.log");
    for (name, body) in STUBS {
        let path = bin.join(name);
        fs::write(
            &path,
            // One file per call: the arguments, each ended by NUL.
            format!("#!/bin/bash\nprintf '%s\\0' {name} \"$@\" > \"$CALLS/$$.$RANDOM\"\n{body}\n"),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let file = dir.join("apply.sh");
    fs::write(&file, script).unwrap();
    let mut cmd = Command::new("/bin/bash");
    cmd.arg(&file)
        .current_dir(dir)
        .env_clear()
        .env("PATH", &bin)
        .env("CALLS", &log)
        .env("MISSING", &missing)
        .env("BASE_URL", "http://127.0.0.1:9")
        .env(
            "BASH_FUNC_command_not_found_handle%%",
            "() { printf '%s\\n' \"$*\" >> \"$MISSING\"; return 127; }",
        );
    for a in accounts {
        cmd.env(key_var(a), "ppk_test");
    }
    let out = cmd.output().unwrap();
    let calls = fs::read_dir(&log)
        .unwrap()
        .map(|e| {
            let bytes = fs::read(e.unwrap().path()).unwrap();
            let mut args: Vec<String> = bytes
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            args.pop(); // after the last NUL
            args
        })
        .collect();
    (
        calls,
        fs::read_to_string(&missing).unwrap_or_default(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// What a string becomes in a bash word: everything as written except NUL, which no bash string holds.
fn as_bash_sees_it(s: &str) -> String {
    s.replace('\0', "\u{FFFD}")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn curl_script_runs_no_injected_command(t in texts()) {
        let plan = build(&t);
        let part = [ScriptPart::All, ScriptPart::Requester, ScriptPart::Accepter][t.part as usize];
        let script = curl_script(&plan, part);
        let dir = tempfile_dir();
        let file = dir.join("syntax.sh");
        fs::write(&file, &script).unwrap();
        let syntax = Command::new("/bin/bash").arg("-n").arg(&file).output().unwrap();
        prop_assert!(syntax.status.success(), "bash -n: {}\n{script}", String::from_utf8_lossy(&syntax.stderr));
        // No line of the script but the shebang and comments starts with text from the plan.
        for line in script.lines() {
            prop_assert!(!line.trim_start().starts_with("touch"), "{line:?}");
        }

        let (calls, missing, stderr) = run_with_stubs(&dir, &script, &t.accounts);
        prop_assert!(missing.is_empty(), "commands not found (injected?): {missing}\n{stderr}\n{script}");
        prop_assert!(!dir.join("CANARY").exists(), "canary created\n{script}");
        for c in &calls {
            prop_assert!(
                ["curl", "jq", "seq", "sleep"].contains(&c[0].as_str()),
                "unexpected command {c:?}\n{script}"
            );
        }
        // The script got far enough to look the VPCs up by name, and jq got each name exactly.
        let names: Vec<String> = calls
            .iter()
            .filter(|c| c[0] == "jq")
            .filter_map(|c| c.windows(3).find(|w| w[0] == "--arg" && w[1] == "n").map(|w| w[2].clone()))
            .collect();
        for v in &plan.vpcs {
            let wanted = as_bash_sees_it(&v.name_or_id());
            prop_assert!(
                wanted.is_empty() || names.contains(&wanted),
                "{wanted:?} not looked up; jq saw {names:?}\n{stderr}\n{script}"
            );
        }
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn text_exports_pass_no_markup_or_line_breaks(t in texts()) {
        let plan = build(&t);
        let md = markdown(&plan, &[]);
        for line in md.lines() {
            prop_assert!(!line.contains("<script") && !line.starts_with("touch"), "{line:?}");
        }
        for v in &plan.vpcs {
            // A VPC's inventory row is one line with seven cell borders (escaped pipes do not count).
            let cells = format!("| {} | {} |", md_escape(&v.id.0), md_escape(&v.name));
            let row = md.lines().find(|l| l.contains(&cells));
            prop_assert!(row.is_some(), "no row {cells:?} in\n{md}");
            let row = row.unwrap();
            prop_assert_eq!(row.replace("\\|", "").matches('|').count(), 7, "{}", row);
        }
        let page = html(&plan, &[], None);
        prop_assert!(!page.contains("<script>"), "{page}");
        let d = dot(&plan);
        for line in d.lines().filter(|l| !l.trim().is_empty()) {
            // Every line of the DOT file is a statement, a brace, or the continuation of a VPC label.
            prop_assert!(!line.starts_with("touch"), "{line:?}");
        }
        let m = mermaid(&plan);
        prop_assert!(!m.contains("<script"), "{m}");
        prop_assert_eq!(m.lines().count(), 1 + 2 * 3 + 1, "{}", m);
    }
}

fn tempfile_dir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "peerplan-export-safety-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// The issue's reproduction: a VPC name with a newline and a command, an account id with `$(…)`.
#[test]
fn issue_11_reproduction_runs_nothing() {
    let mut plan = seed();
    plan.vpcs[0].name = "VPC A\ntouch CANARY".into();
    plan.accounts[0].id = "acct-$(touch CANARY)".into();
    plan.vpcs[0].account = plan.accounts[0].id.clone();
    plan.peerings[0].requester.account = plan.accounts[0].id.clone();
    plan.sort();
    let script = curl_script(&plan, ScriptPart::All);
    assert!(!script.contains("\ntouch CANARY"), "{script}");
    let dir = tempfile_dir();
    // Without the API keys the key check stops the script, naming the account as written.
    let file = dir.join("apply.sh");
    fs::write(&file, &script).unwrap();
    let out = Command::new("/bin/bash")
        .arg(&file)
        .current_dir(&dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("account acct-$(touch CANARY)"), "{err}");
    assert!(!dir.join("CANARY").exists());
    let accounts: Vec<String> = plan.accounts.iter().map(|a| a.id.0.clone()).collect();
    let (calls, missing, stderr) = run_with_stubs(&dir, &script, &accounts);
    assert!(
        missing.is_empty() && !dir.join("CANARY").exists(),
        "{missing} {stderr}"
    );
    assert!(calls.iter().all(|c| c[0] != "touch"));
    assert!(
        calls.iter().any(|c| c.iter().any(|a| a == "VPC A\ntouch CANARY")),
        "the name reaches jq as written: {calls:?}"
    );
}

/// Markdown control characters and HTML in names are shown as text.
#[test]
fn markdown_escapes_html_and_markdown_in_names() {
    let mut plan = seed();
    plan.name = "# <img src=x onerror=alert(1)>".into();
    plan.vpcs[0].name = "<script>alert(1)</script> | *bold* _u_ [link](http://evil) `code`".into();
    plan.sort();
    let md = markdown(&plan, &[]);
    assert!(!md.contains("<script>") && !md.contains("<img"), "{md}");
    assert!(
        md.starts_with("# \\# &lt;img src=x onerror=alert(1)&gt;\n"),
        "{md}"
    );
    assert!(
        md.contains("| &lt;script&gt;alert(1)&lt;/script&gt; \\| \\*bold\\* \\_u\\_ \\[link\\](http://evil) \\`code\\` |"),
        "{md}"
    );
    let page = html(&plan, &[], None);
    assert!(
        !page.contains("<script>") && !page.contains("<img") && !page.contains("<a href"),
        "{page}"
    );
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt; | *bold* _u_ [link](http://evil) `code`"),
        "{page}"
    );
    let m = mermaid(&plan);
    assert!(m.contains("#lt;script#gt;alert(1)#lt;/script#gt;"), "{m}");
}
