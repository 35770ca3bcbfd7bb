"""Agent receiver and agent benchmark.

    .venv/bin/python bench/agent_receiver.py [--hosts 200] [--seconds 10] [--clients 3]
                                             [--threads 16] [--workers 2]
                                             [--tls pyopenssl|stdlib]
                                             [--modes full,resume,keepalive] [--agent-cycles 10]
                                             [--evaluate-in-fronts 0|1]
    .venv/bin/python bench/agent_receiver.py --in-process

Starts a throwaway SQLite site (``lookout serve``, durable: every answered push is journaled),
registers ``--hosts`` agents through the real registration path, then drives pushes of ~40
services each (this machine's sections plus local checks) from several client processes:

1. a new TLS connection (full handshake, client certificate) for every push;
2. a new connection resuming the TLS session (stdlib ``ssl``, as the agents do);
3. kept-alive connections (one per agent identity, many pushes each).

The site runs ``--workers`` TLS front processes (0: the site alone). ``--clients`` processes of
``--threads`` connections each keep 48 pushes in flight by default: 30,000 agents push
independently of one another, and a closed loop with few connections would measure round-trip
time × connections instead of what the receiver can take. The clients run on the same 2
cores; the CPU per push of the site, of its fronts and of the clients, the whole machine's use
and the load average are printed too (with the machine below 200 %, the figure is a limit of
the closed loop, not of the CPU; on a shared machine compare CPU per push, not pushes/s). The
clients do TLS with pyOpenSSL by default (real client certificate, server chain verified):
its OpenSSL spends less CPU per handshake than the stdlib's, which leaves more of the 2 cores
to the site;
``--tls stdlib`` uses the agent's own client context instead.
Then measures the real agent (``lookout-agent run``) pushing to that site: RSS, CPU per
collection+push (as % of one core at a 60 s interval), and one collection's duration.

``--in-process``: no site, no TLS: the CPU of the site's own steps for one such push (JSON
decode and validation, discovery and the check plugins, the storability checks), best of 5.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import httpx
import psutil
from cryptography.hazmat.primitives.asymmetric import ec
from OpenSSL import SSL

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from lookout_agent import client, collect, tls
from lookout_agent import wire as w
from lookout_agent.state import StateDir

from livesite import free_port, make_site

TARGETS = {
    "handshake": 500.0,
    "resume": 1000.0,
    "keepalive": 3000.0,
    "rss_mib": 40.0,
    "cpu_pct": 0.5,
    "ms": 200.0,
}


def line(name: str, value: float, unit: str, target: float, higher_is_better: bool = True) -> None:
    ok = value >= target if higher_is_better else value <= target
    cmp = "≥" if higher_is_better else "≤"
    print(
        f"[{'ok ' if ok else 'MISS'}] {name:<52} {value:>10,.2f} {unit:<8} "
        f"(target {cmp} {target:,})",
        flush=True,
    )


def sections_40() -> tuple[w.Sections, int]:
    """This machine's sections plus local checks: about 40 services per push."""
    base, _ = collect.collect(None)
    names = sum(1 for _ in (base.filesystems or ())) + 9
    lines = [f'0 "App check {i}" value={i};80;90 fine' for i in range(max(0, 39 - names))]
    return replace(base, local=w.LocalSection(lines)), names + len(lines) + 1


def http_request(body: bytes) -> bytes:
    head = (
        "POST /push HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class Conn(Protocol):
    def sendall(self, data: bytes) -> Any: ...
    def recv(self, size: int) -> bytes: ...
    def close(self) -> None: ...


def pyopenssl_context(ca: Path, cert: Path, key: Path) -> SSL.Context:
    """A client context like the agent's: our certificate, the server's chain verified (not
    its name). P-256 key exchange: OpenSSL 4 would offer the X25519+ML-KEM hybrid, which costs
    the server ~0.1 ms more per handshake than the agents' X25519 (P-256 costs it the same)."""
    ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
    ctx.set_min_proto_version(SSL.TLS1_2_VERSION)
    ctx.load_verify_locations(str(ca))
    ctx.use_certificate_file(str(cert))
    ctx.use_privatekey_file(str(key))
    ctx.set_verify(SSL.VERIFY_PEER)
    ctx.set_tmp_ecdh(ec.SECP256R1())
    return ctx


class Connector:
    """New connections for one agent identity, stdlib ``ssl`` or pyOpenSSL, with its session.
    Resumption always goes through the stdlib, as the agents do (pyOpenSSL 26.4's client did
    not resume its TLS 1.3 sessions here, against either server, also with a client session
    cache). ``resumed`` counts the connections that resumed their session."""

    def __init__(self, kind: str, ca_pem: str, sd: StateDir, port: int, resume: bool) -> None:
        self.kind, self.port, self.resume = "stdlib" if resume else kind, port, resume
        self.session: Any = None
        self.resumed = 0
        if self.kind == "stdlib":
            self.ctx: Any = tls.client_context(ca_pem, sd.cert, sd.key)
        else:
            self.ctx = pyopenssl_context(sd.ca, sd.cert, sd.key)

    def connect(self) -> Conn:
        raw = socket.create_connection(("127.0.0.1", self.port))
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        session = self.session if self.resume else None
        if self.kind == "stdlib":
            conn: Conn = self.ctx.wrap_socket(raw, server_hostname="127.0.0.1", session=session)
            return conn
        c = SSL.Connection(self.ctx, raw)
        c.set_connect_state()
        try:
            c.do_handshake()
        except SSL.Error:
            raw.close()
            raise
        return c

    def keep_session(self, conn: Conn) -> None:
        if self.resume and isinstance(conn, ssl.SSLSocket):
            self.resumed += conn.session_reused
            self.session = conn.session


def read_response(sock: Conn, buf: bytearray) -> int:
    """Read one response; return its status."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for h in head.split(b"\r\n")[1:]:
        k, _, v = h.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        rest += chunk
    buf[:] = rest[length:]
    return status


def worker(
    args: tuple[list[str], int, str, float, str, Any, int, str],
) -> tuple[int, int, float, int]:
    """One client process: ``threads`` threads, each pushing for its share of the agents.
    Returns (pushes answered 200, failures, this process's CPU seconds while pushing,
    connections that resumed a TLS session)."""
    dirs, port, ca_pem, seconds, mode, start, threads, kind = args
    parts = [dirs[i::threads] for i in range(threads) if dirs[i::threads]]
    cpu0: list[float] = []

    def started() -> None:
        if not cpu0:
            cpu0.append(time.process_time())

    with ThreadPoolExecutor(len(parts)) as pool:
        out = list(
            pool.map(lambda p: pusher(p, port, ca_pem, seconds, mode, start, kind, started), parts)
        )
    cpu = time.process_time() - (cpu0[0] if cpu0 else 0.0)
    return sum(o[0] for o in out), sum(o[1] for o in out), cpu, sum(o[2] for o in out)


def pusher(
    dirs: list[str],
    port: int,
    ca_pem: str,
    seconds: float,
    mode: str,
    start: Any,
    kind: str,
    started: Any,
) -> tuple[int, int, int]:
    keepalive, resume = mode == "keepalive", mode == "resume"
    agents = [Connector(kind, ca_pem, StateDir(Path(d)), port, resume) for d in dirs]
    secs, _ = sections_40()
    body = w.to_json(w.Push(w.WIRE_VERSION, "bench", time.time(), 60.0, secs, 1.0))
    req = http_request(body)
    start.wait()
    started()
    ok = bad = 0
    deadline = time.monotonic() + seconds
    conns: list[Conn | None] = [None] * len(agents)
    bufs = [bytearray() for _ in agents]
    i = 0
    while time.monotonic() < deadline:
        i = (i + 1) % len(agents)
        sock = conns[i]
        try:
            if sock is None:
                sock = agents[i].connect()
            sock.sendall(req)
            status = read_response(sock, bufs[i])
        except (OSError, ConnectionError, SSL.Error):
            if sock is not None:
                sock.close()
            conns[i] = None
            bufs[i] = bytearray()
            bad += 1
            continue
        agents[i].keep_session(sock)
        if status == 200:
            ok += 1
        else:
            bad += 1
        if keepalive:
            conns[i] = sock
        else:
            sock.close()
            bufs[i] = bytearray()
    for c in conns:
        if c is not None:
            c.close()
    return ok, bad, sum(a.resumed for a in agents)


def drive(
    dirs: list[str],
    port: int,
    ca_pem: str,
    seconds: float,
    clients: int,
    mode: str,
    threads: int = 8,
    kind: str = "pyopenssl",
) -> tuple[float, int, int, float, int]:
    """Pushes/s answered 200, pushes answered 200, failures, the clients' CPU seconds, and
    the connections that resumed a TLS session."""
    ctx = mp.get_context("fork")
    start = ctx.Manager().Event()
    parts = [dirs[i::clients] for i in range(clients)]
    with ctx.Pool(clients) as pool:
        res = pool.map_async(
            worker, [(p, port, ca_pem, seconds, mode, start, threads, kind) for p in parts]
        )
        time.sleep(1.0)  # let the workers load their certificates
        t0 = time.monotonic()
        start.set()
        out = res.get()
        elapsed = time.monotonic() - t0
    ok = sum(o[0] for o in out)
    bad = sum(o[1] for o in out)
    return (
        ok / min(elapsed, seconds + 0.5),
        ok,
        bad,
        sum(o[2] for o in out),
        sum(o[3] for o in out),
    )


def in_process(rounds: int = 3000) -> None:
    """CPU per push of the receiver's pure steps, in this process (no I/O, no engine)."""
    from lookout.checks.agent.api import ValueStore
    from lookout.config import AgentReceiverSettings
    from lookout.sources.agent_receiver import evaluate as ev
    from lookout.sources.agent_receiver import pushes

    secs, n = sections_40()
    body = w.to_json(w.Push(w.WIRE_VERSION, "bench", time.time(), 60.0, secs, 1.0))
    settings = AgentReceiverSettings()
    services = {
        name: ev.service_config("h", name, plugin, item, 60.0, settings)
        for name, (plugin, item) in ev.discovered(secs).items()
    }
    values = ValueStore()
    out = ev.evaluate("h", secs, services, values, time.time())
    steps: dict[str, Any] = {
        "JSON decode + validation": lambda: pushes.decode_push(body),
        "discovery": lambda: ev.discovered(secs),
        "evaluate (discovery + plugins)": lambda: ev.evaluate(
            "h", secs, services, values, time.time()
        ),
        "storability checks": lambda: [ev.storable(r) for r in out.results],
    }
    print(f"one push: {len(body):,} bytes of JSON, {n} services")
    for label, step in steps.items():
        best = float("inf")
        for _ in range(5):
            t0 = time.process_time()
            for _ in range(rounds):
                step()
            best = min(best, time.process_time() - t0)
        print(f"  {label:<34} {best / rounds * 1e6:8.1f} µs CPU per push")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--clients", type=int, default=3, help="client processes")
    ap.add_argument(
        "--threads",
        type=int,
        default=16,
        help="connections at a time per client (a closed loop: with too few, the figure is "
        "round-trip time × connections, not what the receiver can take)",
    )
    ap.add_argument("--agent-cycles", type=int, default=10, help="0: skip the real agent")
    ap.add_argument(
        "--modes", default="full,resume,keepalive", help="which runs, of full,resume,keepalive"
    )
    ap.add_argument("--workers", type=int, default=2, help="receiver TLS front processes")
    ap.add_argument(
        "--tls", choices=("pyopenssl", "stdlib"), default="pyopenssl", help="the clients' TLS"
    )
    ap.add_argument(
        "--evaluate-in-fronts",
        type=int,
        choices=(0, 1),
        default=0,
        help="1: the fronts decode pushes and run their checks; 0: the site does",
    )
    ap.add_argument("--in-process", action="store_true", help="the site's pure steps only")
    opts = ap.parse_args()
    if opts.in_process:
        in_process()
        return

    tmp = Path(tempfile.mkdtemp(prefix="lookout-bench-agent-"))
    port = free_port()
    site = make_site(
        tmp / "site",
        agent_receiver={
            "listen": f"127.0.0.1:{port}",
            "max_pushes_per_minute": 1_000_000,
            "workers": opts.workers,
            **({"evaluate_in_fronts": True} if opts.evaluate_in_fronts else {}),
        },
    )
    site.start()
    receiver = f"https://127.0.0.1:{port}"
    try:
        print(
            f"site {site.url}, receiver {receiver} ({opts.workers} front processes); "
            f"registering {opts.hosts} agents …",
            flush=True,
        )
        api = httpx.Client(base_url=site.url, headers={"Authorization": f"Bearer {site.token}"})
        ca_pem = client.fetch_ca(receiver)
        secs, _ = sections_40()

        def enroll(h: int) -> str:
            name = f"bench{h:05d}"
            api.post("/api/v1/hosts", json={"name": name}).raise_for_status()
            token = api.post(f"/api/v1/hosts/{name}/agent-token").json()["token"]
            sd = StateDir(tmp / "agents" / name)
            st = client.register(sd, receiver, token, ca_pem)
            client.push(sd, st, w.Push(w.WIRE_VERSION, "bench", time.time(), 60.0, secs, 1.0))
            return str(sd.path)

        with ThreadPoolExecutor(8) as pool:  # the site signs while the next CSRs are made
            dirs = list(pool.map(enroll, range(opts.hosts)))
        name = f"bench{opts.hosts - 1:05d}"
        services = len(api.get(f"/api/v1/hosts/{name}/services").json()["items"])
        print(
            f"{opts.hosts} hosts, {services} services each (results + host result per push); "
            f"clients' TLS: {opts.tls}"
        )

        server = psutil.Process(site.proc.pid)
        runs = (
            ("new TLS handshake each", "full", TARGETS["handshake"]),
            ("new connection, TLS session resumed (stdlib)", "resume", TARGETS["resume"]),
            ("kept-alive connections", "keepalive", TARGETS["keepalive"]),
        )
        # The fronts are forked by one process of the site (old trees: the site's children).
        fronts = [p for p in server.children(recursive=True) if not p.children()]
        modes = opts.modes.split(",")
        rate = 0.0
        for label, mode, target in (r for r in runs if r[1] in modes):

            def cpu_s(procs: tuple[psutil.Process, ...]) -> float:
                return sum(t.user + t.system for t in (p.cpu_times() for p in procs))

            site0, fronts0 = cpu_s((server,)), cpu_s(tuple(fronts))
            psutil.cpu_percent()
            resume = mode == "resume"
            rate, pushes, bad, client_cpu, resumed = drive(
                dirs, port, ca_pem, opts.seconds, opts.clients, mode, opts.threads, opts.tls
            )
            site_cpu, front_cpu = cpu_s((server,)) - site0, cpu_s(tuple(fronts)) - fronts0
            machine = psutil.cpu_percent() * (psutil.cpu_count() or 1)
            line(f"pushes/s, {label}", rate, "1/s", target)
            per = 1e6 / max(pushes, 1)
            print(
                f"       (CPU per push: site {site_cpu * per:.0f} µs, its {len(fronts)} TLS "
                f"fronts {front_cpu * per:.0f} µs, the clients {client_cpu * per:.0f} µs; "
                f"the whole machine {machine:.0f}% of {(psutil.cpu_count() or 1) * 100}%, "
                f"load average {os.getloadavg()[0]:.1f}{f'; {bad} failed' if bad else ''}"
                f"{f'; {resumed / max(pushes, 1):.0%} resumed (stdlib)' if resume else ''})",
                flush=True,
            )
        print(f"       = {rate * 60:,.0f} hosts at a 60 s interval", flush=True)

        if opts.agent_cycles:
            agent_figures(site, api, receiver, tmp, opts.agent_cycles)
        api.close()
    finally:
        site.stop()
        shutil.rmtree(tmp, ignore_errors=True)  # the site and the agents: ~40 MiB a run


def agent_figures(site: Any, api: httpx.Client, receiver: str, tmp: Path, cycles: int) -> None:
    """The real agent process: RSS and CPU per cycle (collection + TLS push)."""
    token = (
        api.post("/api/v1/hosts", json={"name": "agentself"})
        and api.post("/api/v1/hosts/agentself/agent-token").json()
    )
    state = tmp / "agentself"
    fp = token["ca_fingerprint"]
    subprocess.run(
        [sys.executable, "-m", "lookout_agent.cli", "--state-dir", str(state), "register",
         "--server", receiver, "--token", token["token"], "--ca-fingerprint", fp],
        check=True, capture_output=True,
    )  # fmt: skip
    interval = 1.0
    proc = subprocess.Popen(
        [sys.executable, "-m", "lookout_agent.cli", "--state-dir", str(state), "run",
         "--interval", str(interval)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        p = psutil.Process(proc.pid)
        time.sleep(2.5)  # imports done, first pushes made
        c0 = p.cpu_times()
        t0 = time.monotonic()
        time.sleep(cycles * interval)
        c1 = p.cpu_times()
        elapsed = time.monotonic() - t0
        rss = p.memory_info().rss / 2**20
    finally:
        proc.terminate()
        proc.wait()
    cpu_per_cycle = ((c1.user + c1.system) - (c0.user + c0.system)) / (elapsed / interval)
    ms = [collect.collect(None)[1] for _ in range(5)]
    line("agent RSS", rss, "MiB", TARGETS["rss_mib"], higher_is_better=False)
    line(
        "agent CPU at a 60 s interval (% of one core)",
        cpu_per_cycle / 60 * 100,
        "%",
        TARGETS["cpu_pct"],
        higher_is_better=False,
    )
    print(f"       (CPU per collection + push: {cpu_per_cycle * 1000:.1f} ms)")
    line("one collection (median of 5)", sorted(ms)[2], "ms", TARGETS["ms"], higher_is_better=False)


if __name__ == "__main__":
    main()
