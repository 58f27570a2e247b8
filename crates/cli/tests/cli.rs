//! The `pavilion` binary, run as a user would.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_pavilion");

fn pavilion(args: &[&str], data_dir: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .env("PAVILION_DATA_DIR", data_dir)
        .env_remove("DATABASE_URL")
        .output()
        .expect("run pavilion")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `pavilion <command>` on a free port and waits until /healthz answers.
fn start(command: &str, data_dir: &Path) -> (Child, u16) {
    let port = free_port();
    let child = Command::new(BIN)
        .args([
            command,
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(data_dir)
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn pavilion");
    let mut child = child;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let request = "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
        if http(port, request).is_ok_and(|status| status.starts_with("HTTP/1.1 200")) {
            return (child, port);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("pavilion {command} did not become healthy");
}

fn http(port: u16, request: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(request.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response)
}

fn terminate(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn every_command_has_help() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["demo", "--help"],
        vec!["create-admin", "--help"],
        vec!["version", "--help"],
        vec!["reindex", "--help"],
        vec!["quote", "--help"],
        vec!["rules", "import", "--help"],
        vec!["fx", "import", "--help"],
    ] {
        let out = pavilion(&args, dir.path());
        assert!(out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{args:?}"
        );
    }
    let out = pavilion(&["version"], dir.path());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("pavilion {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn migrate_creates_the_embedded_database() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = pavilion(&["migrate"], &data);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(data.join("pavilion.db").exists());
    assert!(
        pavilion(&["migrate"], &data).status.success(),
        "migrating twice is harmless"
    );
}

#[test]
fn bad_configuration_is_a_clear_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pavilion.toml");
    std::fs::write(&config, "listen = \"not an address\"\n").unwrap();
    let out = pavilion(
        &["migrate", "--config", config.to_str().unwrap()],
        dir.path(),
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error:") && stderr.contains("listen"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    let out = pavilion(
        &["migrate", "--config", "/nonexistent/pavilion.toml"],
        dir.path(),
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

#[test]
fn create_admin_reads_the_password_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], password: &str| {
        Command::new(BIN)
            .args(args)
            .env("PAVILION_DATA_DIR", dir.path())
            .env("PAVILION_ADMIN_PASSWORD", password)
            .env_remove("DATABASE_URL")
            .output()
            .unwrap()
    };
    let out = run(
        &[
            "create-admin",
            "--email",
            "ops@agency.test",
            "--country",
            "KH",
        ],
        "a long admin password",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["create-admin", "--email", "ops2@agency.test"], "short");
    assert!(String::from_utf8_lossy(&out.stderr).contains("password"));
    let out = run(
        &["create-admin", "--email", "not-an-email"],
        "a long admin password",
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--email"));
    let out = run(
        &["create-admin", "--email", "ops@agency.test"],
        "a long admin password",
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("already taken"));
}

/// SIGTERM stops new connections but lets a request already in flight finish.
#[test]
fn sigterm_finishes_in_flight_requests_then_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, port) = start("serve", dir.path());

    let body = r#"{"email":"late@x.test","password":"a long enough password","display_name":"Late","role":"consumer"}"#;
    let mut in_flight = TcpStream::connect(("127.0.0.1", port)).unwrap();
    in_flight
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let head = format!(
        "POST /api/v1/auth/sign-up HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    // Headers now, body later: the request is being handled when the signal arrives.
    in_flight.write_all(head.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    terminate(&child);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "new connections are refused while stopping"
    );

    in_flight.write_all(body.as_bytes()).unwrap();
    let mut response = String::new();
    in_flight.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn demo_seeds_the_stories_once_and_serves_them() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let (mut child, port) = start("demo", dir.path());
        let body = r#"{"email":"officer@rdb.rw.demo","password":"pavilion-demo"}"#;
        let response = http(port, &format!(
            "POST /api/v1/auth/sign-in HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ))
        .unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.contains("Rwanda Development Board"), "{response}");
        let pavilions = http(
            port,
            "GET /api/v1/pavilions HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
        let body = pavilions.split("\r\n\r\n").nth(1).unwrap_or("");
        let body: serde_json::Value =
            serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {pavilions}"));
        let status = |slug: &str| {
            let p = body
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["slug"] == slug)
                .unwrap_or_else(|| panic!("{slug}: {body}"));
            (
                p["status"].as_str().unwrap().to_owned(),
                p["approved_exporters"].as_u64().unwrap(),
                p["threshold"].as_u64().unwrap(),
            )
        };
        assert_eq!(status("mx-wholesale"), ("recruiting".to_owned(), 24, 100));
        assert_eq!(status("kh-retail").0, "live");
        assert_eq!(status("rw-travel").0, "live");
        assert_eq!(status("ca-retail").0, "live");
        // The demo's illustrative rates make a quote work at once.
        let quote = format!(
            r#"{{"date": "{}", "destination": "CN", "incoterm": "DDP", "currency": "USD", "freight": {{"amount": "20.00", "currency": "USD"}},
               "lines": [{{"hs": "0904.21", "origin": "RW", "quantity": {{"value": "2", "unit": "kg"}}, "unit_value": {{"amount": "15.00", "currency": "USD"}}}}]}}"#,
            time::OffsetDateTime::now_utc().date()
        );
        let response = http(port, &format!(
            "POST /api/v1/quotes HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{quote}",
            quote.len()
        ))
        .unwrap();
        assert!(response.starts_with("HTTP/1.1 201"), "{response}");
        assert!(response.contains("demo (illustrative"), "{response}");
        // The catalogue is indexed a moment after start: Canada's pavilion lists its exporters'
        // five products, and Chinese finds the longan.
        let get_json = |path: &str| {
            let response = http(
                port,
                &format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
            )
            .unwrap();
            let body = response.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
            serde_json::from_str::<serde_json::Value>(&body).unwrap_or(serde_json::Value::Null)
        };
        let mut listing = serde_json::Value::Null;
        for _ in 0..200 {
            listing = get_json("/api/v1/pavilions/ca-retail/products");
            if listing["products"]["total"] == 5 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert_eq!(listing["products"]["total"], 5, "{listing}");
        let longan = get_json("/api/v1/search?q=%E9%BE%99%E7%9C%BC&locale=zh-CN");
        assert_eq!(longan["hits"][0]["title"], "柬埔寨拜林新鲜龙眼", "{longan}");
        terminate(&child);
        assert!(child.wait().unwrap().success());
        let reindex = pavilion(
            &["reindex", "--data-dir", dir.path().to_str().unwrap()],
            dir.path(),
        );
        assert!(
            reindex.status.success(),
            "{}",
            String::from_utf8_lossy(&reindex.stderr)
        );
        assert!(String::from_utf8_lossy(&reindex.stdout).starts_with("indexed 19 products"));
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert!(out.contains("admin@pavilion.demo"), "{out}");
    }
}

#[test]
fn fx_import_is_all_or_nothing_with_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("eurofxref.csv");
    std::fs::write(&good, "Date, USD, CNY, \n2026-11-20, 1.0535, 7.6120, \n").unwrap();
    let out = pavilion(&["fx", "import", good.to_str().unwrap()], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 2 exchange rates"));

    let bad = dir.path().join("rates.csv");
    std::fs::write(&bad, "date,base,quote,rate\n2026-11-20,USD,CNY,7.1\n2026-11-31,USD,CNY,7.1\n2026-11-20,USD,ABC,-2\n").unwrap();
    let out = pavilion(
        &["fx", "import", "--format", "simple", bad.to_str().unwrap()],
        dir.path(),
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nothing imported"), "{stderr}");
    assert!(stderr.contains("line 3: date:"), "{stderr}");
    assert!(
        stderr.contains("line 4: quote:") && stderr.contains("line 4: rate:"),
        "{stderr}"
    );
}

const QUOTE: &str = r#"{
  "date": "2026-09-03", "destination": "CN", "incoterm": "DDP", "currency": "CNY",
  "freight": {"amount": "100.00", "currency": "CNY"},
  "lines": [{"hs": "0904.21", "origin": "RW", "quantity": {"value": "2", "unit": "kg"},
             "unit_value": {"amount": "100.00", "currency": "CNY"}}]
}"#;

fn vat_of(quote: &str) -> serde_json::Value {
    let quote: serde_json::Value =
        serde_json::from_str(quote).unwrap_or_else(|e| panic!("{e}: {quote}"));
    quote["lines"][0]["vat"]["rate"].clone()
}

#[test]
fn quote_prints_the_landed_cost_and_imported_rule_packs_change_it() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("quote.json");
    std::fs::write(&input, QUOTE).unwrap();
    let out = pavilion(&["quote", input.to_str().unwrap()], dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\"landed\""), "{stdout}");
    assert_eq!(vat_of(&stdout), "0.09");

    // An operator imports a VAT table where spices pay 13%: the next quote uses it.
    let pack = dir.path().join("cn");
    std::fs::create_dir(&pack).unwrap();
    let shipped = include_str!("../../../rules/cn/vat.csv");
    let changed = shipped
        .lines()
        .filter(|l| !l.starts_with("cn-vat-09"))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(pack.join("vat.csv"), format!("{changed}\n")).unwrap();
    let out = pavilion(
        &["rules", "import", "--pack", "cn", pack.to_str().unwrap()],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("imported rule pack cn (version 1): vat.csv")
    );
    let out = pavilion(&["quote", input.to_str().unwrap()], dir.path());
    assert_eq!(vat_of(&String::from_utf8_lossy(&out.stdout)), "0.13");

    // A broken file is refused with its line, and the imported pack stays as it was.
    std::fs::write(
        pack.join("vat.csv"),
        format!("{shipped}cn-vat-bad,09,,not-a-rate,2026-01-01,,x,H,\n"),
    )
    .unwrap();
    let out = pavilion(
        &["rules", "import", "--pack", "cn", pack.to_str().unwrap()],
        dir.path(),
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("nothing imported") && stderr.contains("vat.csv"),
        "{stderr}"
    );
    let out = pavilion(&["quote", input.to_str().unwrap()], dir.path());
    assert_eq!(vat_of(&String::from_utf8_lossy(&out.stdout)), "0.13");
}

#[test]
fn quote_errors_name_the_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bad.json");
    std::fs::write(&input, QUOTE.replace("\"0904.21\"", "\"09 04\"")).unwrap();
    let out = pavilion(&["quote", input.to_str().unwrap()], dir.path());
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 4") && stderr.contains("lines[0].hs"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("column").count(), 1, "{stderr}");

    std::fs::write(&input, QUOTE.replace("\"CNY\"", "\"JPY\"")).unwrap();
    let out = pavilion(&["quote", input.to_str().unwrap()], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("currency") && stderr.contains("no exchange rate"),
        "{stderr}"
    );
}
