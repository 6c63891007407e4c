"""PostgreSQL server-side capture (--db-url): every statement the service runs, read from the server log.

For the length of the profiling only: ``ALTER SYSTEM SET log_min_duration_statement = 0`` and a
log_line_prefix that carries pid, session, application and database, then ``pg_reload_conf()`` — no
restart, and it reaches the service's already-open pooled connections (ALTER DATABASE/ROLE would only
reach new sessions). The log is found with pg_current_logfile() (logging collector), --db-log, or the
usual places on this host, and confirmed by a probe statement. Each request is bracketed by marker
statements from the auditor's own session; that session's statements are otherwise ignored.

Every setting is restored afterwards — also on error, Ctrl-C / deadline (the check's stop watcher calls
close() at once) and interpreter exit (atexit) — to exactly what postgresql.auto.conf held before: the
same value if ALTER SYSTEM had set one, RESET otherwise. A session advisory lock keeps two audits from
capturing on one server at once (the second would save the first one's settings as "original"). If an
audit was killed (SIGKILL) mid-capture, the next one recognises its log_line_prefix and resets it.
"""

from __future__ import annotations

import atexit
import glob
import os
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from checks.nplusone import formats
from checks.nplusone.formats.postgres_stderr import PostgresStderr
from checks.nplusone.model import Statement, StatementStats
from checks.nplusone.sources.interface import Capture, SourceUnavailable, SqlSource

APPLICATION = "backend-auditor-nplusone"
MARK = "audit=npq"   # literal text in our log_line_prefix: how a leftover of a killed audit is recognised
PREFIX = f"%m [%p] session=%c app=%a db=%d {MARK} "
SETTINGS = {"log_min_duration_statement": "0", "log_line_prefix": PREFIX}
LOCK_KEY = 0x6E706C75   # pg_advisory_lock key shared by every audit ("nplu")
LOCK_WAIT_S = 30.0
PROBE_WAIT_S = 5.0
MAX_READ_BYTES = 256 << 20
POLL_S = 0.02
CONNECT_TIMEOUT_S = 5
NEEDED = ("superuser, or GRANT ALTER SYSTEM ON PARAMETER log_min_duration_statement, log_line_prefix; "
          "SELECT ON pg_file_settings; EXECUTE ON FUNCTION pg_show_all_file_settings(), pg_reload_conf()")


def _conninfo(db_url: str) -> str:
    """psycopg takes postgresql:// URLs; SQLAlchemy-style ones (postgresql+psycopg://) lose their driver."""
    scheme, sep, rest = db_url.partition("://")
    return f"{scheme.split('+')[0]}{sep}{rest}"


class PostgresLiveSource(SqlSource):
    name = "postgres"

    def __init__(self, db_url: str, *, db_log: str | Path | None = None, settle_s: float = 1.0,
                 should_stop: Callable[[], bool] = lambda: False) -> None:
        super().__init__()
        self.db_url = db_url
        self.db_log = Path(db_log) if db_log else None
        self.settle_s = max(settle_s, 2.0)
        self.should_stop = should_stop
        self.format_name = PostgresStderr.name
        self.log_path: Path | None = None
        self.database = ""
        self.original: dict[str, str | None] = {}   # postgresql.auto.conf value before, None: not set there
        self.restored = False
        self._conn = None
        self._changed = False
        self._locked = False
        self._lock = threading.Lock()
        self._pos = 0
        self._inode: int | None = None
        self._nonce = uuid.uuid4().hex[:8]
        self.stat_statements = False   # pg_stat_statements loaded and created in this database
        self._before: dict[int, tuple[int, int, str]] = {}

    @property
    def description(self) -> str:
        where = self.log_path or "the server log"
        return (f"the PostgreSQL server log {where} (database {self.database or '?'}, "
                "log_min_duration_statement = 0 for the audit only)")

    # --------------------------------------------------------------------------------------------------
    def open(self) -> None:
        import psycopg

        try:
            self._conn = psycopg.connect(_conninfo(self.db_url), autocommit=True, connect_timeout=CONNECT_TIMEOUT_S,
                                         application_name=APPLICATION)
        except psycopg.Error as exc:
            raise SourceUnavailable(f"--db-url: cannot connect: {_first_line(exc)}") from None
        try:
            self._open()
        except BaseException:
            self.close()
            raise

    def _open(self) -> None:
        import psycopg

        self.database = self._one("SELECT current_database()") or ""
        self._check_privileges()
        candidates = self._log_candidates()
        if not candidates:
            raise SourceUnavailable("--db-url: cannot find a readable server log on this host (logging collector "
                                    "off and no log under /var/log/postgresql); give --db-log PATH")
        self._take_lock()
        try:
            if MARK in (self._one("SHOW log_line_prefix") or ""):
                # Left by an audit that was killed mid-capture: back to the configuration files' values.
                self.problems.append("log settings left behind by an interrupted audit were reset")
                self._execute("ALTER SYSTEM RESET log_line_prefix")
                self._execute("ALTER SYSTEM RESET log_min_duration_statement")
                self._execute("SELECT pg_reload_conf()")
            rows = self._conn.execute(
                "SELECT name, setting FROM pg_file_settings WHERE name = ANY(%s) AND sourcefile LIKE "
                "'%%postgresql.auto.conf' ORDER BY seqno", [list(SETTINGS)]).fetchall()
        except psycopg.errors.InsufficientPrivilege as exc:
            # Only if the server's grants differ from what _check_privileges asked (nothing of ours changed yet).
            raise SourceUnavailable(f"--db-url: {_first_line(exc)} ({NEEDED})") from None
        self.original = {name: None for name in SETTINGS}
        for name, setting in rows:
            self.original[name] = setting
        sizes = {path: _size(path) for path in candidates}
        try:
            self._changed = True   # from here on close() restores, whatever happens next
            atexit.register(self.close)
            for name, value in SETTINGS.items():
                self._alter(name, value)
            self._execute("SELECT pg_reload_conf()")
        except psycopg.errors.InsufficientPrivilege:
            raise SourceUnavailable(f"--db-url: ALTER SYSTEM or pg_reload_conf() refused ({NEEDED})") from None
        self.log_path = self._confirm_log(sizes)
        self._inode = _inode(self.log_path)
        # Only where it is already there: loading it needs shared_preload_libraries and a restart.
        self.stat_statements = bool(self._one(
            "SELECT current_setting('shared_preload_libraries') ~ 'pg_stat_statements' AND EXISTS "
            "(SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements')", default=False))

    def _check_privileges(self) -> None:
        """Everything the capture needs, asked before any setting changes: a refusal half-way (ALTER SYSTEM
        done, pg_reload_conf refused) would leave settings to restore with the same missing privilege."""
        if self._one("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"):
            return
        checks = {   # has_parameter_privilege is PostgreSQL 15+; older servers answer False (superuser only)
            "GRANT ALTER SYSTEM ON PARAMETER log_min_duration_statement, log_line_prefix":
                "SELECT has_parameter_privilege('log_min_duration_statement', 'ALTER SYSTEM') AND "
                "has_parameter_privilege('log_line_prefix', 'ALTER SYSTEM')",
            # pg_file_settings: what postgresql.auto.conf held before. Superuser only by default;
            # pg_read_all_settings does not cover it.
            "GRANT SELECT ON pg_file_settings, EXECUTE ON FUNCTION pg_show_all_file_settings()":
                "SELECT has_table_privilege('pg_catalog.pg_file_settings', 'SELECT') AND "
                "has_function_privilege('pg_catalog.pg_show_all_file_settings()', 'EXECUTE')",
            "GRANT EXECUTE ON FUNCTION pg_reload_conf()":
                "SELECT has_function_privilege('pg_catalog.pg_reload_conf()', 'EXECUTE')",
        }
        missing = [what for what, query in checks.items() if not self._one(query, default=False)]
        if missing:
            raise SourceUnavailable(f"--db-url: this user may not change logging (superuser or {'; '.join(missing)} "
                                    "needed); or give --sql-log with the service's SQL log")

    def _log_candidates(self) -> list[Path]:
        if self.db_log:
            if not os.access(self.db_log, os.R_OK):
                raise SourceUnavailable(f"--db-log {self.db_log}: not readable")
            return [self.db_log]
        found: list[Path] = []
        current = self._one("SELECT pg_current_logfile('stderr')", default=None)
        data_dir = self._one("SHOW data_directory", default=None)
        if current:
            path = Path(current) if os.path.isabs(current) else Path(data_dir or "") / current
            found.append(path)
        host = urlsplit(_conninfo(self.db_url)).hostname or ""
        if host not in ("", "localhost", "127.0.0.1", "::1") and not host.startswith("/") and not found:
            raise SourceUnavailable(f"--db-url: the server log of {host} is not on this host; give --db-log PATH")
        version = int(self._one("SHOW server_version_num", default="0") or 0) // 10000
        patterns = [f"/var/log/postgresql/postgresql-{version}-*.log", "/var/log/postgresql/*.log",
                    "/var/lib/pgsql/data/log/*.log", "/var/lib/pgsql/*/data/log/*.log"]
        if data_dir:
            patterns.insert(0, str(Path(data_dir) / "log" / "*.log"))
        for pattern in patterns:
            matches = sorted(glob.glob(pattern), key=lambda p: _mtime(Path(p)), reverse=True)
            found.extend(Path(p) for p in matches[:3])
        unique = list(dict.fromkeys(found))
        return [p for p in unique if p.is_file() and os.access(p, os.R_OK)]

    def _confirm_log(self, sizes: dict[Path, int]) -> Path:
        """The candidate that receives our probe statement (the server writes where it writes)."""
        probe = f"backend-auditor-nplusone:probe:{self._nonce}"
        deadline = time.monotonic() + PROBE_WAIT_S
        while time.monotonic() < deadline and not self.should_stop():
            self._execute(f"SELECT '{probe}'")
            for path, start in sizes.items():
                if probe in _read(path, start)[0]:
                    self._pos = _size(path)
                    return path
            time.sleep(0.1)
        tried = ", ".join(str(p) for p in sizes) or "none"
        raise SourceUnavailable(f"--db-url: statements do not reach a readable server log (tried {tried}); give "
                                "--db-log PATH")

    def _take_lock(self) -> None:
        deadline = time.monotonic() + LOCK_WAIT_S
        while not self._one("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY], default=False):
            if time.monotonic() > deadline or self.should_stop():
                raise SourceUnavailable("--db-url: another audit is capturing SQL on this server; try again later")
            time.sleep(0.2)
        self._locked = True

    # --------------------------------------------------------------------------------------------------
    def begin(self, request_id: str) -> None:
        if self._conn is None:   # closed by the stop watcher: nothing is captured any more
            return
        if self.stat_statements:
            self._before = self._snapshot()
        self._mark("begin", request_id)

    def end(self, request_id: str) -> Capture:
        if self._conn is None:
            return Capture([], exact=False)
        end_marker = self._mark("end", request_id)
        if not end_marker:
            return Capture([], exact=False)
        begin_marker = f"backend-auditor-nplusone:begin:{request_id}"
        text = self._read_until(end_marker)
        statements, unparsed = formats.parse(text.splitlines(), PostgresStderr)
        self.unparsed_lines += unparsed
        inside: list[Statement] = []
        started = False
        for statement in statements:
            if statement.application == APPLICATION:
                if begin_marker in statement.sql:
                    started, inside = True, []
                elif end_marker in statement.sql:
                    break
                continue
            if started and statement.database == self.database:
                inside.append(statement)
        if not started:
            self.problems.append(f"the server log lost the bracket of request {request_id}")
        stats = stat_deltas(self._before, self._snapshot()) if self.stat_statements else []
        return Capture(inside, exact=False, stats=stats)

    def _mark(self, what: str, request_id: str) -> str:
        """Run a marker statement on our session; "" when the capture was closed meanwhile (stop)."""
        import psycopg

        marker = f"backend-auditor-nplusone:{what}:{request_id}"
        safe = "".join(ch for ch in marker if ch.isalnum() or ch in "-_:.")
        conn = self._conn
        if conn is None:
            return ""
        try:
            conn.execute(f"SELECT '{safe}'")  # type: ignore[arg-type] — sanitised above
        except psycopg.Error as exc:
            if self._conn is None or self.restored:
                return ""
            raise SourceUnavailable(f"--db-url: the database connection failed during the capture: "
                                    f"{_first_line(exc)}") from None
        return safe

    def _snapshot(self) -> dict[int, tuple[int, int, str]]:
        import psycopg

        conn = self._conn
        if conn is None:
            return {}
        try:
            rows = conn.execute(
                "SELECT queryid, calls, rows, query FROM pg_stat_statements WHERE dbid = "
                "(SELECT oid FROM pg_database WHERE datname = current_database()) AND queryid IS NOT NULL").fetchall()
        except psycopg.Error as exc:
            self.stat_statements = False
            self.problems.append(f"pg_stat_statements could not be read: {_first_line(exc)}")
            return {}
        return {int(r[0]): (int(r[1]), int(r[2]), str(r[3])) for r in rows}

    def _read_until(self, marker: str) -> str:
        """New log text up to the line holding ``marker`` (the server writes it once the marker ran)."""
        assert self.log_path is not None
        deadline = time.monotonic() + self.settle_s
        text = ""
        while True:
            inode = _inode(self.log_path)
            if inode != self._inode or _size(self.log_path) < self._pos:
                self.problems.append(f"{self.log_path} was rotated during the audit")
                self._inode, self._pos = inode, 0
            chunk, new_pos = _read(self.log_path, self._pos)
            text += chunk
            self._pos = new_pos
            if marker in text or time.monotonic() > deadline or self.should_stop():
                return text
            time.sleep(POLL_S)

    # --------------------------------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            if self._changed and not self.restored:
                self._restore()
            if self._conn is not None:
                if self._locked:
                    try:
                        self._conn.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
                    except Exception:  # noqa: BLE001 — closing the session releases it anyway
                        pass
                    self._locked = False
                try:
                    self._conn.close()
                except Exception:  # noqa: BLE001
                    pass
                self._conn = None
        try:
            atexit.unregister(self.close)
        except Exception:  # noqa: BLE001
            pass

    def _restore(self) -> None:
        """Back to what postgresql.auto.conf held. On our session if it still works, else on a new one."""
        import psycopg

        for attempt in range(2):
            try:
                if attempt == 1 or self._conn is None or self._conn.closed:
                    self._conn = psycopg.connect(_conninfo(self.db_url), autocommit=True,
                                                 connect_timeout=CONNECT_TIMEOUT_S, application_name=APPLICATION)
                for name in SETTINGS:
                    if self.original.get(name) is None:
                        self._execute(f"ALTER SYSTEM RESET {name}")
                    else:
                        self._alter(name, self.original[name] or "")
                self._execute("SELECT pg_reload_conf()")
                self.restored = True
                return
            except psycopg.Error as exc:
                error = _first_line(exc)
        self.problems.append(f"could not restore the server's log settings: {error}; run ALTER SYSTEM RESET "
                             "log_min_duration_statement; ALTER SYSTEM RESET log_line_prefix; SELECT pg_reload_conf()")

    # --------------------------------------------------------------------------------------------------
    def _alter(self, name: str, value: str) -> None:
        from psycopg import sql

        assert self._conn is not None
        self._conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value)))

    def _execute(self, query: str) -> None:
        assert self._conn is not None
        self._conn.execute(query)  # type: ignore[arg-type] — our own constant text, markers sanitised

    def _one(self, query: str, params: list[object] | None = None, default: object = None) -> object:
        import psycopg

        assert self._conn is not None
        try:
            row = self._conn.execute(query, params).fetchone()  # type: ignore[arg-type]
        except psycopg.errors.InsufficientPrivilege:
            return default
        except psycopg.Error:
            if default is None:
                raise
            return default
        return row[0] if row else default


def stat_deltas(before: dict[int, tuple[int, int, str]], after: dict[int, tuple[int, int, str]]
                ) -> list[StatementStats]:
    """Calls and rows each normalised statement gained between two pg_stat_statements snapshots, leaving out
    the auditor's own markers and snapshot queries."""
    out: list[StatementStats] = []
    for queryid, (calls, rows, query) in after.items():
        old_calls, old_rows, _ = before.get(queryid, (0, 0, ""))
        if calls > old_calls and "pg_stat_statements" not in query and "backend-auditor-nplusone" not in query:
            out.append(StatementStats(query=query, calls=calls - old_calls, rows=max(0, rows - old_rows)))
    return sorted(out, key=lambda s: -s.calls)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except OSError:
        return None


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _read(path: Path, start: int) -> tuple[str, int]:
    """Complete lines from byte ``start``; the new position (after the last newline)."""
    try:
        with path.open("rb") as handle:
            handle.seek(start)
            data = handle.read(MAX_READ_BYTES)
    except OSError:
        return "", start
    cut = data.rfind(b"\n")
    if cut < 0:
        return "", start
    return data[: cut + 1].decode("utf-8", "replace"), start + cut + 1


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
