//! Compile-time guarantees: code that forgets the tenant does not compile (`tests/ui/fail`),
//! and ordinary scoped and admin code does, and runs (`tests/ui/pass`).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
    // The store's rules need the store, which is behind a feature.
    if cfg!(feature = "object-store") {
        t.compile_fail("tests/ui/store_fail/*.rs");
    }
}
