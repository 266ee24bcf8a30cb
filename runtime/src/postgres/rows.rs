//! Between Postgres and the store's types: decoding event rows, the integer conversions
//! (a negative value read is an error), and sqlx's errors as [`StoreError`].

use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::types::Json;

use crate::store::{EventPayload, Failure, Metadata, RecordedEvent, StoreError};

/// Columns by index, in [`EVENT_COLUMNS`] order (a name lookup per column per row shows
/// in long reads), and the metadata decoded straight from its bytes.
///
/// [`EVENT_COLUMNS`]: super::sql::EVENT_COLUMNS
pub(super) fn decode_event(row: &PgRow) -> Result<RecordedEvent, StoreError> {
    let Json(metadata): Json<Metadata> = row.try_get(7).map_err(map_err)?;
    let event_version: i32 = row.try_get(5).map_err(map_err)?;
    Ok(RecordedEvent {
        position: to_u64(row.try_get(0).map_err(map_err)?)?,
        event_id: row.try_get(1).map_err(map_err)?,
        stream_id: row.try_get(2).map_err(map_err)?,
        stream_version: to_u64(row.try_get(3).map_err(map_err)?)?,
        event_type: row.try_get(4).map_err(map_err)?,
        event_version: to_version(event_version)?,
        data: row.try_get(6).map_err(map_err)?,
        metadata,
        created_at: row.try_get(8).map_err(map_err)?,
    })
}

/// The columns of [`EventStore::read_stream_payloads`], by index.
///
/// [`EventStore::read_stream_payloads`]: crate::store::EventStore::read_stream_payloads
pub(super) fn decode_payload(row: &PgRow) -> Result<EventPayload, StoreError> {
    let event_version: i32 = row.try_get(2).map_err(map_err)?;
    Ok(EventPayload {
        stream_version: to_u64(row.try_get(0).map_err(map_err)?)?,
        event_type: row.try_get(1).map_err(map_err)?,
        event_version: to_version(event_version)?,
        data: row.try_get(3).map_err(map_err)?,
    })
}

/// Versions and positions are never negative (table checks and a 1-based sequence); one
/// that is (a table edited by hand) is an error, not a silent 0.
pub(super) fn to_u64(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v)
        .map_err(|_| StoreError::backend(format!("negative version or position {v} in the store")))
}

/// [`to_u64`] where sqlx's error is the currency (inside a transaction's closure).
pub(super) fn row_u64(v: i64) -> Result<u64, sqlx::Error> {
    u64::try_from(v).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

/// An event version as stored (an `int`), which the table's check keeps positive.
fn to_version(v: i32) -> Result<u32, StoreError> {
    u32::try_from(v)
        .map_err(|_| StoreError::backend(format!("negative event version {v} in the store")))
}

/// Partitions and attempts are never negative (table checks); one that is is an error.
pub(super) fn to_u32(v: i32) -> Result<u32, StoreError> {
    u32::try_from(v).map_err(|_| {
        StoreError::backend(format!(
            "negative partition or attempt count {v} in the store"
        ))
    })
}

/// A partition as the tables store it (an `int`).
pub(super) fn partition(p: u32) -> i32 {
    i32::try_from(p).unwrap_or(i32::MAX)
}

pub(super) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Lost connections and pool exhaustion are `Unavailable`; everything else is `Backend`.
pub(super) fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => {
            StoreError::Unavailable(Failure::caused_by(e.to_string(), e))
        }
        sqlx::Error::Database(db)
            if db
                .code()
                .is_some_and(|c| c.starts_with("08") || c.starts_with("57")) =>
        {
            StoreError::Unavailable(Failure::caused_by(e.to_string(), e))
        }
        _ => StoreError::Backend(Failure::caused_by(e.to_string(), e)),
    }
}
