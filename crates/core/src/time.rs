//! Time as stored: microseconds since the Unix epoch, UTC; and the node's [`Clock`], the
//! one place that reads the system's time (`clippy.toml` forbids it everywhere else).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A point in time with microsecond precision, the unit of every `*_at` column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// Where the services read the time: the system's clock, or (in tests) one that stands
/// still until it is moved. Every service reaches it through its `Database` handle
/// (`db.clock()`), the web layer and the CLI through `Services::clock`; clones share it.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    manual: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system's clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that shows `at` until [`Clock::advance`] moves it.
    pub fn manual(at: Timestamp) -> Self {
        Self {
            manual: Some(Arc::new(AtomicI64::new(at.0))),
        }
    }

    #[allow(clippy::disallowed_methods)] // the one reading of the system's time
    pub fn now(&self) -> Timestamp {
        match &self.manual {
            Some(at) => Timestamp(at.load(Ordering::SeqCst)),
            None => Timestamp::from_datetime(OffsetDateTime::now_utc()),
        }
    }

    /// Moves a manual clock forward by `by`; the system's clock cannot be moved, and
    /// stays as it is.
    pub fn advance(&self, by: Duration) {
        if let Some(at) = &self.manual {
            let micros = i64::try_from(by.as_micros()).unwrap_or(i64::MAX);
            at.fetch_add(micros, Ordering::SeqCst);
        }
    }
}

impl Timestamp {
    pub const fn from_micros(micros: i64) -> Self {
        Self(micros)
    }

    pub const fn as_micros(self) -> i64 {
        self.0
    }

    pub fn from_datetime(at: OffsetDateTime) -> Self {
        let micros = at.unix_timestamp_nanos() / 1_000;
        Self(i64::try_from(micros).unwrap_or(i64::MAX))
    }

    pub fn to_datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// `self + duration`, saturating.
    pub fn plus(self, duration: Duration) -> Self {
        let micros = i64::try_from(duration.as_micros()).unwrap_or(i64::MAX);
        Self(self.0.saturating_add(micros))
    }

    /// `self - duration`, saturating.
    pub fn minus(self, duration: Duration) -> Self {
        let micros = i64::try_from(duration.as_micros()).unwrap_or(i64::MAX);
        Self(self.0.saturating_sub(micros))
    }

    /// RFC 3339 in UTC with a `Z`, as SCIM's `meta.created` and `meta.lastModified`.
    pub fn to_rfc3339(self) -> String {
        self.to_datetime()
            .format(&Rfc3339)
            .unwrap_or_else(|_| String::from("1970-01-01T00:00:00Z"))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_datetime_and_formats_utc() {
        let at = Timestamp::from_micros(1_700_000_000_123_456);
        assert_eq!(Timestamp::from_datetime(at.to_datetime()), at);
        assert_eq!(at.to_rfc3339(), "2023-11-14T22:13:20.123456Z");
        assert_eq!(
            at.plus(Duration::from_secs(1)).as_micros(),
            1_700_000_001_123_456
        );
    }
}
