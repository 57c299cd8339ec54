//! Reads the SDK's `endpoints.toml`, runs the generator (`codegen.rs`, a pure function) and
//! writes the per-endpoint subcommands into `OUT_DIR/commands.rs`. Only I/O lives here.

mod codegen;

use std::{env, fs, path::PathBuf, process};

fn main() {
    for input in [
        "../endpoints.toml",
        "../codegen/spec.rs",
        "build.rs",
        "codegen.rs",
    ] {
        println!("cargo:rerun-if-changed={input}");
    }
    let src = match fs::read_to_string("../endpoints.toml") {
        Ok(s) => s,
        Err(e) => fail(&format!("cannot read ../endpoints.toml: {e}")),
    };
    let code = match codegen::generate(&src) {
        Ok(code) => code,
        Err(e) => fail(&e),
    };
    let Some(out_dir) = env::var_os("OUT_DIR") else {
        fail("cargo did not set OUT_DIR");
    };
    let out = PathBuf::from(out_dir).join("commands.rs");
    // Rewrite only when the bytes change, so an unchanged table does not force a rebuild.
    if fs::read_to_string(&out).ok().as_deref() != Some(code.as_str()) {
        if let Err(e) = fs::write(&out, code) {
            fail(&format!("cannot write {}: {e}", out.display()));
        }
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("error: cannot generate the subcommands: {msg}");
    process::exit(1);
}
