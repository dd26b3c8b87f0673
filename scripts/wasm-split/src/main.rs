//! The `--split` step of `cargo leptos build --release --split` (cargo-leptos 0.3.10, `src/wasm_split_tools`), as
//! a program of its own so that `scripts/build-site.sh` needs no cargo-leptos.
//!
//! It splits the app's WASM at its `#[lazy]` / `#[lazy_route]` points with the same library and the same options as
//! cargo-leptos: the chunks (`chunk_N.wasm`, `split_*.wasm`) and the loader `__wasm_split.______________________.js`
//! go into the site's pkg folder, the main module to `--main-out` for wasm-bindgen, and the prefetch map to
//! `__wasm_split_manifest.json` — the two names leptos 0.8's `HydrationScripts` looks for (the published
//! `wasm-split-cli` can set neither: it names the loader `__wasm_split.js` and writes no manifest).
//!
//! Usage: `peerplan-wasm-split INPUT.wasm PKG_DIR OUTPUT_NAME MAIN_OUT.wasm`; prints each chunk's path, one a line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The loader's name as cargo-leptos 0.3.10 gives it (the underscores stand for a hash when files are hashed).
const LINK_NAME: &str = "./__wasm_split.______________________.js";
/// The prefetch map's name in the pkg folder, as leptos 0.8 reads it.
const MANIFEST: &str = "__wasm_split_manifest.json";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(chunks) => {
            for chunk in chunks {
                println!("{}", chunk.display());
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("peerplan-wasm-split: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<Vec<PathBuf>, String> {
    let [input, pkg_dir, output_name, main_out] = args else {
        return Err(format!(
            "expected 4 arguments (INPUT.wasm PKG_DIR OUTPUT_NAME MAIN_OUT.wasm), got {}: {args:?}",
            args.len()
        ));
    };
    if output_name.is_empty() || output_name.contains('/') {
        return Err(format!(
            "OUTPUT_NAME must be a plain file stem, got {output_name:?}"
        ));
    }
    let input_wasm =
        std::fs::read(input).map_err(|e| format!("cannot read the input WASM {input:?}: {e}"))?;
    let pkg_dir = Path::new(pkg_dir);
    let main_module = format!("./{output_name}.js");

    let split = wasm_split_cli_support::transform({
        let mut opts = wasm_split_cli_support::Options::new(&input_wasm);
        opts.output_dir = pkg_dir;
        opts.main_out_path = Path::new(main_out);
        opts.main_module = &main_module;
        opts.link_name = LINK_NAME;
        opts
    })
    .map_err(|e| format!("cannot split {input:?}: {e:#}"))?;

    // Sorted keys: the same module gives the same manifest byte for byte (cargo-leptos writes a HashMap's order).
    let prefetch: BTreeMap<_, _> = split.prefetch_map.into_iter().collect();
    let manifest =
        serde_json::to_string_pretty(&prefetch).map_err(|e| format!("cannot encode the manifest: {e}"))?;
    let manifest_path = pkg_dir.join(MANIFEST);
    std::fs::write(&manifest_path, manifest)
        .map_err(|e| format!("cannot write {}: {e}", manifest_path.display()))?;
    Ok(split.split_modules)
}

#[cfg(test)]
mod tests {
    use super::run;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn wrong_argument_count_is_named() {
        let err = run(&args(&["a.wasm", "pkg"])).unwrap_err();
        assert!(
            err.contains("expected 4 arguments") && err.contains("got 2"),
            "{err}"
        );
    }

    #[test]
    fn missing_input_is_named() {
        let err = run(&args(&[
            "/nonexistent/app.wasm",
            "/tmp",
            "peerplan",
            "/tmp/x.wasm",
        ]))
        .unwrap_err();
        assert!(err.contains("/nonexistent/app.wasm"), "{err}");
    }

    #[test]
    fn output_name_with_a_slash_is_refused() {
        let err = run(&args(&["a.wasm", "pkg", "a/b", "m.wasm"])).unwrap_err();
        assert!(err.contains("\"a/b\""), "{err}");
    }

    #[test]
    fn input_that_is_not_wasm_is_refused() {
        let dir = std::env::temp_dir().join(format!("peerplan-wasm-split-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let input = dir.join("not.wasm");
        std::fs::write(&input, b"not wasm at all").unwrap();
        let main_out = dir.join("main.wasm");
        let err = run(&args(&[
            input.to_str().unwrap(),
            dir.to_str().unwrap(),
            "peerplan",
            main_out.to_str().unwrap(),
        ]))
        .unwrap_err();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(err.contains("cannot split") && err.contains("not.wasm"), "{err}");
    }
}
