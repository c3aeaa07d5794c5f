//! The error type.

/// Everything that can go wrong in tenantry.
///
/// Messages never contain secrets, bound values, or another tenant's identifiers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A fetch expected a row and found none. A row owned by another tenant is reported
    /// exactly like a missing one.
    #[error("no row found")]
    NotFound,
    /// An insert or update collided with an existing row on the primary key or a unique
    /// key. Keys of owned tables include the tenant column, so the other row is always
    /// the same tenant's: a conflict reveals nothing about other tenants.
    #[error("a row of `{table}` with the same key already exists")]
    Conflict {
        /// Table written to.
        table: &'static str,
        /// The engine's constraint error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// No PostgreSQL connection could be had from the pool: the server did not accept one
    /// (down, wrong address or credentials) or every connection stayed busy past the
    /// pool's timeout. The source says which.
    #[cfg(feature = "postgres")]
    #[error("no PostgreSQL connection could be had from the pool")]
    PostgresPool {
        /// The pool's error: the connection error, or the timeout.
        #[source]
        source: deadpool_postgres::PoolError,
    },
    /// The database engine reported an error not covered by a variant of its own; the
    /// message names SQLite's category, the source has the details.
    #[error("database error: {}", sqlite_cause(.0))]
    Sqlite(#[source] rusqlite::Error),
    /// The disk (or the file system's quota) is full (`SQLITE_FULL`): the statement's
    /// transaction wrote nothing.
    #[error("the disk is full; nothing was written")]
    DiskFull {
        /// The engine's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The file is not a SQLite database, or its contents are damaged (`SQLITE_NOTADB`,
    /// `SQLITE_CORRUPT`).
    #[error("the database file is corrupt or is not a database")]
    Corrupt {
        /// The engine's error.
        #[source]
        source: rusqlite::Error,
    },
    /// Another connection kept the database locked past the busy timeout (`SQLITE_BUSY`,
    /// `SQLITE_LOCKED`): retry later, or raise [`busy_timeout`](crate::SqliteDatabaseBuilder::busy_timeout).
    #[error("the database stayed locked by another connection past the busy timeout")]
    Busy {
        /// The engine's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The database cannot be written (`SQLITE_READONLY`): a read-only file, directory or
    /// connection.
    #[error("the database is read-only")]
    ReadOnly {
        /// The engine's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The database file cannot be opened (`SQLITE_CANTOPEN`): a missing directory, a
    /// directory in its place, or no permission.
    #[error("the database file cannot be opened")]
    CannotOpen {
        /// The engine's error.
        #[source]
        source: rusqlite::Error,
    },
    /// A stored value did not decode into the declared Rust type.
    #[error("column `{table}.{column}` holds a value that is not a valid {expected}")]
    Decode {
        /// Table of the column.
        table: &'static str,
        /// Column that failed to decode.
        column: &'static str,
        /// What the column was declared as.
        expected: &'static str,
    },
    /// A row came back whose tenant column does not match the statement's tenant. This
    /// means the database was changed behind tenantry's back; the row is withheld.
    #[error("a row of `{table}` carries a different tenant than the statement; it was withheld")]
    TenantMismatch {
        /// Table of the row.
        table: &'static str,
    },
    /// A tenant-scoped statement named a table without a tenant column. The typed API does
    /// not allow it; this is reported when a sealed trait was implemented by hand.
    #[error("table `{table}` has no tenant column and cannot appear in a tenant-scoped statement")]
    NotOwned {
        /// The table.
        table: &'static str,
    },
    /// A statement tried to assign a tenant column. Ownership changes only through an
    /// explicit transfer; the typed API does not allow it.
    #[error("the tenant column of `{table}` cannot be assigned")]
    TenantColumnAssigned {
        /// The table.
        table: &'static str,
    },
    /// Two table declarations in this program name the same SQL table (names compare
    /// without case, as SQLite does). A second declaration could move the tenant column.
    #[error("table `{table}` is declared more than once in this program")]
    DuplicateTable {
        /// The table.
        table: &'static str,
    },
    /// A declaration names one of the library's own tables (`users`, `sessions`,
    /// `login_tokens`, `auth_rate_limits`) or uses a reserved prefix (`tenantry_`,
    /// `sqlite_`): declaring them could move their tenant column.
    #[error("table `{table}` is reserved for tenantry's own use and cannot be declared")]
    ReservedTable {
        /// The table.
        table: &'static str,
    },
    /// A declaration is not valid on its own: a name that is not a plain SQL identifier,
    /// a key out of range, a tenant column of the wrong type. Only hand-written
    /// declarations (hidden API) can get here; the derive refuses them at compile time.
    #[error("the declaration of table `{table}` is invalid: {why}")]
    InvalidDeclaration {
        /// The table, as declared.
        table: &'static str,
        /// What is wrong.
        why: &'static str,
    },
    /// A statement names a table whose declaration is not in the registry: a hand-written
    /// `Table` impl (hidden API) that skipped `#[derive(Table)]` and with it every check
    /// made on declarations. Refused before any SQL is written.
    #[error("table `{table}` is not declared with `#[derive(Table)]`; statements accept only registered declarations")]
    UnregisteredTable {
        /// The table, as the declaration names it.
        table: &'static str,
    },
    /// A declared owned table disagrees with the live database where it matters for
    /// isolation (the tenant column, the keys it leads); the database refuses to open.
    #[error("table `{table}` in the database does not match its declaration: {why}")]
    SchemaMismatch {
        /// The table.
        table: &'static str,
        /// What differs.
        why: &'static str,
    },
    /// A declared table in the database differs from its declaration (a field added
    /// without a migration, say); the database refuses to open
    /// ([`OnDrift`](crate::OnDrift)). Each difference reads as a sentence, with the
    /// migration for a plain additive change.
    #[error("the database does not match the declarations:{}", list_drift(.drift))]
    SchemaDrift {
        /// Every difference found.
        drift: Vec<crate::Drift>,
    },
    /// An object key or key segment broke a rule; the message names the rule, never the
    /// key (which may come from another tenant or from an attacker).
    #[error("invalid object key: {rule}")]
    InvalidKey {
        /// The rule that was broken.
        rule: KeyRule,
    },
    /// `put_new` found an object already at the key.
    #[error("an object already exists at this key")]
    ObjectExists,
    /// The object store reported an error.
    #[cfg(feature = "object-store")]
    #[error("object store error")]
    ObjectStore(#[source] object_store::Error),
    /// An email address is not of the form `local@domain`.
    #[error("not a valid email address")]
    InvalidEmail,
    /// Too many magic-link requests for this email or from this caller; try later.
    #[error("too many requests; try again later")]
    RateLimited,
    /// A magic-link token is not a live, unused link (unknown, expired, already used,
    /// malformed: deliberately not said which).
    #[error("this sign-in link is not valid")]
    InvalidLink,
    /// The user already has a different Stripe customer linked.
    #[error("a different Stripe customer is already linked to this user")]
    StripeAlreadyLinked,
    /// The Stripe customer is already linked to another user.
    #[error("this Stripe customer is already linked to another user")]
    StripeCustomerTaken,
    /// The mailer could not send a magic link (the link was stored and can be sent again).
    #[error("could not send the sign-in email")]
    Mail(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A mailer's settings or the mail template cannot work (a template without the link,
    /// an SMTP server name that is not one, an API base URL that does not parse...).
    #[error("invalid mail settings: {why}")]
    MailSettings {
        /// What is wrong.
        why: &'static str,
    },
    /// An OAuth provider's settings cannot work (two providers with one name, a URL that
    /// does not parse).
    #[error("invalid OAuth settings: {why}")]
    OAuthSettings {
        /// What is wrong.
        why: &'static str,
    },
    /// An OAuth sign-in was refused, and nobody signed in: a `state` unknown, used,
    /// expired or another provider's; a code the provider refused; an ID token that does
    /// not verify (signature, issuer, audience, expiry, nonce); an address the provider
    /// has not verified.
    #[error("sign-in refused: {why}")]
    OAuthRefused {
        /// Why, in general terms (never a token or an address).
        why: &'static str,
    },
    /// The tenant already has the most live progress subscriptions allowed
    /// ([`ProgressHubBuilder::max_subscribers`](crate::live::ProgressHubBuilder::max_subscribers)).
    #[error("too many live progress subscriptions for this tenant; close one first")]
    TooManySubscribers,
    /// The operating system's random source failed.
    #[error("no secure randomness available")]
    Randomness,
    /// A statement mixes a table kept in the shared database with one kept per tenant, or
    /// a cross-tenant statement names a per-tenant table. Such a statement has no single
    /// database to run on.
    #[error("`{shared}` is in the shared database but `{per_tenant}` is per tenant: no one database holds both")]
    Placement {
        /// The shared table (or a description of the statement).
        shared: &'static str,
        /// The per-tenant table.
        per_tenant: &'static str,
    },
    /// A tenant's database is at another schema version than this build's: older, and the
    /// layout refuses to serve it until a fleet migration brings it up to date; or newer,
    /// written by a later build.
    #[error("the tenant's database is at schema version {have}; this build needs {want}")]
    TenantBehind {
        /// The database's version.
        have: u32,
        /// The version this build needs.
        want: u32,
    },
    /// PostgreSQL reported an error.
    #[cfg(feature = "postgres")]
    #[error("postgres error")]
    Postgres(#[source] tokio_postgres::Error),
    /// Row-level security would not bind the connection's role.
    #[error("row-level security is not enforced: {why}{}", table.map(|t| format!(" (table `{t}`)")).unwrap_or_default())]
    RlsBypassed {
        /// Why, and what to change where the fix is not obvious.
        why: &'static str,
        /// The table, when one table is the problem.
        table: Option<&'static str>,
    },
    /// sea-query could not render a statement.
    #[error("could not render a statement")]
    Render(#[source] sea_query::error::Error),
    /// All pooled connections stayed busy for longer than the configured wait.
    #[error("timed out after {waited_ms} ms waiting for a pooled connection")]
    PoolTimeout {
        /// How long the caller waited.
        waited_ms: u64,
    },
    /// A row of an owned table has more columns than one statement may bind (SQLite and
    /// D1 bind at most 100 parameters).
    #[error("a row of `{table}` has more columns than one statement may bind")]
    TooManyColumns {
        /// The table.
        table: &'static str,
    },
    /// A statement names a column outside its table's declaration: only a hand-written
    /// column reference (hidden API) can.
    #[error("a statement names a column outside the declaration of `{table}`")]
    InvalidColumn {
        /// The table.
        table: &'static str,
    },
    /// A statement went to a call that runs another kind (a query to `execute`, a write to
    /// a `fetch_*`): the types prevent it, so reaching this is a bug in tenantry.
    #[error("internal error: {why}")]
    Internal {
        /// What went wrong.
        why: &'static str,
    },
    /// A PostgreSQL transaction for one tenant was given another tenant's statement, or a
    /// cross-tenant one: its row-level-security setting is its own tenant's.
    #[error("a transaction runs statements of its own tenant only")]
    ForeignStatement,
    /// A cross-tenant statement needs the admin connection, and none was configured
    /// (`PgDatabase::with_admin`).
    #[error("no admin connection is configured for cross-tenant statements")]
    NoAdminConnection,
    /// A tenant's own database file is missing or empty, but the shared database records
    /// that it was created (it was deleted or truncated outside tenantry); or the file at
    /// the tenant's path records another tenant as its owner (copied or moved there). Nothing is served
    /// from it (serving it would show the tenant an empty account); restore the file from
    /// a backup, or delete the tenant.
    #[error(
        "the tenant's database file is missing, empty or another tenant's, though it was created before; nothing was served"
    )]
    TenantFileLost,
    /// The tenant's database file is retired: a [`move_tenant`](crate::Layout::move_tenant)
    /// out of it or a [`delete_tenant`](crate::Layout::delete_tenant) began and did not
    /// finish (the process was killed, or it is running now in another process). Nothing
    /// was read or written; the rows are kept. Run the same move or deletion again to
    /// finish it.
    #[error("the tenant's database file is being moved or deleted (an interrupted move or deletion: run it again)")]
    TenantMoving,
    /// An upsert's conflict columns are not the primary key or a declared unique key of
    /// the table that leads with the tenant (`#[unique(global)]` keys cannot be upserted
    /// on: the conflicting row could be another tenant's).
    #[error("`{table}` has no per-tenant unique key on the upsert's conflict columns")]
    NoSuchUniqueKey {
        /// The table.
        table: &'static str,
    },
    /// An owned table cannot be distributed by its tenant column on Citus
    /// ([`TableInfo::citus_distribution`](crate::TableInfo::citus_distribution)): it has a
    /// `#[unique(global)]` key, and Citus enforces uniqueness only on keys that include the
    /// distribution column.
    #[error(
        "`{table}` cannot be distributed by tenant on Citus: its #[unique(global)] key does not include the \
         tenant column; make the key per tenant (#[unique]) or keep it in a global table"
    )]
    NotDistributable {
        /// The table.
        table: &'static str,
    },
    /// A keyset cannot page this query (see `Select::keyset`).
    #[error("cannot page `{table}` by this keyset: {why}")]
    InvalidKeyset {
        /// The query's first table.
        table: &'static str,
        /// What is wrong.
        why: &'static str,
    },
    /// A pagination cursor that this keyset did not make: from another query, another
    /// tenant, or altered.
    #[error("this page cursor is not one this query issued: malformed, altered, or from another query or tenant")]
    InvalidCursor,
    /// A move between the shared database and a tenant's file was asked of a layout with
    /// no per-tenant databases.
    #[error("this layout has no per-tenant databases")]
    NoTenantDatabases,
    /// The copy of a tenant's rows did not match the source (count or checksum), so the
    /// move did not switch the tenant's location; the source is intact and a rerun retries.
    #[error("the copied rows do not match the source; the move was not completed")]
    MoveMismatch,
    /// A file-system operation on a tenant's database or the tenants' directory failed.
    #[error("could not {what}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// An export given to `import_tenant` has a line that does not fit its table; nothing
    /// was imported.
    #[error("import of `{table}`, line {line}: {why}")]
    InvalidImport {
        /// The declared table the line is for.
        table: &'static str,
        /// The line's number within that table's lines, from 1.
        line: usize,
        /// What is wrong with it.
        why: &'static str,
    },
    /// An export given to `import_tenant` names a table this program does not declare as
    /// owned; nothing was imported.
    #[error("the export names a table this program does not declare as owned; nothing was imported")]
    ImportUnknownTable,
    /// Migrations must be numbered from 2 (1 creates the declared tables), each version
    /// once.
    #[error("migrations must be numbered from 2 (version 1 creates the declared tables), each version once")]
    InvalidMigrations,
    /// A migration recorded as applied has different SQL in this build. Nothing was run:
    /// a released migration is never edited; add a new one instead.
    #[error("migration {version} ({name}) of `{scope}` was edited after it was applied: add a new migration instead")]
    MigrationEdited {
        /// `app` (the application's shared database or PostgreSQL schema), `tenant` (a
        /// tenant's own file) or `tenantry.auth` (the account tables).
        scope: &'static str,
        /// Its version.
        version: u32,
        /// Its name.
        name: &'static str,
    },
    /// The database records a migration this build does not know: a newer build migrated
    /// it. Nothing was run.
    #[error(
        "the database has migration {version} of `{scope}` applied, which this build does not know: a newer build migrated it"
    )]
    SchemaNewer {
        /// See [`MigrationEdited`](Self::MigrationEdited).
        scope: &'static str,
        /// The unknown version.
        version: u32,
    },
    /// A registered migration is not applied but a later one is: databases migrated
    /// since would never get it. Give it a version after the latest. Nothing was run.
    #[error("migration {version} of `{scope}` is not applied but {latest} is: give it a version after {latest}")]
    MigrationOutOfOrder {
        /// See [`MigrationEdited`](Self::MigrationEdited).
        scope: &'static str,
        /// The migration not applied.
        version: u32,
        /// The latest one applied.
        latest: u32,
    },
    /// A migration failed and was rolled back; the ones before it stay applied.
    #[error("migration {version} ({name}) of `{scope}` failed and was rolled back")]
    MigrationFailed {
        /// See [`MigrationEdited`](Self::MigrationEdited).
        scope: &'static str,
        /// Its version.
        version: u32,
        /// Its name.
        name: &'static str,
        /// Why.
        #[source]
        source: Box<Error>,
    },
    /// A Stripe customer id that is empty, longer than 255 bytes or has control characters.
    #[error("not a valid Stripe customer id")]
    InvalidStripeCustomer,
    /// A statement inside a transaction failed and the caller carried on, but the engine
    /// had already given up on the transaction (PostgreSQL aborts it at the first failed
    /// statement and turns `COMMIT` into a rollback). Nothing of the transaction was kept;
    /// reported so that it is never mistaken for a commit.
    #[error("a statement failed inside the transaction, so the whole transaction was rolled back")]
    TransactionAborted,
    /// A worker's claim on a job no longer holds the job's lease: the lease ended and
    /// another claim took the job over, or the job was requeued or deleted. Nothing was
    /// written; the job is the other claim's (or the queue's) now.
    #[error("this claim no longer holds the job's lease; nothing was written")]
    LeaseLost,
    /// A job or claim was asked for with options that cannot work: zero attempts, a nil
    /// id, a zero lease.
    #[error("invalid job options: {why}")]
    InvalidJob {
        /// What is wrong.
        why: &'static str,
    },
}

impl Error {
    /// The HTTP status a web service answers this error with: `404` for
    /// [`NotFound`](Error::NotFound) (which is also what another tenant's row looks like);
    /// `400` for input the caller sent ([`InvalidKey`](Error::InvalidKey),
    /// [`InvalidCursor`](Error::InvalidCursor), an invalid email, link, import or Stripe
    /// customer); `403` for a refused OAuth sign-in; `409` for a conflict (a key, an
    /// object, a Stripe link); `429` for a rate limit; `503` for a database that stayed
    /// busy, a pool that stayed full, or a tenant being moved (retry later); `500` for
    /// everything else.
    ///
    /// ```
    /// assert_eq!(tenantry::Error::NotFound.http_status(), 404);
    /// assert_eq!(tenantry::Error::InvalidCursor.http_status(), 400);
    /// assert_eq!(tenantry::Error::RateLimited.http_status(), 429);
    /// ```
    pub fn http_status(&self) -> u16 {
        match self {
            Error::NotFound => 404,
            Error::InvalidKey { .. }
            | Error::InvalidCursor
            | Error::InvalidEmail
            | Error::InvalidLink
            | Error::InvalidImport { .. }
            | Error::ImportUnknownTable
            | Error::InvalidStripeCustomer => 400,
            Error::OAuthRefused { .. } => 403,
            Error::Conflict { .. } | Error::ObjectExists | Error::StripeAlreadyLinked | Error::StripeCustomerTaken => {
                409
            }
            Error::RateLimited | Error::TooManySubscribers => 429,
            Error::Busy { .. } | Error::PoolTimeout { .. } | Error::TenantMoving => 503,
            #[cfg(feature = "postgres")]
            Error::PostgresPool { .. } => 503,
            _ => 500,
        }
    }
}

/// With feature `axum`, a handler can return `tenantry::Result<T>`: the status is
/// [`Error::http_status`]; a `4xx` body is the error's message (which names the rule
/// broken, never the input or another tenant's id), a `5xx` body only the status's reason,
/// so no database detail reaches the client (log the error first where you need it).
#[cfg(feature = "axum")]
impl axum::response::IntoResponse for Error {
    fn into_response(self) -> axum::response::Response {
        let status = axum::http::StatusCode::from_u16(self.http_status())
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_client_error() {
            (status, format!("{self}\n")).into_response()
        } else {
            (status, format!("{}\n", status.canonical_reason().unwrap_or("error"))).into_response()
        }
    }
}

impl From<rusqlite::Error> for Error {
    /// Sorts SQLite's error into the variant a caller may act on; the rest stay
    /// [`Error::Sqlite`].
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        match e.sqlite_error_code() {
            Some(C::DiskFull) => Error::DiskFull { source: e },
            Some(C::NotADatabase | C::DatabaseCorrupt) => Error::Corrupt { source: e },
            Some(C::DatabaseBusy | C::DatabaseLocked) => Error::Busy { source: e },
            Some(C::ReadOnly) => Error::ReadOnly { source: e },
            Some(C::CannotOpen) => Error::CannotOpen { source: e },
            _ => Error::Sqlite(e),
        }
    }
}

/// The category of a SQLite error, for [`Error::Sqlite`]'s message (never its text,
/// which can quote SQL or values).
fn sqlite_cause(e: &rusqlite::Error) -> &'static str {
    use rusqlite::ErrorCode as C;
    match e.sqlite_error_code() {
        Some(C::ConstraintViolation) => "a constraint failed",
        Some(C::AuthorizationForStatementDenied) => "the statement is not allowed on tenantry's connections",
        Some(C::TooBig) => "a value or statement is too big",
        Some(C::SystemIoFailure) => "an I/O error",
        Some(C::SchemaChanged) => "the schema changed",
        Some(C::TypeMismatch) => "a value has the wrong type",
        Some(C::OutOfMemory) => "out of memory",
        Some(C::OperationInterrupted) => "the statement was interrupted",
        Some(C::ParameterOutOfRange) => "a parameter is out of range",
        Some(_) => "the engine refused the statement",
        None => match e {
            rusqlite::Error::InvalidColumnType(..) | rusqlite::Error::FromSqlConversionFailure(..) => {
                "a stored value has an unexpected type"
            }
            rusqlite::Error::InvalidParameterCount(..) => "a statement has the wrong number of parameters",
            _ => "the driver reported an error",
        },
    }
}

/// Which rule a key or segment broke. Errors name the rule, never the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyRule {
    /// A segment is empty.
    Empty,
    /// A segment is `.` or `..`.
    DotSegment,
    /// A segment contains `/` or `\`.
    Separator,
    /// A segment contains a control character (NUL, newline, DEL, C1 controls...).
    Control,
    /// A segment contains `%`, which would let one key be written two ways.
    Percent,
    /// A segment contains an invisible or direction-changing character (zero-width,
    /// bidi controls, byte-order mark).
    Invisible,
    /// A segment contains a character that S3 advises against in keys, or `+` (S3 event
    /// notifications encode a space as `+`, so a key with either would be ambiguous there):
    /// `{ } [ ] < > ^ ~ # | * ? " + ` + "`".
    Reserved,
    /// A segment is not in Unicode normalization form C (NFC).
    NotNfc,
    /// A segment is longer than 240 bytes.
    SegmentTooLong,
    /// The key is longer than 1,024 bytes.
    TooLong,
    /// The key belongs to another tenant.
    ForeignTenant,
    /// The key does not match the expected template.
    TemplateMismatch,
    /// The key is not under the expected prefix.
    OutsidePrefix,
    /// A local store's root lies inside a tenant's prefix: a directory of it is named by
    /// a UUID.
    RootInsideTenant,
}

impl std::fmt::Display for KeyRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KeyRule::Empty => "a segment is empty",
            KeyRule::DotSegment => "a segment is `.` or `..`",
            KeyRule::Separator => "a segment contains `/` or `\\`",
            KeyRule::Control => "a segment contains a control character",
            KeyRule::Percent => "a segment contains `%`",
            KeyRule::Invisible => "a segment contains an invisible or bidirectional-control character",
            KeyRule::Reserved => "a segment contains a character reserved in object keys",
            KeyRule::NotNfc => "a segment is not in Unicode NFC form",
            KeyRule::SegmentTooLong => "a segment is longer than 240 bytes",
            KeyRule::TooLong => "the key is longer than 1024 bytes",
            KeyRule::ForeignTenant => "the key does not belong to this tenant",
            KeyRule::TemplateMismatch => "the key does not match the expected template",
            KeyRule::OutsidePrefix => "the key is not under the expected prefix",
            KeyRule::RootInsideTenant => {
                "a store's root cannot be inside a tenant's prefix (a directory named by a UUID)"
            }
        })
    }
}

/// `Result` with tenantry's [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Turns "not found" into `Ok(None)`, like rusqlite's `OptionalExtension`.
///
/// ```
/// use tenantry::{Error, OptionalExtension};
/// let missing: tenantry::Result<u8> = Err(Error::NotFound);
/// assert_eq!(missing.optional().unwrap(), None);
/// ```
pub trait OptionalExtension<T> {
    /// `Ok(Some(v))` for a value, `Ok(None)` for [`Error::NotFound`], other errors unchanged.
    fn optional(self) -> Result<Option<T>>;
}

impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(Error::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

fn list_drift(drift: &[crate::Drift]) -> String {
    drift.iter().map(|d| format!("\n  {d}")).collect()
}
