// Bypass attempted: clone one audited proof to log in twice (or log in and keep it).
// Guard: `VerifiedEmail` is not `Clone`, and `login_verified` takes it by value.

use tenantry::auth::{Auth, Merge, VerifiedEmail};

fn twice(auth: &Auth, proof: VerifiedEmail) {
    let copy = proof.clone();
    let _ = auth.login_verified(proof, None, Merge::KeepSeparate);
    let _ = auth.login_verified(copy, None, Merge::KeepSeparate);
}

fn main() {}
