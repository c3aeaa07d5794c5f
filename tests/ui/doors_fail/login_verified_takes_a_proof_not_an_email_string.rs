// Bypass attempted: log in as anyone by passing a bare email string to `login_verified`.
// Guard: it takes a `VerifiedEmail`, which only `VerifiedEmail::new(&admin, ..)` makes.

use tenantry::auth::{Auth, Merge};

fn take_over(auth: &Auth) {
    let _ = auth.login_verified("victim@example.com", None, Merge::IntoAccount);
}

fn main() {}
