//! The embedded migrations apply to an empty database, every one of them.

use sqlx::PgPool;

#[sqlx::test(migrator = "nova_schema::MIGRATOR")]
async fn every_embedded_migration_is_applied(pool: PgPool) {
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(&pool)
            .await
            .unwrap();
    let embedded: Vec<i64> = nova_schema::MIGRATOR
        .iter()
        .map(|migration| migration.version)
        .collect();
    assert!(!embedded.is_empty(), "migrations/ is embedded");
    assert_eq!(applied, embedded);
}
