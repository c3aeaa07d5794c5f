//! The session cookie: `__Host-` prefix, `Secure`, `HttpOnly`, `SameSite=Lax`, `Path=/`,
//! no `Domain`. The `__Host-` prefix makes browsers refuse a cookie set by a sub-domain or
//! over plain HTTP, so no sibling site can plant a session.

use std::time::Duration;

use crate::auth::secret::{SessionToken, well_formed};

/// The cookie's name.
pub const SESSION_COOKIE: &str = "__Host-session";

/// `Set-Cookie` value that stores `token` for `max_age`.
///
/// ```
/// use std::time::Duration;
/// # let token = tenantry::auth::SessionToken::__for_docs();
/// let header = tenantry::auth::session_cookie(&token, Duration::from_secs(3600));
/// assert!(header.starts_with("__Host-session="));
/// assert!(header.ends_with("; Max-Age=3600; Path=/; Secure; HttpOnly; SameSite=Lax"));
/// ```
pub fn session_cookie(token: &SessionToken, max_age: Duration) -> String {
    format!(
        "{SESSION_COOKIE}={}; Max-Age={}; Path=/; Secure; HttpOnly; SameSite=Lax",
        token.expose(),
        max_age.as_secs()
    )
}

/// `Set-Cookie` value that removes the session cookie (`Max-Age=0`).
pub fn logout_cookie() -> String {
    format!("{SESSION_COOKIE}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax")
}

/// The session token in a `Cookie` request header, if one is there and well formed.
/// Anything else (no cookie, a bare user id, a tampered or truncated value) is `None`.
pub fn token_from_cookie_header(header: &str) -> Option<&str> {
    tokens_from_cookie_header(header).next()
}

/// Every well-formed session token in the header, in order (a stale duplicate may come
/// before the live one).
pub(crate) fn tokens_from_cookie_header(header: &str) -> impl Iterator<Item = &str> {
    well_formed_values(header, SESSION_COOKIE)
}

/// The values of every cookie called `name` in a `Cookie` header that are well-formed
/// tokens, in order.
pub(crate) fn well_formed_values<'h>(header: &'h str, name: &'static str) -> impl Iterator<Item = &'h str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(move |(n, _)| *n == name)
        .map(|(_, value)| value.trim())
        .filter(|value| well_formed(value))
}

#[doc(hidden)]
impl SessionToken {
    /// A well-formed token that opens no session, for documentation examples.
    pub fn __for_docs() -> Self {
        SessionToken("0".repeat(64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_token_is_found_only_when_well_formed() {
        let good = "a".repeat(64);
        assert_eq!(token_from_cookie_header(&format!("theme=dark; {SESSION_COOKIE}={good}")), Some(good.as_str()));
        assert_eq!(
            token_from_cookie_header(&format!("{SESSION_COOKIE}=zz; {SESSION_COOKIE}={good}")),
            Some(good.as_str())
        );
        for bad in ["", "uid=123", "__Host-session=", "__Host-session=abc", "session=aaaa"] {
            assert_eq!(token_from_cookie_header(bad), None, "{bad}");
        }
        assert_eq!(token_from_cookie_header(&format!("__host-session={good}")), None);
    }
}
