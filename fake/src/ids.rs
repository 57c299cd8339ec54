//! Random identifiers and tokens, unique per server and unguessable enough for a test fake.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

/// A small splitmix64 generator, seeded from the process's random hash keys and the clock,
/// so two servers never hand out the same tokens (no `rand` dependency needed).
#[derive(Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new() -> Rng {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u128(nanos);
        Rng(hasher.finish())
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A Squirro-style id: 16 random bytes, URL-safe base64 without padding (22 characters).
    pub(crate) fn id(&mut self) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let bits = (u128::from(self.next_u64()) << 64) | u128::from(self.next_u64());
        // 22 characters of 6 bits each use 132 bits; the top 4 are always zero, which is fine.
        (0..22)
            .map(|i| char::from(ALPHABET[((bits >> (6 * i)) & 63) as usize]))
            .collect()
    }

    /// An opaque token: 64 lowercase hex characters (256 random bits).
    pub(crate) fn token(&mut self) -> String {
        (0..4)
            .map(|_| format!("{:016x}", self.next_u64()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn ids_and_tokens_have_the_documented_shape() {
        let mut rng = Rng::new();
        let id = rng.id();
        assert_eq!(id.len(), 22);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        let token = rng.token();
        assert_eq!(token.len(), 64);
        assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(rng.token(), token);
    }
}
