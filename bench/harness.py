"""The throw-away production stack every benchmark script runs in, and removes on exit.

A ``Stack`` is a fresh PostgreSQL database plus a private Redis (port 5179, so that Redis' INFO counters
count only this benchmark's traffic; ``BENCH_SHARED_REDIS=1`` uses 127.0.0.1:6379 with a unique key prefix
instead). ``Stack.config()`` writes a production TOML, ``Stack.server()`` starts one
``difyd --config X run --no-migrate`` process (one uvicorn worker) and waits for /healthz, and
``Stack.traffic()`` counts what a block of load cost. This class only ties those together; how each part
works lives in its own module:

- ``processes.py``: servers, the private Redis, the database, migrations;
- ``config_files.py``: the production settings and their TOML;
- ``counters.py``: SQL, Redis and CPU counters around a block of load;
- ``wrk.py`` / ``measurement.py``: wrk runs and their per-request figures;
- ``report.py``: the table and the JSON results.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Any

from config_files import deep_merge, production_settings, toml_dumps
from counters import CpuSources, RedisCounters, Traffic
from knobs import KEEP_DB, PRIVATE_REDIS_PORT, SHARED_REDIS, SHARED_REDIS_PORT
from processes import (
    PrivateRedis,
    Server,
    create_database,
    drop_database,
    migrate,
    psql,
    unwind_on_signals,
)
from progress import log


class Stack:
    """A fresh database and Redis for one benchmark script; everything is removed on exit."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.db_name = f"difyd_bench_{name}_{secrets.token_hex(3)}"
        self.key_prefix = f"bench:{name}:{secrets.token_hex(3)}:"
        self.tmp = Path(tempfile.mkdtemp(prefix=f"difyd-bench-{name}-"))
        self.redis_port = SHARED_REDIS_PORT if SHARED_REDIS else PRIVATE_REDIS_PORT
        self._private_redis: PrivateRedis | None = None
        self._redis_counters = RedisCounters(self.redis_port)
        self._servers: list[Server] = []
        self._configs = 0

    # -- lifecycle
    def __enter__(self) -> Stack:
        unwind_on_signals()
        if not SHARED_REDIS:
            self._private_redis = PrivateRedis(PRIVATE_REDIS_PORT, self.tmp).start()
        create_database(self.db_name)
        log(f"database {self.db_name}, redis 127.0.0.1:{self.redis_port}, key prefix {self.key_prefix}")
        return self

    def __exit__(self, *_: object) -> None:
        # On an exception too (run_all's SIGTERM arrives as KeyboardInterrupt). Servers first: they hold
        # connections to the database and Redis removed after them.
        for server in self._servers:
            server.stop()
        if not KEEP_DB:
            drop_database(self.db_name)
        self._redis_counters.close()
        if self._private_redis is not None:
            self._private_redis.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def vacuum_analyze(self) -> None:
        """After bulk seeding: planner statistics and the visibility map, as autovacuum would leave them
        on a live system within a minute (without it PostgreSQL plans against an empty-table guess)."""
        psql("VACUUM ANALYZE", self.db_name)

    # -- configuration
    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def config(self, overrides: dict[str, Any] | None = None, label: str = "") -> Path:
        """A production TOML on this stack's database and Redis, with ``overrides`` laid over it."""
        self._configs += 1
        path = self.tmp / f"config-{self._configs}{'-' + label if label else ''}.toml"
        base = production_settings(self.tmp / "data", self.db_name, self.redis_url, self.key_prefix)
        path.write_text(toml_dumps(deep_merge(base, overrides or {})))
        return path

    def migrate(self, config: Path) -> None:
        migrate(config)

    def settings(self, config: Path) -> Any:
        """The settings the server will read from ``config`` (for seeding through the domain services)."""
        from core.plugins import load_host_settings

        return load_host_settings(str(config))

    # -- servers and what they do
    def server(self, config: Path, port: int) -> Server:
        """A started server, stopped with the stack if the script does not stop it first."""
        server = Server(config, port, self.tmp / f"server-{port}.log")
        self._servers.append(server)
        return server.start()

    def traffic(self, server: Server) -> Traffic:
        """Counters for ``with stack.traffic(server) as traffic: <load>``: SQL, Redis, CPU."""
        cpu_sources = CpuSources(
            server_pid=server.process.pid if server.process else None,
            database_name=self.db_name,
            redis_pid=self._private_redis.pid if self._private_redis else None,
        )
        return Traffic(server, self._redis_counters, cpu_sources)
