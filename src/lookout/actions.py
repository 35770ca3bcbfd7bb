"""The one place that applies human decisions: acknowledge, downtime, comment, recheck.

The REST API, the CLI (through the API), the web UI and the chat bot all come through here.
Each action resolves its target, checks that it makes sense, records author and comment, and
returns once the engine has applied it durably.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lookout.domain import values
from lookout.domain.values import InvalidValue
from lookout.engine import inputs as inp
from lookout.engine.core import Engine
from lookout.engine.downtimes import validate_recurrence
from lookout.engine.runner import SiteRunner
from lookout.errors import Conflict, NotFound, ValidationError
from lookout.storage.audit import AuditLog

Key = tuple[str, str]


def _valid(
    *,
    author: str,
    comment: str,
    times: dict[str, float | None] | None = None,
    duration: float | None = None,
) -> None:
    """The values every door hands in, checked once more here, where UI forms and chat
    commands arrive without a wire model: an action the engine accepts can always be stored."""
    try:
        values.check_text(author, values.MAX_NAME, ("author",))
        values.check_text(comment, values.MAX_COMMENT, ("comment",))
        for field, at in (times or {}).items():
            if at is not None:
                values.check_time(at, (field,))
        if duration is not None:
            values.check_duration(duration, ("duration",))
    except InvalidValue as exc:
        raise ValidationError(f"{exc.loc[0]}: {exc.msg}", exc.loc) from None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an action did: the objects it touched and the ids it created or removed."""

    keys: list[Key]
    ids: list[int]

    def as_dict(self) -> dict[str, object]:
        return {
            "objects": [{"host": h, "service": s or None} for h, s in self.keys],
            "ids": self.ids,
            "count": len(self.keys) or len(self.ids),
        }


def _objects(keys: list[Key], most: int = 3) -> str:
    names = [f"{h}/{s}" if s else h for h, s in keys[:most]]
    return ", ".join(names) + (f" and {len(keys) - most} more" if len(keys) > most else "")


class Actions:
    def __init__(
        self,
        engine: Engine,
        runner: SiteRunner,
        clock: Callable[[], float],
        host_checked: Callable[[str], bool] | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self.engine = engine
        self.runner = runner
        self.clock = clock
        self.host_checked = host_checked
        """Whether a host without a check of its own runs one by default (the site's)."""
        self.audit = audit

    async def _audited(
        self, kind: str, verb: str, outcome: Outcome, author: str, detail: dict[str, object]
    ) -> Outcome:
        """Record the action in the audit log (one entry per action, however many objects)."""
        if self.audit is not None:
            obj = _objects(outcome.keys) if outcome.keys else ", ".join(map(str, outcome.ids))
            await self.audit.record(
                kind,
                obj,
                verb,
                summary=f"{len(outcome.keys) or len(outcome.ids)} object(s) by {author}",
                after={**detail, "author": author, **outcome.as_dict()},
                author=author,
            )
        return outcome

    def resolve(self, target: inp.Target) -> list[Key]:
        """Existing objects of ``target``; NotFound naming what is missing."""
        keys = self.engine.keys_of(target)
        if keys:
            return keys
        if target.host is not None:
            if target.host not in self.engine.hosts:
                raise NotFound(f"host {target.host!r} not found")
            raise NotFound(f"service {target.host}/{target.service} not found")
        raise NotFound(f"no objects match {target.describe()}")

    def _active(self, key: Key) -> bool:
        host, service = key
        cfg = self.engine.services.get(key) if service else self.engine.hosts.get(host)
        if cfg is not None and cfg.check is None and not service and self.host_checked:
            return self.host_checked(host)
        return cfg is not None and cfg.check is not None

    async def acknowledge(
        self,
        target: inp.Target,
        *,
        author: str,
        comment: str,
        sticky: bool = True,
        notify: bool = True,
        persistent: bool = False,
        expire_at: float | None = None,
    ) -> Outcome:
        _valid(author=author, comment=comment, times={"expire_at": expire_at})
        now = self.clock()
        if expire_at is not None and expire_at <= now:
            raise ValidationError("expire_at lies in the past", ("expire_at",))
        keys = [k for k in self.resolve(target) if self.engine.status[k].state != 0]
        if not keys:
            raise Conflict(f"{target.describe()}: no problem to acknowledge (state is OK/UP)")
        done = await self.runner.apply(
            inp.Acknowledge(
                at=now,
                keys=keys,
                author=author,
                comment=comment,
                sticky=sticky,
                notify=notify,
                persistent=persistent,
                expire_at=expire_at,
            )
        )
        detail = {"comment": comment, "sticky": sticky, "notify": notify, "expire_at": expire_at}
        return await self._audited(
            "acknowledgement", "create", Outcome(keys=done, ids=[]), author, detail
        )

    async def remove_acknowledgement(
        self, target: inp.Target, *, author: str, comment: str = ""
    ) -> Outcome:
        _valid(author=author, comment=comment)
        keys = [k for k in self.resolve(target) if self.engine.status[k].ack is not None]
        if not keys:
            raise Conflict(f"{target.describe()}: not acknowledged")
        done = await self.runner.apply(
            inp.RemoveAcknowledgement(at=self.clock(), keys=keys, author=author, comment=comment)
        )
        return await self._audited(
            "acknowledgement", "delete", Outcome(keys=done, ids=[]), author, {"comment": comment}
        )

    async def schedule_downtime(
        self,
        target: inp.Target,
        *,
        start: float,
        end: float,
        author: str,
        comment: str,
        fixed: bool = True,
        duration: float | None = None,
        include_services: bool = False,
        recurrence: str = "",
    ) -> Outcome:
        _valid(
            author=author,
            comment=comment,
            times={"start": start, "end": end},
            duration=duration if not fixed else None,
        )
        now = self.clock()
        if end <= start:
            raise ValidationError("end must be after start", ("end",))
        if end <= now and not recurrence:
            raise ValidationError("the downtime ends in the past", ("end",))
        if not fixed and not duration:
            raise ValidationError("a flexible downtime needs a duration", ("duration",))
        validate_recurrence(recurrence)
        keys = self.resolve(target)
        if target.host is None and not target.services:
            keys = [k for k in keys if not k[1]]
        ids = await self.runner.apply(
            inp.ScheduleDowntime(
                at=now,
                targets=keys,
                start=start,
                end=end,
                fixed=fixed,
                duration=duration or 0.0,
                include_services=include_services,
                recurrence=recurrence,
                author=author,
                comment=comment,
            )
        )
        detail = {
            "comment": comment,
            "start": start,
            "end": end,
            "fixed": fixed,
            "duration": duration,
            "include_services": include_services,
            "recurrence": recurrence,
        }
        return await self._audited(
            "downtime", "create", Outcome(keys=keys, ids=ids), author, detail
        )

    async def remove_downtime(
        self,
        *,
        author: str,
        comment: str = "",
        ids: list[int] | None = None,
        host: str | None = None,
        service: str | None = None,
    ) -> Outcome:
        _valid(author=author, comment=comment)
        downtimes = self.engine.downtimes
        if ids is not None:
            missing = [i for i in ids if i not in downtimes]
            if missing:
                raise NotFound(f"downtime(s) {', '.join(map(str, missing))} not found")
            chosen = list(ids)
        else:
            chosen = [
                d.id
                for d in downtimes.values()
                if d.host == host and (service is None or d.service == service)
            ]
            if not chosen:
                where = host if service is None else f"{host}/{service}"
                raise NotFound(f"no downtimes on {where}")
        done = await self.runner.apply(
            inp.RemoveDowntime(at=self.clock(), ids=chosen, author=author, comment=comment)
        )
        return await self._audited(
            "downtime", "delete", Outcome(keys=[], ids=done), author, {"comment": comment}
        )

    async def comment(self, target: inp.Target, *, author: str, comment: str) -> Outcome:
        _valid(author=author, comment=comment)
        if not comment.strip():
            raise ValidationError("a comment needs text", ("comment",))
        keys = self.resolve(target)
        ids = await self.runner.apply(
            inp.AddComment(at=self.clock(), keys=keys, author=author, comment=comment)
        )
        return await self._audited(
            "comment", "create", Outcome(keys=keys, ids=ids), author, {"comment": comment}
        )

    async def remove_comment(self, ids: list[int], *, author: str) -> Outcome:
        """Delete comments by id; NotFound naming those that do not exist."""
        _valid(author=author, comment="")
        missing = [i for i in ids if i not in self.engine.comments]
        if missing or not ids:
            raise NotFound(f"comment(s) {', '.join(map(str, missing or ids))} not found")
        done = await self.runner.apply(inp.RemoveComment(at=self.clock(), ids=ids, author=author))
        return await self._audited("comment", "delete", Outcome(keys=[], ids=done), author, {})

    async def recheck(self, target: inp.Target, *, author: str, comment: str = "") -> Outcome:
        _valid(author=author, comment=comment)
        keys = [k for k in self.resolve(target) if self._active(k)]
        if not keys:
            raise Conflict(f"{target.describe()}: passive, no active check to run again")
        done = await self.runner.apply(
            inp.Recheck(at=self.clock(), keys=keys, author=author, comment=comment)
        )
        return await self._audited(
            "recheck", "run", Outcome(keys=done, ids=[]), author, {"comment": comment}
        )
