// Bypass attempted: make an `AsyncPgTransaction` for tenant A without `begin(&a)` (say,
// to reuse one begun for another tenant under A's name).
// Guard: its fields are private and it has no public constructor.

use tenantry::AsyncPgTransaction;

fn main() {
    let _ = AsyncPgTransaction { begun: true, aborted: false };
}
