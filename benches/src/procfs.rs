//! CPU time of processes and of the machine, from Linux `/proc`.
//!
//! Times are in clock ticks (`sysconf(_SC_CLK_TCK)`, usually 100 per second);
//! [`ticks_to_seconds`] converts them.

use std::collections::HashMap;

/// The fields of `/proc/<pid>/stat` the harness uses (proc(5)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    pub pid: i32,
    pub ppid: i32,
    /// User and system time of the process (all its threads, dead ones included).
    pub utime: u64,
    pub stime: u64,
    /// User and system time of its children that it has waited for.
    pub cutime: u64,
    pub cstime: u64,
}

impl ProcStat {
    /// Parses one `/proc/<pid>/stat` line. The command name (field 2) is in
    /// parentheses and may itself contain spaces and parentheses, so fields
    /// are counted from the last `)`.
    pub fn parse(line: &str) -> Option<Self> {
        let open = line.find('(')?;
        let close = line.rfind(')')?;
        let pid = line[..open].trim().parse().ok()?;
        // After ")": field 3 (state) is index 0, so field n is index n - 3.
        let rest: Vec<&str> = line.get(close + 1..)?.split_whitespace().collect();
        let field = |n: usize| -> Option<u64> { rest.get(n - 3)?.parse().ok() };
        Some(Self {
            pid,
            ppid: rest.get(1)?.parse().ok()?,
            utime: field(14)?,
            stime: field(15)?,
            cutime: field(16)?,
            cstime: field(17)?,
        })
    }

    /// Its own CPU time.
    pub fn own_ticks(&self) -> u64 {
        self.utime + self.stime
    }

    /// Its own CPU time and that of the children it has reaped.
    pub fn total_ticks(&self) -> u64 {
        self.own_ticks() + self.cutime + self.cstime
    }
}

pub fn read_stat(pid: i32) -> Option<ProcStat> {
    ProcStat::parse(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Every process on the machine (processes vanishing mid-scan are skipped).
pub fn all_processes() -> Vec<ProcStat> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(read_stat)
        .collect()
}

/// `root` and its living descendants, skipping the subtrees of `exclude`.
pub fn process_tree(root: i32, exclude: &[i32]) -> Vec<ProcStat> {
    let all = all_processes();
    let mut children: HashMap<i32, Vec<&ProcStat>> = HashMap::new();
    for process in &all {
        children.entry(process.ppid).or_default().push(process);
    }
    let mut tree = Vec::new();
    let mut stack: Vec<&ProcStat> = all.iter().filter(|p| p.pid == root).collect();
    // Bounded: a pid appears once in /proc, so each is pushed at most once.
    while let Some(process) = stack.pop() {
        if exclude.contains(&process.pid) {
            continue;
        }
        tree.push(*process);
        if let Some(kids) = children.get(&process.pid) {
            stack.extend(kids.iter().copied());
        }
    }
    tree
}

/// CPU ticks used so far by `root`'s process tree: each living process's own
/// time plus what it has reaped from children that exited, so a child that
/// exits between two readings is still counted (in its parent's `cutime`).
pub fn tree_ticks(root: i32, exclude: &[i32]) -> u64 {
    process_tree(root, exclude)
        .iter()
        .map(ProcStat::total_ticks)
        .sum()
}

/// Nanoseconds the process's living threads have run, from
/// `/proc/<pid>/task/*/schedstat` (field 1). Unlike the tick counts this has
/// no 10 ms granularity, but threads that have exited are missing from it.
pub fn living_threads_ns(pid: i32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(|task| {
            let text = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
            text.split_whitespace().next()?.parse::<u64>().ok()
        })
        .sum()
}

/// One reading of a process tree's CPU time, two ways.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuReading {
    /// [`tree_ticks`]: complete, in clock ticks.
    pub ticks: u64,
    /// Sum of [`living_threads_ns`] over the tree: precise, but blind to
    /// threads and processes that exit.
    pub ns: u64,
    pub processes: usize,
}

impl CpuReading {
    pub fn of_tree(root: i32, exclude: &[i32]) -> Self {
        let tree = process_tree(root, exclude);
        Self {
            ticks: tree.iter().map(ProcStat::total_ticks).sum(),
            ns: tree.iter().map(|p| living_threads_ns(p.pid)).sum(),
            processes: tree.len(),
        }
    }

    /// CPU seconds from `earlier` to `self`, and whether they come from the
    /// nanosecond counters. Those are used when they agree with the tick
    /// counts to within the ticks' rounding (each of utime, stime, cutime and
    /// cstime is truncated to a whole tick, in each reading), which they do
    /// unless a thread or process of the tree exited in between; then the
    /// tick counts are the answer.
    pub fn seconds_since(&self, earlier: &Self) -> (f64, CpuSource) {
        let tick_seconds = ticks_to_seconds(self.ticks.saturating_sub(earlier.ticks));
        let ns_seconds = self.ns.saturating_sub(earlier.ns) as f64 / 1e9;
        let processes = self.processes.max(earlier.processes).max(1) as f64;
        let rounding = 4.0 * processes * ticks_to_seconds(1) + 0.001;
        if self.ns >= earlier.ns && (ns_seconds - tick_seconds).abs() <= rounding {
            (ns_seconds, CpuSource::Schedstat)
        } else {
            (tick_seconds, CpuSource::Ticks)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuSource {
    /// `/proc/<pid>/task/*/schedstat`, nanoseconds.
    Schedstat,
    /// utime + stime (+ cutime + cstime) from `/proc/<pid>/stat`, clock ticks.
    Ticks,
}

impl CpuSource {
    pub fn name(self) -> &'static str {
        match self {
            Self::Schedstat => "schedstat",
            Self::Ticks => "stat ticks",
        }
    }
}

/// CPU ticks of the children this process has waited for.
pub fn reaped_children_ticks() -> u64 {
    read_stat(std::process::id() as i32).map_or(0, |s| s.cutime + s.cstime)
}

pub fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as u64 } else { 100 }
}

pub fn ticks_to_seconds(ticks: u64) -> f64 {
    ticks as f64 / clock_ticks_per_second() as f64
}

/// Machine-wide CPU ticks from the first line of `/proc/stat`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MachineTicks {
    pub total: u64,
    /// idle + iowait
    pub idle: u64,
}

impl MachineTicks {
    pub fn read() -> Self {
        std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|text| Self::parse(text.lines().next()?))
            .unwrap_or_default()
    }

    pub fn parse(cpu_line: &str) -> Option<Self> {
        let mut fields = cpu_line.split_whitespace();
        if fields.next()? != "cpu" {
            return None;
        }
        // user nice system idle iowait irq softirq steal (guest time is
        // already included in user and nice).
        let values: Vec<u64> = fields.take(8).filter_map(|v| v.parse().ok()).collect();
        if values.len() < 5 {
            return None;
        }
        Some(Self {
            total: values.iter().sum(),
            idle: values[3] + values[4],
        })
    }

    /// Share of all cores busy between `self` and a later reading, 0..=1.
    pub fn busy_since(&self, earlier: &Self) -> f64 {
        let total = self.total.saturating_sub(earlier.total);
        let idle = self.idle.saturating_sub(earlier.idle);
        if total == 0 {
            return 0.0;
        }
        (total - idle.min(total)) as f64 / total as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_lines_with_awkward_names() {
        let line = "4242 (nginx: worker (x)) S 4241 4241 4241 0 -1 4194624 120 0 0 0 \
                    17 9 3 2 20 0 1 0 1234 12345678 1024 18446744073709551615";
        let stat = ProcStat::parse(line).unwrap();
        assert_eq!(
            stat,
            ProcStat {
                pid: 4242,
                ppid: 4241,
                utime: 17,
                stime: 9,
                cutime: 3,
                cstime: 2
            }
        );
        assert_eq!(stat.own_ticks(), 26);
        assert_eq!(stat.total_ticks(), 31);
    }

    #[test]
    fn reads_this_process_and_its_tree() {
        let me = std::process::id() as i32;
        let stat = read_stat(me).unwrap();
        assert_eq!(stat.pid, me);
        assert!(process_tree(me, &[]).iter().any(|p| p.pid == me));
        assert!(process_tree(me, &[me]).is_empty());
        assert!(clock_ticks_per_second() > 0);
    }

    #[test]
    fn precise_and_tick_readings_agree_on_a_busy_thread() {
        let me = std::process::id() as i32;
        let before = CpuReading::of_tree(me, &[]);
        // Spin until this thread has run 300 ms of CPU time, not wall time:
        // on a loaded machine 300 ms of wall time can be much less CPU.
        let start = thread_cpu_time();
        let mut x = 0u64;
        while thread_cpu_time() - start < std::time::Duration::from_millis(300) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let after = CpuReading::of_tree(me, &[]);
        let (seconds, source) = after.seconds_since(&before);
        assert!(seconds > 0.2, "{seconds} s from {source:?}");
        assert!(before.ns > 0);
    }

    /// The calling thread's CPU time, from the kernel's per-thread clock.
    fn thread_cpu_time() -> std::time::Duration {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `now` is a valid, writable timespec for the call.
        let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
        assert_eq!(status, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
        std::time::Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
    }

    #[test]
    fn falls_back_to_ticks_when_threads_vanish() {
        let ticks = clock_ticks_per_second();
        let before = CpuReading {
            ticks: 0,
            ns: 0,
            processes: 1,
        };
        // 1 s by ticks, but a thread that ran 0.5 s exited: 0.5 s by ns.
        let after = CpuReading {
            ticks,
            ns: 500_000_000,
            processes: 1,
        };
        assert_eq!(after.seconds_since(&before), (1.0, CpuSource::Ticks));
        let after = CpuReading {
            ticks,
            ns: 1_004_000_000,
            processes: 1,
        };
        assert_eq!(after.seconds_since(&before), (1.004, CpuSource::Schedstat));
    }

    #[test]
    fn computes_machine_busy_share() {
        let a = MachineTicks::parse("cpu  100 0 50 800 50 0 0 0 0 0").unwrap();
        let b = MachineTicks::parse("cpu  200 0 100 850 50 0 0 0 0 0").unwrap();
        assert_eq!(
            a,
            MachineTicks {
                total: 1000,
                idle: 850
            }
        );
        assert!((b.busy_since(&a) - 0.75).abs() < 1e-9);
        assert!(MachineTicks::parse("cpu0 1 2 3 4 5").is_none());
    }
}
