"""Schema migrations, applied in order. Append new ones; never edit an applied one.

Each entry is (version, SQL script). `PRAGMA user_version` records the last applied version.
"""

from collections.abc import Callable

from podium.store.levels import BUCKET_MS, LONG_CONTEXT_LEVELS, LONG_CONTEXT_TOKENS, long_level
from podium.store.rollups import SCHEMA_V12
from podium.store.status_log import SCHEMA_V11

__all__ = ["BUCKET_MS", "LONG_CONTEXT_LEVELS", "LONG_CONTEXT_TOKENS", "MIGRATIONS", "long_level"]


def _long_v5(row: str) -> str:
    return f"{row}.input + {row}.cache_create + {row}.cache_read > {LONG_CONTEXT_TOKENS}"


def _bucket_add(row: str, sign: str, long_of: Callable[[str], str] = _long_v5) -> str:
    values = (
        f"{row}.ts / {BUCKET_MS}, COALESCE({row}.model, ''), "
        f"{long_of(row)}, "
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


def _bucket_triggers(long_of: Callable[[str], str]) -> str:
    return f"""
CREATE TRIGGER entries_bucket_insert AFTER INSERT ON entries BEGIN
    {_bucket_add("NEW", "", long_of)}
END;
CREATE TRIGGER entries_bucket_delete AFTER DELETE ON entries BEGIN
    {_bucket_add("OLD", "-", long_of)}
END;
CREATE TRIGGER entries_bucket_update AFTER UPDATE ON entries BEGIN
    {_bucket_add("OLD", "-", long_of)}
    {_bucket_add("NEW", "", long_of)}
END;
"""


def _rebuild_buckets(long_sql: str) -> str:
    return f"""
DELETE FROM usage_buckets;
INSERT INTO usage_buckets(bucket, model, long, has_logged, input, output, cache_create,
                          cache_read, cache_1h, cost_logged, n)
SELECT ts / {BUCKET_MS}, COALESCE(model, ''), {long_sql} AS long,
       cost_logged IS NOT NULL AS has_logged, SUM(input), SUM(output), SUM(cache_create),
       SUM(cache_read), SUM(COALESCE(cache_1h, 0)), SUM(COALESCE(cost_logged, 0)), COUNT(*)
FROM entries GROUP BY 1, 2, 3, 4;
"""


_BUCKET_TRIGGERS_V5 = _bucket_triggers(_long_v5)
_REBUILD_BUCKETS_V5 = _rebuild_buckets(
    f"input + cache_create + cache_read > {LONG_CONTEXT_TOKENS}"
)
#: keep usage_buckets in step with entries (dropped and rebuilt around a bulk load)
BUCKET_TRIGGERS = _bucket_triggers(long_level)
#: recompute usage_buckets from entries
REBUILD_BUCKETS = _rebuild_buckets(long_level())

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
        {_BUCKET_TRIGGERS_V5}
        {_REBUILD_BUCKETS_V5}
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
        {_BUCKET_TRIGGERS_V5}
        """,
    ),
    (
        7,
        f"""
        -- A bucket's `long` becomes a level (how many of {LONG_CONTEXT_LEVELS} its requests'
        -- input exceeds) so models with a premium tier at 100k or 272k price exactly too.
        DROP TRIGGER entries_bucket_insert;
        DROP TRIGGER entries_bucket_delete;
        DROP TRIGGER entries_bucket_update;
        {BUCKET_TRIGGERS}
        {REBUILD_BUCKETS}

        -- Claude Code's own cost per session (its `cost-state` transcript line, or the
        -- `result.total_cost_usd` of its stream), shown next to Podium's and used for models
        -- the price table does not know. One row per session: the latest figure.
        CREATE TABLE session_costs (
            session_id   TEXT PRIMARY KEY,
            cost_usd     REAL NOT NULL,             -- totalCostUSD / total_cost_usd
            models_json  TEXT NOT NULL DEFAULT '{{}}', -- {{model: costUSD}} (modelUsage)
            unknown_cost INTEGER NOT NULL DEFAULT 0, -- Claude Code had no price for a model
            source       TEXT NOT NULL,             -- cost-state | result
            file_id      INTEGER,                   -- the transcript it came from (cost-state)
            ts           INTEGER NOT NULL           -- ms, when Podium saw it
        );
        CREATE INDEX session_costs_file ON session_costs(file_id) WHERE file_id IS NOT NULL;
        """,
    ),
    (
        8,
        """
        -- Ingest counts lines with a number out of range apart from malformed ones, keeps why
        -- a file was not read (a FIFO, a device, unreadable) and a fingerprint of the bytes
        -- before `offset` (a file rewritten in place keeps its inode: it is read again).
        ALTER TABLE files ADD COLUMN out_of_range INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE files ADD COLUMN skipped TEXT;
        ALTER TABLE files ADD COLUMN fingerprint INTEGER;
        """,
    ),
    (
        9,
        """
        -- One Podium process supervises a repository's agents at a time (podium.agents.
        -- ownership): the row is taken in one write transaction, and taken over when its
        -- process is gone (same host: pid + create time; another host: a stale heartbeat).
        CREATE TABLE owners (
            repo         TEXT PRIMARY KEY,   -- the repository's top level, as agents.repo
            pid          INTEGER NOT NULL,
            create_time  REAL NOT NULL,      -- the process's start (epoch s): pids recycle
            host         TEXT NOT NULL,
            token        TEXT NOT NULL,      -- one per AgentManager
            since        REAL NOT NULL,
            heartbeat    REAL NOT NULL
        );
        """,
    ),
    (
        10,
        """
        -- Usage logged through Podium (podium/logUsage, `podium log`, the inbox folder,
        -- podium.track): one row per record. An LLM call's tokens are also an `entries` row
        -- with the same key (adapter 'log'), so totals, budgets, reports and exports count it;
        -- an API call (kind 'api') has no tokens and no entry. Free text is kept redacted.
        CREATE TABLE usage_records (
            id               INTEGER PRIMARY KEY,
            key              TEXT NOT NULL UNIQUE,   -- 'log:<record id>'
            kind             TEXT NOT NULL,          -- llm | api
            ts               INTEGER NOT NULL,       -- ms since epoch, UTC
            via              TEXT NOT NULL,          -- request | cli | inbox | python
            agent            TEXT,
            provider         TEXT,
            model            TEXT,
            task_type        TEXT,
            task_description TEXT,
            session_key      TEXT,
            status           TEXT,
            error_message    TEXT,
            duration_ms      INTEGER,
            service          TEXT,
            endpoint         TEXT,
            status_code      INTEGER,
            file_id          INTEGER                 -- the inbox file it was read from
        );
        CREATE INDEX usage_records_ts ON usage_records(ts);
        """,
    ),
    (
        11,
        f"""
        -- Each agent's status over time, for time working vs waiting (podium.store.status_log):
        -- one row per change, written by triggers on `agents`, so the row's one writer writes
        -- it too. Existing agents start with their current status.
        {SCHEMA_V11}
        """,
    ),
    (
        12,
        f"""
        -- podium/usageHistory and the insights read 15-minute sums per session, cwd, project
        -- and model, and the plan figures per quarter hour, not every row
        -- (podium.store.rollups), kept by triggers like usage_buckets and built here.
        {SCHEMA_V12}
        """,
    ),
]

LATEST_VERSION = MIGRATIONS[-1][0]
