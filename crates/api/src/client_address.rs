//! Limits per client address: who is asking (the peer of the connection,
//! as the server's accept loop records it), and how many long-lived things
//! (event feeds) one address holds at once.
//!
//! An IPv6 client is counted by its /64: one host is routinely given a
//! whole /64, and counting each of its addresses apart would make every
//! per-address limit a per-request one. Behind a reverse proxy every
//! client has the proxy's address; raise the limits there.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

/// Where a request came from, as limits count it; `None` when the server
/// recorded no peer (requests made in-process, as the API's tests do).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ClientAddress(pub Option<IpAddr>);

impl ClientAddress {
    pub fn of(peer: SocketAddr) -> Self {
        Self(Some(counted(peer.ip())))
    }
}

fn counted(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & (u128::MAX << 64);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(Self(None), |ConnectInfo(peer)| Self::of(*peer)))
    }
}

/// At most `per_address` things held at once by one address.
pub(crate) struct AddressSlots {
    per_address: usize,
    held: Arc<Mutex<HashMap<ClientAddress, usize>>>,
}

/// One thing held; dropping it gives the slot back.
pub(crate) struct AddressSlot {
    address: ClientAddress,
    held: Arc<Mutex<HashMap<ClientAddress, usize>>>,
}

impl AddressSlots {
    pub fn new(per_address: usize) -> Self {
        Self {
            per_address,
            held: Arc::default(),
        }
    }

    /// A slot for `address`, or `None` when it holds `per_address` already.
    /// Unknown addresses are not limited: only in-process callers have none.
    pub fn take(&self, address: ClientAddress) -> Option<AddressSlot> {
        let mut held = self.held.lock().expect("address slots lock");
        let count = held.entry(address).or_insert(0);
        if address.0.is_some() && *count >= self.per_address {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            address,
            held: self.held.clone(),
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut held = self.held.lock().expect("address slots lock");
        if let Some(count) = held.get_mut(&self.address) {
            *count -= 1;
            // Forgotten at zero: the map holds only addresses holding slots.
            if *count == 0 {
                held.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(text: &str) -> ClientAddress {
        ClientAddress::of(SocketAddr::new(text.parse().unwrap(), 4000))
    }

    #[test]
    fn an_address_holds_at_most_its_slots_until_it_gives_one_back() {
        let slots = AddressSlots::new(2);
        let first = slots.take(address("192.0.2.1")).unwrap();
        let _second = slots.take(address("192.0.2.1")).unwrap();
        assert!(slots.take(address("192.0.2.1")).is_none());
        assert!(
            slots.take(address("192.0.2.2")).is_some(),
            "others are apart"
        );
        drop(first);
        assert!(slots.take(address("192.0.2.1")).is_some());
    }

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(address("2001:db8::1"), address("2001:db8::ffff:2"));
        assert_ne!(address("2001:db8::1"), address("2001:db8:0:1::1"));
        assert_eq!(address("::ffff:192.0.2.1"), address("192.0.2.1"));
    }

    #[test]
    fn in_process_callers_are_not_limited() {
        let slots = AddressSlots::new(1);
        let _held = slots.take(ClientAddress(None)).unwrap();
        assert!(slots.take(ClientAddress(None)).is_some());
    }
}
