#!/usr/bin/env python3
"""Catalogue import benchmark (issue 4) on a release build with embedded SQLite.

1. Seeds the demo into a fresh data directory (`pavilion demo`, stopped once it serves) and
   reads its seller organisations back with `pavilion export products`.
2. Generates a CSV of N products (default 1,000,000) for those sellers: goods with retail and
   wholesale prices, bulk commodities, tours with departures, some products with variants;
   titles in zh-CN, en, es and fr from word lists.
3. Runs `pavilion import products FILE` (which reads, checks, writes and indexes the file as one
   stream) and reports the time to the commit, the rate including indexing, the command's wall
   time and peak RSS.
4. With --index, starts `pavilion serve` on the same data directory and polls
   `GET /api/v1/search` until its `total` reaches the catalogue's size (the server's indexer
   follows the `products.imported` outbox entry), reporting the time and overall rate.

Usage: cargo build --release --locked --bin pavilion && bench/catalogue_import.py [--products N] [--index]
(PAVILION_BIN=path runs another build of the binary.)
Standard library only.
"""
import argparse, csv, http.client, json, os, random, re, resource, shutil, socket, subprocess
import sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("PAVILION_BIN") or os.path.join(ROOT, "target", "release", "pavilion")

HEADER = ("seller_id,kind,original_locale,title_zh-CN,title_en,title_es,title_fr,description_zh-CN,"
          "description_en,description_es,description_fr,hs,category,origin,unit,weight_kg_per_unit,"
          "volume_l_per_unit,cold_chain,shelf_life_days,retail_price,currency,moq,tiers,stock,"
          "departures,variants").split(",")

# (hs, kind, unit, usd, cold_chain, shelf_life, [zh, en, es, fr]) by origin; HS headings the
# shipped rule packs know.
GOODS = {
    "KH": [("0810.90", "goods", "piece", 18, True, 21, ["龙眼", "longan", "longan", "longane"]),
           ("0804.50", "goods", "piece", 15, True, 14, ["芒果", "mangoes", "mangos", "mangues"]),
           ("0803.90", "bulk_commodity", "t", 620, True, 18, ["香蕉", "bananas", "plátanos", "bananes"])],
    "MX": [("0804.40", "goods", "piece", 21, True, 20, ["牛油果", "Hass avocados", "aguacates Hass", "avocats Hass"]),
           ("2208.90", "goods", "bottle", 45, False, None, ["龙舌兰酒", "tequila", "tequila", "tequila"]),
           ("2208.90", "goods", "bottle", 52, False, None, ["梅斯卡尔酒", "mezcal", "mezcal", "mezcal"]),
           ("0905.10", "goods", "piece", 24, False, 720, ["香草荚", "vanilla pods", "vainas de vainilla", "gousses de vanille"])],
    "RW": [("0901.11", "goods", "piece", 14, False, 365, ["咖啡生豆", "green coffee", "café verde", "café vert"]),
           ("0901.21", "goods", "piece", 19, False, 270, ["烘焙咖啡", "roasted coffee", "café tostado", "café torréfié"]),
           ("0904.21", "bulk_commodity", "t", 2600, False, 540, ["干辣椒", "dried chili", "chile seco", "piment séché"]),
           ("9999.00", "travel_package", "seat", 1800, False, None, ["徒步之旅", "trekking tour", "excursión", "randonnée"])],
    "CA": [("0306.32", "goods", "kg", 38, True, 5, ["活龙虾", "live lobster", "langosta viva", "homard vivant"]),
           ("0809.29", "goods", "piece", 26, True, 12, ["车厘子", "sweet cherries", "cerezas", "cerises"]),
           ("0202.30", "goods", "piece", 31, True, 365, ["冷冻牛肉", "frozen beef", "carne de res congelada", "bœuf congelé"]),
           ("0203.29", "goods", "piece", 17, True, 365, ["冷冻猪肉", "frozen pork", "cerdo congelado", "porc congelé"])],
}
QUALIFIERS = [["精选", "Premium", "selectos", "de sélection"], ["有机", "Organic", "orgánicos", "bio"],
              ["新鲜", "Fresh", "frescos", "frais"], ["特级", "Grade A", "de primera", "de premier choix"],
              ["手工", "Hand-picked", "cosechados a mano", "cueillis à la main"],
              ["公平贸易", "Fair-trade", "de comercio justo", "équitables"]]
REGIONS = {"KH": [("拜林", "Pailin"), ("马德望", "Battambang"), ("贡布", "Kampot")],
           "MX": [("米却肯", "Michoacán"), ("哈利斯科", "Jalisco"), ("瓦哈卡", "Oaxaca")],
           "RW": [("加肯凯", "Gakenke"), ("胡耶", "Huye"), ("穆桑泽", "Musanze")],
           "CA": [("新斯科舍", "Nova Scotia"), ("不列颠哥伦比亚", "British Columbia"), ("魁北克", "Québec")]}
COUNTRY_ZH = {"KH": "柬埔寨", "MX": "墨西哥", "RW": "卢旺达", "CA": "加拿大"}
HOME = {"KH": "en", "MX": "es", "RW": "fr", "CA": "fr"}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body


def wait_ready(proc, port, what):
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{what} exited with {proc.returncode}")
        try:
            if get(port, "/readyz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    proc.kill()
    sys.exit(f"{what} did not become ready")


def env():
    e = dict(os.environ, RUST_LOG="warn")
    e.pop("DATABASE_URL", None)
    e.pop("CI", None)
    return e


def demo_sellers(data):
    port = free_port()
    proc = subprocess.Popen([BIN, "demo", "--data-dir", data, "--listen", f"127.0.0.1:{port}"],
                            env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(proc, port, "pavilion demo")
    proc.terminate()
    proc.wait()
    out = subprocess.run([BIN, "export", "products", "--data-dir", data], env=env(),
                         check=True, capture_output=True, text=True).stdout
    sellers = {}
    for row in csv.DictReader(out.splitlines()):
        if row["origin"] in GOODS:
            sellers.setdefault(row["origin"], set()).add(row["seller_id"])
    if not sellers:
        sys.exit("the demo has no sellers in KH, MX, RW or CA")
    return [(c, s) for c, ids in sorted(sellers.items()) for s in sorted(ids)], len(out.splitlines()) - 1


def generate(path, n, sellers, seed=4):
    rnd = random.Random(seed)
    today = time.gmtime()
    first_departure = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 40 * 86400))
    second_departure = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 70 * 86400))
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(HEADER)
        for i in range(n):
            country, seller = sellers[i % len(sellers)]
            hs, kind, unit, usd, cold, shelf, names = rnd.choice(GOODS[country])
            q = rnd.choice(QUALIFIERS)
            rzh, region = rnd.choice(REGIONS[country])
            lot = 1 + i % 997
            price = usd * rnd.randint(80, 150) / 100
            retail = moq = tiers = stock = departures = variants = ""
            if kind == "goods":
                retail = f"{price:.2f}"
                stock = str(rnd.randint(0, 5000))
                if rnd.random() < 0.33:
                    m = 50 * rnd.randint(1, 10)
                    moq, tiers = str(m), f"{m}:{price * 0.7:.2f};{m * 10}:{price * 0.6:.2f}"
                if rnd.random() < 0.05:
                    stock = ""
                    variants = f"GEN-{i}-A|grade=A||{rnd.randint(0, 2000)};GEN-{i}-B|grade=B|{price * 0.85:.2f}|{rnd.randint(0, 2000)}"
            elif kind == "bulk_commodity":
                m = rnd.randint(1, 20)
                moq, tiers = str(m), f"{m}:{price:.2f};{m * 25}:{price * 0.9:.2f}"
            else:
                retail = f"{price:.2f}"
                departures = f"{first_departure}:{rnd.randint(6, 20)};{second_departure}:{rnd.randint(6, 20)}"
            w.writerow([
                seller, kind, rnd.choice([HOME[country], "en"]),
                f"{COUNTRY_ZH[country]}{rzh}{q[0]}{names[0]} 第{lot}批",
                f"{q[1]} {names[1]} from {region}, lot {lot}",
                f"{names[2]} {q[2]} de {region}, lote {lot}",
                f"{names[3]} {q[3]} de {region}, lot {lot}",
                "", f"{q[1]} {names[1]} grown in {region} and packed for export.", "", "",
                hs, "", country, unit, "", "", "true" if cold else "false",
                "" if shelf is None else shelf, retail, "USD", moq, tiers, stock, departures, variants,
            ])


def child_peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--products", type=int, default=1_000_000)
    ap.add_argument("--index", action="store_true", help="also measure indexing by pavilion serve")
    ap.add_argument("--index-timeout", type=float, default=900)
    ap.add_argument("--keep", action="store_true", help="keep the data directory")
    args = ap.parse_args()
    if not os.path.exists(BIN):
        sys.exit(f"{BIN} is missing: cargo build --release --locked --bin pavilion")
    work = tempfile.mkdtemp(prefix="pavilion-import-bench-")
    data = os.path.join(work, "data")
    try:
        sellers, demo_products = demo_sellers(data)
        path = os.path.join(work, "products.csv")
        t0 = time.perf_counter()
        generate(path, args.products, sellers)
        size = os.path.getsize(path) / 2**20
        print(f"generated {args.products:,} products for {len(sellers)} demo sellers "
              f"({size:.0f} MiB) in {time.perf_counter() - t0:.1f} s")

        t0 = time.perf_counter()
        out = subprocess.run([BIN, "import", "products", path, "--data-dir", data], env=env(),
                             capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if out.returncode != 0:
            sys.exit(f"import failed:\n{out.stderr[:4000]}")
        print(out.stdout.strip())
        m = re.search(r"imported \d+ products from .* in ([\d.]+) s \((\d+) products/s\)", out.stdout)
        written, rate = float(m.group(1)), int(m.group(2))
        m = re.search(r"indexed \d+ products for search .*; (\d+) products/s including indexing", out.stdout)
        indexed_rate = int(m.group(1)) if m else None
        db = os.path.join(data, "pavilion.db")
        db_mb = sum(os.path.getsize(p) for p in (db, db + "-wal") if os.path.exists(p)) / 2**20
        print(json.dumps({
            "products": args.products, "read_and_written_s": written,
            "written_products_per_s": rate, "with_indexing_products_per_s": indexed_rate,
            "command_wall_s": round(wall, 2),
            "command_products_per_s": round(args.products / wall), "peak_rss_mb": round(child_peak_rss_mb()),
            "database_mb": round(db_mb),
        }, indent=2))

        if args.index:
            total = args.products + demo_products
            port = free_port()
            t0 = time.perf_counter()
            proc = subprocess.Popen([BIN, "serve", "--data-dir", data, "--listen", f"127.0.0.1:{port}"],
                                    env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wait_ready(proc, port, "pavilion serve")
                seen, deadline = 0, t0 + args.index_timeout
                while time.perf_counter() < deadline:
                    status, body = get(port, "/api/v1/search?q=&limit=1")
                    if status == 200:
                        seen = json.loads(body).get("total", 0)
                        if seen >= total:
                            break
                    time.sleep(1)
                took = time.perf_counter() - t0
                if seen >= total:
                    print(f"indexed {seen:,} products in {took:.1f} s after serve started; import + "
                          f"indexing: {args.products / (wall + took):,.0f} products/s")
                else:
                    print(f"indexing did not finish within {args.index_timeout:.0f} s ({seen:,} of {total:,})")
            finally:
                proc.terminate()
                proc.wait()
    finally:
        if args.keep:
            print(f"data kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
