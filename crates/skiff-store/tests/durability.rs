//! Crash safety of the embedded store: a child process (this test binary, re-executed) writes
//! in a loop and prints every acknowledged write; the parent SIGKILLs it mid-stream, reopens
//! the file and checks every acknowledged write is there, whole, and every transaction is
//! all-or-nothing. Three rounds on the same file, each starting from the previous crash.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use skiff_store::{CasOutcome, EmbeddedStore, Op, Store, Txn};

const CHILD_ENV: &str = "SKIFF_STORE_DURABILITY_FILE";
const ROUND_ENV: &str = "SKIFF_STORE_DURABILITY_ROUND";
const WRITERS: usize = 8;

/// A value that is recognisably whole: its length and every byte derive from the key.
fn value_for(key: &str) -> Vec<u8> {
    let seed = key
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
    let len = 512 + (seed % 4096) as usize;
    (0..len).map(|i| (seed as usize + i * 13) as u8).collect()
}

#[test]
#[ignore = "the child half of durability_after_kill_9; started by it"]
fn durability_child() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        panic!("run by durability_after_kill_9 only");
    };
    let round: usize = std::env::var(ROUND_ENV).unwrap().parse().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let store = std::sync::Arc::new(EmbeddedStore::open(&path).await.unwrap());
        let mut tasks = Vec::new();
        for w in 0..WRITERS {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                // Bounded so a child the parent failed to kill still ends.
                for n in 0..100_000 {
                    let key = format!("/obj/{round}/{w}/{n}");
                    let value = value_for(&key);
                    if n % 4 == 3 {
                        // Two objects in one transaction: after a crash, both or neither.
                        let (a, b) = (
                            format!("/pair/a/{round}/{w}/{n}"),
                            format!("/pair/b/{round}/{w}/{n}"),
                        );
                        let txn = Txn::new().and_then([
                            Op::put(a.clone(), value_for(&a)),
                            Op::put(b.clone(), value_for(&b)),
                        ]);
                        let rev = store.txn(txn).await.unwrap().revision;
                        ack(&format!("PAIR {a} {b} {rev}"));
                        continue;
                    }
                    match store.create(key.as_bytes(), &value).await.unwrap() {
                        CasOutcome::Written { revision } => ack(&format!("ACK {key} {revision}")),
                        other => panic!("create {key}: {other:?}"),
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
}

fn ack(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").unwrap();
    out.flush().unwrap();
}

#[test]
fn durability_after_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    let exe = std::env::current_exe().unwrap();
    let mut acked: HashMap<String, i64> = HashMap::new();
    let mut pairs: Vec<(String, String)> = Vec::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    for round in 0..3 {
        let mut child = Command::new(&exe)
            .args([
                "durability_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &path)
            .env(ROUND_ENV, round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Kill once the child has acknowledged a few hundred writes, mid-stream.
        let start = Instant::now();
        let mut this_round = 0;
        while this_round < 400 && start.elapsed() < Duration::from_secs(20) {
            let Ok(line) = rx.recv_timeout(Duration::from_secs(20)) else {
                break;
            };
            this_round += record(&line, &mut acked, &mut pairs);
        }
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        // Acknowledgements printed before the kill count too.
        for line in rx.try_iter() {
            this_round += record(&line, &mut acked, &mut pairs);
        }
        assert!(
            this_round >= 400,
            "round {round}: the child acknowledged only {this_round} writes"
        );

        rt.block_on(async {
            let store = EmbeddedStore::open(&path).await.unwrap();
            let max_acked = acked.values().copied().max().unwrap_or(0);
            assert!(store.current_revision().await.unwrap() >= max_acked);
            for (key, rev) in &acked {
                let kv = store
                    .get(key.as_bytes())
                    .await
                    .unwrap()
                    .unwrap_or_else(|| panic!("round {round}: acknowledged {key} is missing"));
                assert_eq!(
                    kv.value,
                    value_for(key),
                    "round {round}: {key} is not whole"
                );
                assert_eq!(kv.mod_revision, *rev, "round {round}: {key}");
            }
            // Writes in flight at the kill may or may not be there, but never torn.
            for kv in store.list(b"/").await.unwrap().kvs {
                let key = String::from_utf8(kv.key.clone()).unwrap();
                assert_eq!(kv.value, value_for(&key), "round {round}: {key} is torn");
            }
            for prefix in ["/pair/a/", "/pair/b/"] {
                let other = if prefix == "/pair/a/" {
                    "/pair/b/"
                } else {
                    "/pair/a/"
                };
                for kv in store.list(prefix.as_bytes()).await.unwrap().kvs {
                    let key = String::from_utf8(kv.key).unwrap();
                    let twin = key.replacen(prefix, other, 1);
                    let twin_kv = store.get(twin.as_bytes()).await.unwrap();
                    assert_eq!(
                        twin_kv.map(|t| t.mod_revision),
                        Some(kv.mod_revision),
                        "round {round}: {key} was stored without {twin}"
                    );
                }
            }
            store.close().await.unwrap();
        });
    }
    assert!(!pairs.is_empty());
    eprintln!(
        "durability: {} acknowledged writes ({} transactions of two) checked after 3 kills",
        acked.len(),
        pairs.len()
    );
}

/// Take one line of the child's output; returns 1 for an acknowledgement.
fn record(
    line: &str,
    acked: &mut HashMap<String, i64>,
    pairs: &mut Vec<(String, String)>,
) -> usize {
    let parts: Vec<&str> = line.split_whitespace().collect();
    match parts.as_slice() {
        ["ACK", key, rev] => {
            acked.insert(key.to_string(), rev.parse().unwrap());
            1
        }
        ["PAIR", a, b, rev] => {
            let rev = rev.parse().unwrap();
            acked.insert(a.to_string(), rev);
            acked.insert(b.to_string(), rev);
            pairs.push((a.to_string(), b.to_string()));
            1
        }
        _ => 0,
    }
}
