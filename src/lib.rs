//! Type-safe multi-tenant data access.
//!
//! ```
//! use tenantry::{Admin, SqliteDatabase, Table, TenantId};
//! use uuid::Uuid;
//!
//! #[derive(Table, Debug)]
//! #[table(name = "projects", owned)]
//! struct Project {
//!     #[tenant]
//!     user_id: TenantId,
//!     #[primary_key]
//!     id: Uuid,
//!     name: String,
//!     #[index]
//!     created_at: String,
//! }
//!
//! # fn main() -> tenantry::Result<()> {
//! let db = SqliteDatabase::open_in_memory()?;
//! db.create_table::<Project>()?;
//!
//! let alice = TenantId::generate();
//! let bob = TenantId::generate();
//! let id = Uuid::new_v4();
//! db.execute(Project::insert(&alice, NewProject { id, name: "Cup final".into(), created_at: "2026-11-27".into() }))?;
//!
//! let query = Project::select(&alice).filter(Project::name().like("%final%")).order_by(Project::created_at().desc()).limit(20);
//! assert_eq!(
//!     query.to_sql()?.text,
//!     r#"SELECT user_id, id, "name", created_at FROM projects WHERE user_id = ? AND "name" LIKE ? ORDER BY created_at DESC LIMIT ?"#
//! );
//! assert_eq!(db.fetch_all(query)?.len(), 1);
//!
//! // Bob asks for Alice's project by its id: it does not exist for him.
//! assert!(db.fetch_optional(Project::get(&bob, id))?.is_none());
//! // And his update touches nothing of hers.
//! assert_eq!(db.execute(Project::update(&bob).set(Project::name(), "mine now").filter(Project::id().eq(id)))?, 0);
//! # let _ = Admin::new("doc");
//! # Ok(()) }
//! ```
//!
//! # Guarantees
//!
//! - **No unscoped statement.** Statements on owned tables are built only from a
//!   [`TenantId`]; every owned table in a statement (joins and subqueries included)
//!   carries `tenant_column = ?`, bound to that tenant. The executor accepts only
//!   statements tenantry built; raw SQL needs an [`Admin`] capability.
//! - **No forged tenant.** [`TenantId`] has no constructor from a `Uuid`, string, serde or
//!   `Default`. Rows read back are checked against the statement's tenant and their tenant
//!   field is filled from the token, not from the stored value.
//! - **The tenant column is the library's.** Insert forms have no tenant field; updates
//!   cannot assign it; get, update and delete by key all carry the tenant predicate, so
//!   another tenant's row looks missing.
//! - **Cross-tenant work is loud.** [`Admin::new`] takes a `&'static str` reason and each
//!   use reaches the [audit hook](set_audit_hook).
//! - **The tenant is always a bound parameter**: one cached statement per shape serves
//!   every tenant, and values never appear in SQL text.
//!
//! # Features
//!
//! The default is the SQLite core: tables, statements, layouts, accounts and sessions, the
//! job queue. Each feature adds one part:
//!
//! | feature | adds |
//! | --- | --- |
//! | `object-store` | [`TenantStore`] on the local file system and in memory |
//! | `s3` | `TenantStore::s3`: S3, R2 and other S3-compatible buckets, presigned URLs |
//! | `tokio` | [`Async`]: the executors and the auth service for async code |
//! | `axum` | the session middleware and extractors in [`auth`] |
//! | `postgres` | `PgDatabase`: PostgreSQL with row-level security as a second wall |
//! | `smtp`, `http-mail` | `auth::SmtpMailer`, `auth::HttpMailer`: magic links by SMTP, Resend or SendGrid |
//! | `oauth` | `auth::OAuthLogin`: sign-in with Google, GitHub or any OpenID Connect provider |
//! | `live` | `live::ProgressHub`: live job progress per tenant, over a WebSocket with `axum` |
//! | `cli` | `cli::Operator`: the operator command line |

#![warn(missing_docs)]
// On docs.rs, every feature-gated item says which feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
// Docs link to feature-gated items (the object store, the async wrappers); a build without
// those features cannot resolve them. The all-features build (docs.rs, `.ci/run`) checks
// every link with `-D warnings`.
#![cfg_attr(
    not(all(
        feature = "object-store",
        feature = "tokio",
        feature = "postgres",
        feature = "axum",
        feature = "cli",
        feature = "smtp",
        feature = "http-mail",
        feature = "live",
        feature = "oauth"
    )),
    allow(rustdoc::broken_intra_doc_links)
)]

// Layers, imports one way (each module uses only those above it in this list):
//
// - `tenant`, `value`, `error`, `rendered`: the token and capability, SQL values, errors,
//   rendered SQL text;
// - `schema` (declarations, identifier checks, DDL, row decoding) and `registry` (every
//   declaration in the program, checked at open);
// - `query`: statements, plans, rendering and the shape cache, and what every engine needs
//   to run a plan (`query::run`: audit, insert chunking);
// - `tablesql`: the hand-written SQL over declarations, and their comparison with a live
//   database;
// - engines side by side: `db` (SQLite: pool, transactions, executor) and `pg`;
// - `layout`: placement, tenant files, moves, lifecycle;
// - `auth`: accounts and sessions over a database;
// - `jobs`: the crash-safe job queue in a layout's shared database.
//
// `clock` (the one injectable clock, re-exported as `auth::Clock`) depends on nothing.
//
// `keys` depends on `tenant` and `error` only. `__private` re-exports for generated code
// and nothing in the crate imports it.

#[cfg(feature = "tokio")]
mod asynchronous;
pub mod auth;
/// Guides: longer walks through tenantry than the reference pages, each example compiled
/// and run as a doctest.
pub mod guide {
    #[doc = include_str!("../docs/guide-getting-started.md")]
    pub mod getting_started {}
    #[doc = include_str!("../docs/guide-layouts.md")]
    pub mod layouts {}
    #[doc = include_str!("../docs/guide-auth.md")]
    pub mod auth {}
    #[cfg(feature = "object-store")]
    #[doc = include_str!("../docs/guide-object-keys.md")]
    pub mod object_keys {}
    #[cfg(feature = "postgres")]
    #[doc = include_str!("../docs/guide-postgres.md")]
    pub mod postgres {}
    #[doc = include_str!("../docs/guide-operating.md")]
    pub mod operating {}
}
#[cfg(feature = "cli")]
pub mod cli;
mod clock;
mod db;
mod drift;
mod error;
mod hex;
pub mod jobs;
mod keys;
mod layout;
#[cfg(feature = "live")]
pub mod live;
mod migrate;
#[cfg(feature = "postgres")]
mod pg;
mod progress;
mod query;
mod registry;
mod rendered;
mod schema;
mod tablesql;
mod tenant;
mod value;

#[doc(hidden)]
pub mod __private;

/// The tables a statement reads, as types: how tenantry knows at compile time that a
/// condition, an ordering or a projection names only tables of its statement.
///
/// Application code rarely names these. A `Select<S>` carries its source `S`: `From<A>` is
/// [`Tables<A, End>`](source::Tables) and a join of `A` and `B` is `Tables<A, Tables<B, End>>`; a
/// left-joined table appears as [`LeftJoined<B>`](source::LeftJoined). A column of table `T` fits
/// a statement over `S` when `T: InSource<S, I>`, with `I` (its position: [`Head`](source::Head), or
/// [`Tail`](source::Tail) of one) inferred. They appear in compile errors; the error's message says
/// what to do in terms of tables and columns.
pub mod source {
    pub use crate::query::source::{
        Append, As, Elem, End, Head, InSource, Joinable, LeftJoined, Named, Optional, Presence, Read, Required, Source,
        Tables, Tail,
    };
}

/// The names most code needs: `use tenantry::prelude::*;`.
///
/// The derives, the token and the capability, both databases and layouts, the errors, the
/// subquery conditions and self-join aliases. Everything else is at the crate root.
///
/// ```
/// use tenantry::prelude::*;
///
/// #[derive(Table, Debug)]
/// #[table(name = "prelude_doc_notes", owned)]
/// struct Note {
///     #[tenant]
///     user_id: TenantId,
///     #[primary_key]
///     id: i64,
///     title: String,
/// }
///
/// # fn main() -> tenantry::Result<()> {
/// let db = SqliteDatabase::open_in_memory()?;
/// db.create_table::<Note>()?;
/// let me = TenantId::generate();
/// db.execute(Note::insert(&me, NewNote { id: 1, title: "first".into() }))?;
/// assert_eq!(db.fetch_optional(Note::get(&me, 1))?.map(|n| n.title), Some("first".into()));
/// # Ok(()) }
/// ```
pub mod prelude {
    #[cfg(feature = "postgres")]
    pub use crate::PgDatabase;
    pub use crate::{
        Admin, As, Error, Executor, Layout, ObjectKey, OptionalExtension, Projection, Result, SqliteDatabase,
        SqliteTransaction, Table, TenantId, exists, not_exists,
    };
}

#[cfg(feature = "tokio")]
pub use asynchronous::{Async, AsyncExecutor};
pub use db::{Executor, OnDrift, SqliteDatabase, SqliteDatabaseBuilder, SqliteTransaction};
pub use drift::{Drift, DriftKind};
pub use error::{Error, OptionalExtension, Result};
#[cfg(feature = "s3")]
pub use keys::S3Config;
pub use keys::{KeyRule, KeySegment, MAX_KEY_BYTES, MAX_SEGMENT_BYTES, ObjectKey, Segment, TenantKey, TenantPrefix};
#[cfg(feature = "object-store")]
pub use keys::{ObjectInfo, TenantStore};
pub use layout::{
    AuditReport, Finding, FleetReport, Layout, LayoutBuilder, Location, OnBehind, TableMerge, TenantExport,
};
pub use migrate::{MigrationReport, MigrationStep, Migrations};
#[cfg(feature = "postgres")]
pub use pg::{AsyncPgTransaction, PgDatabase, PgTransaction, postgres_schema};
pub use progress::Progress;
pub use query::expr::{
    Column, ComparableWith, Cond, OrderBy, Subquery, SubqueryOf, TenantColumn, TenantPredicateIsImplicit, TextValue,
    exists, not_exists,
};
pub use query::keyset::{Cursor, KeyOrder, Keyset};
pub use query::project::{Columns, FromValues, Grouped, Having, HavingAgg, Projected, Values};
pub use query::select::{Aggregate, Comparable, Get, Numeric, Select};
pub use query::shape::Dialect;
pub use query::source::As;
pub use query::write::{
    Assign, Delete, DeleteBuilder, Insert, OnConflict, RawSql, UnfilteredUpdate, Update, UpdateBuilder,
};
pub use query::{Execute, Fetch, Sql};
pub use registry::{owned_tables, tables};
pub use schema::{ColumnInfo, Global, Owned, Table, TableInfo, UniqueInfo};
pub use tenant::{Admin, AuditAction, AuditEvent, TenantId, set_audit_hook};
pub use value::{ColumnValue, IntoSql, SqlKind, Value};

#[doc = include_str!("../docs/derive-object-key.md")]
pub use tenantry_macros::ObjectKey;
/// A struct that the rows of a projection decode into: its fields, in order, have the
/// types of the projected columns (see [`Projected::into_rows`]).
///
/// ```
/// # use tenantry::{SqliteDatabase, Projection, Table, TenantId};
/// # #[derive(Table, Debug)] #[table(name = "projection_doc", owned)]
/// # struct Project { #[tenant] user_id: TenantId, #[primary_key] id: i64, name: String, secret: String }
/// #[derive(Projection, Debug, PartialEq)]
/// struct Listed {
///     id: i64,
///     name: String,
/// }
/// # fn main() -> tenantry::Result<()> {
/// # let db = SqliteDatabase::open_in_memory()?; db.create_table::<Project>()?; let t = TenantId::generate();
/// db.execute(Project::insert(&t, NewProject { id: 1, name: "Cup final".into(), secret: "x".into() }))?;
/// let q = Project::select(&t).columns((Project::id(), Project::name())).into_rows::<Listed>();
/// assert_eq!(db.fetch_all(q)?, [Listed { id: 1, name: "Cup final".into() }]);
/// # Ok(()) }
/// ```
pub use tenantry_macros::Projection;
#[doc = include_str!("../docs/derive-table.md")]
pub use tenantry_macros::Table;
