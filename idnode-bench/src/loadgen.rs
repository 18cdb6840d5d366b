//! The load generator behind `idnode bench`: drives a running node over any of its protocols at a fixed
//! concurrency (closed loop) or a fixed rate (open loop, paced by [`pacer`]; a request that waited for the
//! server's previous answer counts from when it was due, so a stalled server cannot hide its queue), with keys
//! drawn uniformly or Zipf-skewed from a loaded data set plus a share of misses, and reports throughput and
//! latency percentiles from HDR histograms.
//!
//! - [`keys`]: the key distribution;
//! - [`drivers`]: one client per protocol, each checking that the answer is the right one;
//! - [`grpc_client`]: the gRPC client, which reads of an answer only what decides whether it is right;
//! - [`java_client`]: Handle requests as the Handle.Net Java client sends them.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

pub mod drivers;
pub mod grpc_client;
pub mod idpointer_client;
pub mod java_client;
pub mod keys;
pub mod pacer;
pub mod steal;

use drivers::{Driver, Proto};
use keys::{KeySpec, Keys};

/// Largest latency recorded, µs (longer ones are clamped).
const MAX_LATENCY_US: u64 = 60_000_000;

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// The protocol.
    pub proto: Proto,
    /// The node's listener for that protocol.
    pub addr: SocketAddr,
    /// Workers (requests in flight, closed loop).
    pub concurrency: usize,
    /// Connections shared by the workers (HTTP/2, gRPC unary).
    pub connections: usize,
    /// gRPC stream: requests in flight per stream.
    pub depth: usize,
    /// Measured time.
    pub duration: Duration,
    /// Time run before measuring.
    pub warmup: Duration,
    /// Total requests per second (open loop), or as fast as answered (`None`).
    pub rate: Option<f64>,
    /// The keys.
    pub keys: KeySpec,
}

/// What a run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Protocol label.
    pub proto: String,
    /// Workers.
    pub concurrency: usize,
    /// Requested rate, if any.
    pub rate: Option<f64>,
    /// Seconds measured.
    pub seconds: f64,
    /// Requests answered correctly in the measured window.
    pub ok: u64,
    /// Wrong answers, failures and time-outs.
    pub errors: u64,
    /// `ok` per second.
    pub throughput: f64,
    /// Latency percentiles, µs.
    pub p50_us: u64,
    /// 90th percentile, µs.
    pub p90_us: u64,
    /// 99th percentile, µs.
    pub p99_us: u64,
    /// 99.9th percentile, µs.
    pub p999_us: u64,
    /// Largest, µs.
    pub max_us: u64,
    /// Mean, µs.
    pub mean_us: f64,
    /// CPU time the hypervisor took from the machine during the window, all CPUs, ms.
    pub steal_ms: u64,
    /// Second by second of the measured window (by when requests were due): answers, p50, p99 and max, so that
    /// a tail that grows through a run shows as it grows.
    pub timeline: Vec<Second>,
}

/// One second of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Second {
    /// Seconds since the window began.
    pub second: usize,
    /// Right answers to requests due in this second.
    pub ok: u64,
    /// Median latency, µs.
    pub p50_us: u64,
    /// 99th percentile, µs.
    pub p99_us: u64,
    /// Largest, µs.
    pub max_us: u64,
    /// CPU time the hypervisor took from the machine in this second, all CPUs, ms.
    pub steal_ms: u64,
}

impl Report {
    /// The timeline as a table, a line per second.
    pub fn timeline_table(&self) -> String {
        let mut t = String::from("second      ok   p50 µs   p99 µs   max µs  steal ms\n");
        for s in &self.timeline {
            let (second, ok, p50, p99, max, steal) = (s.second, s.ok, s.p50_us, s.p99_us, s.max_us, s.steal_ms);
            t += &format!("{second:>6} {ok:>7} {p50:>8} {p99:>8} {max:>8} {steal:>9}\n");
        }
        t
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<12} c={:<4} {:>10.0} req/s  errors {:<6} p50 {:>6} µs  p99 {:>6} µs  p99.9 {:>6} µs  max {:>7} µs  \
             steal {} ms",
            self.proto,
            self.concurrency,
            self.throughput,
            self.errors,
            self.p50_us,
            self.p99_us,
            self.p999_us,
            self.max_us,
            self.steal_ms
        )
    }
}

/// The tally of one worker: the whole window, and a coarser histogram per second of it.
struct Tally {
    hist: Histogram<u64>,
    seconds: Vec<Histogram<u64>>,
    ok: u64,
    errors: u64,
}

impl Tally {
    fn new() -> Self {
        let hist = Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid bounds");
        Self { hist, seconds: Vec::new(), ok: 0, errors: 0 }
    }

    /// Records an answer to a request due `at` into the window.
    fn record(&mut self, at: Duration, latency: Duration, right: bool) {
        if !right {
            self.errors += 1;
            return;
        }
        self.ok += 1;
        let us = (latency.as_micros() as u64).clamp(1, MAX_LATENCY_US);
        let _ = self.hist.record(us);
        let _ = self.second(at.as_secs() as usize).record(us);
    }

    /// The histogram of second `i` of the window, made on first use.
    fn second(&mut self, i: usize) -> &mut Histogram<u64> {
        while self.seconds.len() <= i {
            self.seconds.push(Histogram::new_with_bounds(1, MAX_LATENCY_US, 2).expect("valid bounds"));
        }
        &mut self.seconds[i]
    }

    fn add(&mut self, other: &Tally) -> anyhow::Result<()> {
        self.hist.add(&other.hist)?;
        for (i, h) in other.seconds.iter().enumerate() {
            self.second(i).add(h)?;
        }
        self.ok += other.ok;
        self.errors += other.errors;
        Ok(())
    }
}

/// The measurement window.
#[derive(Clone, Copy)]
struct Window {
    from: Instant,
    to: Instant,
}

impl Window {
    fn counts(&self, t: Instant) -> bool {
        t >= self.from && t < self.to
    }
}

/// Runs `spec` and reports.
pub async fn run(spec: LoadSpec) -> anyhow::Result<Report> {
    let mut shared = Vec::new();
    for _ in 0..spec.connections.max(1) {
        shared.push(drivers::connect_shared(spec.proto, spec.addr).await?);
    }
    let mut drivers = Vec::new();
    for w in 0..spec.concurrency.max(1) {
        drivers.push(Driver::open(spec.proto, spec.addr, shared[w % shared.len()].clone()).await?);
    }
    let start = Instant::now();
    let window = Window { from: start + spec.warmup, to: start + spec.warmup + spec.duration };
    // Open loop: each worker's due times; closed loop: none.
    let mut schedules =
        spec.rate.map(|r| pacer::start(r, drivers.len(), start, window.to)).transpose()?.map(Vec::into_iter);
    let steal = tokio::spawn(steal::per_second(window.from, spec.duration.as_secs_f64().ceil() as u64));
    let mut tasks = Vec::new();
    for (w, driver) in drivers.into_iter().enumerate() {
        let keys = Keys::new(spec.keys.clone(), w as u64 + 1);
        let (schedule, depth) = (schedules.as_mut().and_then(Iterator::next), spec.depth.max(1));
        tasks.push(tokio::spawn(worker(driver, keys, window, schedule, depth, spec.proto, spec.addr)));
    }
    let mut total = Tally::new();
    for t in tasks {
        total.add(&t.await?)?;
    }
    let steal = steal.await?;
    let timeline = total
        .seconds
        .iter()
        .enumerate()
        .map(|(second, h)| Second {
            second,
            ok: h.len(),
            p50_us: h.value_at_quantile(0.5),
            p99_us: h.value_at_quantile(0.99),
            max_us: h.max(),
            steal_ms: steal.get(second).copied().unwrap_or_default(),
        })
        .collect();
    let seconds = spec.duration.as_secs_f64();
    let h = &total.hist;
    Ok(Report {
        proto: format!("{:?}", spec.proto).to_lowercase(),
        concurrency: spec.concurrency,
        rate: spec.rate,
        seconds,
        ok: total.ok,
        errors: total.errors,
        throughput: total.ok as f64 / seconds,
        p50_us: h.value_at_quantile(0.5),
        p90_us: h.value_at_quantile(0.9),
        p99_us: h.value_at_quantile(0.99),
        p999_us: h.value_at_quantile(0.999),
        max_us: h.max(),
        mean_us: h.mean(),
        steal_ms: steal.iter().sum(),
        timeline,
    })
}

async fn worker(
    mut driver: Driver,
    mut keys: Keys,
    window: Window,
    mut schedule: Option<pacer::Tickets>,
    depth: usize,
    proto: Proto,
    addr: SocketAddr,
) -> Tally {
    let mut tally = Tally::new();
    let mut answered: Option<Instant> = None;
    loop {
        if driver.pipelined() {
            while driver.in_flight() < depth && Instant::now() < window.to {
                let (k, hit) = keys.next_key();
                if driver.send(&k, hit).await.is_err() {
                    tally.errors += 1;
                    return tally;
                }
            }
            if driver.in_flight() == 0 {
                return tally;
            }
            match driver.receive().await {
                Ok((asked, right)) if window.counts(asked) => tally.record(asked - window.from, asked.elapsed(), right),
                Ok(_) => {}
                Err(_) => {
                    tally.errors += 1;
                    return tally;
                }
            }
            continue;
        }
        // Open loop: a request that was due while this worker still waited for its previous answer counts from
        // when it was due, so a server that falls behind is charged with its queue (no coordinated omission). One
        // that the worker got late for any other reason (the pacer or this process not scheduled on time) counts
        // from its send: that delay is the generator's, not the server's.
        let scheduled = match &mut schedule {
            Some(tickets) => match tickets.next().await {
                Some(due) if answered.is_some_and(|a| a > due) => due,
                Some(_) => Instant::now(),
                None => return tally,
            },
            None => Instant::now(),
        };
        if scheduled >= window.to {
            return tally;
        }
        let (k, hit) = keys.next_key();
        let right = driver.call(&k, hit).await;
        answered = Some(Instant::now());
        if window.counts(scheduled) {
            tally.record(scheduled - window.from, scheduled.elapsed(), *right.as_ref().unwrap_or(&false));
        }
        if right.is_err() {
            // A broken connection: reopen it (shared HTTP/2 connections and channels recover on their own).
            tokio::time::sleep(Duration::from_millis(10)).await;
            if matches!(proto, Proto::Http1 | Proto::HandleTcp | Proto::HandleUdp | Proto::HandleUdpJava)
                && let Ok(d) = Driver::open(proto, addr, None).await
            {
                driver = d;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpListener;

    use super::keys::KeySpec;
    use super::{LoadSpec, Proto, run};
    use crate::dataset::DatasetSpec;

    /// An HTTP/1.1 server that answers every request with 200 after exactly `service`.
    async fn http_fixed_service_time(service: Duration) -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut pending = Vec::new();
                    let mut buf = [0u8; 4096];
                    while let Ok(n @ 1..) = s.read(&mut buf).await {
                        pending.extend_from_slice(&buf[..n]);
                        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                            pending.drain(..end + 4);
                            tokio::time::sleep(service).await;
                            let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
                            if s.write_all(answer).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        addr
    }

    /// A Handle protocol server over UDP that answers every request with response code 1 (and no values: the
    /// generator reads only the code) after exactly `service`, each request on its own task.
    async fn udp_fixed_service_time(service: Duration) -> std::net::SocketAddr {
        use idnode::hdl::codec::{ENVELOPE_LEN, Envelope, Header, decode_message, encode_message, push_udp_packets};
        let socket = std::sync::Arc::new(tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let addr = socket.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
                let (Ok(env), Ok(req)) = (Envelope::decode(&buf[..n]), decode_message(&buf[ENVELOPE_LEN..n])) else {
                    continue;
                };
                let socket = socket.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(service).await;
                    let message = encode_message(&Header { response_code: 1, body_len: 0, ..req.header }, &[]);
                    let mut packets = Vec::new();
                    push_udp_packets(&env.reply(message.len()), &message, &mut packets);
                    let _ = socket.send_to(&packets, peer).await;
                });
            }
        });
        addr
    }

    /// A gRPC server whose `Resolve` answers every identifier with one value after exactly `service`.
    async fn grpc_fixed_service_time(service: Duration) -> std::net::SocketAddr {
        use idnode::grpc::pb;
        use tonic::{Request, Response, Status, Streaming};
        struct Fixed(Duration);
        type Answers = std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::ResolveResponse, Status>> + Send>>;
        #[tonic::async_trait]
        impl pb::resolver_server::Resolver for Fixed {
            async fn resolve(&self, req: Request<pb::ResolveRequest>) -> Result<Response<pb::ResolveResponse>, Status> {
                tokio::time::sleep(self.0).await;
                let value =
                    pb::HandleValue { index: 1, r#type: "URL".into(), data: b"x".to_vec(), ..Default::default() };
                let handle = req.into_inner().handle;
                Ok(Response::new(pb::ResolveResponse {
                    handle,
                    response_code: 1,
                    values: vec![value],
                    ..Default::default()
                }))
            }
            async fn resolve_batch(
                &self,
                _: Request<pb::ResolveBatchRequest>,
            ) -> Result<Response<pb::ResolveBatchResponse>, Status> {
                Err(Status::unimplemented("only Resolve"))
            }
            type ResolveStreamStream = Answers;
            async fn resolve_stream(
                &self,
                _: Request<Streaming<pb::ResolveRequest>>,
            ) -> Result<Response<Answers>, Status> {
                Err(Status::unimplemented("only Resolve"))
            }
        }
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
        let service = pb::resolver_server::ResolverServer::new(Fixed(service));
        tokio::spawn(tonic::transport::Server::builder().add_service(service).serve_with_incoming(incoming));
        addr
    }

    /// The open loop measures from each request's scheduled time: against a server with a known service time,
    /// at a tenth of its capacity, it reports that time, not less (a generator that hid the server's time) and
    /// not much more (a tail of its own). The loop and its pacer are the same for every protocol; HTTP/1.1, gRPC
    /// and UDP check it over a stream, over HTTP/2 streams on one channel and over datagrams.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_open_loop_reports_the_servers_service_time() {
        let service = Duration::from_millis(5);
        for (proto, addr) in [
            (Proto::Http1, http_fixed_service_time(service).await),
            (Proto::GrpcUnary, grpc_fixed_service_time(service).await),
            (Proto::HandleUdp, udp_fixed_service_time(service).await),
        ] {
            let report = run(LoadSpec {
                proto,
                addr,
                concurrency: 16,
                connections: 1,
                depth: 1,
                duration: Duration::from_secs(2),
                warmup: Duration::from_millis(300),
                rate: Some(300.0),
                keys: KeySpec { dataset: DatasetSpec::new(1000, 10), zipf: None, miss_ratio: 0.0 },
            })
            .await
            .unwrap();
            eprintln!("against a 5 ms server at 300/s: {report}");
            assert_eq!(report.errors, 0, "{report}");
            assert!(report.ok >= 400, "{report}");
            let service_us = service.as_micros() as u64;
            assert!(report.p50_us >= service_us, "the server's 5 ms were not measured: {report}");
            // Generous: a loaded machine adds scheduling delay, but not a multiple of the service time.
            assert!(report.p50_us < 3 * service_us, "{report}");
            assert!(report.p99_us < 10 * service_us, "a tail of the generator's own: {report}");
            // The timeline covers the window, second by second, and adds up to the whole.
            assert_eq!(report.timeline.len(), 2, "{}", report.timeline_table());
            assert_eq!(report.timeline.iter().map(|s| s.ok).sum::<u64>(), report.ok);
        }
    }
}
