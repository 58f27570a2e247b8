use pavilion_domain::accounts::Role;
use pavilion_domain::text::{Email, Name, Password};
use pavilion_server::{Config, RunningServer, Server};
use pavilion_store::accounts::{Membership, NewOrganisation, NewUser};
use pavilion_store::audit::AuditContext;
use pavilion_store::testing::{Fixture, TestDatabase};
use pavilion_store::{Backend, Store};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

pub const PASSWORD: &str = "correct horse battery staple";

/// Everything any test's server logged, so tests can check what never reaches a log.
pub fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter("debug")
            .with_writer(move || LogWriter(sink.clone()))
            .try_init();
        buffer
    })
    .clone()
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut logs) = self.0.lock() {
            logs.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub struct TestApp {
    pub base: String,
    pub store: Store,
    _server: RunningServer,
    db: TestDatabase,
    /// This server's data directory (its search index lives there).
    _data: tempfile::TempDir,
}

impl Fixture for TestApp {
    async fn start(backend: Backend) -> Self {
        captured_logs();
        let db = TestDatabase::create(backend).await;
        let store = db.store().await;
        let data = tempfile::tempdir().unwrap();
        let config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            max_body_bytes: 16 * 1024,
            data_dir: data.path().to_owned(),
            ..Config::default()
        };
        let server = Server::with_store(config, store.clone())
            .await
            .expect("server")
            .spawn();
        Self {
            base: format!("http://{}", server.addr),
            store,
            _server: server,
            db,
            _data: data,
        }
    }
}

/// A client with its own cookie jar: one person's browser.
pub fn browser() -> Client {
    Client::builder().cookie_store(true).build().unwrap()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        if path.starts_with('/')
            && !path.starts_with("/api")
            && !path.starts_with("/healthz")
            && !path.starts_with("/readyz")
            && !path.starts_with("/metrics")
        {
            format!("{}/api/v1{path}", self.base)
        } else {
            format!("{}{path}", self.base)
        }
    }

    /// Another server process on the same database (own pool, own sessions cache: nothing shared
    /// but the database), as when several `pavilion serve` share one PostgreSQL.
    pub async fn second_server(&self) -> (String, RunningServer, tempfile::TempDir) {
        let store = self.db.store().await;
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: dir.path().to_owned(),
            ..Config::default()
        };
        let server = Server::with_store(config, store)
            .await
            .expect("second server")
            .spawn();
        (format!("http://{}", server.addr), server, dir)
    }

    /// A second connection pool on the same database, as another process would have.
    pub async fn db_store(&self) -> Store {
        self.db.store().await
    }

    /// POSTs JSON with the client and returns the status and body.
    pub async fn post(&self, client: &Client, path: &str, body: Value) -> (StatusCode, Value) {
        let res = client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn client_put(
        &self,
        client: &Client,
        path: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let res = self.client_put_raw(client, path, body).await;
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn client_put_raw(&self, client: &Client, path: &str, body: Value) -> Response {
        client.put(self.url(path)).json(&body).send().await.unwrap()
    }

    pub async fn get(&self, client: &Client, path: &str) -> (StatusCode, Value) {
        let res = client.get(self.url(path)).send().await.unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Signs up a seller with a new organisation and returns their signed-in browser and account.
    pub async fn seller(&self, email: &str, country: &str) -> (Client, Value) {
        self.sign_up(json!({
            "email": email, "password": PASSWORD, "display_name": "Seller", "role": "seller",
            "organisation": {"name": format!("{email} exports"), "country": country}
        }))
        .await
    }

    pub async fn consumer(&self, email: &str) -> (Client, Value) {
        self.sign_up(json!({
            "email": email, "password": PASSWORD, "display_name": "Consumer", "role": "consumer"
        }))
        .await
    }

    pub async fn sign_up(&self, body: Value) -> (Client, Value) {
        let client = browser();
        let res = client
            .post(self.url("/auth/sign-up"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED, "sign-up failed");
        let account = res.json().await.unwrap();
        (client, account)
    }

    /// An administrator created directly in the store (nobody can sign up as one), signed in.
    pub async fn admin(&self) -> Client {
        self.staff(
            Role::Admin,
            "admin@platform.test",
            NewOrganisation {
                kind: pavilion_domain::accounts::OrganisationKind::Platform,
                name: Name::parse("Platform").unwrap(),
                country: "SG".parse().unwrap(),
            },
        )
        .await
    }

    /// An agency officer of a new agency in `country`, signed in.
    pub async fn officer(&self, email: &str, country: &str) -> Client {
        self.staff(
            Role::AgencyOfficer,
            email,
            NewOrganisation {
                kind: pavilion_domain::accounts::OrganisationKind::Agency,
                name: Name::parse(&format!("{country} trade agency")).unwrap(),
                country: country.parse().unwrap(),
            },
        )
        .await
    }

    async fn staff(&self, role: Role, email: &str, org: NewOrganisation) -> Client {
        let hash =
            pavilion_server::auth::passwords::hash(Password::parse(PASSWORD.into()).unwrap())
                .await
                .unwrap();
        self.store
            .create_user(
                &AuditContext::default(),
                &NewUser {
                    email: Email::parse(email).unwrap(),
                    password_hash: hash,
                    display_name: Name::parse("Staff").unwrap(),
                    role,
                    membership: Membership::Found(org),
                },
            )
            .await
            .unwrap();
        self.sign_in(email).await
    }

    pub async fn sign_in(&self, email: &str) -> Client {
        let client = browser();
        let res = client
            .post(self.url("/auth/sign-in"))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "sign-in failed");
        client
    }

    /// Creates an API token for the signed-in client and returns its secret.
    pub async fn token(&self, client: &Client) -> String {
        let res = client
            .post(self.url("/tokens"))
            .json(&json!({"name": "test"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }
}

/// Asserts a problem+json answer with this status (and, if given, this field); returns the body.
pub async fn expect_problem(res: Response, status: StatusCode, field: Option<&str>) -> Value {
    let actual = res.status();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(actual, status, "unexpected status; body: {body}");
    assert_eq!(content_type, "application/problem+json", "body: {body}");
    assert_eq!(body["status"], status.as_u16(), "{body}");
    assert!(
        body["type"]
            .as_str()
            .unwrap_or("")
            .starts_with("/problems/"),
        "{body}"
    );
    assert!(!body["detail"].as_str().unwrap_or("").is_empty(), "{body}");
    if let Some(field) = field {
        assert_eq!(body["field"], field, "{body}");
    }
    body
}
