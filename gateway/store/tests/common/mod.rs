//! Opening a store for a test on either backend: SQLite in a temporary
//! directory, or a new database on the PostgreSQL server the test command
//! starts (`POSTGRES_TEST_URL`, see `scripts/postgres`).

// Each test file uses a part of it.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::PathBuf;

use zorgpoort_store::{AuditSettings, Durability, PostgresSettings, PostgresStore, SqliteStore, Store};

/// A database a test opens (and may open again, as a second process or a
/// replica would).
pub trait Db {
    type Store: Store;
    fn open(&self) -> impl Future<Output = Self::Store>;
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zorgpoort-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `zorgpoort.db` in a new temporary directory.
pub struct Sqlite(pub PathBuf);

impl Sqlite {
    pub fn new(name: &str) -> Self {
        Self(temp_dir(name).join("zorgpoort.db"))
    }
}

impl Db for Sqlite {
    type Store = SqliteStore;
    async fn open(&self) -> SqliteStore {
        SqliteStore::open(&self.0, Durability::ProcessCrash).unwrap()
    }
}

/// A new database on the test server, with the audit key and anchors in a
/// new temporary directory.
pub struct Postgres {
    pub url: String,
    pub dir: PathBuf,
}

/// The test server's URL without a database name.
pub fn postgres_server() -> String {
    std::env::var("POSTGRES_TEST_URL").expect(
        "POSTGRES_TEST_URL is not set: run ./scripts/test (it starts a PostgreSQL server for the tests), \
         or set it to postgres://USER@HOST:PORT of a server where USER may create databases",
    )
}

impl Postgres {
    pub async fn new(name: &str) -> Self {
        let server = postgres_server();
        let (client, connection) = tokio_postgres::connect(&format!("{server}/postgres"), tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL server {server}: {e}"));
        tokio::spawn(connection);
        let database: String = format!("zp_{name}")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(50)
            .collect();
        for statement in [
            format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"),
            format!("CREATE DATABASE {database}"),
        ] {
            client.batch_execute(&statement).await.unwrap();
        }
        Self {
            url: format!("{server}/{database}"),
            dir: temp_dir(name),
        }
    }

    /// A client of the test's database, for what the store would refuse.
    pub async fn raw(&self) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client
    }
}

impl Db for Postgres {
    type Store = PostgresStore;
    async fn open(&self) -> PostgresStore {
        let settings = PostgresSettings {
            url: self.url.clone(),
            ca_file: None,
            max_connections: 8,
        };
        let audit = AuditSettings::beside(&self.dir.join("zorgpoort.db")).unwrap();
        PostgresStore::connect(&settings, &audit).await.unwrap()
    }
}
