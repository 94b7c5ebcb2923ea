//! The S3 client: `object_store`'s, configured from the `AWS_*` environment.

use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::ObjectStore;

/// A client for `bucket`. Endpoint (`AWS_ENDPOINT_URL`), region (`AWS_REGION` /
/// `AWS_DEFAULT_REGION`) and credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`) come from the environment as every AWS tool reads them, so Yandex
/// Object Storage, MinIO and moto work by setting the endpoint. A plain-http endpoint is
/// allowed because the user named it; conditional writes use `If-None-Match` (S3 since
/// 2024, MinIO, Yandex Object Storage).
pub(super) fn s3(bucket: &str) -> Result<Arc<dyn ObjectStore>, String> {
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .or_else(|_| std::env::var("AWS_ENDPOINT"))
        .unwrap_or_default();
    if endpoint.starts_with("http://") {
        builder = builder.with_allow_http(true);
    }
    if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none()
    {
        // object_store's default too; said here so that a bucket elsewhere fails with
        // S3's redirect error naming its region rather than a mystery.
        builder = builder.with_region("us-east-1");
    }
    let store = builder.build().map_err(|e| e.to_string())?;
    Ok(Arc::new(store))
}
