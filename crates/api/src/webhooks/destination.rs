//! Where a webhook may be sent: the address classes a delivery must never
//! reach (the server's own network, and the cloud metadata service that
//! hands out credentials), checked on the address the connection is made to.
//!
//! A check of the URL when it is saved is only a first line: a name can
//! resolve to a public address then and to `127.0.0.1` later (DNS
//! rebinding). So the delivery client resolves names itself
//! ([`CheckedResolver`]), drops every address it may not reach, and
//! connects only to what is left; IP literals, which never reach a
//! resolver, are checked before the request ([`check_host`]).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// What an address is, for the rules below.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AddressClass {
    Public,
    Loopback,
    /// RFC 1918.
    Private,
    /// 100.64.0.0/10, RFC 6598: carrier-grade NAT and some clouds' internals.
    SharedAddressSpace,
    LinkLocal,
    /// fc00::/7, RFC 4193.
    UniqueLocal,
    /// A cloud metadata service: instance credentials live there.
    Metadata,
    /// Documentation, benchmarking, "this network", 240.0.0.0/4 and the
    /// like: never a real receiver.
    Reserved,
    Multicast,
    Unspecified,
    Broadcast,
}

impl AddressClass {
    pub(crate) fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::of_v4(v4),
            IpAddr::V6(v6) => Self::of_v6(v6),
        }
    }

    fn of_v4(ip: Ipv4Addr) -> Self {
        let [a, b, c, _] = ip.octets();
        if ip.is_unspecified() {
            Self::Unspecified
        } else if ip.is_broadcast() {
            Self::Broadcast
        } else if ip == Ipv4Addr::new(169, 254, 169, 254) || ip == Ipv4Addr::new(100, 100, 100, 200)
        {
            // AWS, GCP, Azure, OCI and DigitalOcean; Alibaba Cloud.
            Self::Metadata
        } else if ip.is_loopback() {
            Self::Loopback
        } else if ip.is_private() {
            Self::Private
        } else if a == 100 && (64..128).contains(&b) {
            Self::SharedAddressSpace
        } else if ip.is_link_local() {
            Self::LinkLocal
        } else if ip.is_multicast() {
            Self::Multicast
        } else if a == 0
            || a >= 240
            || (a == 192 && b == 0 && c == 0)
            || ip.is_documentation()
            || (a == 198 && (b == 18 || b == 19))
        {
            Self::Reserved
        } else {
            Self::Public
        }
    }

    fn of_v6(ip: Ipv6Addr) -> Self {
        // An IPv4 address written as IPv6 reaches the IPv4 host: judge that.
        if let Some(v4) = ip.to_ipv4_mapped() {
            return Self::of_v4(v4);
        }
        let segments = ip.segments();
        // NAT64's well-known prefix (RFC 6052) translates to the IPv4 inside.
        if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
            let [.., high, low] = segments;
            return Self::of_v4(Ipv4Addr::from((u32::from(high) << 16) | u32::from(low)));
        }
        if ip.is_unspecified() {
            Self::Unspecified
        } else if ip.is_loopback() {
            Self::Loopback
        } else if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
            // AWS's IPv6 metadata endpoint (inside fc00::/7).
            Self::Metadata
        } else if segments[0] & 0xfe00 == 0xfc00 {
            Self::UniqueLocal
        } else if segments[0] & 0xffc0 == 0xfe80 || segments[0] & 0xffc0 == 0xfec0 {
            // Link-local, and the deprecated site-local fec0::/10.
            Self::LinkLocal
        } else if ip.is_multicast() {
            Self::Multicast
        } else if segments[..2] == [0x2001, 0xdb8]
            || segments[..4] == [0x100, 0, 0, 0]
            || segments[..6] == [0, 0, 0, 0, 0, 0]
        {
            // Documentation, discard-only, and the old IPv4-compatible form.
            Self::Reserved
        } else {
            Self::Public
        }
    }

    /// Whether a delivery may go there. `allow_private` (an operator's
    /// development setting) opens the server's own networks, never the
    /// metadata service or addresses that are not one host.
    pub(crate) fn reachable(self, allow_private: bool) -> bool {
        match self {
            Self::Public => true,
            Self::Loopback
            | Self::Private
            | Self::SharedAddressSpace
            | Self::LinkLocal
            | Self::UniqueLocal
            | Self::Reserved => allow_private,
            Self::Metadata | Self::Multicast | Self::Unspecified | Self::Broadcast => false,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Public => "a public address",
            Self::Loopback => "a loopback address",
            Self::Private => "a private address (RFC 1918)",
            Self::SharedAddressSpace => "a shared address (100.64.0.0/10)",
            Self::LinkLocal => "a link-local address",
            Self::UniqueLocal => "a unique-local address (fc00::/7)",
            Self::Metadata => "a cloud metadata address",
            Self::Reserved => "a reserved address",
            Self::Multicast => "a multicast address",
            Self::Unspecified => "the unspecified address",
            Self::Broadcast => "the broadcast address",
        }
    }
}

/// Names of cloud metadata services, refused whatever they resolve to.
const METADATA_HOSTS: [&str; 5] = [
    "metadata",
    "metadata.google.internal",
    "metadata.goog",
    "instance-data",
    "instance-data.ec2.internal",
];

/// Why a destination was refused: recorded on the delivery as its error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Refused(pub String);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refused: {}", self.0)
    }
}

impl std::error::Error for Refused {}

/// Checks what can be checked without DNS: an IP literal's class, and the
/// names that are internal by definition. A name that passes still has
/// every address it resolves to checked by [`CheckedResolver`].
pub(crate) fn check_host(url: &Url, allow_private: bool) -> Result<(), Refused> {
    let Some(host) = url.host_str() else {
        return Err(Refused("the URL names no host".to_owned()));
    };
    // The parser has already written every IPv4 spelling (`0x7f.1`,
    // `2130706433`) as dotted quads, and IPv6 literals in brackets.
    match host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        Ok(ip) => check_ip(ip, allow_private),
        Err(_) => check_name(host),
    }
}

fn check_ip(ip: IpAddr, allow_private: bool) -> Result<(), Refused> {
    let class = AddressClass::of(ip);
    if class.reachable(allow_private) {
        Ok(())
    } else {
        Err(Refused(format!(
            "{ip} is {}, not a destination for webhooks",
            class.describe()
        )))
    }
}

fn check_name(name: &str) -> Result<(), Refused> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if METADATA_HOSTS.contains(&name.as_str()) {
        return Err(Refused(format!(
            "{name} is a cloud metadata service, not a destination for webhooks"
        )));
    }
    // Other names are judged by what they resolve to, when connecting.
    Ok(())
}

/// RFC 6761 names that are loopback by definition: refused when an
/// endpoint is saved, before any lookup.
pub(crate) fn is_loopback_name(host: &str) -> bool {
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// The delivery client's resolver: the system's answer, less every address
/// a delivery may not reach. The connection can only go to what it returns,
/// so an answer that changes between a check and the connect changes
/// nothing.
pub(crate) struct CheckedResolver {
    pub allow_private: bool,
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            check_name(&host)?;
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let reachable: Vec<SocketAddr> = resolved
                .iter()
                .copied()
                .filter(|addr| AddressClass::of(addr.ip()).reachable(allow_private))
                .collect();
            if reachable.is_empty() && !resolved.is_empty() {
                // Which internal addresses a name has is not the owner's
                // business: say only that none was usable.
                return Err(Refused(format!(
                    "{host} resolves to no address webhooks may reach (only private, \
                     loopback or otherwise internal ones)"
                ))
                .into());
            }
            let addrs: Addrs = Box::new(reachable.into_iter());
            Ok(addrs)
        })
    }
}

/// The refusal somewhere in a request error's causes, if that is what
/// stopped it.
pub(crate) fn refusal_in(error: &(dyn std::error::Error + 'static)) -> Option<Refused> {
    let mut cause = Some(error);
    while let Some(current) = cause {
        if let Some(refused) = current.downcast_ref::<Refused>() {
            return Some(refused.clone());
        }
        cause = current.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(text: &str) -> AddressClass {
        AddressClass::of(text.parse().unwrap())
    }

    #[test]
    fn internal_addresses_are_classed_in_every_spelling() {
        use AddressClass::*;
        for (ip, expected) in [
            ("127.0.0.1", Loopback),
            ("127.8.9.10", Loopback),
            ("::1", Loopback),
            ("::ffff:127.0.0.1", Loopback),
            ("10.0.0.1", Private),
            ("172.16.5.4", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("::ffff:10.1.2.3", Private),
            ("64:ff9b::a00:1", Private),
            ("100.64.0.1", SharedAddressSpace),
            ("100.127.255.254", SharedAddressSpace),
            ("169.254.169.254", Metadata),
            ("::ffff:169.254.169.254", Metadata),
            ("100.100.100.200", Metadata),
            ("fd00:ec2::254", Metadata),
            ("169.254.1.1", LinkLocal),
            ("fe80::1", LinkLocal),
            ("fc00::1", UniqueLocal),
            ("fd12:3456::1", UniqueLocal),
            ("224.0.0.1", Multicast),
            ("ff02::1", Multicast),
            ("0.0.0.0", Unspecified),
            ("::", Unspecified),
            ("255.255.255.255", Broadcast),
            ("0.1.2.3", Reserved),
            ("240.0.0.1", Reserved),
            ("192.0.2.7", Reserved),
            ("198.18.0.1", Reserved),
            ("2001:db8::1", Reserved),
            ("::7f00:1", Reserved),
        ] {
            assert_eq!(class(ip), expected, "{ip}");
            assert!(!expected.reachable(false), "{ip}");
        }
    }

    #[test]
    fn public_addresses_are_reachable() {
        for ip in [
            "93.184.215.14",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.1",
            "172.32.0.1",
            "2606:4700::1111",
            "::ffff:1.1.1.1",
        ] {
            assert_eq!(class(ip), AddressClass::Public, "{ip}");
            assert!(AddressClass::Public.reachable(false));
        }
    }

    #[test]
    fn the_development_setting_opens_private_networks_but_not_metadata() {
        for ip in ["127.0.0.1", "::1", "10.0.0.1", "fd12::1", "169.254.1.1"] {
            assert!(class(ip).reachable(true), "{ip}");
        }
        for ip in ["169.254.169.254", "224.0.0.1", "0.0.0.0", "255.255.255.255"] {
            assert!(!class(ip).reachable(true), "{ip}");
        }
    }

    #[test]
    fn hosts_are_checked_before_any_lookup() {
        let url = |text: &str| Url::parse(text).unwrap();
        for text in [
            "http://127.0.0.1:9/x",
            "https://[::1]/",
            "https://[::ffff:7f00:1]/",
            "https://10.0.0.1/",
            "https://169.254.169.254/latest/meta-data/",
            "https://metadata.google.internal/",
            "http://2130706433/",
            "http://0x7f.1/",
        ] {
            let refused = check_host(&url(text), false).unwrap_err();
            assert!(refused.to_string().starts_with("refused: "), "{refused}");
        }
        assert!(check_host(&url("https://example.com/"), false).is_ok());
        // Left to the resolver, which sees what it resolves to.
        assert!(check_host(&url("https://localhost/"), false).is_ok());
        assert!(is_loopback_name("api.LOCALHOST."));
        assert!(check_host(&url("http://127.0.0.1:9/"), true).is_ok());
        assert!(check_host(&url("http://localhost:9/"), true).is_ok());
        assert!(check_host(&url("https://169.254.169.254/"), true).is_err());
        assert!(check_host(&url("https://Metadata.Google.Internal/"), true).is_err());
    }

    #[tokio::test]
    async fn the_resolver_hands_out_only_reachable_addresses() {
        let name = |text: &str| text.parse::<Name>().unwrap();
        let refused = CheckedResolver {
            allow_private: false,
        }
        .resolve(name("localhost"))
        .await
        .err()
        .expect("localhost resolves to loopback only");
        assert!(refusal_in(refused.as_ref()).is_some(), "{refused}");
        let allowed: Vec<SocketAddr> = CheckedResolver {
            allow_private: true,
        }
        .resolve(name("localhost"))
        .await
        .unwrap()
        .collect();
        assert!(
            !allowed.is_empty() && allowed.iter().all(|addr| addr.ip().is_loopback()),
            "{allowed:?}"
        );
    }
}
