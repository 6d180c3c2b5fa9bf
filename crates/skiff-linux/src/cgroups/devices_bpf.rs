//! cgroup v2 device filter.
//!
//! cgroup v2 has no `devices.allow`: access to device nodes is decided by a
//! `BPF_PROG_TYPE_CGROUP_DEVICE` program attached to the cgroup. We assemble
//! that program by hand from the validated OCI rules (no compiler, no libbpf)
//! and load and attach it with bpf(2).
//!
//! Semantics match the OCI list read as a v1 allowlist: the last rule that
//! matches a request decides it, and a request no rule matches is denied.
//! An allow rule matches when it grants every access the request asks for;
//! a deny rule matches when it forbids any of them.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use super::resources::{Access, DeviceKind, DeviceRule};
use super::CgroupError;

/// One eBPF instruction, `struct bpf_insn`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Insn {
    pub code: u8,
    /// dst_reg in the low nibble and src_reg in the high one on little-endian
    /// hosts; C bitfields flip that on big-endian ones.
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

// Opcodes we need: class | operation | source (BPF_K = 0 is left out).
const LDX_MEM_W: u8 = 0x61; // BPF_LDX 0x01 | BPF_MEM 0x60 | BPF_W 0x00
const ALU64_AND_K: u8 = 0x57; // BPF_ALU64 0x07 | BPF_AND 0x50
const ALU64_RSH_K: u8 = 0x77; // BPF_ALU64 0x07 | BPF_RSH 0x70
const ALU64_MOV_K: u8 = 0xb7; // BPF_ALU64 0x07 | BPF_MOV 0xb0
const ALU64_MOV_X: u8 = 0xbf; // BPF_ALU64 0x07 | BPF_MOV 0xb0 | BPF_X 0x08
const JMP_JEQ_K: u8 = 0x15; // BPF_JMP 0x05 | BPF_JEQ 0x10
const JMP_JNE_K: u8 = 0x55; // BPF_JMP 0x05 | BPF_JNE 0x50
const JMP_EXIT: u8 = 0x95; // BPF_JMP 0x05 | BPF_EXIT 0x90

// Registers. R1 holds the context on entry and is reused as scratch once read.
const R0: u8 = 0;
const R1: u8 = 1;
const R_ACCESS: u8 = 2;
const R_TYPE: u8 = 3;
const R_MAJOR: u8 = 4;
const R_MINOR: u8 = 5;

// struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }
// access_type = (BPF_DEVCG_ACC_* << 16) | BPF_DEVCG_DEV_*.
const CTX_ACCESS_TYPE: i16 = 0;
const CTX_MAJOR: i16 = 4;
const CTX_MINOR: i16 = 8;
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;

impl Insn {
    fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        let regs = if cfg!(target_endian = "little") {
            (dst & 0x0f) | (src << 4)
        } else {
            (dst << 4) | (src & 0x0f)
        };
        Insn {
            code,
            regs,
            off,
            imm,
        }
    }

    #[cfg(test)]
    fn dst(&self) -> usize {
        usize::from(if cfg!(target_endian = "little") {
            self.regs & 0x0f
        } else {
            self.regs >> 4
        })
    }

    #[cfg(test)]
    fn src(&self) -> usize {
        usize::from(if cfg!(target_endian = "little") {
            self.regs >> 4
        } else {
            self.regs & 0x0f
        })
    }
}

/// A block of instructions whose "skip this rule" jumps all land just past it.
struct Block {
    insns: Vec<Insn>,
    /// Indices of jumps to patch once the block length is known.
    skips: Vec<usize>,
}

impl Block {
    fn skip_if(&mut self, code: u8, reg: u8, imm: i32) {
        self.skips.push(self.insns.len());
        self.insns.push(Insn::new(code, reg, 0, 0, imm));
    }

    fn finish(mut self) -> Result<Vec<Insn>, CgroupError> {
        let len = self.insns.len();
        for i in self.skips {
            self.insns[i].off =
                i16::try_from(len - i - 1).map_err(|_| CgroupError::DeviceFilter {
                    reason: "rule block too long to encode".to_string(),
                    source: None,
                })?;
        }
        Ok(self.insns)
    }
}

/// Assembles the filter for `rules` (in spec order).
pub(crate) fn program(rules: &[DeviceRule]) -> Result<Vec<Insn>, CgroupError> {
    let mut prog = vec![
        Insn::new(LDX_MEM_W, R_ACCESS, R1, CTX_ACCESS_TYPE, 0),
        Insn::new(ALU64_MOV_X, R_TYPE, R_ACCESS, 0, 0),
        Insn::new(ALU64_AND_K, R_TYPE, 0, 0, 0xffff),
        Insn::new(ALU64_RSH_K, R_ACCESS, 0, 0, 16),
        Insn::new(LDX_MEM_W, R_MAJOR, R1, CTX_MAJOR, 0),
        Insn::new(LDX_MEM_W, R_MINOR, R1, CTX_MINOR, 0),
    ];
    // Later rules win, so test them first and stop at the first match.
    for rule in rules.iter().rev() {
        let mut block = Block {
            insns: Vec::new(),
            skips: Vec::new(),
        };
        match rule.kind {
            DeviceKind::All => {}
            DeviceKind::Block => block.skip_if(JMP_JNE_K, R_TYPE, DEV_BLOCK),
            DeviceKind::Char => block.skip_if(JMP_JNE_K, R_TYPE, DEV_CHAR),
        }
        if rule.access != Access::ALL {
            let granted = i32::from(rule.access.0);
            block.insns.push(Insn::new(ALU64_MOV_X, R1, R_ACCESS, 0, 0));
            if rule.allow {
                // Allow only if nothing outside the granted set is requested.
                block.insns.push(Insn::new(
                    ALU64_AND_K,
                    R1,
                    0,
                    0,
                    !granted & i32::from(Access::ALL.0),
                ));
                block.skip_if(JMP_JNE_K, R1, 0);
            } else {
                // Deny if any forbidden access is requested.
                block.insns.push(Insn::new(ALU64_AND_K, R1, 0, 0, granted));
                block.skip_if(JMP_JEQ_K, R1, 0);
            }
        }
        if let Some(major) = rule.major {
            block.skip_if(JMP_JNE_K, R_MAJOR, imm(major)?);
        }
        if let Some(minor) = rule.minor {
            block.skip_if(JMP_JNE_K, R_MINOR, imm(minor)?);
        }
        block
            .insns
            .push(Insn::new(ALU64_MOV_K, R0, 0, 0, i32::from(rule.allow)));
        block.insns.push(Insn::new(JMP_EXIT, 0, 0, 0, 0));
        prog.extend(block.finish()?);
        if rule.matches_everything() {
            // Nothing after this rule is reachable, and the verifier rejects
            // unreachable instructions.
            return Ok(prog);
        }
    }
    prog.push(Insn::new(ALU64_MOV_K, R0, 0, 0, 0));
    prog.push(Insn::new(JMP_EXIT, 0, 0, 0, 0));
    Ok(prog)
}

fn imm(n: u32) -> Result<i32, CgroupError> {
    i32::try_from(n).map_err(|_| CgroupError::DeviceFilter {
        reason: format!("device number {n} does not fit a BPF immediate"),
        source: None,
    })
}

// bpf(2) commands, program and attach types, flags (include/uapi/linux/bpf.h).
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_PROG_QUERY: libc::c_long = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 1 << 1;

/// Zeroed room after each attribute struct: newer kernels write results into
/// fields we do not declare, and require undeclared trailing bytes to be zero.
const TAIL: usize = 128;

#[repr(C)]
struct Attr<T> {
    head: T,
    tail: [u8; TAIL],
}

#[repr(C)]
#[derive(Default)]
struct ProgLoad {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
#[derive(Default)]
struct ProgAttach {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

#[repr(C)]
#[derive(Default)]
struct ProgQuery {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    pad: u32,
}

#[repr(C)]
#[derive(Default)]
struct GetFdById {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

fn bpf<T>(cmd: libc::c_long, head: T) -> io::Result<(libc::c_long, T)> {
    let mut attr = Attr {
        head,
        tail: [0; TAIL],
    };
    let size = std::mem::size_of::<Attr<T>>();
    // SAFETY: attr is a live, writable, zero-padded repr(C) buffer of `size`
    // bytes laid out as the kernel's union bpf_attr for `cmd`; every pointer
    // inside it refers to memory the caller keeps alive across this call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            std::ptr::addr_of_mut!(attr),
            size as libc::c_ulong,
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok((rc, attr.head))
    }
}

fn fd_from(rc: libc::c_long) -> io::Result<OwnedFd> {
    let fd = i32::try_from(rc).map_err(|_| io::Error::other("bpf returned an invalid fd"))?;
    // SAFETY: bpf(2) just returned this descriptor to us and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn fd_u32(fd: &impl AsRawFd) -> u32 {
    // Descriptors are never negative once opened.
    u32::try_from(fd.as_raw_fd()).unwrap_or(u32::MAX)
}

fn filter_err(reason: impl Into<String>, source: io::Error) -> CgroupError {
    CgroupError::DeviceFilter {
        reason: reason.into(),
        source: Some(source),
    }
}

/// Loads `prog` into the kernel (after the verifier accepts it).
pub(crate) fn load(prog: &[Insn]) -> Result<OwnedFd, CgroupError> {
    let license = c"Apache-2.0";
    let mut log = vec![0u8; 64 * 1024];
    let mut name = [0u8; 16];
    name[..13].copy_from_slice(b"skiff_devices");
    let attr = ProgLoad {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: u32::try_from(prog.len()).unwrap_or(u32::MAX),
        insns: prog.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: 1,
        log_size: u32::try_from(log.len()).unwrap_or(u32::MAX),
        log_buf: log.as_mut_ptr() as u64,
        prog_name: name,
        ..ProgLoad::default()
    };
    match bpf(BPF_PROG_LOAD, attr) {
        Ok((rc, _)) => fd_from(rc).map_err(|e| filter_err("loading the device filter", e)),
        Err(e) => {
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            let verifier = String::from_utf8_lossy(&log[..end]);
            let tail: String = verifier
                .lines()
                .rev()
                .take(5)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("; ");
            let hint = match e.raw_os_error() {
                Some(libc::EPERM) => " (needs CAP_BPF/CAP_SYS_ADMIN)",
                Some(libc::ENOSYS) => " (kernel built without BPF)",
                _ => "",
            };
            Err(filter_err(
                format!(
                    "the kernel refused the device-filter BPF program{hint}: verifier says: {}",
                    if tail.is_empty() { "nothing" } else { &tail }
                ),
                e,
            ))
        }
    }
}

/// Program ids attached directly to the cgroup, and the mode they were attached with.
fn query(cgroup: &File) -> io::Result<(Vec<u32>, u32)> {
    let mut ids = vec![0u32; 64];
    loop {
        let attr = ProgQuery {
            target_fd: fd_u32(cgroup),
            attach_type: BPF_CGROUP_DEVICE,
            prog_ids: ids.as_mut_ptr() as u64,
            prog_cnt: u32::try_from(ids.len()).unwrap_or(u32::MAX),
            ..ProgQuery::default()
        };
        match bpf(BPF_PROG_QUERY, attr) {
            Ok((_, out)) => {
                let n = usize::try_from(out.prog_cnt).unwrap_or(0).min(ids.len());
                ids.truncate(n);
                return Ok((ids, out.attach_flags));
            }
            // More programs than room: the kernel stored the real count.
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) && ids.len() < 1 << 16 => {
                ids = vec![0u32; ids.len() * 4];
            }
            Err(e) => return Err(e),
        }
    }
}

/// Replaces the device filter of the cgroup at `dir` with `prog`.
pub(crate) fn install(dir: &Path, prog: &[Insn]) -> Result<(), CgroupError> {
    let prog_fd = load(prog)?;
    let cgroup = File::open(dir).map_err(|e| CgroupError::io("opening cgroup", dir, e))?;
    let (old, old_flags) =
        query(&cgroup).map_err(|e| filter_err("listing the cgroup's device filters", e))?;
    // In multi mode attach the new filter before detaching the old ones: all
    // attached filters must agree, so there is never a moment with no filter.
    // A filter attached in exclusive mode is replaced atomically by attaching
    // in the same mode.
    let multi = old.is_empty() || old_flags & BPF_F_ALLOW_MULTI != 0;
    let attach = ProgAttach {
        target_fd: fd_u32(&cgroup),
        attach_bpf_fd: fd_u32(&prog_fd),
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: if multi { BPF_F_ALLOW_MULTI } else { old_flags },
        ..ProgAttach::default()
    };
    bpf(BPF_PROG_ATTACH, attach).map_err(|e| {
        filter_err(
            format!("attaching the device filter to {}", dir.display()),
            e,
        )
    })?;
    if !multi {
        return Ok(());
    }
    for id in old {
        let old_fd = match bpf(
            BPF_PROG_GET_FD_BY_ID,
            GetFdById {
                prog_id: id,
                ..GetFdById::default()
            },
        ) {
            Ok((rc, _)) => fd_from(rc),
            // Detached by someone else meanwhile.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) => Err(e),
        }
        .map_err(|e| filter_err(format!("opening old device filter {id}"), e))?;
        let detach = ProgAttach {
            target_fd: fd_u32(&cgroup),
            attach_bpf_fd: fd_u32(&old_fd),
            attach_type: BPF_CGROUP_DEVICE,
            ..ProgAttach::default()
        };
        match bpf(BPF_PROG_DETACH, detach) {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(filter_err(format!("detaching old device filter {id}"), e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::resources::{Access, DeviceKind, DeviceRule};

    /// A tiny interpreter for exactly the instructions `program` emits, so the
    /// rule semantics can be checked without a kernel.
    fn run(prog: &[Insn], kind: i32, access: u8, major: u32, minor: u32) -> u64 {
        let ctx = [
            (u32::from(access) << 16) | u32::try_from(kind).unwrap(),
            major,
            minor,
        ];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        for _ in 0..10_000 {
            let i = prog[pc];
            let (d, s) = (i.dst(), i.src());
            let imm = i64::from(i.imm) as u64;
            pc += 1;
            match i.code {
                LDX_MEM_W => {
                    assert_eq!(s, 1, "loads only from the context");
                    r[d] = u64::from(ctx[usize::try_from(i.off).unwrap() / 4]);
                }
                ALU64_MOV_X => r[d] = r[s],
                ALU64_MOV_K => r[d] = imm,
                ALU64_AND_K => r[d] &= imm,
                ALU64_RSH_K => r[d] >>= imm,
                JMP_JEQ_K | JMP_JNE_K => {
                    let eq = r[d] == imm;
                    if eq == (i.code == JMP_JEQ_K) {
                        pc += usize::try_from(i.off).unwrap();
                    }
                }
                JMP_EXIT => return r[0],
                other => panic!("unexpected opcode {other:#x}"),
            }
        }
        panic!("program did not terminate");
    }

    fn rule(
        allow: bool,
        kind: DeviceKind,
        major: Option<u32>,
        minor: Option<u32>,
        access: u8,
    ) -> DeviceRule {
        DeviceRule {
            allow,
            kind,
            major,
            minor,
            access: Access(access),
        }
    }

    const R: u8 = Access::READ;
    const W: u8 = Access::WRITE;
    const M: u8 = Access::MKNOD;
    const RWM: u8 = R | W | M;

    #[test]
    fn last_matching_rule_wins_and_default_is_deny() {
        let rules = [
            rule(false, DeviceKind::All, None, None, RWM),
            rule(true, DeviceKind::Char, Some(1), Some(3), R | W),
            rule(true, DeviceKind::Char, Some(136), None, RWM),
            rule(false, DeviceKind::Char, Some(136), Some(2), W),
            rule(true, DeviceKind::Block, Some(8), None, R),
        ];
        let p = program(&rules).unwrap();
        let c = DEV_CHAR;
        let b = DEV_BLOCK;
        assert_eq!(run(&p, c, R | W, 1, 3), 1, "/dev/null rw");
        assert_eq!(run(&p, c, M, 1, 3), 0, "mknod not granted");
        assert_eq!(run(&p, c, R | M, 1, 3), 0, "partly granted is denied");
        assert_eq!(run(&p, c, R, 1, 5), 0, "/dev/zero not listed");
        assert_eq!(run(&p, c, RWM, 136, 7), 1, "pts wildcard minor");
        assert_eq!(run(&p, c, R, 136, 2), 1, "read of pts/2 still allowed");
        assert_eq!(run(&p, c, W, 136, 2), 0, "later deny of write wins");
        assert_eq!(run(&p, b, R, 8, 0), 1, "block read");
        assert_eq!(run(&p, b, W, 8, 0), 0, "block write");
        assert_eq!(run(&p, c, R, 8, 0), 0, "type matters");
    }

    #[test]
    fn allow_all_and_empty_lists() {
        let p = program(&[rule(true, DeviceKind::All, None, None, RWM)]).unwrap();
        assert_eq!(run(&p, DEV_BLOCK, W, 8, 0), 1);
        // Everything after the catch-all rule (earlier in the spec) is dropped.
        let p2 = program(&[
            rule(false, DeviceKind::Char, Some(1), Some(3), RWM),
            rule(true, DeviceKind::All, None, None, RWM),
        ])
        .unwrap();
        assert_eq!(p, p2);
        let p = program(&[]).unwrap();
        assert_eq!(run(&p, DEV_CHAR, R, 1, 3), 0);
    }

    #[test]
    fn kernel_verifier_accepts_programs() {
        // Loading (without attaching) changes nothing on the host; it proves
        // the hand-assembled bytes are valid for this kernel.
        for rules in [
            vec![],
            vec![rule(true, DeviceKind::All, None, None, RWM)],
            vec![
                rule(false, DeviceKind::All, None, None, RWM),
                rule(true, DeviceKind::Char, Some(1), Some(3), R | W),
                rule(false, DeviceKind::Block, None, Some(0), W | M),
            ],
        ] {
            let p = program(&rules).unwrap();
            load(&p).unwrap_or_else(|e| panic!("{rules:?}: {e}"));
        }
    }
}
