//! Every export format of a plan, rendered to bytes: used by `peerplan export` and by the web UI's export menu
//! (`POST /api/export/{format}`), so both give the same files.

use netmodel::{
    export::{self, ScriptPart},
    model::Plan,
    CheckOptions, Diagnostic,
};

use crate::cli::ExportFormat;

/// The file name extension and media type of a format.
pub fn file_kind(format: ExportFormat) -> (&'static str, &'static str) {
    match format {
        ExportFormat::Md => ("md", "text/markdown; charset=utf-8"),
        ExportFormat::Html => ("html", "text/html; charset=utf-8"),
        ExportFormat::Svg => ("svg", "image/svg+xml"),
        ExportFormat::Png => ("png", "image/png"),
        ExportFormat::Dot => ("dot", "text/vnd.graphviz; charset=utf-8"),
        ExportFormat::Mermaid => ("mmd", "text/plain; charset=utf-8"),
        ExportFormat::Curl => ("sh", "text/x-shellscript; charset=utf-8"),
        ExportFormat::Json => ("json", "application/json"),
        ExportFormat::Csv => ("csv", "text/csv; charset=utf-8"),
    }
}

/// The diagnostics the documentation lists: those of the import, then the checks'.
fn diagnostics(plan: &Plan, import: &[Diagnostic]) -> Vec<Diagnostic> {
    let mut d = import.to_vec();
    d.extend(netmodel::check(plan, &CheckOptions::default()));
    d
}

/// One export of a plan. `part` is for `curl`, `port` for `csv` (the matrix's destination port, tcp).
pub fn render(
    plan: &Plan,
    import_diagnostics: &[Diagnostic],
    format: ExportFormat,
    part: ScriptPart,
    port: u16,
) -> anyhow::Result<Vec<u8>> {
    Ok(match format {
        ExportFormat::Md => export::markdown(plan, &diagnostics(plan, import_diagnostics)).into_bytes(),
        ExportFormat::Html => {
            let map = export::map::svg(plan)?;
            export::html(plan, &diagnostics(plan, import_diagnostics), Some(&map)).into_bytes()
        }
        ExportFormat::Svg => export::map::svg(plan)?.into_bytes(),
        ExportFormat::Png => export::map::png(plan)?,
        ExportFormat::Dot => export::dot(plan).into_bytes(),
        ExportFormat::Mermaid => export::mermaid(plan).into_bytes(),
        ExportFormat::Curl => export::curl_script(plan, part).into_bytes(),
        ExportFormat::Json => (plan.to_json() + "\n").into_bytes(),
        ExportFormat::Csv => {
            let t = netmodel::sim::Topology::new(plan);
            netmodel::matrix::matrix(&t, netmodel::model::Protocol::Tcp, Some(port), Default::default())?
                .to_csv()
                .into_bytes()
        }
    })
}

/// The largest plan the web export accepts (a 1,000-VPC generated plan is about 3 MiB of JSON).
pub const MAX_PLAN_BYTES: usize = 16 * 1024 * 1024;

/// `POST /api/export/{format}`: the UI's export menu. The body is the plan, either as JSON
/// (`Content-Type: application/json`, options in the query: `?part=requester&port=443`) or as the menu's form
/// (`plan`, `part`, `port` fields, so a download works with or without JavaScript). The answer is the file, as an
/// attachment named after the format.
pub async fn export_handler(
    axum::extract::Path(format): axum::extract::Path<String>,
    axum::extract::Query(query): axum::extract::Query<ExportOptions>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    use axum::{
        http::{header, StatusCode},
        response::IntoResponse,
    };
    let bad = |status: StatusCode, message: String| (status, message + "\n").into_response();
    let Ok(format) = <ExportFormat as clap::ValueEnum>::from_str(&format, true) else {
        return bad(
            StatusCode::NOT_FOUND,
            format!(
                "unknown export format {format:?}: use md, html, svg, png, dot, mermaid, curl, json or csv"
            ),
        );
    };
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let (text, options) = if is_form {
        match serde_urlencoded_form(&body) {
            Ok(f) => (
                f.plan,
                ExportOptions {
                    part: f.part.or(query.part),
                    port: f.port.or(query.port),
                },
            ),
            Err(e) => return bad(StatusCode::BAD_REQUEST, e),
        }
    } else {
        match String::from_utf8(body.to_vec()) {
            Ok(t) => (t, query),
            Err(_) => return bad(StatusCode::BAD_REQUEST, "the plan is not UTF-8 text".into()),
        }
    };
    let plan = match Plan::from_json(&text) {
        Ok(p) => p,
        Err(e) => return bad(StatusCode::BAD_REQUEST, format!("the plan cannot be read: {e}")),
    };
    let part = match options.part.as_deref().unwrap_or("all") {
        "all" => ScriptPart::All,
        "requester" => ScriptPart::Requester,
        "accepter" => ScriptPart::Accepter,
        other => {
            return bad(
                StatusCode::BAD_REQUEST,
                format!("part {other:?} is not all, requester or accepter"),
            )
        }
    };
    let port = match options.port.as_deref().filter(|p| !p.is_empty()) {
        None => 443,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => n,
            _ => {
                return bad(
                    StatusCode::BAD_REQUEST,
                    format!("port {p:?} is not a number from 1 to 65535"),
                )
            }
        },
    };
    // Rendering a large map is CPU work: keep it off the async workers.
    let rendered = tokio::task::spawn_blocking(move || render(&plan, &[], format, part, port)).await;
    let bytes = match rendered {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => return bad(StatusCode::UNPROCESSABLE_ENTITY, format!("cannot export: {e}")),
        Err(_) => return bad(StatusCode::INTERNAL_SERVER_ERROR, "the export failed".into()),
    };
    let (ext, mime) = file_kind(format);
    let name = if format == ExportFormat::Curl && part != ScriptPart::All {
        format!("peerplan-{}.{ext}", options.part.as_deref().unwrap_or("all"))
    } else {
        format!("peerplan.{ext}")
    };
    (
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response()
}

/// Options of the web export (query string or form fields); strings, so a bad value is named in the error.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ExportOptions {
    part: Option<String>,
    port: Option<String>,
}

#[derive(serde::Deserialize)]
struct ExportForm {
    plan: String,
    part: Option<String>,
    port: Option<String>,
}

fn serde_urlencoded_form(body: &[u8]) -> Result<ExportForm, String> {
    serde_urlencoded::from_bytes(body).map_err(|e| format!("the export form cannot be read: {e}"))
}
