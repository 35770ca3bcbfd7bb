"""Decoding and validating a push body: the same strict rules in the site and in a TLS front
(a front decodes a push and evaluates it when the site asks; see ``ipc.py``)."""

from __future__ import annotations

import msgspec
from lookout_agent import wire as w

from lookout.sources.agent_receiver.http import Response, problem

_push_decoder = msgspec.json.Decoder(w.Push)


def decode_push(body: bytes) -> w.Push | Response:
    """The push body, or the refusal naming what is wrong with it."""
    try:
        data = _push_decoder.decode(body)
    except msgspec.ValidationError as exc:
        return problem(422, f"invalid push: {exc}")
    except msgspec.DecodeError as exc:
        return problem(400, f"push is not valid JSON: {exc}")
    if data.wire_version != w.WIRE_VERSION:
        return problem(
            422,
            f"wire_version {data.wire_version} not supported (this site speaks "
            f"{w.WIRE_VERSION}): update the agent or the site",
        )
    if not 1 <= data.interval <= 86400:
        return problem(422, f"invalid push: interval {data.interval} not in 1..86400 s")
    return data
