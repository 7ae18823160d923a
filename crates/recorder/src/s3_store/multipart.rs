//! Large objects as a multipart upload (S3 API: CreateMultipartUpload,
//! UploadPart, CompleteMultipartUpload, AbortMultipartUpload).

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use nova_media::{ObjectMeta, ObjectStoreError};

use super::S3ObjectStore;
use super::errors::map_sdk_error;

/// S3 numbers parts 1..=10000.
const MAX_PARTS: usize = 10_000;

/// Part boundaries for `len` bytes: `part_size` each, grown when the object
/// would need more than S3's 10 000 parts; the last part takes the rest.
pub(crate) fn part_ranges(len: usize, part_size: usize) -> Vec<std::ops::Range<usize>> {
    let size = part_size.max(len.div_ceil(MAX_PARTS)).max(1);
    (0..len)
        .step_by(size)
        .map(|start| start..(start + size).min(len))
        .collect()
}

/// `key` is the caller's key (for errors), `full_key` the prefixed one.
pub(super) async fn put(
    store: &S3ObjectStore,
    key: &str,
    full_key: &str,
    body: Bytes,
    meta: &ObjectMeta,
) -> Result<(), ObjectStoreError> {
    let created = store
        .client
        .create_multipart_upload()
        .bucket(&store.bucket)
        .key(full_key)
        .content_type(&meta.content_type)
        .cache_control(&meta.cache_control)
        .send()
        .await
        .map_err(|e| map_sdk_error("starting multipart upload of", key, e))?;
    let Some(upload_id) = created.upload_id().map(str::to_owned) else {
        return Err(ObjectStoreError::Rejected {
            action: "starting multipart upload of",
            key: key.to_owned(),
            detail: "the store returned no upload id".into(),
        });
    };
    let result = upload_parts(store, key, full_key, &upload_id, body).await;
    if result.is_err() {
        // Parts of an unfinished upload are stored (and billed) until aborted.
        if let Err(e) = store
            .client
            .abort_multipart_upload()
            .bucket(&store.bucket)
            .key(full_key)
            .upload_id(&upload_id)
            .send()
            .await
        {
            tracing::warn!(
                key,
                upload_id,
                error = %map_sdk_error("aborting multipart upload of", key, e),
                "could not abort a failed multipart upload; a bucket lifecycle rule must clean it up"
            );
        }
    }
    result
}

async fn upload_parts(
    store: &S3ObjectStore,
    key: &str,
    full_key: &str,
    upload_id: &str,
    body: Bytes,
) -> Result<(), ObjectStoreError> {
    let mut completed = Vec::new();
    for (index, range) in part_ranges(body.len(), store.part_size)
        .into_iter()
        .enumerate()
    {
        // Bounded by MAX_PARTS, so it fits.
        let number = i32::try_from(index + 1).unwrap_or(i32::MAX);
        let request = store
            .client
            .upload_part()
            .bucket(&store.bucket)
            .key(full_key)
            .upload_id(upload_id)
            .part_number(number)
            .body(ByteStream::from(body.slice(range)))
            .customize();
        let request = if store.sign_payload {
            request
        } else {
            request.disable_payload_signing()
        };
        let out = request
            .send()
            .await
            .map_err(|e| map_sdk_error("uploading a part of", key, e))?;
        let mut part = CompletedPart::builder().part_number(number);
        if let Some(etag) = out.e_tag() {
            part = part.e_tag(etag);
        }
        completed.push(part.build());
    }
    store
        .client
        .complete_multipart_upload()
        .bucket(&store.bucket)
        .key(full_key)
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(completed))
                .build(),
        )
        .send()
        .await
        .map_err(|e| map_sdk_error("completing multipart upload of", key, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_into_parts_with_a_short_last_one() {
        assert_eq!(part_ranges(12, 5), vec![0..5, 5..10, 10..12]);
        assert_eq!(part_ranges(10, 5), vec![0..5, 5..10]);
        assert_eq!(part_ranges(0, 5), Vec::<std::ops::Range<usize>>::new());
    }

    #[test]
    fn grows_parts_to_stay_within_ten_thousand() {
        let ranges = part_ranges(100_001, 1);
        assert!(ranges.len() <= MAX_PARTS);
        assert_eq!(ranges.last().unwrap().end, 100_001);
        assert!(ranges.windows(2).all(|w| w[0].end == w[1].start));
    }
}
