//! What the person who started the server reads once it is ready.

use std::net::SocketAddr;

use crate::config::PublicUrls;

pub fn announce(
    urls: &PublicUrls,
    rtmp: SocketAddr,
    http: SocketAddr,
    metrics: Option<SocketAddr>,
    token: &str,
) {
    let (public_url, rtmp_url) = (&urls.http, &urls.rtmp);
    let metrics = metrics.map_or_else(
        || "off (--metrics-addr)".to_owned(),
        |addr| format!("http://{addr}/metrics"),
    );
    let banner = format!(
        "\n\
         nova-live is ready\n\
         \x20 RTMP ingest   {rtmp_url}/<stream key>   (listening on {rtmp})\n\
         \x20 HTTP          {public_url}   (listening on {http})\n\
         \x20 Health        {public_url}/healthz  {public_url}/readyz\n\
         \x20 Metrics       {metrics}\n\
         \x20 Admin token   {token}\n\
         \n\
         Create a stream:\n\
         \x20 curl -s -X POST {public_url}/api/v1/streams -H 'Authorization: Bearer {token}' \\\n\
         \x20      -H 'Content-Type: application/json' -d '{{\"title\": \"My first stream\"}}'\n"
    );
    #[allow(clippy::print_stdout)] // the banner is for the person who started the server
    {
        println!("{banner}");
    }
}
