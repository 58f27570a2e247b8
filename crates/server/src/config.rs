//! Configuration: defaults that need nothing, then a TOML file, then `PAVILION_*` variables.
//!
//! Nested keys use a double underscore in variable names, e.g. `PAVILION_SIGN_IN__WINDOW_MINUTES`.
//! `DATABASE_URL` is honoured too, as the conventional name.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Where the embedded database (and later uploaded files and indexes) live.
    pub data_dir: PathBuf,
    /// Where this process keeps its search index; unset means `data_dir/search-index`. Each
    /// process needs its own directory.
    pub search_dir: Option<PathBuf>,
    /// `postgres://…` for PostgreSQL; unset means SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// Connection pool size; unset means twice the cores for SQLite (its reads run on this
    /// machine's CPUs, so more connections only add thread switches) and 16 for PostgreSQL.
    pub database_max_connections: Option<NonZeroU32>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Set when served over HTTPS, so session cookies are only sent over it.
    pub secure_cookies: bool,
    /// A session ends after this many days without use.
    pub session_idle_days: i64,
    pub sign_in: SignInLimits,
    /// How long in-flight requests may take to finish after SIGTERM.
    pub shutdown_grace_seconds: u64,
    /// How long a landed-cost quote may be used at checkout.
    pub quote_ttl_minutes: i64,
    /// An order not paid within this many minutes expires and its stock goes back.
    pub unpaid_order_minutes: i64,
    /// The sandbox payment provider (it moves no money; see `SandboxConfig`).
    pub sandbox: SandboxConfig,
    pub log: LogFormat,
}

/// The sandbox payment provider: a stand-in that really runs (its own books, its own signed
/// webhooks back into the server) so that payment flows can be exercised end to end. It talks to
/// no payment network and moves no money.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxConfig {
    /// Whether checkout offers the sandbox provider.
    pub enabled: bool,
    /// Added to every sandbox operation, in milliseconds.
    pub delay_ms: u64,
    /// How long an authorisation with the `sandbox_card_slow` test method takes.
    pub slow_card_delay_ms: u64,
    /// Share of sandbox operations that fail, 0 to 100: authorisations are declined, captures
    /// and refunds fail as if the provider were down.
    pub fail_rate_percent: u8,
    /// How long after an operation its webhook is first due.
    pub webhook_delay_ms: u64,
    /// Where the sandbox posts its webhooks; unset means this server's own endpoint
    /// (`/api/v1/payments/webhooks/sandbox` on the address it listens on).
    pub webhook_url: Option<String>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            delay_ms: 0,
            slow_card_delay_ms: 1500,
            fail_rate_percent: 0,
            webhook_delay_ms: 0,
            webhook_url: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignInLimits {
    pub max_failures_per_email: u32,
    pub max_failures_per_client: u32,
    pub window_minutes: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("pavilion-data"),
            search_dir: None,
            database_url: None,
            database_max_connections: None,
            max_body_bytes: 1024 * 1024,
            secure_cookies: false,
            session_idle_days: 7,
            sign_in: SignInLimits::default(),
            shutdown_grace_seconds: 30,
            quote_ttl_minutes: 30,
            unpaid_order_minutes: 30,
            sandbox: SandboxConfig::default(),
            log: LogFormat::Text,
        }
    }
}

impl Default for SignInLimits {
    fn default() -> Self {
        Self {
            max_failures_per_email: 5,
            max_failures_per_client: 30,
            window_minutes: 15,
        }
    }
}

impl Config {
    /// Loads the configuration; `file` is optional and a missing default file is not an error.
    pub fn load(file: Option<&Path>) -> Result<Self, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(Box::new(figment::Error::from(format!(
                    "configuration file {} does not exist",
                    file.display()
                ))));
            }
            figment = figment.merge(Toml::file(file));
        }
        figment = figment
            .merge(
                Env::raw()
                    .only(&["DATABASE_URL"])
                    .map(|_| "database_url".into()),
            )
            .merge(
                Env::prefixed("PAVILION_")
                    .split("__")
                    .filter(|key| is_config_key(key.as_str())),
            );
        figment.extract().map_err(Box::new)
    }

    /// Top-level keys, so that unrelated `PAVILION_*` variables (e.g. the test suite's) are not
    /// mistaken for configuration.
    fn keys() -> Vec<String> {
        match serde_json::to_value(Config::default()) {
            Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }

    pub fn search_dir(&self) -> PathBuf {
        self.search_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("search-index"))
    }

    /// The database to use: the configured URL, else SQLite in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) if !url.trim().is_empty() => url.clone(),
            _ => format!("sqlite://{}", self.data_dir.join("pavilion.db").display()),
        }
    }
}

fn is_config_key(key: &str) -> bool {
    let top = key.split('.').next().unwrap_or(key);
    Config::keys().iter().any(|k| k.eq_ignore_ascii_case(top))
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail closures return its (large) error type
mod tests {
    use super::*;

    #[test]
    fn defaults_need_no_file_and_point_at_sqlite() {
        let c = Config::default();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url(), "sqlite://pavilion-data/pavilion.db");
    }

    #[test]
    fn environment_overrides_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "p.toml",
                "listen = \"0.0.0.0:9000\"\n[sign_in]\nwindow_minutes = 5\n",
            )?;
            jail.set_env("PAVILION_LISTEN", "127.0.0.1:9100");
            jail.set_env("DATABASE_URL", "postgres://u@h/db");
            jail.set_env("PAVILION_TEST_PG_URL", "not configuration");
            let c = Config::load(Some(Path::new("p.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(c.listen.to_string(), "127.0.0.1:9100");
            assert_eq!(c.sign_in.window_minutes, 5);
            assert_eq!(c.database_url(), "postgres://u@h/db");
            Ok(())
        });
    }

    #[test]
    fn a_pool_size_is_set_by_the_environment_and_never_zero() {
        figment::Jail::expect_with(|jail| {
            assert_eq!(
                Config::load(None)
                    .map_err(|e| e.to_string())?
                    .database_max_connections,
                None
            );
            jail.set_env("PAVILION_DATABASE_MAX_CONNECTIONS", "4");
            let c = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(c.database_max_connections, NonZeroU32::new(4));
            jail.set_env("PAVILION_DATABASE_MAX_CONNECTIONS", "0");
            let err = Config::load(None).unwrap_err();
            assert!(
                err.to_string()
                    .to_lowercase()
                    .contains("database_max_connections"),
                "{err}"
            );
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("p.toml", "listn = \"0.0.0.0:9000\"\n")?;
            let err = Config::load(Some(Path::new("p.toml"))).unwrap_err();
            assert!(err.to_string().contains("listn"), "{err}");
            Ok(())
        });
    }
}
