//! A safety net for iptables rules the plugins leave behind.
//!
//! The bridge plugin (1.1.x) removes its `ipMasq` rules only when it can
//! still enter the container's namespace to learn its addresses; if the
//! container died and its namespace is gone, its NAT chain and POSTROUTING
//! rule stay forever. Every rule the bridge and portmap plugins write carries
//! the comment `... id: "<container id>"`, so after DEL we delete any rule
//! still carrying our container's id, then the `CNI-*` chains those rules
//! jumped to once nothing references them. Rules without an id (the firewall
//! plugin's) are removed by the plugins' DEL from the prevResult, which we
//! always pass.

use std::process::Command;

use crate::NetError;

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
    listing
        .lines()
        .filter(|l| l.starts_with("-A "))
        .map(split_rule)
        .filter(|args| {
            args.windows(2)
                .any(|w| w[0] == "--comment" && w[1].contains(&needle))
        })
        .collect()
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
}
