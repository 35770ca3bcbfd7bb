"""The front door's process: the HTTP(S) door (uvicorn) and the agent port (asyncio) in one
event loop. The supervisor forks it, restarts it when it dies and stops it with SIGTERM."""

from __future__ import annotations

import asyncio
import logging

import uvicorn

from lookout.config import parse_listen
from lookout.manager.agentdoor import AgentDoor
from lookout.manager.httpdoor import HttpDoor, new_client
from lookout.manager.root import Root
from lookout.manager.routes import Routes

log = logging.getLogger(__name__)


def run_doors(root: Root) -> None:
    """Serve ``[door]`` of ``root`` until SIGTERM or SIGINT."""
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import uvloop

    uvloop.run(serve_doors(root))


async def serve_doors(root: Root) -> None:
    door = root.settings.door
    routes = Routes(root)
    agents: asyncio.Server | None = None
    if door.agent_listen:
        host, port = parse_listen(door.agent_listen)
        router = AgentDoor(routes, door, root.settings.host)
        agents = await asyncio.start_server(router.handle, host, port, backlog=1024)
        log.info("agent port on %s (SNI %s)", door.agent_listen, door.agent_name)
    try:
        if door.listen:
            host, port = parse_listen(door.listen)
            signup = root.settings.signup
            control = parse_listen(signup.listen) if signup.enabled else None
            config = uvicorn.Config(
                HttpDoor(routes, root.settings.host, new_client(), control),
                host=host,
                port=port,
                ssl_certfile=door.cert_file or None,
                ssl_keyfile=door.key_file or None,
                loop="none",
                http="httptools",
                lifespan="on",
                proxy_headers=False,  # the door is where the client's address is learnt
                server_header=False,
                date_header=False,  # the site's own Date passes through
                access_log=False,
                log_level="warning",
            )
            log.info("front door on %s", door.url)
            await uvicorn.Server(config).serve()
        else:
            await _until_stopped()
    finally:
        if agents is not None:
            agents.close()


async def _until_stopped() -> None:
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
