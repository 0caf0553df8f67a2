"""The review app: a Starlette ASGI app served by uvicorn, over one output folder.

Security, in the order a request meets it (``Guard``): the Host header must name this machine
when the app listens on loopback (a web page elsewhere cannot rebind a name to it); every
request carries the access token printed at start (``?token=`` once, then a SameSite=Strict
cookie; requests that change anything must send it in the ``X-Review-Token`` header, which a
page elsewhere cannot set); bodies over ``MAX_BODY_BYTES`` are refused; no path with ``..``
reaches a handler. Files are served only by name from fixed lists (static assets, the
recording's tracks from ``ingest.json``, exported captions) and only if their real path, symlinks
resolved, lies inside the output folder or the app's static folder. The page builds every node
with ``textContent``; the Content-Security-Policy allows no inline script.
"""

from __future__ import annotations

import errno
import hmac
import ipaddress
import json
import re
import secrets
import threading
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from ..core import artifacts
from ..core.errors import PipelineError
from . import api

STATIC = Path(__file__).parent / "static"
STATIC_FILES = {"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
                "app.css": "text/css; charset=utf-8"}
MAX_BODY_BYTES = 256 * 1024
MAX_NESTING = 32  # the API's bodies are flat objects; 100,000 nested "[" hit the parser's recursion limit
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
COOKIE = "review_token"
TOKEN_HEADER = b"x-review-token"
NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                                 b"media-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
                                 b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),  # the token is in the page's URL
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


async def _send_json(send, status: int, message: str, extra_headers=()) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *SECURITY_HEADERS, *extra_headers]})
    await send({"type": "http.response.body", "body": body})


def _host_name(header: str) -> str:
    """The name in a Host header, without the port ("[::1]:8765" -> "[::1]")."""
    if header.startswith("["):
        return header[: header.find("]") + 1]
    return header.split(":", 1)[0]


class Guard:
    """Token, host, path and body-size checks in front of every request (pure ASGI)."""

    def __init__(self, app, token: str, allowed_hosts: set[str] | None, max_body: int = MAX_BODY_BYTES):
        self.app, self.token, self.allowed_hosts, self.max_body = app, token, allowed_hosts, max_body

    def _token_ok(self, supplied: str | None) -> bool:
        return bool(supplied) and hmac.compare_digest(supplied.encode(), self.token.encode())

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.lower(): v for k, v in scope["headers"]}
        host = _host_name(headers.get(b"host", b"").decode("latin-1"))
        if self.allowed_hosts is not None and host not in self.allowed_hosts:
            return await _send_json(send, 403, f"host {host!r} not allowed; open the URL the review command printed")
        raw = scope.get("raw_path") or scope["path"].encode()
        path = scope["path"]
        if ".." in path.split("/") or "\\" in path or "\x00" in path or b"%2e%2e" in raw.lower() or b"%2f" in raw.lower():
            return await _send_json(send, 400, "path not allowed")
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        from_query = (query.get("token") or [None])[0]
        cookie = SimpleCookie(headers.get(b"cookie", b"").decode("latin-1"))
        from_cookie = cookie[COOKIE].value if COOKIE in cookie else None
        from_header = headers.get(TOKEN_HEADER, b"").decode("latin-1") or None
        if scope["method"] in ("GET", "HEAD"):
            ok = any(self._token_ok(t) for t in (from_header, from_query, from_cookie))
        else:  # changes need the header: a form or page elsewhere cannot send it
            ok = self._token_ok(from_header)
        if not ok:
            return await _send_json(send, 401, "missing or wrong access token: open the URL printed by "
                                               "`python -m pipeline review` (it changes each time the app starts)")
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            return await _send_json(send, 413, f"request body larger than {self.max_body} bytes")
        app_receive = receive
        if scope["method"] not in ("GET", "HEAD"):  # bodies are small: read whole, counting as they stream
            body, more = b"", True
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    return
                body += message.get("body", b"")
                more = message.get("more_body", False)
                if len(body) > self.max_body:
                    return await _send_json(send, 413, f"request body larger than {self.max_body} bytes")
            replayed = False

            async def replay():
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            app_receive = replay

        set_cookie = self._token_ok(from_query) and from_cookie != self.token

        async def guarded_send(message):
            if message["type"] == "http.response.start":
                extra = list(SECURITY_HEADERS)
                if set_cookie:
                    extra.append((b"set-cookie", f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict".encode()))
                names = {k.lower() for k, _ in message.get("headers", [])}
                message = {**message, "headers": [*message.get("headers", []), *(h for h in extra if h[0] not in names)]}
            await send(message)

        await self.app(scope, app_receive, guarded_send)


def _inside(path: Path, root: Path) -> Path | None:
    """``path`` with symlinks resolved, if that lies inside ``root`` and is a file."""
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    return real if real.is_file() and real.is_relative_to(root.resolve()) else None


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def nesting_depth(raw: bytes) -> int:
    """How deep arrays and objects nest in a JSON text, counted without parsing it (strings,
    which may hold brackets, are left out first)."""
    depth = deepest = 0
    for bracket in _JSON_STRING.sub(b'""', raw).translate(None, _NOT_BRACKETS):
        depth += 1 if bracket in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


def make_app(out_dir: Path, token: str, allowed_hosts: set[str] | None = None) -> Starlette:
    """The ASGI app over ``out_dir``; ``allowed_hosts``: Host header names accepted (None: any)."""
    out_dir = Path(out_dir).resolve()
    review = api.Review(out_dir)

    def static(request: Request) -> Response:
        name = request.path_params.get("name", "index.html")
        if name not in STATIC_FILES:
            return _error(404, f"no such file: {name}")
        real = _inside(STATIC / name, STATIC)
        if real is None:
            return _error(404, f"no such file: {name}")
        return FileResponse(real, media_type=STATIC_FILES[name])

    def audio(request: Request) -> Response:
        track = request.path_params["track"]
        if not NAME.match(track):
            return _error(400, "bad track name")
        relative = review.track_paths().get(track)
        if relative is None:
            return _error(404, f"no audio track named {track!r} in ingest.json")
        real = _inside(out_dir / relative, out_dir)
        if real is None:
            return _error(403, f"track {track!r}: its file is missing or lies outside the output folder")
        return FileResponse(real, media_type="audio/wav")  # answers Range requests (206) for seeking

    def exported(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in api.EXPORT_FILES:
            return _error(404, f"no such export: {name}")
        real = _inside(out_dir / api.EXPORT_DIR / name, out_dir)
        if real is None:
            return _error(404, f"{name} has not been exported yet")
        return FileResponse(real, media_type="text/plain; charset=utf-8", filename=name)

    async def call(request: Request, name: str) -> Response:
        body = {}
        if request.method == "POST":
            raw = await request.body()
            if nesting_depth(raw) > MAX_NESTING:  # bounded before parsing: no RecursionError, no 500
                return _error(422, f"request body nests deeper than {MAX_NESTING} levels")
            try:
                body = json.loads(raw or b"{}")
            except ValueError as e:
                return _error(400, f"request body is not valid JSON ({getattr(e, 'msg', e)})")
            if not isinstance(body, dict):
                return _error(400, "request body must be a JSON object")
        status, payload = await run_in_threadpool(api.handle, review, request.method, name,
                                                  dict(request.path_params), body)
        return JSONResponse(payload, status_code=status)

    def api_route(path: str, name: str, method: str = "POST") -> Route:
        async def endpoint(request: Request) -> Response:
            return await call(request, name)
        return Route(path, endpoint, methods=[method], name=name)

    def favicon(request: Request) -> Response:
        return Response(status_code=204)

    routes = [Route("/", static), Route("/favicon.ico", favicon), Route("/static/{name}", static), Route("/audio/{track}", audio),
              Route("/export/{name}", exported)]
    routes += [api_route(path, name, method) for (method, name), path in api.PATHS.items()]
    app = Starlette(routes=routes)
    app.state.review = review
    return Guard(app, token, allowed_hosts)


class ServerThread:
    """uvicorn in a background thread (tests, the benchmark, the screenshot)."""

    def __init__(self, out_dir: Path, host: str = "127.0.0.1", port: int = 0, token: str | None = None):
        import socket

        import uvicorn

        self.token = token or secrets.token_urlsafe(24)
        if port == 0:
            with socket.socket() as probe:
                probe.bind((host, 0))
                port = probe.getsockname()[1]
        self.host, self.port = host, port
        app = make_app(out_dir, self.token, allowed_hosts=LOOPBACK_NAMES if is_loopback(host) else None)
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/?token={self.token}"

    def __enter__(self) -> "ServerThread":
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("review server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve(out_dir: Path, host: str = "127.0.0.1", port: int = 8765, allow_remote: bool = False) -> None:
    """``python -m pipeline review OUT_DIR``: print the URL with a fresh token, serve until Ctrl+C.
    Every save is committed to the journal when it is made, so closing the app loses nothing."""
    import uvicorn

    out_dir = Path(out_dir)
    if not (out_dir / "aligned.json").is_file():
        raise PipelineError(f"{out_dir / 'aligned.json'}: not found; run the pipeline up to the align stage first")
    artifacts.read_artifact(out_dir / "aligned.json")
    if not is_loopback(host) and not allow_remote:
        raise PipelineError(f"--host {host}: not a loopback address; add --allow-remote to listen there "
                            f"(the access token is still required)")
    token = secrets.token_urlsafe(24)
    app = make_app(out_dir, token, allowed_hosts=LOOPBACK_NAMES if is_loopback(host) else None)
    listening = bind(host, port)  # first: a busy port is one line, and no URL with a token is shown for it
    port = listening.getsockname()[1]
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    shown = f"[{shown}]" if ":" in shown else shown
    print(f"Review app for {out_dir}: http://{shown}:{port}/?token={token}", flush=True)
    print("Edits are saved as they are made (review/edits.sqlite); Ctrl+C stops the app.", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    server.run(sockets=[listening])


def bind(host: str, port: int):
    """A listening socket on ``host:port``, or one line saying why there is none."""
    import socket

    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        listening = socket.socket(family, socket.SOCK_STREAM)
    except OSError as e:
        raise PipelineError(f"--host {host}: cannot listen there ({e.strerror or e})") from e
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # what uvicorn does: restart at once
        listening.bind((host, port))
        listening.listen(128)
    except OSError as e:
        listening.close()
        busy = " (another program, or another review app, uses it: choose another --port)" \
            if e.errno == errno.EADDRINUSE else ""
        raise PipelineError(f"--port {port}: cannot listen on {host}:{port}: {e.strerror or e}{busy}") from e
    listening.set_inheritable(True)
    return listening
