// Legitimate use: a tenant's statements in one PostgreSQL transaction, awaited, from a
// future that must be `Send` (an axum handler's).

use tenantry::{Async, PgDatabase, Table, TenantId};

#[derive(Table, Debug)]
#[table(name = "ui_async_pg_notes", owned)]
struct Note {
    #[tenant]
    user_id: TenantId,
    #[primary_key]
    id: i64,
    body: String,
}

async fn handler(db: Async<PgDatabase>, t: TenantId) -> tenantry::Result<usize> {
    let mut tx = db.begin(&t).await?;
    tx.execute(Note::insert(&t, NewNote { id: 1, body: "in a transaction".into() })).await?;
    let n = tx.fetch_one(Note::select(&t).count()).await?;
    tx.commit().await?;
    Ok(n as usize + db.fetch_all(Note::select(&t)).await?.len())
}

fn require_send<F: std::future::Future + Send>(_: F) {}

/// Type-checked (the handler's future is `Send`), not run: no server here.
fn spawnable(db: Async<PgDatabase>) {
    require_send(handler(db, TenantId::generate()));
}

fn main() {
    let _ = spawnable;
}
