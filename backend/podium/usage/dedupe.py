"""ccusage's dedupe rules, applied in memory in line order, written to the store in bulk.

The rules (ccusage 20.0.24, see docs/pricing.md): every row has a key (message id + request id,
or a fallback); a later row with a kept key replaces the kept one when it is not a sub-agent's
(sidechain) copy while the kept one is, else when it has a larger token total. The replay rule
adds a second match for sidechain rows: a row whose message id + session id match a kept entry
(any kept entry when the new row is a sidechain; a kept sidechain entry otherwise) competes with
that entry, which it deletes if it wins.

`Deduper` holds the outcome of this run's rows as an overlay on the store: `rows` (key → the
winning row), `gone` (keys deleted from the store). Store lookups happen only when the store
held entries before the run, and only for rows the replay rule touches, so a cold load never
queries per row. A row added on the fast path without looking at the store is "unresolved":
`flush` writes it with a conditional upsert that applies the same rule against the stored row,
which gives the same winner as applying the rows one by one (the rule picks a maximum, ties to
the earliest).
"""

from __future__ import annotations

import sqlite3

from podium.usage.models import ENTRY_COLUMNS

_COLUMNS = [c.strip() for c in ENTRY_COLUMNS.split(",")]
KEY, SESSION, CWD, MESSAGE, TOTAL, SIDECHAIN = (
    _COLUMNS.index(c) for c in ("key", "session_id", "cwd", "message_id", "total", "sidechain")
)
_PLACEHOLDERS = ", ".join("?" * len(_COLUMNS))
_REPLACES = (
    "(entries.sidechain = 1 AND excluded.sidechain = 0) OR "
    "(entries.sidechain = excluded.sidechain AND excluded.total > entries.total)"
)
_SET_ALL = ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c != "key")
#: a row decided against the stored one (or known to have none): write as is
UPSERT_ALWAYS = (
    f"INSERT INTO entries ({ENTRY_COLUMNS}) VALUES ({_PLACEHOLDERS}) "
    f"ON CONFLICT(key) DO UPDATE SET {_SET_ALL}"
)
#: a row not yet compared with the stored one: the store applies the rule
UPSERT_IF_BETTER = UPSERT_ALWAYS + f" WHERE {_REPLACES}"
_SELECT_KEY = f"SELECT {ENTRY_COLUMNS} FROM entries WHERE key = ?"
_SELECT_PAIR = f"SELECT {ENTRY_COLUMNS} FROM entries WHERE session_id = ? AND message_id = ?"


def replaces(new: tuple, kept: tuple) -> bool:
    """Does `new` win over the `kept` row with the same key (or replay match)?"""
    side = new[SIDECHAIN]
    if kept[SIDECHAIN] and not side:
        return True
    return side == kept[SIDECHAIN] and new[TOTAL] > kept[TOTAL]


class Deduper:
    """This run's rows, deduplicated against each other and the store (see the module doc)."""

    def __init__(self, conn: sqlite3.Connection, *, few_rows: bool = False) -> None:
        self.conn = conn
        #: False when the store had no entries: nothing to look up there
        self.stored = conn.execute("SELECT 1 FROM entries LIMIT 1").fetchone() is not None
        #: (message id, session id) of kept sidechain entries, in the store and in this run:
        #: rows matching one take the replay rule, all others the fast path. For a few rows
        #: (`few_rows`), asking the store per pair beats loading every pair it holds.
        self._ask_store = self.stored and few_rows
        self.side_pairs: set[tuple[str, str]] = set(
            conn.execute("SELECT message_id, session_id FROM entries WHERE sidechain = 1")
            if self.stored and not few_rows
            else ()
        )
        self._stored_pairs: dict[tuple[str, str], bool] = {}
        self.rows: dict[str, tuple] = {}
        #: keys of `rows` already compared with the store (all are, when it held nothing)
        self.resolved: set[str] = set()
        self.gone: set[str] = set()
        self.dirty: set[str] = set()  # keys of `rows` and `gone` not yet written
        # (session id, message id) → keys in `rows`, for the replay rule's second match
        self._pairs: dict[tuple[str | None, str], str | set[str]] = {}

    # -- adding rows in line order ----------------------------------------------------------------
    def _side_pair(self, pair: tuple[str, str]) -> bool:
        if pair in self.side_pairs:
            return True
        if not self._ask_store:
            return False
        known = self._stored_pairs.get(pair)
        if known is None:
            known = self._stored_pairs[pair] = self.conn.execute(
                "SELECT 1 FROM entries WHERE message_id = ? AND session_id = ? AND sidechain = 1",
                pair,
            ).fetchone() is not None
        return known

    def add(self, row: tuple) -> None:
        message_id, session_id = row[MESSAGE], row[SESSION]
        if message_id and (
            row[SIDECHAIN]
            or (message_id, session_id) in self.side_pairs
            or (self._ask_store and self._side_pair((message_id, session_id)))
        ):
            self._replay(row)
            return
        # the fast path, inlined (this runs once per usage line): most rows are new keys or
        # streaming copies of the last one
        key = row[KEY]
        rows = self.rows
        kept = rows.get(key)
        if kept is None:
            if key in self.gone:  # deleted by a replay earlier in this run: nothing stored
                self.gone.discard(key)
                self.resolved.add(key)
            rows[key] = row
            if message_id:
                pair = (session_id, message_id)
                if pair in self._pairs:
                    self._index(key, pair)
                else:
                    self._pairs[pair] = key
            self.dirty.add(key)
        elif replaces(row, kept):
            self._put(key, row)

    def _replay(self, row: tuple) -> None:
        key, message_id, session_id, side = row[KEY], row[MESSAGE], row[SESSION], row[SIDECHAIN]
        kept_key = key
        kept = self._effective(key)
        if kept is None:
            kept_key, kept = self._pair_match(message_id, session_id, side)
        if kept is None:
            self.resolved.add(key)
            self._put(key, row)
        elif replaces(row, kept):
            if kept_key != key:
                self._delete(kept_key)
            self.resolved.add(key)
            self._put(key, row)
        if side:
            self.side_pairs.add((message_id, session_id))

    # -- the overlay ---------------------------------------------------------------------------
    def _effective(self, key: str) -> tuple | None:
        """The kept row for a key after everything applied so far (store + this run)."""
        row = self.rows.get(key)
        if row is not None:
            if self.stored and key not in self.resolved:
                stored = self.conn.execute(_SELECT_KEY, (key,)).fetchone()
                self.resolved.add(key)
                if stored is not None and not replaces(row, stored):
                    self._put(key, stored)
                    row = stored
            return row
        if key in self.gone or not self.stored:
            return None
        stored = self.conn.execute(_SELECT_KEY, (key,)).fetchone()
        if stored is not None:
            self.resolved.add(key)
            self._put(key, stored, dirty=False)
        return stored

    def _pair_match(self, message_id: str, session_id: str | None,
                    side: int) -> tuple[str | None, tuple | None]:  # fmt: skip
        """The replay rule's match: the kept entry (lowest key, as the store's index order
        gives) with this message id + session id, a sidechain one unless `side`."""
        candidates = self._keys_with((session_id, message_id))
        if self.stored:
            for stored in self.conn.execute(_SELECT_PAIR, (session_id, message_id)):
                key = stored[KEY]
                if key not in self.rows and key not in self.gone:
                    self.resolved.add(key)
                    self._put(key, stored, dirty=False)
                candidates.add(key)
        best_key = best = None
        for key in sorted(candidates):
            row = self._effective(key)
            if row is None or row[SESSION] != session_id or row[MESSAGE] != message_id:
                continue
            if side or row[SIDECHAIN]:
                best_key, best = key, row
                break
        return best_key, best

    def _put(self, key: str, row: tuple, *, dirty: bool = True) -> None:
        old = self.rows.get(key)
        pair = (row[SESSION], row[MESSAGE])
        if old is not None and (old[SESSION], old[MESSAGE]) != pair:
            self._unindex(key, old)
            old = None
        self.rows[key] = row
        if old is None and row[MESSAGE]:
            self._index(key, pair)
        if dirty:
            self.dirty.add(key)

    def _delete(self, key: str) -> None:
        old = self.rows.pop(key, None)
        if old is not None:
            self._unindex(key, old)
        self.resolved.discard(key)
        self.gone.add(key)
        self.dirty.add(key)

    # (session id, message id) → the key holding it, or a set when several do (rare)
    def _index(self, key: str, pair: tuple) -> None:
        held = self._pairs.get(pair)
        if held is None:
            self._pairs[pair] = key
        elif isinstance(held, str):
            if held != key:
                self._pairs[pair] = {held, key}
        else:
            held.add(key)

    def _unindex(self, key: str, row: tuple) -> None:
        pair = (row[SESSION], row[MESSAGE])
        held = self._pairs.get(pair)
        if held == key:
            del self._pairs[pair]
        elif type(held) is set:
            held.discard(key)
            if not held:
                del self._pairs[pair]

    def _keys_with(self, pair: tuple) -> set[str]:
        held = self._pairs.get(pair)
        if held is None:
            return set()
        return {held} if type(held) is str else set(held)

    # -- writing ----------------------------------------------------------------------------------
    def flush(self) -> int:
        """Write what changed since the last flush (in key order, which SQLite's b-tree
        likes); returns the number of rows the store changed."""
        if not self.dirty:
            return 0
        conn = self.conn
        # rowcount: the rows each statement changed itself (total_changes would add the rows
        # the triggers on entries write into the report and history sums)
        changed = 0
        keys = sorted(self.dirty)
        rows, gone = self.rows, self.gone
        deleted = [(k,) for k in keys if k in gone]
        if deleted:  # (rows of this run flushed before, or stored ones)
            changed += _count(conn.executemany("DELETE FROM entries WHERE key = ?", deleted))
        if self.stored:
            resolved = self.resolved
            sure = [rows[k] for k in keys if k in rows and k in resolved]
            unsure = [rows[k] for k in keys if k in rows and k not in resolved]
            changed += _count(conn.executemany(UPSERT_ALWAYS, sure))
            changed += _count(conn.executemany(UPSERT_IF_BETTER, unsure))
        else:
            # nothing was stored when the run began, and every row written so far is in `rows`
            changed += _count(conn.executemany(UPSERT_ALWAYS, [rows[k] for k in keys if k in rows]))
        self.dirty.clear()
        return changed


def _count(cursor: sqlite3.Cursor) -> int:
    """Rows an executemany changed itself (-1, "unknown", counts as none)."""
    return max(cursor.rowcount, 0)
