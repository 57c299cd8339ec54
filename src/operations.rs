//! The generated part: one method on [`Client`](crate::Client) and one request builder here
//! per entry of `endpoints.toml`, and the [`OPERATIONS`] list.
//!
//! The code is written by `build.rs` (see `codegen/generator.rs`) into `OUT_DIR`.

include!(concat!(env!("OUT_DIR"), "/endpoints.rs"));

impl crate::Reply {
    /// A reply from its parts, as if `operation` had received it (for tests and fuzzing).
    #[doc(hidden)]
    pub fn from_parts(operation: &'static str, status: u16, body: Vec<u8>) -> Self {
        crate::Reply {
            operation,
            status,
            body,
        }
    }
}
