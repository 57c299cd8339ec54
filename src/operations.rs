//! The generated part: one method on [`Client`](crate::Client) and one request builder here
//! per entry of `endpoints.toml`, and the [`OPERATIONS`] list.
//!
//! The code is written by `build.rs` (see `codegen/generator.rs`) into `OUT_DIR`.

include!(concat!(env!("OUT_DIR"), "/endpoints.rs"));
