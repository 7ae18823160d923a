//! The database the server runs on: its own embedded PostgreSQL unless
//! `DATABASE_URL` names one, migrated, and tidied after an unclean stop.

use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, Result};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, Executor, PgConnection, PgPool};

use crate::cli::ServeArgs;
use crate::embedded_pg::EmbeddedPostgres;

/// Starts the embedded PostgreSQL (under the data directory, or in
/// `--database-dir`), unless a database URL was given.
pub async fn start_embedded(args: &ServeArgs) -> Result<Option<EmbeddedPostgres>> {
    Ok(match &args.database_url {
        Some(_) => None,
        None => {
            let dir = args.data.data_dir.clone();
            let database_dir = args.database_dir.clone();
            Some(
                tokio::task::spawn_blocking(move || {
                    EmbeddedPostgres::start(&dir, database_dir.as_deref())
                })
                .await??,
            )
        }
    })
}

/// The embedded cluster's directory (whose disk must keep free space);
/// `None` with DATABASE_URL.
pub fn embedded_dir(args: &ServeArgs) -> Option<std::path::PathBuf> {
    match (&args.database_url, &args.database_dir) {
        (Some(_), _) => None,
        (None, Some(dir)) => Some(dir.clone()),
        (None, None) => Some(args.data.data_dir.join("postgres")),
    }
}

/// A failure to stop is logged: the server's own result matters more.
pub async fn stop_embedded(pg: EmbeddedPostgres) -> Result<()> {
    tracing::info!("stopping the embedded PostgreSQL");
    if let Err(error) = tokio::task::spawn_blocking(move || pg.stop()).await? {
        tracing::error!("{error:#}");
    }
    Ok(())
}

/// The server's two pools on one database. Anonymous traffic (playback,
/// VOD, viewers, the API) shares `shared`; `reserved` serves only the
/// publish authorizer and the stream status writer, so a flood of
/// anonymous requests cannot keep a broadcaster from going live. Two pools
/// rather than a priority queue: each keeps sqlx's own fair queue, and the
/// reserved side never waits behind anything it does not own.
#[derive(Clone)]
pub struct Pools {
    pub shared: PgPool,
    pub reserved: PgPool,
}

impl Pools {
    pub async fn close(&self) {
        self.shared.close().await;
        self.reserved.close().await;
    }
}

/// The pools on the migrated database, with the streams an unclean stop
/// left live ended.
pub async fn connect(args: &ServeArgs, embedded: Option<&EmbeddedPostgres>) -> Result<Pools> {
    let database_url = match (embedded, &args.database_url) {
        (Some(pg), _) => {
            create_database_if_missing(&pg.admin_url(), pg.database_name()).await?;
            pg.database_url()
        }
        (None, Some(url)) => url.clone(),
        (None, None) => {
            unreachable!("serve starts the embedded PostgreSQL when DATABASE_URL is unset")
        }
    };
    let options = PgConnectOptions::from_str(&database_url).context("parsing DATABASE_URL")?;
    // Migrations may rightly run longer than any request's statement.
    let mut migrating = PgConnection::connect_with(&options)
        .await
        .context("connecting to PostgreSQL")?;
    nova_schema::MIGRATOR
        .run(&mut migrating)
        .await
        .context("applying database migrations")?;
    migrating.close().await.ok();

    let limits = &args.database;
    let options = with_statement_timeout(
        options,
        Duration::from_secs_f64(limits.database_statement_timeout),
    );
    let shared = pool(&options, limits.database_max_connections);
    let reserved = pool(&options, limits.database_reserved_connections);
    let orphaned = nova_api::end_orphaned_live_streams(&reserved).await?;
    if orphaned > 0 {
        tracing::warn!(
            orphaned,
            "streams left live by an unclean stop are now ended"
        );
    }
    Ok(Pools { shared, reserved })
}

/// Every session PostgreSQL opens for us cancels any statement that runs
/// longer than `timeout` (`statement_timeout`, in milliseconds), so one
/// slow query cannot hold a pooled connection for long.
fn with_statement_timeout(options: PgConnectOptions, timeout: Duration) -> PgConnectOptions {
    let millis = timeout.as_millis().max(1).to_string();
    options.options([("statement_timeout", millis.as_str())])
}

/// Connections are opened on first use (the server is already connected
/// once, for the migrations); a caller waits at most 5 s for one.
fn pool(options: &PgConnectOptions, size: u32) -> PgPool {
    PgPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(Duration::from_secs(5))
        .connect_lazy_with(options.clone())
}

async fn create_database_if_missing(admin_url: &str, name: &str) -> Result<()> {
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(admin_url)
        .await
        .context("connecting to the embedded PostgreSQL")?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(name)
            .fetch_one(&admin)
            .await?;
    if !exists {
        admin
            .execute(format!("CREATE DATABASE \"{name}\"").as_str())
            .await
            .with_context(|| format!("creating database {name}"))?;
    }
    admin.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The timeout is PostgreSQL's own: a statement that runs longer is
    /// cancelled by the server (SQLSTATE 57014), and the session goes on.
    #[sqlx::test(migrator = "nova_schema::MIGRATOR")]
    async fn statements_longer_than_the_timeout_are_cancelled(
        _pool: PgPoolOptions,
        options: PgConnectOptions,
    ) {
        let options = with_statement_timeout(options, Duration::from_millis(200));
        let pool = pool(&options, 1);
        let error = sqlx::query("SELECT pg_sleep(5)")
            .execute(&pool)
            .await
            .unwrap_err();
        let code = error.as_database_error().and_then(|e| e.code());
        assert_eq!(code.as_deref(), Some("57014"), "{error}");
        let quick: i32 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(quick, 1);
    }
}
