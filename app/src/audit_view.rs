//! The admin's **Audit trail** view (`/audit`): the newest entries first, a page at a time, filtered by user,
//! plan and action through a plain GET form (it works without JavaScript), with a link to the JSON lines export
//! of the same filter. The entries come from a server function over an [`AuditSource`] the server puts in the
//! context (its store, acting as the request's user, which must be an admin); the app does not depend on the
//! store. The chain itself is checked by `peerplan audit verify`, not here.

use std::{future::Future, pin::Pin};

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::{paths, storage::format_time};

/// How many entries one page shows.
pub const PAGE: i64 = 100;

/// One entry, as the server's audit trail holds it (`GET /api/audit` gives the same fields).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    pub seq: i64,
    pub time_ms: i64,
    pub user: String,
    pub role: String,
    pub address: String,
    pub action: String,
    pub object: String,
    pub version: Option<i64>,
    pub result: String,
    pub detail: String,
}

/// What the view asks for (empty: any).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    pub user: String,
    pub plan: String,
    pub action: String,
    /// The `seq` the page starts below (empty: the newest).
    pub cursor: String,
}

/// A page of entries, newest first, with the cursor of the next (older) page and every action code the filter
/// offers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRows {
    pub items: Vec<AuditRow>,
    pub next_cursor: Option<String>,
    pub actions: Vec<String>,
}

/// The audit trail as the server provides it to this request (refusing anyone but an admin).
pub trait AuditSource: Send + Sync {
    fn page<'a>(
        &'a self,
        query: &'a AuditQuery,
        limit: i64,
    ) -> Pin<Box<dyn Future<Output = Result<AuditRows, String>> + Send + 'a>>;
}

/// A page of the audit trail.
#[server(prefix = "/api/admin", endpoint = "audit_page", client = crate::csrf::CsrfClient)]
pub async fn audit_page(query: AuditQuery) -> Result<AuditRows, ServerFnError> {
    let source = use_context::<std::sync::Arc<dyn AuditSource>>()
        .ok_or_else(|| ServerFnError::new("the audit trail is not configured"))?;
    source.page(&query, PAGE).await.map_err(ServerFnError::new)
}

/// `value` percent-encoded for a query string (unreserved characters as they are).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `path` with the query's non-empty filters (and the cursor, when `cursor` is given).
pub fn link(path: &str, q: &AuditQuery, cursor: Option<&str>) -> String {
    let pairs: Vec<String> = [
        ("user", q.user.as_str()),
        ("plan", q.plan.as_str()),
        ("action", q.action.as_str()),
        ("cursor", cursor.unwrap_or("")),
    ]
    .iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| format!("{k}={}", encode(v)))
    .collect();
    if pairs.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", pairs.join("&"))
    }
}

/// `/audit`.
#[component]
pub fn AuditPage() -> impl IntoView {
    let params = use_query_map();
    let query = move || {
        let m = params.read();
        let get = |k: &str| m.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
        AuditQuery {
            user: get("user"),
            plan: get("plan"),
            action: get("action"),
            cursor: get("cursor"),
        }
    };
    let rows = Resource::new(query, audit_page);
    view! {
        <main class="audit-page">
            <h2>"Audit trail"</h2>
            <p class="muted">
                "Every plan change and apply, newest first. The chain of hashes is checked with "
                <code>"peerplan audit verify"</code>"."
            </p>
            <Suspense fallback=|| view! { <p class="muted">"Loading the audit trail…"</p> }>
                {move || Suspend::new(async move {
                    let q = query();
                    match rows.await {
                        Err(e) => view! { <p class="field-error" role="alert">{format!("Cannot read the audit trail: {e}")}</p> }.into_any(),
                        Ok(page) => view! {
                            <form method="get" action=paths::AUDIT_PAGE class="inline-form" aria-label="Filter the audit trail">
                                <label for="audit-user">"User"</label>
                                <input id="audit-user" type="text" name="user" value=q.user.clone()/>
                                <label for="audit-plan">"Plan id"</label>
                                <input id="audit-plan" type="text" name="plan" value=q.plan.clone()/>
                                <label for="audit-action">"Action"</label>
                                <select id="audit-action" name="action">
                                    <option value="" selected=q.action.is_empty()>"any"</option>
                                    {page.actions.iter().map(|a| view! {
                                        <option value=a.clone() selected=*a == q.action>{a.clone()}</option>
                                    }).collect_view()}
                                </select>
                                <button type="submit">"Filter"</button>
                                <a href=link(paths::AUDIT_JSONL, &q, None) download="peerplan-audit.jsonl">"Export as JSON lines"</a>
                            </form>
                            {if page.items.is_empty() {
                                view! { <p class="muted" data-testid="no-audit">"No entries."</p> }.into_any()
                            } else {
                                view! {
                                    <table class="audit" aria-label="Audit trail">
                                        <thead>
                                            <tr><th>"#"</th><th>"Time"</th><th>"User"</th><th>"Role"</th><th>"Address"</th><th>"Action"</th><th>"Object"</th><th>"Version"</th><th>"Result"</th><th>"Detail"</th></tr>
                                        </thead>
                                        <tbody>
                                            {page.items.iter().map(|e| view! {
                                                <tr data-testid="audit-row">
                                                    <td>{e.seq}</td>
                                                    <td>{format_time(e.time_ms)}</td>
                                                    <td>{e.user.clone()}</td>
                                                    <td>{e.role.clone()}</td>
                                                    <td>{e.address.clone()}</td>
                                                    <td>{e.action.clone()}</td>
                                                    <td>{e.object.clone()}</td>
                                                    <td>{e.version.map(|v| v.to_string()).unwrap_or_default()}</td>
                                                    <td>{e.result.clone()}</td>
                                                    <td>{e.detail.clone()}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                }.into_any()
                            }}
                            {page.next_cursor.as_deref().map(|c| view! {
                                <p><a href=link(paths::AUDIT_PAGE, &q, Some(c))>"Older entries"</a></p>
                            })}
                        }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_the_filters_and_encode_them() {
        let q = AuditQuery {
            user: "local".into(),
            plan: "plan_1".into(),
            action: "plan.save".into(),
            cursor: "9".into(),
        };
        assert_eq!(
            link("/audit", &q, Some("42")),
            "/audit?user=local&plan=plan_1&action=plan.save&cursor=42"
        );
        assert_eq!(link("/audit", &AuditQuery::default(), None), "/audit");
        let odd = AuditQuery {
            user: "a b&c=d".into(),
            ..AuditQuery::default()
        };
        assert_eq!(link("/x", &odd, None), "/x?user=a%20b%26c%3Dd");
    }
}
