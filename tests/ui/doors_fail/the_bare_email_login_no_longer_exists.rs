// Bypass attempted: the old `login_verified_email(&str, ..)` signed in to any address.
// Guard: the method was removed; only `login_verified(VerifiedEmail, ..)` exists.

use tenantry::auth::{Auth, Merge};

fn take_over(auth: &Auth) {
    let _ = auth.login_verified_email("victim@example.com", None, Merge::IntoAccount);
}

fn main() {}
