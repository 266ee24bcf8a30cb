//! Appending: one attempt per statement (grouped, one-event or batch), the retries, and
//! reading a conflict, a duplicate or a lost race out of the database's error.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::Row;
use uuid::Uuid;

use super::rows::{map_err, row_u64, to_u64};
use super::sql::{APPEND_NEW_SQL, APPEND_ONE_SQL, APPEND_SQL};
use super::{PostgresStore, group};
use crate::store::{
    AppendOutcome, EventStore, ExpectedVersion, Metadata, NewEvent, RecordedEvent, StoreError,
};

/// The command id an append records, and whether the append looks it up first.
#[derive(Debug, Clone, Copy)]
pub(super) enum CommandRecord {
    None,
    /// A caller's id: it may be a retry, so it is looked up before the version is checked.
    Given(Uuid),
    /// An id made for this dispatch ([`EventStore::append_new_command`]): only recorded.
    New(Uuid),
}

impl CommandRecord {
    fn id(self) -> Option<Uuid> {
        match self {
            CommandRecord::None => None,
            CommandRecord::Given(id) | CommandRecord::New(id) => Some(id),
        }
    }
}

/// SQLSTATE raised by `version_conflict()`; its DETAIL is the actual version.
const CONFLICT_STATE: &str = "ES409";

/// The unique index a racing append of the same stream version trips.
const STREAM_VERSION_KEY: &str = "events_stream_version_key";

/// The unique index on the command id recorded on a command's first event: violated by a
/// twin of a command that committed while we waited on it.
const COMMAND_ID_KEY: &str = "events_command_id_key";

/// How often an `ExpectedVersion::Any` append is retried after losing a race for the same
/// version: each loss means another append committed, so the store as a whole progresses.
const ANY_RETRIES: usize = 100;

impl PostgresStore {
    /// Wakes readers after a committed append.
    pub(super) fn woken(&self, outcome: &Result<AppendOutcome, StoreError>) {
        if let Ok(AppendOutcome::Appended(events)) = outcome
            && let Some(last) = events.last()
        {
            self.wake.appended(last.position);
        }
    }

    /// [`PostgresStore::append_once`] until it has an answer. `None` from it: a duplicate
    /// whose first append vanished (rolled back) between the two statements, or an `Any`
    /// append that lost a race for its version; both retry.
    pub(super) async fn append_retrying(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: &[NewEvent],
        command: CommandRecord,
    ) -> Result<AppendOutcome, StoreError> {
        for _ in 0..ANY_RETRIES {
            if let Some(outcome) = self
                .append_once(stream_id, expected, events, command)
                .await?
            {
                return Ok(outcome);
            }
        }
        let command_id = command.id();
        Err(StoreError::backend(format!(
            "append to `{stream_id}` (command id {command_id:?}) kept losing races after \
             {ANY_RETRIES} attempts"
        )))
    }

    /// One attempt.
    async fn append_once(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: &[NewEvent],
        command: CommandRecord,
    ) -> Result<Option<AppendOutcome>, StoreError> {
        let command_id = command.id();
        let expected_sql: i64 = match expected {
            ExpectedVersion::Any => -1,
            ExpectedVersion::NoStream => 0,
            ExpectedVersion::Exactly(v) => i64::try_from(v)
                .map_err(|_| StoreError::backend(format!("expected version {v} out of range")))?,
        };
        let appended = match events {
            [one] => match self
                .group_append(stream_id, expected_sql, one, command_id)
                .await
            {
                Ok(Some(group::Turn::Alone(slot))) => {
                    let appended = self.append_one(stream_id, expected_sql, one, command).await;
                    drop(slot);
                    appended
                }
                Ok(Some(group::Turn::Verdict(reply))) => match reply {
                    group::Reply::Conflict(actual) => {
                        return Err(StoreError::Conflict {
                            stream_id: stream_id.to_string(),
                            expected,
                            actual,
                        });
                    }
                    group::Reply::Failed(e) => return Err(e),
                    group::Reply::Appended(appended) => Ok(Some(appended)),
                    group::Reply::Duplicate => Ok(None),
                    group::Reply::Alone => {
                        self.append_one(stream_id, expected_sql, one, command).await
                    }
                },
                // Grouping is off.
                Ok(None) => self.append_one(stream_id, expected_sql, one, command).await,
                Err(e) => Err(e),
            },
            _ => {
                self.append_batch(stream_id, expected_sql, events, command_id)
                    .await
            }
        };
        let appended = match appended {
            Ok(appended) => appended,
            Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some(CONFLICT_STATE) => {
                let actual = db
                    .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                    .and_then(|e| e.detail())
                    .and_then(|d| d.parse::<i64>().ok());
                let actual = match actual {
                    Some(v) => to_u64(v)?,
                    None => self.stream_version(stream_id).await?,
                };
                return Err(StoreError::Conflict {
                    stream_id: stream_id.to_string(),
                    expected,
                    actual,
                });
            }
            Err(sqlx::Error::Database(db)) if db.constraint() == Some(COMMAND_ID_KEY) => {
                // A twin of this command committed while we waited on its index entry.
                let Some(command_id) = command_id else {
                    return Err(StoreError::backend(
                        "command id index tripped without a command id",
                    ));
                };
                return Ok(self
                    .find_command(command_id)
                    .await?
                    .map(AppendOutcome::Duplicate));
            }
            Err(sqlx::Error::Database(db)) if db.constraint() == Some(STREAM_VERSION_KEY) => {
                // A twin of this command may have taken the version first (the stream
                // version index is checked before the command id index): a duplicate.
                if let Some(command_id) = command_id
                    && let Some(previous) = self.find_command(command_id).await?
                {
                    return Ok(Some(AppendOutcome::Duplicate(previous)));
                }
                // Another append took the version we computed and committed while we
                // waited on the index: `Any` tries again on the new head, the others lost.
                if expected == ExpectedVersion::Any {
                    return Ok(None);
                }
                return Err(StoreError::Conflict {
                    stream_id: stream_id.to_string(),
                    expected,
                    actual: self.stream_version(stream_id).await?,
                });
            }
            Err(e) => return Err(map_err(e)),
        };
        match appended {
            Some((first, positions, created_at)) => {
                if positions.len() != events.len() {
                    return Err(StoreError::backend(format!(
                        "append returned {} positions for {} events",
                        positions.len(),
                        events.len()
                    )));
                }
                let recorded = events
                    .iter()
                    .zip(positions)
                    .enumerate()
                    .map(|(i, (e, position))| RecordedEvent {
                        event_id: e.event_id,
                        stream_id: stream_id.to_string(),
                        stream_version: first + i as u64,
                        position,
                        event_type: e.event_type.clone(),
                        event_version: e.event_version,
                        data: e.data.clone(),
                        metadata: e.metadata.clone(),
                        created_at,
                    })
                    .collect();
                Ok(Some(AppendOutcome::Appended(recorded)))
            }
            None => {
                let Some(command_id) = command_id else {
                    return Err(StoreError::backend(
                        "duplicate reported without a command id",
                    ));
                };
                // None: the first append rolled back after we saw it; the caller retries.
                Ok(self
                    .find_command(command_id)
                    .await?
                    .map(AppendOutcome::Duplicate))
            }
        }
    }

    /// One event through the group commit: `None` when grouping is off.
    async fn group_append(
        &self,
        stream_id: &str,
        expected: i64,
        event: &NewEvent,
        command_id: Option<Uuid>,
    ) -> Result<Option<group::Turn>, sqlx::Error> {
        let Some(group) = &self.group else {
            return Ok(None);
        };
        if let Some(slot) = group.try_alone(self) {
            return Ok(Some(group::Turn::Alone(slot)));
        }
        // Refused here, before queueing, so it cannot fail a batch.
        event_version(event)?;
        let request = group::Request {
            stream_id: stream_id.to_string(),
            expected,
            command_id,
            event: event.clone(),
            metadata: metadata_json(&event.metadata)?,
        };
        Ok(Some(group.submit(self, request).await))
    }

    /// One event through [`APPEND_ONE_SQL`], or [`APPEND_NEW_SQL`] when there is no id to
    /// look up: `None` for a duplicate command id, else the first version, the positions
    /// and the commit time.
    async fn append_one(
        &self,
        stream_id: &str,
        expected: i64,
        event: &NewEvent,
        command: CommandRecord,
    ) -> Result<Option<Appended>, sqlx::Error> {
        let metadata = metadata_json(&event.metadata)?;
        self.count(1);
        let sql = match command {
            CommandRecord::Given(_) => APPEND_ONE_SQL,
            CommandRecord::New(_) | CommandRecord::None => APPEND_NEW_SQL,
        };
        let row = sqlx::query(sql)
            .bind(stream_id)
            .bind(expected)
            .bind(command.id())
            .bind(event.event_id)
            .bind(event.event_type.as_str())
            .bind(event_version(event)?)
            .bind(&event.data)
            .bind(metadata)
            .bind(event.metadata.causation_id)
            .bind(event.metadata.correlation_id)
            .bind(self.all_lock_key)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let position: i64 = row.try_get("position")?;
        let version: i64 = row.try_get("stream_version")?;
        let created_at: DateTime<Utc> = row.try_get("created_at")?;
        Ok(Some((
            row_u64(version)?,
            vec![row_u64(position)?],
            created_at,
        )))
    }

    /// Any other batch (also an empty one) through [`APPEND_SQL`].
    async fn append_batch(
        &self,
        stream_id: &str,
        expected: i64,
        events: &[NewEvent],
        command_id: Option<Uuid>,
    ) -> Result<Option<Appended>, sqlx::Error> {
        let metadata = events
            .iter()
            .map(|e| metadata_json(&e.metadata))
            .collect::<Result<Vec<_>, _>>()?;
        let mut columns = EventColumns::with_capacity(events.len());
        for (event, metadata) in events.iter().zip(&metadata) {
            columns.push(event, metadata)?;
        }
        self.count(1);
        let query = sqlx::query(APPEND_SQL)
            .bind(stream_id)
            .bind(expected)
            .bind(command_id);
        let row = columns
            .bind(query)
            .bind(self.all_lock_key)
            .fetch_one(&self.pool)
            .await?;
        let kind: i16 = row.try_get("kind")?;
        match kind {
            0 => {
                let head: i64 = row.try_get("actual_version")?;
                let positions: Vec<i64> = row.try_get("positions")?;
                let created_at: DateTime<Utc> = row.try_get("created_at")?;
                Ok(Some((
                    row_u64(head)? + 1,
                    positions
                        .into_iter()
                        .map(row_u64)
                        .collect::<Result<Vec<_>, _>>()?,
                    created_at,
                )))
            }
            1 => Ok(None),
            other => Err(sqlx::Error::Protocol(format!(
                "the append statement returned unknown kind {other}"
            ))),
        }
    }
}

/// What an append wrote: first stream version, positions in version order, commit time.
pub(super) type Appended = (u64, Vec<u64>, DateTime<Utc>);

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// The per-event columns of appended events as parallel arrays, for `unnest`: `$4..$10` of
/// [`APPEND_SQL`] and of the group statement alike.
pub(super) struct EventColumns<'a> {
    ids: Vec<Uuid>,
    types: Vec<&'a str>,
    versions: Vec<i32>,
    data: Vec<&'a Value>,
    metadata: Vec<&'a Value>,
    causation: Vec<Option<Uuid>>,
    correlation: Vec<Option<Uuid>>,
}

impl<'a> EventColumns<'a> {
    pub(super) fn with_capacity(n: usize) -> Self {
        EventColumns {
            ids: Vec::with_capacity(n),
            types: Vec::with_capacity(n),
            versions: Vec::with_capacity(n),
            data: Vec::with_capacity(n),
            metadata: Vec::with_capacity(n),
            causation: Vec::with_capacity(n),
            correlation: Vec::with_capacity(n),
        }
    }

    /// `metadata`: the event's metadata as JSON (see [`metadata_json`]).
    pub(super) fn push(
        &mut self,
        event: &'a NewEvent,
        metadata: &'a Value,
    ) -> Result<(), sqlx::Error> {
        self.ids.push(event.event_id);
        self.types.push(event.event_type.as_str());
        self.versions.push(event_version(event)?);
        self.data.push(&event.data);
        self.metadata.push(metadata);
        self.causation.push(event.metadata.causation_id);
        self.correlation.push(event.metadata.correlation_id);
        Ok(())
    }

    /// Binds the seven arrays, in column order, as the query's next parameters.
    pub(super) fn bind<'q>(&'q self, query: PgQuery<'q>) -> PgQuery<'q> {
        query
            .bind(&self.ids[..])
            .bind(&self.types[..])
            .bind(&self.versions[..])
            .bind(&self.data[..])
            .bind(&self.metadata[..])
            .bind(&self.causation[..])
            .bind(&self.correlation[..])
    }
}

fn metadata_json(metadata: &Metadata) -> Result<Value, sqlx::Error> {
    serde_json::to_value(metadata).map_err(|e| sqlx::Error::Encode(Box::new(e)))
}

fn event_version(event: &NewEvent) -> Result<i32, sqlx::Error> {
    i32::try_from(event.event_version).map_err(|e| sqlx::Error::Encode(Box::new(e)))
}
