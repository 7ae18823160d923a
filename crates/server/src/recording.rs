//! Recording: the object store chosen by the configuration, the uploader
//! and its spool, the recorder, crash recovery and retention.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use nova_api::ApiConfig;
use nova_dvr::index::{self, RecordingRow};
use nova_dvr::{FsObjectStore, RecordingObserver, RetentionConfig};
use nova_media::ObjectStore;
use nova_recorder::{
    Recorder, RecorderConfig, RecorderTasks, S3Config, S3ObjectStore, UploadTag, Uploader,
    UploaderConfig,
};
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::cli::{StorageArgs, StorageKind};

/// How long shutdown keeps uploading before spooling the rest to disk.
const UPLOAD_DRAIN: Duration = Duration::from_secs(10);

pub struct Recording {
    pub store: Arc<dyn ObjectStore>,
    pub recorder: Arc<Recorder>,
    uploader: Uploader<UploadTag>,
    tasks: RecorderTasks,
    retention: JoinHandle<()>,
    stop_retention: CancellationToken,
}

impl Recording {
    /// `None` when recording is off.
    pub async fn start(
        args: &StorageArgs,
        data_dir: &Path,
        pool: &PgPool,
        api: &ApiConfig,
    ) -> Result<Option<Self>> {
        let Some(store) = open_store(args, data_dir).await? else {
            tracing::info!("recording is off (--storage off): live playback only");
            return Ok(None);
        };
        // Before new recordings start: what a crash left `recording` is
        // closed at its last indexed segment.
        let recovered = index::recover_interrupted(pool)
            .await
            .context("closing recordings interrupted by an unclean stop")?;
        let spool = args
            .spool_dir
            .clone()
            .unwrap_or_else(|| data_dir.join("spool"));
        let (uploader, completions) = Uploader::start(
            store.clone(),
            &spool,
            UploaderConfig {
                concurrency: args.upload_concurrency.max(1),
                ..UploaderConfig::default()
            },
        )
        .await
        .context("starting the recording uploader")?;
        let notifier: Arc<dyn RecordingObserver> = Arc::new(WebhookNotifier {
            pool: pool.clone(),
            api: api.clone(),
        });
        let (recorder, tasks) = Recorder::start(
            pool.clone(),
            uploader.submitter(),
            completions,
            RecorderConfig {
                default_retention_days: (args.recording_retention_days > 0)
                    .then_some(args.recording_retention_days),
            },
            notifier.clone(),
        );
        if !recovered.is_empty() {
            tracing::warn!(
                count = recovered.len(),
                "recordings interrupted by an unclean stop are closed at their last stored segment"
            );
            tokio::spawn(nova_dvr::reconcile_recovered(
                pool.clone(),
                store.clone(),
                recovered,
                notifier,
            ));
        }
        let stop_retention = CancellationToken::new();
        let stopped = stop_retention.clone();
        let retention = tokio::spawn(nova_dvr::run_retention(
            pool.clone(),
            store.clone(),
            RetentionConfig {
                interval: Duration::from_secs_f64(args.retention_interval.max(0.1)),
                ..RetentionConfig::default()
            },
            async move { stopped.cancelled().await },
        ));
        Ok(Some(Self {
            store,
            recorder,
            uploader,
            tasks,
            retention,
            stop_retention,
        }))
    }

    /// After the packagers are done: submits what the recorder holds,
    /// uploads for a while, spools the rest for the next start, and indexes
    /// what was stored.
    pub async fn shutdown(self) {
        self.stop_retention.cancel();
        self.recorder.close();
        if let Err(error) = self.tasks.events.await {
            tracing::error!("recorder task: {error}");
        }
        let stats = self.uploader.shutdown(UPLOAD_DRAIN).await;
        if stats.spooled > 0 {
            tracing::warn!(
                spooled = stats.spooled,
                "recording uploads left in the spool; they are uploaded at the next start"
            );
        }
        if tokio::time::timeout(Duration::from_secs(10), self.tasks.completions)
            .await
            .is_err()
        {
            tracing::warn!("recording index still being written after 10 s; giving up");
        }
        let _ = self.retention.await;
    }
}

async fn open_store(args: &StorageArgs, data_dir: &Path) -> Result<Option<Arc<dyn ObjectStore>>> {
    match args.kind {
        StorageKind::Off => Ok(None),
        StorageKind::Fs => {
            let dir = args
                .storage_dir
                .clone()
                .unwrap_or_else(|| data_dir.join("recordings"));
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("creating the recordings directory {}", dir.display()))?;
            tracing::info!(dir = %dir.display(), "recordings are stored on the local filesystem");
            Ok(Some(Arc::new(FsObjectStore::new(dir))))
        }
        StorageKind::S3 => {
            let bucket = args
                .s3_bucket
                .clone()
                .context("NOVA_STORAGE=s3 needs a bucket: set NOVA_S3_BUCKET or --s3-bucket")?;
            let config = S3Config {
                endpoint: args.s3_endpoint.clone(),
                prefix: args.s3_prefix.clone(),
                region: args.s3_region.clone(),
                force_path_style: args.s3_force_path_style,
                credentials: args
                    .s3_access_key_id
                    .clone()
                    .zip(args.s3_secret_access_key.clone()),
                ..S3Config::new(bucket)
            };
            tracing::info!(?config, "recordings are stored in S3");
            let store = S3ObjectStore::connect(config)
                .await
                .context("configuring the S3 client")?;
            // Not fatal: uploads spool until the store answers.
            if let Err(error) = store.check().await {
                tracing::warn!(
                    "the S3 bucket does not answer yet; recordings spool to disk until it does: {error}"
                );
            }
            Ok(Some(Arc::new(store)))
        }
    }
}

/// `recording.ready` webhooks.
struct WebhookNotifier {
    pool: PgPool,
    api: ApiConfig,
}

impl RecordingObserver for WebhookNotifier {
    fn recording_ready(&self, recording: &RecordingRow) {
        let (pool, api, recording) = (self.pool.clone(), self.api.clone(), recording.clone());
        tokio::spawn(async move {
            if let Err(error) = nova_api::notify_recording_ready(&pool, &api, &recording).await {
                tracing::warn!(recording = %recording.id, "recording.ready not queued: {error}");
            }
        });
    }
}
