//! Every failure as one line on stderr and an exit status by class. The mapping from SDK
//! errors is in one function, [`code_of`], and uses the error's accessors where they tell.

use squirro_user_api::Error;
use std::fmt;

/// The exit statuses, documented in `--help` (see `cli::EXIT_CODES`) and the README.
pub const USAGE: u8 = 2;
/// Authentication failed or the call is not allowed (401, 403, no or refused token).
pub const AUTH: u8 = 3;
/// 404.
pub const NOT_FOUND: u8 = 4;
/// 409.
pub const CONFLICT: u8 = 5;
/// 400: the server refused the input.
pub const CLIENT: u8 = 6;
/// A server error (5xx, an unexpected status), a reply that is not what the API sends, or no
/// connection.
pub const SERVER: u8 = 7;
/// A timeout.
pub const TIMEOUT: u8 = 8;
/// Anything else (a local file that cannot be read or written).
pub const OTHER: u8 = 1;

/// A failure: the exit status and the one-line message.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    message: String,
    broken_pipe: bool,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
            broken_pipe: false,
        }
    }

    pub fn usage(message: impl Into<String>) -> Failure {
        Failure::new(USAGE, message)
    }

    /// A failure to write the output; a closed pipe (`| head -1`) is not reported.
    pub fn io(e: std::io::Error) -> Failure {
        let broken_pipe = e.kind() == std::io::ErrorKind::BrokenPipe;
        Failure {
            code: OTHER,
            message: format!("cannot write the output: {e}"),
            broken_pipe,
        }
    }

    pub fn is_broken_pipe(&self) -> bool {
        self.broken_pipe
    }

    /// Prints the message on stderr, on one line.
    pub fn report(&self) {
        let line: String = self
            .message
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        eprintln!("squirro-user: error: {line}");
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::new(code_of(&e), e.to_string())
    }
}

/// The exit status of an SDK error.
pub fn code_of(e: &Error) -> u8 {
    if e.is_timeout() {
        return TIMEOUT;
    }
    // The classes the status alone does not tell: no token, or the token endpoint refusing the
    // credentials (it answers 403, 404 or 410), and input refused before sending.
    match e {
        Error::Authentication { .. } => return AUTH,
        Error::InvalidInput { .. } => return USAGE,
        _ => {}
    }
    match e.status() {
        Some(400) => CLIENT,
        Some(401 | 403) => AUTH,
        Some(404) => NOT_FOUND,
        Some(409) => CONFLICT,
        // 5xx, an unexpected status, a reply that is not JSON or not of the right shape, no
        // connection, retries exhausted.
        _ => SERVER,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        // The error a method makes of a reply with this status.
        let status = |s: u16| {
            let reply = squirro_user_api::Reply::from_parts("get_users", s, b"{}".to_vec());
            squirro_user_api::operations::decode_as("get_users", &reply)
                .and_then(Result::err)
                .expect("a status get_users does not expect is an error")
        };
        assert_eq!(code_of(&status(500)), SERVER);
        assert_eq!(code_of(&status(409)), CONFLICT);
        let auth = Error::Authentication {
            status: Some(404),
            message: None,
        };
        assert_eq!(code_of(&auth), AUTH);
        let exhausted = Error::RetriesExhausted {
            attempts: 3,
            last_status: Some(503),
            last_error: None,
        };
        assert_eq!(code_of(&exhausted), SERVER);
        let invalid = Error::InvalidInput {
            param: "x".into(),
            reason: "y".into(),
        };
        assert_eq!(code_of(&invalid), USAGE);
    }
}
