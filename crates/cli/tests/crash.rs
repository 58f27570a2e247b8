//! `kill -9` in the middle of a load of checkouts, then a restart on the same data: every order
//! that was answered 201 is there, every payment whose capture was answered 200 is still
//! captured and its order paid, and the stock is what the live orders leave of it. Runs the real
//! binary on embedded SQLite, and again on a fresh PostgreSQL database when
//! `PAVILION_TEST_PG_URL` is set.

use pavilion_store::testing::{PG_URL_VAR, TestDatabase};
use pavilion_store::{Backend, Store, StoreOptions};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_pavilion");
const ADMIN_PASSWORD: &str = "a long admin password";
const INITIAL_STOCK: i64 = 100_000;
const THREADS: usize = 8;
/// The states of an order that holds its stock: waiting for payment (or for the capture of an
/// authorised one, when the kill fell between the two), or paid.
const LIVE: [&str; 3] = ["pending_payment", "authorised", "paid"];

/// Where the server keeps its data: a data directory, and a PostgreSQL URL or none (SQLite).
struct Data<'a> {
    dir: &'a Path,
    database_url: Option<&'a str>,
}

impl Data<'_> {
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args).env("PAVILION_DATA_DIR", self.dir);
        match self.database_url {
            Some(url) => cmd.env("DATABASE_URL", url),
            None => cmd.env_remove("DATABASE_URL"),
        };
        cmd
    }

    fn url(&self) -> String {
        self.database_url.map_or_else(
            || format!("sqlite://{}/pavilion.db", self.dir.display()),
            str::to_owned,
        )
    }
}

/// `pavilion serve` on a free port, once /healthz answers.
fn serve(data: &Data) -> (Child, u16) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = data
        .command(&["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn pavilion serve");
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if request(port, "GET", "/healthz", &[], None).is_ok_and(|r| r.status == 200) {
            return (child, port);
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("pavilion serve stopped: {status}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("pavilion serve did not become healthy");
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
    raw: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `name=value` of the session cookie the server set.
    fn cookie(&self) -> String {
        let set = self.header("set-cookie").expect("a session cookie");
        set.split(';').next().unwrap().to_owned()
    }

    fn str(&self, key: &str) -> String {
        self.body[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} in {}", self.raw))
            .to_owned()
    }
}

/// One HTTP/1.1 request on a connection of its own; `body` is (content type, bytes).
fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &str)>,
) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let body = body.map(|(content_type, bytes)| {
        head.push_str(&format!(
            "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
            bytes.len()
        ));
        bytes
    });
    head.push_str("\r\n");
    head.push_str(body.unwrap_or(""));
    stream.write_all(head.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, text.clone());
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(bad)?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked {
        dechunk(body).ok_or_else(bad)?
    } else {
        body.to_owned()
    };
    Ok(Response {
        status,
        headers,
        body: serde_json::from_str(&body).unwrap_or(Value::Null),
        raw: format!("{status} {body}"),
    })
}

fn dechunk(mut body: &str) -> Option<String> {
    let mut out = String::new();
    loop {
        let (size, rest) = body.split_once("\r\n")?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            return Some(out);
        }
        out.push_str(rest.get(..size)?);
        body = rest.get(size + 2..)?;
    }
}

fn json_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> std::io::Result<Response> {
    request(
        port,
        method,
        path,
        headers,
        Some(("application/json", &body.to_string())),
    )
}

/// Asserts the status and returns the response.
fn expect(res: std::io::Result<Response>, status: u16, what: &str) -> Response {
    let res = res.unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(res.status, status, "{what}: {}", res.raw);
    res
}

/// A valid Resident Identity Card number for buyer `n`, a different person each.
fn national_id(n: u64) -> String {
    let day = n / 1000;
    let (year, rest) = (1950 + day / 336, day % 336);
    let (month, dom) = (1 + rest / 28, 1 + rest % 28);
    let first17 = format!("110105{year:04}{month:02}{dom:02}{:03}", n % 1000);
    let check = pavilion_domain::checkout::NationalId::check_character(&first17).unwrap();
    format!("{first17}{check}")
}

/// An administrator (by `pavilion create-admin`), rates, market access rules, and a seller's
/// product with `INITIAL_STOCK` units, all through the API; returns the product's id.
fn seed(data: &Data, port: u16) -> String {
    let out = data
        .command(&[
            "create-admin",
            "--email",
            "ops@platform.test",
            "--country",
            "SG",
        ])
        .env("PAVILION_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let admin = expect(
        json_request(
            port,
            "POST",
            "/api/v1/auth/sign-in",
            &[],
            &json!({"email": "ops@platform.test", "password": ADMIN_PASSWORD}),
        ),
        200,
        "admin sign-in",
    )
    .cookie();
    let today = time::OffsetDateTime::now_utc().date();
    let ecb = format!("Date, USD, CNY, \n{today}, 1.0800, 7.7000, \n");
    let auth = [("Cookie", admin.as_str())];
    expect(
        request(
            port,
            "POST",
            "/api/v1/fx-rates?format=ecb",
            &auth,
            Some(("text/csv", &ecb)),
        ),
        200,
        "rates",
    );
    let rules = include_str!("../../../rules/market_access.csv");
    expect(
        request(
            port,
            "POST",
            "/api/v1/market-access/rules",
            &auth,
            Some(("text/csv", rules)),
        ),
        200,
        "market access rules",
    );
    let seller = expect(
        json_request(
            port,
            "POST",
            "/api/v1/auth/sign-up",
            &[],
            &json!({"email": "roaster@huye.test", "password": "a long enough password",
                    "display_name": "Roaster", "role": "seller",
                    "organisation": {"name": "Huye Mountain Coffee", "country": "RW"}}),
        ),
        201,
        "seller sign-up",
    )
    .cookie();
    let product = expect(
        json_request(
            port,
            "POST",
            "/api/v1/products",
            &[("Cookie", seller.as_str())],
            &json!({
                "kind": "goods", "original_locale": "en", "titles": {"en": "Huye roasted coffee, 250 g"},
                "hs": "0901.21", "origin": "RW", "unit": "piece", "weight_kg_per_unit": "0.25",
                "retail_price": {"amount": "14.00", "currency": "USD"}, "stock": INITIAL_STOCK
            }),
        ),
        201,
        "product",
    );
    product.str("id")
}

fn stock(port: u16, product: &str) -> i64 {
    let p = expect(
        request(
            port,
            "GET",
            &format!("/api/v1/products/{product}"),
            &[],
            None,
        ),
        200,
        "product",
    );
    p.body["stock"].as_i64().unwrap()
}

/// An order answered 201.
struct Placed {
    id: String,
    token: String,
    quantity: u64,
}

/// A payment whose capture was answered 200.
struct Captured {
    order: String,
    token: String,
    payment: String,
}

#[derive(Default)]
struct Outcomes {
    placed: Vec<Placed>,
    captured: Vec<Captured>,
    /// Anything but the expected answer before the kill.
    unexpected: Vec<String>,
}

/// One guest's checkout: cart, quote, order, and (if `pay`) a sandbox payment and its capture.
/// Records what the server confirmed; returns an error at the first request that failed.
fn checkout(
    port: u16,
    product: &str,
    buyer: u64,
    pay: bool,
    outcomes: &Mutex<Outcomes>,
) -> Result<(), String> {
    let fail = |step: &str, r: std::io::Result<Response>, status: u16| match r {
        Ok(r) if r.status == status => Ok(r),
        Ok(r) => Err(format!("{step}: {}", r.raw)),
        Err(e) => Err(format!("{step}: {e}")),
    };
    let cart = fail(
        "cart",
        json_request(
            port,
            "POST",
            "/api/v1/carts",
            &[],
            &json!({"destination": "CN", "currency": "CNY"}),
        ),
        201,
    )?;
    let (cart_id, cart_token) = (cart.str("id"), cart.str("token"));
    let quantity = 1 + buyer % 3;
    let cart = fail(
        "cart line",
        json_request(
            port,
            "PUT",
            &format!("/api/v1/carts/{cart_id}/lines"),
            &[("X-Cart-Token", &cart_token)],
            &json!({"product_id": product, "quantity": quantity}),
        ),
        200,
    )?;
    let order = fail(
        "order",
        json_request(
            port,
            "POST",
            "/api/v1/orders",
            &[
                ("X-Cart-Token", &cart_token),
                ("Idempotency-Key", &format!("order-{buyer}")),
            ],
            &json!({
                "cart_id": cart_id, "quote_id": cart.body["quote"]["id"],
                "buyer": {"name": "Li Na", "email": "li.na@example.test", "national_id": national_id(buyer),
                          "ship_to": {"name": "Li Na", "line1": "18 Wensan Road", "city": "Hangzhou", "country": "CN"}}
            }),
        ),
        201,
    )?;
    let (order_id, order_token) = (order.str("id"), order.str("order_token"));
    outcomes.lock().unwrap().placed.push(Placed {
        id: order_id.clone(),
        token: order_token.clone(),
        quantity,
    });
    if !pay {
        return Ok(());
    }
    let payment = fail(
        "payment",
        json_request(
            port,
            "POST",
            &format!("/api/v1/orders/{order_id}/payments"),
            &[
                ("X-Order-Token", &order_token),
                ("Idempotency-Key", &format!("pay-{buyer}")),
            ],
            &json!({"provider": "sandbox", "payment_method": "sandbox_card_ok"}),
        ),
        201,
    )?;
    let payment_id = payment.str("id");
    let captured = fail(
        "capture",
        json_request(
            port,
            "POST",
            &format!("/api/v1/orders/{order_id}/payments/{payment_id}/capture"),
            &[
                ("X-Order-Token", &order_token),
                ("Idempotency-Key", &format!("capture-{buyer}")),
            ],
            &json!({}),
        ),
        200,
    )?;
    if captured.body["status"] != "captured" {
        return Err(format!("capture: {}", captured.raw));
    }
    outcomes.lock().unwrap().captured.push(Captured {
        order: order_id,
        token: order_token,
        payment: payment_id,
    });
    Ok(())
}

fn kill_9_mid_checkout_then_restart(data: &Data) {
    let (mut server, port) = serve(data);
    let product = seed(data, port);
    assert_eq!(stock(port, &product), INITIAL_STOCK);

    // Checkouts from several threads; two in three are paid and captured, the rest left
    // waiting for payment.
    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    let killing = Arc::new(AtomicBool::new(false));
    let buyers = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (outcomes, killing, buyers, product) = (
                outcomes.clone(),
                killing.clone(),
                buyers.clone(),
                product.clone(),
            );
            std::thread::spawn(move || {
                while !killing.load(Ordering::SeqCst) {
                    let buyer = buyers.fetch_add(1, Ordering::SeqCst);
                    if let Err(e) = checkout(port, &product, buyer, buyer % 3 != 0, &outcomes) {
                        // After the kill every request fails: that is the point.
                        if !killing.load(Ordering::SeqCst) {
                            outcomes.lock().unwrap().unexpected.push(e);
                        }
                    }
                }
            })
        })
        .collect();

    // Once the load is well under way, kill the server mid-flight.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        {
            let o = outcomes.lock().unwrap();
            if o.placed.len() >= 60 && o.captured.len() >= 25 || !o.unexpected.is_empty() {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the load did not get going in 20 s"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    killing.store(true, Ordering::SeqCst);
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    for t in threads {
        t.join().unwrap();
    }
    let outcomes = Arc::try_unwrap(outcomes)
        .ok()
        .unwrap()
        .into_inner()
        .unwrap();
    assert!(
        outcomes.unexpected.is_empty(),
        "unexpected answers before the kill: {:?}",
        outcomes.unexpected
    );
    eprintln!(
        "{} checkouts begun, {} orders answered 201, {} captures answered 200 before the kill",
        buyers.load(Ordering::SeqCst),
        outcomes.placed.len(),
        outcomes.captured.len()
    );

    // Restart on the same data.
    let (mut server, port) = serve(data);
    let mut confirmed_units = 0;
    for placed in &outcomes.placed {
        let order = expect(
            request(
                port,
                "GET",
                &format!("/api/v1/orders/{}", placed.id),
                &[("X-Order-Token", &placed.token)],
                None,
            ),
            200,
            "an order answered 201 before the kill",
        );
        let status = order.body["status"].as_str().unwrap();
        assert!(LIVE.contains(&status), "{}", order.raw);
        assert_eq!(
            order.body["lines"][0]["quantity"], placed.quantity,
            "{}",
            order.raw
        );
        confirmed_units += placed.quantity as i64;
    }
    for captured in &outcomes.captured {
        let order = expect(
            request(
                port,
                "GET",
                &format!("/api/v1/orders/{}", captured.order),
                &[("X-Order-Token", &captured.token)],
                None,
            ),
            200,
            "a captured order",
        );
        assert_eq!(order.body["status"], "paid", "{}", order.raw);
        assert_eq!(order.body["captured"], order.body["total"], "{}", order.raw);
        let payments = expect(
            request(
                port,
                "GET",
                &format!("/api/v1/orders/{}/payments", captured.order),
                &[("X-Order-Token", &captured.token)],
                None,
            ),
            200,
            "a captured order's payments",
        );
        let payment = payments.body["payments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == captured.payment.as_str())
            .unwrap_or_else(|| panic!("payment {} is gone: {}", captured.payment, payments.raw));
        assert_eq!(payment["status"], "captured", "{}", payments.raw);
    }

    // The stock is the initial stock less what the live orders (waiting for payment or paid)
    // hold, including orders whose answer the kill cut off; none was cancelled or expired.
    let left = stock(port, &product);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (held, left_in_db, by_status) = runtime.block_on(async {
        let store = Store::connect(&data.url(), &StoreOptions::default())
            .await
            .unwrap();
        let (held, left) = store.stock_ledger().await.unwrap();
        let by_status = store.orders_by_status().await.unwrap();
        store.close().await;
        (held, left, by_status)
    });
    eprintln!("after the restart: {held} units held by orders, {left} left; orders {by_status:?}");
    assert_eq!(left, left_in_db);
    assert_eq!(
        left,
        INITIAL_STOCK - held,
        "stock = initial − units held by live orders"
    );
    assert!(
        held >= confirmed_units,
        "{held} held < {confirmed_units} confirmed"
    );
    for (status, _) in &by_status {
        assert!(LIVE.contains(&status.as_str()), "{by_status:?}");
    }
    let live: i64 = by_status.iter().map(|(_, n)| n).sum();
    assert!(live >= outcomes.placed.len() as i64, "{by_status:?}");

    // The restarted server takes orders again, from the stock that is left.
    let after = Mutex::new(Outcomes::default());
    checkout(port, &product, 1_000_000, true, &after).unwrap();
    let quantity = after.lock().unwrap().placed[0].quantity as i64;
    assert_eq!(stock(port, &product), left - quantity);

    let status = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(server.wait().unwrap().success());
}

#[test]
fn kill_9_mid_checkout_loses_nothing_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    kill_9_mid_checkout_then_restart(&Data {
        dir: dir.path(),
        database_url: None,
    });
}

#[test]
fn kill_9_mid_checkout_loses_nothing_on_postgres() {
    if std::env::var(PG_URL_VAR).is_err() {
        eprintln!("{PG_URL_VAR} is not set: skipping the PostgreSQL run");
        return;
    }
    let db = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(TestDatabase::create(Backend::Postgres));
    let dir = tempfile::tempdir().unwrap();
    kill_9_mid_checkout_then_restart(&Data {
        dir: dir.path(),
        database_url: Some(&db.url),
    });
}
