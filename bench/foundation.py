#!/usr/bin/env python3
"""Foundation benchmarks on a release build (figures go to bench/RESULTS.md):

- cold start: `pavilion serve` on an empty data directory until /readyz answers 200
  (includes creating the SQLite database and running every migration);
- idle RSS of the serving process;
- /healthz throughput and latency with wrk over loopback.

Usage: cargo build --release --locked --bin pavilion && bench/foundation.py [--runs 20]
Needs wrk (apt-get install wrk) for the throughput part.
"""
import argparse, os, shutil, socket, statistics, subprocess, sys, tempfile, time
import http.client

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "pavilion")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def ready(port):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        c.request("GET", "/readyz")
        ok = c.getresponse().status == 200
        c.close()
        return ok
    except OSError:
        return False


def start(data_dir, port):
    env = dict(os.environ, RUST_LOG="warn")
    env.pop("DATABASE_URL", None)
    t0 = time.perf_counter()
    proc = subprocess.Popen([BIN, "serve", "--data-dir", data_dir, "--listen", f"127.0.0.1:{port}"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = t0 + 30
    while time.perf_counter() < deadline:
        if ready(port):
            return proc, (time.perf_counter() - t0) * 1000
        time.sleep(0.0005)
    proc.kill()
    sys.exit("server did not become ready")


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--wrk-seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    args = ap.parse_args()
    if not os.path.exists(BIN):
        sys.exit(f"{BIN} missing: cargo build --release --locked --bin pavilion")

    starts, rss = [], []
    for _ in range(args.runs):
        d = tempfile.mkdtemp(prefix="pavilion-bench-")
        port = free_port()
        proc, ms = start(d, port)
        starts.append(ms)
        time.sleep(1.0)
        rss.append(rss_mb(proc.pid))
        proc.terminate()
        proc.wait()
        shutil.rmtree(d)
    starts.sort()
    print(f"cold start to ready (empty database, {args.runs} runs): "
          f"median {statistics.median(starts):.1f} ms, p90 {starts[int(len(starts) * 0.9) - 1]:.1f} ms, "
          f"max {starts[-1]:.1f} ms")
    print(f"idle RSS after ready: median {statistics.median(rss):.1f} MB, max {max(rss):.1f} MB")

    if shutil.which("wrk") is None:
        print("wrk not installed: skipping /healthz throughput")
        return
    d = tempfile.mkdtemp(prefix="pavilion-bench-")
    port = free_port()
    proc, _ = start(d, port)
    try:
        out = subprocess.run(["wrk", "-t2", f"-c{args.connections}", f"-d{args.wrk_seconds}s", "--latency",
                              f"http://127.0.0.1:{port}/healthz"], capture_output=True, text=True, check=True).stdout
        print(f"/healthz with wrk (2 threads, {args.connections} connections, {args.wrk_seconds} s):")
        print(out)
        print(f"RSS after the load: {rss_mb(proc.pid):.1f} MB")
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(d)


if __name__ == "__main__":
    main()
