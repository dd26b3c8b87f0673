//! Preferences kept in the browser (gloo-storage's `localStorage`): the theme. Nothing here reaches the server;
//! the server build keeps none.

/// The `localStorage` key of the theme.
#[cfg(feature = "hydrate")]
const THEME: &str = "peerplan.theme";

/// The chosen theme (`light` or `dark`), if one was chosen.
pub fn theme() -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        use gloo_storage::Storage as _;
        gloo_storage::LocalStorage::get::<String>(THEME)
            .ok()
            .filter(|t| t == "light" || t == "dark")
    }
    #[cfg(not(feature = "hydrate"))]
    None
}

/// Applies a theme to the page (`<html data-theme>`) and keeps it for the next visit.
pub fn set_theme(theme: &str) {
    apply_theme(theme);
    #[cfg(feature = "hydrate")]
    {
        use gloo_storage::Storage as _;
        let _ = gloo_storage::LocalStorage::set(THEME, theme);
    }
}

/// Applies a theme to the page.
pub fn apply_theme(theme: &str) {
    if let Some(root) = leptos::prelude::document().document_element() {
        let _ = root.set_attribute("data-theme", theme);
    }
}
