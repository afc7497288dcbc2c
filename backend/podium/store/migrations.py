"""Schema migrations, applied in order. Append new ones; never edit an applied one.

Each entry is (version, SQL script). `PRAGMA user_version` records the last applied version.
"""

BUCKET_MS = 900_000
#: the long-context line the buckets split on (Anthropic's; a price table with another line
#: makes reports read the entries instead)
LONG_CONTEXT_TOKENS = 200_000


def _bucket_add(row: str, sign: str) -> str:
    values = (
        f"{row}.ts / {BUCKET_MS}, COALESCE({row}.model, ''), "
        f"{row}.input + {row}.cache_create + {row}.cache_read > {LONG_CONTEXT_TOKENS}, "
        f"{row}.cost_logged IS NOT NULL, {sign}{row}.input, {sign}{row}.output, "
        f"{sign}{row}.cache_create, {sign}{row}.cache_read, {sign}COALESCE({row}.cache_1h, 0), "
        f"{sign}COALESCE({row}.cost_logged, 0), {sign}1"
    )
    sums = ("input", "output", "cache_create", "cache_read", "cache_1h", "cost_logged", "n")
    return (
        "INSERT INTO usage_buckets(bucket, model, long, has_logged, input, output, "
        f"cache_create, cache_read, cache_1h, cost_logged, n) VALUES ({values}) "
        "ON CONFLICT(bucket, model, long, has_logged) DO UPDATE SET "
        + ", ".join(f"{c} = {c} + excluded.{c}" for c in sums)
        + ";"
    )


#: keep usage_buckets in step with entries (dropped and rebuilt around a bulk load)
BUCKET_TRIGGERS = f"""
CREATE TRIGGER entries_bucket_insert AFTER INSERT ON entries BEGIN
    {_bucket_add("NEW", "")}
END;
CREATE TRIGGER entries_bucket_delete AFTER DELETE ON entries BEGIN
    {_bucket_add("OLD", "-")}
END;
CREATE TRIGGER entries_bucket_update AFTER UPDATE ON entries BEGIN
    {_bucket_add("OLD", "-")}
    {_bucket_add("NEW", "")}
END;
"""

#: recompute usage_buckets from entries
REBUILD_BUCKETS = f"""
DELETE FROM usage_buckets;
INSERT INTO usage_buckets(bucket, model, long, has_logged, input, output, cache_create,
                          cache_read, cache_1h, cost_logged, n)
SELECT ts / {BUCKET_MS}, COALESCE(model, ''),
       input + cache_create + cache_read > {LONG_CONTEXT_TOKENS} AS long,
       cost_logged IS NOT NULL AS has_logged, SUM(input), SUM(output), SUM(cache_create),
       SUM(cache_read), SUM(COALESCE(cache_1h, 0)), SUM(COALESCE(cost_logged, 0)), COUNT(*)
FROM entries GROUP BY 1, 2, 3, 4;
"""

# entries' columns as of v6 (v1's plus v2's sidechain), in storage order
_ENTRY_COLUMNS_SQL = """
            key          TEXT NOT NULL,             -- the dedupe key (see podium.usage.dedupe)
            file_id      INTEGER NOT NULL,
            ts           INTEGER NOT NULL,          -- ms since epoch, UTC
            session_id   TEXT,
            cwd          TEXT,
            project      TEXT,
            model        TEXT,
            input        INTEGER NOT NULL DEFAULT 0,
            output       INTEGER NOT NULL DEFAULT 0,
            cache_create INTEGER NOT NULL DEFAULT 0,
            cache_read   INTEGER NOT NULL DEFAULT 0,
            cache_5m     INTEGER,
            cache_1h     INTEGER,
            total        INTEGER NOT NULL DEFAULT 0,
            message_id   TEXT,
            request_id   TEXT,
            cost_logged  REAL,
            speed        TEXT,
            adapter      TEXT NOT NULL DEFAULT 'claude',
            sidechain    INTEGER NOT NULL DEFAULT 0
""".strip()
_ENTRY_COLUMN_NAMES = ", ".join(
    line.split()[0] for line in _ENTRY_COLUMNS_SQL.splitlines() if line.strip()
)

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        CREATE TABLE meta (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );

        -- One row per log file an adapter has seen. (dev, ino, size, offset) make ingest
        -- incremental: only bytes past `offset` are read; a smaller size or another inode
        -- means the file was truncated or replaced and is read again from 0.
        CREATE TABLE files (
            id          INTEGER PRIMARY KEY,
            path        TEXT NOT NULL UNIQUE,
            adapter     TEXT NOT NULL,
            dev         INTEGER NOT NULL DEFAULT 0,
            ino         INTEGER NOT NULL DEFAULT 0,
            size        INTEGER NOT NULL DEFAULT 0,
            offset      INTEGER NOT NULL DEFAULT 0,
            mtime_ns    INTEGER NOT NULL DEFAULT 0,
            malformed   INTEGER NOT NULL DEFAULT 0,
            invalid_utf8 INTEGER NOT NULL DEFAULT 0,
            oversized   INTEGER NOT NULL DEFAULT 0,
            last_error  TEXT
        );

        -- Deduplicated usage records. `key` is the dedupe key (message id + request id, or
        -- message id alone, or file:offset when the line has no message id) so re-reading a
        -- line is idempotent; the copy with the largest token total wins.
        CREATE TABLE entries (
            key          TEXT PRIMARY KEY,
            file_id      INTEGER NOT NULL,
            ts           INTEGER NOT NULL,          -- ms since epoch, UTC
            session_id   TEXT,
            cwd          TEXT,
            project      TEXT,
            model        TEXT,
            input        INTEGER NOT NULL DEFAULT 0,
            output       INTEGER NOT NULL DEFAULT 0,
            cache_create INTEGER NOT NULL DEFAULT 0,
            cache_read   INTEGER NOT NULL DEFAULT 0,
            cache_5m     INTEGER,                   -- split of cache_create when logged
            cache_1h     INTEGER,
            total        INTEGER NOT NULL DEFAULT 0,
            message_id   TEXT,
            request_id   TEXT,
            cost_logged  REAL,                      -- costUSD from old log versions
            speed        TEXT,
            adapter      TEXT NOT NULL DEFAULT 'claude'
        ) WITHOUT ROWID;
        CREATE INDEX entries_ts ON entries(ts);
        CREATE INDEX entries_session ON entries(session_id);
        CREATE INDEX entries_cwd ON entries(cwd);
        CREATE INDEX entries_file ON entries(file_id);

        -- Agent sessions Podium spawned (see podium.agents).
        CREATE TABLE agents (
            id                TEXT PRIMARY KEY,
            name              TEXT NOT NULL,
            task              TEXT NOT NULL DEFAULT '',
            repo              TEXT NOT NULL,
            worktree          TEXT NOT NULL,
            branch            TEXT NOT NULL,
            base_ref          TEXT,
            base_commit       TEXT,
            profile           TEXT NOT NULL,
            command_json      TEXT NOT NULL DEFAULT '[]',
            state_dir         TEXT NOT NULL,
            claude_session_id TEXT,
            pid               INTEGER,
            pid_create_time   REAL,
            source            TEXT NOT NULL DEFAULT 'subscription',
            source_override   TEXT,
            model             TEXT,
            status            TEXT NOT NULL,
            status_since      REAL NOT NULL,
            status_reason     TEXT,
            exit_code         INTEGER,
            started_at        REAL NOT NULL,
            ended_at          REAL,
            limit_usd         REAL,
            removed           INTEGER NOT NULL DEFAULT 0,
            extra_json        TEXT NOT NULL DEFAULT '{}'
        );
        CREATE UNIQUE INDEX agents_live_name ON agents(repo, name) WHERE removed = 0;

        -- Alerts raised by limits, once per (scope, scope_key, window, level).
        CREATE TABLE alerts (
            id          INTEGER PRIMARY KEY,
            ts          REAL NOT NULL,
            level       TEXT NOT NULL,
            scope       TEXT NOT NULL,
            scope_key   TEXT NOT NULL DEFAULT '',
            window      TEXT NOT NULL DEFAULT '',
            threshold   REAL,
            used        REAL,
            limit_value REAL,
            message     TEXT NOT NULL,
            agent_id    TEXT,
            action      TEXT,
            UNIQUE (scope, scope_key, window, level)
        );

        -- Plan-usage figures from official sources (statusLine payload, OAuth endpoint).
        CREATE TABLE plan_snapshots (
            id          INTEGER PRIMARY KEY,
            ts          REAL NOT NULL,
            source      TEXT NOT NULL,              -- official | oauth
            window      TEXT NOT NULL,              -- five_hour | seven_day | ...
            used_pct    REAL NOT NULL,
            resets_at   REAL,
            session_id  TEXT
        );
        CREATE INDEX plan_snapshots_window ON plan_snapshots(window, ts);
        """,
    ),
    (
        2,
        """
        -- ccusage's sidechain replay rule matches entries on (message id, session id)
        ALTER TABLE entries ADD COLUMN sidechain INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX entries_message_session ON entries(message_id, session_id);
        """,
    ),
    (
        3,
        """
        -- each ingest loads the sidechain pairs; without this it scans every entry
        CREATE INDEX entries_sidechain ON entries(message_id, session_id) WHERE sidechain = 1;
        """,
    ),
    (
        4,
        """
        -- fewer indexes make ingest cheaper: (session_id, message_id) serves both the
        -- session lookups and the replay rule; a reset file's entries are found by a scan
        DROP INDEX entries_file;
        DROP INDEX entries_session;
        DROP INDEX entries_message_session;
        CREATE INDEX entries_session_message ON entries(session_id, message_id);
        """,
    ),
    (
        5,
        f"""
        -- Daily and monthly reports read 15-minute sums instead of every entry (every UTC
        -- offset in use is a multiple of 15 minutes, so local days are unions of buckets).
        -- Triggers keep them exact through every insert, replacement and delete.
        CREATE TABLE usage_buckets (
            bucket       INTEGER NOT NULL,          -- ts / 900000
            model        TEXT NOT NULL,             -- '' when the entry has none
            long         INTEGER NOT NULL,          -- input side > {LONG_CONTEXT_TOKENS}
            has_logged   INTEGER NOT NULL,          -- cost_logged IS NOT NULL
            input        INTEGER NOT NULL,
            output       INTEGER NOT NULL,
            cache_create INTEGER NOT NULL,
            cache_read   INTEGER NOT NULL,
            cache_1h     INTEGER NOT NULL,
            cost_logged  REAL NOT NULL,
            n            INTEGER NOT NULL,
            PRIMARY KEY (bucket, model, long, has_logged)
        ) WITHOUT ROWID;
        {BUCKET_TRIGGERS}
        {REBUILD_BUCKETS}
        """,
    ),
    (
        6,
        f"""
        -- A rowid table with a unique index on the key instead of WITHOUT ROWID: rows of
        -- ~250 bytes made the key b-tree carry whole rows in every page (11 MB for 17 k
        -- entries), so an incremental run of ~500 random keys touched ~1,900 pages; new rows
        -- now append to the table and only the small key index takes random writes.
        CREATE TABLE entries_v6 (
            id           INTEGER PRIMARY KEY,
            {_ENTRY_COLUMNS_SQL}
        );
        INSERT INTO entries_v6 ({_ENTRY_COLUMN_NAMES})
            SELECT {_ENTRY_COLUMN_NAMES} FROM entries ORDER BY key;
        DROP TABLE entries;
        ALTER TABLE entries_v6 RENAME TO entries;
        CREATE UNIQUE INDEX entries_key ON entries(key);
        CREATE INDEX entries_ts ON entries(ts);
        CREATE INDEX entries_cwd ON entries(cwd);
        CREATE INDEX entries_sidechain ON entries(message_id, session_id) WHERE sidechain = 1;
        CREATE INDEX entries_session_message ON entries(session_id, message_id);
        {BUCKET_TRIGGERS}
        """,
    ),
]

LATEST_VERSION = MIGRATIONS[-1][0]
