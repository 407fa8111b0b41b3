"""A bare grpc.aio echo server: the baseline every gRPC figure is compared with.

    python -m tools.load.echo [--port 0]

One method, /load.Echo/Echo, answers the request bytes as they came, with no interceptor, no
(de)serialisation, no logging and no database: what grpc.aio itself costs per call on this machine.
`--method /pkg.Service/Method` (repeatable) answers those names the same way, so a gateway can be
put in front of it and forward real method names to an upstream that costs what the echo costs.
Prints `echo grpc://HOST:PORT` once it listens; stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Sequence

import grpc
import uvloop

METHOD = "/load.Echo/Echo"


def _same(data: bytes) -> bytes:
    return data


async def _echo(request: bytes, context) -> bytes:
    return request


async def serve(host: str, port: int, methods: Sequence[str] = ()) -> None:
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    by_service: dict[str, dict[str, grpc.RpcMethodHandler]] = {}
    for method in (METHOD, *methods):
        service, name = method.strip("/").split("/")
        by_service.setdefault(service, {})[name] = grpc.unary_unary_rpc_method_handler(
            _echo, request_deserializer=_same, response_serializer=_same)
    server.add_generic_rpc_handlers(tuple(grpc.method_handlers_generic_handler(service, handlers)
                                          for service, handlers in by_service.items()))
    bound = server.add_insecure_port(f"{host}:{port}")
    await server.start()
    print(f"echo grpc://{host}:{bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await server.stop(0.5)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--method", action="append", default=[], help="a further /pkg.Service/Method to echo")
    arguments = parser.parse_args()
    uvloop.run(serve(arguments.host, arguments.port, arguments.method))
