//! Secrets: 256-bit random tokens, handed out once and stored only as their SHA-256.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Length of a token's text: 32 random bytes as lower-case hex.
pub(crate) const TOKEN_LEN: usize = 64;

/// A fresh 256-bit random token, as 64 lower-case hex characters.
pub(crate) fn random_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| Error::Randomness)?;
    Ok(crate::hex::encode(&bytes))
}

/// What the database stores for a token: its SHA-256, in hex.
pub(crate) fn token_hash(token: &str) -> String {
    crate::hex::encode(&Sha256::digest(token.as_bytes()))
}

/// Whether `s` has the shape of a token (checked before any database work, so malformed
/// input costs nothing and reveals nothing).
pub(crate) fn well_formed(s: &str) -> bool {
    s.len() == TOKEN_LEN && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A session token: the secret in the session cookie. The database holds only its
/// SHA-256; this value is shown once, when the session is created.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(pub(crate) String);

impl SessionToken {
    /// The token text, for the cookie (see [`session_cookie`](crate::auth::session_cookie)).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex_and_hash_deterministically() {
        let (a, b) = (random_token().unwrap(), random_token().unwrap());
        assert!(well_formed(&a) && well_formed(&b) && a != b);
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_ne!(token_hash(&a), a);
        // SHA-256("abc"), the FIPS 180-2 test vector.
        assert_eq!(token_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(!well_formed(&a.to_uppercase()) && !well_formed(&a[1..]) && !well_formed(""));
        assert_eq!(format!("{:?}", SessionToken(a.clone())), "SessionToken(<redacted>)");
    }
}
