//! With no credentials in the config, the store uses the standard AWS chain.
//! Its own test binary: it sets process environment variables, which no
//! other test may race with.

mod support;

use bytes::Bytes;
use nova_media::{ObjectMeta, ObjectStore};
use nova_recorder::S3ObjectStore;
use support::S3sServer;

#[tokio::test]
async fn credentials_come_from_the_environment_when_not_configured() {
    // SAFETY: the only test in this binary, and it sets these before the
    // runtime spawns anything that reads the environment.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", support::ACCESS_KEY);
        std::env::set_var("AWS_SECRET_ACCESS_KEY", support::SECRET_KEY);
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    }
    let server = S3sServer::start();
    let mut config = server.config();
    config.credentials = None;
    let store = S3ObjectStore::connect(config).await.unwrap();
    store
        .put(
            "from-env",
            Bytes::from_static(b"ok"),
            &ObjectMeta::new("text/plain", "no-store"),
        )
        .await
        .unwrap();
    assert_eq!(store.get("from-env").await.unwrap(), "ok");
}
