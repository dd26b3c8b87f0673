//! The OpenAPI document served at `/v1/openapi.json` is a contract: it must not change by accident. It is
//! compared with the committed copy in `tests/openapi.json`; after a deliberate change, rewrite that copy with
//! `PEERPLAN_UPDATE_OPENAPI=1 cargo test -p controlplane --test openapi` and review the diff.

use std::path::PathBuf;

#[test]
fn openapi_document_matches_the_committed_copy() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/openapi.json");
    let now = controlplane::routes::document();
    if std::env::var("PEERPLAN_UPDATE_OPENAPI").as_deref() == Ok("1") {
        std::fs::write(&path, &now).expect("write tests/openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(&path).expect("read tests/openapi.json");
    if now != committed {
        let line = now
            .lines()
            .zip(committed.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(now.lines().count().min(committed.lines().count()));
        panic!(
            "the OpenAPI document differs from tests/openapi.json from line {}:\n now:       {:?}\n committed: {:?}",
            line + 1,
            now.lines().nth(line),
            committed.lines().nth(line)
        );
    }
}
