//! [`EventStore`] for [`PostgresStore`]: reading a stream (whole events or payloads),
//! `read_all` behind the safe position, finding a command's events, and snapshots; the
//! appends hand over to `append.rs`.

use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use super::PostgresStore;
use super::append::CommandRecord;
use super::rows::{decode_event, decode_payload, map_err, to_i64, to_u64};
use super::sql::EVENT_COLUMNS;
use crate::store::{
    AppendOutcome, EventPayload, EventStore, ExpectedVersion, NewEvent, RecordedEvent, Snapshot,
    StoreError,
};

impl PostgresStore {
    /// One page of a stream: `sql` takes the stream id, the first version and the limit,
    /// and `decode` turns each row into what the caller reads.
    async fn stream_page<T>(
        &self,
        sql: &str,
        stream_id: &str,
        from_version: u64,
        limit: usize,
        decode: fn(&PgRow) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.count(1);
        let rows = sqlx::query(sql)
            .bind(stream_id)
            .bind(to_i64(from_version))
            .bind(to_i64(limit as u64))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(decode).collect()
    }
}

impl EventStore for PostgresStore {
    /// An empty batch writes no event but still checks `expected` (a mismatch is a
    /// conflict) and records the command id, so a retry is answered `Duplicate(vec![])`.
    async fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        command_id: Option<Uuid>,
    ) -> Result<AppendOutcome, StoreError> {
        let command = command_id.map_or(CommandRecord::None, CommandRecord::Given);
        let outcome = self
            .append_retrying(stream_id, expected, &events, command)
            .await;
        self.woken(&outcome);
        outcome
    }

    /// A one-event append skips the duplicate probes (`APPEND_NEW_SQL`); a grouped or
    /// bigger one runs the same statement as [`EventStore::append`].
    async fn append_new_command(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
        command_id: Uuid,
    ) -> Result<AppendOutcome, StoreError> {
        let outcome = self
            .append_retrying(stream_id, expected, &events, CommandRecord::New(command_id))
            .await;
        self.woken(&outcome);
        outcome
    }

    async fn read_stream(
        &self,
        stream_id: &str,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND stream_version >= $2 \
             ORDER BY stream_version LIMIT $3"
        );
        self.stream_page(&sql, stream_id, from_version, limit, decode_event)
            .await
    }

    /// Four columns instead of nine: no ids, metadata or timestamps to send and decode.
    async fn read_stream_payloads(
        &self,
        stream_id: &str,
        from_version: u64,
        limit: usize,
    ) -> Result<Vec<EventPayload>, StoreError> {
        self.stream_page(
            "SELECT stream_version, event_type, event_version, data FROM events \
             WHERE stream_id = $1 AND stream_version >= $2 ORDER BY stream_version LIMIT $3",
            stream_id,
            from_version,
            limit,
            decode_payload,
        )
        .await
    }

    async fn read_all(
        &self,
        from_position: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Its own statement: the exclusive lock it waits for is released when it ends.
        self.count(1);
        let safe: i64 = sqlx::query_scalar("SELECT safe_position()")
            .fetch_one(&self.pool)
            .await
            .map_err(map_err)?;
        if to_u64(safe)? < from_position {
            return Ok(Vec::new());
        }
        self.count(1);
        let rows = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE position >= $1 AND position <= $2 \
             ORDER BY position LIMIT $3"
        ))
        .bind(to_i64(from_position))
        .bind(safe)
        .bind(to_i64(limit as u64))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(decode_event).collect()
    }

    async fn stream_version(&self, stream_id: &str) -> Result<u64, StoreError> {
        self.count(1);
        let v: i64 = sqlx::query_scalar(
            "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1",
        )
        .bind(stream_id)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        to_u64(v)
    }

    async fn find_command(
        &self,
        command_id: Uuid,
    ) -> Result<Option<Vec<RecordedEvent>>, StoreError> {
        self.count(1);
        // A command's events start at the event carrying its id; a command that wrote
        // nothing has a `commands` row instead (one row with null event columns).
        let rows = sqlx::query(
            "SELECT e.position, e.event_id, e.stream_id, e.stream_version, e.event_type, \
                    e.event_version, e.data, e.metadata, e.created_at \
             FROM events f JOIN events e ON e.stream_id = f.stream_id \
                  AND e.stream_version >= f.stream_version \
                  AND e.stream_version < f.stream_version + f.command_events \
             WHERE f.command_id = $1 \
             UNION ALL \
             SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL \
             FROM commands c WHERE c.command_id = $1 \
             ORDER BY 4",
        )
        .bind(command_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        if rows.is_empty() {
            return Ok(None);
        }
        let mut events = Vec::with_capacity(rows.len());
        for row in &rows {
            let position: Option<i64> = row.try_get("position").map_err(map_err)?;
            if position.is_some() {
                events.push(decode_event(row)?);
            }
        }
        Ok(Some(events))
    }

    async fn save_snapshot(&self, snapshot: Snapshot) -> Result<(), StoreError> {
        self.count(1);
        sqlx::query(
            "INSERT INTO snapshots (stream_id, version, state_hash, state) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, \
             state_hash = EXCLUDED.state_hash, state = EXCLUDED.state, created_at = now() \
             WHERE snapshots.version <= EXCLUDED.version \
             OR snapshots.state_hash <> EXCLUDED.state_hash",
        )
        .bind(&snapshot.stream_id)
        .bind(to_i64(snapshot.version))
        .bind(&snapshot.state_hash)
        .bind(&snapshot.state)
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn load_snapshot(&self, stream_id: &str) -> Result<Option<Snapshot>, StoreError> {
        self.count(1);
        let row = sqlx::query(
            "SELECT stream_id, version, state_hash, state FROM snapshots WHERE stream_id = $1",
        )
        .bind(stream_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(|row| {
            Ok(Snapshot {
                stream_id: row.try_get("stream_id").map_err(map_err)?,
                version: to_u64(row.try_get("version").map_err(map_err)?)?,
                state_hash: row.try_get("state_hash").map_err(map_err)?,
                state: row.try_get("state").map_err(map_err)?,
            })
        })
        .transpose()
    }
}
