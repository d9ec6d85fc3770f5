"""`bench/run.py --serve`: requests/s of API detail GETs under the production server (gunicorn, sync
workers) against a trivial Django view on the same server (bench/serve_urls.py), same middleware.

The load generator is plain Python (http.client, keep-alive connections, one thread per connection,
spread over two processes so that one GIL does not cap it); it runs on the same 2-core machine as the
server and the database, so it takes CPU from them — the same for every URL, so the ratio stands.
Each URL: a short warm-up, then `--serve-seconds` of closed-loop load from `--clients` connections;
requests/s = completed 200 answers / elapsed seconds; latency p50/p95 over all of them.
"""
from __future__ import annotations

import http.client
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.common import pct

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _client_loop(port: int, path: str, headers: dict, until: float, out: list, errors: list) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while time.perf_counter() < until:
        started = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as exc:
            errors.append(repr(exc))
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        if response.status == 200:
            out.append(time.perf_counter() - started)
        else:
            errors.append(response.status)
    conn.close()


def _process(port: int, path: str, headers: dict, threads: int, seconds: float, queue) -> None:  # noqa: ANN001
    until = time.perf_counter() + seconds
    out: list[float] = []
    errors: list = []
    workers = [threading.Thread(target=_client_loop, args=(port, path, headers, until, out, errors))
               for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    queue.put((out, errors[:5], len(errors)))


def load(port: int, path: str, headers: dict, clients: int, seconds: float) -> dict:
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    per = [clients // PROCESSES + (1 if i < clients % PROCESSES else 0) for i in range(PROCESSES)]
    procs = [ctx.Process(target=_process, args=(port, path, headers, n, seconds, queue)) for n in per if n]
    started = time.perf_counter()
    for p in procs:
        p.start()
    latencies, errors, error_count = [], [], 0
    for _ in procs:
        out, errs, n = queue.get()
        latencies += out
        errors += errs
        error_count += n
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - started
    ms = [x * 1000 for x in latencies] or [0.0]
    return {"requests": len(latencies), "seconds": round(elapsed, 2), "rps": round(len(latencies) / elapsed, 1),
            "p50_ms": round(pct(ms, 50), 2), "p95_ms": round(pct(ms, 95), 2), "errors": error_count,
            "error_samples": [str(e) for e in errors]}


def _wait_up(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/bench/trivial/")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("gunicorn did not answer in time")


def serve_bench(ctx: dict, args) -> dict:  # noqa: ANN001
    from rest_framework.authtoken.models import Token

    from kamcrm.org.selectors import visible
    from kamcrm.sales.models import Opportunity

    port = _free_port()
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="bench.serve_settings", KAMCRM_DEBUG="0",
               PYTHONPATH=str(ROOT))
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    cmd = [gunicorn, "kamcrm.wsgi:application", "--workers", str(args.workers), "--bind", f"127.0.0.1:{port}",
           "--chdir", str(ROOT), "--access-logfile", "-" if os.environ.get("BENCH_ACCESS_LOG") else "/dev/null",
           "--log-level", "warning", "--timeout", "60"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    targets = [("trivial Django view", "/bench/trivial/", None)]
    for persona in ("executive", "rep"):
        user = ctx["users"][persona]
        opp = visible(Opportunity.objects.filter(account=ctx["normal"]), user).order_by("id").first() \
            or visible(Opportunity.objects.all(), user).order_by("id").first()
        targets += [(f"API account detail ({persona})", f"/api/v1/accounts/{ctx['normal'].pk}/", user),
                    (f"API opportunity detail ({persona})", f"/api/v1/opportunities/{opp.pk}/", user)]
    out = {"server": f"gunicorn {args.workers} sync workers", "clients": args.clients,
           "seconds_per_url": args.serve_seconds, "load_generator": f"Python http.client, {PROCESSES} processes",
           "rows": []}
    try:
        _wait_up(port, proc)
        for label, path, user in targets:
            headers = {"Host": "127.0.0.1"}
            if user is not None:
                token, _created = Token.objects.get_or_create(user=user)
                headers["Authorization"] = f"Token {token.key}"
            load(port, path, headers, args.clients, min(3.0, args.serve_seconds / 4))  # warm every worker
            result = load(port, path, headers, args.clients, args.serve_seconds)
            if result["requests"] == 0:
                raise SystemExit(f"{path}: no successful request ({result['error_samples']})")
            out["rows"].append({"operation": label, "path": path, **result})
            print(f"serve {label:<36} {result['rps']:8.1f} req/s  p50 {result['p50_ms']:7.1f}  "
                  f"p95 {result['p95_ms']:7.1f} ms  errors {result['errors']}", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    trivial = out["rows"][0]["rps"]
    for row in out["rows"][1:]:
        row["ratio_to_trivial"] = round(row["rps"] / trivial, 3)
    return out
