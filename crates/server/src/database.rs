//! The database the server runs on: its own embedded PostgreSQL unless
//! `DATABASE_URL` names one, migrated, and tidied after an unclean stop.

use std::time::Duration;

use anyhow::{Context, Result};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Executor, PgPool};

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

/// A pool on the migrated database, with the streams an unclean stop left
/// live ended.
pub async fn connect(args: &ServeArgs, embedded: Option<&EmbeddedPostgres>) -> Result<PgPool> {
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
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(5))
        .connect(&database_url)
        .await
        .context("connecting to PostgreSQL")?;
    nova_schema::MIGRATOR
        .run(&pool)
        .await
        .context("applying database migrations")?;
    let orphaned = nova_api::end_orphaned_live_streams(&pool).await?;
    if orphaned > 0 {
        tracing::warn!(
            orphaned,
            "streams left live by an unclean stop are now ended"
        );
    }
    Ok(pool)
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
