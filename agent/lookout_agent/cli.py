"""``lookout-agent``: register, status, run, deregister, dump. Stdlib argparse only."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from lookout_agent import __version__, client, collect, tls
from lookout_agent import wire as w
from lookout_agent.client import AgentError
from lookout_agent.state import DEFAULT_DIR, AgentState, StateDir

log = logging.getLogger("lookout-agent")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        code: int = args.func(args)
        return code
    except AgentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lookout-agent", description=__doc__)
    p.add_argument("--version", action="version", version=f"lookout-agent {__version__}")
    p.add_argument(
        "--state-dir", type=Path, default=DEFAULT_DIR,
        help=f"key, certificate and state (default {DEFAULT_DIR})",
    )  # fmt: skip
    sub = p.add_subparsers(required=True, metavar="COMMAND")
    # --state-dir is accepted after the command too (lookout-agent run --state-dir DIR)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--state-dir", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)

    r = sub.add_parser("register", help="register with a site (once)", parents=[common])
    r.add_argument("--server", required=True, help="https://HOST:PORT of the agent receiver")
    r.add_argument("--token", required=True, help="one-time registration token")
    r.add_argument(
        "--connect", metavar="HOST[:PORT]",
        help="connect here instead of where the server's name resolves (the name still "
        "goes in TLS, as SNI and in the certificate check)",
    )  # fmt: skip
    trust = r.add_mutually_exclusive_group(required=True)
    trust.add_argument("--ca-fingerprint", help="SHA256:… of the site CA (printed by lookout)")
    trust.add_argument("--ca-file", type=Path, help="the site CA certificate (PEM)")
    r.add_argument("--force", action="store_true", help="replace an existing registration")
    r.set_defaults(func=cmd_register)

    s = sub.add_parser("status", help="show the registration and the last push", parents=[common])
    s.add_argument("--json", action="store_true")
    s.add_argument("--offline", action="store_true", help="do not contact the server")
    s.set_defaults(func=cmd_status)

    run = sub.add_parser("run", help="collect and push every interval", parents=[common])
    run.add_argument("--once", action="store_true", help="push once and exit")
    run.add_argument("--interval", type=float, default=60.0, help="seconds (default 60)")
    run.add_argument("--local-dir", type=Path, help="local checks (default STATE_DIR/local.d)")
    run.set_defaults(func=cmd_run)

    d = sub.add_parser(
        "deregister", help="tell the site and remove the local trust", parents=[common]
    )
    d.add_argument("--local-only", action="store_true", help="do not contact the server")
    d.set_defaults(func=cmd_deregister)

    dump = sub.add_parser("dump", help="print the collected sections as JSON", parents=[common])
    dump.add_argument("--local-dir", type=Path)
    dump.set_defaults(func=cmd_dump)
    return p


def cmd_register(args: argparse.Namespace) -> int:
    sd = StateDir(args.state_dir)
    if sd.registered() and not args.force:
        raise AgentError(f"already registered ({sd.path}); use --force to replace it")
    client.connect_via(args.server, args.connect)
    if args.ca_file is not None:
        try:
            ca_pem = args.ca_file.read_text()
            tls.check_pinned(ca_pem, tls.fingerprint(ca_pem))
        except (OSError, ValueError) as exc:
            raise AgentError(f"--ca-file {args.ca_file}: {exc}") from exc
    else:
        try:
            pin = tls.normalize_fingerprint(args.ca_fingerprint)
        except ValueError as exc:
            raise AgentError(f"--ca-fingerprint: {exc}") from exc
        ca_pem = client.fetch_ca(args.server)
        try:
            tls.check_pinned(ca_pem, pin)
        except tls.TrustError as exc:
            raise AgentError(str(exc)) from exc
    state = client.register(sd, args.server, args.token, ca_pem)
    if args.connect:
        state.connect = args.connect
        sd.save(state)
    print(f"registered as host {state.host} of site {state.site or '?'} at {state.server}")
    print(f"  agent id:    {state.uuid}")
    print(f"  certificate: valid until {_when(state.not_after)}")
    print(f"  state dir:   {sd.path}")
    print(f"next: lookout-agent --state-dir {sd.path} run")
    return 0


def _state(sd: StateDir) -> AgentState:
    """The saved state, with its --connect address in force."""
    st = sd.load()
    client.connect_via(st.server, st.connect)
    return st


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def cmd_status(args: argparse.Namespace) -> int:
    sd = StateDir(args.state_dir)
    if not sd.registered():
        info: dict[str, Any] = {"registered": False, "state_dir": str(sd.path)}
        if args.json:
            print(json.dumps(info))
        else:
            print(f"not registered (state dir {sd.path})")
        return 1
    st = _state(sd)
    info = {"registered": True, "state_dir": str(sd.path), **asdict(st)}
    info["ca_fingerprint"] = tls.fingerprint(sd.ca.read_text())
    info["last_push_age"] = time.time() - st.last_push_at if st.last_push_at else None
    problem = None if args.offline else client.check_connection(sd, st)
    info["connection"] = "not checked" if args.offline else problem or "ok"
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"host {st.host} of site {st.site or '?'} at {st.server}")
    print(f"  connection:     {info['connection']}")
    print(f"  agent id:       {st.uuid}")
    print(f"  site CA:        {info['ca_fingerprint']}")
    print(f"  certificate:    valid until {_when(st.not_after)}")
    age = info["last_push_age"]
    print(f"  last push:      {'never' if age is None else f'{age:.0f} s ago'}")
    print(f"  last error:     {st.last_error or 'none'}")
    return 0 if problem is None else 1


def collect_push(local_dir: Path | None, interval: float) -> w.Push:
    sections, ms = collect.collect(local_dir)
    return w.Push(
        wire_version=w.WIRE_VERSION, agent_version=__version__, collected_at=time.time(),
        interval=interval, sections=sections, collect_ms=ms,
    )  # fmt: skip


def push_once(sd: StateDir, local_dir: Path | None, interval: float) -> w.PushAnswer:
    st = _state(sd)
    try:
        if client.needs_renewal(sd, time.time()):
            st = client.renew(sd, st)
            log.info("certificate renewed, valid until %s", _when(st.not_after))
        answer = client.push(sd, st, collect_push(local_dir, interval))
        if answer.renew:
            st = client.renew(sd, st)
    except AgentError as exc:
        st.last_error = str(exc)
        sd.save(st)
        raise
    st.last_push_at, st.last_error, st.interval = time.time(), None, interval
    sd.save(st)
    return answer


def cmd_run(args: argparse.Namespace) -> int:
    sd = StateDir(args.state_dir)
    if not sd.registered():
        raise AgentError(f"not registered (state dir {sd.path}): run lookout-agent register first")
    local_dir = args.local_dir or sd.local_dir
    if args.once:
        ans = push_once(sd, local_dir, args.interval)
        print(f"pushed: {ans.accepted} results, {ans.discovered} new services")
        return 0
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    log.info("pushing every %g s to %s", args.interval, sd.load().server)
    next_at = time.monotonic()
    while not stop:
        try:
            ans = push_once(sd, local_dir, args.interval)
            log.debug("pushed %d results", ans.accepted)
        except AgentError as exc:
            log.error("%s", exc)
        next_at += args.interval
        while not stop and time.monotonic() < next_at:
            time.sleep(min(1.0, next_at - time.monotonic()))
        if time.monotonic() > next_at + args.interval:  # we slept through (suspend): resync
            next_at = time.monotonic()
    return 0


def cmd_deregister(args: argparse.Namespace) -> int:
    sd = StateDir(args.state_dir)
    if not sd.registered():
        print(f"not registered (state dir {sd.path})")
        return 0
    st = _state(sd)
    if not args.local_only:
        client.deregister(sd, st)
    sd.forget()
    print(f"deregistered: removed the key, certificate and site CA from {sd.path}")
    return 0


def cmd_dump(args: argparse.Namespace) -> int:
    local_dir = args.local_dir or StateDir(args.state_dir).local_dir
    push = collect_push(local_dir, 60.0)
    print(json.dumps(asdict(push), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
