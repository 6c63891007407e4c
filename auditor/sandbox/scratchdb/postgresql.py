"""Scratch databases on a PostgreSQL server (psycopg 3)."""

from __future__ import annotations

from auditor.sandbox.scratchdb.interface import URL_NAMES, ScratchError, ScratchServer

CONNECT_TIMEOUT_S = 5
STATEMENT_TIMEOUT_MS = 30_000


class PostgresServer(ScratchServer):
    engine = "postgresql"
    default_port = 5432
    base_scheme = "postgresql"

    def _connect(self):  # noqa: ANN202 — psycopg.Connection, imported lazily
        import psycopg

        a = self.address
        try:
            return psycopg.connect(host=a.host or None, port=a.port or None, user=a.user or None,
                                   password=a.password or None, dbname=a.database or "postgres", autocommit=True,
                                   connect_timeout=CONNECT_TIMEOUT_S,
                                   options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}")
        except psycopg.Error as exc:
            raise ScratchError(f"cannot connect to the PostgreSQL server at {self.where} for a scratch database: "
                               f"{_first_line(exc)}") from None

    def create(self, name: str) -> None:
        import psycopg
        from psycopg import sql

        with self._connect() as conn:
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            except psycopg.errors.InsufficientPrivilege:
                raise ScratchError(f"the PostgreSQL role {self.address.user or '(default)'!r} at {self.where} may "
                                   "not create databases (CREATEDB privilege missing): nothing was changed; "
                                   "grant it (ALTER ROLE ... CREATEDB) or give scratch_db_url of a role that has "
                                   "it") from None
            except psycopg.Error as exc:
                raise ScratchError(f"CREATE DATABASE on {self.where} failed: {_first_line(exc)}") from None

    def drop_family(self, name: str) -> list[str]:
        import psycopg
        from psycopg import sql

        dropped: list[str] = []
        with self._connect() as conn:
            rows = conn.execute("SELECT datname FROM pg_database WHERE strpos(datname, %s) > 0", (name,)).fetchall()
            for (datname,) in rows:
                try:
                    # WITH (FORCE) (PostgreSQL 13+) ends the sessions a killed test run left behind.
                    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(datname)))
                except psycopg.errors.SyntaxError:
                    conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                                 (datname,))
                    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(datname)))
                except psycopg.Error as exc:
                    raise ScratchError(f"DROP DATABASE {datname} on {self.where} failed: {_first_line(exc)}") from None
                dropped.append(datname)
        return dropped

    def databases(self) -> set[str]:
        import psycopg

        try:
            with self._connect() as conn:
                return {row[0] for row in conn.execute("SELECT datname FROM pg_database").fetchall()}
        except psycopg.Error as exc:
            raise ScratchError(f"listing the databases on {self.where} failed: {_first_line(exc)}") from None

    def exports(self, name: str, scheme: str) -> dict[str, str]:
        url = self.address.url(scheme, name)
        out = {key: url for key in URL_NAMES}
        out.update(self.split_exports(name, ("POSTGRES_",), database_key="DB", host_keys=("HOST", "SERVER")))
        out.update(self.split_exports(name, ("DB_", "DATABASE_"), database_key="NAME"))
        a = self.address
        out.update(PGHOST=a.host or "localhost", PGPORT=str(a.port or self.default_port), PGUSER=a.user,
                   PGPASSWORD=a.password, PGDATABASE=name)
        return out


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
