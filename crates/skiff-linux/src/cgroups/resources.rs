//! Validation of `linux.resources` and its translation into control-file writes.
//!
//! Planning is separate from writing so that every value is checked (including
//! against the kernel's current state, through [`Probe`]) before the first
//! byte reaches the hierarchy: a bad spec leaves nothing half applied.

use oci_spec::runtime::{
    LinuxBlockIo, LinuxCpu, LinuxDeviceCgroup, LinuxDeviceType, LinuxHugepageLimit, LinuxMemory,
    LinuxNetwork, LinuxResources, LinuxThrottleDevice,
};

use super::CgroupError;

const RES: &str = "linux.resources";

/// Largest major and minor numbers a `dev_t` can carry (12 and 20 bits).
const MAX_MAJOR: i64 = (1 << 12) - 1;
const MAX_MINOR: i64 = (1 << 20) - 1;

/// Kernel bounds for CFS bandwidth control, in microseconds.
const MIN_CFS_PERIOD: u64 = 1_000;
const MAX_CFS_PERIOD: u64 = 1_000_000;
const MIN_CFS_QUOTA: i64 = 1_000;

/// `cpu.shares` range the kernel accepts without clamping.
const MIN_SHARES: u64 = 2;
const MAX_SHARES: u64 = 262_144;

/// blkio weight range of the OCI spec (the v1 scale).
const MIN_BLKIO_WEIGHT: u16 = 10;
const MAX_BLKIO_WEIGHT: u16 = 1000;

/// One value to write into one control file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileWrite {
    /// Controller whose directory holds the file (`"cgroup"` for core files).
    pub controller: String,
    pub file: String,
    pub value: String,
    /// Spec field the value came from, for error messages.
    pub field: String,
}

/// Everything `apply` will do, already validated.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub writes: Vec<FileWrite>,
    /// Device rules when the spec lists any. The v1 planner also turns them
    /// into `devices.*` writes; v2 compiles them into a BPF program.
    pub devices: Option<Vec<DeviceRule>>,
}

impl Plan {
    fn push(
        &mut self,
        controller: &str,
        file: impl Into<String>,
        value: impl Into<String>,
        field: impl Into<String>,
    ) {
        self.writes.push(FileWrite {
            controller: controller.to_string(),
            file: file.into(),
            value: value.into(),
            field: field.into(),
        });
    }
}

/// Read-only view of the cgroup being configured.
pub(crate) trait Probe {
    /// Fails with a clear error when `controller` cannot be used for `field`.
    fn require(&self, controller: &str, field: &str) -> Result<(), CgroupError>;
    /// Current contents of `file` in the directory of `controller`, `None` if absent.
    fn read_file(&self, controller: &str, file: &str) -> Option<String>;
    fn has_file(&self, controller: &str, file: &str) -> bool;
    /// File names in the directory of `controller`.
    fn list_files(&self, controller: &str) -> Vec<String>;
    /// True when a v1 driver reaches `controller` through the unified
    /// hierarchy of a hybrid host, so v2 file names apply.
    fn via_unified(&self, _controller: &str) -> bool {
        false
    }
}

/// Which file names and conversions to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    V1,
    V2,
}

/// A byte or count limit after validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Limit {
    Value(u64),
    Unlimited,
}

impl Limit {
    fn v1(self) -> String {
        match self {
            Limit::Value(v) => v.to_string(),
            Limit::Unlimited => "-1".to_string(),
        }
    }

    fn v2(self) -> String {
        match self {
            Limit::Value(v) => v.to_string(),
            Limit::Unlimited => "max".to_string(),
        }
    }

    fn as_u64(self) -> u64 {
        match self {
            Limit::Value(v) => v,
            Limit::Unlimited => u64::MAX,
        }
    }
}

/// `0` means "not set" (runc's convention, which podman and docker rely on),
/// `-1` unlimited, anything else must be positive.
fn limit(value: Option<i64>, field: &str) -> Result<Option<Limit>, CgroupError> {
    match value {
        None | Some(0) => Ok(None),
        Some(-1) => Ok(Some(Limit::Unlimited)),
        Some(v) if v > 0 => Ok(Some(Limit::Value(v.unsigned_abs()))),
        Some(v) => Err(CgroupError::invalid(
            field,
            v,
            "must be > 0 or -1 for unlimited",
        )),
    }
}

/// Device access after validation: bit 0 mknod, 1 read, 2 write, the
/// kernel's `BPF_DEVCG_ACC_*` encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Access(pub u8);

impl Access {
    pub const MKNOD: u8 = 1;
    pub const READ: u8 = 2;
    pub const WRITE: u8 = 4;
    pub const ALL: Access = Access(Self::MKNOD | Self::READ | Self::WRITE);

    fn letters(self) -> String {
        let mut s = String::new();
        if self.0 & Self::READ != 0 {
            s.push('r');
        }
        if self.0 & Self::WRITE != 0 {
            s.push('w');
        }
        if self.0 & Self::MKNOD != 0 {
            s.push('m');
        }
        s
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeviceKind {
    All,
    Block,
    Char,
}

/// One validated entry of `linux.resources.devices`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DeviceRule {
    pub allow: bool,
    pub kind: DeviceKind,
    /// `None` matches any number.
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: Access,
}

impl DeviceRule {
    /// The line v1's `devices.allow`/`devices.deny` expect.
    pub fn v1_line(&self) -> String {
        let num = |n: Option<u32>| n.map_or_else(|| "*".to_string(), |n| n.to_string());
        let kind = match self.kind {
            DeviceKind::All => "a",
            DeviceKind::Block => "b",
            DeviceKind::Char => "c",
        };
        format!(
            "{kind} {}:{} {}",
            num(self.major),
            num(self.minor),
            self.access.letters()
        )
    }

    /// True when the rule decides every request it sees.
    pub fn matches_everything(&self) -> bool {
        self.kind == DeviceKind::All
            && self.major.is_none()
            && self.minor.is_none()
            && self.access == Access::ALL
    }
}

pub(crate) fn device_rules(rules: &[LinuxDeviceCgroup]) -> Result<Vec<DeviceRule>, CgroupError> {
    rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let field = format!("{RES}.devices[{i}]");
            let kind =
                match r.typ().unwrap_or(LinuxDeviceType::A) {
                    LinuxDeviceType::A => DeviceKind::All,
                    LinuxDeviceType::B => DeviceKind::Block,
                    LinuxDeviceType::C | LinuxDeviceType::U => DeviceKind::Char,
                    LinuxDeviceType::P => return Err(CgroupError::invalid(
                        format!("{field}.type"),
                        "\"p\"",
                        "the device cgroup only controls \"a\", \"b\" and \"c\" devices; FIFOs \
                         need no rule",
                    )),
                };
            let number = |n: Option<i64>, max: i64, what: &str| match n {
                // -1 is how runc and some generators spell the wildcard.
                None | Some(-1) => Ok(None),
                Some(v) if (0..=max).contains(&v) => Ok(u32::try_from(v).ok()),
                Some(v) => Err(CgroupError::invalid(
                    format!("{field}.{what}"),
                    v,
                    format!("must be between 0 and {max}, or unset/-1 for any"),
                )),
            };
            let major = number(r.major(), MAX_MAJOR, "major")?;
            let minor = number(r.minor(), MAX_MINOR, "minor")?;
            let access = match r.access().as_deref() {
                None | Some("") => Access::ALL,
                Some(s) => {
                    let mut bits = 0;
                    for c in s.chars() {
                        bits |= match c {
                            'r' => Access::READ,
                            'w' => Access::WRITE,
                            'm' => Access::MKNOD,
                            _ => {
                                return Err(CgroupError::invalid(
                                    format!("{field}.access"),
                                    format!("{s:?}"),
                                    "must be a combination of r, w and m",
                                ))
                            }
                        };
                    }
                    Access(bits)
                }
            };
            Ok(DeviceRule {
                allow: r.allow(),
                kind,
                major,
                minor,
                access,
            })
        })
        .collect()
}

/// v1 `cpu.shares` to v2 `cpu.weight`: maps [2, 262144] onto [1, 10000].
pub fn shares_to_weight(shares: u64) -> u64 {
    1 + (shares.clamp(MIN_SHARES, MAX_SHARES) - MIN_SHARES) * 9999 / (MAX_SHARES - MIN_SHARES)
}

/// v1 blkio weight to v2 `io.weight`: maps [10, 1000] onto [1, 10000].
pub fn blkio_weight_to_io_weight(weight: u16) -> u64 {
    let w = u64::from(weight.clamp(MIN_BLKIO_WEIGHT, MAX_BLKIO_WEIGHT));
    1 + (w - u64::from(MIN_BLKIO_WEIGHT)) * 9999 / u64::from(MAX_BLKIO_WEIGHT - MIN_BLKIO_WEIGHT)
}

/// Builds the plan for `r`.
pub(crate) fn plan(
    r: &LinuxResources,
    version: Version,
    probe: &dyn Probe,
) -> Result<Plan, CgroupError> {
    let mut plan = Plan::default();
    if let Some(cpu) = r.cpu() {
        plan_cpu(cpu, version, probe, &mut plan)?;
    }
    if let Some(memory) = r.memory() {
        match version {
            Version::V1 => memory_v1(memory, probe, &mut plan)?,
            Version::V2 => memory_v2(memory, probe, &mut plan)?,
        }
    }
    if let Some(pids) = r.pids() {
        let field = format!("{RES}.pids.limit");
        let value = match pids.limit() {
            // 0 means "not set" for runc, which podman and docker rely on.
            0 => None,
            l if l > 0 => Some(l.to_string()),
            -1 => Some("max".to_string()),
            l => {
                return Err(CgroupError::invalid(
                    field,
                    l,
                    "must be > 0, or -1 for unlimited",
                ))
            }
        };
        if let Some(value) = value {
            probe.require("pids", &field)?;
            plan.push("pids", "pids.max", value, field);
        }
    }
    if let Some(blkio) = r.block_io() {
        plan_blkio(blkio, version, probe, &mut plan)?;
    }
    if let Some(limits) = r.hugepage_limits() {
        plan_hugetlb(limits, version, probe, &mut plan)?;
    }
    if let Some(network) = r.network() {
        plan_network(network, version, probe, &mut plan)?;
    }
    if let Some(rdma) = r.rdma() {
        let field = format!("{RES}.rdma");
        if !rdma.is_empty() {
            probe.require("rdma", &field)?;
        }
        // Sorted so the write order, and therefore any error, is reproducible.
        let mut devices: Vec<_> = rdma.iter().collect();
        devices.sort_by_key(|(device, _)| device.as_str());
        for (device, l) in devices {
            if device.is_empty() || device.contains(char::is_whitespace) {
                return Err(CgroupError::invalid(
                    &field,
                    format!("{device:?}"),
                    "keys must be RDMA device names without whitespace",
                ));
            }
            let fmt = |v: Option<u32>| v.map_or_else(|| "max".to_string(), |v| v.to_string());
            plan.push(
                "rdma",
                "rdma.max",
                format!(
                    "{device} hca_handle={} hca_object={}",
                    fmt(l.hca_handles()),
                    fmt(l.hca_objects())
                ),
                format!("{field}[{device:?}]"),
            );
        }
    }
    if let Some(unified) = r.unified().as_ref().filter(|u| !u.is_empty()) {
        let field = format!("{RES}.unified");
        if version == Version::V1 {
            return Err(CgroupError::unsupported(
                field,
                "cgroup v2 files cannot be set with the v1 cgroup driver; remove \
                 linux.resources.unified or run on a cgroup v2 host",
            ));
        }
        // Sorted so the write order, and therefore any error, is reproducible.
        let mut keys: Vec<&String> = unified.keys().collect();
        keys.sort();
        for key in keys {
            let field = format!("{field}[{key:?}]");
            let value = &unified[key];
            let Some((controller, _)) = key.split_once('.') else {
                return Err(CgroupError::invalid(
                    field,
                    format!("{key:?}"),
                    "keys are cgroup v2 interface file names like \"memory.high\"",
                ));
            };
            if key.contains(['/', '\0']) || controller.is_empty() {
                return Err(CgroupError::invalid(
                    field,
                    format!("{key:?}"),
                    "keys are plain file names inside the container's cgroup",
                ));
            }
            if matches!(
                key.as_str(),
                "cgroup.procs" | "cgroup.threads" | "cgroup.kill" | "cgroup.freeze"
            ) {
                return Err(CgroupError::unsupported(
                    field,
                    "this file controls membership or lifecycle, not resources; the runtime \
                     manages it",
                ));
            }
            if controller != "cgroup" {
                probe.require(controller, &field)?;
            }
            if !probe.has_file(controller, key) {
                return Err(CgroupError::unsupported(
                    field,
                    format!("the kernel has no interface file {key:?} in this cgroup"),
                ));
            }
            plan.push(controller, key.as_str(), value.as_str(), field);
        }
    }
    if let Some(devices) = r.devices().as_ref().filter(|d| !d.is_empty()) {
        let rules = device_rules(devices)?;
        if version == Version::V1 {
            let field = format!("{RES}.devices");
            probe.require("devices", &field)?;
            // The list is an allowlist evaluated in order; start from "deny
            // everything" so v1 and v2 (whose BPF filter denies by default) agree.
            plan.push("devices", "devices.deny", "a *:* rwm", &field);
            for (i, rule) in rules.iter().enumerate() {
                let file = if rule.allow {
                    "devices.allow"
                } else {
                    "devices.deny"
                };
                plan.push("devices", file, rule.v1_line(), format!("{field}[{i}]"));
            }
        }
        plan.devices = Some(rules);
    }
    Ok(plan)
}

fn plan_cpu(
    cpu: &LinuxCpu,
    version: Version,
    probe: &dyn Probe,
    plan: &mut Plan,
) -> Result<(), CgroupError> {
    let f = |name: &str| format!("{RES}.cpu.{name}");

    let shares = match cpu.shares() {
        None | Some(0) => None,
        Some(s) if (MIN_SHARES..=MAX_SHARES).contains(&s) => Some(s),
        Some(s) => {
            return Err(CgroupError::invalid(
                f("shares"),
                s,
                format!("must be between {MIN_SHARES} and {MAX_SHARES}"),
            ))
        }
    };
    let period = match cpu.period() {
        None | Some(0) => None,
        Some(p) if (MIN_CFS_PERIOD..=MAX_CFS_PERIOD).contains(&p) => Some(p),
        Some(p) => {
            return Err(CgroupError::invalid(
                f("period"),
                p,
                format!("must be between {MIN_CFS_PERIOD} and {MAX_CFS_PERIOD} microseconds"),
            ))
        }
    };
    let quota = match cpu.quota() {
        None | Some(0) => None,
        Some(-1) => Some(Limit::Unlimited),
        Some(q) if q >= MIN_CFS_QUOTA => Some(Limit::Value(q.unsigned_abs())),
        Some(q) => {
            return Err(CgroupError::invalid(
                f("quota"),
                q,
                format!("must be at least {MIN_CFS_QUOTA} microseconds, or -1 for unlimited"),
            ))
        }
    };
    let idle = match cpu.idle() {
        None => None,
        Some(i @ (0 | 1)) => Some(i),
        Some(i) => return Err(CgroupError::invalid(f("idle"), i, "must be 0 or 1")),
    };
    let cpus = cpu.cpus().as_deref().filter(|s| !s.is_empty());
    let mems = cpu.mems().as_deref().filter(|s| !s.is_empty());
    if let Some(cpus) = cpus {
        check_cpu_list(cpus, &f("cpus"))?;
    }
    if let Some(mems) = mems {
        check_cpu_list(mems, &f("mems"))?;
    }
    let rt_runtime = cpu.realtime_runtime().filter(|&r| r != 0);
    let rt_period = cpu.realtime_period().filter(|&p| p != 0);
    if let Some(r) = rt_runtime.filter(|&r| r < -1) {
        return Err(CgroupError::invalid(
            f("realtimeRuntime"),
            r,
            "must be >= 0 microseconds, or -1 for unlimited",
        ));
    }
    if let (Some(r), Some(p)) = (rt_runtime, rt_period) {
        if r > 0 && r.unsigned_abs() > p {
            return Err(CgroupError::invalid(
                f("realtimeRuntime"),
                r,
                format!("must not exceed realtimePeriod ({p})"),
            ));
        }
    }
    let burst = cpu.burst();

    let needs_cpu = shares.is_some()
        || period.is_some()
        || quota.is_some()
        || idle.is_some()
        || burst.is_some()
        || rt_runtime.is_some()
        || rt_period.is_some();
    if needs_cpu {
        probe.require("cpu", &format!("{RES}.cpu"))?;
    }
    if cpus.is_some() || mems.is_some() {
        probe.require("cpuset", &f(if cpus.is_some() { "cpus" } else { "mems" }))?;
    }

    let need_file = |file: &str, field: String, why: &str| {
        if probe.has_file("cpu", file) {
            Ok(())
        } else {
            Err(CgroupError::unsupported(
                field,
                format!("this kernel has no {file} ({why}); leave the field unset"),
            ))
        }
    };

    match version {
        Version::V1 => {
            if let Some(s) = shares {
                plan.push("cpu", "cpu.shares", s.to_string(), f("shares"));
            }
            // Period before quota: the quota is checked against the period in effect.
            if let Some(p) = period {
                plan.push("cpu", "cpu.cfs_period_us", p.to_string(), f("period"));
            }
            if let Some(q) = quota {
                plan.push("cpu", "cpu.cfs_quota_us", q.v1(), f("quota"));
            }
            if let Some(b) = burst {
                need_file("cpu.cfs_burst_us", f("burst"), "needs Linux 5.14")?;
                plan.push("cpu", "cpu.cfs_burst_us", b.to_string(), f("burst"));
            }
            if rt_period.is_some() || rt_runtime.is_some() {
                need_file(
                    "cpu.rt_runtime_us",
                    f("realtimeRuntime"),
                    "the kernel was built without CONFIG_RT_GROUP_SCHED",
                )?;
            }
            if let Some(p) = rt_period {
                plan.push(
                    "cpu",
                    "cpu.rt_period_us",
                    p.to_string(),
                    f("realtimePeriod"),
                );
            }
            if let Some(r) = rt_runtime {
                plan.push(
                    "cpu",
                    "cpu.rt_runtime_us",
                    r.to_string(),
                    f("realtimeRuntime"),
                );
            }
            if let Some(i) = idle {
                need_file("cpu.idle", f("idle"), "needs Linux 5.15")?;
                plan.push("cpu", "cpu.idle", i.to_string(), f("idle"));
            }
        }
        Version::V2 => {
            if rt_runtime.is_some() || rt_period.is_some() {
                let which = if rt_runtime.is_some() {
                    "realtimeRuntime"
                } else {
                    "realtimePeriod"
                };
                return Err(CgroupError::unsupported(
                    f(which),
                    "cgroup v2 has no real-time CPU budget; leave realtimeRuntime and \
                     realtimePeriod unset",
                ));
            }
            if let Some(s) = shares {
                plan.push(
                    "cpu",
                    "cpu.weight",
                    shares_to_weight(s).to_string(),
                    f("shares"),
                );
            }
            if quota.is_some() || period.is_some() {
                let quota = match quota {
                    Some(q) => q.v2(),
                    // Only the period changes: keep whatever quota is in force,
                    // which cpu.max would otherwise reset to "max".
                    None => probe
                        .read_file("cpu", "cpu.max")
                        .and_then(|s| s.split_whitespace().next().map(str::to_string))
                        .unwrap_or_else(|| "max".to_string()),
                };
                let value = match period {
                    Some(p) => format!("{quota} {p}"),
                    None => quota,
                };
                let field = if period.is_some() && cpu.quota().is_none() {
                    f("period")
                } else {
                    f("quota")
                };
                plan.push("cpu", "cpu.max", value, field);
            }
            if let Some(b) = burst {
                need_file("cpu.max.burst", f("burst"), "needs Linux 5.14")?;
                plan.push("cpu", "cpu.max.burst", b.to_string(), f("burst"));
            }
            if let Some(i) = idle {
                need_file("cpu.idle", f("idle"), "needs Linux 5.15")?;
                plan.push("cpu", "cpu.idle", i.to_string(), f("idle"));
            }
        }
    }
    if let Some(cpus) = cpus {
        plan.push("cpuset", "cpuset.cpus", cpus, f("cpus"));
    }
    if let Some(mems) = mems {
        plan.push("cpuset", "cpuset.mems", mems, f("mems"));
    }
    Ok(())
}

/// Checks the kernel's list syntax, e.g. `0-3,5,7-8`.
fn check_cpu_list(list: &str, field: &str) -> Result<(), CgroupError> {
    let bad = || {
        CgroupError::invalid(
            field,
            format!("{list:?}"),
            "must be a comma-separated list of numbers and ranges, e.g. \"0-3,5\"",
        )
    };
    for part in list.trim().split(',') {
        let (lo, hi) = part.split_once('-').unwrap_or((part, part));
        let lo: u32 = lo.trim().parse().map_err(|_| bad())?;
        let hi: u32 = hi.trim().parse().map_err(|_| bad())?;
        if lo > hi {
            return Err(bad());
        }
    }
    Ok(())
}

struct MemoryValues {
    limit: Option<Limit>,
    reservation: Option<Limit>,
    swap: Option<Limit>,
    kernel: Option<Limit>,
    kernel_tcp: Option<Limit>,
}

fn memory_values(m: &LinuxMemory) -> Result<MemoryValues, CgroupError> {
    let f = |name: &str| format!("{RES}.memory.{name}");
    let v = MemoryValues {
        limit: limit(m.limit(), &f("limit"))?,
        reservation: limit(m.reservation(), &f("reservation"))?,
        swap: limit(m.swap(), &f("swap"))?,
        kernel: limit(m.kernel(), &f("kernel"))?,
        kernel_tcp: limit(m.kernel_tcp(), &f("kernelTCP"))?,
    };
    if let (Some(Limit::Value(l)), Some(Limit::Value(s))) = (v.limit, v.swap) {
        if s < l {
            return Err(CgroupError::invalid(
                f("swap"),
                s,
                format!(
                    "memory+swap must be >= memory.limit ({l}); swap counts memory and swap \
                     together"
                ),
            ));
        }
    }
    if let Some(s) = m.swappiness() {
        if s > 100 {
            return Err(CgroupError::invalid(f("swappiness"), s, "must be 0..100"));
        }
    }
    Ok(v)
}

/// Refuses a limit below current usage when `checkBeforeUpdate` asks for it.
fn check_before_update(
    m: &LinuxMemory,
    limit: Option<Limit>,
    usage_file: &str,
    probe: &dyn Probe,
) -> Result<(), CgroupError> {
    if m.check_before_update() != Some(true) {
        return Ok(());
    }
    let Some(Limit::Value(limit)) = limit else {
        return Ok(());
    };
    let usage = probe
        .read_file("memory", usage_file)
        .and_then(|s| s.trim().parse::<u64>().ok());
    match usage {
        Some(usage) if usage > limit => Err(CgroupError::invalid(
            format!("{RES}.memory.limit"),
            limit,
            format!(
                "below the current usage of {usage} bytes and checkBeforeUpdate is set; raise \
                 the limit or free memory first"
            ),
        )),
        _ => Ok(()),
    }
}

fn memory_v1(m: &LinuxMemory, probe: &dyn Probe, plan: &mut Plan) -> Result<(), CgroupError> {
    let f = |name: &str| format!("{RES}.memory.{name}");
    let v = memory_values(m)?;
    let any = v.limit.is_some()
        || v.reservation.is_some()
        || v.swap.is_some()
        || v.kernel.is_some()
        || v.kernel_tcp.is_some()
        || m.swappiness().is_some()
        || m.disable_oom_killer().is_some();
    if !any {
        return Ok(());
    }
    probe.require("memory", &format!("{RES}.memory"))?;
    check_before_update(m, v.limit, "memory.usage_in_bytes", probe)?;

    const MEMSW: &str = "memory.memsw.limit_in_bytes";
    let has_memsw = probe.has_file("memory", MEMSW);
    let swap = match v.swap {
        // Without swap accounting there is no memory+swap limit to lift.
        Some(Limit::Unlimited) if !has_memsw => None,
        Some(Limit::Value(_)) if !has_memsw => {
            return Err(CgroupError::unsupported(
                f("swap"),
                "swap accounting is off in this kernel (no memory.memsw.limit_in_bytes); boot \
                 with swapaccount=1 or leave swap unset",
            ))
        }
        // Lifting the memory limit alone would be refused while memory+swap
        // is still capped below it, so lift both, as runc does.
        None if v.limit == Some(Limit::Unlimited) && has_memsw => Some(Limit::Unlimited),
        other => other,
    };
    let write_limit = |plan: &mut Plan, l: Limit| {
        plan.push("memory", "memory.limit_in_bytes", l.v1(), f("limit"));
    };
    let write_swap = |plan: &mut Plan, s: Limit| {
        plan.push("memory", MEMSW, s.v1(), f("swap"));
    };
    match (v.limit, swap) {
        (Some(l), Some(s)) => {
            // The kernel keeps memory+swap >= memory at every step, so the
            // order depends on whether the limit grows past the current memsw.
            let current_memsw = probe
                .read_file("memory", MEMSW)
                .and_then(|s| s.trim().parse::<u64>().ok())
                .unwrap_or(u64::MAX);
            if l.as_u64() > current_memsw {
                write_swap(plan, s);
                write_limit(plan, l);
            } else {
                write_limit(plan, l);
                write_swap(plan, s);
            }
        }
        (Some(l), None) => write_limit(plan, l),
        (None, Some(s)) => write_swap(plan, s),
        (None, None) => {}
    }
    if let Some(r) = v.reservation {
        plan.push(
            "memory",
            "memory.soft_limit_in_bytes",
            r.v1(),
            f("reservation"),
        );
    }
    for (value, file, name) in [
        (v.kernel, "memory.kmem.limit_in_bytes", "kernel"),
        (v.kernel_tcp, "memory.kmem.tcp.limit_in_bytes", "kernelTCP"),
    ] {
        if let Some(value) = value {
            if !probe.has_file("memory", file) {
                return Err(CgroupError::unsupported(
                    f(name),
                    format!("this kernel has no {file} (kernel memory limits were removed); leave it unset"),
                ));
            }
            plan.push("memory", file, value.v1(), f(name));
        }
    }
    if let Some(s) = m.swappiness() {
        plan.push(
            "memory",
            "memory.swappiness",
            s.to_string(),
            f("swappiness"),
        );
    }
    if let Some(d) = m.disable_oom_killer() {
        plan.push(
            "memory",
            "memory.oom_control",
            if d { "1" } else { "0" },
            f("disableOOMKiller"),
        );
    }
    Ok(())
}

fn memory_v2(m: &LinuxMemory, probe: &dyn Probe, plan: &mut Plan) -> Result<(), CgroupError> {
    let f = |name: &str| format!("{RES}.memory.{name}");
    let v = memory_values(m)?;
    if v.kernel_tcp.is_some() {
        return Err(CgroupError::unsupported(
            f("kernelTCP"),
            "cgroup v2 has no separate TCP memory limit (socket memory counts toward \
             memory.max); leave it unset",
        ));
    }
    if m.swappiness().is_some() {
        return Err(CgroupError::unsupported(
            f("swappiness"),
            "cgroup v2 has no per-cgroup swappiness; leave it unset",
        ));
    }
    if m.disable_oom_killer() == Some(true) {
        return Err(CgroupError::unsupported(
            f("disableOOMKiller"),
            "cgroup v2 cannot disable the OOM killer; leave it unset or false",
        ));
    }
    if v.kernel.is_some() {
        // Deprecated by the OCI spec and ignored by the kernel since 5.16.
        tracing::warn!("linux.resources.memory.kernel is ignored with cgroup v2");
    }
    let any = v.limit.is_some() || v.reservation.is_some() || v.swap.is_some();
    if !any {
        return Ok(());
    }
    probe.require("memory", &format!("{RES}.memory"))?;
    check_before_update(m, v.limit, "memory.current", probe)?;

    const SWAP_MAX: &str = "memory.swap.max";
    let has_swap = probe.has_file("memory", SWAP_MAX);
    // v1 expresses swap as memory+swap; v2 limits swap alone.
    let swap_max = match (v.swap, v.limit) {
        (Some(Limit::Unlimited), _) => Some("max".to_string()),
        // An unlimited memory limit lifts swap too, matching v1 behaviour.
        (None, Some(Limit::Unlimited)) => Some("max".to_string()),
        (None, _) => None,
        (Some(Limit::Value(s)), Some(Limit::Value(l))) => Some((s - l).to_string()),
        (Some(Limit::Value(s)), Some(Limit::Unlimited)) => {
            return Err(CgroupError::invalid(
                f("swap"),
                s,
                "a memory+swap limit needs a finite memory.limit (it is -1)",
            ))
        }
        (Some(Limit::Value(s)), None) => {
            // An update may change swap alone: derive it from the limit in force.
            let current = probe
                .read_file("memory", "memory.max")
                .and_then(|c| c.trim().parse::<u64>().ok());
            match current {
                Some(l) if s >= l => Some((s - l).to_string()),
                Some(l) => {
                    return Err(CgroupError::invalid(
                        f("swap"),
                        s,
                        format!("memory+swap must be >= the current memory limit ({l})"),
                    ))
                }
                None => {
                    return Err(CgroupError::invalid(
                        f("swap"),
                        s,
                        "a memory+swap limit needs memory.limit to be set too",
                    ))
                }
            }
        }
    };
    let swap_max = match swap_max {
        Some(s) if !has_swap && s == "max" => None,
        Some(_) if !has_swap => {
            return Err(CgroupError::unsupported(
                f("swap"),
                "swap accounting is off in this kernel (no memory.swap.max); boot with \
                 swapaccount=1 or leave swap unset",
            ))
        }
        other => other,
    };
    if let Some(l) = v.limit {
        plan.push("memory", "memory.max", l.v2(), f("limit"));
    }
    if let Some(s) = swap_max {
        plan.push("memory", SWAP_MAX, s, f("swap"));
    }
    if let Some(r) = v.reservation {
        plan.push("memory", "memory.low", r.v2(), f("reservation"));
    }
    Ok(())
}

fn device_number(major: i64, minor: i64, field: &str) -> Result<String, CgroupError> {
    if !(0..=MAX_MAJOR).contains(&major) {
        return Err(CgroupError::invalid(
            format!("{field}.major"),
            major,
            format!("must be between 0 and {MAX_MAJOR}"),
        ));
    }
    if !(0..=MAX_MINOR).contains(&minor) {
        return Err(CgroupError::invalid(
            format!("{field}.minor"),
            minor,
            format!("must be between 0 and {MAX_MINOR}"),
        ));
    }
    Ok(format!("{major}:{minor}"))
}

fn blkio_weight(w: u16, field: &str) -> Result<u16, CgroupError> {
    if (MIN_BLKIO_WEIGHT..=MAX_BLKIO_WEIGHT).contains(&w) {
        Ok(w)
    } else {
        Err(CgroupError::invalid(
            field,
            w,
            format!("must be between {MIN_BLKIO_WEIGHT} and {MAX_BLKIO_WEIGHT}"),
        ))
    }
}

fn plan_blkio(
    b: &LinuxBlockIo,
    version: Version,
    probe: &dyn Probe,
    plan: &mut Plan,
) -> Result<(), CgroupError> {
    let f = |name: &str| format!("{RES}.blockIO.{name}");
    let weight = b.weight().filter(|&w| w != 0);
    let leaf_weight = b.leaf_weight().filter(|&w| w != 0);
    let weight_devices = b.weight_device().as_deref().unwrap_or_default();
    let throttles: [(&str, &Option<Vec<LinuxThrottleDevice>>, &str, &str); 4] = [
        (
            "throttleReadBpsDevice",
            b.throttle_read_bps_device(),
            "blkio.throttle.read_bps_device",
            "rbps",
        ),
        (
            "throttleWriteBpsDevice",
            b.throttle_write_bps_device(),
            "blkio.throttle.write_bps_device",
            "wbps",
        ),
        (
            "throttleReadIOPSDevice",
            b.throttle_read_iops_device(),
            "blkio.throttle.read_iops_device",
            "riops",
        ),
        (
            "throttleWriteIOPSDevice",
            b.throttle_write_iops_device(),
            "blkio.throttle.write_iops_device",
            "wiops",
        ),
    ];
    let any_throttle = throttles
        .iter()
        .any(|(_, list, _, _)| list.as_ref().is_some_and(|l| !l.is_empty()));
    if weight.is_none() && leaf_weight.is_none() && weight_devices.is_empty() && !any_throttle {
        return Ok(());
    }
    let controller = match version {
        Version::V1 => "blkio",
        Version::V2 => "io",
    };
    probe.require(controller, &format!("{RES}.blockIO"))?;

    if let Some(w) = weight {
        blkio_weight(w, &f("weight"))?;
    }
    if let Some(w) = leaf_weight {
        blkio_weight(w, &f("leafWeight"))?;
    }
    let no_weight_file = |field: String, files: &str| {
        CgroupError::unsupported(
            field,
            format!(
                "the kernel offers no {files}: IO weights need the BFQ IO scheduler on the \
                 device (echo bfq > /sys/block/<dev>/queue/scheduler); leave it unset"
            ),
        )
    };

    match version {
        Version::V1 => {
            // CFQ's blkio.weight is gone since Linux 5.0; BFQ provides blkio.bfq.weight.
            let weight_file = ["blkio.weight", "blkio.bfq.weight"]
                .into_iter()
                .find(|file| probe.has_file("blkio", file));
            if let Some(w) = weight {
                let file = weight_file.ok_or_else(|| {
                    no_weight_file(f("weight"), "blkio.weight or blkio.bfq.weight")
                })?;
                plan.push("blkio", file, w.to_string(), f("weight"));
            }
            if let Some(w) = leaf_weight {
                if !probe.has_file("blkio", "blkio.leaf_weight") {
                    return Err(CgroupError::unsupported(
                        f("leafWeight"),
                        "the kernel has no blkio.leaf_weight (it went with the CFQ scheduler in \
                         Linux 5.0); leave it unset",
                    ));
                }
                plan.push("blkio", "blkio.leaf_weight", w.to_string(), f("leafWeight"));
            }
            for (i, d) in weight_devices.iter().enumerate() {
                let field = format!("{}[{i}]", f("weightDevice"));
                let dev = device_number(d.major(), d.minor(), &field)?;
                if let Some(w) = d.weight() {
                    let w = blkio_weight(w, &format!("{field}.weight"))?;
                    let file = match weight_file {
                        Some("blkio.weight") => "blkio.weight_device",
                        // Newer kernels split per-device BFQ weights into their
                        // own file; older ones take "maj:min weight" in bfq.weight.
                        Some(_) if probe.has_file("blkio", "blkio.bfq.weight_device") => {
                            "blkio.bfq.weight_device"
                        }
                        Some(other) => other,
                        None => {
                            return Err(no_weight_file(
                                format!("{field}.weight"),
                                "blkio.weight_device or blkio.bfq.weight",
                            ))
                        }
                    };
                    plan.push(
                        "blkio",
                        file,
                        format!("{dev} {w}"),
                        format!("{field}.weight"),
                    );
                }
                if let Some(w) = d.leaf_weight() {
                    let w = blkio_weight(w, &format!("{field}.leafWeight"))?;
                    if !probe.has_file("blkio", "blkio.leaf_weight_device") {
                        return Err(CgroupError::unsupported(
                            format!("{field}.leafWeight"),
                            "the kernel has no blkio.leaf_weight_device (it went with the CFQ \
                             scheduler); leave it unset",
                        ));
                    }
                    plan.push(
                        "blkio",
                        "blkio.leaf_weight_device",
                        format!("{dev} {w}"),
                        format!("{field}.leafWeight"),
                    );
                }
            }
            for (name, list, file, _) in throttles {
                for (i, t) in list.as_deref().unwrap_or_default().iter().enumerate() {
                    let field = format!("{}[{i}]", f(name));
                    let dev = device_number(t.major(), t.minor(), &field)?;
                    if !probe.has_file("blkio", file) {
                        return Err(CgroupError::unsupported(
                            field,
                            format!("the kernel has no {file} (CONFIG_BLK_DEV_THROTTLING is off)"),
                        ));
                    }
                    // A rate of 0 removes the rule, which is what "no limit" means here.
                    plan.push("blkio", file, format!("{dev} {}", t.rate()), field);
                }
            }
        }
        Version::V2 => {
            if leaf_weight.is_some() || weight_devices.iter().any(|d| d.leaf_weight().is_some()) {
                return Err(CgroupError::unsupported(
                    f("leafWeight"),
                    "cgroup v2 has no leaf weights; leave leafWeight unset",
                ));
            }
            // BFQ takes the v1 scale as is; io.weight needs the conversion.
            let bfq = probe.has_file("io", "io.bfq.weight");
            let has_io_weight = probe.has_file("io", "io.weight");
            let weight_value = |w: u16, field: String| -> Result<(&str, u64), CgroupError> {
                if bfq {
                    Ok(("io.bfq.weight", u64::from(w)))
                } else if has_io_weight {
                    Ok(("io.weight", blkio_weight_to_io_weight(w)))
                } else {
                    Err(no_weight_file(field, "io.bfq.weight or io.weight"))
                }
            };
            if let Some(w) = weight {
                let (file, value) = weight_value(w, f("weight"))?;
                let value = if bfq {
                    value.to_string()
                } else {
                    format!("default {value}")
                };
                plan.push("io", file, value, f("weight"));
            }
            for (i, d) in weight_devices.iter().enumerate() {
                let field = format!("{}[{i}]", f("weightDevice"));
                let dev = device_number(d.major(), d.minor(), &field)?;
                if let Some(w) = d.weight() {
                    let field = format!("{field}.weight");
                    let w = blkio_weight(w, &field)?;
                    let (file, value) = weight_value(w, field.clone())?;
                    plan.push("io", file, format!("{dev} {value}"), field);
                }
            }
            for (name, list, _, key) in throttles {
                for (i, t) in list.as_deref().unwrap_or_default().iter().enumerate() {
                    let field = format!("{}[{i}]", f(name));
                    let dev = device_number(t.major(), t.minor(), &field)?;
                    if !probe.has_file("io", "io.max") {
                        return Err(CgroupError::unsupported(
                            field,
                            "the kernel has no io.max (CONFIG_BLK_DEV_THROTTLING is off)",
                        ));
                    }
                    let rate = match t.rate() {
                        0 => "max".to_string(),
                        r => r.to_string(),
                    };
                    plan.push("io", "io.max", format!("{dev} {key}={rate}"), field);
                }
            }
        }
    }
    Ok(())
}

/// Checks the `<number><unit>` spelling the kernel uses in hugetlb file names.
fn check_page_size(size: &str, field: &str) -> Result<(), CgroupError> {
    let digits = size.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &size[digits.len()..];
    let ok = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
        && matches!(unit, "KB" | "MB" | "GB" | "TB");
    if ok {
        Ok(())
    } else {
        Err(CgroupError::invalid(
            field,
            format!("{size:?}"),
            "must be a size like \"2MB\" or \"1GB\"",
        ))
    }
}

fn plan_hugetlb(
    limits: &[LinuxHugepageLimit],
    version: Version,
    probe: &dyn Probe,
    plan: &mut Plan,
) -> Result<(), CgroupError> {
    if limits.is_empty() {
        return Ok(());
    }
    probe.require("hugetlb", &format!("{RES}.hugepageLimits"))?;
    let v2_names = version == Version::V2 || probe.via_unified("hugetlb");
    let (limit_suffix, rsvd_suffix) = if v2_names {
        ("max", "rsvd.max")
    } else {
        ("limit_in_bytes", "rsvd.limit_in_bytes")
    };
    for (i, h) in limits.iter().enumerate() {
        let field = format!("{RES}.hugepageLimits[{i}]");
        let size = h.page_size();
        check_page_size(size, &format!("{field}.pageSize"))?;
        let value = match h.limit() {
            -1 => Limit::Unlimited,
            l if l >= 0 => Limit::Value(l.unsigned_abs()),
            l => {
                return Err(CgroupError::invalid(
                    format!("{field}.limit"),
                    l,
                    "must be >= 0 bytes, or -1 for unlimited",
                ))
            }
        };
        let value = if v2_names { value.v2() } else { value.v1() };
        let file = format!("hugetlb.{size}.{limit_suffix}");
        if !probe.has_file("hugetlb", &file) {
            let mut available: Vec<String> = probe
                .list_files("hugetlb")
                .into_iter()
                .filter_map(|f| {
                    f.strip_prefix("hugetlb.")?
                        .strip_suffix(&format!(".{limit_suffix}"))
                        .filter(|s| !s.ends_with(".rsvd"))
                        .map(str::to_string)
                })
                .collect();
            available.sort();
            return Err(CgroupError::unsupported(
                format!("{field}.pageSize"),
                format!(
                    "huge page size {size:?} is not supported by this kernel (available: {})",
                    if available.is_empty() {
                        "none".to_string()
                    } else {
                        available.join(", ")
                    }
                ),
            ));
        }
        plan.push("hugetlb", file, value.clone(), format!("{field}.limit"));
        // The reservation counter must move with the fault counter or
        // reservations could exceed the limit.
        let rsvd = format!("hugetlb.{size}.{rsvd_suffix}");
        if probe.has_file("hugetlb", &rsvd) {
            plan.push("hugetlb", rsvd, value, format!("{field}.limit"));
        }
    }
    Ok(())
}

fn plan_network(
    n: &LinuxNetwork,
    version: Version,
    probe: &dyn Probe,
    plan: &mut Plan,
) -> Result<(), CgroupError> {
    let f = |name: &str| format!("{RES}.network.{name}");
    let priorities = n.priorities().as_deref().unwrap_or_default();
    if version == Version::V2 && (n.class_id().is_some() || !priorities.is_empty()) {
        let which = if n.class_id().is_some() {
            "classID"
        } else {
            "priorities"
        };
        return Err(CgroupError::unsupported(
            f(which),
            "cgroup v2 has no net_cls/net_prio controllers; classify traffic with nftables \
             (socket cgroupv2) or eBPF instead, and leave linux.resources.network unset",
        ));
    }
    if let Some(id) = n.class_id() {
        probe.require("net_cls", &f("classID"))?;
        plan.push("net_cls", "net_cls.classid", id.to_string(), f("classID"));
    }
    if !priorities.is_empty() {
        probe.require("net_prio", &f("priorities"))?;
    }
    for (i, p) in priorities.iter().enumerate() {
        let field = format!("{}[{i}]", f("priorities"));
        let name = p.name();
        // IFNAMSIZ is 16 including the terminating NUL.
        if name.is_empty()
            || name.len() > 15
            || name.contains(|c: char| c.is_whitespace() || c == '/')
        {
            return Err(CgroupError::invalid(
                format!("{field}.name"),
                format!("{name:?}"),
                "must be a network interface name of 1 to 15 characters without spaces or '/'",
            ));
        }
        plan.push(
            "net_prio",
            "net_prio.ifpriomap",
            format!("{name} {}", p.priority()),
            field,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{
        LinuxBlockIoBuilder, LinuxCpuBuilder, LinuxDeviceCgroupBuilder, LinuxHugepageLimitBuilder,
        LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResourcesBuilder, LinuxThrottleDeviceBuilder,
        LinuxWeightDeviceBuilder,
    };
    use std::collections::{BTreeMap, HashMap};

    /// A probe over an in-memory set of files, with every controller present
    /// unless listed in `missing`.
    #[derive(Default)]
    struct MapProbe {
        files: BTreeMap<String, String>,
        missing: Vec<&'static str>,
    }

    impl MapProbe {
        fn with(files: &[(&str, &str)]) -> Self {
            MapProbe {
                files: files
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                missing: vec![],
            }
        }
    }

    impl Probe for MapProbe {
        fn require(&self, controller: &str, field: &str) -> Result<(), CgroupError> {
            if self.missing.contains(&controller) {
                Err(CgroupError::ControllerUnavailableV1 {
                    field: field.into(),
                    controller: controller.into(),
                    mounted: "cpu".into(),
                })
            } else {
                Ok(())
            }
        }
        fn read_file(&self, _: &str, file: &str) -> Option<String> {
            self.files.get(file).cloned()
        }
        fn has_file(&self, _: &str, file: &str) -> bool {
            self.files.contains_key(file)
        }
        fn list_files(&self, _: &str) -> Vec<String> {
            self.files.keys().cloned().collect()
        }
    }

    fn writes(plan: &Plan) -> Vec<(&str, &str)> {
        plan.writes
            .iter()
            .map(|w| (w.file.as_str(), w.value.as_str()))
            .collect()
    }

    fn err_msg(r: &LinuxResources, version: Version, probe: &MapProbe) -> String {
        plan(r, version, probe).expect_err("must fail").to_string()
    }

    #[test]
    fn conversions() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(blkio_weight_to_io_weight(10), 1);
        assert_eq!(blkio_weight_to_io_weight(500), 4950);
        assert_eq!(blkio_weight_to_io_weight(1000), 10_000);
    }

    #[test]
    fn memory_v1_orders_limit_and_swap() {
        let r = LinuxResourcesBuilder::default()
            .memory(
                LinuxMemoryBuilder::default()
                    .limit(200_i64)
                    .swap(400_i64)
                    .swappiness(10_u64)
                    .disable_oom_killer(true)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        // Current memsw is small: it must grow before the limit can.
        let probe = MapProbe::with(&[("memory.memsw.limit_in_bytes", "100\n")]);
        let p = plan(&r, Version::V1, &probe).unwrap();
        assert_eq!(
            writes(&p),
            vec![
                ("memory.memsw.limit_in_bytes", "400"),
                ("memory.limit_in_bytes", "200"),
                ("memory.swappiness", "10"),
                ("memory.oom_control", "1"),
            ]
        );
        // Current memsw is large: shrink the limit first.
        let probe = MapProbe::with(&[("memory.memsw.limit_in_bytes", "1000\n")]);
        let p = plan(&r, Version::V1, &probe).unwrap();
        assert_eq!(writes(&p)[0], ("memory.limit_in_bytes", "200"));
    }

    #[test]
    fn memory_v2_converts_swap() {
        let r = LinuxResourcesBuilder::default()
            .memory(
                LinuxMemoryBuilder::default()
                    .limit(1_000_i64)
                    .swap(3_000_i64)
                    .reservation(500_i64)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        let probe = MapProbe::with(&[("memory.swap.max", "max")]);
        let p = plan(&r, Version::V2, &probe).unwrap();
        assert_eq!(
            writes(&p),
            vec![
                ("memory.max", "1000"),
                ("memory.swap.max", "2000"),
                ("memory.low", "500")
            ]
        );
        // Unlimited memory lifts swap too.
        let r = LinuxResourcesBuilder::default()
            .memory(LinuxMemoryBuilder::default().limit(-1_i64).build().unwrap())
            .build()
            .unwrap();
        let p = plan(&r, Version::V2, &probe).unwrap();
        assert_eq!(
            writes(&p),
            vec![("memory.max", "max"), ("memory.swap.max", "max")]
        );
        // Swap alone is derived from the limit in force.
        let r = LinuxResourcesBuilder::default()
            .memory(
                LinuxMemoryBuilder::default()
                    .swap(5_000_i64)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        let probe = MapProbe::with(&[("memory.swap.max", "max"), ("memory.max", "4000\n")]);
        let p = plan(&r, Version::V2, &probe).unwrap();
        assert_eq!(writes(&p), vec![("memory.swap.max", "1000")]);
    }

    #[test]
    fn memory_validation_messages() {
        let mem = |m: LinuxMemory| LinuxResourcesBuilder::default().memory(m).build().unwrap();
        let probe = MapProbe::with(&[("memory.memsw.limit_in_bytes", "1")]);
        let msg = err_msg(
            &mem(LinuxMemoryBuilder::default().limit(-5_i64).build().unwrap()),
            Version::V1,
            &probe,
        );
        assert_eq!(
            msg,
            "linux.resources.memory.limit: value -5 is invalid (must be > 0 or -1 for unlimited)"
        );
        let msg = err_msg(
            &mem(LinuxMemoryBuilder::default()
                .limit(100_i64)
                .swap(50_i64)
                .build()
                .unwrap()),
            Version::V1,
            &probe,
        );
        assert!(
            msg.starts_with("linux.resources.memory.swap: value 50 is invalid"),
            "{msg}"
        );
        let msg = err_msg(
            &mem(LinuxMemoryBuilder::default()
                .swappiness(101_u64)
                .build()
                .unwrap()),
            Version::V1,
            &probe,
        );
        assert!(
            msg.starts_with("linux.resources.memory.swappiness"),
            "{msg}"
        );
        let msg = err_msg(
            &mem(LinuxMemoryBuilder::default()
                .swappiness(10_u64)
                .build()
                .unwrap()),
            Version::V2,
            &probe,
        );
        assert!(msg.contains("no per-cgroup swappiness"), "{msg}");
        // checkBeforeUpdate compares with current usage.
        let probe = MapProbe::with(&[("memory.current", "5000\n")]);
        let msg = err_msg(
            &mem(LinuxMemoryBuilder::default()
                .limit(4096_i64)
                .check_before_update(true)
                .build()
                .unwrap()),
            Version::V2,
            &probe,
        );
        assert!(msg.contains("below the current usage of 5000"), "{msg}");
        // Swap without accounting is refused rather than dropped.
        let msg = err_msg(
            &mem(LinuxMemoryBuilder::default()
                .limit(4096_i64)
                .swap(8192_i64)
                .build()
                .unwrap()),
            Version::V2,
            &MapProbe::default(),
        );
        assert!(msg.contains("swap accounting is off"), "{msg}");
    }

    #[test]
    fn cpu_v1_and_v2() {
        let r = LinuxResourcesBuilder::default()
            .cpu(
                LinuxCpuBuilder::default()
                    .shares(1024_u64)
                    .quota(50_000_i64)
                    .period(100_000_u64)
                    .cpus("0")
                    .mems("0")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        let probe = MapProbe::default();
        assert_eq!(
            writes(&plan(&r, Version::V1, &probe).unwrap()),
            vec![
                ("cpu.shares", "1024"),
                ("cpu.cfs_period_us", "100000"),
                ("cpu.cfs_quota_us", "50000"),
                ("cpuset.cpus", "0"),
                ("cpuset.mems", "0"),
            ]
        );
        assert_eq!(
            writes(&plan(&r, Version::V2, &probe).unwrap()),
            vec![
                ("cpu.weight", "39"),
                ("cpu.max", "50000 100000"),
                ("cpuset.cpus", "0"),
                ("cpuset.mems", "0"),
            ]
        );
        // Period alone keeps the quota in force.
        let r = LinuxResourcesBuilder::default()
            .cpu(
                LinuxCpuBuilder::default()
                    .period(20_000_u64)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        let probe = MapProbe::with(&[("cpu.max", "30000 100000\n")]);
        assert_eq!(
            writes(&plan(&r, Version::V2, &probe).unwrap()),
            vec![("cpu.max", "30000 20000")]
        );
        let r = LinuxResourcesBuilder::default()
            .cpu(LinuxCpuBuilder::default().quota(-1_i64).build().unwrap())
            .build()
            .unwrap();
        assert_eq!(
            writes(&plan(&r, Version::V2, &probe).unwrap()),
            vec![("cpu.max", "max")]
        );
        assert_eq!(
            writes(&plan(&r, Version::V1, &probe).unwrap()),
            vec![("cpu.cfs_quota_us", "-1")]
        );
    }

    #[test]
    fn cpu_validation_messages() {
        let cpu = |c: LinuxCpu| LinuxResourcesBuilder::default().cpu(c).build().unwrap();
        let probe = MapProbe::default();
        let cases = [
            (
                LinuxCpuBuilder::default().quota(-5_i64).build().unwrap(),
                "linux.resources.cpu.quota: value -5 is invalid",
            ),
            (
                LinuxCpuBuilder::default().period(10_u64).build().unwrap(),
                "linux.resources.cpu.period: value 10 is invalid",
            ),
            (
                LinuxCpuBuilder::default().shares(1_u64).build().unwrap(),
                "linux.resources.cpu.shares: value 1 is invalid",
            ),
            (
                LinuxCpuBuilder::default().cpus("0-x").build().unwrap(),
                "linux.resources.cpu.cpus: value \"0-x\" is invalid",
            ),
            (
                LinuxCpuBuilder::default().cpus("3-1").build().unwrap(),
                "linux.resources.cpu.cpus",
            ),
            (
                LinuxCpuBuilder::default().idle(2_i64).build().unwrap(),
                "linux.resources.cpu.idle: value 2 is invalid (must be 0 or 1)",
            ),
        ];
        for (c, want) in cases {
            let msg = err_msg(&cpu(c), Version::V1, &probe);
            assert!(msg.starts_with(want), "{msg}");
        }
        let rt = cpu(LinuxCpuBuilder::default()
            .realtime_runtime(1000_i64)
            .build()
            .unwrap());
        assert!(err_msg(&rt, Version::V2, &probe).contains("no real-time CPU budget"));
        // v1 without CONFIG_RT_GROUP_SCHED.
        assert!(err_msg(&rt, Version::V1, &probe).contains("CONFIG_RT_GROUP_SCHED"));
        let probe = MapProbe::with(&[("cpu.rt_runtime_us", "0")]);
        let rt = cpu(LinuxCpuBuilder::default()
            .realtime_runtime(1000_i64)
            .realtime_period(500_u64)
            .build()
            .unwrap());
        assert!(err_msg(&rt, Version::V1, &probe).contains("must not exceed realtimePeriod"));
    }

    #[test]
    fn pids_values() {
        let pids = |l: i64| {
            LinuxResourcesBuilder::default()
                .pids(LinuxPidsBuilder::default().limit(l).build().unwrap())
                .build()
                .unwrap()
        };
        let probe = MapProbe::default();
        assert_eq!(
            writes(&plan(&pids(10), Version::V1, &probe).unwrap()),
            vec![("pids.max", "10")]
        );
        assert_eq!(
            writes(&plan(&pids(-1), Version::V2, &probe).unwrap()),
            vec![("pids.max", "max")]
        );
        assert!(plan(&pids(0), Version::V2, &probe)
            .unwrap()
            .writes
            .is_empty());
        assert!(err_msg(&pids(-2), Version::V2, &probe)
            .starts_with("linux.resources.pids.limit: value -2 is invalid"));
    }

    #[test]
    fn blkio_v1_and_v2() {
        let b = LinuxBlockIoBuilder::default()
            .weight(500_u16)
            .weight_device(vec![LinuxWeightDeviceBuilder::default()
                .major(8_i64)
                .minor(0_i64)
                .weight(300_u16)
                .build()
                .unwrap()])
            .throttle_read_bps_device(vec![LinuxThrottleDeviceBuilder::default()
                .major(8_i64)
                .minor(0_i64)
                .rate(1_048_576_u64)
                .build()
                .unwrap()])
            .throttle_write_iops_device(vec![LinuxThrottleDeviceBuilder::default()
                .major(8_i64)
                .minor(16_i64)
                .rate(0_u64)
                .build()
                .unwrap()])
            .build()
            .unwrap();
        let r = LinuxResourcesBuilder::default()
            .block_io(b)
            .build()
            .unwrap();
        let v1 = MapProbe::with(&[
            ("blkio.bfq.weight", "100"),
            ("blkio.throttle.read_bps_device", ""),
            ("blkio.throttle.write_iops_device", ""),
        ]);
        assert_eq!(
            writes(&plan(&r, Version::V1, &v1).unwrap()),
            vec![
                ("blkio.bfq.weight", "500"),
                ("blkio.bfq.weight", "8:0 300"),
                ("blkio.throttle.read_bps_device", "8:0 1048576"),
                ("blkio.throttle.write_iops_device", "8:16 0"),
            ]
        );
        let v1_split = MapProbe::with(&[
            ("blkio.bfq.weight", "100"),
            ("blkio.bfq.weight_device", ""),
            ("blkio.throttle.read_bps_device", ""),
            ("blkio.throttle.write_iops_device", ""),
        ]);
        assert_eq!(
            writes(&plan(&r, Version::V1, &v1_split).unwrap())[1],
            ("blkio.bfq.weight_device", "8:0 300")
        );
        let v2 = MapProbe::with(&[("io.weight", "default 100"), ("io.max", "")]);
        assert_eq!(
            writes(&plan(&r, Version::V2, &v2).unwrap()),
            vec![
                ("io.weight", "default 4950"),
                ("io.weight", "8:0 2930"),
                ("io.max", "8:0 rbps=1048576"),
                ("io.max", "8:16 wiops=max"),
            ]
        );
        let msg = err_msg(&r, Version::V1, &MapProbe::default());
        assert!(
            msg.starts_with("linux.resources.blockIO.weight: the kernel offers no"),
            "{msg}"
        );
        let bad = LinuxResourcesBuilder::default()
            .block_io(
                LinuxBlockIoBuilder::default()
                    .weight(5_u16)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        assert!(err_msg(&bad, Version::V2, &v2).contains("between 10 and 1000"));
    }

    #[test]
    fn hugetlb_names_and_sizes() {
        let r = LinuxResourcesBuilder::default()
            .hugepage_limits(vec![LinuxHugepageLimitBuilder::default()
                .page_size("2MB")
                .limit(4_194_304_i64)
                .build()
                .unwrap()])
            .build()
            .unwrap();
        let v1 = MapProbe::with(&[
            ("hugetlb.2MB.limit_in_bytes", ""),
            ("hugetlb.1GB.limit_in_bytes", ""),
        ]);
        assert_eq!(
            writes(&plan(&r, Version::V1, &v1).unwrap()),
            vec![("hugetlb.2MB.limit_in_bytes", "4194304")]
        );
        let v2 = MapProbe::with(&[("hugetlb.2MB.max", ""), ("hugetlb.2MB.rsvd.max", "")]);
        assert_eq!(
            writes(&plan(&r, Version::V2, &v2).unwrap()),
            vec![
                ("hugetlb.2MB.max", "4194304"),
                ("hugetlb.2MB.rsvd.max", "4194304")
            ]
        );
        let v2 = MapProbe::with(&[("hugetlb.1GB.max", ""), ("hugetlb.1GB.rsvd.max", "")]);
        let msg = err_msg(&r, Version::V2, &v2);
        assert_eq!(
            msg,
            "linux.resources.hugepageLimits[0].pageSize: huge page size \"2MB\" is not \
             supported by this kernel (available: 1GB)"
        );
        let bad = LinuxResourcesBuilder::default()
            .hugepage_limits(vec![LinuxHugepageLimitBuilder::default()
                .page_size("2 MB")
                .limit(1_i64)
                .build()
                .unwrap()])
            .build()
            .unwrap();
        assert!(err_msg(&bad, Version::V2, &v2).contains("like \"2MB\""));
    }

    #[test]
    fn devices_v1_lines_and_validation() {
        let dev = |allow: bool, t: LinuxDeviceType, major: Option<i64>, access: &str| {
            let mut b = LinuxDeviceCgroupBuilder::default()
                .allow(allow)
                .typ(t)
                .access(access);
            if let Some(m) = major {
                b = b.major(m).minor(3_i64);
            }
            b.build().unwrap()
        };
        let r = LinuxResourcesBuilder::default()
            .devices(vec![
                dev(false, LinuxDeviceType::A, None, "rwm"),
                dev(true, LinuxDeviceType::C, Some(1), "rw"),
            ])
            .build()
            .unwrap();
        let p = plan(&r, Version::V1, &MapProbe::default()).unwrap();
        assert_eq!(
            writes(&p),
            vec![
                ("devices.deny", "a *:* rwm"),
                ("devices.deny", "a *:* rwm"),
                ("devices.allow", "c 1:3 rw"),
            ]
        );
        let p = plan(&r, Version::V2, &MapProbe::default()).unwrap();
        assert!(p.writes.is_empty());
        assert_eq!(p.devices.as_ref().map(Vec::len), Some(2));

        for (rule, want) in [
            (
                dev(true, LinuxDeviceType::C, Some(1), "rwx"),
                "linux.resources.devices[0].access",
            ),
            (
                dev(true, LinuxDeviceType::P, None, "rw"),
                "linux.resources.devices[0].type",
            ),
            (
                dev(true, LinuxDeviceType::C, Some(5000), "rw"),
                "linux.resources.devices[0].major: value 5000 is invalid",
            ),
        ] {
            let r = LinuxResourcesBuilder::default()
                .devices(vec![rule])
                .build()
                .unwrap();
            let msg = err_msg(&r, Version::V2, &MapProbe::default());
            assert!(msg.starts_with(want), "{msg}");
        }
    }

    #[test]
    fn rdma_lines() {
        let r: LinuxResources = serde_json::from_str(
            r#"{"rdma":{"mlx5_1":{"hcaHandles":2},"mlx5_0":{"hcaHandles":3,"hcaObjects":10}}}"#,
        )
        .unwrap();
        assert_eq!(
            writes(&plan(&r, Version::V2, &MapProbe::default()).unwrap()),
            vec![
                ("rdma.max", "mlx5_0 hca_handle=3 hca_object=10"),
                ("rdma.max", "mlx5_1 hca_handle=2 hca_object=max"),
            ]
        );
    }

    #[test]
    fn unified_and_network_rules() {
        let mut unified = HashMap::new();
        unified.insert("memory.high".to_string(), "1000000".to_string());
        let r = LinuxResourcesBuilder::default()
            .unified(unified)
            .build()
            .unwrap();
        let msg = err_msg(&r, Version::V1, &MapProbe::default());
        assert!(msg.starts_with("linux.resources.unified: "), "{msg}");
        let probe = MapProbe::with(&[("memory.high", "max")]);
        assert_eq!(
            writes(&plan(&r, Version::V2, &probe).unwrap()),
            vec![("memory.high", "1000000")]
        );
        let msg = err_msg(&r, Version::V2, &MapProbe::default());
        assert!(msg.contains("no interface file"), "{msg}");

        for key in ["../memory.high", "cgroup.procs", "nodot"] {
            let mut unified = HashMap::new();
            unified.insert(key.to_string(), "1".to_string());
            let r = LinuxResourcesBuilder::default()
                .unified(unified)
                .build()
                .unwrap();
            let msg = err_msg(&r, Version::V2, &probe);
            assert!(msg.starts_with("linux.resources.unified["), "{key}: {msg}");
        }

        let r: LinuxResources = serde_json::from_str(
            r#"{"network":{"classID":1048577,"priorities":[{"name":"eth0","priority":5}]}}"#,
        )
        .unwrap();
        assert_eq!(
            writes(&plan(&r, Version::V1, &MapProbe::default()).unwrap()),
            vec![
                ("net_cls.classid", "1048577"),
                ("net_prio.ifpriomap", "eth0 5")
            ]
        );
        let msg = err_msg(&r, Version::V2, &MapProbe::default());
        assert!(
            msg.starts_with("linux.resources.network.classID: cgroup v2 has no"),
            "{msg}"
        );
        let probe = MapProbe {
            missing: vec!["net_cls"],
            ..MapProbe::default()
        };
        let msg = err_msg(&r, Version::V1, &probe);
        assert!(msg.contains("controller net_cls is not mounted"), "{msg}");
    }
}
