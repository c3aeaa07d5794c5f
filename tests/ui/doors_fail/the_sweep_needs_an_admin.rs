// Bypass attempted: sweep (delete across every tenant) without a capability.
// Guard: `Auth::sweep` takes `&Admin`.

use tenantry::auth::Auth;

fn sweep(auth: &Auth) {
    let _ = auth.sweep();
}

fn main() {}
