#!/usr/bin/env python3
"""POST /api/v1/quotes under load (issue 5 target: p99 < 3 ms at 32 concurrent connections).

Starts the release server on a fresh embedded database, imports a day of ECB rates, checks one
quote answers 201, then drives wrk with bench/quote.lua on loopback.

Usage: cargo build --release --locked --bin pavilion && bench/quotes.py [--seconds 20] [--connections 32]
"""
import argparse, http.client, json, os, shutil, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from foundation import BIN, free_port, start  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RATES = "Date, USD, CNY, \n2026-09-01, 1.0800, 7.7000, \n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--connections", type=int, default=32)
    args = ap.parse_args()
    d = tempfile.mkdtemp(prefix="pavilion-bench-")
    rates = os.path.join(d, "rates.csv")
    with open(rates, "w") as f:
        f.write(RATES)
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    subprocess.run([BIN, "fx", "import", "--data-dir", d, rates], check=True, env=env, stdout=subprocess.DEVNULL)
    port = free_port()
    proc, _ = start(d, port)
    try:
        body = open(os.path.join(ROOT, "bench", "quote.lua")).read().split("[[", 1)[1].split("]]", 1)[0]
        c = http.client.HTTPConnection("127.0.0.1", port)
        c.request("POST", "/api/v1/quotes", body, {"Content-Type": "application/json"})
        r = c.getresponse()
        answer = json.loads(r.read())
        if r.status != 201:
            sys.exit(f"quote failed: {r.status} {answer}")
        print(f"one quote: regime {answer['regime']['name']}, landed {answer['totals']['landed']}")
        out = subprocess.run(["wrk", "-t2", f"-c{args.connections}", f"-d{args.seconds}s", "--latency",
                              "-s", os.path.join(ROOT, "bench", "quote.lua"),
                              f"http://127.0.0.1:{port}/api/v1/quotes"],
                             capture_output=True, text=True, check=True).stdout
        print(out)
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(d)


if __name__ == "__main__":
    main()
