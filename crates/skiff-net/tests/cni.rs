//! Real CNI runs (root, the Debian plugins in /usr/lib/cni): namespaces on a
//! throwaway bridge per test, traffic between them and from the host, port
//! publishing, and a host left with no trace after detach.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use skiff_net::{
    attach, attach_loopback, create_netns, detach, detach_by_id, ensure_network_rules, in_netns,
    parse_port_mapping, remove_netns, remove_network, sweep_iptables, Attachment, NetworkConfig,
    Subnet,
};

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A test network: unique bridge, subnet and name; removes the bridge, any
/// rule tagged with its containers and its state on drop.
struct TestNet {
    cfg: NetworkConfig,
    dir: tempfile::TempDir,
    ids: Vec<String>,
}

impl TestNet {
    fn new(idx: u32) -> Self {
        let pid = std::process::id();
        let dir = tempfile::tempdir().unwrap();
        let subnet: Subnet = format!("10.250.{}.0/24", (pid * 8 + idx) % 250)
            .parse()
            .unwrap();
        let cfg = NetworkConfig::bridge(
            &format!("skt{pid}-{idx}"),
            &format!("skt{}x{idx}", pid % 100_000),
            subnet,
            dir.path(),
        );
        TestNet {
            cfg,
            dir,
            ids: Vec::new(),
        }
    }

    fn netns(&self, name: &str) -> NsGuard {
        let path = self.dir.path().join(format!("ns-{name}"));
        create_netns(&path).unwrap();
        NsGuard(path)
    }

    fn id(&mut self, name: &str) -> String {
        let id = format!("sktest{}{name}", std::process::id());
        self.ids.push(id.clone());
        id
    }

    fn bridge_ports(&self) -> String {
        run("ip", &["-o", "link", "show", "master", &self.cfg.bridge])
    }

    /// The comment on the network's own rules.
    fn tag(&self) -> String {
        format!(
            "skiff-net network={} bridge={}",
            self.cfg.name, self.cfg.bridge
        )
    }

    /// The network's own rules in `iptables-save`'s listing.
    fn own_rules(&self) -> Vec<String> {
        let tag = self.tag();
        run("iptables-save", &[])
            .lines()
            .filter(|l| l.contains(&tag))
            .map(String::from)
            .collect()
    }
}

impl Drop for TestNet {
    fn drop(&mut self) {
        for id in &self.ids {
            let _ = detach_by_id(&self.cfg, id);
            let _ = sweep_iptables(id);
        }
        let _ = remove_network(&self.cfg);
        let _ = Command::new("ip")
            .args(["link", "del", &self.cfg.bridge])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

struct NsGuard(PathBuf);
impl Drop for NsGuard {
    fn drop(&mut self) {
        let _ = remove_netns(&self.0);
    }
}

/// Serves `reply` to every connection on port 80 inside `netns`.
fn serve(netns: &Path, reply: &'static str) {
    let l = in_netns(netns, || TcpListener::bind("0.0.0.0:80"))
        .unwrap()
        .unwrap();
    std::thread::spawn(move || {
        for mut c in l.incoming().flatten() {
            let _ = c.write_all(reply.as_bytes());
        }
    });
}

fn fetch(addr: SocketAddr) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(3))?;
    s.set_read_timeout(Some(Duration::from_secs(3)))?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

/// Whether `text` mentions `ip` as a whole address (not 10.0.0.1 in 10.0.0.12).
fn mentions_ip(text: &str, ip: IpAddr) -> bool {
    let ip = ip.to_string();
    text.match_indices(&ip).any(|(i, _)| {
        !text[i + ip.len()..].starts_with(|c: char| c.is_ascii_digit())
            && !text[..i].ends_with(|c: char| c.is_ascii_digit() || c == '.')
    })
}

fn assert_no_trace(net: &TestNet, att: &Attachment) {
    let rules = run("iptables-save", &[]) + &run("nft", &["list", "ruleset"]);
    assert!(
        !rules.contains(&att.container_id),
        "rules left for {}:\n{rules}",
        att.container_id
    );
    assert!(
        !mentions_ip(&rules, att.ip),
        "rules left for {}:\n{rules}",
        att.ip
    );
    let lease = net
        .cfg
        .state_dir
        .join(&net.cfg.name)
        .join(att.ip.to_string());
    assert!(!lease.exists(), "IPAM lease {} left", lease.display());
    if let Some(veth) = &att.host_veth {
        assert!(
            run("ip", &["-o", "link", "show", veth]).is_empty(),
            "veth {veth} left"
        );
    }
}

#[test]
fn two_containers_talk_publish_and_leave_nothing() {
    let mut net = TestNet::new(1);
    let (a_ns, b_ns) = (net.netns("a"), net.netns("b"));
    let (a_id, b_id) = (net.id("a"), net.id("b"));
    let host_port = 20_000 + (std::process::id() % 20_000) as u16;
    let ports = [parse_port_mapping(&format!("{host_port}:80/tcp")).unwrap()];

    let a = attach(&net.cfg, &a_id, &a_ns.0, &ports).unwrap();
    let b = attach(&net.cfg, &b_id, &b_ns.0, &[]).unwrap();
    for att in [&a, &b] {
        assert!(
            net.cfg.subnet.contains(att.ip),
            "{} not in {}",
            att.ip,
            net.cfg.subnet
        );
        assert_eq!(att.prefix_len, 24);
        assert!(att.gateway.is_some() && att.mac.is_some() && att.host_veth.is_some());
        assert!(net
            .cfg
            .state_dir
            .join(&net.cfg.name)
            .join(att.ip.to_string())
            .exists());
    }
    assert_ne!(a.ip, b.ip);
    assert_eq!(
        net.bridge_ports().lines().count(),
        2,
        "{}",
        net.bridge_ports()
    );

    serve(&a_ns.0, "hello from a");
    serve(&b_ns.0, "hello from b");
    // Container to container over the bridge.
    let b_addr = SocketAddr::new(b.ip, 80);
    let got = in_netns(&a_ns.0, move || fetch(b_addr)).unwrap().unwrap();
    assert_eq!(got, "hello from b");
    // Host to container.
    assert_eq!(fetch(SocketAddr::new(a.ip, 80)).unwrap(), "hello from a");
    // Published port on the host's loopback (portmap DNATs locally generated
    // traffic and sets route_localnet on the bridge).
    let published: SocketAddr = format!("127.0.0.1:{host_port}").parse().unwrap();
    assert_eq!(fetch(published).unwrap(), "hello from a");
    // Another container reaches it through the gateway address as well.
    let via_gw = SocketAddr::new(b.gateway.unwrap(), host_port);
    assert_eq!(
        in_netns(&b_ns.0, move || fetch(via_gw)).unwrap().unwrap(),
        "hello from a"
    );

    detach(&net.cfg, &a).unwrap();
    detach(&net.cfg, &b).unwrap();
    assert_no_trace(&net, &a);
    assert_no_trace(&net, &b);
    assert_eq!(net.bridge_ports(), "", "bridge still has ports");
    assert!(fetch(published).is_err(), "published port still answers");
    // DEL is idempotent.
    detach(&net.cfg, &a).unwrap();
}

#[test]
fn detach_after_netns_is_gone() {
    let mut net = TestNet::new(2);
    let ns = net.netns("gone");
    let id = net.id("gone");
    let host_port = 40_000 + (std::process::id() % 20_000) as u16;
    let ports = [parse_port_mapping(&format!("{host_port}:80")).unwrap()];
    let att = attach(&net.cfg, &id, &ns.0, &ports).unwrap();
    assert!(run("iptables-save", &[]).contains(&id));
    // The container died and its namespace went with it (the kernel removes
    // the veth pair); the host still holds the lease and NAT rules.
    remove_netns(&ns.0).unwrap();
    detach(&net.cfg, &att).unwrap();
    assert_no_trace(&net, &att);
    assert_eq!(net.bridge_ports(), "");
}

#[test]
fn detach_by_id_uses_the_cache() {
    let mut net = TestNet::new(3);
    let ns = net.netns("lost");
    let id = net.id("lost");
    let att = attach(&net.cfg, &id, &ns.0, &[]).unwrap();
    detach_by_id(&net.cfg, &id).unwrap();
    assert_no_trace(&net, &att);
    assert_eq!(net.bridge_ports(), "");
}

#[test]
fn failed_attach_rolls_back() {
    let mut net = TestNet::new(4);
    // A plugin directory without `portmap`: ADD of a container publishing a
    // port fails at portmap after bridge succeeded.
    let plugins = net.dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    for p in ["bridge", "host-local", "loopback"] {
        std::os::unix::fs::symlink(Path::new("/usr/lib/cni").join(p), plugins.join(p)).unwrap();
    }
    net.cfg.plugin_dirs = vec![plugins];
    let ns = net.netns("fail");
    let id = net.id("fail");
    let e = attach(
        &net.cfg,
        &id,
        &ns.0,
        &[parse_port_mapping("18999:80").unwrap()],
    )
    .unwrap_err();
    assert!(e.to_string().contains("\"portmap\" not found"), "{e}");
    let rules = run("iptables-save", &[]);
    assert!(!rules.contains(&id), "{rules}");
    assert_eq!(net.bridge_ports(), "");
    let leases = std::fs::read_dir(net.cfg.state_dir.join(&net.cfg.name))
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("10."))
                .count()
        })
        .unwrap_or(0);
    assert_eq!(leases, 0);
    // Without published ports the same directory is enough.
    let ok_ns = net.netns("ok");
    let ok_id = net.id("ok");
    let att = attach(&net.cfg, &ok_id, &ok_ns.0, &[]).unwrap();
    detach(&net.cfg, &att).unwrap();
    assert_no_trace(&net, &att);
}

/// A namespace standing for a host outside: reached from the host through a
/// veth pair of its own (10.249.N.1 on the host, 10.249.N.2 inside), with no
/// route to any container subnet, so only masqueraded traffic can get answers.
struct Outside {
    ns: NsGuard,
    host_if: String,
    host_ip: IpAddr,
    ip: IpAddr,
}

impl Outside {
    fn new(net: &TestNet, n: u32) -> Outside {
        let ns = net.netns("outside");
        let host_if = format!("sko{}x{n}", std::process::id() % 100_000);
        let third = (std::process::id() * 8 + n) % 250;
        let host_ip: IpAddr = format!("10.249.{third}.1").parse().unwrap();
        let ip: IpAddr = format!("10.249.{third}.2").parse().unwrap();
        let ns_path = ns.0.to_string_lossy().into_owned();
        let ok = |args: &[&str]| {
            let st = Command::new("ip").args(args).status().unwrap();
            assert!(st.success(), "ip {args:?}");
        };
        ok(&[
            "link", "add", &host_if, "type", "veth", "peer", "name", "eth0", "netns", &ns_path,
        ]);
        ok(&["addr", "add", &format!("{host_ip}/30"), "dev", &host_if]);
        ok(&["link", "set", &host_if, "up"]);
        in_netns(&ns.0, move || {
            for args in [
                vec![
                    "addr".to_string(),
                    "add".into(),
                    format!("{ip}/30"),
                    "dev".into(),
                    "eth0".into(),
                ],
                vec!["link".into(), "set".into(), "eth0".into(), "up".into()],
                vec!["link".into(), "set".into(), "lo".into(), "up".into()],
            ] {
                let st = Command::new("ip").args(&args).status().unwrap();
                assert!(st.success(), "ip {args:?}");
            }
        })
        .unwrap();
        Outside {
            ns,
            host_if,
            host_ip,
            ip,
        }
    }

    /// Listens on port 80 and answers each connection with the address it
    /// came from.
    fn serve_peer_address(&self) {
        let l = in_netns(&self.ns.0, || TcpListener::bind("0.0.0.0:80"))
            .unwrap()
            .unwrap();
        std::thread::spawn(move || {
            for mut c in l.incoming().flatten() {
                let peer = c
                    .peer_addr()
                    .map(|a| a.ip().to_string())
                    .unwrap_or_default();
                let _ = c.write_all(peer.as_bytes());
            }
        });
    }
}

impl Drop for Outside {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_if])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

#[test]
fn network_rules_are_shared_masquerade_and_go_with_the_network() {
    let mut net = TestNet::new(7);
    let (a_ns, b_ns) = (net.netns("a"), net.netns("b"));
    let (a_id, b_id) = (net.id("a"), net.id("b"));
    let a = attach(&net.cfg, &a_id, &a_ns.0, &[]).unwrap();
    // One masquerade rule for the subnet and a FORWARD pair for the bridge,
    // none of them about a container.
    let rules = net.own_rules();
    assert_eq!(rules.len(), 3, "{rules:#?}");
    let subnet = net.cfg.subnet.to_string();
    assert!(
        rules.iter().any(|r| r.starts_with("-A POSTROUTING")
            && r.contains(&subnet)
            && r.ends_with("-j MASQUERADE")),
        "{rules:#?}"
    );
    assert_eq!(
        rules.iter().filter(|r| r.starts_with("-A FORWARD")).count(),
        2,
        "{rules:#?}"
    );
    assert!(!rules
        .iter()
        .any(|r| r.contains(&a_id) || mentions_ip(r, a.ip)));
    let marker = net.cfg.rules_dir.join(&net.cfg.name);
    assert!(marker.exists(), "{} missing", marker.display());
    // A second container shares them; the fast path installs nothing.
    let b = attach(&net.cfg, &b_id, &b_ns.0, &[]).unwrap();
    assert_eq!(net.own_rules(), rules);
    assert!(!ensure_network_rules(&net.cfg).unwrap());

    // Outbound traffic leaves with the host's address.
    let outside = Outside::new(&net, 7);
    outside.serve_peer_address();
    let dest = SocketAddr::new(outside.ip, 80);
    let seen = in_netns(&a_ns.0, move || fetch(dest)).unwrap().unwrap();
    assert_eq!(seen, outside.host_ip.to_string(), "not masqueraded");

    // Rules removed behind our back come back with a new bridge (the marker
    // names the bridge's interface index).
    detach(&net.cfg, &a).unwrap();
    detach(&net.cfg, &b).unwrap();
    assert_no_trace(&net, &a);
    assert_no_trace(&net, &b);
    assert_eq!(net.own_rules(), rules, "the rules stay with the network");
    assert!(remove_network(&net.cfg).is_ok());
    assert!(net.own_rules().is_empty(), "{:#?}", net.own_rules());
    let ruleset = run("nft", &["list", "ruleset"]);
    assert!(!ruleset.contains(&net.tag()), "{ruleset}");
    assert!(!marker.exists());
    assert!(!net.cfg.state_dir.join(&net.cfg.name).exists());
    assert!(
        run("ip", &["-o", "link", "show", &net.cfg.bridge]).is_empty(),
        "bridge left"
    );
    // Removing it again is fine; so is using it again.
    remove_network(&net.cfg).unwrap();
    let a = attach(&net.cfg, &a_id, &a_ns.0, &[]).unwrap();
    assert_eq!(net.own_rules().len(), 3);
    // ... but not removing it while a container is attached.
    let e = remove_network(&net.cfg).unwrap_err().to_string();
    assert!(e.contains("in use"), "{e}");
    assert_eq!(net.own_rules().len(), 3);
    detach(&net.cfg, &a).unwrap();
    remove_network(&net.cfg).unwrap();
    assert!(net.own_rules().is_empty());
}

#[test]
fn rules_of_a_deleted_bridge_are_swept() {
    let mut old = TestNet::new(8);
    let ns = old.netns("x");
    let id = old.id("x");
    let att = attach(&old.cfg, &id, &ns.0, &[]).unwrap();
    detach(&old.cfg, &att).unwrap();
    assert_eq!(old.own_rules().len(), 3);
    // Its owner deletes the bridge but not the network.
    let st = Command::new("ip")
        .args(["link", "del", &old.cfg.bridge])
        .status()
        .unwrap();
    assert!(st.success());
    // The next network to install its rules sweeps the orphans.
    let mut new = TestNet::new(9);
    let ns2 = new.netns("y");
    let id2 = new.id("y");
    let att2 = attach(&new.cfg, &id2, &ns2.0, &[]).unwrap();
    assert!(old.own_rules().is_empty(), "{:#?}", old.own_rules());
    assert_eq!(new.own_rules().len(), 3);
    detach(&new.cfg, &att2).unwrap();
}

#[test]
fn none_mode_has_working_loopback() {
    let net = TestNet::new(5);
    let ns = net.netns("none");
    attach_loopback(&net.cfg, "sktestnone", &ns.0).unwrap();
    let got = in_netns(&ns.0, || {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut c, _) = l.accept().unwrap();
            c.write_all(b"lo").unwrap();
        });
        fetch(addr)
    })
    .unwrap()
    .unwrap();
    assert_eq!(got, "lo");
    // Only lo exists there.
    let links = in_netns(&ns.0, || run("ip", &["-o", "link"])).unwrap();
    assert_eq!(links.lines().count(), 1, "{links}");
}

#[test]
fn bad_netns_is_reported() {
    let net = TestNet::new(6);
    let e = attach(&net.cfg, "sktestmissing", Path::new("/nonexistent/ns"), &[]).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/ns"), "{e}");
}
