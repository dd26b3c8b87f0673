//! Replies sent before the request body is read (401, 413, 415) close the connection and say so
//! (`Connection: close`), so a keep-alive client does not send its next request into a closing connection;
//! replies after a fully read request keep the connection open; every 401 says `WWW-Authenticate: Bearer`
//! (issue 11, items 7 and 10). Spoken over raw TCP on loopback, as a keep-alive client does.

mod common;

use std::time::Duration;

use common::{start, Api};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// One HTTP/1.1 response read off a connection.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

async fn read_reply(conn: &mut TcpStream) -> Reply {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(10), conn.read(&mut byte))
            .await
            .expect("a reply in time")
            .unwrap();
        assert_eq!(
            n,
            1,
            "connection closed before a full reply: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_string(), v.trim().to_string())
        })
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.parse().unwrap())
        .expect("replies here have a Content-Length");
    let mut body = vec![0u8; length];
    conn.read_exact(&mut body).await.unwrap();
    Reply {
        status,
        headers,
        body: String::from_utf8(body).unwrap(),
    }
}

/// Whether the server closes the connection (reads EOF) within a few seconds.
async fn closes(conn: &mut TcpStream) -> bool {
    let mut rest = Vec::new();
    matches!(
        tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut rest)).await,
        Ok(Ok(0))
    )
}

async fn connect(base: &str) -> TcpStream {
    TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .unwrap()
}

#[tokio::test]
async fn an_early_401_says_connection_close_and_how_to_authenticate() {
    let s = start("sqlite").await;
    // The body is announced but not sent yet: the server answers before reading it.
    let mut conn = connect(&s.base).await;
    conn.write_all(
        b"POST /v1/vpcs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
    )
    .await
    .unwrap();
    let reply = read_reply(&mut conn).await;
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert_eq!(reply.header("connection"), Some("close"), "{:?}", reply.headers);
    assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
    assert!(closes(&mut conn).await, "the server closes after saying so");

    // The whole body sent, a wrong key: answered unread, so closed too.
    let mut conn = connect(&s.base).await;
    let body = r#"{"name":"x","region":"us-east-1","cidr_block":"10.0.0.0/16"}"#;
    conn.write_all(
        format!(
            "POST /v1/vpcs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ppk_wrong\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let reply = read_reply(&mut conn).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.header("connection"), Some("close"), "{:?}", reply.headers);
    assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
}

#[tokio::test]
async fn an_early_413_or_415_says_connection_close() {
    let s = start("sqlite").await;
    let a = Api::new_account(&s, "A").await;
    for (content_type, length, status) in [
        ("application/json", 2 * 1024 * 1024, 413),
        ("text/plain", 100, 415),
    ] {
        let mut conn = connect(&s.base).await;
        conn.write_all(
            format!(
                "POST /v1/vpcs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n",
                a.key
            )
            .as_bytes(),
        )
        .await
        .unwrap();
        let reply = read_reply(&mut conn).await;
        assert_eq!(reply.status, status, "{}", reply.body);
        assert_eq!(
            reply.header("connection"),
            Some("close"),
            "{status}: {:?}",
            reply.headers
        );
        assert!(closes(&mut conn).await);
    }
}

#[tokio::test]
async fn replies_to_fully_read_requests_keep_the_connection() {
    let s = start("sqlite").await;
    let a = Api::new_account(&s, "A").await;
    let mut conn = connect(&s.base).await;
    let body = r#"{"name":"x","region":"us-east-1","cidr_block":"10.0.0.0/16"}"#;
    let requests = [
        // A 401 without a body, a 400 and a 201 with their bodies read: all on one connection.
        "GET /v1/vpcs HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".to_string(),
        format!(
            "POST /v1/vpcs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{{\"a\":1}}",
            a.key
        ),
        format!(
            "POST /v1/vpcs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            a.key,
            body.len()
        ),
        format!(
            "GET /v1/vpcs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\r\n",
            a.key
        ),
    ];
    let mut statuses = Vec::new();
    for r in requests {
        conn.write_all(r.as_bytes()).await.unwrap();
        let reply = read_reply(&mut conn).await;
        assert_eq!(
            reply.header("connection"),
            None,
            "{}: {:?}",
            reply.status,
            reply.headers
        );
        if reply.status == 401 {
            assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
        }
        statuses.push(reply.status);
    }
    assert_eq!(statuses, [401, 400, 201, 200]);
}
