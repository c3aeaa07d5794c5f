// Bypass attempted: insert a row into another tenant by naming the tenant column in
// the insert form.

#[derive(tenantry::Table)]
#[table(name = "projects", owned)]
pub struct Project {
    #[tenant]
    pub user_id: tenantry::TenantId,
    #[primary_key]
    pub id: uuid::Uuid,
    pub name: String,
}

fn main() {
    let mine = tenantry::TenantId::generate();
    let theirs = tenantry::TenantId::generate();
    let _ = Project::insert(
        &mine,
        NewProject { user_id: theirs, id: uuid::Uuid::nil(), name: "x".into() },
    );
}
