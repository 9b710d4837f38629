"""The services a benchmark runs against: a PostgreSQL server where it may create databases, and
two database numbers on one Redis (the cache's and the broker's), flushed between configurations.
With ``broker`` (``manage.py bench --broker-url``) the broker is that URL instead, RabbitMQ's
``amqp://`` included; its queues are purged between configurations."""

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import kombu
import redis
from amqp.exceptions import NotFound

from bench.stack import admin_connection, create_database, drop_database, free_port, stack_environment, with_path


@dataclass
class Services:
    database_url: str
    redis_url: str
    cache_db: int = 8
    broker_db: int = 9
    broker: str | None = None  # another broker than broker_db (e.g. amqp://...)

    @property
    def prefix(self) -> str:
        """What the benchmark's database names start with: DATABASE_URL's database name and ``_``, so
        runs given different databases on one server never touch each other's."""
        name = urlsplit(self.database_url).path.lstrip("/")
        return f"{name}_" if name and name != "postgres" else ""

    def database(self, name: str) -> str:
        return with_path(self.database_url, f"/{name}")

    @property
    def cache_url(self) -> str:
        return with_path(self.redis_url, f"/{self.cache_db}")

    @property
    def broker_url(self) -> str:
        return self.broker or with_path(self.redis_url, f"/{self.broker_db}")

    @property
    def broker_is_redis(self) -> bool:
        return urlsplit(self.broker_url).scheme in {"redis", "rediss"}

    def admin(self):
        return admin_connection(self.database_url)

    def database_exists(self, name: str) -> bool:
        with self.admin() as conn:
            return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None

    def create_database(self, name: str, *, template: str | None = None) -> None:
        create_database(self.database_url, name, template=template)

    def drop_database(self, name: str) -> None:
        drop_database(self.database_url, name)

    def postgres_version(self) -> str:
        with self.admin() as conn:
            return conn.execute("SHOW server_version").fetchone()[0]

    def flush_redis(self) -> None:
        """Empty the cache's database and the broker (a Redis broker's database, or RabbitMQ's queues)."""
        for url in (self.cache_url, self.broker_url) if self.broker_is_redis else (self.cache_url,):
            client = redis.Redis.from_url(url, socket_timeout=5)
            client.flushdb()
            client.close()
        if not self.broker_is_redis:
            self.purge_broker_queues(("default", "cache"))

    def purge_broker_queues(self, queues) -> None:
        """Drop the messages of ``queues`` on a broker that is not Redis (a queue not declared yet holds none)."""
        with kombu.Connection(self.broker_url, connect_timeout=5) as connection:
            for queue in queues:
                channel = connection.channel()
                try:
                    channel.queue_purge(queue)
                except NotFound:
                    pass  # AMQP closes the channel after NOT_FOUND itself
                else:
                    channel.close()

    def redis_version(self) -> str:
        client = redis.Redis.from_url(self.cache_url, socket_timeout=5)
        try:
            return client.info("server").get("redis_version", "?")
        finally:
            client.close()

    def env(
        self, database: str, overrides: dict[str, str], *, workdir: Path, port: int | None = None
    ) -> dict[str, str]:
        """The environment of a benchmark stack on ``database`` (and of our manage.py subprocesses):
        the benchmark's settings (production plus the ``bench`` app), ``overrides`` on top."""
        return stack_environment(
            self.database(database),
            self.cache_url,
            free_port(),
            workdir,
            settings="config.settings.bench",
            **{
                "CELERY_BROKER_URL": self.broker_url,
                # The load generator speaks plain HTTP to gunicorn, without a router's X-Forwarded-Proto.
                "DJANGO_SECURE_SSL_REDIRECT": "false",
                "SILK_ENABLED": "false",
                **overrides,
            },
        )
