//! Recording: the object store chosen by the configuration, the uploader
//! and its spool, the recorder, crash recovery and retention.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use nova_api::ApiConfig;
use nova_dvr::index::{self, RecordingRow};
use nova_dvr::{FsObjectStore, RecordingObserver, RetentionConfig};
use nova_media::ObjectStore;
use nova_recorder::{
    Recorder, RecorderConfig, RecorderTasks, RecordingGate, S3Config, S3ObjectStore, UploadTag,
    Uploader, UploaderConfig,
};
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::cli::{StorageArgs, StorageKind};
use crate::disk_watch::{self, DiskWatch, WatchedPath};
use crate::health::HealthBoard;

/// How long shutdown keeps uploading before spooling the rest to disk.
const UPLOAD_DRAIN: Duration = Duration::from_secs(10);

pub struct Recording {
    pub store: Arc<dyn ObjectStore>,
    pub recorder: Arc<Recorder>,
    uploader: Uploader<UploadTag>,
    tasks: RecorderTasks,
    retention: JoinHandle<()>,
    stop_retention: CancellationToken,
    disk_watch: JoinHandle<()>,
}

impl Recording {
    /// `None` when recording is off. `database_dir` is the embedded
    /// PostgreSQL's cluster, whose free space is watched too.
    pub async fn start(
        args: &StorageArgs,
        data_dir: &Path,
        database_dir: Option<PathBuf>,
        pool: &PgPool,
        api: &ApiConfig,
        health: Arc<HealthBoard>,
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
                max_spool_bytes: args.max_spool_bytes,
                ..UploaderConfig::default()
            },
        )
        .await
        .context("starting the recording uploader")?;
        let notifier: Arc<dyn RecordingObserver> = Arc::new(WebhookNotifier {
            pool: pool.clone(),
            api: api.clone(),
        });
        let gate = Arc::new(RecordingGate::default());
        let (recorder, tasks) = Recorder::start(
            pool.clone(),
            uploader.submitter(),
            completions,
            RecorderConfig {
                default_retention_days: (args.recording_retention_days > 0)
                    .then_some(args.recording_retention_days),
                gate: gate.clone(),
            },
            notifier.clone(),
        );
        let mut paths = vec![WatchedPath {
            what: "upload spool",
            path: spool.clone(),
        }];
        if args.kind == StorageKind::Fs {
            paths.push(WatchedPath {
                what: "recordings directory",
                path: fs_store_dir(args, data_dir),
            });
        }
        paths.extend(database_dir.map(|path| WatchedPath {
            what: "embedded database",
            path,
        }));
        let submitter = uploader.submitter();
        let disk_watch = disk_watch::spawn(
            DiskWatch {
                paths,
                min_free: args.min_free_disk,
                max_spool_bytes: args.max_spool_bytes,
            },
            gate,
            move || submitter.stats(),
            health,
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
            disk_watch,
        }))
    }

    /// After the packagers are done: submits what the recorder holds,
    /// uploads for a while, spools the rest for the next start, and indexes
    /// what was stored.
    pub async fn shutdown(self) {
        self.disk_watch.abort();
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
            let dir = fs_store_dir(args, data_dir);
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

fn fs_store_dir(args: &StorageArgs, data_dir: &Path) -> PathBuf {
    args.storage_dir
        .clone()
        .unwrap_or_else(|| data_dir.join("recordings"))
}

/// `recording.ready`, `recording.paused` and `recording.resumed` webhooks.
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

    fn recording_paused(&self, stream: uuid::Uuid, recording: uuid::Uuid, reason: &str) {
        let (pool, reason) = (self.pool.clone(), reason.to_owned());
        tokio::spawn(async move {
            if let Err(error) =
                nova_api::notify_recording_paused(&pool, stream, recording, &reason).await
            {
                tracing::warn!(%recording, "recording.paused not queued: {error}");
            }
        });
    }

    fn recording_resumed(&self, stream: uuid::Uuid, recording: uuid::Uuid, skipped: u64) {
        let pool = self.pool.clone();
        tokio::spawn(async move {
            if let Err(error) =
                nova_api::notify_recording_resumed(&pool, stream, recording, skipped).await
            {
                tracing::warn!(%recording, "recording.resumed not queued: {error}");
            }
        });
    }
}
