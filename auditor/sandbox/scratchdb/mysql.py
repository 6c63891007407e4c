"""Scratch databases on a MariaDB or MySQL server (PyMySQL)."""

from __future__ import annotations

from auditor.sandbox.scratchdb.interface import URL_NAMES, ScratchError, ScratchServer

CONNECT_TIMEOUT_S = 5
ACCESS_DENIED = (1044, 1045, 1227)  # ER_DBACCESS_DENIED_ERROR, ER_ACCESS_DENIED_ERROR, ER_SPECIFIC_ACCESS_DENIED


class MysqlServer(ScratchServer):
    engine = "mysql"
    default_port = 3306
    base_scheme = "mysql"

    def _connect(self):  # noqa: ANN202 — pymysql.Connection, imported lazily
        import pymysql

        a = self.address
        try:
            return pymysql.connect(host=a.host or "localhost", port=a.port or self.default_port, user=a.user or None,
                                   password=a.password, database=a.database or None, autocommit=True,
                                   connect_timeout=CONNECT_TIMEOUT_S)
        except pymysql.MySQLError as exc:
            raise ScratchError(f"cannot connect to the MariaDB/MySQL server at {self.where} for a scratch database: "
                               f"{_message(exc)}") from None

    def create(self, name: str) -> None:
        import pymysql

        conn = self._connect()
        try:
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE `{_ident(name)}` CHARACTER SET utf8mb4")
        except pymysql.MySQLError as exc:
            if exc.args and exc.args[0] in ACCESS_DENIED:
                raise ScratchError(f"the MariaDB/MySQL user {self.address.user!r} at {self.where} may not create "
                                   "databases (CREATE privilege missing): nothing was changed") from None
            raise ScratchError(f"CREATE DATABASE on {self.where} failed: {_message(exc)}") from None
        finally:
            conn.close()

    def drop_family(self, name: str) -> list[str]:
        import pymysql

        dropped: list[str] = []
        conn = self._connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT schema_name FROM information_schema.schemata WHERE INSTR(schema_name, %s) > 0",
                            (name,))
                for (schema,) in cur.fetchall():
                    cur.execute(f"DROP DATABASE IF EXISTS `{_ident(schema)}`")
                    dropped.append(schema)
        except pymysql.MySQLError as exc:
            raise ScratchError(f"DROP DATABASE on {self.where} failed: {_message(exc)}") from None
        finally:
            conn.close()
        return dropped

    def databases(self) -> set[str]:
        import pymysql

        conn = self._connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW DATABASES")
                return {row[0] for row in cur.fetchall()}
        except pymysql.MySQLError as exc:
            raise ScratchError(f"listing the databases on {self.where} failed: {_message(exc)}") from None
        finally:
            conn.close()

    def exports(self, name: str, scheme: str) -> dict[str, str]:
        url = self.address.url(scheme, name)
        out = {key: url for key in URL_NAMES}
        out.update(self.split_exports(name, ("MYSQL_", "MARIADB_"), database_key="DATABASE"))
        out.update(self.split_exports(name, ("DB_", "DATABASE_"), database_key="NAME"))
        return out


def _ident(name: str) -> str:
    if "`" in name:
        raise ScratchError(f"refusing a database name with a backquote: {name!r}")
    return name


def _message(exc: BaseException) -> str:
    args = getattr(exc, "args", ())
    return (str(args[1]) if len(args) > 1 else str(exc) or type(exc).__name__).splitlines()[0][:300]
