"""The front ↔ site link over a real socket pair: requests and answers by id, a broken link
answers what is waiting with 503, oversized frames end the link."""

from __future__ import annotations

import asyncio
import socket

import pytest

from lookout.sources.agent_receiver.http import Request, Response
from lookout.sources.agent_receiver.ipc import HEADER, MAX_FRAME, FrontLink, SiteLink


async def pair(handler: object) -> tuple[FrontLink, SiteLink, list[asyncio.Task[None]]]:
    a, b = socket.socketpair()
    fr, fw = await asyncio.open_connection(sock=a)
    sr, sw = await asyncio.open_connection(sock=b)
    front = FrontLink(fr, fw)
    site = SiteLink(sr, sw, handler)  # type: ignore[arg-type]
    return front, site, [asyncio.create_task(front.run()), asyncio.create_task(site.run())]


def req(body: bytes, cert: bytes | None = b"DER") -> Request:
    return Request("POST", "/push", {"content-length": str(len(body))}, body, cert, "peer")


async def test_answers_come_back_to_their_requests_in_any_order() -> None:
    async def handler(r: Request) -> Response:
        await asyncio.sleep(0.05 if r.body == b"slow" else 0)
        return Response(200, r.body + b"|" + (r.peer_cert or b"-"), headers=[("X-A", "1")])

    front, site, tasks = await pair(handler)
    front.hello(123)
    assert (await site.hello).pid == 123
    slow, fast, anon = await asyncio.gather(
        front.forward(req(b"slow")), front.forward(req(b"fast")), front.forward(req(b"x", None))
    )
    assert (slow.body, fast.body, anon.body) == (b"slow|DER", b"fast|DER", b"x|-")
    assert fast.headers == [("X-A", "1")]
    front.writer.close()
    await asyncio.wait_for(asyncio.gather(*tasks), 5)


async def test_a_handler_error_is_a_500_not_a_broken_link() -> None:
    async def handler(r: Request) -> Response:
        if r.body == b"boom":
            raise RuntimeError("boom")
        return Response(200, b"ok")

    front, _, tasks = await pair(handler)
    bad = await front.forward(req(b"boom"))
    good = await front.forward(req(b"fine"))
    assert (bad.status, good.status) == (500, 200)
    front.writer.close()
    await asyncio.wait_for(asyncio.gather(*tasks), 5)


async def test_waiting_requests_get_503_when_the_site_goes_away() -> None:
    started = asyncio.Event()

    async def handler(r: Request) -> Response:
        started.set()
        await asyncio.sleep(60)
        return Response(200, b"late")

    front, site, tasks = await pair(handler)
    waiting = asyncio.create_task(front.forward(req(b"x")))
    await started.wait()
    site.writer.close()
    ans = await asyncio.wait_for(waiting, 5)
    assert ans.status == 503
    assert (await front.forward(req(b"y"))).status == 503
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_an_oversized_frame_ends_the_link() -> None:
    async def handler(r: Request) -> Response:
        return Response(200, b"")

    a, b = socket.socketpair()
    sr, sw = await asyncio.open_connection(sock=b)
    site = SiteLink(sr, sw, handler)
    a.sendall(HEADER.pack(MAX_FRAME + 1))
    await asyncio.wait_for(site.run(), 5)
    with pytest.raises(ConnectionError):
        await site.hello
    a.close()


async def test_answers_of_one_loop_turn_leave_in_one_write() -> None:
    async def handler(r: Request) -> Response:
        return Response(200, r.body)

    front, site, tasks = await pair(handler)
    writes: list[bytes] = []
    real = site.writer.write
    site.writer.write = lambda data: (writes.append(data), real(data))[1]  # type: ignore[method-assign]
    answers = await asyncio.gather(*(front.forward(req(str(i).encode())) for i in range(20)))
    assert [a.body for a in answers] == [str(i).encode() for i in range(20)]
    assert len(writes) == 1
    front.writer.close()
    await asyncio.wait_for(asyncio.gather(*tasks), 5)


async def test_a_push_is_evaluated_by_the_front_with_what_the_site_sends() -> None:
    from lookout_agent import wire as w

    from lookout.sources.agent_receiver.ipc import Ask, EvalAsk, PushFrame

    async def handler(r: Request) -> Response:
        return Response(200, b"raw " + r.body)

    done: list[object] = []

    async def push_handler(head: PushFrame, ask: Ask) -> Response:
        assert (head.agent_version, head.interval, head.peer_cert) == ("t", 60.0, b"DER")
        plan = [("Uptime", "uptime", "", b"\x80"), ("Gone", "no-such-plugin", "", b"\x80")]
        done.append(await ask(EvalAsk(head.id, "h1", 1000.0, plan, ["Uptime"], {"k": (1, 2)})))
        return Response(200, b"evaluated")

    a, b = socket.socketpair()
    fr, fw = await asyncio.open_connection(sock=a)
    sr, sw = await asyncio.open_connection(sock=b)
    front, site = FrontLink(fr, fw, evaluate=True), SiteLink(sr, sw, handler, push_handler)
    tasks = [asyncio.create_task(front.run()), asyncio.create_task(site.run())]
    front.hello(1)
    sections = w.Sections(uptime=w.UptimeSection(boot_time=400.0))
    push = w.to_json(w.Push(w.WIRE_VERSION, "t", 1.0, 60.0, sections, 2.0))
    bad = w.to_json(w.Push(w.WIRE_VERSION, "t", 1.0, 0.5, sections))  # interval < 1 s
    good, refused = await asyncio.gather(front.forward(req(push)), front.forward(req(bad)))
    assert (good.body, refused.body) == (b"evaluated", b"raw " + bad)  # the site refuses it
    (ans,) = done
    assert [(r.host, r.service, r.state) for r in ans.results] == [("h1", "Uptime", 0)]  # type: ignore[attr-defined]
    assert ans.new == []  # type: ignore[attr-defined]
    assert ans.values["uptime.boot"] == (1000.0, 400.0)  # type: ignore[attr-defined]
    assert ans.values["k"] == (1, 2)  # type: ignore[attr-defined]
    front.writer.close()
    await asyncio.wait_for(asyncio.gather(*tasks), 5)


async def test_an_evaluation_asked_of_a_front_that_went_away_fails() -> None:
    from lookout_agent import wire as w

    from lookout.sources.agent_receiver.ipc import Ask, EvalAsk, PushFrame

    asked = asyncio.Event()
    outcome: list[BaseException] = []

    async def push_handler(head: PushFrame, ask: Ask) -> Response:
        waiting = asyncio.ensure_future(ask(EvalAsk(head.id, "h", 1.0, [], [], {})))
        asked.set()
        try:
            await waiting
        except ConnectionError as exc:
            outcome.append(exc)
        return Response(503, b"")

    a, b = socket.socketpair()
    sr, sw = await asyncio.open_connection(sock=b)
    site = SiteLink(sr, sw, None, push_handler)  # type: ignore[arg-type]
    running = asyncio.create_task(site.run())
    from lookout.sources.agent_receiver.ipc import frame

    head = PushFrame(7, {}, b"DER", "peer", w.WIRE_VERSION, "t", 1.0, 60.0, 0.0)
    a.sendall(frame(head))
    await asyncio.wait_for(asked.wait(), 5)
    a.close()  # the front dies holding the push
    await asyncio.wait_for(running, 5)
    await asyncio.sleep(0.01)
    assert len(outcome) == 1
    assert isinstance(outcome[0], ConnectionError)
    with pytest.raises(ConnectionError):
        await site.hello  # it never said hello
