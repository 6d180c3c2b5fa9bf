//! Resource usage in the JSON shape of `runc events --stats` ("data").
//!
//! Every field is always serialised so consumers see one stable shape. Times
//! are nanoseconds and sizes bytes on both drivers; v2 values are converted.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::fsutil::{read_flat_keyed, read_optional, read_u64};
use super::CgroupError;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub cpu: CpuStats,
    pub memory: MemoryStats,
    pub pids: PidsStats,
    pub blkio: BlkioStats,
    /// Keyed by page size as the kernel spells it, e.g. "2MB".
    pub hugetlb: BTreeMap<String, HugetlbStats>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CpuStats {
    pub usage: CpuUsage,
    pub throttling: Throttling,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CpuUsage {
    pub total: u64,
    /// Per-CPU totals; cgroup v2 does not report them, so empty there.
    pub percpu: Vec<u64>,
    pub kernel: u64,
    pub user: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Throttling {
    pub periods: u64,
    pub throttled_periods: u64,
    pub throttled_time: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryStats {
    pub cache: u64,
    pub usage: MemoryEntry,
    /// Memory plus swap, as v1 counts it (v2 figures are summed to match).
    pub swap: MemoryEntry,
    pub kernel: MemoryEntry,
    #[serde(rename = "kernelTCP")]
    pub kernel_tcp: MemoryEntry,
    /// `memory.stat` verbatim.
    pub raw: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryEntry {
    /// `u64::MAX` when unlimited on v2; v1 reports its own large sentinel.
    pub limit: u64,
    pub usage: u64,
    /// Peak usage.
    pub max: u64,
    pub failcnt: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PidsStats {
    pub current: u64,
    /// 0 means unlimited, as in runc.
    pub limit: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlkioStats {
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
    pub io_serviced_recursive: Vec<BlkioEntry>,
    #[serde(rename = "ioQueueRecursive")]
    pub io_queued_recursive: Vec<BlkioEntry>,
    pub io_service_time_recursive: Vec<BlkioEntry>,
    pub io_wait_time_recursive: Vec<BlkioEntry>,
    pub io_merged_recursive: Vec<BlkioEntry>,
    pub io_time_recursive: Vec<BlkioEntry>,
    pub sectors_recursive: Vec<BlkioEntry>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlkioEntry {
    pub major: u64,
    pub minor: u64,
    /// "Read", "Write", "Sync", "Async", "Discard", "Total", or empty for
    /// files without an operation column.
    pub op: String,
    pub value: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HugetlbStats {
    pub usage: u64,
    /// Peak usage (v1 only; v2 keeps no peak).
    pub max: u64,
    pub failcnt: u64,
}

/// Nanoseconds per clock tick, for v1's `cpuacct.stat`.
fn nanos_per_tick() -> u64 {
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    match u64::try_from(ticks) {
        Ok(t) if t > 0 => 1_000_000_000 / t,
        _ => 10_000_000,
    }
}

pub(crate) fn cpu_v1(cpu: Option<&Path>, cpuacct: Option<&Path>) -> Result<CpuStats, CgroupError> {
    let mut s = CpuStats::default();
    if let Some(dir) = cpuacct {
        s.usage.total = read_u64(&dir.join("cpuacct.usage"))?;
        if let Some(text) = read_optional(&dir.join("cpuacct.usage_percpu"))? {
            let path = dir.join("cpuacct.usage_percpu");
            s.usage.percpu = text
                .split_whitespace()
                .map(|v| super::fsutil::parse_u64(&path, v))
                .collect::<Result<_, _>>()?;
        }
        if dir.join("cpuacct.usage_user").exists() {
            s.usage.user = read_u64(&dir.join("cpuacct.usage_user"))?;
            s.usage.kernel = read_u64(&dir.join("cpuacct.usage_sys"))?;
        } else {
            let stat = read_flat_keyed(&dir.join("cpuacct.stat"))?;
            let ns = nanos_per_tick();
            s.usage.user = stat.get("user").copied().unwrap_or(0).saturating_mul(ns);
            s.usage.kernel = stat.get("system").copied().unwrap_or(0).saturating_mul(ns);
        }
    }
    if let Some(dir) = cpu {
        let stat = read_flat_keyed(&dir.join("cpu.stat"))?;
        let get = |k: &str| stat.get(k).copied().unwrap_or(0);
        s.throttling = Throttling {
            periods: get("nr_periods"),
            throttled_periods: get("nr_throttled"),
            throttled_time: get("throttled_time"),
        };
    }
    Ok(s)
}

pub(crate) fn cpu_v2(dir: &Path) -> Result<CpuStats, CgroupError> {
    let stat = read_flat_keyed(&dir.join("cpu.stat"))?;
    let us = |k: &str| stat.get(k).copied().unwrap_or(0).saturating_mul(1000);
    Ok(CpuStats {
        usage: CpuUsage {
            total: us("usage_usec"),
            percpu: Vec::new(),
            kernel: us("system_usec"),
            user: us("user_usec"),
        },
        throttling: Throttling {
            periods: stat.get("nr_periods").copied().unwrap_or(0),
            throttled_periods: stat.get("nr_throttled").copied().unwrap_or(0),
            throttled_time: us("throttled_usec"),
        },
    })
}

fn memory_entry_v1(dir: &Path, prefix: &str) -> Result<MemoryEntry, CgroupError> {
    let f = |name: &str| dir.join(format!("{prefix}{name}"));
    Ok(MemoryEntry {
        limit: read_u64(&f("limit_in_bytes"))?,
        usage: read_u64(&f("usage_in_bytes"))?,
        max: read_u64(&f("max_usage_in_bytes"))?,
        failcnt: read_u64(&f("failcnt"))?,
    })
}

pub(crate) fn memory_v1(dir: &Path) -> Result<MemoryStats, CgroupError> {
    let raw = read_flat_keyed(&dir.join("memory.stat"))?;
    Ok(MemoryStats {
        cache: raw
            .get("total_cache")
            .or_else(|| raw.get("cache"))
            .copied()
            .unwrap_or(0),
        usage: memory_entry_v1(dir, "memory.")?,
        swap: memory_entry_v1(dir, "memory.memsw.")?,
        kernel: memory_entry_v1(dir, "memory.kmem.")?,
        kernel_tcp: memory_entry_v1(dir, "memory.kmem.tcp.")?,
        raw,
    })
}

pub(crate) fn memory_v2(dir: &Path) -> Result<MemoryStats, CgroupError> {
    let raw = read_flat_keyed(&dir.join("memory.stat"))?;
    let events = read_flat_keyed(&dir.join("memory.events"))?;
    let swap_events = read_flat_keyed(&dir.join("memory.swap.events"))?;
    let usage = MemoryEntry {
        limit: read_u64(&dir.join("memory.max"))?,
        usage: read_u64(&dir.join("memory.current"))?,
        max: read_u64(&dir.join("memory.peak"))?,
        failcnt: events.get("max").copied().unwrap_or(0),
    };
    // Report memory+swap like v1 so numbers mean the same on both drivers.
    let swap = MemoryEntry {
        limit: read_u64(&dir.join("memory.swap.max"))?.saturating_add(usage.limit),
        usage: read_u64(&dir.join("memory.swap.current"))?.saturating_add(usage.usage),
        max: 0,
        failcnt: swap_events.get("max").copied().unwrap_or(0),
    };
    Ok(MemoryStats {
        cache: raw.get("file").copied().unwrap_or(0),
        usage,
        swap,
        kernel: MemoryEntry {
            usage: raw.get("kernel").copied().unwrap_or(0),
            ..MemoryEntry::default()
        },
        kernel_tcp: MemoryEntry {
            usage: raw.get("sock").copied().unwrap_or(0),
            ..MemoryEntry::default()
        },
        raw,
    })
}

pub(crate) fn pids(dir: &Path) -> Result<PidsStats, CgroupError> {
    let limit = read_u64(&dir.join("pids.max"))?;
    Ok(PidsStats {
        current: read_u64(&dir.join("pids.current"))?,
        limit: if limit == u64::MAX { 0 } else { limit },
    })
}

/// Parses v1 blkio lines: "8:0 Read 123", "8:0 123" or "Total 123".
fn blkio_entries(path: &Path) -> Result<Vec<BlkioEntry>, CgroupError> {
    let Some(text) = read_optional(path)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (dev, op, value) = match fields[..] {
            [dev, op, value] => (dev, op, value),
            [dev, value] if dev.contains(':') => (dev, "", value),
            _ => continue,
        };
        let Some((major, minor)) = dev.split_once(':') else {
            continue;
        };
        out.push(BlkioEntry {
            major: super::fsutil::parse_u64(path, major)?,
            minor: super::fsutil::parse_u64(path, minor)?,
            op: op.to_string(),
            value: super::fsutil::parse_u64(path, value)?,
        });
    }
    Ok(out)
}

pub(crate) fn blkio_v1(dir: &Path) -> Result<BlkioStats, CgroupError> {
    // Prefer the scheduler's own counters (CFQ or BFQ) and fall back to the
    // throttle layer, which sees all IO but keeps fewer statistics.
    let first = |names: &[&str]| -> Result<Vec<BlkioEntry>, CgroupError> {
        for name in names {
            let entries = blkio_entries(&dir.join(name))?;
            if !entries.is_empty() {
                return Ok(entries);
            }
        }
        Ok(Vec::new())
    };
    let stat = |base: &str| -> Result<Vec<BlkioEntry>, CgroupError> {
        first(&[
            &format!("blkio.{base}_recursive"),
            &format!("blkio.bfq.{base}_recursive"),
        ])
    };
    Ok(BlkioStats {
        io_service_bytes_recursive: first(&[
            "blkio.io_service_bytes_recursive",
            "blkio.bfq.io_service_bytes_recursive",
            "blkio.throttle.io_service_bytes_recursive",
        ])?,
        io_serviced_recursive: first(&[
            "blkio.io_serviced_recursive",
            "blkio.bfq.io_serviced_recursive",
            "blkio.throttle.io_serviced_recursive",
        ])?,
        io_queued_recursive: stat("io_queued")?,
        io_service_time_recursive: stat("io_service_time")?,
        io_wait_time_recursive: stat("io_wait_time")?,
        io_merged_recursive: stat("io_merged")?,
        io_time_recursive: stat("time")?,
        sectors_recursive: stat("sectors")?,
    })
}

pub(crate) fn blkio_v2(dir: &Path) -> Result<BlkioStats, CgroupError> {
    let path = dir.join("io.stat");
    let mut s = BlkioStats::default();
    let Some(text) = read_optional(&path)? else {
        return Ok(s);
    };
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let Some((major, minor)) = fields.next().and_then(|d| d.split_once(':')) else {
            continue;
        };
        let major = super::fsutil::parse_u64(&path, major)?;
        let minor = super::fsutil::parse_u64(&path, minor)?;
        for kv in fields {
            let Some((key, value)) = kv.split_once('=') else {
                continue;
            };
            let (list, op) = match key {
                "rbytes" => (&mut s.io_service_bytes_recursive, "Read"),
                "wbytes" => (&mut s.io_service_bytes_recursive, "Write"),
                "rios" => (&mut s.io_serviced_recursive, "Read"),
                "wios" => (&mut s.io_serviced_recursive, "Write"),
                _ => continue,
            };
            list.push(BlkioEntry {
                major,
                minor,
                op: op.to_string(),
                value: super::fsutil::parse_u64(&path, value)?,
            });
        }
    }
    Ok(s)
}

/// Page sizes with a hugetlb limit file in `dir` (`unified` selects v2 names).
fn page_sizes(dir: &Path, unified: bool) -> Result<Vec<String>, CgroupError> {
    let suffix = if unified { ".max" } else { ".limit_in_bytes" };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(CgroupError::io("listing", dir, e)),
    };
    let mut sizes = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| CgroupError::io("listing", dir, e))?;
        let name = entry.file_name();
        let Some(size) = name
            .to_str()
            .and_then(|n| n.strip_prefix("hugetlb."))
            .and_then(|n| n.strip_suffix(suffix))
            .filter(|n| !n.contains('.'))
        else {
            continue;
        };
        sizes.push(size.to_string());
    }
    sizes.sort();
    Ok(sizes)
}

pub(crate) fn hugetlb(
    dir: &Path,
    unified: bool,
) -> Result<BTreeMap<String, HugetlbStats>, CgroupError> {
    let mut out = BTreeMap::new();
    for size in page_sizes(dir, unified)? {
        let f = |name: &str| dir.join(format!("hugetlb.{size}.{name}"));
        let stats = if unified {
            HugetlbStats {
                usage: read_u64(&f("current"))?,
                max: 0,
                failcnt: read_flat_keyed(&f("events"))?
                    .get("max")
                    .copied()
                    .unwrap_or(0),
            }
        } else {
            HugetlbStats {
                usage: read_u64(&f("usage_in_bytes"))?,
                max: read_u64(&f("max_usage_in_bytes"))?,
                failcnt: read_u64(&f("failcnt"))?,
            }
        };
        out.insert(size, stats);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn shape_is_camel_case_and_stable() {
        let v = serde_json::to_value(Stats::default()).unwrap();
        for key in ["cpu", "memory", "pids", "blkio", "hugetlb"] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        assert!(v["cpu"]["usage"]["percpu"].is_array());
        assert!(v["cpu"]["throttling"]["throttledPeriods"].is_u64());
        assert!(v["memory"]["kernelTCP"]["failcnt"].is_u64());
        assert!(v["blkio"]["ioServiceBytesRecursive"].is_array());
        assert!(v["blkio"]["ioQueueRecursive"].is_array());
        assert_eq!(v["pids"], serde_json::json!({"current": 0, "limit": 0}));
    }

    #[test]
    fn parses_v2_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(
            d.join("cpu.stat"),
            "usage_usec 7\nuser_usec 5\nsystem_usec 2\nnr_periods 4\nnr_throttled 1\nthrottled_usec 3\n",
        )
        .unwrap();
        fs::write(d.join("memory.current"), "4096\n").unwrap();
        fs::write(d.join("memory.max"), "max\n").unwrap();
        fs::write(d.join("memory.swap.current"), "100\n").unwrap();
        fs::write(d.join("memory.swap.max"), "0\n").unwrap();
        fs::write(d.join("memory.events"), "low 0\nhigh 0\nmax 9\noom 0\n").unwrap();
        fs::write(d.join("memory.stat"), "anon 10\nfile 20\n").unwrap();
        fs::write(d.join("pids.current"), "3\n").unwrap();
        fs::write(d.join("pids.max"), "max\n").unwrap();
        fs::write(
            d.join("io.stat"),
            "8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n",
        )
        .unwrap();
        fs::write(d.join("hugetlb.2MB.max"), "max\n").unwrap();
        fs::write(d.join("hugetlb.2MB.rsvd.max"), "max\n").unwrap();
        fs::write(d.join("hugetlb.2MB.current"), "0\n").unwrap();
        fs::write(d.join("hugetlb.2MB.events"), "max 2\n").unwrap();

        let cpu = cpu_v2(d).unwrap();
        assert_eq!(cpu.usage.total, 7000);
        assert_eq!(cpu.usage.user, 5000);
        assert_eq!(cpu.throttling.throttled_time, 3000);
        let mem = memory_v2(d).unwrap();
        assert_eq!(mem.usage.usage, 4096);
        assert_eq!(mem.usage.limit, u64::MAX);
        assert_eq!(mem.usage.failcnt, 9);
        assert_eq!(mem.swap.usage, 4196);
        assert_eq!(mem.cache, 20);
        let p = pids(d).unwrap();
        assert_eq!((p.current, p.limit), (3, 0));
        let io = blkio_v2(d).unwrap();
        assert_eq!(io.io_service_bytes_recursive.len(), 2);
        assert_eq!(io.io_service_bytes_recursive[1].op, "Write");
        assert_eq!(io.io_serviced_recursive[0].value, 1);
        let h = hugetlb(d, true).unwrap();
        assert_eq!(h.keys().collect::<Vec<_>>(), vec!["2MB"]);
        assert_eq!(h["2MB"].failcnt, 2);
    }

    #[test]
    fn parses_v1_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(d.join("cpuacct.usage"), "1000\n").unwrap();
        fs::write(d.join("cpuacct.usage_percpu"), "600 400 \n").unwrap();
        fs::write(d.join("cpuacct.usage_user"), "700\n").unwrap();
        fs::write(d.join("cpuacct.usage_sys"), "300\n").unwrap();
        fs::write(
            d.join("cpu.stat"),
            "nr_periods 5\nnr_throttled 2\nthrottled_time 99\n",
        )
        .unwrap();
        fs::write(d.join("memory.usage_in_bytes"), "8192\n").unwrap();
        fs::write(d.join("memory.limit_in_bytes"), "9223372036854771712\n").unwrap();
        fs::write(d.join("memory.stat"), "cache 5\ntotal_cache 6\n").unwrap();
        fs::write(
            d.join("blkio.throttle.io_service_bytes_recursive"),
            "8:0 Read 4096\n8:0 Write 0\n8:0 Total 4096\nTotal 4096\n",
        )
        .unwrap();
        fs::write(d.join("blkio.bfq.io_service_bytes_recursive"), "").unwrap();
        fs::write(d.join("hugetlb.2MB.limit_in_bytes"), "0\n").unwrap();
        fs::write(d.join("hugetlb.2MB.rsvd.limit_in_bytes"), "0\n").unwrap();
        fs::write(d.join("hugetlb.2MB.failcnt"), "4\n").unwrap();

        let cpu = cpu_v1(Some(d), Some(d)).unwrap();
        assert_eq!(cpu.usage.percpu, vec![600, 400]);
        assert_eq!((cpu.usage.user, cpu.usage.kernel), (700, 300));
        assert_eq!(cpu.throttling.throttled_periods, 2);
        let mem = memory_v1(d).unwrap();
        assert_eq!(mem.usage.usage, 8192);
        assert_eq!(mem.cache, 6);
        let io = blkio_v1(d).unwrap();
        assert_eq!(io.io_service_bytes_recursive.len(), 3);
        assert_eq!(io.io_service_bytes_recursive[0].value, 4096);
        let h = hugetlb(d, false).unwrap();
        assert_eq!(h.len(), 1);
        assert_eq!(h["2MB"].failcnt, 4);
    }
}
