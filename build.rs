//! Reads `endpoints.toml`, runs the generator (a pure function in `codegen/`), and writes the
//! client methods into `OUT_DIR/endpoints.rs`. Only I/O lives here.

#[path = "codegen/generator.rs"]
mod generator;

use std::{env, fs, path::PathBuf, process};

fn main() {
    for input in [
        "endpoints.toml",
        "build.rs",
        "codegen/generator.rs",
        "codegen/spec.rs",
    ] {
        println!("cargo:rerun-if-changed={input}");
    }
    let src = match fs::read_to_string("endpoints.toml") {
        Ok(s) => s,
        Err(e) => fail(&format!("cannot read endpoints.toml: {e}")),
    };
    let code = match generator::generate(&src) {
        Ok(code) => code,
        Err(e) => fail(&format!("endpoints.toml is invalid: {e}")),
    };
    let Some(out_dir) = env::var_os("OUT_DIR") else {
        fail("OUT_DIR is not set (build.rs runs under cargo)");
    };
    let out = PathBuf::from(out_dir).join("endpoints.rs");
    // Rewrite only when the bytes change, so an unchanged table does not force a rebuild.
    if fs::read_to_string(&out).ok().as_deref() != Some(code.as_str()) {
        if let Err(e) = fs::write(&out, code) {
            fail(&format!("cannot write {}: {e}", out.display()));
        }
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("error: {msg}");
    process::exit(1);
}
