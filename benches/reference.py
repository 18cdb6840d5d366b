#!/usr/bin/env python3
"""The reference comparison of benches/reference.sh: one run, one machine, servers on one CPU, generators on
the other. Writes $WORK/results.jsonl (one line per run) and $WORK/summary.md (the table of BENCHMARKS.md)."""
import http.client, json, os, re, subprocess, sys, time

BIN = sys.argv[1]
E = os.environ
GENERATOR = E.get("GENERATOR", os.path.join(os.path.dirname(BIN), "idnode-bench"))
COUNT, ENTS = int(E.get("COUNT", 1_000_000)), int(E.get("ENTERPRISES", 2000))
SAMPLE, DURATION, CONC = int(E.get("SAMPLE", 10_000)), float(E.get("DURATION", 10)), int(E.get("CONC", 64))
WORK, SCPU, GCPU = E.get("WORK", "/tmp/idnode-bench"), E.get("SERVER_CPU", "0"), E.get("GEN_CPU", "1")
CACHE_MB = int(E.get("BLOCK_CACHE_MB", 256))
TXT_BYTES = int(E.get("TXT_BYTES", 1500))
P = dict(http=18000, https=18443, grpc=18051, handle=18641, admin=18180, nginx=18080, nginx_tls=18444,
         redis=16379, etcd=12379, etcd_peer=12380, nsd=15353)
os.makedirs(WORK, exist_ok=True)
RESULTS = open(os.path.join(WORK, "results.jsonl"), "w")
rows = {}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def gen(args, **kw):
    return subprocess.run(["taskset", "-c", GCPU] + args, capture_output=True, text=True, **kw)


def serve(name, args):
    out = open(os.path.join(WORK, f"{name}.log"), "w")
    return subprocess.Popen(["taskset", "-c", SCPU] + args, stdout=out, stderr=subprocess.STDOUT)


def wait_http(port, path="/", tls=False, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            c = (http.client.HTTPSConnection if tls else http.client.HTTPConnection)("127.0.0.1", port, timeout=2,
                 **({"context": __import__("ssl")._create_unverified_context()} if tls else {}))
            c.request("GET", path)
            if c.getresponse().status < 500:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"nothing answers on port {port}")


def wait_idle(limit=float(E.get("IDLE_LOAD", 0.5)), timeout=120):
    deadline = time.time() + timeout
    while os.getloadavg()[0] > limit and time.time() < deadline:
        time.sleep(2)
    return os.getloadavg()[0]


def record(key, system, **m):
    m.update(key=key, system=system, load=round(os.getloadavg()[0], 2))
    RESULTS.write(json.dumps(m) + "\n")
    RESULTS.flush()
    rows[(key, system)] = m
    log(f"{key:<22} {system:<8} {m.get('throughput', 0):>10.0f}/s p50 {m.get('p50_us', '-')} p99 {m.get('p99_us', '-')} µs"
        f" errors {m.get('errors', 0)}")


def handle(i):
    serial = i // ENTS
    return f"88.798.{1 + i % ENTS}/JDZ-{2020 + serial % 6}-{serial:08d}"


def bench(key, system, proto, port, count, conc=CONC, extra=()):
    wait_idle()
    r = gen([GENERATOR, "run", "--proto", proto, "--target", f"127.0.0.1:{port}", "-c", str(conc), "-d", str(DURATION),
             "--warmup", "2", "--count", str(count), "--enterprises", str(ENTS), "--json", *extra])
    if r.returncode != 0:
        raise SystemExit(f"{key}/{system}: {r.stderr}")
    m = json.loads(r.stdout.strip().splitlines()[-1])
    record(key, system, **m)
    return m


def peak_rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def stop(p):
    p.terminate()
    try:
        p.wait(30)
    except subprocess.TimeoutExpired:
        p.kill()


def idnode_config(tls):
    path = os.path.join(WORK, "idnode-tls.toml" if tls else "idnode.toml")
    cert = f'tls_cert = "{WORK}/cert.pem"\ntls_key = "{WORK}/key.pem"\n' if tls else ""
    open(path, "w").write(f"""[storage]
path = "{WORK}/data-{COUNT}"
durability = "buffered"
block_cache_mb = {CACHE_MB}
[http]
listen = "127.0.0.1:{P['https'] if tls else P['http']}"
max_concurrent_requests = 100000
{cert}[grpc]
listen = "127.0.0.1:{P['grpc']}"
[handle]
listen_udp = "127.0.0.1:{P['handle']}"
listen_tcp = "127.0.0.1:{P['handle']}"
max_in_flight = 100000
[admin]
listen = "127.0.0.1:{P['admin']}"
""")
    return path


def start_idnode(tls=False):
    p = serve("idnode-tls" if tls else "idnode", [BIN, "serve", "--config", idnode_config(tls)])
    wait_http(P["admin"], "/readyz")
    return p


# -- the data set, its sample exported for the references -------------------------------------------------------
data = f"{WORK}/data-{COUNT}"
if not os.path.exists(f"{data}/.loaded"):
    subprocess.run(["rm", "-rf", data], check=True)
    t = time.time()
    out = subprocess.run([GENERATOR, "load-dataset", "--data-dir", data, "--count", str(COUNT), "--enterprises", str(ENTS)],
                         check=True, capture_output=True, text=True).stdout
    log(out.strip())
    open(f"{data}/.loaded", "w").write(out)
du = subprocess.run(["du", "-sm", data], capture_output=True, text=True).stdout.split()[0]
record("dataset", "idnode", count=COUNT, enterprises=ENTS, disk_mb=int(du), block_cache_mb=CACHE_MB,
       load=open(f"{data}/.loaded").read().strip())

if not os.path.exists(f"{WORK}/cert.pem"):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", "/CN=127.0.0.1",
                    "-keyout", f"{WORK}/key.pem", "-out", f"{WORK}/cert.pem"], check=True, capture_output=True)

node = start_idnode()
www = f"{WORK}/www"
c = http.client.HTTPConnection("127.0.0.1", P["http"])
sizes = []
with open(f"{WORK}/redis.resp", "wb") as resp, open(f"{WORK}/urls.txt", "w") as urls, \
        open(f"{WORK}/paths.lua", "w") as lua, open(f"{WORK}/queries.txt", "w") as queries, \
        open(f"{WORK}/bench.zone", "w") as zone:
    zone.write("$TTL 3600\n@ IN SOA ns.bench. admin.bench. 1 3600 600 86400 3600\n@ IN NS ns.bench.\n"
               "ns IN A 127.0.0.1\n")
    lua.write("paths = {\n")
    for i in range(SAMPLE):
        h = handle(i)
        c.request("GET", f"/api/handles/{h}")
        r = c.getresponse()
        body = r.read()
        assert r.status == 200, (h, r.status)
        sizes.append(len(body))
        os.makedirs(os.path.dirname(f"{www}/api/handles/{h}"), exist_ok=True)
        open(f"{www}/api/handles/{h}", "wb").write(body)
        urls.write(f"https://127.0.0.1:{P['nginx_tls']}/api/handles/{h}\n")
        lua.write(f'"/api/handles/{h}",\n')
        key = b"key:%012d" % i
        resp.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, len(body), body))
        # a TXT answer about as large as the Handle protocol's binary answer of the record (~1.5 KB)
        dns = body[:TXT_BYTES]
        txt = " ".join('"' + "".join(f"\\{b:03d}" if b < 0x20 or b > 0x7e or b in (34, 92) else chr(b)
                                     for b in dns[j:j + 255]) + '"' for j in range(0, len(dns), 255))
        zone.write(f"k{i} IN TXT {txt}\n")
        queries.write(f"k{i}.bench TXT\n")
    lua.write("}\nrequest = function() return wrk.format('GET', paths[math.random(#paths)]) end\n")
record("responses", "idnode", sample=SAMPLE, mean_bytes=sum(sizes) / len(sizes), max_bytes=max(sizes))

# -- references ---------------------------------------------------------------------------------------------------
open(f"{WORK}/nginx.conf", "w").write(f"""worker_processes 1;
pid {WORK}/nginx.pid;
error_log {WORK}/nginx-error.log;
events {{ worker_connections 8192; }}
http {{
  access_log off; sendfile on; tcp_nodelay on; keepalive_requests 10000000; keepalive_timeout 300;
  default_type application/json; open_file_cache max=20000;
  server {{ listen 127.0.0.1:{P['nginx']}; root {www}; }}
  server {{ listen 127.0.0.1:{P['nginx_tls']} ssl http2; root {www};
           ssl_certificate {WORK}/cert.pem; ssl_certificate_key {WORK}/key.pem; }}
}}
""")
def start_nginx():
    p = serve("nginx", ["nginx", "-c", f"{WORK}/nginx.conf", "-g", "daemon off;"])
    wait_http(P["nginx"])
    return p


subprocess.run(["rm", "-rf", f"{WORK}/etcd"], check=True)
etcd_cmd = ["etcd", "--data-dir", f"{WORK}/etcd", "--listen-client-urls", f"http://127.0.0.1:{P['etcd']}",
            "--advertise-client-urls", f"http://127.0.0.1:{P['etcd']}",
            "--listen-peer-urls", f"http://127.0.0.1:{P['etcd_peer']}", "--quota-backend-bytes", "8589934592"]
open(f"{WORK}/nsd.conf", "w").write(f"""server:
  ip-address: 127.0.0.1@{P['nsd']}
  port: {P['nsd']}
  server-count: 1
  username: ""
  zonesdir: "{WORK}"
  database: ""
  pidfile: "{WORK}/nsd.pid"
  xfrdfile: "{WORK}/xfrd.state"
  zonelistfile: "{WORK}/zone.list"
  logfile: "{WORK}/nsd-server.log"
  verbosity: 0
  ipv4-edns-size: 4096
remote-control:
  control-enable: no
zone:
  name: bench
  zonefile: "{WORK}/bench.zone"
""")
# Each reference runs only around its own comparison, so no idle server competes for the server CPU.

# -- HTTP/1.1: the same generator (idnode-bench) and wrk against idnode and nginx -------------------------------
nginx = start_nginx()
for system, port in (("idnode", P["http"]), ("nginx", P["nginx"])):
    bench("http1", system, "http1", port, SAMPLE)
    bench("http1_c1", system, "http1", port, SAMPLE, conc=1)
    wait_idle()
    r = gen(["wrk", "-t1", f"-c{CONC}", f"-d{int(DURATION)}s", "--latency", "-s", f"{WORK}/paths.lua",
             f"http://127.0.0.1:{port}"])
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", r.stdout).group(1))
    unit = {"us": 1, "ms": 1000, "s": 1e6}
    pct = {k: round(float(v) * unit[u]) for k, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)", r.stdout, re.M)}
    record("http1_wrk", system, throughput=rps, p50_us=pct.get("50"), p99_us=pct.get("99"))
stop(nginx)

# -- gRPC: idnode Resolve and ResolveStream against etcd's serializable Range -----------------------------------
etcd = serve("etcd", etcd_cmd)
time.sleep(3)
gen([GENERATOR, "run", "--proto", "etcd-range", "--target", f"127.0.0.1:{P['etcd']}", "-c", "1", "-d", "0.1",
     "--warmup", "0", "--count", str(SAMPLE), "--enterprises", str(ENTS), "--etcd-preload", str(int(sum(sizes) / len(sizes)))],
    check=True)
bench("grpc_unary", "idnode", "grpc-unary", P["grpc"], SAMPLE, extra=("--connections", "4"))
bench("grpc_unary", "etcd", "etcd-range", P["etcd"], SAMPLE, extra=("--connections", "4"))
stop(etcd)
bench("grpc_stream", "idnode", "grpc-stream", P["grpc"], SAMPLE, conc=4, extra=("--depth", "64"))

# -- UDP: the Handle protocol against NSD (dnsperf), and Handle over TCP ----------------------------------------
bench("udp", "idnode", "handle-udp", P["handle"], SAMPLE)
bench("tcp", "idnode", "handle-tcp", P["handle"], SAMPLE)
nsd = serve("nsd", ["nsd", "-d", "-c", f"{WORK}/nsd.conf"])
time.sleep(3)
wait_idle()
r = gen(["dnsperf", "-s", "127.0.0.1", "-p", str(P["nsd"]), "-d", f"{WORK}/queries.txt", "-l", str(int(DURATION)),
         "-c", "1", "-T", "1", "-q", str(CONC), "-e"])
qps = float(re.search(r"Queries per second:\s+([\d.]+)", r.stdout).group(1))
avg = float(re.search(r"Average Latency \(s\):\s+([\d.]+)", r.stdout).group(1))
lost = re.search(r"Queries lost:\s+(\d+)", r.stdout).group(1)
record("udp", "nsd", throughput=qps, mean_us=avg * 1e6, errors=int(lost))
stop(nsd)

# -- redis: GET of the same bytes -----------------------------------------------------------------------------
redis = serve("redis", ["redis-server", "--port", str(P["redis"]), "--save", "", "--appendonly", "no"])
time.sleep(1)
subprocess.run(f"redis-cli -p {P['redis']} --pipe < {WORK}/redis.resp", shell=True, check=True, capture_output=True)
wait_idle()
r = gen(["redis-benchmark", "-p", str(P["redis"]), "-c", str(CONC), "-n", "1000000", "-r", str(SAMPLE), "--csv",
         "GET", "key:__rand_int__"])
line = [l for l in r.stdout.splitlines() if l.startswith('"GET')][-1].replace('"', "").split(",")
record("kv_get", "redis", throughput=float(line[1]), p50_us=float(line[4]) * 1000, p99_us=float(line[6]) * 1000)
stop(redis)
bench("kv_get", "idnode", "http1", P["http"], SAMPLE)

# -- the whole data set: uniform, Zipf with misses, and latency at half of saturation -------------------------
# The first pass over the whole key space fills the block cache and the OS page cache; saturation (and so the
# half rate) is taken from the second, warm pass. Each half-rate run prints its timeline (answers, p50, p99,
# max and the host's CPU steal, second by second) to the log; nginx at the same rate is the machine's floor.
def half_rate(key, proto, port, saturation, count=COUNT):
    m = bench(key, "idnode", proto, port, count, extra=("--rate", str(int(saturation["throughput"] / 2))))
    log(timeline(m))
    return m


def timeline(m):
    return "second ok p50 p99 max steal_ms\n" + "\n".join(
        f"{s['second']} {s['ok']} {s['p50_us']} {s['p99_us']} {s['max_us']} {s['steal_ms']}" for s in m["timeline"])


bench("full_uniform_first", "idnode", "http1", P["http"], COUNT)
sat = bench("full_uniform", "idnode", "http1", P["http"], COUNT)
bench("full_zipf_miss", "idnode", "http1", P["http"], COUNT, extra=("--zipf", "0.99", "--miss", "0.05"))
half_rate("full_half_rate", "http1", P["http"], sat)
nginx = start_nginx()
m = bench("full_half_rate", "nginx", "http1", P["nginx"], SAMPLE, extra=("--rate", str(int(sat["throughput"] / 2))))
log(timeline(m))
stop(nginx)
grpc_sat = bench("full_grpc", "idnode", "grpc-unary", P["grpc"], COUNT, extra=("--connections", "4"))
half_rate("full_grpc_half_rate", "grpc-unary", P["grpc"], grpc_sat)
udp_sat = bench("full_udp", "idnode", "handle-udp", P["handle"], COUNT)
half_rate("full_udp_half_rate", "handle-udp", P["handle"], udp_sat)
record("memory", "idnode", peak_rss_mb=peak_rss_mb(node.pid))
stop(node)

# -- HTTP/2 over TLS: h2load against idnode and nginx --------------------------------------------------------
node = start_idnode(tls=True)
nginx = start_nginx()
for system, port in (("idnode", P["https"]), ("nginx", P["nginx_tls"])):
    for key, clients, streams in (("http2_tls", 4, 16), ("http2_tls_c1", 1, 1)):
        wait_idle()
        urls = open(f"{WORK}/urls.txt").read().replace(f":{P['nginx_tls']}/", f":{port}/")
        open(f"{WORK}/urls-{system}.txt", "w").write(urls)
        r = gen(["h2load", "-c", str(clients), "-m", str(streams), "-D", str(int(DURATION)), "--warm-up-time", "2",
                 "-i", f"{WORK}/urls-{system}.txt"])
        rps = float(re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", r.stdout).group(1))
        t = re.search(r"time for request:\s+([\d.]+)(\w+)\s+([\d.]+)(\w+)\s+([\d.]+)(\w+)", r.stdout)
        unit = {"us": 1, "ms": 1000, "s": 1e6}
        failed = int(re.search(r"(\d+) failed", r.stdout).group(1))
        record(key, system, throughput=rps, mean_us=float(t.group(5)) * unit[t.group(6)],
               max_us=float(t.group(3)) * unit[t.group(4)], errors=failed)
stop(node)
stop(nginx)


# -- the table ------------------------------------------------------------------------------------------------
def ratio(a, b, field="throughput"):
    x, y = rows.get(a, {}).get(field), rows.get(b, {}).get(field)
    return (x / y) if x and y else None


def verdict(r, target, higher=True):
    if r is None:
        return "not measured"
    ok = r >= target if higher else r <= target
    return f"{r:.2f}× — {'met' if ok else 'missed'}"


targets = [
    ("HTTP/1.1 throughput vs nginx (same generator)", "≥ 1.0×", verdict(ratio(("http1", "idnode"), ("http1", "nginx")), 1.0)),
    ("HTTP/1.1 p99 vs nginx", "≤ 1.5×", verdict(ratio(("http1", "idnode"), ("http1", "nginx"), "p99_us"), 1.5, False)),
    ("HTTP/1.1 throughput vs nginx (wrk)", "≥ 1.0×", verdict(ratio(("http1_wrk", "idnode"), ("http1_wrk", "nginx")), 1.0)),
    ("HTTP/2 TLS throughput vs nginx (h2load)", "≥ 1.0×", verdict(ratio(("http2_tls", "idnode"), ("http2_tls", "nginx")), 1.0)),
    ("HTTP/2 TLS one-stream mean latency vs nginx", "≤ 1.5×",
     verdict(ratio(("http2_tls_c1", "idnode"), ("http2_tls_c1", "nginx"), "mean_us"), 1.5, False)),
    ("gRPC unary vs etcd Range", "≥ 3×", verdict(ratio(("grpc_unary", "idnode"), ("grpc_unary", "etcd")), 3.0)),
    ("gRPC stream vs unary", "≥ 3×", verdict(ratio(("grpc_stream", "idnode"), ("grpc_unary", "idnode")), 3.0)),
    ("Handle UDP vs NSD", "≥ 0.7×", verdict(ratio(("udp", "idnode"), ("udp", "nsd")), 0.7)),
    ("REST GET vs redis GET (information)", "—", verdict(ratio(("kv_get", "idnode"), ("kv_get", "redis")), 0.0)),
]
floor = rows.get(("full_half_rate", "nginx"), {})
for key, door in (("full_half_rate", "HTTP/1.1"), ("full_grpc_half_rate", "gRPC"), ("full_udp_half_rate", "Handle UDP")):
    half = rows.get((key, "idnode"), {})
    p99, p999 = half.get("p99_us", 1e9), half.get("p999_us", 1e9)
    targets.append((f"{door} p99 / p99.9 at half saturation, {COUNT:,} records, block cache {CACHE_MB} MiB",
                    "< 2 ms / < 10 ms",
                    f"{p99 / 1000:.2f} / {p999 / 1000:.2f} ms — {'met' if p99 < 2000 and p999 < 10000 else 'missed'}"
                    f" (steal {half.get('steal_ms', '?')} ms)"))
targets.append(("nginx at the HTTP/1.1 half rate (the machine's floor, information)", "—",
                f"{floor.get('p99_us', 0) / 1000:.2f} / {floor.get('p999_us', 0) / 1000:.2f} ms"
                f" (steal {floor.get('steal_ms', '?')} ms)"))
with open(os.path.join(WORK, "summary.md"), "w") as f:
    f.write("| target | goal | measured |\n|---|---|---|\n")
    for t in targets:
        f.write(f"| {t[0]} | {t[1]} | {t[2]} |\n")
    f.write("\n| run | system | req/s | p50 µs | p99 µs | p99.9 µs | mean µs | errors |\n|---|---|---|---|---|---|---|---|\n")
    for (k, s), m in rows.items():
        if "throughput" in m:
            f.write(f"| {k} | {s} | {m['throughput']:.0f} | {m.get('p50_us', m.get('p50', ''))} | "
                    f"{m.get('p99_us', m.get('p99', ''))} | {m.get('p999_us', '')} | "
                    f"{round(m['mean_us']) if m.get('mean_us') else ''} | {m.get('errors', '')} |\n")
    for (k, sy), m in rows.items():
        if k.endswith("half_rate") and m.get("timeline"):
            f.write(f"\n{k} / {sy} at {m['rate']:.0f}/s, second by second (µs; steal in ms, all CPUs):\n\n"
                    "| s | answers | p50 | p99 | max | steal |\n|---|---|---|---|---|---|\n")
            for t in m["timeline"]:
                f.write(f"| {t['second']} | {t['ok']} | {t['p50_us']} | {t['p99_us']} | {t['max_us']} | {t['steal_ms']} |\n")
print(open(os.path.join(WORK, "summary.md")).read())
