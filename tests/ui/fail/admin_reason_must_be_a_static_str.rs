// Bypass attempted: an Admin capability whose reason is built at run time (not a
// greppable literal).

fn main() {
    let job = String::from("nightly");
    let _ = tenantry::Admin::new(&format!("job {job}"));
}
