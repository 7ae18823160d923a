//! Which jobs wait, where their bodies are, and which may start: the
//! uploader's decisions without any IO, so they are tested synchronously.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bytes::Bytes;

use super::job::{JobHeader, Ordering};

#[derive(Debug)]
pub(crate) struct Entry<T> {
    pub header: JobHeader<T>,
    /// The body while it is held in memory.
    pub body: Option<Bytes>,
    /// Whether the job is on disk; a spooled job's body is read back to upload.
    pub spooled: bool,
    pub in_flight: bool,
}

/// Jobs by submission number (`seq`), with the counts the stats report.
#[derive(Debug)]
pub(crate) struct Queue<T> {
    entries: BTreeMap<u64, Entry<T>>,
    /// Per group, the jobs not completed yet (waiting or in flight).
    open: HashMap<String, BTreeSet<u64>>,
    memory_bytes: u64,
    /// Every job's size, wherever its body is.
    total_bytes: u64,
    spooled_jobs: u64,
    spooled_bytes: u64,
    in_flight: u64,
}

// Not derived: that would ask for `T: Default`.
impl<T> Default for Queue<T> {
    fn default() -> Self {
        Self {
            entries: BTreeMap::new(),
            open: HashMap::new(),
            memory_bytes: 0,
            total_bytes: 0,
            spooled_jobs: 0,
            spooled_bytes: 0,
            in_flight: 0,
        }
    }
}

impl<T> Queue<T> {
    pub fn insert(&mut self, seq: u64, header: JobHeader<T>, body: Option<Bytes>, spooled: bool) {
        debug_assert!(body.is_some() || spooled, "a job must be somewhere");
        self.open
            .entry(header.group.clone())
            .or_default()
            .insert(seq);
        if let Some(body) = &body {
            self.memory_bytes += body.len() as u64;
        }
        self.total_bytes += header.size;
        if spooled {
            self.spooled_jobs += 1;
            self.spooled_bytes += header.size;
        }
        let entry = Entry {
            header,
            body,
            spooled,
            in_flight: false,
        };
        if let Some(old) = self.entries.insert(seq, entry) {
            // Sequence numbers are unique; keep the counts honest regardless.
            self.forget(&old);
        }
    }

    pub fn get(&self, seq: u64) -> Option<&Entry<T>> {
        self.entries.get(&seq)
    }

    /// Up to `limit` jobs that may start now, oldest first. `memory_only`
    /// skips jobs whose body is only on disk (during shutdown, they can wait
    /// for the next start).
    pub fn ready(&self, limit: usize, memory_only: bool) -> Vec<u64> {
        self.entries
            .iter()
            .filter(|(_, e)| !e.in_flight && (!memory_only || e.body.is_some()))
            .filter(|(seq, e)| match e.header.ordering {
                Ordering::Parallel => true,
                Ordering::AfterEarlier => {
                    self.open.get(&e.header.group).and_then(|open| open.first()) == Some(*seq)
                }
            })
            .map(|(seq, _)| *seq)
            .take(limit)
            .collect()
    }

    pub fn set_in_flight(&mut self, seq: u64, in_flight: bool) {
        if let Some(e) = self.entries.get_mut(&seq)
            && e.in_flight != in_flight
        {
            e.in_flight = in_flight;
            if in_flight {
                self.in_flight += 1;
            } else {
                self.in_flight -= 1;
            }
        }
    }

    /// Jobs held only in memory, oldest first; `include_in_flight` for when
    /// their uploads are about to be abandoned.
    pub fn memory_only(&self, include_in_flight: bool) -> Vec<u64> {
        self.entries
            .iter()
            .filter(|(_, e)| !e.spooled && (include_in_flight || !e.in_flight))
            .map(|(seq, _)| *seq)
            .collect()
    }

    /// Records that the job is on disk now and drops its body from memory
    /// (unless an upload still reads it).
    pub fn mark_spooled(&mut self, seq: u64) {
        if let Some(e) = self.entries.get_mut(&seq)
            && !e.spooled
        {
            e.spooled = true;
            self.spooled_jobs += 1;
            self.spooled_bytes += e.header.size;
            if !e.in_flight
                && let Some(body) = e.body.take()
            {
                self.memory_bytes -= body.len() as u64;
            }
        }
    }

    /// Drops the in-memory copy of a spooled job (its upload failed and it
    /// waits on disk now).
    pub fn release_body(&mut self, seq: u64) {
        if let Some(e) = self.entries.get_mut(&seq)
            && e.spooled
            && let Some(body) = e.body.take()
        {
            self.memory_bytes -= body.len() as u64;
        }
    }

    /// The job completed (uploaded or refused for good).
    pub fn remove(&mut self, seq: u64) -> Option<Entry<T>> {
        let entry = self.entries.remove(&seq)?;
        if let Some(open) = self.open.get_mut(&entry.header.group) {
            open.remove(&seq);
            if open.is_empty() {
                self.open.remove(&entry.header.group);
            }
        }
        self.forget(&entry);
        Some(entry)
    }

    fn forget(&mut self, entry: &Entry<T>) {
        if let Some(body) = &entry.body {
            self.memory_bytes -= body.len() as u64;
        }
        self.total_bytes -= entry.header.size;
        if entry.spooled {
            self.spooled_jobs -= 1;
            self.spooled_bytes -= entry.header.size;
        }
        if entry.in_flight {
            self.in_flight -= 1;
        }
    }

    pub fn len(&self) -> u64 {
        self.entries.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn memory_bytes(&self) -> u64 {
        self.memory_bytes
    }

    /// Bytes of every job not completed, in memory or on disk.
    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    pub fn spooled(&self) -> (u64, u64) {
        (self.spooled_jobs, self.spooled_bytes)
    }

    pub fn in_flight(&self) -> u64 {
        self.in_flight
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nova_media::ObjectMeta;

    fn header(group: &str, ordering: Ordering, size: u64) -> JobHeader<()> {
        JobHeader {
            key: format!("{group}/{size}"),
            meta: ObjectMeta::new("video/mp4", "no-cache"),
            group: group.into(),
            ordering,
            tag: (),
            size,
        }
    }

    fn push(q: &mut Queue<()>, seq: u64, group: &str, ordering: Ordering) {
        q.insert(
            seq,
            header(group, ordering, 10),
            Some(Bytes::from(vec![0; 10])),
            false,
        );
    }

    #[test]
    fn a_playlist_waits_for_the_segments_before_it() {
        use Ordering::*;
        let mut q = Queue::default();
        push(&mut q, 1, "a", Parallel); // segment
        push(&mut q, 2, "a", Parallel); // segment
        push(&mut q, 3, "a", AfterEarlier); // playlist listing 1 and 2
        push(&mut q, 4, "a", Parallel); // next segment: need not wait
        push(&mut q, 5, "b", Parallel); // another stream
        assert_eq!(q.ready(10, false), vec![1, 2, 4, 5]);
        for seq in [1, 2, 4, 5] {
            q.set_in_flight(seq, true);
        }
        assert_eq!(q.in_flight(), 4);
        assert_eq!(q.ready(10, false), Vec::<u64>::new());
        q.remove(1);
        assert_eq!(
            q.ready(10, false),
            Vec::<u64>::new(),
            "2 is still in flight"
        );
        q.remove(2);
        assert_eq!(
            q.ready(10, false),
            vec![3],
            "4 is later: it does not hold the playlist"
        );
    }

    #[test]
    fn barrier_counts_only_earlier_jobs() {
        use Ordering::*;
        let mut q = Queue::default();
        push(&mut q, 1, "a", Parallel);
        push(&mut q, 2, "a", AfterEarlier);
        push(&mut q, 3, "a", Parallel);
        q.set_in_flight(3, true);
        assert_eq!(q.ready(10, false), vec![1]);
        q.set_in_flight(1, true);
        q.remove(1);
        // 3 is later and still in flight: 2 may start.
        assert_eq!(q.ready(10, false), vec![2]);
    }

    #[test]
    fn ordered_jobs_run_one_after_another() {
        let mut q = Queue::default();
        for seq in 1..=3 {
            push(&mut q, seq, "a", Ordering::AfterEarlier);
        }
        assert_eq!(q.ready(10, false), vec![1]);
        q.remove(1);
        assert_eq!(q.ready(10, false), vec![2]);
        assert_eq!(q.ready(0, false), Vec::<u64>::new());
    }

    #[test]
    fn counts_memory_and_spool() {
        let mut q = Queue::default();
        push(&mut q, 1, "a", Ordering::Parallel);
        push(&mut q, 2, "a", Ordering::Parallel);
        q.insert(3, header("a", Ordering::Parallel, 7), None, true);
        assert_eq!(q.memory_bytes(), 20);
        assert_eq!(q.spooled(), (1, 7));
        assert_eq!(q.memory_only(false), vec![1, 2]);
        assert_eq!(q.ready(10, true), vec![1, 2]);

        q.set_in_flight(1, true);
        q.mark_spooled(1);
        assert_eq!(q.memory_bytes(), 20, "an upload still reads the body");
        q.set_in_flight(1, false);
        q.release_body(1);
        assert_eq!(q.memory_bytes(), 10);
        q.mark_spooled(2);
        assert_eq!(q.memory_bytes(), 0);
        assert_eq!(q.spooled(), (3, 27));
        assert!(q.get(2).unwrap().body.is_none());

        q.set_in_flight(3, true);
        q.remove(3);
        q.remove(1);
        q.remove(2);
        assert!(q.is_empty());
        assert_eq!(
            (q.spooled(), q.in_flight(), q.memory_bytes()),
            ((0, 0), 0, 0)
        );
    }
}
