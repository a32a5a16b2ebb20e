//! SQLite statements kept prepared: `run` and `one` are `execute` and `query_row` through the
//! connection's statement cache, so a hot statement is parsed once per connection, not once
//! per call (parsing was a tenth of an embedded node's CPU under tournament load).

use rusqlite::{Connection, Params, Row};

/// How many prepared statements a connection keeps.
pub const CACHED_STATEMENTS: usize = 64;

pub trait CachedSql {
    /// `execute` through the statement cache.
    fn run<P: Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
    /// `query_row` through the statement cache.
    fn one<T, P: Params, F: FnOnce(&Row<'_>) -> rusqlite::Result<T>>(
        &self,
        sql: &str,
        params: P,
        f: F,
    ) -> rusqlite::Result<T>;
}

impl CachedSql for Connection {
    fn run<P: Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn one<T, P: Params, F: FnOnce(&Row<'_>) -> rusqlite::Result<T>>(
        &self,
        sql: &str,
        params: P,
        f: F,
    ) -> rusqlite::Result<T> {
        self.prepare_cached(sql)?.query_row(params, f)
    }
}
