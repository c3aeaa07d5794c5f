// Each attribute once, every kind together: compiles, creates its table, and a key
// across tenants stays one (`#[unique(global)]` is not overwritten by anything).

use tenantry::{SqliteDatabase, Table, TenantId};

#[derive(Table, Debug)]
#[table(name = "once_each", owned, index(label, code), index_across_tenants(code))]
pub struct OnceEach {
    #[tenant]
    pub user_id: TenantId,
    #[primary_key]
    pub id: i64,
    #[unique(global)]
    pub code: String,
    #[unique]
    #[index]
    pub label: String,
}

fn main() -> tenantry::Result<()> {
    let db = SqliteDatabase::open_in_memory()?;
    db.create_table::<OnceEach>()?;
    let (a, b) = (TenantId::generate(), TenantId::generate());
    db.execute(OnceEach::insert(&a, NewOnceEach { id: 1, code: "c1".into(), label: "l".into() }))?;
    // The same label in another tenant is fine; the same code anywhere is not.
    db.execute(OnceEach::insert(&b, NewOnceEach { id: 1, code: "c2".into(), label: "l".into() }))?;
    let clash = db.execute(OnceEach::insert(&b, NewOnceEach { id: 2, code: "c1".into(), label: "m".into() }));
    assert!(matches!(clash, Err(tenantry::Error::Conflict { .. })), "{clash:?}");
    Ok(())
}
