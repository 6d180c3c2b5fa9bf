//! The firewall rules of a network as a whole, and a safety net for
//! iptables rules the plugins leave behind.
//!
//! Masquerading and forwarding are set up once per network, not per
//! container: one MASQUERADE rule for the subnet and one pair of FORWARD
//! accepts for the bridge, tagged with the comment
//! `skiff-net network=<name> bridge=<bridge>` (as docker does for docker0).
//! Per-container rules would cost a dozen iptables runs on every start and
//! stop. The rules are installed when a network's first container is
//! attached ([`ensure_network_rules`]), noted in a marker that names the
//! boot and the bridge's interface index so a reboot or a recreated bridge
//! installs them again, and removed with the network
//! ([`crate::remove_network`]); rules of networks whose bridge is gone are
//! swept whenever some network installs its own.
//!
//! The bridge plugin (1.1.x) removes its `ipMasq` rules only when it can
//! still enter the container's namespace to learn its addresses; if the
//! container died and its namespace is gone, its NAT chain and POSTROUTING
//! rule stay forever. Every rule the bridge and portmap plugins write carries
//! the comment `... id: "<container id>"`, so after DEL we delete any rule
//! still carrying our container's id, then the `CNI-*` chains those rules
//! jumped to once nothing references them. Rules without an id (the firewall
//! plugin's, in attachments made before the per-network rules) are removed
//! by the plugins' DEL from the prevResult, which we always pass.

use std::ffi::CString;
use std::fs::{self, File};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{NetError, NetworkConfig};

const TABLES: &[&str] = &["nat", "filter", "mangle"];

fn iptables(args: &[&str]) -> Result<String, NetError> {
    let out = Command::new("iptables")
        .arg("-w")
        .args(args)
        .env("PATH", "/usr/sbin:/sbin:/usr/bin:/bin")
        .output()
        .map_err(|e| NetError::io("running iptables (is the iptables package installed?)", e))?;
    if !out.status.success() {
        return Err(NetError::io(
            format!(
                "iptables {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            std::io::Error::other("iptables failed"),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs an iptables check (`-C`): whether the rule exists.
fn iptables_check(args: &[&str]) -> Result<bool, NetError> {
    let out = Command::new("iptables")
        .arg("-w")
        .args(args)
        .env("PATH", "/usr/sbin:/sbin:/usr/bin:/bin")
        .output()
        .map_err(|e| NetError::io("running iptables (is the iptables package installed?)", e))?;
    match out.status.code() {
        Some(0) => Ok(true),
        // "Bad rule (does a matching rule exist in that chain?)"
        Some(1) => Ok(false),
        _ => Err(NetError::io(
            format!(
                "iptables {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            std::io::Error::other("iptables failed"),
        )),
    }
}

/// Splits an `iptables -S` line into arguments (double quotes group, `\"`
/// escapes a quote inside them).
pub(crate) fn split_rule(line: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut cur = String::new();
    let mut in_arg = false;
    let mut quoted = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quoted => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            '"' => {
                quoted = !quoted;
                in_arg = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_arg {
                    args.push(std::mem::take(&mut cur));
                    in_arg = false;
                }
            }
            c => {
                cur.push(c);
                in_arg = true;
            }
        }
    }
    if in_arg {
        args.push(cur);
    }
    args
}

/// The rules (as `-A CHAIN ...` argument lists) of `listing` that carry
/// container `id` in a CNI comment.
pub(crate) fn rules_for(listing: &str, id: &str) -> Vec<Vec<String>> {
    let needle = format!("id: \"{id}\"");
    rules_where(listing, |c| c.contains(&needle))
}

/// Deletes every rule tagged with `container_id` and the CNI chains they
/// jumped to. Returns how many rules were deleted.
pub fn sweep_iptables(container_id: &str) -> Result<usize, NetError> {
    let mut deleted = 0;
    for table in TABLES {
        let listing = iptables(&["-t", table, "-S"])?;
        let rules = rules_for(&listing, container_id);
        let mut chains = Vec::new();
        for rule in &rules {
            let mut args: Vec<&str> = vec!["-t", table, "-D"];
            args.extend(rule[1..].iter().map(String::as_str));
            // Another DEL may have removed it meanwhile; the listing below
            // decides what is left.
            if iptables(&args).is_ok() {
                deleted += 1;
            }
            if let Some(j) = rule.iter().position(|a| a == "-j") {
                if let Some(target) = rule.get(j + 1).filter(|t| t.starts_with("CNI-")) {
                    chains.push(target.clone());
                }
            }
        }
        chains.sort();
        chains.dedup();
        if chains.is_empty() {
            continue;
        }
        let listing = iptables(&["-t", table, "-S"])?;
        for chain in chains {
            let referenced = listing.lines().map(split_rule).any(|a| {
                a.first().map(String::as_str) == Some("-A")
                    && a.get(1) != Some(&chain)
                    && a.windows(2).any(|w| w[0] == "-j" && w[1] == chain)
            });
            let exists = listing.lines().any(|l| l == format!("-N {chain}"));
            if exists && !referenced {
                iptables(&["-t", table, "-F", &chain])?;
                iptables(&["-t", table, "-X", &chain])?;
            }
        }
    }
    Ok(deleted)
}

/// The comment on every rule of a network's own.
const TAG_PREFIX: &str = "skiff-net network=";

fn network_tag(cfg: &NetworkConfig) -> String {
    format!("{TAG_PREFIX}{} bridge={}", cfg.name, cfg.bridge)
}

/// One rule of a network: table, chain, whether it goes first in the chain
/// (FORWARD: before any DROP or REJECT someone else put there), and the
/// rule itself.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NetRule {
    pub table: &'static str,
    pub chain: &'static str,
    pub first: bool,
    pub spec: Vec<String>,
}

/// The rules network `cfg` needs while it exists.
pub(crate) fn network_rules(cfg: &NetworkConfig) -> Vec<NetRule> {
    let subnet = cfg.subnet.to_string();
    let tag = network_tag(cfg);
    let spec = |s: &[&str]| -> Vec<String> {
        s.iter()
            .map(|a| a.to_string())
            .chain(["-m", "comment", "--comment", &tag].map(String::from))
            .collect()
    };
    let mut rules = vec![NetRule {
        table: "nat",
        chain: "POSTROUTING",
        first: false,
        // Leaving through any interface but the bridge: the outside world
        // sees the host's address (replies are un-NATed by conntrack).
        spec: {
            let mut s = spec(&["-s", &subnet, "!", "-o", &cfg.bridge]);
            s.extend(["-j", "MASQUERADE"].map(String::from));
            s
        },
    }];
    if cfg.firewall {
        let mut out = spec(&["-s", &subnet, "-i", &cfg.bridge]);
        out.extend(["-j", "ACCEPT"].map(String::from));
        let mut back = spec(&[
            "-d",
            &subnet,
            "-o",
            &cfg.bridge,
            "-m",
            "conntrack",
            "--ctstate",
            "RELATED,ESTABLISHED",
        ]);
        back.extend(["-j", "ACCEPT"].map(String::from));
        for spec in [out, back] {
            rules.push(NetRule {
                table: "filter",
                chain: "FORWARD",
                first: true,
                spec,
            });
        }
    }
    rules
}

/// The interface index of `name` in our network namespace (None: no such
/// interface).
pub(crate) fn ifindex(name: &str) -> Option<u32> {
    let c = CString::new(name).ok()?;
    // SAFETY: if_nametoindex reads a NUL-terminated string we own.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (idx != 0).then_some(idx)
}

fn marker_path(cfg: &NetworkConfig) -> PathBuf {
    cfg.rules_dir.join(&cfg.name)
}

/// What the marker says when the rules are in place: this boot, this
/// bridge (its index changes when it is deleted and made again) and the
/// rules themselves (so a new version of them is installed).
fn marker_text(cfg: &NetworkConfig, bridge_index: u32) -> String {
    let boot = fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    let mut text = format!(
        "boot {}\nbridge {} {bridge_index}\n",
        boot.trim(),
        cfg.bridge
    );
    for r in network_rules(cfg) {
        text.push_str(&format!("{} {} {}\n", r.table, r.chain, r.spec.join(" ")));
    }
    text
}

/// Serialises rule changes of all networks on the host, whichever data dir
/// they belong to: the sweep of one must not race the install of another.
struct RulesLock {
    _file: File,
}

const RULES_LOCK: &str = "/run/skiff-net.rules.lock";

impl RulesLock {
    fn take() -> Result<RulesLock, NetError> {
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(RULES_LOCK)
            .map_err(|e| NetError::io(format!("opening {RULES_LOCK}"), e))?;
        // SAFETY: flock on a descriptor we own; no memory is involved.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(NetError::io(
                format!("locking {RULES_LOCK}"),
                std::io::Error::last_os_error(),
            ));
        }
        Ok(RulesLock { _file: file })
    }
}

/// Installs the rules of network `cfg` unless the marker says they are in
/// place; its bridge must exist (the bridge plugin makes it on the first
/// ADD). Returns whether anything was checked or installed. Costs a file
/// read when the rules are there, so it runs on every attach.
///
/// Rules removed behind our back (`iptables -F`) are not noticed until the
/// next boot or bridge: [`crate::remove_network`], then the next attach,
/// installs them again.
pub fn ensure_network_rules(cfg: &NetworkConfig) -> Result<bool, NetError> {
    cfg.validate()?;
    let index = ifindex(&cfg.bridge).ok_or_else(|| {
        NetError::io(
            format!("bridge {} of network {:?}", cfg.bridge, cfg.name),
            std::io::Error::from(std::io::ErrorKind::NotFound),
        )
    })?;
    let want = marker_text(cfg, index);
    let marker = marker_path(cfg);
    if fs::read_to_string(&marker).is_ok_and(|t| t == want) {
        return Ok(false);
    }
    let _lock = RulesLock::take()?;
    // Another attach may have done it while we waited.
    if fs::read_to_string(&marker).is_ok_and(|t| t == want) {
        return Ok(false);
    }
    let swept = sweep_stale_network_rules()?;
    if swept > 0 {
        tracing::info!(
            rules = swept,
            "removed the rules of networks whose bridge is gone"
        );
    }
    for rule in network_rules(cfg) {
        let spec: Vec<&str> = rule.spec.iter().map(String::as_str).collect();
        let mut check = vec!["-t", rule.table, "-C", rule.chain];
        check.extend(&spec);
        if iptables_check(&check)? {
            continue;
        }
        let mut add = vec!["-t", rule.table];
        if rule.first {
            add.extend(["-I", rule.chain, "1"]);
        } else {
            add.extend(["-A", rule.chain]);
        }
        add.extend(&spec);
        iptables(&add)?;
    }
    fs::create_dir_all(&cfg.rules_dir)
        .map_err(|e| NetError::io(format!("creating {}", cfg.rules_dir.display()), e))?;
    // Written whole and renamed, so a reader never sees half a marker.
    // '~' is in no network name, so this is nobody's marker.
    let tmp = cfg.rules_dir.join(format!("{}~", cfg.name));
    fs::write(&tmp, &want)
        .and_then(|()| fs::rename(&tmp, &marker))
        .map_err(|e| NetError::io(format!("writing {}", marker.display()), e))?;
    tracing::info!(
        network = cfg.name,
        bridge = cfg.bridge,
        "network rules installed"
    );
    Ok(true)
}

/// The rules (as `-A CHAIN ...` argument lists) of `listing` whose comment
/// satisfies `pred`.
fn rules_where(listing: &str, pred: impl Fn(&str) -> bool) -> Vec<Vec<String>> {
    listing
        .lines()
        .filter(|l| l.starts_with("-A "))
        .map(split_rule)
        .filter(|args| args.windows(2).any(|w| w[0] == "--comment" && pred(&w[1])))
        .collect()
}

/// Deletes the listed rules from `table`; returns how many went.
fn delete_rules(table: &str, rules: &[Vec<String>]) -> usize {
    let mut deleted = 0;
    for rule in rules {
        let mut args: Vec<&str> = vec!["-t", table, "-D"];
        args.extend(rule[1..].iter().map(String::as_str));
        // Someone else may have removed it meanwhile.
        if iptables(&args).is_ok() {
            deleted += 1;
        }
    }
    deleted
}

/// The bridge named in a network rule's comment.
fn tagged_bridge(comment: &str) -> Option<&str> {
    comment
        .strip_prefix(TAG_PREFIX)?
        .split_once(" bridge=")
        .map(|(_, b)| b)
}

/// Removes the rules of every network whose bridge no longer exists (its
/// owner deleted the bridge without removing the network).
fn sweep_stale_network_rules() -> Result<usize, NetError> {
    let mut deleted = 0;
    for table in ["nat", "filter"] {
        let listing = iptables(&["-t", table, "-S"])?;
        let stale = rules_where(&listing, |c| {
            tagged_bridge(c).is_some_and(|b| ifindex(b).is_none())
        });
        deleted += delete_rules(table, &stale);
    }
    Ok(deleted)
}

/// Removes the rules of network `cfg` and its marker. Returns how many
/// rules were deleted.
pub(crate) fn remove_network_rules(cfg: &NetworkConfig) -> Result<usize, NetError> {
    let _lock = RulesLock::take()?;
    let tag = network_tag(cfg);
    let mut deleted = 0;
    for table in ["nat", "filter"] {
        let listing = iptables(&["-t", table, "-S"])?;
        deleted += delete_rules(table, &rules_where(&listing, |c| c == tag));
    }
    remove_file_if_present(&marker_path(cfg))?;
    Ok(deleted)
}

pub(crate) fn remove_file_if_present(path: &Path) -> Result<(), NetError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(NetError::io(format!("removing {}", path.display()), e))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_and_match() {
        let listing = r#"-P POSTROUTING ACCEPT
-N CNI-0123456789abcdef01234567
-A POSTROUTING -s 10.89.0.5/32 -m comment --comment "name: \"skiff\" id: \"c1\"" -j CNI-0123456789abcdef01234567
-A POSTROUTING -s 10.89.0.6/32 -m comment --comment "name: \"skiff\" id: \"c10\"" -j CNI-ffff
-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \"skiff\" id: \"c1\"" -m multiport --dports 8080 -j CNI-DN-abc
"#;
        let rules = rules_for(listing, "c1");
        assert_eq!(rules.len(), 2);
        assert_eq!(
            rules[0],
            [
                "-A",
                "POSTROUTING",
                "-s",
                "10.89.0.5/32",
                "-m",
                "comment",
                "--comment",
                "name: \"skiff\" id: \"c1\"",
                "-j",
                "CNI-0123456789abcdef01234567"
            ]
        );
        assert_eq!(rules[1][1], "CNI-HOSTPORT-DNAT");
        assert!(rules_for(listing, "c").is_empty());
    }

    #[test]
    fn network_rules_and_tags() {
        let mut cfg = NetworkConfig::bridge(
            "skiff",
            "skiff0",
            "10.89.0.0/16".parse().unwrap(),
            Path::new("/var/lib/skiff"),
        );
        let rules = network_rules(&cfg);
        assert_eq!(rules.len(), 3);
        let tag = "skiff-net network=skiff bridge=skiff0";
        assert_eq!(
            rules[0].spec.join(" "),
            format!("-s 10.89.0.0/16 ! -o skiff0 -m comment --comment {tag} -j MASQUERADE")
        );
        assert_eq!((rules[0].table, rules[0].chain), ("nat", "POSTROUTING"));
        assert!(rules[1..]
            .iter()
            .all(|r| r.table == "filter" && r.chain == "FORWARD" && r.first));
        assert!(rules[2].spec.join(" ").contains("RELATED,ESTABLISHED"));
        assert_eq!(tagged_bridge(tag), Some("skiff0"));
        assert_eq!(tagged_bridge("name: \"skiff\" id: \"c1\""), None);
        // What `iptables -S` prints back is found by its comment.
        let listing = format!(
            "-A POSTROUTING -s 10.89.0.0/16 ! -o skiff0 -m comment --comment \"{tag}\" -j MASQUERADE\n\
             -A POSTROUTING -s 10.9.0.0/16 -m comment --comment \"{TAG_PREFIX}other bridge=br1\" -j MASQUERADE\n"
        );
        let found = rules_where(&listing, |c| c == tag);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0][2..], rules[0].spec[..]);
        cfg.firewall = false;
        assert_eq!(network_rules(&cfg).len(), 1);
        assert_eq!(
            marker_path(&cfg),
            Path::new("/var/lib/skiff/net/rules/skiff")
        );
    }
}
