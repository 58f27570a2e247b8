//! `pavilion import products`, `pavilion export products` and `pavilion demo --products`, run
//! as a user would.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
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

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Seeds the demo (with `extra` arguments), waits until it serves, and stops it.
fn seed_demo(data_dir: &Path, extra: &[&str]) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(BIN)
        .args([
            "demo",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(data_dir)
        .args(extra)
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn pavilion demo");
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the demo did not start");
        assert!(child.try_wait().unwrap().is_none(), "the demo stopped");
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success());
}

fn rows(csv: &str) -> Vec<&str> {
    csv.lines().skip(1).collect()
}

#[test]
fn the_commands_have_help() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        ["import", "products", "--help"],
        ["export", "products", "--help"],
    ] {
        assert!(
            ok(&pavilion(&args, dir.path())).contains("Usage"),
            "{args:?}"
        );
    }
}

#[test]
fn exports_import_back_and_bad_files_are_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    seed_demo(&data, &["--products", "40"]);
    let exported = dir.path().join("products.csv");
    let out = pavilion(&["export", "products", exported.to_str().unwrap()], &data);
    assert!(ok(&out).contains("exported"));
    let first = std::fs::read_to_string(&exported).unwrap();
    let n = rows(&first).len();
    assert!(n >= 40, "{first}");
    assert!(
        first.starts_with("seller_id,kind,original_locale,title_zh-CN,"),
        "{first}"
    );

    // The export imports back: the catalogue now holds every product twice.
    let out = ok(&pavilion(
        &["import", "products", exported.to_str().unwrap()],
        &data,
    ));
    assert!(
        out.starts_with(&format!("imported {n} products from ")),
        "{out}"
    );
    assert!(out.contains("products/s"), "{out}");
    // No server runs on the data directory: the command indexed the products itself.
    assert!(
        out.contains(&format!("indexed {n} products for search")),
        "{out}"
    );
    let all = ok(&pavilion(&["export", "products"], &data));
    assert_eq!(rows(&all).len(), 2 * n);
    assert_eq!(rows(&all)[n..], rows(&first)[..]);

    // One seller's export, read from standard input.
    let seller = rows(&first)[0].split(',').next().unwrap().to_owned();
    let own = ok(&pavilion(
        &["export", "products", "--seller", &seller],
        &data,
    ));
    assert!(rows(&own).iter().all(|r| r.starts_with(&seller)));
    let mut child = Command::new(BIN)
        .args(["import", "products", "-"])
        .env("PAVILION_DATA_DIR", &data)
        .env_remove("DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(own.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(ok(&out).contains(&format!(
        "imported {} products from <stdin>",
        rows(&own).len()
    )));
    let before = rows(&ok(&pavilion(&["export", "products"], &data))).len();

    // Every bad row is listed as FILE:LINE: field: message, and nothing is written.
    let mut lines: Vec<String> = first.lines().map(str::to_owned).collect();
    let goods = (1..lines.len())
        .filter(|&i| lines[i].contains(",goods,") && lines[i].contains(",USD,"))
        .collect::<Vec<_>>();
    let (a, b) = (goods[0], goods[1]);
    lines[a] = lines[a].replacen(",goods,", ",gods,", 1);
    let mut cells: Vec<String> = lines[b].split(',').map(str::to_owned).collect();
    cells[0] = "not-a-uuid".into();
    lines[b] = cells.join(",");
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, lines.join("\n") + "\n").unwrap();
    let out = pavilion(&["import", "products", bad.to_str().unwrap()], &data);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let label = bad.display().to_string();
    assert!(
        stderr.contains(&format!("{label}:{}: kind: ", a + 1)),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{label}:{}: seller_id: ", b + 1)),
        "{stderr}"
    );
    assert!(stderr.contains("nothing imported"), "{stderr}");
    assert_eq!(
        rows(&ok(&pavilion(&["export", "products"], &data))).len(),
        before
    );

    // A wrong header is one clear error.
    std::fs::write(&bad, first.replacen("seller_id", "seller", 1)).unwrap();
    let out = pavilion(&["import", "products", bad.to_str().unwrap()], &data);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "{label}:1: header: expected the header seller_id,kind,"
        )),
        "{stderr}"
    );
}
