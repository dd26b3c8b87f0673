//! The plan list's form actions over real HTTP against `peerplan serve`, and persistence across a restart:
//! create and import redirect to the new plan, bad uploads are refused with the value named, and after a
//! restart the server still lists the plans and draws a stored plan's diagram in the HTML it sends.

mod common;

use reqwest::{multipart, StatusCode};

fn file(name: &str, text: String) -> multipart::Part {
    multipart::Part::text(text).file_name(name.to_string())
}

#[tokio::test]
async fn plans_are_created_imported_and_survive_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let (created, imported, aws) = {
        let server = common::start(&["serve"], data.path());
        let http = common::planner_client(&common::csrf_token(&server.base).await);
        let r = http
            .post(format!("{}/plans/new", server.base))
            .form(&[("name", "Empty <plan>")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let created = r.headers()["location"].to_str().unwrap().to_string();
        assert!(created.starts_with("/plans/plan_"), "{created}");

        let seed = std::fs::read_to_string(format!("{root}/examples/seed.json")).unwrap();
        let form = multipart::Form::new().part("files", file("seed.json", seed.clone()));
        let r = http
            .post(format!("{}/plans/import", server.base))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let imported = r.headers()["location"].to_str().unwrap().to_string();

        let dir = format!("{root}/netmodel/tests/fixtures/aws/111122223333/us-east-1");
        let mut form = multipart::Form::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            form = form.part("files", file(&name, std::fs::read_to_string(&path).unwrap()));
        }
        let r = http
            .post(format!("{}/plans/import", server.base))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let aws = r.headers()["location"].to_str().unwrap().to_string();

        // Refusals name what is wrong and store nothing.
        let bad = seed.replacen("10.0.0.0/16", "10.0.0.0/33", 1);
        let form = multipart::Form::new().part("files", file("bad.json", bad));
        let r = http
            .post(format!("{}/plans/import", server.base))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let text = r.text().await.unwrap();
        assert!(
            text.contains("bad.json") && text.contains("10.0.0.0/33"),
            "{text}"
        );
        let form = multipart::Form::new().part("files", file("x.json", "{\"Vpcs\": 3}".into()));
        let r = http
            .post(format!("{}/plans/import", server.base))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let r = http
            .post(format!("{}/plans/plan_nope/rename", server.base))
            .form(&[("name", "x")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert!(r.text().await.unwrap().contains("plan_nope"));
        (created, imported, aws)
    };

    // Restarted on the same data folder.
    let server = common::start(&["serve"], data.path());
    let http = common::planner_client(&common::csrf_token(&server.base).await);
    let list = http
        .get(format!("{}/", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(list.contains("Empty &lt;plan&gt;"), "names are escaped: {list}");
    assert!(list.contains("NFYio seed example: VPC A and VPC B"));
    assert!(list.contains("Imported from AWS (10 files)"));
    assert_eq!(list.matches("data-testid=\"plan-row\"").count(), 3);

    let page = http
        .get(format!("{}{imported}", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        page.matches("data-testid=\"vpc-box\"").count(),
        2,
        "the diagram is in the HTML"
    );
    assert!(page.contains("data-id=\"pcx-ab\""));
    let page = http
        .get(format!("{}{aws}", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.matches("data-testid=\"vpc-box\"").count() >= 2);
    let page = http
        .get(format!("{}{created}", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Empty &lt;plan&gt;"));

    // Delete, then it is gone.
    let id = imported.trim_start_matches("/plans/");
    let r = http
        .post(format!("{}/plans/{id}/delete", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = http
        .get(format!("{}{imported}", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Cannot open this plan"), "{page}");
}

/// A whole 1,000-VPC plan (several MB of JSON) saves through the planner's server function, the way autosave
/// sends it; a bad body is refused and the stored version stays.
#[tokio::test]
async fn a_large_plan_saves_through_the_server_function() {
    let data = tempfile::tempdir().unwrap();
    let server = common::start(&["serve", "--no-demo"], data.path());
    let http = common::planner_client(&common::csrf_token(&server.base).await);
    let r = http
        .post(format!("{}/plans/new", server.base))
        .form(&[("name", "Large")])
        .send()
        .await
        .unwrap();
    let id = r.headers()["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/plans/")
        .to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_peerplan"))
        .args([
            "generate",
            "--vpcs",
            "1000",
            "--subnets-per-vpc",
            "2",
            "--endpoints-per-subnet",
            "1",
        ])
        .output()
        .unwrap();
    let body = String::from_utf8(out.stdout).unwrap();
    assert!(body.len() > 3_000_000, "a large plan: {} bytes", body.len());
    let r = http
        .post(format!("{}/api/plans/save_plan", server.base))
        .form(&[("id", id.as_str()), ("body", body.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let saved: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        (saved["version"].as_i64(), saved["vpc_count"].as_i64()),
        (Some(2), Some(1000))
    );

    let r = http
        .post(format!("{}/api/plans/save_plan", server.base))
        .form(&[("id", id.as_str()), ("body", "{\"format\": \"peerplan/v9\"}")])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_server_error() || r.status().is_client_error());
    assert!(r.text().await.unwrap().contains("peerplan/v9"));
    let r = http
        .post(format!("{}/api/plans/load_plan", server.base))
        .form(&[("id", id.as_str())])
        .send()
        .await
        .unwrap();
    let loaded: serde_json::Value = r.json().await.unwrap();
    assert_eq!(loaded["info"]["version"].as_i64(), Some(2));
}
