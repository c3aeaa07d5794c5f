//! Time, injectable for tests, written as the seed writes it: `YYYY-MM-DD HH:MM:SS` UTC,
//! SQLite's `datetime('now')` form, which sorts as text in time order.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where the auth layer reads the time. The default is the system clock; tests inject a
/// fixed or stepping clock to probe expiry at its boundary.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// `t` as `YYYY-MM-DD HH:MM:SS` in UTC (SQLite's `datetime('now')` form, which the seed
/// uses for every timestamp); times before 1970 are written as the epoch.
pub fn timestamp(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs();
    let dt = time::OffsetDateTime::from_unix_timestamp(i64::try_from(secs).unwrap_or(i64::MAX))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_match_sqlite_datetime() {
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01 00:00:00");
        assert_eq!(timestamp(UNIX_EPOCH + Duration::from_secs(1_764_237_599)), "2025-11-27 09:59:59");
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let sqlite: String = conn.query_row("SELECT datetime(1764237599, 'unixepoch')", [], |r| r.get(0)).unwrap();
        assert_eq!(sqlite, "2025-11-27 09:59:59");
    }
}
