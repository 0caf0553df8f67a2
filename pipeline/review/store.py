"""The editors' journal: every correction, in order, in ``OUT/review/edits.sqlite``.

Machine artifacts are never rewritten. Each editor action (one save, one find & replace, one
voice reassignment, one undo) is a row in ``actions`` and one or more rows in ``edits``. An edit
names what it changes (``target``: a segment id, a voice, a report section), carries its
``anchor`` (where it was made: segment id, track, time span and the text it replaced, so it can
be placed again after a re-run) and its ``payload`` (the new text, speaker, status, ...).
Undo marks an action's edits ``undone_by``; nothing is deleted, so history shows everything.

Optimistic concurrency: every target has a version, bumped by each change that touches it. A
save names the versions it saw; if another editor got there first the whole action is refused
with ``StaleVersion`` and nothing is written. SQLite in WAL mode with ``synchronous=FULL``: a
committed save survives the server being closed or killed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import PipelineError

JOURNAL = Path("review") / "edits.sqlite"
SCHEMA_VERSION = 1
KINDS = ("text", "translation", "speaker", "voice", "split", "merge", "status", "section_status", "section_text",
         "dismiss")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    editor TEXT NOT NULL,
    label TEXT NOT NULL,
    undo_of INTEGER,            -- this action undid that one
    undone_by INTEGER           -- that action undid this one
);
CREATE TABLE IF NOT EXISTS edits (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    action INTEGER NOT NULL REFERENCES actions(id),
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    anchor TEXT NOT NULL,
    payload TEXT NOT NULL,
    undone_by INTEGER
);
CREATE INDEX IF NOT EXISTS edits_target ON edits(target);
CREATE TABLE IF NOT EXISTS versions (target TEXT PRIMARY KEY, version INTEGER NOT NULL, action INTEGER);
"""


@dataclass(frozen=True)
class Edit:
    id: int
    action: int
    kind: str
    target: str  # "seg:<id>", "voice:<id>", "section:<id>", "edit:<id>"
    anchor: dict
    payload: dict
    editor: str = ""
    created_at: str = ""
    undone_by: int | None = None


@dataclass
class NewEdit:
    kind: str
    target: str
    anchor: dict = field(default_factory=dict)
    payload: dict = field(default_factory=dict)


class StaleVersion(Exception):
    """A save based on an out-of-date version of a segment (another editor saved first)."""

    def __init__(self, target: str, expected: int, current: int, by: str, at: str):
        self.target, self.expected, self.current, self.by, self.at = target, expected, current, by, at
        what = target.split(":", 1)[-1]
        super().__init__(f"{what} was changed by {by or 'another editor'} at {at or 'an earlier time'} "
                         f"(version {current}, your page had version {expected}); nothing was saved: "
                         f"reload the segment and apply your change again")


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class Store:
    """One journal per output folder. Safe to share between threads of one server."""

    def __init__(self, out_dir: Path, create: bool = True):
        self.path = Path(out_dir) / JOURNAL
        if not create and not self.path.exists():
            self._db = None
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        except sqlite3.DatabaseError as e:
            raise PipelineError(f"{self.path}: not a review journal ({e})") from e
        self._lock = threading.RLock()

    @property
    def exists(self) -> bool:
        return self._db is not None

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # -- writing -----------------------------------------------------------------------------

    def record(self, editor: str, label: str, edits: list[NewEdit], expect: dict[str, int] | None = None,
               bump: list[str] | None = None) -> int:
        """Write one action atomically. ``expect``: target -> version the editor saw (checked);
        ``bump``: further targets whose version goes up. Returns the action id."""
        for edit in edits:
            if edit.kind not in KINDS:
                raise ValueError(f"unknown edit kind {edit.kind!r}; kinds are {', '.join(KINDS)}")
        with self._lock, self._transaction() as db:
            for target, seen in (expect or {}).items():
                current, by, at = self._version(db, target)
                if current != seen:
                    raise StaleVersion(target, seen, current, by, at)
            action = db.execute("INSERT INTO actions (created_at, editor, label) VALUES (?, ?, ?)",
                                (_now(), editor, label)).lastrowid
            for edit in edits:
                db.execute("INSERT INTO edits (action, kind, target, anchor, payload) VALUES (?, ?, ?, ?, ?)",
                           (action, edit.kind, edit.target, json.dumps(edit.anchor, ensure_ascii=False),
                            json.dumps(edit.payload, ensure_ascii=False)))
            touched = dict.fromkeys([*(expect or {}), *(e.target for e in edits), *(bump or [])])
            self._bump(db, touched, action)
            return action

    def undo_last(self, editor: str, bump: list[str] | None = None) -> tuple[int, list[Edit]] | None:
        """Undo the latest action not yet undone (by anyone). Returns (action id, its edits)."""
        with self._lock, self._transaction() as db:
            row = db.execute("SELECT id, label FROM actions WHERE undone_by IS NULL AND undo_of IS NULL "
                             "ORDER BY id DESC LIMIT 1").fetchone()
            if row is None:
                return None
            undone = [e for e in self._edits(db, "WHERE e.action = ?", (row[0],))]
            action = db.execute("INSERT INTO actions (created_at, editor, label, undo_of) VALUES (?, ?, ?, ?)",
                                (_now(), editor, f"undo: {row[1]}", row[0])).lastrowid
            db.execute("UPDATE actions SET undone_by = ? WHERE id = ?", (action, row[0]))
            db.execute("UPDATE edits SET undone_by = ? WHERE action = ?", (action, row[0]))
            self._bump(db, dict.fromkeys([*(e.target for e in undone), *(bump or [])]), action)
            return row[0], undone

    def _bump(self, db: sqlite3.Connection, targets, action: int) -> None:
        for target in targets:
            db.execute("INSERT INTO versions (target, version, action) VALUES (?, 1, ?) "
                       "ON CONFLICT(target) DO UPDATE SET version = version + 1, action = excluded.action",
                       (target, action))

    def _transaction(self):
        db = self._db
        if db is None:
            raise PipelineError(f"{self.path}: no review journal")

        class _Tx:
            def __enter__(self_inner):
                db.execute("BEGIN IMMEDIATE")
                return db

            def __exit__(self_inner, kind, value, tb):
                db.execute("COMMIT" if kind is None else "ROLLBACK")
                return False

        return _Tx()

    # -- reading -----------------------------------------------------------------------------

    def _version(self, db, target: str) -> tuple[int, str, str]:
        row = db.execute("SELECT v.version, a.editor, a.created_at FROM versions v LEFT JOIN actions a "
                         "ON a.id = v.action WHERE v.target = ?", (target,)).fetchone()
        return (row[0], row[1] or "", row[2] or "") if row else (0, "", "")

    def version(self, target: str) -> int:
        if self._db is None:
            return 0
        with self._lock:
            return self._version(self._db, target)[0]

    def versions(self) -> dict[str, int]:
        if self._db is None:
            return {}
        with self._lock:
            return dict(self._db.execute("SELECT target, version FROM versions").fetchall())

    def _edits(self, db, where: str = "", params: tuple = ()) -> list[Edit]:
        rows = db.execute("SELECT e.id, e.action, e.kind, e.target, e.anchor, e.payload, a.editor, a.created_at, "
                          f"e.undone_by FROM edits e JOIN actions a ON a.id = e.action {where} ORDER BY e.id",
                          params).fetchall()
        return [Edit(r[0], r[1], r[2], r[3], json.loads(r[4]), json.loads(r[5]), r[6], r[7], r[8]) for r in rows]

    def active_edits(self) -> list[Edit]:
        """Edits in force (not undone), oldest first: the order they are applied in."""
        if self._db is None:
            return []
        with self._lock:
            return self._edits(self._db, "WHERE e.undone_by IS NULL")

    def all_edits(self) -> list[Edit]:
        if self._db is None:
            return []
        with self._lock:
            return self._edits(self._db)

    def edits_since(self, edit_id: int) -> list[Edit]:
        with self._lock:
            return self._edits(self._db, "WHERE e.id > ? AND e.undone_by IS NULL", (edit_id,))

    def actions(self) -> list[dict]:
        if self._db is None:
            return []
        with self._lock:
            rows = self._db.execute("SELECT id, created_at, editor, label, undo_of, undone_by FROM actions "
                                    "ORDER BY id").fetchall()
        return [dict(zip(("id", "created_at", "editor", "label", "undo_of", "undone_by"), r)) for r in rows]

    def state_hash(self) -> str:
        """Changes whenever the edits in force change (the review stage's fingerprint input)."""
        digest = hashlib.sha256()
        for edit in self.active_edits():
            digest.update(json.dumps([edit.id, edit.kind, edit.target, edit.anchor, edit.payload],
                                     sort_keys=True, ensure_ascii=False).encode())
        return digest.hexdigest()


def journal_inputs(out_dir: Path) -> dict[str, str]:
    """For ``Stage.external_inputs``: the hash of the edits in force (none: a fixed value)."""
    store = Store(out_dir, create=False)
    try:
        return {str(JOURNAL): store.state_hash() if store.exists else "no edits"}
    finally:
        store.close()


def review_status(out_dir: Path) -> dict:
    """Counts publishing checks (segments and report sections reviewed or not, open conflicts);
    see ``apply.review_status``."""
    from .apply import review_status as status

    return status(out_dir)


def editor_translations(out_dir: Path) -> dict[str, dict[str, str]]:
    """Editors' translations by reviewed segment id: {id: {"en"|"ja": text}}; see ``apply.editor_translations``."""
    from .apply import editor_translations as translations

    return translations(out_dir)
