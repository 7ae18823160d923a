//! Connections that have not published yet, counted by the address they
//! come from: one host must not take every connection slot with sockets
//! that never publish.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};

/// Counts per address; 0 as the limit means no limit.
#[derive(Clone, Debug)]
pub(crate) struct PendingByAddress {
    limit: usize,
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One connection's place in its address's count, given back when it
/// publishes or closes.
#[derive(Debug)]
pub(crate) struct PendingSlot {
    address: IpAddr,
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl PendingByAddress {
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            counts: Arc::default(),
        }
    }

    /// A slot for a new connection from `peer`, or `None` when its address
    /// already has `limit` connections that have not published.
    pub fn enter(&self, peer: IpAddr) -> Option<PendingSlot> {
        let address = grouped(peer);
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let count = counts.entry(address).or_insert(0);
        if self.limit > 0 && *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(PendingSlot {
            address,
            counts: self.counts.clone(),
        })
    }
}

impl Drop for PendingSlot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = counts.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.address);
            }
        }
    }
}

/// IPv4 (mapped or not) by address; IPv6 by /64, the block one host
/// usually has to itself.
fn grouped(peer: IpAddr) -> IpAddr {
    match peer.to_canonical() {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_each_address_and_gives_slots_back() {
        let pending = PendingByAddress::new(2);
        let a: IpAddr = "198.51.100.1".parse().unwrap();
        let b: IpAddr = "198.51.100.2".parse().unwrap();
        let first = pending.enter(a).unwrap();
        let _second = pending.enter(a).unwrap();
        assert!(pending.enter(a).is_none());
        // The same host as an IPv4-mapped IPv6 address.
        assert!(
            pending
                .enter("::ffff:198.51.100.1".parse().unwrap())
                .is_none()
        );
        assert!(pending.enter(b).is_some());
        drop(first);
        assert!(pending.enter(a).is_some());
    }

    #[test]
    fn ipv6_counts_by_64_prefix_and_zero_means_no_limit() {
        let pending = PendingByAddress::new(1);
        let _one = pending.enter("2001:db8:1:2::1".parse().unwrap()).unwrap();
        assert!(
            pending
                .enter("2001:db8:1:2::ffff".parse().unwrap())
                .is_none()
        );
        assert!(pending.enter("2001:db8:1:3::1".parse().unwrap()).is_some());
        let unlimited = PendingByAddress::new(0);
        let slots: Vec<_> = (0..100)
            .map(|_| unlimited.enter("198.51.100.1".parse().unwrap()))
            .collect();
        assert!(slots.iter().all(Option::is_some));
    }
}
