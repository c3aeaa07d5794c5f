// Bypass attempted: implement `AsyncExecutor` for a type of one's own, so `Async<Mine>`
// runs tenantry statements through code that ignores their tenant (reading the plan's
// SQL and sending it elsewhere, unscoped).
// Guard: `AsyncExecutor` requires `Executor`, which is sealed.

use tenantry::{Async, AsyncExecutor};

#[derive(Clone)]
struct Mine;

impl AsyncExecutor for Mine {}

fn main() {
    let _ = Async::new(Mine);
}
