"""The results database of `bench run`: one SQLite file per results folder.

Every finished idea is committed at once, so a crash or a kill loses nothing finished, and a
rerun skips what is done. Only the coordinating process writes (workers return results), which
keeps SQLite's single-writer rule trivially true even with a Ray cluster.

Tables (see SCHEMA): `runs` (one per model × template × seed, with the number of ideas asked
for, so a run that crashed before producing ideas still counts), `ideas` (one row per idea:
novelty, experiments, compile, validity, review, cost, time, incidents), `stages` (per idea and
pipeline stage: status, seconds, tokens, cost) and `checks` (per idea and validity check).
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Iterator

SCHEMA_VERSION = 1
DB_NAME = "results.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS runs (
    run_id        TEXT PRIMARY KEY,           -- model|template|seed
    model         TEXT NOT NULL,
    template      TEXT NOT NULL,
    seed          INTEGER NOT NULL,
    n_ideas       INTEGER NOT NULL,           -- ideas asked for
    status        TEXT NOT NULL,              -- pending | running | done | failed | infra_error
    error         TEXT,
    out_dir       TEXT,
    config_json   TEXT,
    panel_key     TEXT,                       -- the reviewer panel (benchmark.panel): one per board
    ideas_tokens  INTEGER,                    -- idea generation (shared by the run's ideas)
    ideas_cost_usd REAL,
    ideas_seconds REAL,
    started_at    REAL,
    finished_at   REAL
);
CREATE TABLE IF NOT EXISTS ideas (
    run_id             TEXT NOT NULL REFERENCES runs(run_id),
    idea_name          TEXT NOT NULL,
    position           INTEGER NOT NULL,
    title              TEXT,
    idea_json          TEXT,                  -- the Idea, to resume without regenerating
    status             TEXT NOT NULL,         -- pending | running | done | error | infra_error
    novel              INTEGER,               -- NULL: novelty not checked
    experiments_passed INTEGER,
    n_runs_ok          INTEGER,
    paper_compiled     INTEGER,
    paper_valid        INTEGER,
    validity_summary   TEXT,
    overall            REAL,
    p_accept           REAL,
    decision           TEXT,
    review_json        TEXT,
    tokens             INTEGER,
    cost_usd           REAL,
    wall_time_s        REAL,
    n_incidents        INTEGER,
    incidents_json     TEXT,
    infra_error        TEXT,                  -- a stage failed for the infrastructure: not counted, retried
    gpus               TEXT,                  -- GPU indexes the idea's sandboxed runs saw ("" none)
    host               TEXT,                  -- the machine the idea ran on
    idea_dir           TEXT,
    pdf_path           TEXT,
    error              TEXT,
    started_at         REAL,
    finished_at        REAL,
    PRIMARY KEY (run_id, idea_name)
);
CREATE TABLE IF NOT EXISTS stages (
    run_id    TEXT NOT NULL,
    idea_name TEXT NOT NULL,
    stage     TEXT NOT NULL,
    status    TEXT NOT NULL,                  -- ok | failed | skipped | abandoned
    seconds   REAL,
    tokens    INTEGER,
    cost_usd  REAL,
    error     TEXT,
    PRIMARY KEY (run_id, idea_name, stage)
);
CREATE TABLE IF NOT EXISTS checks (
    run_id     TEXT NOT NULL,
    idea_name  TEXT NOT NULL,
    check_name TEXT NOT NULL,
    passed     INTEGER NOT NULL,
    reason     TEXT,
    PRIMARY KEY (run_id, idea_name, check_name)
);
"""


# (table, column, type) added after a database may have been created without them
_ADDED_COLUMNS = [("runs", "ideas_seconds", "REAL"), ("runs", "panel_key", "TEXT"), ("ideas", "infra_error", "TEXT"),
                  ("ideas", "gpus", "TEXT"), ("ideas", "host", "TEXT")]


class PanelMismatch(ValueError):
    """A rerun asked for another reviewer panel than the one that reviewed the recorded ideas."""


def run_id(model: str, template: str, seed: int) -> str:
    return f"{model}|{template}|{seed}"


def _bool(v: Any) -> int | None:
    return None if v is None else int(bool(v))


class ResultsDB:
    """Thread-safe wrapper around one SQLite file (WAL journal, one connection, one lock)."""

    def __init__(self, path: Path) -> None:
        path = Path(path)
        if path.is_dir() or not path.suffix:
            path = path / DB_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
        self._conn.row_factory = sqlite3.Row
        with self._lock, self._conn:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.executescript(SCHEMA)
            self._migrate()
            self._conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    def _migrate(self) -> None:
        """Add columns that later versions of SCHEMA introduced to an older database."""
        for table, column, kind in _ADDED_COLUMNS:
            have = {r[1] for r in self._conn.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> "ResultsDB":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, sql: str, params: tuple | dict = ()) -> None:
        with self._lock, self._conn:
            self._conn.execute(sql, params)

    def query(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._conn.execute(sql, params))

    # ---- runs --------------------------------------------------------------------------
    def ensure_run(self, model: str, template: str, seed: int, n_ideas: int, out_dir: Path,
                   config: dict[str, Any], panel_key: str | None = None) -> str:
        """Register a run (idempotent): a planned run that never starts still counts as failed.
        A rerun must keep the reviewer panel of the ideas already reviewed (PanelMismatch)."""
        rid = run_id(model, template, seed)
        recorded = self.query("SELECT panel_key FROM runs WHERE run_id = ?", (rid,))
        if recorded and recorded[0][0] and panel_key and recorded[0][0] != panel_key and any(
                i["status"] == "done" for i in self.ideas(rid)):
            raise PanelMismatch(f"{self.path}: run {rid} was reviewed by another reviewer panel; "
                                "rerun with the same --reviewer/--calibrator options, or use another --out")
        self._write(
            "INSERT INTO runs (run_id, model, template, seed, n_ideas, status, out_dir, config_json, panel_key) "
            "VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?) ON CONFLICT(run_id) DO UPDATE SET "
            "n_ideas = MAX(n_ideas, excluded.n_ideas), out_dir = excluded.out_dir, config_json = excluded.config_json, "
            "panel_key = excluded.panel_key",
            (rid, model, template, seed, n_ideas, str(out_dir), json.dumps(config, default=str), panel_key),
        )
        return rid

    def set_run_status(self, rid: str, status: str, error: str | None = None, keep_error: bool = False) -> None:
        now = time.time()
        self._write(
            "UPDATE runs SET status = ?, error = " + ("COALESCE(?, error)" if keep_error else "?") + ", "
            "started_at = COALESCE(started_at, ?), finished_at = CASE WHEN ? IN ('done', 'failed', 'infra_error') THEN ? END "
            "WHERE run_id = ?", (status, error, now, status, now, rid),
        )

    def set_run_error(self, rid: str, error: str) -> None:
        """A note on a run that still counts as done (e.g. the model produced fewer ideas)."""
        self._write("UPDATE runs SET error = ? WHERE run_id = ?", (error, rid))

    def set_run_ideas_usage(self, rid: str, tokens: int | None, cost_usd: float | None,
                            seconds: float | None = None) -> None:
        self._write("UPDATE runs SET ideas_tokens = ?, ideas_cost_usd = ?, ideas_seconds = ? WHERE run_id = ?",
                    (tokens, cost_usd, seconds, rid))

    def runs(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.query("SELECT * FROM runs ORDER BY model, template, seed")]

    # ---- ideas -------------------------------------------------------------------------
    def add_ideas(self, rid: str, ideas: list[dict[str, Any]]) -> None:
        """Record generated ideas as pending (names already recorded keep their state)."""
        with self._lock, self._conn:
            for pos, idea in enumerate(ideas):
                self._conn.execute(
                    "INSERT OR IGNORE INTO ideas (run_id, idea_name, position, title, idea_json, status) "
                    "VALUES (?, ?, ?, ?, ?, 'pending')",
                    (rid, idea["name"], pos, idea.get("title"), json.dumps(idea, default=str)),
                )

    def ideas(self, rid: str | None = None) -> list[dict[str, Any]]:
        if rid is None:
            rows = self.query("SELECT * FROM ideas ORDER BY run_id, position")
        else:
            rows = self.query("SELECT * FROM ideas WHERE run_id = ? ORDER BY position", (rid,))
        return [dict(r) for r in rows]

    def pending_ideas(self, rid: str) -> list[dict[str, Any]]:
        """Ideas not finished: pending, interrupted while running, crashed, or stopped by an
        infrastructure failure (all retried)."""
        return [i for i in self.ideas(rid) if i["status"] != "done"]

    def mark_running(self, rid: str, idea_name: str) -> None:
        self._write("UPDATE ideas SET status = 'running', started_at = ? WHERE run_id = ? AND idea_name = ?",
                    (time.time(), rid, idea_name))

    def record_error(self, rid: str, idea_name: str, error: str) -> None:
        """The idea's task itself crashed (not a model failure, which the pipeline records)."""
        self._write("UPDATE ideas SET status = 'error', error = ?, finished_at = ? WHERE run_id = ? AND idea_name = ?",
                    (error, time.time(), rid, idea_name))

    def record_infra_error(self, rid: str, idea_name: str, error: str) -> None:
        """The idea's task was stopped by the infrastructure (its worker or node lost, its results
        not shipped back): not counted against the model, retried by a rerun."""
        self._write("UPDATE ideas SET status = 'infra_error', infra_error = ?, error = NULL, finished_at = ? "
                    "WHERE run_id = ? AND idea_name = ?", (error, time.time(), rid, idea_name))

    def record_placement(self, rid: str, idea_name: str, gpus: list[int], host: str | None) -> None:
        """Where the idea ran: which GPUs its sandboxed runs saw, on which machine."""
        self._write("UPDATE ideas SET gpus = ?, host = ? WHERE run_id = ? AND idea_name = ?",
                    (",".join(map(str, gpus)), host, rid, idea_name))

    def record_outcome(self, rid: str, outcome: dict[str, Any], validity: dict[str, Any] | None) -> None:
        """Store a finished idea, its stages and its validity checks in one transaction."""
        name = outcome["idea_name"]
        stages = outcome.get("stages") or {}
        review = outcome.get("review") or None
        incidents = outcome.get("incidents") or []
        tokens = sum(int((s or {}).get("tokens") or 0) for s in stages.values())
        decision = review.get("decision") if isinstance(review, dict) else None
        row = {
            "run_id": rid, "idea_name": name, "title": outcome.get("title"),
            "novel": _bool(outcome.get("novel")),
            "experiments_passed": _bool(outcome.get("experiments_passed")),
            "n_runs_ok": outcome.get("n_runs_ok"),
            "paper_compiled": _bool(outcome.get("paper_compiled")),
            "paper_valid": _bool(validity["valid"]) if validity else 0,
            "validity_summary": _validity_summary(validity),
            "overall": outcome.get("overall"), "p_accept": outcome.get("p_accept"),
            "decision": decision if isinstance(decision, str) else None,
            "review_json": json.dumps(review, default=str) if review is not None else None,
            "tokens": tokens, "cost_usd": outcome.get("cost_usd"),
            "wall_time_s": outcome.get("wall_time_s"),
            "n_incidents": len(incidents), "incidents_json": json.dumps(incidents, default=str),
            "idea_dir": outcome.get("idea_dir"), "pdf_path": outcome.get("pdf_path"),
            "infra_error": outcome.get("infra_error"), "finished_at": time.time(),
        }
        status = "infra_error" if outcome.get("infra_error") else "done"
        with self._lock, self._conn:
            cur = self._conn.execute(
                f"UPDATE ideas SET status = '{status}', error = NULL, " + ", ".join(f"{k} = :{k}" for k in row
                                                                            if k not in ("run_id", "idea_name"))
                + " WHERE run_id = :run_id AND idea_name = :idea_name", row)
            if cur.rowcount == 0:  # an idea the run did not announce (renamed by the pipeline)
                pos = self._conn.execute("SELECT COUNT(*) FROM ideas WHERE run_id = ?", (rid,)).fetchone()[0]
                self._conn.execute(
                    "INSERT INTO ideas (status, position, " + ", ".join(row) + f") VALUES ('{status}', :position, "
                    + ", ".join(f":{k}" for k in row) + ")", {**row, "position": pos})
            self._conn.execute("DELETE FROM stages WHERE run_id = ? AND idea_name = ?", (rid, name))
            for stage, s in stages.items():
                s = s or {}
                self._conn.execute(
                    "INSERT INTO stages VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (rid, name, stage, s.get("status", "ok"), s.get("seconds"), s.get("tokens"),
                     s.get("cost_usd"), s.get("error")),
                )
            self._conn.execute("DELETE FROM checks WHERE run_id = ? AND idea_name = ?", (rid, name))
            for c in (validity or {}).get("checks", []):
                self._conn.execute("INSERT INTO checks VALUES (?, ?, ?, ?, ?)",
                                   (rid, name, c["name"], int(c["passed"]), c.get("reason")))

    def checks(self, rid: str, idea_name: str) -> list[dict[str, Any]]:
        return [dict(r) for r in self.query(
            "SELECT check_name, passed, reason FROM checks WHERE run_id = ? AND idea_name = ? ORDER BY rowid",
            (rid, idea_name))]

    def stages(self, rid: str, idea_name: str) -> list[dict[str, Any]]:
        return [dict(r) for r in self.query(
            "SELECT * FROM stages WHERE run_id = ? AND idea_name = ? ORDER BY rowid", (rid, idea_name))]


def _validity_summary(validity: dict[str, Any] | None) -> str:
    if not validity:
        return "not checked"
    failures = [c for c in validity.get("checks", []) if not c["passed"]]
    return "valid" if not failures else "; ".join(f"{c['name']}: {c.get('reason', '')}" for c in failures)


def find_databases(paths: list[Path]) -> Iterator[Path]:
    """results.sqlite files in the given folders (or the files themselves), one level deep too."""
    for p in paths:
        p = Path(p)
        if p.is_file():
            yield p
        elif (p / DB_NAME).is_file():
            yield p / DB_NAME
        elif p.is_dir():
            yield from sorted(p.glob(f"*/{DB_NAME}"))
