#!/usr/bin/env python3
"""Catalogue reads at scale (issue 4 targets, with 1,000,000 products): search p99 < 20 ms for
one- and three-word queries in zh-CN and en; product detail and pavilion listing p99 < 5 ms at
32 concurrent connections on loopback; server RSS < 500 MB.

Serves an existing data directory (prepared with `pavilion demo --products N` or `pavilion import
products`), waits until this process's search index holds the whole catalogue, then drives wrk
with bench/paths.lua over many different product ids, queries and listing pages.

Usage: cargo build --release --locked --bin pavilion
       bench/catalogue_read.py --data-dir DIR [--seconds 15] [--connections 32]
"""
import argparse, http.client, json, os, subprocess, sys, tempfile, time, urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from foundation import free_port, rss_mb, start  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

QUERIES = {
    "zh-CN, one word": ["龙眼", "咖啡", "牛油果", "龙虾", "辣椒", "芒果", "樱桃", "香皂"],
    "zh-CN, three words": ["新鲜 龙眼 礼盒", "烘焙 咖啡 豆", "手工 真皮 靴", "冷冻 去骨 牛排"],
    "en, one word": ["longan", "coffee", "avocado", "lobster", "chili", "mango", "cherries", "soap"],
    "en, three words": ["fresh longan box", "roasted coffee beans", "handmade leather boots",
                        "frozen beef striploin"],
}


def get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, json.loads(body) if body else None


def wrk(port, paths, seconds, connections):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(paths) + "\n")
        name = f.name
    env = dict(os.environ, PATHS=name)
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency",
                          "-s", os.path.join(ROOT, "bench", "paths.lua"), f"http://127.0.0.1:{port}"],
                         capture_output=True, text=True, check=True, env=env)
    os.unlink(name)
    figures = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in ("50%", "90%", "99%"):
            figures[parts[0]] = parts[1]
        if line.startswith("Requests/sec:"):
            figures["rps"] = parts[1]
        if "Non-2xx" in line:
            figures["errors"] = parts[-1]
    return figures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--connections", type=int, default=32)
    args = ap.parse_args()
    port = free_port()
    t0 = time.perf_counter()
    proc, ms = start(args.data_dir, port)
    print(f"ready in {ms:.0f} ms")
    try:
        # The index is built (or caught up) in the background; wait until it stops growing.
        last, stable = -1, 0
        while stable < 3:
            status, body = get(port, "/api/v1/search?limit=1")
            total = body["total"] if status == 200 else 0
            stable = stable + 1 if total == last and total > 0 else 0
            last = total
            time.sleep(1)
        print(f"index holds {last} products ({time.perf_counter() - t0:.0f} s after start); RSS {rss_mb(proc.pid):.0f} MB")

        ids = []
        for offset in range(0, 10_000, 100):
            _, body = get(port, f"/api/v1/search?limit=100&offset={offset}&sort=newest")
            ids += [h["product_id"] for h in body["hits"]]
        _, pavilions = get(port, "/api/v1/pavilions")
        listings = []
        for p in pavilions:
            for offset in (0, 20, 40, 200):
                listings.append(f"/api/v1/pavilions/{p['slug']}/products?offset={offset}")
                listings.append(f"/api/v1/pavilions/{p['slug']}/products?locale=zh-CN&sort=price_asc&offset={offset}")
        scenarios = {"product detail": [f"/api/v1/products/{i}" for i in ids],
                     "pavilion listing": listings}
        for name, words in QUERIES.items():
            locale = "zh-CN" if name.startswith("zh") else "en"
            scenarios[f"search {name}"] = [
                f"/api/v1/search?locale={locale}&q={urllib.parse.quote(w)}" for w in words]
        for name, paths in scenarios.items():
            # Every distinct path once before the timed run: the figures are the steady state of
            # a running server (warm page cache, popular answers known), not its first minute.
            warm = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            for path in sorted(set(paths)):
                warm.request("GET", path)
                r = warm.getresponse()
                r.read()
                assert r.status == 200, (name, path, r.status)
            warm.close()
            figures = wrk(port, paths, args.seconds, args.connections)
            print(f"| {name} | {figures.get('rps')} | {figures.get('50%')} | {figures.get('90%')} | "
                  f"{figures.get('99%')} | {figures.get('errors', '0')} |", flush=True)
        print(f"RSS after the runs: {rss_mb(proc.pid):.0f} MB")
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()
