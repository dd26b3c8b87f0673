//! Every export format of a plan, rendered to bytes: used by `peerplan export` and by the web UI's export menu
//! (`POST /api/export/{format}`), so both give the same files. The formats and curl-script parts are named by
//! the same words on both sides ([`ExportFormat`], [`ScriptPartArg`]); the web export parses them with
//! [`std::str::FromStr`], not through clap.

use std::{fmt, str::FromStr};

use netmodel::{
    export::{self, ScriptPart},
    model::Plan,
    CheckOptions, Diagnostic,
};

use crate::heavy::{HeavyError, HeavyWork};

/// Export formats, by the words `peerplan export --format` and `POST /api/export/{format}` take. The command
/// line parses them through clap's `ValueEnum`, the web export through [`FromStr`]; both use the same words,
/// [`ExportFormat::as_str`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// Peering documentation in Markdown.
    Md,
    /// Peering documentation as one HTML page, with the peering map.
    Html,
    /// Peering map as SVG.
    Svg,
    /// Peering map as PNG (text in the shipped DejaVu Sans font).
    Png,
    /// Peering map as Graphviz DOT.
    Dot,
    /// Peering map as a Mermaid flowchart.
    Mermaid,
    /// A bash script of curl calls that applies the plan's peerings, routes and security-group rules.
    Curl,
    /// The plan itself (peerplan/v1).
    Json,
    /// The reachability matrix (tcp, --port).
    Csv,
}

impl ExportFormat {
    /// Every format, in the order the help and the error messages list them.
    pub const ALL: [ExportFormat; 9] = [
        ExportFormat::Md,
        ExportFormat::Html,
        ExportFormat::Svg,
        ExportFormat::Png,
        ExportFormat::Dot,
        ExportFormat::Mermaid,
        ExportFormat::Curl,
        ExportFormat::Json,
        ExportFormat::Csv,
    ];

    /// The format's word: `md`, `html`, `svg`, `png`, `dot`, `mermaid`, `curl`, `json` or `csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Md => "md",
            ExportFormat::Html => "html",
            ExportFormat::Svg => "svg",
            ExportFormat::Png => "png",
            ExportFormat::Dot => "dot",
            ExportFormat::Mermaid => "mermaid",
            ExportFormat::Curl => "curl",
            ExportFormat::Json => "json",
            ExportFormat::Csv => "csv",
        }
    }
}

impl fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A format word that is not one of [`ExportFormat::ALL`] (the word as given).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownFormat(pub String);

impl fmt::Display for UnknownFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<&str> = ExportFormat::ALL.iter().map(|v| v.as_str()).collect();
        write!(f, "unknown export format {:?}: use {}", self.0, one_of(&words))
    }
}

impl std::error::Error for UnknownFormat {}

/// A format by its word, in any ASCII case (`md`, `MD`).
impl FromStr for ExportFormat {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ExportFormat::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownFormat(s.to_string()))
    }
}

/// Parts of the curl script, by the words `peerplan export --part` and the web export's `part` take:
/// everything, or only the requesters' or the accepters' calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ScriptPartArg {
    All,
    Requester,
    Accepter,
}

impl ScriptPartArg {
    /// Every part, in the order the error message lists them.
    pub const ALL: [ScriptPartArg; 3] = [
        ScriptPartArg::All,
        ScriptPartArg::Requester,
        ScriptPartArg::Accepter,
    ];

    /// The part's word: `all`, `requester` or `accepter`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScriptPartArg::All => "all",
            ScriptPartArg::Requester => "requester",
            ScriptPartArg::Accepter => "accepter",
        }
    }
}

impl fmt::Display for ScriptPartArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A part word that is not one of [`ScriptPartArg::ALL`] (the word as given).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownPart(pub String);

impl fmt::Display for UnknownPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<&str> = ScriptPartArg::ALL.iter().map(|v| v.as_str()).collect();
        write!(f, "part {:?} is not {}", self.0, one_of(&words))
    }
}

impl std::error::Error for UnknownPart {}

/// A part by its exact word (`all`, `requester`, `accepter`).
impl FromStr for ScriptPartArg {
    type Err = UnknownPart;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ScriptPartArg::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownPart(s.to_string()))
    }
}

impl From<ScriptPartArg> for ScriptPart {
    fn from(part: ScriptPartArg) -> Self {
        match part {
            ScriptPartArg::All => ScriptPart::All,
            ScriptPartArg::Requester => ScriptPart::Requester,
            ScriptPartArg::Accepter => ScriptPart::Accepter,
        }
    }
}

/// `a, b or c`.
fn one_of(words: &[&str]) -> String {
    match words.split_last() {
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

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
    let format = match format.parse::<ExportFormat>() {
        Ok(f) => f,
        Err(e) => return bad(StatusCode::NOT_FOUND, e.to_string()),
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
    let part = match options.part.as_deref().unwrap_or("all").parse::<ScriptPartArg>() {
        Ok(p) => p,
        Err(e) => return bad(StatusCode::BAD_REQUEST, e.to_string()),
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
    let args = worker_args(format, part, port);
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
    let name = if format == ExportFormat::Curl && part != ScriptPartArg::All {
        format!("peerplan-{part}.{ext}")
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
fn worker_args(format: ExportFormat, part: ScriptPartArg, port: u16) -> Vec<String> {
    [
        "export-worker",
        "--format",
        format.as_str(),
        "--part",
        part.as_str(),
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

#[cfg(test)]
mod tests {
    use clap::ValueEnum;

    use super::*;

    #[test]
    fn the_command_line_and_the_web_export_take_the_same_words() {
        let clap_formats: Vec<String> = ExportFormat::value_variants()
            .iter()
            .filter_map(|f| f.to_possible_value())
            .map(|v| v.get_name().to_string())
            .collect();
        let words: Vec<String> = ExportFormat::ALL.iter().map(|f| f.to_string()).collect();
        assert_eq!(clap_formats, words);
        for format in ExportFormat::ALL {
            assert_eq!(format.as_str().parse::<ExportFormat>(), Ok(format));
            assert_eq!(format.as_str().to_uppercase().parse::<ExportFormat>(), Ok(format));
        }
        let clap_parts: Vec<String> = ScriptPartArg::value_variants()
            .iter()
            .filter_map(|p| p.to_possible_value())
            .map(|v| v.get_name().to_string())
            .collect();
        let words: Vec<String> = ScriptPartArg::ALL.iter().map(|p| p.to_string()).collect();
        assert_eq!(clap_parts, words);
        for part in ScriptPartArg::ALL {
            assert_eq!(part.as_str().parse::<ScriptPartArg>(), Ok(part));
        }
    }

    #[test]
    fn unknown_words_are_named_with_the_valid_ones() {
        assert_eq!(
            "pdf".parse::<ExportFormat>().unwrap_err().to_string(),
            "unknown export format \"pdf\": use md, html, svg, png, dot, mermaid, curl, json or csv"
        );
        assert_eq!(
            "observer".parse::<ScriptPartArg>().unwrap_err().to_string(),
            "part \"observer\" is not all, requester or accepter"
        );
        // The part is an exact word, as before.
        assert!("Requester".parse::<ScriptPartArg>().is_err());
    }
}
