//! rosbag2's sqlite3 storage (`.db3`): a `topics` table (id, name, type, serialization_format) and a
//! `messages` table (topic_id, timestamp in ns, CDR data), read in timestamp order a page at a time.

use crate::error::BagError;
use crate::reader::{BagMessage, Connection as BagConnection};
use bytes::Bytes;
use rusqlite::{Connection, OpenFlags};
use sensorium_core::Stamp;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Per topic: (name, type, messages).
type TopicCounts = Vec<(String, String, u64)>;

/// A `messages` row: id, topic id, timestamp, data.
type Row = (i64, i64, i64, Vec<u8>);

/// Rows fetched per query while iterating.
const PAGE: i64 = 256;

pub(super) struct SqliteFile {
    pub(super) path: PathBuf,
    db: Mutex<Connection>,
    /// topic id → its connection (datatype: the ROS 2 type name)
    topics: BTreeMap<i64, Arc<BagConnection>>,
}

fn sql_err(path: &Path, e: rusqlite::Error) -> BagError {
    BagError::Ros2 {
        path: path.to_path_buf(),
        what: "rosbag2 sqlite3",
        problem: e.to_string(),
    }
}

impl SqliteFile {
    pub(super) fn open(path: &Path) -> Result<SqliteFile, BagError> {
        let db = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| sql_err(path, e))?;
        let mut topics = BTreeMap::new();
        {
            let mut st = db
                .prepare("SELECT id, name, type, serialization_format FROM topics")
                .map_err(|e| sql_err(path, e))?;
            let rows = st
                .query_map([], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                })
                .map_err(|e| sql_err(path, e))?;
            for row in rows {
                let (id, name, ty, format) = row.map_err(|e| sql_err(path, e))?;
                let datatype = if format == "cdr" {
                    ty
                } else {
                    format!("{ty} ({format} encoded)")
                };
                topics.insert(
                    id,
                    Arc::new(BagConnection {
                        id: u32::try_from(id).unwrap_or(u32::MAX),
                        topic: name,
                        datatype,
                        md5sum: String::new(),
                        message_definition: String::new(),
                        callerid: None,
                        latching: false,
                    }),
                );
            }
        }
        Ok(SqliteFile {
            path: path.to_path_buf(),
            db: Mutex::new(db),
            topics,
        })
    }

    /// Per topic: (name, type, count); the first and last timestamp.
    pub(super) fn census(&self) -> Result<(TopicCounts, Option<(u64, u64)>), BagError> {
        let db = self.db.lock().unwrap_or_else(|e| e.into_inner());
        let mut st = db
            .prepare(
                "SELECT topic_id, COUNT(*), MIN(timestamp), MAX(timestamp) FROM messages GROUP BY topic_id",
            )
            .map_err(|e| sql_err(&self.path, e))?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .map_err(|e| sql_err(&self.path, e))?;
        let mut out: TopicCounts = self
            .topics
            .values()
            .map(|c| (c.topic.clone(), c.datatype.clone(), 0))
            .collect();
        let mut span: Option<(u64, u64)> = None;
        for row in rows {
            let (id, n, lo, hi) = row.map_err(|e| sql_err(&self.path, e))?;
            if let Some(c) = self.topics.get(&id) {
                if let Some(e) = out.iter_mut().find(|e| e.0 == c.topic) {
                    e.2 += u64::try_from(n).unwrap_or(0);
                }
            }
            let (lo, hi) = (u64::try_from(lo).unwrap_or(0), u64::try_from(hi).unwrap_or(0));
            span = Some(span.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
        }
        Ok((out, span))
    }

    /// The messages of `topics` (None: all) within `start..=end` (ns) in timestamp order.
    pub(super) fn messages<'a>(
        &'a self,
        topics: Option<Vec<String>>,
        start: Option<u64>,
        end: Option<u64>,
    ) -> impl Iterator<Item = Result<BagMessage, BagError>> + Send + 'a {
        let ids: Vec<i64> = self
            .topics
            .iter()
            .filter(|(_, c)| topics.as_ref().is_none_or(|t| t.contains(&c.topic)))
            .map(|(id, _)| *id)
            .collect();
        let lo = start.map_or(i64::MIN, |s| i64::try_from(s).unwrap_or(i64::MAX));
        let hi = end.map_or(i64::MAX, |e| i64::try_from(e).unwrap_or(i64::MAX));
        // keyset paging: after (timestamp, id) of the last row returned
        let mut after: (i64, i64) = (lo, i64::MIN);
        let mut page: std::collections::VecDeque<Result<BagMessage, BagError>> = Default::default();
        let mut done = ids.is_empty();
        let in_list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let sql = format!(
            "SELECT id, topic_id, timestamp, data FROM messages WHERE topic_id IN ({in_list}) \
             AND (timestamp > ?1 OR (timestamp = ?1 AND id > ?2)) AND timestamp <= ?3 \
             ORDER BY timestamp, id LIMIT {PAGE}"
        );
        std::iter::from_fn(move || {
            if page.is_empty() && !done {
                let db = self.db.lock().unwrap_or_else(|e| e.into_inner());
                let rows: Result<Vec<Row>, rusqlite::Error> = db.prepare_cached(&sql).and_then(|mut st| {
                    st.query_map(rusqlite::params![after.0, after.1, hi], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                    })?
                    .collect()
                });
                match rows {
                    Ok(rows) => {
                        done = (rows.len() as i64) < PAGE;
                        for (id, topic_id, ts, data) in rows {
                            after = (ts, id);
                            if let Some(conn) = self.topics.get(&topic_id) {
                                page.push_back(Ok(BagMessage {
                                    conn: Arc::clone(conn),
                                    time: Stamp::from_nanos(u64::try_from(ts).unwrap_or(0)),
                                    data: Bytes::from(data),
                                }));
                            }
                        }
                    }
                    Err(e) => {
                        done = true;
                        page.push_back(Err(sql_err(&self.path, e)));
                    }
                }
            }
            page.pop_front()
        })
    }
}
