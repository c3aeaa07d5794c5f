//! Compile-time guarantees: code that forgets the tenant does not compile (`tests/ui/fail`,
//! `tests/ui/store_fail`), and ordinary scoped and admin code does, and runs
//! (`tests/ui/pass`).
//!
//! rustc's help text lists the types that implement a trait, and that list changes with
//! the crates in the build (axum turns on serde_json's `RawValue`, object_store adds
//! extension traits). So the expected `.stderr` files are for one configuration, the
//! README's test command: `cargo test --workspace --all-features`. Other feature sets skip
//! this suite with a notice instead of comparing unstable text.

#[test]
fn ui() {
    if !cfg!(all(feature = "object-store", feature = "s3", feature = "axum")) {
        eprintln!(
            "notice: the compile-fail suite runs with --all-features (cargo test --workspace --all-features); skipped"
        );
        return;
    }
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.compile_fail("tests/ui/store_fail/*.rs");
    t.compile_fail("tests/ui/doors_fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
