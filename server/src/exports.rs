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
