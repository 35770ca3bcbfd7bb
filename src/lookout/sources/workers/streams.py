"""Names of a site's subjects, streams and consumers, and their settings in JetStream."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import BadRequestError, NotFoundError

log = logging.getLogger(__name__)

RESULTS_CONSUMER = "site"
RESULTS_ACK_WAIT = 10.0
"""Seconds before a result taken but not acknowledged by the site comes again: journaling
takes milliseconds; a site killed with a pull request open gets what went to it after this."""
DUPLICATE_WINDOW = 600.0
"""Seconds JetStream remembers a result's Nats-Msg-Id (a second copy within it is dropped)."""


@dataclass(frozen=True, slots=True)
class Layout:
    """One site's subjects, streams and consumers."""

    site: str

    @property
    def jobs_stream(self) -> str:
        return f"lookout_{self.site}_jobs"

    @property
    def results_stream(self) -> str:
        return f"lookout_{self.site}_results"

    def jobs_subject(self, pool: str) -> str:
        return f"lookout.{self.site}.jobs.{pool}"

    @property
    def results_subject(self) -> str:
        return f"lookout.{self.site}.results"

    def heartbeat_subject(self, pool: str) -> str:
        return f"lookout.{self.site}.workers.{pool}"

    @property
    def heartbeats(self) -> str:
        """Every pool's heartbeats (a wildcard subject)."""
        return f"lookout.{self.site}.workers.*"

    @staticmethod
    def pool_consumer(pool: str) -> str:
        return f"pool_{pool}"


@dataclass(frozen=True, slots=True)
class StreamOptions:
    """What the site sets on its streams and consumers ([nats] settings)."""

    replicas: int = 1
    ack_wait: float = 10.0
    max_deliver: int = 5
    result_max_age: float = 86400.0
    job_max_age: float = 86400.0


async def ensure_streams(js: JetStreamContext, layout: Layout, opts: StreamOptions) -> None:
    """Create the job and result streams, or bring their settings up to date."""
    common = {
        "retention": RetentionPolicy.WORK_QUEUE,
        "storage": StorageType.FILE,
        "num_replicas": opts.replicas,
        "duplicate_window": DUPLICATE_WINDOW,
    }
    await _stream(
        js,
        StreamConfig(
            name=layout.jobs_stream,
            subjects=[layout.jobs_subject("*")],
            max_age=opts.job_max_age,
            **common,  # type: ignore[arg-type]
        ),
    )
    await _stream(
        js,
        StreamConfig(
            name=layout.results_stream,
            subjects=[layout.results_subject],
            max_age=opts.result_max_age,
            **common,  # type: ignore[arg-type]
        ),
    )
    await _consumer(
        js,
        layout.results_stream,
        ConsumerConfig(
            durable_name=RESULTS_CONSUMER,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=RESULTS_ACK_WAIT,
            max_ack_pending=100_000,
        ),
    )


async def ensure_pool(js: JetStreamContext, layout: Layout, pool: str, opts: StreamOptions) -> None:
    """Create the pool's consumer (its workers share it), or update its settings."""
    await _consumer(
        js,
        layout.jobs_stream,
        ConsumerConfig(
            durable_name=layout.pool_consumer(pool),
            filter_subject=layout.jobs_subject(pool),
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=opts.ack_wait,
            max_deliver=opts.max_deliver,
            max_ack_pending=100_000,
        ),
    )


async def _stream(js: JetStreamContext, config: StreamConfig) -> None:
    try:
        await js.add_stream(config)
    except BadRequestError as exc:  # exists with other settings (10058): update them
        if exc.err_code != 10058:
            raise
        await js.update_stream(config)
        log.info("stream %s: settings updated", config.name)


async def _consumer(js: JetStreamContext, stream: str, config: ConsumerConfig) -> None:
    try:
        await js.add_consumer(stream, config)
    except BadRequestError as exc:  # exists with other settings: keep it, say so
        log.warning("consumer %s of %s kept as it is: %s", config.durable_name, stream, exc)


async def consumer_exists(js: JetStreamContext, stream: str, name: str) -> bool:
    try:
        await js.consumer_info(stream, name)
    except NotFoundError:
        return False
    return True
