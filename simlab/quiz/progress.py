"""Quiz progress in SQLite: sessions, every answer, and the Leitner card of each question.

The database is ``$SIMLAB_HOME/quiz.sqlite3`` (default home: ``platformdirs.user_data_dir
("simlab")``). Every answer is committed as soon as it is given, so an interrupted session keeps
what was answered. A file that is not a readable simlab progress database is never repaired or
deleted here: :class:`ProgressError` names the path and the way to reset it
(``simlab quiz --reset-progress``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from simlab.errors import SimlabError
from simlab.quiz.scheduler import Card, answer

__all__ = ["DB_NAME", "SCHEMA_VERSION", "ProgressError", "ProgressStore", "SessionRow",
           "AnswerRow", "ExamAnswer", "ExamRow", "progress_path", "reset"]

DB_NAME = "quiz.sqlite3"
SCHEMA_VERSION = 2
HOME_ENV = "SIMLAB_HOME"
RESET_HINT = "run `simlab quiz --reset-progress` to start over (deletes it)"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    mode TEXT NOT NULL,
    seed INTEGER,
    filters TEXT NOT NULL DEFAULT '',
    planned INTEGER NOT NULL,
    ended TEXT
);
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    question_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    domain INTEGER NOT NULL,
    chosen TEXT NOT NULL,
    correct INTEGER NOT NULL,
    answered_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS exam_answers (
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    position INTEGER NOT NULL,
    question_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    domain INTEGER NOT NULL,
    chosen TEXT,
    correct INTEGER,
    flagged INTEGER NOT NULL DEFAULT 0,
    changed_at TEXT NOT NULL,
    PRIMARY KEY (session_id, position)
);
CREATE TABLE IF NOT EXISTS exams (
    session_id INTEGER PRIMARY KEY REFERENCES sessions(id),
    finished_at TEXT NOT NULL,
    total INTEGER NOT NULL,
    correct INTEGER NOT NULL,
    scaled INTEGER NOT NULL,
    passed INTEGER NOT NULL,
    per_domain TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cards (
    question_id TEXT PRIMARY KEY,
    box INTEGER NOT NULL,
    due_at TEXT NOT NULL,
    last_correct INTEGER NOT NULL,
    seen INTEGER NOT NULL,
    correct INTEGER NOT NULL,
    last_answered_at TEXT NOT NULL
);
"""
_TABLES = {"sessions", "answers", "cards", "exam_answers", "exams"}
_TABLES_V1 = {"sessions", "answers", "cards"}


class ProgressError(SimlabError):
    """The progress database cannot be used (corrupt, locked, unreadable). One line of text."""

    def __init__(self, path: Path, what: str) -> None:
        self.path = path
        self._say(path, what, message=f"progress database {path}: {what}")


@dataclass(frozen=True)
class SessionRow:
    """One past session with its score."""

    id: int
    started_at: datetime
    mode: str
    planned: int
    answered: int
    correct: int
    ended: str | None


@dataclass(frozen=True)
class AnswerRow:
    """One recorded answer."""

    question_id: str
    topic: str
    domain: int
    correct: bool


@dataclass(frozen=True)
class ExamAnswer:
    """One question of a mock exam as saved: the answer so far (None = blank) and its flag."""

    position: int
    question_id: str
    topic: str
    domain: int
    chosen: str | None
    correct: bool | None
    flagged: bool


@dataclass(frozen=True)
class ExamRow:
    """A finished (scored) mock exam: raw and scaled score, pass, per-domain right/total."""

    session_id: int
    finished_at: datetime
    total: int
    correct: int
    scaled: int
    passed: bool
    per_domain: dict[int, tuple[int, int]]


def progress_path(environ: Mapping[str, str]) -> Path:
    """``$SIMLAB_HOME/quiz.sqlite3``, default home ``platformdirs.user_data_dir("simlab")``."""
    home = environ.get(HOME_ENV)
    if not home:
        import platformdirs

        home = platformdirs.user_data_dir("simlab")
    return Path(home).expanduser() / DB_NAME


def reset(path: Path) -> bool:
    """Delete the progress database (and a leftover journal); False if there was none.

    Raises:
        ProgressError: when the file exists but cannot be deleted.
    """
    found = False
    for p in (path, path.with_name(path.name + "-journal")):
        try:
            p.unlink()
            found = True
        except FileNotFoundError:
            continue
        except OSError as e:
            raise ProgressError(path, f"cannot delete ({e.strerror})") from None
    return found


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="seconds")


def _translate(path: Path, e: sqlite3.Error) -> ProgressError:
    """A one-line, actionable error for an sqlite3 failure."""
    text = str(e)
    if "locked" in text or "busy" in text:
        return ProgressError(path, "is locked by another process (another `simlab quiz`?); "
                                   "finish or close it and try again")
    if isinstance(e, sqlite3.OperationalError) and "unable to open" in text:
        return ProgressError(path, "cannot be opened (check the directory exists and is writable)")
    return ProgressError(path, f"is corrupt or not a simlab progress database ({text}); "
                               f"move it away or {RESET_HINT}")


class ProgressStore:
    """Read and write quiz progress; use :meth:`open` (or the context manager)."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = conn

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def open(cls, path: Path, timeout: float = 1.0) -> ProgressStore:
        """Open (creating if needed) and check the database.

        Raises:
            ProgressError: when the directory cannot be created, or the file is locked, corrupt,
                or another program's database.
        """
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ProgressError(path, f"cannot create its directory ({e.strerror})") from None
        try:
            conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
        except sqlite3.Error as e:
            raise _translate(path, e) from None
        store = cls(path, conn)
        try:
            store._check_and_create()
        except sqlite3.Error as e:
            conn.close()
            raise _translate(path, e) from None
        except ProgressError:
            conn.close()
            raise
        return store

    def _check_and_create(self) -> None:
        c = self._conn
        if c.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise ProgressError(self.path, f"is corrupt (integrity check failed); {RESET_HINT}")
        try:
            c.execute("BEGIN IMMEDIATE")  # fails fast if another process is writing
            version = c.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if (version == 0 and not tables) or (version == 1 and _TABLES_V1 <= tables):
                # new database, or a version-1 one: add the mock-exam tables (IF NOT EXISTS)
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        c.execute(stmt)
                c.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif version != SCHEMA_VERSION or not _TABLES <= tables:
                raise ProgressError(self.path, "is not a simlab quiz progress database "
                                               f"(schema version {version}); move it away or "
                                               f"{RESET_HINT}")
            self._commit()
        except BaseException:
            self._rollback()
            raise

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ProgressStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _commit(self) -> None:
        self._conn.execute("COMMIT")

    def _rollback(self) -> None:
        """Roll back the open transaction, if there is one; never raises.

        An exception (typically Ctrl-C's KeyboardInterrupt) can land after ``COMMIT`` finished, or
        before ``BEGIN`` returned: the connection then has no transaction, and an unconditional
        ``ROLLBACK`` would fail with "no transaction is active" and hide the original exception.
        """
        if self._conn.in_transaction:
            try:
                self._conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the exception being handled says more; sqlite rolls back on close anyway

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One committed transaction; sqlite errors become :class:`ProgressError`.

        Any exception, KeyboardInterrupt included, leaves the database consistent: raised before
        ``COMMIT`` finished, the whole transaction is rolled back; raised after it, the write is
        kept. Either way the original exception propagates unchanged. A transaction left open by
        an earlier interrupted write is rolled back first.
        """
        self._rollback()
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            yield self._conn
            self._commit()
        except sqlite3.Error as e:
            self._rollback()
            raise _translate(self.path, e) from None
        except BaseException:
            self._rollback()
            raise

    @contextmanager
    def _decoding(self) -> Iterator[None]:
        """Rows that do not convert (hand-edited or damaged) become :class:`ProgressError`."""
        try:
            yield
        except (TypeError, ValueError) as e:
            raise ProgressError(self.path, f"contains unreadable data ({e}); move it away or "
                                           f"{RESET_HINT}") from None

    def _read(self, sql: str, params: tuple = ()) -> list[tuple]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as e:
            raise _translate(self.path, e) from None

    # ------------------------------------------------------------------ sessions
    def start_session(self, mode: str, seed: int | None, filters: str, planned: int,
                      now: datetime) -> int:
        """Record the start of a session; returns its id. Raises ProgressError."""
        with self._write() as c:
            cur = c.execute(
                "INSERT INTO sessions (started_at, mode, seed, filters, planned)"
                " VALUES (?,?,?,?,?)",
                (_iso(now), mode, seed, filters, planned))
            return int(cur.lastrowid or 0)

    def finish_session(self, session_id: int, ended: str, now: datetime) -> None:
        """Record how a session ended (done|quit|eof|timeout|interrupted). Raises ProgressError."""
        with self._write() as c:
            c.execute("UPDATE sessions SET finished_at = ?, ended = ? WHERE id = ?",
                      (_iso(now), ended, session_id))

    def record(self, session_id: int, question_id: str, topic: str, domain: int, chosen: str,
               correct: bool, now: datetime) -> Card:
        """Store one answer and move the question's card; returns the new card.

        ``chosen`` is the bank's letter of the chosen option (not the shuffled, displayed one).

        Raises:
            ProgressError: when the database cannot be written.
        """
        card = answer(self.cards(question_id).get(question_id), question_id, correct, now)
        with self._write() as c:
            c.execute(
                "INSERT INTO answers (session_id, question_id, topic, domain, chosen, correct,"
                " answered_at) VALUES (?,?,?,?,?,?,?)",
                (session_id, question_id, topic, domain, chosen, int(correct), _iso(now)))
            c.execute(
                "INSERT OR REPLACE INTO cards (question_id, box, due_at, last_correct, seen,"
                " correct, last_answered_at) VALUES (?,?,?,?,?,?,?)",
                (card.question_id, card.box, _iso(card.due_at), int(card.last_correct),
                 card.seen, card.correct, _iso(now)))
        return card

    # ------------------------------------------------------------------ queries
    def cards(self, question_id: str | None = None) -> dict[str, Card]:
        """Every question's card (or just one), keyed by question id. Raises ProgressError."""
        sql = ("SELECT question_id, box, due_at, last_correct, seen, correct, last_answered_at"
               " FROM cards")
        rows = (self._read(sql + " WHERE question_id = ?", (question_id,)) if question_id
                else self._read(sql))
        with self._decoding():
            return {r[0]: Card(question_id=r[0], box=int(r[1]),
                               due_at=datetime.fromisoformat(r[2]), last_correct=bool(r[3]),
                               seen=int(r[4]), correct=int(r[5]),
                               last_answered_at=datetime.fromisoformat(r[6]))
                    for r in rows}

    def sessions(self) -> list[SessionRow]:
        """All sessions, oldest first, with their answer counts. Raises ProgressError."""
        rows = self._read(
            "SELECT s.id, s.started_at, s.mode, s.planned, COUNT(a.id),"
            " COALESCE(SUM(a.correct), 0), s.ended"
            " FROM sessions s LEFT JOIN answers a ON a.session_id = s.id"
            " GROUP BY s.id ORDER BY s.id")
        with self._decoding():
            return [SessionRow(id=int(r[0]), started_at=datetime.fromisoformat(r[1]), mode=r[2],
                               planned=int(r[3]), answered=int(r[4]), correct=int(r[5]),
                               ended=r[6]) for r in rows]

    def session_answers(self, session_id: int) -> list[tuple[str, str]]:
        """``(question_id, chosen)`` of every answer saved in one session, in the order given.

        ``chosen`` is the bank's (canonical) letter of the chosen option. Raises ProgressError.
        """
        rows = self._read("SELECT question_id, chosen FROM answers WHERE session_id = ?"
                          " ORDER BY id", (session_id,))
        return [(str(r[0]), str(r[1])) for r in rows]

    def answers(self) -> list[AnswerRow]:
        """Every recorded answer, oldest first. Raises ProgressError."""
        rows = self._read("SELECT question_id, topic, domain, correct FROM answers ORDER BY id")
        with self._decoding():
            return [AnswerRow(r[0], r[1], int(r[2]), bool(r[3])) for r in rows]

    # ------------------------------------------------------------------ mock exams
    def start_exam(self, session_id: int, questions: list[tuple[str, str, int]],
                   now: datetime) -> None:
        """Save the drawn questions ``(id, topic, domain)`` of a mock exam, all blank.

        Raises:
            ProgressError: when the database cannot be written.
        """
        with self._write() as c:
            c.executemany(
                "INSERT INTO exam_answers (session_id, position, question_id, topic, domain,"
                " changed_at) VALUES (?,?,?,?,?,?)",
                [(session_id, i, qid, topic, domain, _iso(now))
                 for i, (qid, topic, domain) in enumerate(questions)])

    def save_exam_answer(self, session_id: int, position: int, chosen: str | None,
                         correct: bool | None, flagged: bool, now: datetime) -> None:
        """Save one exam question's current answer and flag (committed at once).

        Raises:
            ProgressError: when the database cannot be written.
        """
        with self._write() as c:
            c.execute("UPDATE exam_answers SET chosen = ?, correct = ?, flagged = ?, changed_at = ?"
                      " WHERE session_id = ? AND position = ?",
                      (chosen, None if correct is None else int(correct), int(flagged),
                       _iso(now), session_id, position))

    def exam_answers(self, session_id: int) -> list[ExamAnswer]:
        """The saved state of every question of one mock exam, in exam order.

        Raises:
            ProgressError: when the database cannot be read.
        """
        rows = self._read("SELECT position, question_id, topic, domain, chosen, correct, flagged"
                          " FROM exam_answers WHERE session_id = ? ORDER BY position",
                          (session_id,))
        with self._decoding():
            return [ExamAnswer(int(r[0]), str(r[1]), str(r[2]), int(r[3]), r[4],
                               None if r[5] is None else bool(r[5]), bool(r[6])) for r in rows]

    def finish_exam(self, row: ExamRow) -> None:
        """Save a scored mock exam. Raises ProgressError."""
        import json

        per_domain = json.dumps({str(d): list(v) for d, v in sorted(row.per_domain.items())})
        with self._write() as c:
            c.execute("INSERT OR REPLACE INTO exams (session_id, finished_at, total, correct,"
                      " scaled, passed, per_domain) VALUES (?,?,?,?,?,?,?)",
                      (row.session_id, _iso(row.finished_at), row.total, row.correct, row.scaled,
                       int(row.passed), per_domain))

    def exams(self) -> list[ExamRow]:
        """Every scored mock exam, oldest first. Raises ProgressError."""
        import json

        rows = self._read("SELECT session_id, finished_at, total, correct, scaled, passed,"
                          " per_domain FROM exams ORDER BY session_id")
        with self._decoding():
            return [ExamRow(int(r[0]), datetime.fromisoformat(r[1]), int(r[2]), int(r[3]),
                            int(r[4]), bool(r[5]),
                            {int(d): (int(v[0]), int(v[1])) for d, v in json.loads(r[6]).items()})
                    for r in rows]
