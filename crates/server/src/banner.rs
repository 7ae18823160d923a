//! What the person who started the server reads once it is ready.

use std::net::SocketAddr;
use std::path::PathBuf;

use uuid::Uuid;

use crate::config::PublicUrls;

/// The admin token's line: the token itself at the first start only, the
/// command that prints one afterwards.
pub enum Admin {
    Token(String),
    HowToPrint { user: Uuid, data_dir: PathBuf },
}

pub fn announce(
    urls: &PublicUrls,
    rtmp: SocketAddr,
    http: SocketAddr,
    metrics: Option<SocketAddr>,
    admin: &Admin,
) {
    let banner = text(urls, rtmp, http, metrics, admin);
    #[allow(clippy::print_stdout)] // the banner is for the person who started the server
    {
        println!("{banner}");
    }
}

fn text(
    urls: &PublicUrls,
    rtmp: SocketAddr,
    http: SocketAddr,
    metrics: Option<SocketAddr>,
    admin: &Admin,
) -> String {
    let (public_url, rtmp_url) = (&urls.http, &urls.rtmp);
    let metrics = metrics.map_or_else(
        || "off (--metrics-addr)".to_owned(),
        |addr| format!("http://{addr}/metrics"),
    );
    let (admin_line, token) = match admin {
        Admin::Token(token) => (token.clone(), token.as_str()),
        Admin::HowToPrint { user, data_dir } => (
            format!(
                "printed at the first start only; print one with\n\
                 \x20               nova-live token --user {user} --data-dir {}",
                data_dir.display()
            ),
            "$TOKEN",
        ),
    };
    format!(
        "\n\
         nova-live is ready\n\
         \x20 RTMP ingest   {rtmp_url}/<stream key>   (listening on {rtmp})\n\
         \x20 HTTP          {public_url}   (listening on {http})\n\
         \x20 Health        {public_url}/healthz  {public_url}/readyz\n\
         \x20 Metrics       {metrics}\n\
         \x20 Admin token   {admin_line}\n\
         \n\
         Create a stream:\n\
         \x20 curl -s -X POST {public_url}/api/v1/streams -H 'Authorization: Bearer {token}' \\\n\
         \x20      -H 'Content-Type: application/json' -d '{{\"title\": \"My first stream\"}}'\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls() -> PublicUrls {
        PublicUrls {
            http: "http://media.example:8080".to_owned(),
            rtmp: "rtmp://media.example:1935/live".to_owned(),
        }
    }

    #[test]
    fn the_token_is_shown_at_the_first_start_only() {
        let addr: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let first = text(
            &urls(),
            addr,
            addr,
            None,
            &Admin::Token("eyJ.secret".into()),
        );
        assert!(first.contains("Admin token   eyJ.secret"), "{first}");
        let user = Uuid::new_v4();
        let later = text(
            &urls(),
            addr,
            addr,
            None,
            &Admin::HowToPrint {
                user,
                data_dir: PathBuf::from("/srv/nova"),
            },
        );
        assert!(!later.contains("eyJ"), "{later}");
        assert!(
            later.contains(&format!(
                "nova-live token --user {user} --data-dir /srv/nova"
            )),
            "{later}"
        );
    }
}
