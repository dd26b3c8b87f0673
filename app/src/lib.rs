//! Peerplan's browser UI, built with Leptos (SSR on the server, hydrated in the browser).
//!
//! The planner runs [`netmodel`] directly in the browser, so checks and traces are instant and offline;
//! server functions load and save plans, and the Apply and Drift views ([`apply_view`]) ask the server to apply
//! a stored plan to a control plane. Admins read the audit trail in [`audit_view`]. In team mode the pages know who
//! is signed in ([`auth`]).
#![recursion_limit = "256"]

pub mod apply_api;
pub mod apply_view;
pub mod audit_view;
pub mod auth;
pub mod canvas;
pub mod canvas2d;
pub mod conflict;
pub mod csrf;
pub mod edit;
pub mod editor;
pub mod geometry;
pub mod groups_panel;
pub mod history;
pub mod inspector;
pub mod matrix_panel;
pub mod pages;
pub mod paths;
pub mod planner;
pub mod prefs;
pub mod storage;
pub mod trace_panel;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes, A},
    Lazy, ParamSegment, SsrMode, StaticSegment,
};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <csrf::CsrfMeta/>
                <auth::UserMeta/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The application: header, routed page.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // The kept theme, on every page (effects run in the browser only).
    Effect::new(|_| {
        if let Some(t) = prefs::theme() {
            prefs::apply_theme(&t);
        }
    });
    view! {
        <Stylesheet id="leptos" href="/pkg/peerplan.css"/>
        <Title text="Peerplan"/>
        <Router>
            // Signed in (team mode): the role's class hides what the role cannot use (style/main.css).
            <div class=auth::role_class()>
            <header class="app-header">
                <h1>"Peerplan"</h1>
                <span class="tagline">"Plan, simulate and apply VPC peering"</span>
                <nav aria-label="Main">
                    <A href=paths::HOME>"Plans"</A>
                    <A href=paths::SCRATCH>"Scratch pad"</A>
                    {auth::may("admin").then(|| view! { <A href=paths::AUDIT_PAGE>"Audit"</A> })}
                </nav>
                <auth::UserBadge/>
            </header>
            <Routes fallback=|| view! { <p class="not-found">"Page not found."</p> }>
                <Route path=StaticSegment("") view=pages::PlansPage ssr=SsrMode::Async/>
                <Route path=(StaticSegment(paths::PLANS), ParamSegment("id")) view={Lazy::<pages::PlanRoute>::new()} ssr=SsrMode::Async/>
                <Route path=(StaticSegment(paths::PLANS), ParamSegment("id"), StaticSegment(paths::APPLY_SEGMENT)) view={Lazy::<apply_view::ApplyRoute>::new()} ssr=SsrMode::Async/>
                <Route path=(StaticSegment(paths::PLANS), ParamSegment("id"), StaticSegment(paths::DRIFT_SEGMENT)) view={Lazy::<apply_view::DriftRoute>::new()} ssr=SsrMode::Async/>
                <Route path=StaticSegment(paths::AUDIT_SEGMENT) view=audit_view::AuditPage ssr=SsrMode::Async/>
                <Route path=StaticSegment(paths::SCRATCH_SEGMENT) view={Lazy::<pages::ScratchRoute>::new()}/>
            </Routes>
            </div>
        </Router>
    }
}

/// Entry point of the browser build: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_lazy(App);
}
