//! The current time as the database stores it.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in Unix seconds. A clock before 1970 reads as 0.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
