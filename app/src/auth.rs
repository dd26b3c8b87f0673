//! Who is signed in, for the pages (team mode): the server provides [`SignedIn`] in the context of the page it
//! renders and writes it into `<meta name="peerplan-user">` ([`UserMeta`]) for the browser build. Without team
//! mode there is nobody signed in and every control shows (the one person is an admin).
//!
//! What the pages hide here is cosmetic: the server refuses every request without the role its route needs.

use leptos::prelude::*;

/// The signed-in user of this page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedIn {
    pub name: String,
    /// `viewer`, `planner`, `applier` or `admin`.
    pub role: String,
}

const META: &str = "peerplan-user";

/// The rank of a role (unknown roles rank lowest).
fn rank(role: &str) -> u8 {
    match role {
        "planner" => 1,
        "applier" => 2,
        "admin" => 3,
        _ => 0,
    }
}

/// The signed-in user: on the server, the one of the request being rendered; in the browser, the one the server
/// rendered into the page. `None`: sign-in is off.
pub fn signed_in() -> Option<SignedIn> {
    if cfg!(feature = "ssr") {
        return use_context::<SignedIn>();
    }
    let meta = document()
        .query_selector(&format!("meta[name=\"{META}\"]"))
        .ok()
        .flatten()?;
    Some(SignedIn {
        name: meta.get_attribute("content")?,
        role: meta.get_attribute("data-role")?,
    })
}

/// Whether this page's user has at least `role` (always, without sign-in).
pub fn may(role: &str) -> bool {
    signed_in().is_none_or(|u| rank(&u.role) >= rank(role))
}

/// `<meta name="peerplan-user" content=NAME data-role=ROLE>` in the document's head, when someone is signed in.
#[component]
pub fn UserMeta() -> impl IntoView {
    signed_in().map(|u| view! { <meta name=META content=u.name data-role=u.role/> })
}

/// The header's user: name, role and a Sign out button (a plain form: works without JavaScript).
#[component]
pub fn UserBadge() -> impl IntoView {
    signed_in().map(|u| {
        view! {
            <span class="user-badge" data-testid="user-badge">
                <span class="user-name">{u.name}</span>
                " "
                <span class="user-role muted">{format!("({})", u.role)}</span>
                <form method="post" action="/logout" class="inline-form">
                    <crate::csrf::CsrfField/>
                    <button type="submit" class="secondary">"Sign out"</button>
                </form>
            </span>
        }
    })
}

/// The CSS classes of the app's root for this user's role (`role-viewer` …), which hide what the role cannot use.
pub fn role_class() -> String {
    match signed_in() {
        Some(u) => format!("app-root role-{}", u.role),
        None => "app-root".into(),
    }
}
