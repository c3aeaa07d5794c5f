//! The cache of where each tenant lives, dropped whenever the shared database changes.

use std::sync::Mutex;

use rusqlite::Connection;
use rustc_hash::FxHashMap;
use uuid::Uuid;

use crate::db::SqliteDatabase;
use crate::error::Result;
use crate::layout::Location;
use crate::tenant::TenantId;

/// Tenant locations read from the shared database, valid while its `data_version` holds.
pub(crate) struct Locations {
    /// How a change to the shared database is seen.
    watch: Watch,
    state: Mutex<State>,
}

enum Watch {
    /// A connection of its own to the shared database file: `PRAGMA data_version` changes
    /// on a connection when any other connection, in any process, commits a change.
    File(Mutex<Connection>),
    /// An in-memory shared database has one connection, which every change goes through:
    /// its count of changes is the version.
    Memory(SqliteDatabase),
}

#[derive(Default)]
struct State {
    version: i64,
    map: FxHashMap<Uuid, Location>,
}

impl Locations {
    pub(crate) fn new(shared: &SqliteDatabase) -> Result<Self> {
        let watch = match shared.watch_connection()? {
            Some(conn) => Watch::File(Mutex::new(conn)),
            None => Watch::Memory(shared.clone()),
        };
        Ok(Locations { watch, state: Mutex::default() })
    }

    fn version(&self) -> Result<i64> {
        match &self.watch {
            Watch::File(watch) => {
                let conn = watch.lock().unwrap_or_else(|p| p.into_inner());
                Ok(conn.prepare_cached("PRAGMA data_version")?.query_row([], |r| r.get(0))?)
            }
            Watch::Memory(db) => db.with_conn(|c| Ok(i64::try_from(c.total_changes()).unwrap_or(i64::MAX))),
        }
    }

    /// The cached location, if the shared database has not changed since it was read,
    /// and the version it was checked against (for [`remember`](Self::remember)).
    pub(crate) fn get(&self, tenant: &TenantId) -> Result<(Option<Location>, i64)> {
        let version = self.version()?;
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.version != version {
            state.map.clear();
            state.version = version;
            return Ok((None, version));
        }
        Ok((state.map.get(&tenant.as_uuid()).copied(), version))
    }

    /// Caches a location read after [`get`](Self::get) returned `version`, unless the
    /// shared database changed meanwhile (then the answer may be stale: not kept).
    pub(crate) fn remember(&self, tenant: &TenantId, location: Location, version: i64) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.version == version {
            state.map.insert(tenant.as_uuid(), location);
        }
    }

    /// Whether the tenant was last seen in its own file, without asking whether the
    /// shared database changed since: for a statement on an open handle of that file,
    /// which a move out retires first (`Layout::routed`).
    pub(crate) fn cached_own(&self, tenant: &TenantId) -> bool {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).map.get(&tenant.as_uuid()) == Some(&Location::OwnFile)
    }

    pub(crate) fn forget(&self, tenant: &TenantId) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).map.remove(&tenant.as_uuid());
    }
}
