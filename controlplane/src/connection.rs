//! HTTP/1.1 hygiene of `/v1` replies, as one outer layer:
//!
//! - A reply sent before the request body was read (401 for a missing key, 413 for a declared length over the
//!   limit, 415, 429…) carries `Connection: close`. The server cannot reuse such a connection (the unread body
//!   is still on it), and without the header a keep-alive client sends its next request into a connection
//!   that is closing and fails.
//! - Every 401 carries `WWW-Authenticate: Bearer` (RFC 6750), saying how to authenticate.

use std::{
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    task::{Context, Poll},
};

use axum::{
    body::{Body, Bytes},
    extract::Request,
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::Response,
};
use http_body::{Frame, SizeHint};

/// A request body that notes when it has been read to its end.
struct Tracked {
    inner: Body,
    finished: Arc<AtomicBool>,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.finished.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The layer (outermost on the `/v1` router).
pub async fn layer(req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let has_body = !http_body::Body::is_end_stream(&body);
    let finished = Arc::new(AtomicBool::new(!has_body));
    let req = Request::from_parts(
        parts,
        Body::new(Tracked {
            inner: body,
            finished: finished.clone(),
        }),
    );
    let mut res = next.run(req).await;
    if !finished.load(Ordering::Acquire) {
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    if res.status() == StatusCode::UNAUTHORIZED {
        res.headers_mut()
            .entry(header::WWW_AUTHENTICATE)
            .or_insert(HeaderValue::from_static("Bearer"));
    }
    res
}
