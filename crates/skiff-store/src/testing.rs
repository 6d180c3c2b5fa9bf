//! Throwaway etcd clusters on loopback, for this crate's conformance tests, its benchmark, and
//! the API server's tests that must run against etcd. Uses the `etcd` binary of Debian's
//! `etcd-server` package (`scripts/install.sh` installs it).
//!
//! Every member is SIGKILLed and the data directory removed when the [`EtcdCluster`] is
//! dropped, panics included. As a second line, members get `PR_SET_PDEATHSIG`, so they also
//! die with the thread that started them: start clusters from the test's own thread (or a
//! runtime worker), never from a short-lived helper thread.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Where Debian's package puts the binary; `SKIFF_ETCD_BIN` overrides it.
pub const DEFAULT_ETCD_BIN: &str = "/usr/bin/etcd";

const READY_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum EtcdStartError {
    #[error(
        "etcd binary {0} not found; install Debian's etcd-server package (scripts/install.sh \
         does) or point SKIFF_ETCD_BIN at an etcd 3.4+ binary"
    )]
    NotInstalled(PathBuf),
    #[error("etcd cluster setup: {0}")]
    Io(#[from] std::io::Error),
    #[error("etcd member {name} did not become healthy within {timeout:?}; its log:\n{log}")]
    NotReady {
        name: String,
        timeout: Duration,
        log: String,
    },
}

struct Member {
    name: String,
    client_url: String,
    peer_url: String,
    log: PathBuf,
    child: Option<Child>,
}

/// N etcd members on 127.0.0.1 with ports picked at start.
pub struct EtcdCluster {
    dir: PathBuf,
    members: Vec<Member>,
}

fn free_ports(n: usize) -> std::io::Result<Vec<u16>> {
    // Hold every listener until all are chosen so the same port is not handed out twice.
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect()
}

fn healthy(client_url: &str) -> bool {
    let addr = client_url.trim_start_matches("http://");
    let Ok(mut conn) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = conn.set_read_timeout(Some(Duration::from_millis(500)));
    let request = format!("GET /health HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    if conn.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut body = String::new();
    let _ = conn.read_to_string(&mut body);
    body.contains("\"health\":\"true\"")
}

impl EtcdCluster {
    /// Start `size` members and wait until each reports healthy (a leader is elected).
    pub fn start(size: usize) -> Result<Self, EtcdStartError> {
        let bin = std::env::var_os("SKIFF_ETCD_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_ETCD_BIN));
        if !bin.is_file() {
            return Err(EtcdStartError::NotInstalled(bin));
        }
        // A port picked free can be taken by someone else before etcd binds it; try again
        // with new ports rather than fail the test.
        let mut last = None;
        for _ in 0..3 {
            match Self::start_once(&bin, size) {
                Ok(cluster) => return Ok(cluster),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("at least one attempt"))
    }

    fn start_once(bin: &Path, size: usize) -> Result<Self, EtcdStartError> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "skiff-etcd-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)?;
        let mut cluster = EtcdCluster {
            dir,
            members: Vec::new(),
        };
        let ports = free_ports(size * 2)?;
        for i in 0..size {
            cluster.members.push(Member {
                name: format!("m{i}"),
                client_url: format!("http://127.0.0.1:{}", ports[2 * i]),
                peer_url: format!("http://127.0.0.1:{}", ports[2 * i + 1]),
                log: cluster.dir.join(format!("m{i}.log")),
                child: None,
            });
        }
        let initial: Vec<String> = cluster
            .members
            .iter()
            .map(|m| format!("{}={}", m.name, m.peer_url))
            .collect();
        let initial = initial.join(",");
        for m in &mut cluster.members {
            let log = std::fs::File::create(&m.log)?;
            let mut cmd = Command::new(bin);
            cmd.arg("--name")
                .arg(&m.name)
                .arg("--data-dir")
                .arg(cluster.dir.join(&m.name))
                .args(["--listen-client-urls", &m.client_url])
                .args(["--advertise-client-urls", &m.client_url])
                .args(["--listen-peer-urls", &m.peer_url])
                .args(["--initial-advertise-peer-urls", &m.peer_url])
                .args(["--initial-cluster", &initial])
                .args(["--initial-cluster-state", "new"])
                .args(["--initial-cluster-token", "skiff-test"])
                // Loopback round trips are ~0.1 ms: short timeouts make a killed leader
                // replaced in about a second instead of several.
                .args(["--heartbeat-interval", "50", "--election-timeout", "500"])
                .args(["--logger", "zap", "--log-level", "warn"])
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log);
            // SAFETY: the closure runs in the forked child before exec and only makes one
            // async-signal-safe system call (prctl); it touches no memory of the parent.
            unsafe {
                cmd.pre_exec(|| {
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
            m.child = Some(cmd.spawn()?);
        }
        let start = Instant::now();
        for m in &mut cluster.members {
            loop {
                if healthy(&m.client_url) {
                    break;
                }
                let exited = m.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
                if exited.is_some() || start.elapsed() > READY_TIMEOUT {
                    return Err(EtcdStartError::NotReady {
                        name: m.name.clone(),
                        timeout: READY_TIMEOUT,
                        log: std::fs::read_to_string(&m.log).unwrap_or_default(),
                    });
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(cluster)
    }

    /// Client URLs of every member, killed ones included (clients must cope with those).
    pub fn endpoints(&self) -> Vec<String> {
        self.members.iter().map(|m| m.client_url.clone()).collect()
    }

    pub fn endpoint(&self, member: usize) -> String {
        self.members[member].client_url.clone()
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// SIGKILL one member (no clean shutdown, as in a crash).
    pub fn kill(&mut self, member: usize) {
        if let Some(mut child) = self.members[member].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Index of the current leader, asked of the first live member that answers.
    pub async fn leader(&self) -> Option<usize> {
        let mut ids = Vec::new();
        let mut leader = None;
        for m in &self.members {
            if m.child.is_none() {
                ids.push(None);
                continue;
            }
            let status = async {
                let mut c = etcd_client::Client::connect([m.client_url.as_str()], None)
                    .await
                    .ok()?;
                c.status().await.ok()
            };
            let status = tokio::time::timeout(Duration::from_secs(2), status)
                .await
                .ok()
                .flatten();
            ids.push(
                status
                    .as_ref()
                    .and_then(|s| s.header())
                    .map(|h| h.member_id()),
            );
            if leader.is_none() {
                leader = status.map(|s| s.leader());
            }
        }
        let leader = leader?;
        ids.iter().position(|id| *id == Some(leader))
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            self.kill(i);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
