// Bypass attempted: forge the proof of a verified address with a struct literal.
// Guard: `VerifiedEmail`'s field is private; `VerifiedEmail::new(&admin, ..)` is the only maker.

use tenantry::auth::VerifiedEmail;

fn main() {
    let _ = VerifiedEmail { email: String::from("victim@example.com") };
}
