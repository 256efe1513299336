"""The Explorer's web app: the HTTP API and the static page over a RunData or a LiveRun, served on one socket."""

import asyncio
import hmac
import json
import socket
from pathlib import Path

from .live import LiveRun
from .run_data import ExploreError

STATIC_DIR = Path(__file__).resolve().parent.parent / "explorer"  # the page: experiments/explorer/


LOOPBACK = ("127.0.0.1", "localhost", "::1")


# ---------------------------------------------------------------- the web app
def create_app(source, token: str | None = None, allowed_hosts: tuple[str, ...] | None = None):
    """The FastAPI app over a RunData or a LiveRun. token: required on /api routes when set;
    allowed_hosts: Host header names accepted (DNS-rebinding guard), None for any."""
    from fastapi import FastAPI, Request
    from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse

    app = FastAPI(title="GAIDT Twin Explorer", docs_url=None, redoc_url=None, openapi_url=None)
    live = isinstance(source, LiveRun)

    @app.middleware("http")
    async def guard(request: Request, call_next):
        host = (request.headers.get("host") or "").rsplit(":", 1)[0].strip("[]")
        if allowed_hosts is not None and host not in allowed_hosts:
            return JSONResponse({"error": f"Host = {host!r}: not served here"}, status_code=403)
        if token and request.url.path.startswith("/api/"):
            given = request.query_params.get("token") or \
                request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode(), token.encode()):
                return JSONResponse({"error": "token: missing or wrong (pass ?token=T)"}, status_code=401)
        origin = request.headers.get("origin")
        if request.method not in ("GET", "HEAD", "OPTIONS") and origin is not None and \
                origin != f"{request.url.scheme}://{request.headers.get('host', '')}":
            # a state-changing route answers the page it served, not another site's script
            return JSONResponse({"ok": False, "error": f"Origin = {origin[:80]!r}: not this page's origin"},
                                status_code=403)
        try:
            return await call_next(request)
        except Exception as e:  # noqa: BLE001 -- damaged data: one line to the page, no traceback in the log
            return JSONResponse({"error": f"{request.url.path}: {type(e).__name__}: {str(e)[:200]}"},
                                status_code=500)

    def err(e: ExploreError, status: int = 404):
        return JSONResponse({"error": str(e)}, status_code=status)

    @app.get("/")
    def index():
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})

    @app.get("/static/{name}")
    def static(name: str):
        p = STATIC_DIR / name
        if "/" in name or name.startswith(".") or not p.is_file():
            return JSONResponse({"error": f"static file {name!r}: not found"}, status_code=404)
        return FileResponse(p, headers={"Cache-Control": "no-store"})

    @app.get("/api/run")
    def run():
        return Response(json.dumps(source.summary(), separators=(",", ":")), media_type="application/json")

    @app.get("/api/round/{k}")
    def round_state(k: int, columns: str | None = None):
        try:
            data = source.state(k).to_json([c for c in columns.split(",") if c] if columns else None)
        except ExploreError as e:
            return err(e)
        return Response(json.dumps(data, separators=(",", ":")), media_type="application/json")

    @app.get("/api/node/{node_id}")
    def node(node_id: str, round: int | None = None):  # the query parameter's name
        try:
            return source.node(node_id, round)
        except ExploreError as e:
            return err(e)

    @app.get("/api/node/{node_id}/history")
    def history(node_id: str, attr: str):
        try:
            return source.history(node_id, attr)
        except ExploreError as e:
            return err(e)

    if live:
        @app.get("/api/live")
        async def events(request: Request):
            loop = asyncio.get_running_loop()
            q: asyncio.Queue = asyncio.Queue(maxsize=256)
            source.listen(loop, q)

            async def stream():
                try:
                    sync = {"rounds": source.rounds, "end": source.end, "parameters": source.summary()["parameters"]}
                    yield f"event: sync\ndata: {json.dumps(sync)}\n\n"
                    while True:
                        try:
                            yield await asyncio.wait_for(q.get(), timeout=10.0)
                        except asyncio.TimeoutError:
                            if await request.is_disconnected():
                                return
                            yield ": keep-alive\n\n"
                finally:
                    source.unlisten(loop, q)

            return StreamingResponse(stream(), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

        @app.post("/api/command")
        async def command(request: Request):
            # JSON only: a cross-site form post cannot send this content type without a CORS preflight
            if not request.headers.get("content-type", "").startswith("application/json"):
                return JSONResponse({"ok": False, "error": "Content-Type: expected application/json"},
                                    status_code=415)
            try:
                req = await request.json()
            except json.JSONDecodeError:
                return JSONResponse({"ok": False, "error": "body: not JSON"}, status_code=400)
            if not isinstance(req, dict):
                return JSONResponse({"ok": False, "error": "body: expected a JSON object"}, status_code=400)
            return await asyncio.to_thread(source.command, req)

    return app


def serve(source, host: str = "127.0.0.1", port: int = 0, token: str | None = None,
          on_ready=None) -> None:
    """Serve the explorer until interrupted. on_ready(url) is called once the socket listens."""
    import uvicorn

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise ExploreError(f"--host {host} --port {port}: cannot bind ({e.strerror})") from None
    sock.listen(128)
    bound_port = sock.getsockname()[1]
    loopback = host in LOOPBACK
    allowed = (*LOOPBACK,) if loopback else None
    app = create_app(source, token=token, allowed_hosts=allowed)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{bound_port}/" + (f"?token={token}" if token else "")
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2, access_log=False)
    server = uvicorn.Server(config)
    if on_ready:
        on_ready(url)
    server.run(sockets=[sock])
