// Bypass attempted: build a `SessionToken` (and so a `Session` with a cookie) from a
// string, e.g. another user's token hash read from a log.
// Guard: the field is crate-private.

use tenantry::auth::SessionToken;

fn main() {
    let _ = SessionToken(String::from("0123"));
}
