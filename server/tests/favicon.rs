//! The site icon: every page load asks for `/favicon.ico`; it answers 200 with the icon from `public/`, whether
//! or not the site folder was built (the icon is part of the binary).

mod common;

#[tokio::test]
async fn favicon_ico_answers_200_with_the_shipped_icon() {
    let data = tempfile::tempdir().unwrap();
    let server = common::start(&["serve"], data.path());
    let res = reqwest::get(format!("{}/favicon.ico", server.base))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/x-icon");
    let body = res.bytes().await.unwrap();
    assert_eq!(body[..4], [0, 0, 1, 0], "not an ICO file");
    assert_eq!(&body[..], include_bytes!("../../public/favicon.ico"));
}
