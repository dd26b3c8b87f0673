//! `peerplan target …` against the real binary: a target added is what the planner's target list shows (keys
//! masked), each change is in the audit trail as `target.change` (by `cli`, no key in it), and bad values are
//! refused naming them, leaving the file as it was.

mod common;

use serde_json::Value;

fn target(data: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["target"];
    all.extend(args);
    all.extend(["--data", data.to_str().unwrap()]);
    common::peerplan(&all)
}

#[tokio::test]
async fn targets_are_added_listed_removed_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let keys = dir.path().join("lab-keys.json");
    let secret = "ppk_0123456789abcdef0123456789abcdef";
    std::fs::write(&keys, format!(r#"{{"acct-lab": "{secret}"}}"#)).unwrap();

    let o = target(
        &data,
        &[
            "add",
            "lab",
            "--url",
            "http://127.0.0.1:7999",
            "--keys-file",
            keys.to_str().unwrap(),
            "--name",
            "Lab",
            "--format",
            "json",
        ],
    );
    assert!(o.status.success(), "{}", common::text(&o));
    let added: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(added["id"], "lab");
    assert_eq!(added["url"], "http://127.0.0.1:7999");

    // Refusals name the value and change nothing.
    for (args, says) in [
        (
            vec![
                "add",
                "lab",
                "--url",
                "http://127.0.0.1:1",
                "--keys-file",
                keys.to_str().unwrap(),
            ],
            "\"lab\" is configured already",
        ),
        (
            vec![
                "add",
                "Lab 2",
                "--url",
                "http://127.0.0.1:1",
                "--keys-file",
                keys.to_str().unwrap(),
            ],
            "\"Lab 2\"",
        ),
        (
            vec![
                "add",
                "lab2",
                "--url",
                "https://me:pw@cp.example.com",
                "--keys-file",
                keys.to_str().unwrap(),
            ],
            "holds credentials",
        ),
        (
            vec![
                "add",
                "lab2",
                "--url",
                "http://127.0.0.1:1",
                "--keys-file",
                "/nonexistent/keys.json",
            ],
            "/nonexistent/keys.json",
        ),
        (vec!["remove", "nowhere"], "no target \"nowhere\""),
    ] {
        let o = target(&data, &args);
        assert!(!o.status.success(), "{args:?}");
        assert!(common::text(&o).contains(says), "{args:?}: {}", common::text(&o));
    }
    let o = target(&data, &["list", "--format", "json"]);
    let list: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");

    // The planner offers it, with the key masked.
    let server = common::start(&["serve", "--no-demo"], &data);
    let body = reqwest::get(format!("{}/api/targets", server.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        body.contains("\"id\":\"lab\"") && body.contains("acct-lab"),
        "{body}"
    );
    assert!(!body.contains(secret), "a key reached the browser: {body}");
    let audit: Value = reqwest::get(format!("{}/api/audit?action=target.change", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = audit["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{audit}");
    assert_eq!(items[0]["user"], "cli");
    assert_eq!(items[0]["object"], "lab");
    assert!(
        items[0]["detail"].as_str().unwrap().contains("acct-lab"),
        "{audit}"
    );
    assert!(!audit.to_string().contains(secret));
    drop(server);

    let o = target(&data, &["remove", "lab"]);
    assert!(o.status.success(), "{}", common::text(&o));
    let o = target(&data, &["list", "--format", "json"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "[]");
    let o = common::peerplan(&["audit", "verify", "--data", data.to_str().unwrap()]);
    assert!(o.status.success(), "{}", common::text(&o));
}
