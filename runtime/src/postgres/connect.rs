//! Connecting: [`PostgresOptions`] (the builder), the schema check, creating the schema and
//! running the embedded migrations, and keeping passwords out of error messages.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};

use super::rows::map_err;
use super::{PostgresStore, group, notify};
use crate::store::StoreError;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Grouped append statements running at once, unless chosen: see [`PostgresOptions::group_commit`].
const DEFAULT_GROUP_COMMIT: usize = 2;

/// Connections for the read side's own statements, besides the pool (see
/// `PostgresStore::read_pool`): a process has one reader, one checkpoint writer and one
/// lease keeper, each sending one statement at a time.
pub(crate) const READ_SIDE_CONNECTIONS: u32 = 2;

/// The schema used when none is chosen.
pub const DEFAULT_SCHEMA: &str = "eskema";

/// How to connect: URL, schema, pool size. Made by [`PostgresStore::builder`].
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    url: String,
    schema: String,
    max_connections: u32,
    acquire_timeout: Duration,
    group_commit: usize,
    notify: bool,
}

impl PostgresOptions {
    /// The Postgres schema holding the store's tables (default `eskema`); created if missing.
    /// Must match `[a-z_][a-z0-9_]{0,62}`.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// The pool's size (default 10), for commands and the handlers' own work. A read
    /// side adds 2 connections of its own for its bookkeeping, and one that listens for
    /// other processes' appends.
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// How many grouped append statements may run at once (default 2); 0 turns grouping
    /// off. Concurrent one-event appends to different streams share one statement and one
    /// commit: see "Group commit" in the module docs. Fewer slots make bigger batches, so
    /// fewer commits; more slots let more statements run on the server at once. Which
    /// count gives the most appends per second depends on the server's cores and on how
    /// many tasks append at once.
    pub fn group_commit(mut self, slots: usize) -> Self {
        self.group_commit = slots;
        self
    }

    /// Whether appends made through this store wake readers in other processes with a
    /// notification (default on). It is sent after the append commits, once per burst of
    /// appends, on a connection of its own: appends never wait for it. Off, other
    /// processes find new events by polling.
    pub fn notify(mut self, on: bool) -> Self {
        self.notify = on;
        self
    }

    /// How long a call waits for a pooled connection, and `connect` for the server
    /// (default 10 s).
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Connects, creates the schema if needed and runs the embedded migrations in it.
    ///
    /// An unreachable server is [`StoreError::Unavailable`] naming the URL, password hidden.
    pub async fn connect(self) -> Result<PostgresStore, StoreError> {
        let shown = redact_url(&self.url);
        if !valid_schema(&self.schema) {
            return Err(StoreError::backend(format!(
                "invalid schema name `{}`: use a lower-case identifier ([a-z_][a-z0-9_]*, at most 63 characters)",
                self.schema
            )));
        }
        let hide = |e: &dyn std::fmt::Display| hide_password(&e.to_string(), &self.url);
        let options: PgConnectOptions = self.url.parse().map_err(|e: sqlx::Error| {
            StoreError::unavailable(format!("invalid database URL {shown}: {}", hide(&e)))
        })?;
        let mut options = options.options([
            ("search_path", self.schema.as_str()),
            // See "Generic plans" in the module docs.
            ("plan_cache_mode", "force_generic_plan"),
        ]);
        // Connections show as "eskema" in pg_stat_activity, unless the URL or PGAPPNAME
        // names them (several processes of one app are told apart that way).
        if options.get_application_name().is_none() {
            options = options.application_name("eskema");
        }
        // One direct connection first: an unreachable server fails at once with the real
        // cause (the pool would only report a timeout), and it creates the schema.
        let mut conn = tokio::time::timeout(self.acquire_timeout, options.connect())
            .await
            .map_err(|_| {
                StoreError::unavailable(format!(
                    "cannot connect to {shown}: timed out after {:?}",
                    self.acquire_timeout
                ))
            })?
            .map_err(|e| {
                StoreError::unavailable(format!("cannot connect to {shown}: {}", hide(&e)))
            })?;
        // CREATE SCHEMA IF NOT EXISTS can still fail when two processes race; serialize it.
        let mut tx = conn.begin().await.map_err(map_err)?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('eskema.create_schema', 0))")
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS \"{}\"", self.schema))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        let _ = conn.close().await;

        let sized = |max: u32| {
            PgPoolOptions::new()
                .max_connections(max)
                .min_connections(0)
                .test_before_acquire(false)
                .acquire_timeout(self.acquire_timeout)
        };
        let read_pool = sized(READ_SIDE_CONNECTIONS).connect_lazy_with(options.clone());
        let pool = sized(self.max_connections)
            .connect_with(options)
            .await
            .map_err(|e| {
                StoreError::unavailable(format!("cannot connect to {shown}: {}", hide(&e)))
            })?;

        MIGRATOR.run(&pool).await.map_err(|e| {
            StoreError::backend(format!(
                "migrating schema `{}` at {shown}: {}",
                self.schema,
                hide(&e)
            ))
        })?;
        // Computed once here (it depends only on the schema) and sent with every append.
        let all_lock_key: i64 = sqlx::query_scalar("SELECT all_lock_key()")
            .fetch_one(&pool)
            .await
            .map_err(map_err)?;
        tracing::debug!(url = %shown, schema = %self.schema, "event store ready");
        let wake = notify::Wake::new(&pool, &self.schema, self.notify);
        Ok(PostgresStore {
            wake,
            watermark: Arc::default(),
            progress: Arc::default(),
            pool,
            read_pool,
            schema: self.schema,
            all_lock_key,
            statements: Arc::new(AtomicU64::new(0)),
            group: (self.group_commit > 0)
                .then(|| Arc::new(group::GroupCommit::new(self.group_commit))),
        })
    }
}

impl PostgresStore {
    /// Connects with the defaults: schema `eskema`, 10 connections.
    pub async fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        PostgresStore::builder(url).connect().await
    }

    /// Options for [`PostgresOptions::connect`].
    pub fn builder(url: impl Into<String>) -> PostgresOptions {
        PostgresOptions {
            url: url.into(),
            schema: DEFAULT_SCHEMA.to_string(),
            max_connections: 10,
            acquire_timeout: Duration::from_secs(10),
            group_commit: DEFAULT_GROUP_COMMIT,
            notify: true,
        }
    }
}

fn valid_schema(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z' | '_'))
        && name.len() <= 63
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

/// The URL with its password replaced by `***` (in the user-info part and in a `password=`
/// query parameter), for error messages and logs.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..]
            .find(['/', '?'])
            .map_or(out.len(), |i| rest_start + i);
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo_end = rest_start + at;
            if let Some(colon) = out[rest_start..userinfo_end].find(':') {
                out.replace_range(rest_start + colon + 1..userinfo_end, "***");
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (base, query) = out.split_at(q + 1);
        let query = query
            .split('&')
            .map(|kv| {
                if kv.starts_with("password=") {
                    "password=***".to_string()
                } else {
                    kv.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("&");
        out = format!("{base}{query}");
    }
    out
}

/// Removes the URL's password from a driver message, in case the driver echoed it.
fn hide_password(message: &str, url: &str) -> String {
    let mut out = message.replace(url, &redact_url(url));
    if let Some(password) = password_of(url)
        && !password.is_empty()
    {
        out = out.replace(&password, "***");
    }
    out
}

fn password_of(url: &str) -> Option<String> {
    let rest = &url[url.find("://")? + 3..];
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let userinfo = &authority[..authority.rfind('@')?];
    Some(userinfo[userinfo.find(':')? + 1..].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.example:5432/prod"),
            "postgres://app:***@db.example:5432/prod"
        );
        assert_eq!(
            redact_url("postgres://app@db/prod?sslmode=disable&password=s3cret"),
            "postgres://app@db/prod?sslmode=disable&password=***"
        );
        assert_eq!(redact_url("postgres://db/prod"), "postgres://db/prod");
        assert_eq!(
            hide_password(
                "failed for postgres://a:pw%40x@h/d: pw%40x",
                "postgres://a:pw%40x@h/d"
            ),
            "failed for postgres://a:***@h/d: ***"
        );
    }

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert!(valid_schema("eskema"));
        assert!(valid_schema("_app_2"));
        assert!(!valid_schema("Eskema"));
        assert!(!valid_schema("2app"));
        assert!(!valid_schema("a\"; DROP"));
        assert!(!valid_schema(""));
        assert!(!valid_schema(&"a".repeat(64)));
    }
}
