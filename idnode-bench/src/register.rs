//! The write benchmark: batches of product records over gRPC `BatchRegister` or the SNMS `batchCreate`, or
//! single REST `PUT`s or Handle-protocol creates, each record following the shipped product template (or, with `--free`, the same record
//! naming none: the cost of the template check). Every call is checked: a batch counts only if every item
//! succeeded.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tonic::transport::Channel;

use idnode::grpc::pb;
use idnode::hdl::admin::AdminRequest;
use idnode::hdl::client::Transport;
use idnode::hdl::client::admin::{Key, Link};
use idnode::record::HandleValue;
use idnode::template::{TEMPLATE_ID_INDEX, TEMPLATE_VERSION_INDEX, ceramics};

/// The door the records are written through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Via {
    /// gRPC `BatchRegister`, `--size` records a call.
    GrpcBatch,
    /// SNMS `POST /identityv2/data/batchCreate`, `--size` records a call.
    SnmsBatch,
    /// REST `PUT /api/handles/…`, one record a call.
    RestPut,
    /// Handle protocol `OC_CREATE_HANDLE` over one TCP connection logged in once (opcode 2001, as the IDIS
    /// SDKs do), one record a call.
    HandleLogin,
    /// Handle protocol `OC_CREATE_HANDLE` over one TCP connection, each challenged and answered with PBKDF2
    /// (CNRI's client's form from 2.7), one record a call.
    HandleChallenged,
}

/// Options of `idnode-bench register`.
#[derive(Debug, clap::Args)]
pub struct RegisterArgs {
    /// The door.
    #[arg(long, value_enum)]
    pub via: Via,
    /// The node's listener for it (gRPC, Handle TCP, or REST for the others).
    #[arg(long)]
    pub target: SocketAddr,
    /// Records per call (batches).
    #[arg(long, default_value_t = 2000)]
    pub size: usize,
    /// Calls, one after another.
    #[arg(long, default_value_t = 10)]
    pub calls: usize,
    /// The identity that writes (`index:handle`) and its secret.
    #[arg(long, default_value = "300:0.NA/88.798.1")]
    pub user: String,
    /// Its secret.
    #[arg(long, default_value = "demo-secret-1")]
    pub secret: String,
    /// The prefix written under.
    #[arg(long, default_value = "88.798.1")]
    pub prefix: String,
    /// Records naming no template (REST and gRPC only): the same values, unchecked.
    #[arg(long)]
    pub free: bool,
}

/// What a run measured: the latency of each call and the records written per second.
#[derive(Debug, serde::Serialize)]
pub struct WriteReport {
    /// The door.
    pub via: String,
    /// Records per call.
    pub size: usize,
    /// Calls made.
    pub calls: usize,
    /// Whether the records named a template.
    pub templated: bool,
    /// Median, 99th percentile and largest call latency, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Largest, ms.
    pub max_ms: f64,
    /// Records written per second over the run.
    pub records_per_sec: f64,
}

impl std::fmt::Display for WriteReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", serde_json::to_string(self).map_err(|_| std::fmt::Error)?)
    }
}

/// The values of record `n` of the run: the demo's product record under `prefix`.
fn values(prefix: &str, handle: &str, n: u64, free: bool) -> Vec<HandleValue> {
    let mut v = idnode::demo::product_record(n, n as usize, prefix, handle);
    v.retain(|x| x.index != 100 && !(free && (x.index == TEMPLATE_ID_INDEX || x.index == TEMPLATE_VERSION_INDEX)));
    v
}

/// A value in the JSON of the REST and SNMS APIs (a string).
fn item(v: &HandleValue) -> Value {
    json!({"index": v.index, "type": v.ty, "data": {"format": "string", "value": String::from_utf8_lossy(&v.data)}})
}

/// A built batch request.
enum Payload {
    Grpc(pb::BatchRegisterRequest),
    Json(Bytes),
}

/// Runs the benchmark.
pub async fn run(a: &RegisterArgs) -> anyhow::Result<WriteReport> {
    if a.free && a.via == Via::SnmsBatch {
        bail!("SNMS records always name a template");
    }
    let tag = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis();
    let handle = |call: usize, i: usize| format!("{}/REG-{tag}-{call:04}-{i:05}", a.prefix);
    let one_by_one = matches!(a.via, Via::RestPut | Via::HandleLogin | Via::HandleChallenged);
    let calls = if one_by_one { a.calls * a.size } else { a.calls };
    let mut door = Door::open(a).await?;
    let mut latencies = Vec::with_capacity(calls);
    let started = Instant::now();
    for call in 0..a.calls {
        let batch: Vec<(String, Vec<HandleValue>)> = (0..a.size)
            .map(|i| {
                let h = handle(call, i);
                let v = values(&a.prefix, &h, (call * a.size + i) as u64, a.free);
                (h, v)
            })
            .collect();
        match a.via {
            Via::RestPut | Via::HandleLogin | Via::HandleChallenged => {
                for (h, v) in batch {
                    let t = Instant::now();
                    door.put(&h, &v).await?;
                    latencies.push(t.elapsed());
                }
            }
            _ => {
                // The request is built before the clock starts: the call's latency is the node's, not ours.
                let payload = door.payload(batch)?;
                let t = Instant::now();
                door.send(payload).await?;
                latencies.push(t.elapsed());
            }
        }
    }
    let total = started.elapsed();
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let at = |q: f64| ms(latencies[((latencies.len() - 1) as f64 * q).round() as usize]);
    Ok(WriteReport {
        via: format!("{:?}", a.via),
        size: if one_by_one { 1 } else { a.size },
        calls,
        templated: !a.free,
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        max_ms: at(1.0),
        records_per_sec: (a.calls * a.size) as f64 / total.as_secs_f64(),
    })
}

/// A connection to the node's door, logged in.
enum Door {
    Grpc(pb::registry_client::RegistryClient<Channel>, String),
    Http(http1::SendRequest<Full<Bytes>>, String),
    Handle(Box<Link>, Key),
}

impl Door {
    async fn open(a: &RegisterArgs) -> anyhow::Result<Self> {
        if matches!(a.via, Via::HandleLogin | Via::HandleChallenged) {
            let (index, handle) = a.user.split_once(':').context("--user is index:handle")?;
            let key = Key::secret(handle, index.parse()?, a.secret.as_bytes());
            let mut link = Link::connect(a.target, Transport::Tcp).await?;
            if a.via == Via::HandleLogin {
                let answer = link.login(&key).await?;
                anyhow::ensure!(answer.header.response_code == 1, "login refused: {}", answer.header.response_code);
            }
            return Ok(Door::Handle(Box::new(link), key));
        }
        if a.via == Via::GrpcBatch {
            let ch = Channel::from_shared(format!("http://{}", a.target))?.connect().await?;
            return Ok(Door::Grpc(pb::registry_client::RegistryClient::new(ch), basic(a)));
        }
        let stream = tokio::net::TcpStream::connect(a.target).await?;
        let (mut send, conn) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        let auth = match a.via {
            Via::SnmsBatch => {
                let body = json!({"username": a.user, "password": a.secret});
                let j = call(&mut send, "POST", "/identity/token", "", Bytes::from(serde_json::to_vec(&body)?)).await?;
                let token = j["data"]["token"].as_str().context("login refused")?;
                format!("Bearer {token}")
            }
            _ => basic(a),
        };
        Ok(Door::Http(send, auth))
    }

    /// The request of a batch, built.
    fn payload(&self, batch: Vec<(String, Vec<HandleValue>)>) -> anyhow::Result<Payload> {
        Ok(match self {
            Door::Grpc(..) => Payload::Grpc(pb::BatchRegisterRequest {
                items: batch
                    .into_iter()
                    .map(|(handle, values)| pb::BatchItem {
                        op: Some(pb::batch_item::Op::Create(pb::CreateRequest {
                            handle,
                            values: values.iter().map(idnode::grpc::convert::value_out).collect(),
                            ..Default::default()
                        })),
                    })
                    .collect(),
            }),
            Door::Handle(..) => bail!("the Handle protocol writes one record a call"),
            Door::Http(..) => {
                let records: Vec<Value> = batch
                    .into_iter()
                    .map(|(handle, values)| {
                        let items: Vec<Value> = values.iter().filter(|v| v.index >= 2000).map(item).collect();
                        json!({"handle": handle, "templateVersion": ceramics::PRODUCT_VERSION, "value": items})
                    })
                    .collect();
                Payload::Json(Bytes::from(serde_json::to_vec(&records)?))
            }
        })
    }

    async fn send(&mut self, payload: Payload) -> anyhow::Result<()> {
        match (self, payload) {
            (Door::Grpc(client, auth), Payload::Grpc(body)) => {
                let mut req = tonic::Request::new(body);
                req.metadata_mut().insert("authorization", auth.parse()?);
                let r = client.batch_register(req).await?.into_inner();
                if r.failed > 0 {
                    bail!("{} items failed, first: {:?}", r.failed, r.results.iter().find(|x| x.error.is_some()));
                }
            }
            (Door::Http(send, auth), Payload::Json(body)) => {
                let j = call(send, "POST", "/identityv2/data/batchCreate", auth, body).await?;
                let failed: Vec<&Value> =
                    j["data"].as_array().context("no results")?.iter().filter(|r| r["msg"] != "success").collect();
                if j["status"] != 1 || !failed.is_empty() {
                    bail!(
                        "batch failed: status {}, {} items failed, first {:?}",
                        j["status"],
                        failed.len(),
                        failed.first()
                    );
                }
            }
            _ => bail!("a payload for another door"),
        }
        Ok(())
    }

    async fn put(&mut self, handle: &str, values: &[HandleValue]) -> anyhow::Result<()> {
        if let Door::Handle(link, key) = self {
            let create = AdminRequest::Create(handle.to_owned(), values.to_vec());
            let answer = link.administer(&create, 0, key).await?;
            anyhow::ensure!(answer.header.response_code == 1, "create {handle}: {}", answer.header.response_code);
            return Ok(());
        }
        let Door::Http(send, auth) = self else { bail!("PUT goes over HTTP") };
        let body: Vec<Value> = values.iter().map(item).collect();
        let path = format!("/api/handles/{handle}");
        let j = call(send, "PUT", &path, auth, Bytes::from(serde_json::to_vec(&body)?)).await?;
        if j["responseCode"] != 1 {
            bail!("PUT {handle}: {j}");
        }
        Ok(())
    }
}

fn basic(a: &RegisterArgs) -> String {
    use base64::Engine as _;
    let user = a.user.replace(':', "%3A");
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{}", a.secret)))
}

/// One HTTP/1.1 call with a JSON body; the answer's JSON.
async fn call(
    send: &mut http1::SendRequest<Full<Bytes>>,
    method: &str,
    path: &str,
    auth: &str,
    body: Bytes,
) -> anyhow::Result<Value> {
    let mut req = hyper::Request::builder().method(method).uri(path).header("host", "idnode");
    req = req.header("content-type", "application/json");
    if !auth.is_empty() {
        req = req.header("authorization", auth);
    }
    // An HTTP/1.1 connection takes the next request only once it has finished the last.
    send.ready().await?;
    let resp = send.send_request(req.body(Full::new(body))?).await?;
    let bytes = resp.into_body().collect().await?.to_bytes();
    Ok(serde_json::from_slice(&bytes)?)
}
