//! Every export format of a plan, rendered to bytes: used by `peerplan export` and by the web UI's export menu
//! (`POST /api/export/{format}`), so both give the same files.

use netmodel::{
    export::{self, ScriptPart},
    model::Plan,
    CheckOptions, Diagnostic,
};

use crate::{
    cli::ExportFormat,
    heavy::{HeavyError, HeavyWork},
};

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
///
/// The rendering runs under the server's [`HeavyWork`] cap and budget, in a worker process that is killed when
/// the client goes away: 503 with `Retry-After` when all slots stay busy, 503 naming the budget when it runs out.
pub async fn export_handler(
    axum::extract::Extension(heavy): axum::extract::Extension<HeavyWork>,
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
    if let Err(e) = Plan::from_json(&text) {
        return bad(StatusCode::BAD_REQUEST, format!("the plan cannot be read: {e}"));
    }
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
    // Rendering a large plan is heavy CPU work: capped, on a budget, in a worker process (crate::heavy).
    let format_name = clap::ValueEnum::to_possible_value(&format)
        .map(|v| v.get_name().to_string())
        .unwrap_or_default();
    let args = worker_args(&format_name, options.part.as_deref().unwrap_or("all"), port);
    let bytes = match heavy.run(&args, text).await {
        Ok(b) => b,
        Err(e @ HeavyError::Busy(_)) => {
            let mut res = bad(StatusCode::SERVICE_UNAVAILABLE, e.to_string());
            res.headers_mut().insert(
                header::RETRY_AFTER,
                axum::http::HeaderValue::from(crate::heavy::RETRY_AFTER_SECS),
            );
            return res;
        }
        Err(e @ HeavyError::OverBudget(_)) => return bad(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        Err(HeavyError::Failed(m)) => {
            return bad(StatusCode::UNPROCESSABLE_ENTITY, format!("cannot export: {m}"))
        }
        Err(e @ HeavyError::Spawn { .. }) => {
            tracing::error!(error = %e, "export worker");
            return bad(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
        }
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

/// The command line of the worker that renders one web export (`peerplan export-worker …`).
fn worker_args(format: &str, part: &str, port: u16) -> Vec<String> {
    [
        "export-worker",
        "--format",
        format,
        "--part",
        part,
        "--port",
        &port.to_string(),
    ]
    .map(str::to_string)
    .to_vec()
}

/// `peerplan export-worker`: reads a plan (peerplan/v1 JSON) on standard input and writes one export of it to
/// standard output — the web export's worker process ([`crate::heavy`]). Bad input or a failed render: the
/// message on standard error.
pub fn worker(format: ExportFormat, part: ScriptPart, port: u16) -> anyhow::Result<()> {
    use std::io::{Read, Write};
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| anyhow::anyhow!("the plan is not UTF-8 text: {e}"))?;
    let plan = Plan::from_json(&text).map_err(|e| anyhow::anyhow!("the plan cannot be read: {e}"))?;
    let bytes = render(&plan, &[], format, part, port)?;
    let mut out = std::io::stdout().lock();
    out.write_all(&bytes)?;
    out.flush()?;
    Ok(())
}
