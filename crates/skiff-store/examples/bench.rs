//! Object-create throughput with a watcher, the way the API server uses the store: N
//! concurrent writers create distinct keys with compare-and-swap on absence; one watcher on the
//! prefix records when each event arrives. Reports creates/s and write→event latency.
//!
//! ```text
//! cargo run --release -p skiff-store --example bench -- [--backend embedded|etcd]
//!     [--writers 64] [--objects 20000] [--value-bytes 1024] [--rate 2000]
//!     [--etcd http://127.0.0.1:2379]
//! ```
//! Without `--rate` the writers go as fast as they can (throughput). With `--rate R` writes
//! are issued on a fixed schedule of R per second and latencies count from the scheduled
//! time, so queueing behind a slow commit is measured rather than hidden.
//! With `--backend etcd` and no `--etcd`, a throwaway single-member etcd is started.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use skiff_store::testing::EtcdCluster;
use skiff_store::{CasOutcome, EmbeddedStore, EtcdOptions, EtcdStore, Store, WatchRequest};
use tokio_stream::StreamExt;

struct Args {
    backend: String,
    writers: usize,
    objects: usize,
    value_bytes: usize,
    rate: Option<f64>,
    etcd: Option<String>,
}

fn parse_args() -> Args {
    let mut args = Args {
        backend: "embedded".into(),
        writers: 64,
        objects: 20_000,
        value_bytes: 1024,
        rate: None,
        etcd: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| usage(&format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "--backend" => args.backend = value(),
            "--writers" => {
                args.writers = value().parse().unwrap_or_else(|_| usage("bad --writers"))
            }
            "--objects" => {
                args.objects = value().parse().unwrap_or_else(|_| usage("bad --objects"))
            }
            "--value-bytes" => {
                args.value_bytes = value()
                    .parse()
                    .unwrap_or_else(|_| usage("bad --value-bytes"))
            }
            "--rate" => args.rate = Some(value().parse().unwrap_or_else(|_| usage("bad --rate"))),
            "--etcd" => args.etcd = Some(value()),
            other => usage(&format!("unknown flag {other}")),
        }
    }
    args
}

fn usage(msg: &str) -> ! {
    eprintln!("bench: {msg}");
    eprintln!(
        "usage: bench [--backend embedded|etcd] [--writers N] [--objects N] [--value-bytes N] \
         [--rate PER_SECOND] [--etcd URL]"
    );
    std::process::exit(2);
}

fn percentile(sorted: &[u64], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    Duration::from_nanos(sorted[i])
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut _cluster = None;
    let store: Arc<dyn Store> = match args.backend.as_str() {
        "embedded" => Arc::new(
            EmbeddedStore::open(dir.path().join("bench.redb"))
                .await
                .expect("open embedded store"),
        ),
        "etcd" => {
            let endpoint = match &args.etcd {
                Some(url) => url.clone(),
                None => {
                    let cluster = EtcdCluster::start(1).unwrap_or_else(|e| panic!("{e}"));
                    let url = cluster.endpoint(0);
                    _cluster = Some(cluster);
                    url
                }
            };
            Arc::new(
                EtcdStore::connect(&[endpoint], EtcdOptions::default())
                    .await
                    .expect("connect to etcd"),
            )
        }
        other => usage(&format!("unknown backend {other}")),
    };

    let n = args.objects;
    // Nanoseconds since `origin` at which each object's write was issued.
    let issued: Arc<Vec<AtomicU64>> = Arc::new((0..n).map(|_| AtomicU64::new(0)).collect());
    let origin = Instant::now();
    let mut watch = store
        .watch(WatchRequest::prefix("/bench/"))
        .await
        .expect("watch");
    let watcher = {
        let issued = issued.clone();
        tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(n);
            while latencies.len() < n {
                let ev = match tokio::time::timeout(Duration::from_secs(30), watch.next()).await {
                    Ok(Some(Ok(ev))) => ev,
                    other => panic!("watch stopped after {} events: {other:?}", latencies.len()),
                };
                let seen = origin.elapsed().as_nanos() as u64;
                let key = String::from_utf8_lossy(&ev.kv.key);
                let i: usize = key.rsplit('/').next().unwrap().parse().unwrap();
                latencies.push(seen.saturating_sub(issued[i].load(Ordering::Acquire)));
            }
            latencies
        })
    };

    let value = vec![b'v'; args.value_bytes];
    let next = Arc::new(AtomicUsize::new(0));
    let rate = args.rate;
    let start = Instant::now();
    let schedule_origin = origin.elapsed().as_nanos() as u64;
    let mut writers = Vec::new();
    for _ in 0..args.writers {
        let (store, issued, next, value) =
            (store.clone(), issued.clone(), next.clone(), value.clone());
        writers.push(tokio::spawn(async move {
            let mut acks = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return acks;
                }
                let t0 = match rate {
                    Some(rate) => {
                        let due = schedule_origin + (i as f64 * 1e9 / rate) as u64;
                        let now = origin.elapsed().as_nanos() as u64;
                        if due > now {
                            tokio::time::sleep(Duration::from_nanos(due - now)).await;
                        }
                        due
                    }
                    None => origin.elapsed().as_nanos() as u64,
                };
                issued[i].store(t0, Ordering::Release);
                let key = format!("/bench/objects/{i}");
                match store.create(key.as_bytes(), &value).await {
                    Ok(CasOutcome::Written { .. }) => {}
                    other => panic!("create {key}: {other:?}"),
                }
                acks.push(origin.elapsed().as_nanos() as u64 - t0);
            }
        }));
    }
    let mut acks = Vec::with_capacity(n);
    for w in writers {
        acks.extend(w.await.expect("writer"));
    }
    let elapsed = start.elapsed();
    let mut latencies = watcher.await.expect("watcher");
    latencies.sort_unstable();
    acks.sort_unstable();

    println!(
        "backend={} writers={} objects={} value_bytes={} rate={}",
        args.backend,
        args.writers,
        n,
        args.value_bytes,
        rate.map_or("unlimited".to_string(), |r| format!("{r}/s"))
    );
    println!(
        "creates/s: {:.0}  ({} in {:.2?})",
        n as f64 / elapsed.as_secs_f64(),
        n,
        elapsed
    );
    println!(
        "write->event latency: p50 {:.2?}  p99 {:.2?}  max {:.2?}",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0)
    );
    println!(
        "write ack latency:    p50 {:.2?}  p99 {:.2?}",
        percentile(&acks, 0.50),
        percentile(&acks, 0.99)
    );
    println!("bench process RSS: {} KiB", rss_kib());
}
