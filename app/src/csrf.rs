//! The planner's side of its CSRF protection (the server's side is `server::security`): every state-changing
//! request proves it comes from a page the planner served, by echoing the per-session token of the
//! `peerplan_csrf` cookie (`HttpOnly`, `SameSite=Strict`, so a script cannot read it and another site's request
//! does not carry it) — as the hidden [`CsrfField`] of a plain HTML form (works without JavaScript), or as the
//! [`HEADER`] of a server-function call ([`CsrfClient`]).
//!
//! The token reaches the page once, rendered by the server into `<meta name="csrf-token">` ([`CsrfMeta`]);
//! forms rendered later in the browser read it from there.

use leptos::prelude::*;

/// The form field that carries the token.
pub const FIELD: &str = "csrf_token";
/// The request header that carries the token (server functions, scripts).
pub const HEADER: &str = "x-csrf-token";
/// The cookie that holds the token.
pub const COOKIE: &str = "peerplan_csrf";
/// The `<meta>` that hands the token to the browser build.
const META: &str = "csrf-token";

/// This request's token, provided by the server (`server::security`) for the page it renders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsrfToken(pub String);

/// The token of this page: on the server, the one of the request being rendered; in the browser, the one the
/// server rendered into the page.
pub fn csrf_token() -> String {
    if cfg!(feature = "ssr") {
        return use_context::<CsrfToken>().map(|t| t.0).unwrap_or_default();
    }
    document()
        .query_selector(&format!("meta[name=\"{META}\"]"))
        .ok()
        .flatten()
        .and_then(|m| m.get_attribute("content"))
        .unwrap_or_default()
}

/// `<meta name="csrf-token">` in the document's head.
#[component]
pub fn CsrfMeta() -> impl IntoView {
    view! { <meta name=META content=csrf_token()/> }
}

/// The hidden field every state-changing form carries (first, so the server finds it before any upload).
#[component]
pub fn CsrfField() -> impl IntoView {
    view! { <input type="hidden" name=FIELD value=csrf_token()/> }
}

/// The server-function client of the planner: the browser's `fetch`, with the page's token in [`HEADER`].
pub struct CsrfClient;

mod client {
    use leptos::server_fn::{
        client::{browser::BrowserClient, Client},
        error::FromServerFnError,
        request::browser::BrowserRequest,
        response::browser::BrowserResponse,
    };

    impl<E, IS, OS> Client<E, IS, OS> for super::CsrfClient
    where
        E: FromServerFnError,
        IS: FromServerFnError,
        OS: FromServerFnError,
    {
        type Request = BrowserRequest;
        type Response = BrowserResponse;

        fn send(req: Self::Request) -> impl std::future::Future<Output = Result<Self::Response, E>> + Send {
            req.headers().set(super::HEADER, &super::csrf_token());
            <BrowserClient as Client<E, IS, OS>>::send(req)
        }

        #[allow(clippy::type_complexity)]
        fn open_websocket(
            path: &str,
        ) -> impl std::future::Future<
            Output = Result<
                (
                    impl futures::Stream<Item = Result<leptos::server_fn::Bytes, leptos::server_fn::Bytes>>
                        + Send
                        + 'static,
                    impl futures::Sink<leptos::server_fn::Bytes> + Send + 'static,
                ),
                E,
            >,
        > + Send {
            <BrowserClient as Client<E, IS, OS>>::open_websocket(path)
        }

        fn spawn(future: impl std::future::Future<Output = ()> + Send + 'static) {
            <BrowserClient as Client<E, IS, OS>>::spawn(future)
        }
    }
}
