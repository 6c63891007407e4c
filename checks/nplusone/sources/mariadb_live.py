"""MariaDB / MySQL server-side capture (--db-url mysql://...): every statement the service runs, read from
the server's general query log written to a table (``mysql.general_log``).

For the length of the profiling only: ``SET GLOBAL log_output`` gains ``TABLE`` and ``SET GLOBAL
general_log = ON`` — no restart, and it reaches the service's already-open pooled connections. Each
request is bracketed by marker statements from the auditor's own connection (whose statements are
otherwise ignored); the rows between the two markers, from other connections, are the request's.

Privileges are checked before anything changes (SUPER or SYSTEM_VARIABLES_ADMIN to set the globals,
SELECT on mysql.general_log), and every setting is restored afterwards — also on error, Ctrl-C /
deadline (the check's stop watcher calls close() at once) and interpreter exit (atexit). A named lock
(GET_LOCK) keeps two audits from capturing on one server at once. The log table is only read, never
truncated: it may hold another tool's history.
"""

from __future__ import annotations

import atexit
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import unquote, urlsplit

from checks.nplusone.model import Statement
from checks.nplusone.sources.interface import Capture, SourceUnavailable, SqlSource

CONNECT_TIMEOUT_S = 5
LOCK_NAME = "backend-auditor-nplusone"
LOCK_WAIT_S = 30
MARKER = "backend-auditor-nplusone"
POLL_S = 0.05
STATEMENT_COMMANDS = ("Query", "Execute")
# What a statement of ours or of the driver's bookkeeping looks like (never the service's SQL).
_NOISE = ("SET NAMES", "SET autocommit", "SET SESSION", "SHOW WARNINGS", "SELECT @@")


class MariaDbLiveSource(SqlSource):
    name = "mariadb"

    def __init__(self, db_url: str, *, settle_s: float = 1.0, should_stop: Callable[[], bool] = lambda: False) -> None:
        super().__init__()
        self.db_url = db_url
        self.settle_s = max(settle_s, 1.0)
        self.should_stop = should_stop
        self.format_name = "mysql.general_log"
        self.database = ""
        self.original: dict[str, str] = {}
        self.restored = False
        self._conn = None
        self._own_id: int | None = None
        self._changed = False
        self._locked = False
        self._lock = threading.Lock()
        self._since: datetime | None = None
        self._nonce = uuid.uuid4().hex[:8]

    @property
    def description(self) -> str:
        return (f"the MariaDB/MySQL general query log as a table (mysql.general_log; database "
                f"{self.database or '?'}; general_log on for the audit only)")

    # --------------------------------------------------------------------------------------------------
    def _connect(self):  # noqa: ANN202 — a pymysql connection, imported lazily
        import pymysql

        parts = urlsplit(self.db_url)
        try:
            return pymysql.connect(host=parts.hostname or "localhost", port=parts.port or 3306,
                                   user=unquote(parts.username or "") or None, password=unquote(parts.password or ""),
                                   database=unquote(parts.path.lstrip("/")) or None, autocommit=True,
                                   connect_timeout=CONNECT_TIMEOUT_S)
        except pymysql.MySQLError as exc:
            raise SourceUnavailable(f"--db-url: cannot connect: {_message(exc)}") from None

    def open(self) -> None:
        self._conn = self._connect()
        try:
            self._open()
        except BaseException:
            self.close()
            raise

    def _open(self) -> None:
        self.database = str(self._one("SELECT DATABASE()") or "")
        self._own_id = int(self._one("SELECT CONNECTION_ID()") or 0)
        self._check_privileges()
        if not self._one("SELECT GET_LOCK(%s, %s)", (LOCK_NAME, LOCK_WAIT_S)):
            raise SourceUnavailable("--db-url: another audit is capturing SQL on this server; try again later")
        self._locked = True
        self.original = {"general_log": str(self._one("SELECT @@GLOBAL.general_log")),
                         "log_output": str(self._one("SELECT @@GLOBAL.log_output"))}
        outputs = [o for o in self.original["log_output"].upper().split(",") if o and o != "NONE"]
        try:
            self._changed = True   # from here on close() restores, whatever happens next
            atexit.register(self.close)
            if "TABLE" not in outputs:
                self._execute("SET GLOBAL log_output = %s", (",".join([*outputs, "TABLE"]),))
            if self.original["general_log"] not in ("1", "ON"):
                self._execute("SET GLOBAL general_log = 'ON'")
        except Exception as exc:  # noqa: BLE001 — a refusal after the privilege check: say it in one line
            raise SourceUnavailable(f"--db-url: the server refused to turn the general log on: {_message(exc)}") from None
        self._since = self._now()

    def _check_privileges(self) -> None:
        grants = " ".join(str(row[0]) for row in self._all("SHOW GRANTS"))
        upper = grants.upper()
        can_set = "ALL PRIVILEGES ON *.*" in upper or "SUPER" in upper or "SYSTEM_VARIABLES_ADMIN" in upper
        global_read = "ON *.*" in upper and ("ALL PRIVILEGES" in upper or "SELECT" in upper)
        can_read = global_read or "`MYSQL`.`GENERAL_LOG`" in upper or "ON `MYSQL`.*" in upper
        missing = [what for what, ok in (("SUPER or SYSTEM_VARIABLES_ADMIN (SET GLOBAL general_log, log_output)", can_set),
                                         ("SELECT on mysql.general_log", can_read)) if not ok]
        if missing:
            raise SourceUnavailable(f"--db-url: this user may not capture SQL ({'; '.join(missing)} needed); nothing "
                                    "was changed; or give --sql-log with the service's SQL log")

    # --------------------------------------------------------------------------------------------------
    def begin(self, request_id: str) -> None:
        self._mark("begin", request_id)

    def end(self, request_id: str) -> Capture:
        if self._conn is None:
            return Capture([], exact=False)
        end_marker = self._mark("end", request_id)
        begin_marker = f"{MARKER}:begin:{request_id}"
        deadline = time.monotonic() + self.settle_s
        rows: list[tuple] = []
        while not self.should_stop():
            rows = self._rows()
            if any(end_marker in str(r[3]) for r in rows) or time.monotonic() > deadline:
                break
            time.sleep(POLL_S)
        inside: list[Statement] = []
        started = ended = False
        for event_time, thread_id, command, argument in rows:
            text = _text(argument)
            if thread_id == self._own_id:
                if begin_marker in text:
                    started, inside = True, []
                elif end_marker in text:
                    ended = True
                    break
                continue
            if started and command in STATEMENT_COMMANDS and not text.startswith(_NOISE):
                inside.append(Statement(sql=text, session=str(thread_id), database=self.database, source="mariadb",
                                        backslash_escapes=True))
        if not (started and ended):
            self.problems.append(f"the general log lost the bracket of request {request_id}")
        if rows:
            self._since = rows[-1][0]
        return Capture(inside, exact=False)

    def _rows(self) -> list[tuple]:
        since = (self._since or self._now()) - timedelta(seconds=1)
        return list(self._all("SELECT event_time, thread_id, command_type, argument FROM mysql.general_log "
                              "WHERE event_time >= %s ORDER BY event_time", (since,)))

    def _mark(self, what: str, request_id: str) -> str:
        marker = f"{MARKER}:{what}:{request_id}"
        safe = "".join(ch for ch in marker if ch.isalnum() or ch in "-_:.")
        if self._conn is not None:
            self._execute("SELECT %s", (safe,))
        return safe

    def _now(self) -> datetime:
        return self._one("SELECT NOW(6)")  # the server's clock: event_time is written with it

    # --------------------------------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            if self._changed and not self.restored:
                self._restore()
            if self._conn is not None:
                if self._locked:
                    try:
                        self._execute("SELECT RELEASE_LOCK(%s)", (LOCK_NAME,))
                    except Exception:  # noqa: BLE001 — closing the connection releases it anyway
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
        error = ""
        for attempt in range(2):
            try:
                if attempt == 1 or self._conn is None:
                    self._conn = self._connect()
                self._execute("SET GLOBAL general_log = %s", ("ON" if self.original["general_log"] in ("1", "ON")
                                                              else "OFF",))
                self._execute("SET GLOBAL log_output = %s", (self.original["log_output"],))
                self.restored = True
                return
            except Exception as exc:  # noqa: BLE001 — try once more on a new connection
                error = _message(exc)
        self.problems.append(f"could not restore the server's log settings: {error}; run SET GLOBAL general_log = "
                             f"{self.original.get('general_log')}; SET GLOBAL log_output = "
                             f"'{self.original.get('log_output')}'")

    def _execute(self, query: str, params: tuple = ()) -> None:
        assert self._conn is not None
        with self._conn.cursor() as cur:
            cur.execute(query, params or None)
            cur.fetchall()

    def _all(self, query: str, params: tuple = ()) -> list[tuple]:
        assert self._conn is not None
        with self._conn.cursor() as cur:
            cur.execute(query, params or None)
            return list(cur.fetchall())

    def _one(self, query: str, params: tuple = ()) -> object:
        rows = self._all(query, params)
        return rows[0][0] if rows else None


def _text(argument: object) -> str:
    return argument.decode("utf-8", "replace") if isinstance(argument, (bytes, bytearray)) else str(argument)


def _message(exc: BaseException) -> str:
    args = getattr(exc, "args", ())
    return (str(args[1]) if len(args) > 1 else str(exc) or type(exc).__name__).splitlines()[0][:300]
