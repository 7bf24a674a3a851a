"""Run an ASGI app with uvicorn, with TCP_NODELAY on also when there are several workers.

`uvicorn --workers N` binds its listening socket with protocol 0, so asyncio never turns Nagle's
algorithm off on accepted connections and every keep-alive response waits about 40 ms for the
client's delayed ACK (uvicorn issue #3149). Binding the socket as IPPROTO_TCP avoids it.

    python -m bot.serve bot.app:app --host 0.0.0.0 --port 8000 --workers 2   (uvicorn's own options)
"""
import socket
import sys

import uvicorn.config
import uvicorn.main

_bind_socket = uvicorn.config.Config.bind_socket


def _bind_socket_as_tcp(self: uvicorn.config.Config) -> socket.socket:
    sock = _bind_socket(self)
    if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
        sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    return sock


def main(argv: list[str]) -> int:
    # patched on the class, deliberately: uvicorn.main makes the Config itself
    uvicorn.config.Config.bind_socket = _bind_socket_as_tcp  # type: ignore[method-assign]
    return uvicorn.main.main(argv, prog_name="uvicorn", standalone_mode=False) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
