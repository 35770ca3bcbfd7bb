"""Runs one :class:`ZulipBot` per Zulip channel that listens, and restarts them when the
channels change (the bot and Zulip's client are imported when there is a Zulip channel)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import TYPE_CHECKING

from lookout.actions import Actions
from lookout.notify.channels.base import ChannelDriver
from lookout.notify.notifier import Notifier

if TYPE_CHECKING:
    from lookout.chatops.bot import ZulipBot

ZULIP_CHANNELS = "lookout.notify.channels.zulip"


class ChatOps:
    def __init__(self, notifier: Notifier, actions: Actions) -> None:
        self.notifier = notifier
        self.actions = actions
        self.bots: dict[str, ZulipBot] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._running = False
        notifier.on_channels.append(self._channels_changed)

    async def start(self) -> None:
        self._running = True
        self._channels_changed(self.notifier.dispatcher.drivers)

    async def stop(self) -> None:
        self._running = False
        await self._cancel()

    async def _cancel(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _channels_changed(self, drivers: dict[str, ChannelDriver]) -> None:
        for task in self._tasks.values():
            task.cancel()
        self._tasks.clear()
        self.bots = {}
        if ZULIP_CHANNELS not in sys.modules:  # no Zulip channel was ever made: none here
            return
        from lookout.chatops.bot import ZulipBot
        from lookout.notify.channels.zulip import ZulipChannel

        self.bots = {
            name: ZulipBot(d, self.actions, self.notifier.store, self.notifier.clock)
            for name, d in drivers.items()
            if isinstance(d, ZulipChannel)
        }
        if not self._running:
            return
        for name, bot in self.bots.items():
            if bot.spec.listen:
                self._tasks[name] = asyncio.create_task(bot.run(), name=f"zulip-bot-{name}")
