//! Tenants on their way out: an anonymous user's data merged into an account at login,
//! and accounts deleted. Both span several stores (the auth database, the tenant's rows
//! wherever the layout keeps them, the objects), so each is recorded first in
//! `tenantry_leaving`, in the same transaction that ends the tenant's sessions, then
//! finished step by step; killed at any point, the record remains and
//! [`Auth::finish_leaving`] completes the work.

use std::time::Duration;

use rusqlite::{Connection, OptionalExtension as _, params};

use crate::error::Result;
use crate::layout::TableMerge;
use crate::tenant::{Admin, TenantId};

use super::{Auth, parse_user_id};

/// What a login did with the anonymous user's data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MergeReport {
    /// Rows moved to the account.
    pub rows_moved: usize,
    /// Rows of the anonymous user whose key (primary or unique) the account already had:
    /// the account's row is kept, the anonymous one discarded.
    pub rows_conflicting: usize,
    /// Per table, the rows moved and discarded (tables with neither left out).
    pub tables: Vec<TableMerge>,
    /// Objects are still to be moved: call [`Auth::finish_login`] (only with
    /// [`AuthBuilder::objects`](super::AuthBuilder::objects)).
    pub objects_pending: bool,
}

/// What [`Auth::delete_account`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AccountDeletion {
    /// Owned rows deleted, in every placement.
    pub rows: usize,
    /// Sessions ended.
    pub sessions: usize,
    /// Objects are still to be deleted: call [`Auth::finish_account_deletion`] (only with
    /// [`AuthBuilder::objects`](super::AuthBuilder::objects)).
    pub objects_pending: bool,
}

/// What [`Auth::finish_leaving`] completed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Leaving {
    /// Merges whose rows (and objects, for the async variant) were finished.
    pub merges: usize,
    /// Account deletions finished.
    pub deletions: usize,
    /// Records that still wait for their objects (finish them with the async variant).
    pub waiting_for_objects: usize,
}

/// `tenant` is leaving: merged into `into`, or (with `None`) deleted. A merge already
/// recorded stays a merge.
pub(super) fn record_leaving(conn: &Connection, tenant: &str, into: Option<&str>, now: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO tenantry_leaving (tenant, into_tenant, rows_done, created_at) VALUES (?1, ?2, 0, ?3)
         ON CONFLICT (tenant) DO UPDATE SET into_tenant = COALESCE(into_tenant, excluded.into_tenant)",
        params![tenant, into, now],
    )?;
    Ok(())
}

/// One record of `tenantry_leaving`.
#[derive(Clone, Copy)]
struct Record {
    tenant: TenantId,
    into: Option<TenantId>,
    rows_done: bool,
}

impl Auth {
    fn record(&self, tenant: &TenantId) -> Result<Option<Record>> {
        let row: Option<(Option<String>, bool)> = self.inner.db.with_conn(|c| {
            Ok(c.query_row(
                "SELECT into_tenant, rows_done FROM tenantry_leaving WHERE tenant = ?1",
                [tenant.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
        })?;
        row.map(|(into, rows_done)| {
            Ok(Record { tenant: *tenant, into: into.as_deref().map(parse_user_id).transpose()?, rows_done })
        })
        .transpose()
    }

    /// The rows' part of a record: merged into the account, or deleted, wherever they
    /// live; then marked done. Safe to repeat.
    fn finish_rows(&self, record: &Record) -> Result<(Vec<TableMerge>, usize)> {
        let result = match &record.into {
            Some(into) => (self.layout.merge_tenant(&record.tenant, into)?, 0),
            None => (Vec::new(), self.layout.delete_tenant(&record.tenant)?),
        };
        self.inner.db.with_conn(|c| {
            Ok(c.execute("UPDATE tenantry_leaving SET rows_done = 1 WHERE tenant = ?1", [record.tenant.to_string()])?)
        })?;
        Ok(result)
    }

    /// The end of a record: the user row goes (an anonymous user who kept a Stripe
    /// customer the account could not take stays, unreachable, so the link is not lost),
    /// then the record.
    fn finish_record(&self, tenant: &TenantId) -> Result<()> {
        self.inner.db.write(|c| {
            c.execute("DELETE FROM users WHERE id = ?1 AND stripe_customer_id IS NULL", [tenant.to_string()])?;
            c.execute("DELETE FROM tenantry_leaving WHERE tenant = ?1", [tenant.to_string()])?;
            Ok(())
        })
    }

    /// After a login's transaction committed with a merge recorded: the rows move now;
    /// without an object store that ends the merge.
    pub(super) fn merge_after_login(&self, from: &TenantId) -> Result<MergeReport> {
        let Some(record) = self.record(from)? else { return Ok(MergeReport::default()) };
        let (tables, _) = self.finish_rows(&record)?;
        let objects_pending = self.has_objects();
        if !objects_pending {
            self.finish_record(from)?;
        }
        Ok(MergeReport {
            rows_moved: tables.iter().map(|t| t.moved).sum(),
            rows_conflicting: tables.iter().map(|t| t.conflicting).sum(),
            tables,
            objects_pending,
        })
    }

    /// Deletes the account of `tenant`, completely: its sessions and login links end at
    /// once, its email can register again and its Stripe customer is unlinked (a webhook
    /// lookup finds nobody), then every owned row in every placement and the tenant's
    /// file are deleted, then the user row.
    ///
    /// Takes the tenant's own token: a user deletes their own account (an operator
    /// deleting someone's account mints their token through an audited
    /// [`Admin::mint_tenant`] first). Idempotent and crash-safe: the deletion is recorded in
    /// the transaction that ends the sessions, and a rerun, or [`Auth::finish_leaving`],
    /// finishes whatever a kill interrupted. With an object store
    /// ([`AuthBuilder::objects`](super::AuthBuilder::objects)) the objects go in
    /// [`Auth::finish_account_deletion`], and the user row with them.
    pub fn delete_account(&self, tenant: &TenantId) -> Result<AccountDeletion> {
        let id = tenant.to_string();
        let now = self.at(Duration::ZERO);
        // An anonymous user already being merged into an account is the account's now:
        // its deletion is that merge finishing, never a deletion of rows that belong to
        // the account.
        if let Some(record) = self.record(tenant)?
            && record.into.is_some()
        {
            self.finish_rows(&record)?;
            let objects_pending = self.has_objects();
            if !objects_pending {
                self.finish_record(tenant)?;
            }
            return Ok(AccountDeletion { rows: 0, sessions: 0, objects_pending });
        }
        let sessions = self.inner.db.write(|c| {
            record_leaving(c, &id, None, &now)?;
            // Merges into this account that have not finished go nowhere now: the
            // anonymous users' rows and objects are deleted instead of landing in a
            // deleted account.
            c.execute("UPDATE tenantry_leaving SET into_tenant = NULL WHERE into_tenant = ?1", [&id])?;
            let email: Option<String> =
                c.query_row("SELECT email FROM users WHERE id = ?1", [&id], |r| r.get(0)).optional()?.flatten();
            if let Some(email) = email {
                c.execute("DELETE FROM login_tokens WHERE email = ?1", [email])?;
            }
            c.execute("UPDATE users SET email = NULL, stripe_customer_id = NULL WHERE id = ?1", [&id])?;
            Ok(c.execute("DELETE FROM sessions WHERE user_id = ?1", [&id])?)
        })?;
        let record = Record { tenant: *tenant, into: None, rows_done: false };
        let (_, rows) = self.finish_rows(&record)?;
        let objects_pending = self.has_objects();
        if !objects_pending {
            self.finish_record(tenant)?;
        }
        Ok(AccountDeletion { rows, sessions, objects_pending })
    }

    /// Finishes what a crash interrupted: every merge and account deletion still
    /// recorded. Call it at start-up. Without an object store it finishes them all; with
    /// one it moves the rows and leaves the objects to [`Auth::finish_leaving_objects`].
    ///
    /// It works on many tenants, so it takes an [`Admin`] (audited as an
    /// [`AuditAction::Operation`](crate::AuditAction::Operation)).
    pub fn finish_leaving(&self, admin: &Admin) -> Result<Leaving> {
        admin.tag().fire(crate::AuditAction::Operation { name: "finish interrupted merges and account deletions" });
        let mut done = Leaving::default();
        for record in self.records()? {
            if !record.rows_done {
                self.finish_rows(&record)?;
            }
            if self.has_objects() {
                done.waiting_for_objects += 1;
                continue;
            }
            self.finish_record(&record.tenant)?;
            if record.into.is_some() { done.merges += 1 } else { done.deletions += 1 }
        }
        Ok(done)
    }

    fn records(&self) -> Result<Vec<Record>> {
        let rows: Vec<(String, Option<String>, bool)> = self.inner.db.with_conn(|c| {
            let mut stmt =
                c.prepare("SELECT tenant, into_tenant, rows_done FROM tenantry_leaving ORDER BY created_at")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })?;
        rows.into_iter()
            .map(|(tenant, into, rows_done)| {
                Ok(Record {
                    tenant: parse_user_id(&tenant)?,
                    into: into.as_deref().map(parse_user_id).transpose()?,
                    rows_done,
                })
            })
            .collect()
    }

    #[cfg(feature = "object-store")]
    fn has_objects(&self) -> bool {
        self.inner.objects.is_some()
    }

    #[cfg(not(feature = "object-store"))]
    fn has_objects(&self) -> bool {
        false
    }
}

/// What moving or deleting a tenant's objects did.
#[cfg(feature = "object-store")]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectsDone {
    /// Objects moved to the account (a merge) or deleted (an account deletion).
    pub objects: usize,
    /// Objects of the anonymous user whose key the account already held with other
    /// contents: the account's is kept, the anonymous one deleted.
    pub conflicting: usize,
}

#[cfg(feature = "object-store")]
impl Auth {
    /// Database work of an async method: on tokio's blocking pool when called inside a
    /// runtime (feature `tokio`), so it never blocks a worker thread; otherwise here.
    async fn db_work<R: Send + 'static>(&self, f: impl FnOnce(&Auth) -> Result<R> + Send + 'static) -> Result<R> {
        #[cfg(feature = "tokio")]
        if tokio::runtime::Handle::try_current().is_ok() {
            return crate::asynchronous::hop(self.clone(), f).await;
        }
        f(self)
    }

    /// The objects' part of a record, then its end.
    async fn finish_objects(&self, record: Record) -> Result<ObjectsDone> {
        if !record.rows_done {
            self.db_work(move |a| a.finish_rows(&record).map(drop)).await?;
        }
        let Some(store) = &self.inner.objects else { return Ok(ObjectsDone::default()) };
        let done = match &record.into {
            Some(into) => {
                let (objects, conflicting) = store.move_tenant_objects(&record.tenant, into).await?;
                ObjectsDone { objects, conflicting }
            }
            None => ObjectsDone {
                objects: store.delete_prefix(&crate::TenantPrefix::root(&record.tenant)).await?,
                conflicting: 0,
            },
        };
        let tenant = record.tenant;
        self.db_work(move |a| a.finish_record(&tenant)).await?;
        Ok(done)
    }

    /// Moves the objects of the anonymous user that `login` merged into the account,
    /// under the account's prefix (copy, check, delete; resumable), then removes the
    /// anonymous user. Call it after a login whose report says
    /// [`objects_pending`](MergeReport::objects_pending); calling it again does nothing.
    pub async fn finish_login(&self, login: &super::Login) -> Result<ObjectsDone> {
        let Some(from) = login.merged_from else { return Ok(ObjectsDone::default()) };
        match self.db_work(move |a| a.record(&from)).await? {
            Some(record) => self.finish_objects(record).await,
            None => Ok(ObjectsDone::default()),
        }
    }

    /// Deletes the objects of an account being deleted, then its user row: the second
    /// half of [`delete_account`](Auth::delete_account) with an object store. Calling it
    /// again does nothing.
    pub async fn finish_account_deletion(&self, tenant: &TenantId) -> Result<ObjectsDone> {
        let tenant = *tenant;
        match self.db_work(move |a| a.record(&tenant)).await? {
            Some(record) if record.into.is_none() => self.finish_objects(record).await,
            _ => Ok(ObjectsDone::default()),
        }
    }

    /// [`finish_leaving`](Auth::finish_leaving), objects included.
    pub async fn finish_leaving_objects(&self, admin: &Admin) -> Result<Leaving> {
        admin.tag().fire(crate::AuditAction::Operation { name: "finish interrupted merges and account deletions" });
        let mut done = Leaving::default();
        for record in self.db_work(Auth::records).await? {
            self.finish_objects(record).await?;
            if record.into.is_some() { done.merges += 1 } else { done.deletions += 1 }
        }
        Ok(done)
    }
}
