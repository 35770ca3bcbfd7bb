"""Acks and downtimes of Alertmanager's services as silences there, and back.

The sync compares what Lookout's state asks for with the silences it made (kept in
``alertmanager_silences``) and closes the gap, every ``sync_interval`` and soon after an ack,
downtime or state change of such a service. Working from state rather than from the actions
means every way an ack comes or goes counts (API, UI, chat, Livestatus, expiry, recovery), and
an Alertmanager that was down catches up.

- An ack (sticky or not) → a silence matching the alert's label set until the ack's expiry,
  else ``ack_silence_days``; the ack going (removed, recovered, expired) expires it.
- A downtime covering the service → a silence over the downtime's window (a flexible one: the
  window in which it may start); removed or over → expired.
- An active silence made in Alertmanager that matches a service with a problem and no ack
  acknowledges it here (author: the silence's creator); when the silence ends, that ack goes.
- Alertmanager sends no webhook for a silenced alert, its resolution included: a service with
  a problem whose alert is no longer among Alertmanager's alerts turns OK.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from lookout.actions import Actions
from lookout.config import AlertmanagerSettings
from lookout.domain import values
from lookout.domain.events import EventType
from lookout.domain.results import CheckResult
from lookout.engine.bus import EventBus
from lookout.engine.core import Engine
from lookout.engine.inputs import Target
from lookout.errors import LookoutError, PermanentFailure
from lookout.integrations.alertmanager.client import AlertmanagerClient
from lookout.integrations.alertmanager.mapping import PARAMS_KEY, SOURCE, SOURCE_LABEL
from lookout.storage import silences as store
from lookout.storage.silences import SilenceRow
from lookout.wire.alertmanager import LabelSet, Matcher, Silence, postable_silence

log = logging.getLogger(__name__)

Key = tuple[str, str]
WAKING = frozenset(
    {
        EventType.ACK_SET,
        EventType.ACK_REMOVED,
        EventType.STATE_CHANGE,
        EventType.DOWNTIME_SCHEDULED,
        EventType.DOWNTIME_START,
        EventType.DOWNTIME_END,
        EventType.DOWNTIME_CANCEL,
    }
)
FROM_ALERTMANAGER = "silence"


@dataclass(frozen=True, slots=True)
class Want:
    """A silence Lookout's state asks for."""

    key: Key
    reason: str
    labels: LabelSet
    starts: float
    ends: float
    author: str
    comment: str


def alert_labels(params: dict[str, Any]) -> LabelSet | None:
    data = params.get(PARAMS_KEY)
    labels = data.get("labels") if isinstance(data, dict) else None
    return labels if isinstance(labels, dict) and labels else None


def alert_services(engine: Engine) -> Iterator[tuple[Key, LabelSet]]:
    for key, cfg in engine.services.items():
        if cfg.labels.get(SOURCE_LABEL) == SOURCE:
            labels = alert_labels(cfg.params)
            if labels is not None:
                yield key, labels


def wants(
    engine: Engine, from_am: set[Key], cfg: AlertmanagerSettings
) -> dict[tuple[str, str, str], Want]:
    """Silences the state asks for, by (host, service, reason). Acks that a silence made in
    Alertmanager (``from_am``) are that silence's already."""
    out: dict[tuple[str, str, str], Want] = {}
    for key, labels in alert_services(engine):
        ack = engine.status[key].ack
        if ack is not None and key not in from_am:
            ends = ack.expire_at or ack.set_at + cfg.ack_silence_days * 86400
            comment = ack.comment or "acknowledged in Lookout"
            out[(*key, "ack")] = Want(key, "ack", labels, ack.set_at, ends, ack.author, comment)
    for d in engine.downtimes.values():
        for key, labels in _covered(engine, d.host, d.service, d.include_services):
            reason = f"downtime:{d.id}"
            comment = d.comment or "downtime in Lookout"
            out[(*key, reason)] = Want(key, reason, labels, d.start, d.end, d.author, comment)
    return out


def _covered(
    engine: Engine, host: str, service: str, include_services: bool
) -> Iterator[tuple[Key, LabelSet]]:
    names = [service] if service else list(engine.host_services.get(host, {}))
    for name in names if service or include_services else []:
        cfg = engine.services.get((host, name))
        if cfg is not None and cfg.labels.get(SOURCE_LABEL) == SOURCE:
            labels = alert_labels(cfg.params)
            if labels is not None:
                yield (host, name), labels


def matches(matchers: list[Matcher], labels: LabelSet) -> bool:
    """Alertmanager's matching: every matcher holds (a missing label is the empty string)."""
    for m in matchers:
        value = labels.get(m.name, "")
        if m.is_regex:
            try:
                hit = re.fullmatch(m.value, value) is not None
            except re.error:
                return False
        else:
            hit = value == m.value
        if hit != m.is_equal:
            return False
    return True


class SilenceSync:
    def __init__(
        self,
        cfg: AlertmanagerSettings,
        client: AlertmanagerClient,
        engine: Engine,
        actions: Actions,
        bus: EventBus,
        db: sa.Engine,
        clock: Callable[[], float],
        submit: Callable[[list[CheckResult]], Awaitable[None]],
    ) -> None:
        self.cfg = cfg
        self.client = client
        self.engine = engine
        self.actions = actions
        self.bus = bus
        self.db = db
        self.clock = clock
        self.submit = submit
        self.last_error = ""
        """Why the last sync failed ("" when it went through)."""
        self.failures = 0
        """Sync rounds that failed (``lookout_alertmanager_sync_failures_total``)."""
        self._wake = asyncio.Event()

    # ------------------------------------------------------------------ the loop
    async def run(self) -> None:
        sub = self.bus.subscribe(1000)
        listener = asyncio.create_task(self._listen(sub), name="lookout-am-listen")
        try:
            while True:
                await self.sync_once()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.cfg.sync_interval):
                        await self._wake.wait()
                await asyncio.sleep(0.05)  # gather the events of one burst
                self._wake.clear()
        finally:
            listener.cancel()
            sub.close()

    async def _listen(self, sub: Any) -> None:
        while True:
            ev = await sub.get()
            if ev.type in WAKING and ev.service:
                cfg = self.engine.services.get((ev.host, ev.service))
                if cfg is not None and cfg.labels.get(SOURCE_LABEL) == SOURCE:
                    self._wake.set()
            elif ev.type in WAKING and ev.type.name.startswith("DOWNTIME"):
                self._wake.set()  # a host downtime may cover such services

    async def sync_once(self) -> None:
        try:
            await self._sync()
            self.last_error = ""
        except LookoutError as exc:
            self.failures += 1
            if str(exc) != self.last_error:
                log.warning("Alertmanager silences not in sync: %s", exc)
            self.last_error = str(exc)

    # ------------------------------------------------------------------ one round
    async def _sync(self) -> None:
        rows = await asyncio.to_thread(store.list_rows, self.db)
        silences = await self.client.silences()
        active = {s.id: s for s in silences if s.status.state == "active"}
        await self._from_alertmanager(rows, active)
        rows = await asyncio.to_thread(store.list_rows, self.db)
        await self._to_alertmanager(rows)
        await self._resolve_gone()

    async def _resolve_gone(self) -> None:
        """Services with a problem whose alert Alertmanager no longer has (resolved while
        silenced, or a lost webhook) turn OK. Results newer than the list are left alone."""
        problems = [
            (key, labels)
            for key, labels in alert_services(self.engine)
            if self.engine.status[key].state != 0
        ]
        if not problems:
            return
        listed_at = self.clock()
        alive = {frozenset(a.labels.items()) for a in await self.client.alerts()}
        gone = [
            CheckResult(
                host=key[0],
                service=key[1],
                state=0,
                summary=f"{labels.get('alertname', 'alert')} resolved "
                "(no longer among Alertmanager's alerts)",
            )
            for key, labels in problems
            if frozenset(labels.items()) not in alive
            and self.engine.status[key].last_check < listed_at - 2.0
        ]
        if gone:
            await self.submit(gone)

    async def _to_alertmanager(self, rows: list[SilenceRow]) -> None:
        from_am = {(r.host, r.service) for r in rows if r.origin == SOURCE}
        wanted = wants(self.engine, from_am, self.cfg)
        ours = {(r.host, r.service, r.reason): r for r in rows if r.origin == "lookout"}
        gone = [r for k, r in ours.items() if k not in wanted or _moved(r, wanted[k])]
        for r in gone:
            await self.client.expire_silence(r.silence_id)
            await asyncio.to_thread(store.remove_rows, self.db, [r])
        kept = {k for k, r in ours.items() if r not in gone}
        now = self.clock()
        refused = []
        for k, w in wanted.items():
            if k in kept or w.ends <= now:
                continue
            body = postable_silence(
                w.labels, starts=w.starts, ends=w.ends, author=w.author, comment=w.comment
            )
            try:
                silence_id = await self.client.create_silence(body)
            except PermanentFailure as exc:  # this one silence; the others still go out
                refused.append(f"{k[0]}/{k[1]}: {exc}")
                continue
            row = SilenceRow(
                silence_id=silence_id,
                host=w.key[0],
                service=w.key[1],
                reason=w.reason,
                origin="lookout",
                author=w.author,
                ends_at=w.ends,
                created_at=now,
            )
            await asyncio.to_thread(store.add_rows, self.db, [row])
        if refused:
            raise PermanentFailure("silences refused: " + "; ".join(refused[:5]))

    async def _from_alertmanager(self, rows: list[SilenceRow], active: dict[str, Silence]) -> None:
        ours = {r.silence_id for r in rows if r.origin == "lookout"}
        theirs = {(r.silence_id, r.host, r.service): r for r in rows if r.origin == SOURCE}
        for r in theirs.values():
            if r.silence_id not in active:
                await self._release(r)
        now = self.clock()
        services = list(alert_services(self.engine))  # once: the engine may hold 100,000
        for s in active.values():
            if s.id in ours:
                continue
            for key, labels in services:
                if (s.id, *key) in theirs or not matches(s.matchers, labels):
                    continue
                st = self.engine.status[key]
                if st.state == 0 or st.ack is not None:
                    continue
                await self._acknowledge(s, key, now)

    async def _acknowledge(self, s: Silence, key: Key, now: float) -> None:
        author = s.created_by.strip()[: values.MAX_NAME] or "alertmanager"
        comment = f"{s.comment[:3900]} (silence {s.id} in Alertmanager)"
        ends = s.ends_at.timestamp()
        try:
            await self.actions.acknowledge(
                Target(host=key[0], service=key[1]),
                author=author,
                comment=comment,
                sticky=True,
                expire_at=ends if ends > now else None,
            )
        except LookoutError as exc:
            log.warning("silence %s: %s/%s not acknowledged: %s", s.id, *key, exc)
            return
        row = SilenceRow(
            silence_id=s.id,
            host=key[0],
            service=key[1],
            reason=FROM_ALERTMANAGER,
            origin=SOURCE,
            author=author,
            ends_at=ends,
            created_at=now,
        )
        await asyncio.to_thread(store.add_rows, self.db, [row])

    async def _release(self, r: SilenceRow) -> None:
        """A silence made in Alertmanager ended: the ack it made goes too (if it is still that
        one)."""
        st = self.engine.status.get((r.host, r.service))
        if st is not None and st.ack is not None and st.ack.author == r.author:
            with contextlib.suppress(LookoutError):
                await self.actions.remove_acknowledgement(
                    Target(host=r.host, service=r.service),
                    author=r.author,
                    comment=f"silence {r.silence_id} ended in Alertmanager",
                )
        await asyncio.to_thread(store.remove_rows, self.db, [r])


def _moved(row: SilenceRow, want: Want) -> bool:
    """The silence no longer fits: its end moved (a recurring downtime's next occurrence, an
    ack with a new expiry)."""
    return abs(row.ends_at - want.ends) > 1.0
