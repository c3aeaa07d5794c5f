//! Email addresses: normalised so case variants are one account.

use crate::error::{Error, Result};

/// Trims and lower-cases `raw` and checks it has the shape `local@domain`: ASCII only (so
/// no Unicode case folding can make two addresses one: `\u{212A}im` is not `kim`), at most
/// 254 bytes, one `@`, non-empty parts, a dot in the domain, no spaces or control characters.
pub(crate) fn normalize(raw: &str) -> Result<String> {
    let email = raw.trim().to_ascii_lowercase();
    let ok = email.is_ascii()
        && email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        // Characters that make an address a display form or a list (`a@b.com<c@d.com>`).
        && !email.contains(['<', '>', '(', ')', '[', ']', ',', ';', ':', '"', '\\'])
        && match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            }
            None => false,
        };
    if ok { Ok(email) } else { Err(Error::InvalidEmail) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_spaces_do_not_make_a_second_account() {
        assert_eq!(normalize("  Ada@Example.COM ").unwrap(), "ada@example.com");
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@example",
            "a b@example.com",
            "a@b@c.com",
            "ada@.com",
            "x\0@y.com",
            "co.com<a@evil.com>",
            "a,b@c.com",
        ] {
            assert!(normalize(bad).is_err(), "{bad:?}");
        }
    }
}
