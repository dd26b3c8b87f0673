//! The plan list's form actions, as plain HTTP (so they work with and without JavaScript): create, import
//! (one Peerplan JSON file, or AWS describe-* JSON files, as multipart uploads), rename, duplicate, delete.
//! Each answers with a redirect (303) to where the person goes next, or a short page naming what was wrong.
//! Every form carries the session's CSRF token (`csrf_token`), checked by [`crate::security::guard`]. Each change
//! is recorded in the audit trail as the request's actor ([`RequestActor`]).

use crate::audit_web::RequestActor;
use axum::{
    extract::{Multipart, Path, State},
    http::StatusCode,
    response::{Html, IntoResponse, Redirect, Response},
    Form,
};
use controlplane::store::Store;
use netmodel::import::aws::{self, SourceFile};

/// The most files one import takes.
pub const MAX_FILES: usize = 200;

/// A refusal as a small page, with the message (escaped) and a way back.
fn refuse(status: StatusCode, message: &str) -> Response {
    let escaped = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    (
        status,
        Html(format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Peerplan</title></head>\
             <body><p role=\"alert\">{escaped}</p><p><a href=\"/\">Back to the plans</a></p></body></html>"
        )),
    )
        .into_response()
}

fn from_api(e: controlplane::error::ApiError) -> Response {
    use controlplane::error::ApiError;
    let status = match e {
        ApiError::NotFound(_) => StatusCode::NOT_FOUND,
        ApiError::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    refuse(status, &e.to_string())
}

#[derive(serde::Deserialize)]
pub struct NameForm {
    name: String,
}

/// `POST /plans/new` (`name`): an empty plan, opened at once.
pub async fn create(
    State(store): State<Store>,
    RequestActor(by): RequestActor,
    Form(f): Form<NameForm>,
) -> Response {
    let mut plan = netmodel::Plan::new(f.name.trim());
    plan.sort();
    match store.create_plan(&by, &f.name, &plan.to_json(), &[]).await {
        Ok(p) => Redirect::to(&app::paths::plan(&p.id)).into_response(),
        Err(e) => from_api(e),
    }
}

/// `POST /plans/{id}/rename` (`name`).
pub async fn rename(
    State(store): State<Store>,
    RequestActor(by): RequestActor,
    Path(id): Path<String>,
    Form(f): Form<NameForm>,
) -> Response {
    match store.rename_plan(&by, &id, &f.name).await {
        Ok(_) => Redirect::to(app::paths::HOME).into_response(),
        Err(e) => from_api(e),
    }
}

/// `POST /plans/{id}/duplicate`.
pub async fn duplicate(
    State(store): State<Store>,
    RequestActor(by): RequestActor,
    Path(id): Path<String>,
) -> Response {
    match store.duplicate_plan(&by, &id).await {
        Ok(_) => Redirect::to(app::paths::HOME).into_response(),
        Err(e) => from_api(e),
    }
}

/// `POST /plans/{id}/delete`.
pub async fn delete(
    State(store): State<Store>,
    RequestActor(by): RequestActor,
    Path(id): Path<String>,
) -> Response {
    match store.delete_plan(&by, &id).await {
        Ok(()) => Redirect::to(app::paths::HOME).into_response(),
        Err(e) => from_api(e),
    }
}

/// `POST /plans/import` (multipart `files`): a plan file becomes a plan as it is; AWS describe-* files are
/// imported together, and the import's diagnostics are kept with the plan.
pub async fn import(
    State(store): State<Store>,
    RequestActor(by): RequestActor,
    mut form: Multipart,
) -> Response {
    let mut files = Vec::new();
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                // The CSRF token (checked by crate::security before this handler runs) is not a file.
                if field.name() == Some(crate::security::CSRF_FIELD) {
                    continue;
                }
                let name = field.file_name().unwrap_or("upload.json").to_string();
                match field.text().await {
                    Ok(text) => files.push(SourceFile { path: name, text }),
                    Err(e) => {
                        return refuse(
                            StatusCode::BAD_REQUEST,
                            &format!("cannot read the upload {name}: {e}"),
                        )
                    }
                }
                if files.len() > MAX_FILES {
                    return refuse(
                        StatusCode::BAD_REQUEST,
                        &format!("at most {MAX_FILES} files can be imported at once"),
                    );
                }
            }
            Ok(None) => break,
            Err(e) => return refuse(StatusCode::BAD_REQUEST, &format!("cannot read the upload: {e}")),
        }
    }
    files.retain(|f| !f.text.trim().is_empty());
    if files.is_empty() {
        return refuse(StatusCode::BAD_REQUEST, "choose one or more JSON files to import");
    }
    let is_plan = |f: &SourceFile| {
        serde_json::from_str::<serde_json::Value>(&f.text)
            .ok()
            .and_then(|v| {
                v.get("format")
                    .and_then(|f| f.as_str())
                    .map(|f| f == netmodel::model::FORMAT)
            })
            .unwrap_or(false)
    };
    let source = match files.as_slice() {
        [one] => format!("imported from the file {:?}", one.path),
        many => format!("imported from {} AWS files", many.len()),
    };
    let (name, body, diagnostics) = if files.len() == 1 && is_plan(&files[0]) {
        let f = &files[0];
        match netmodel::Plan::from_json(&f.text) {
            Ok(p) => {
                let name = if p.name.trim().is_empty() {
                    f.path.trim_end_matches(".json").to_string()
                } else {
                    p.name.clone()
                };
                (name, p.to_json(), vec![])
            }
            Err(e) => return refuse(StatusCode::BAD_REQUEST, &format!("{}: {e}", f.path)),
        }
    } else {
        if let Some(plan_file) = files.iter().find(|f| is_plan(f)) {
            return refuse(
                StatusCode::BAD_REQUEST,
                &format!(
                    "{} is a Peerplan plan: import it on its own, not with AWS files",
                    plan_file.path
                ),
            );
        }
        match aws::import(&files) {
            Ok(imported) => {
                let name = format!("Imported from AWS ({} files)", files.len());
                (name, imported.plan.to_json(), imported.diagnostics)
            }
            Err(e) => return refuse(StatusCode::BAD_REQUEST, &e.to_string()),
        }
    };
    let name: String = name.chars().filter(|c| !c.is_control()).take(255).collect();
    let name = if name.trim().is_empty() {
        "Imported plan".to_string()
    } else {
        name
    };
    match store.import_plan(&by, &source, &name, &body, &diagnostics).await {
        Ok(p) => Redirect::to(&app::paths::plan(&p.id)).into_response(),
        Err(e) => from_api(e),
    }
}

/// The routes, over the store.
pub fn router(store: Store) -> crate::access::Routes {
    crate::access::Routes::new()
        .post(app::paths::PLAN_NEW, create)
        .route(axum::http::Method::POST, app::paths::PLAN_IMPORT, import, |r| {
            r.layer(axum::extract::DefaultBodyLimit::max(
                crate::security::MAX_IMPORT_FORM_BYTES,
            ))
        })
        .post(app::paths::PLAN_RENAME, rename)
        .post(app::paths::PLAN_DUPLICATE, duplicate)
        .post(app::paths::PLAN_DELETE, delete)
        .with_state(store)
}
