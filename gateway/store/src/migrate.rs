//! Moving a region's data: an online backup of the SQLite store, and a copy
//! of a SQLite store into an empty PostgreSQL database (messages,
//! deliveries, consents, Tasks, and the audit chain as written, with its
//! checkpoint), checked after the copy: the same number of rows in every
//! table and the chain verified in PostgreSQL against the anchors outside.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use tokio_postgres::types::ToSql;

use crate::{AuditSettings, PostgresSettings, PostgresStore, StoreError, Verification};

/// What [`sqlite_to_postgres`] copied, table by table, and what the copy's
/// audit chain verified to.
#[derive(Debug)]
pub struct Migration {
    /// (table, rows copied), in the order copied.
    pub tables: Vec<(&'static str, u64)>,
    /// The audit chain as checked in PostgreSQL after the copy.
    pub audit: Verification,
}

/// Copies the SQLite database at `path` to `path_to` while the gateway may
/// be running (SQLite's online backup: a consistent snapshot, written pages
/// at a time so writers are not held up). `path_to` must not exist.
pub fn backup_sqlite(path: &Path, path_to: &Path) -> Result<u64, StoreError> {
    if path_to.exists() {
        return Err(StoreError::Write(format!("{} exists already", path_to.display())));
    }
    let source = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut target = Connection::open(path_to)?;
    rusqlite::backup::Backup::new(&source, &mut target)?.run_to_completion(
        256,
        std::time::Duration::from_millis(5),
        None,
    )?;
    let messages: u64 = target.query_row("SELECT COUNT(*) FROM messages", [], |r| r.get(0))?;
    Ok(messages)
}

/// One table's copy: its name, the columns read from SQLite, and the
/// PostgreSQL insert they go into (the same columns, in order).
struct Table {
    name: &'static str,
    columns: &'static str,
    /// Conversions of SQLite's values, per column.
    kinds: &'static [Kind],
}

/// How a SQLite value is taken over.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    OptionalText,
    Integer,
    OptionalInteger,
    /// `INTEGER` in SQLite, `INTEGER` (32 bits) in PostgreSQL.
    Integer32,
    Blob,
    OptionalBlob,
    /// 0/1 in SQLite, `BOOLEAN` in PostgreSQL.
    Boolean,
}

const TABLES: &[Table] = &[
    Table {
        name: "messages",
        columns: "id, sender, control_id, format, received_ms, body, patient, origin, content_hash",
        kinds: &[
            Kind::Text,
            Kind::Text,
            Kind::Text,
            Kind::Text,
            Kind::Integer,
            Kind::Blob,
            Kind::OptionalText,
            Kind::Text,
            Kind::OptionalText,
        ],
    },
    Table {
        name: "deliveries",
        columns: "id, message_id, receiver, endpoint, state, attempts, next_attempt_ms, last_error, updated_ms, claim, \
                  claimed_until",
        kinds: &[
            Kind::Integer,
            Kind::Text,
            Kind::Text,
            Kind::Text,
            Kind::Text,
            Kind::Integer32,
            Kind::Integer,
            Kind::OptionalText,
            Kind::Integer,
            Kind::OptionalText,
            Kind::OptionalInteger,
        ],
    },
    Table {
        name: "consents",
        columns: "id, patient, recorded_by, resource, updated_ms",
        kinds: &[Kind::Text, Kind::Text, Kind::OptionalText, Kind::Text, Kind::Integer],
    },
    Table {
        name: "tasks",
        columns: "id, requester, owner, patient, status, document, composition, resource, version, created_ms, \
                  updated_ms, due_ms, notified_ms, flagged",
        kinds: &[
            Kind::Text,
            Kind::Text,
            Kind::Text,
            Kind::OptionalText,
            Kind::Text,
            Kind::Text,
            Kind::Text,
            Kind::Text,
            Kind::Integer,
            Kind::Integer,
            Kind::Integer,
            Kind::Integer,
            Kind::OptionalInteger,
            Kind::Boolean,
        ],
    },
    Table {
        name: "audit_log",
        columns: "sequence, recorded_ms, patient, organization, event, previous, hash, anchored, purged_through, \
                  purged_hash",
        kinds: &[
            Kind::Integer,
            Kind::Integer,
            Kind::OptionalText,
            Kind::OptionalText,
            Kind::Text,
            Kind::Blob,
            Kind::Blob,
            Kind::OptionalInteger,
            Kind::OptionalInteger,
            Kind::OptionalBlob,
        ],
    },
    Table {
        name: "audit_checkpoint",
        columns: "id, sequence, hash",
        kinds: &[Kind::Integer32, Kind::Integer, Kind::Blob],
    },
];

/// A value on its way from SQLite to PostgreSQL.
enum Value {
    Text(Option<String>),
    Integer(Option<i64>),
    Integer32(i32),
    Blob(Option<Vec<u8>>),
    Boolean(bool),
}

impl Value {
    fn read(row: &rusqlite::Row<'_>, index: usize, kind: Kind) -> rusqlite::Result<Self> {
        Ok(match kind {
            Kind::Text | Kind::OptionalText => Self::Text(row.get(index)?),
            Kind::Integer | Kind::OptionalInteger => Self::Integer(row.get(index)?),
            Kind::Integer32 => Self::Integer32(row.get(index)?),
            Kind::Blob | Kind::OptionalBlob => Self::Blob(row.get(index)?),
            Kind::Boolean => Self::Boolean(row.get::<_, i64>(index)? != 0),
        })
    }

    fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Self::Text(value) => value,
            Self::Integer(value) => value,
            Self::Integer32(value) => value,
            Self::Blob(value) => value,
            Self::Boolean(value) => value,
        }
    }
}

/// Copies the SQLite store at `path` into the empty PostgreSQL database
/// `target` (created and migrated when new) in one transaction, then checks
/// the copy: row counts per table, and the audit chain verified in
/// PostgreSQL with `audit`'s key and anchor file. Refuses a target that
/// holds messages, consents, Tasks or audit records already.
pub async fn sqlite_to_postgres(
    path: &Path,
    target: &PostgresSettings,
    audit: &AuditSettings,
) -> Result<Migration, StoreError> {
    let mut source = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let store = PostgresStore::connect(target, audit).await?;
    let mut client = store.client().await?;
    let held: i64 = client
        .query_one(
            "SELECT (SELECT COUNT(*) FROM messages) + (SELECT COUNT(*) FROM consents) + \
             (SELECT COUNT(*) FROM tasks) + (SELECT COUNT(*) FROM audit_log)",
            &[],
        )
        .await?
        .get(0);
    if held > 0 {
        return Err(StoreError::Write(format!(
            "{} holds data already ({held} rows): a migration goes into an empty database",
            PostgresSettings::location_of(&target.url)
        )));
    }
    // One read transaction: a consistent snapshot, even with the gateway running.
    let snapshot = source.transaction()?;
    let tx = client.transaction().await?;
    let mut tables = Vec::new();
    for table in TABLES {
        let placeholders: Vec<String> = (1..=table.kinds.len()).map(|n| format!("${n}")).collect();
        let insert = tx
            .prepare(&format!(
                "INSERT INTO {} ({}) OVERRIDING SYSTEM VALUE VALUES ({})",
                table.name,
                table.columns,
                placeholders.join(", ")
            ))
            .await?;
        let mut query = snapshot.prepare(&format!("SELECT {} FROM {}", table.columns, table.name))?;
        let mut rows = query.query([])?;
        let mut copied = 0;
        while let Some(row) = rows.next()? {
            let values = table
                .kinds
                .iter()
                .enumerate()
                .map(|(index, kind)| Value::read(row, index, *kind))
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(Value::as_sql).collect();
            tx.execute(&insert, &params).await?;
            copied += 1;
        }
        tables.push((table.name, copied));
    }
    let legacy_through: i64 =
        snapshot.query_row("SELECT COALESCE(MAX(legacy_through), 0) FROM audit_keying", [], |r| {
            r.get(0)
        })?;
    tx.execute(
        "UPDATE audit_keying SET legacy_through = $1 WHERE id = 1",
        &[&legacy_through],
    )
    .await?;
    // New deliveries are numbered after the copied ones.
    tx.batch_execute(
        "SELECT setval(pg_get_serial_sequence('deliveries', 'id'), GREATEST((SELECT MAX(id) FROM deliveries), 1))",
    )
    .await?;
    tx.commit().await?;
    drop(snapshot);

    for (table, copied) in &tables {
        let counted: i64 = client
            .query_one(&format!("SELECT COUNT(*) FROM {table}"), &[])
            .await?
            .get(0);
        if u64::try_from(counted).ok() != Some(*copied) {
            return Err(StoreError::Write(format!(
                "{table}: {copied} rows copied but {counted} in PostgreSQL"
            )));
        }
    }
    let audit = store.verify_audit_report(&[]).await?;
    Ok(Migration { tables, audit })
}
