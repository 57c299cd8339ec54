//! Any status and any body, through the reply handling of every method: a value or a typed
//! error, never a panic. Run by hand (see the README):
//! `cargo fuzz run --sanitizer none decode_reply -- -max_total_time=60`

#![no_main]

use libfuzzer_sys::fuzz_target;
use squirro_user_api::{OPERATIONS, Reply, operations::decode_as};

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let status = 100 + u16::from_le_bytes([data[0], data[1]]) % 500;
    let body = &data[2..];
    for op in OPERATIONS {
        let reply = Reply::from_parts(op.name, status, body.to_vec());
        if let Some(Err(e)) = decode_as(op.name, &reply) {
            // Display and the accessors must not panic either.
            let _ = (e.to_string(), e.status(), e.message(), e.body());
        }
    }
});
