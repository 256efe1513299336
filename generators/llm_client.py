"""OpenAI chat-completions client with JSON-Schema-constrained output.

Speaks POST {base_url}/chat/completions with
  response_format = {"type": "json_schema", "json_schema": {"name", "schema", "strict"}}
so vLLM, a llama.cpp server or a hosted API serve it unchanged. Transport,
authentication, time-outs and back-off come from the `openai` SDK (installed with
vLLM; `pip install gaidt[llm]`); the raw reply text is read and checked here, so a
broken server's reply is an audited retry, never an SDK exception.

generate(messages, schema, n) asks for n choices per request and checks each
one: finish_reason must not be "length" (truncated), the content must parse as
JSON and validate against the schema. Missing candidates are asked for again
until max_attempts requests were made; candidates still missing after that are
returned as invalid with the reason, never raised. Every choice, valid or not,
is appended to the audit JSONL file (prompt hash, raw output, finish reason,
validity, error, latency, tokens, the request's sampling seed). Only the schema's properties of a valid
object are returned; no free text is ever taken.

Faults: an endpoint that refuses the connection or cannot be resolved fails
fast with LLMUnreachable naming the URL (no retry); HTTP 4xx is LLMError with
the server's message; HTTP 5xx, timeouts and broken replies are retried (the SDK's
exponential back-off for transport faults, then this module's attempts).
"""
from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import jsonschema

from gaidt.digest import json_digest
from gaidt.errors import EndpointError
from gaidt.schema_errors import explain


class LLMError(EndpointError, RuntimeError):
    """The endpoint answered with an error the caller must fix (bad model name, bad request, ...)."""


class LLMUnreachable(LLMError):
    """The endpoint could not be reached; the message has the URL."""


@dataclass
class Candidate:
    """One generated candidate: the schema-valid value (or None), why it is invalid, the raw reply and the
    attempts it took."""
    value: dict | None  # the schema-valid object (schema properties only), or None
    valid: bool
    error: str | None = None
    raw: str | None = None
    attempts: int = 1


@dataclass
class GenerationRecord:
    """One audited choice (one line of the audit JSONL)."""
    time_unix_s: float
    purpose: str
    prompt_hash: str
    url: str
    model: str
    request: int  # request number within one generate() call, from 1
    choice: int
    raw: str | None
    finish_reason: str | None
    valid: bool
    error: str | None
    latency_s: float  # of the whole request
    completion_tokens: int | None  # of the whole request (all n choices)
    prompt_tokens: int | None
    extra: dict = field(default_factory=dict)


def prompt_hash(messages: list[dict], schema: dict) -> str:
    """The digest of a prompt (messages and schema), recorded with every generation."""
    return json_digest({"messages": messages, "schema": schema})


def request_seed(seed: int, purpose: str, phash: str, attempt: int) -> int:
    """The per-request sampling seed: a stable function of the client's seed, the purpose, the prompt and
    the attempt, so the same calls give the same seeds run after run (vLLM honours a per-request
    `seed`) while a resample (another purpose) or a retry (another attempt) draws anew."""
    blob = f"{seed}|{purpose}|{phash}|{attempt}".encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:4], "big") & 0x7FFFFFFF


def check_output(raw: str | None, finish_reason: str | None, validator) -> tuple[dict | None, str | None]:
    """(value, None) for a complete, schema-valid JSON object; (None, reason) otherwise."""
    if finish_reason == "length":
        return None, "truncated: finish_reason is 'length' (max_tokens reached)"
    if raw is None:
        return None, "no content in the reply"
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as e:
        return None, f"invalid JSON: {e.msg} at position {e.pos}"
    err = next(iter(validator.iter_errors(value)), None)
    if err is not None:
        return None, f"schema violation: {explain(err, noun='field')}"
    props = validator.schema.get("properties")
    if isinstance(value, dict) and props is not None:
        value = {k: v for k, v in value.items() if k in props}
    return value, None


class LLMClient:
    """An OpenAI-compatible chat client for schema-constrained JSON (response_format json_schema): validates
    every reply, retries invalid ones, and audits each request to a JSONL file."""
    def __init__(self, base_url: str, model: str = "", api_key: str | None = None, *,
                 audit_path: str | Path | None = None, max_attempts: int = 3, timeout_s: float = 300.0,
                 connect_timeout_s: float = 5.0, temperature: float = 0.9, max_tokens: int = 256,
                 seed: int | None = 0):
        if not base_url.startswith(("http://", "https://")):
            raise LLMError(f"LLM URL {base_url!r}: must start with http:// or https:// (e.g. http://127.0.0.1:8000/v1)")
        self.base_url = base_url.rstrip("/")
        self.model = model or ""  # empty: the endpoint's first model, asked on first use
        self.api_key = api_key
        self.audit_path = Path(audit_path) if audit_path else None
        self.max_attempts = max(1, int(max_attempts))
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.seed = seed
        self._lock = threading.Lock()
        self._openai = None
        self._openai_mod = None
        self.stats = {"requests": 0, "choices": 0, "valid": 0, "completion_tokens": 0, "request_s": 0.0}

    @classmethod
    def from_env(cls, base_url: str | None = None, model: str | None = None, api_key: str | None = None, **kw):
        """Arguments first, then GAIDT_LLM_URL / GAIDT_LLM_MODEL / GAIDT_LLM_API_KEY."""
        url = base_url or os.environ.get("GAIDT_LLM_URL")
        if not url:
            raise LLMError("no LLM endpoint: pass --llm-url or set GAIDT_LLM_URL "
                           "(or let run.py start the embedded model)")
        return cls(url, model or os.environ.get("GAIDT_LLM_MODEL", ""),
                   api_key or os.environ.get("GAIDT_LLM_API_KEY"), **kw)

    # ---- HTTP
    def _check_reachable(self) -> None:
        """Fail fast (connect_timeout_s) when nothing listens at the URL."""
        from urllib.parse import urlsplit

        parts = urlsplit(self.base_url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            socket.create_connection((parts.hostname, port), timeout=self.connect_timeout_s).close()
        except OSError as e:
            raise LLMUnreachable(f"cannot reach the LLM endpoint {self.base_url}: {e.strerror or e}; "
                                 "start one with `run.py llm serve` or pass --llm-url") from None

    def _sdk(self):
        """The openai SDK client on this endpoint (created once; imported here: an optional dependency)."""
        if self._openai is None:
            try:
                import openai
            except ImportError:
                raise LLMError("the openai package is missing: pip install 'gaidt[llm]' (or openai)") from None
            self._openai_mod = openai
            self._openai = openai.OpenAI(base_url=self.base_url, api_key=self.api_key or "EMPTY",
                                         timeout=self.timeout_s, max_retries=2)
        return self._openai

    def _request(self, method: str, path: str, body: dict | None = None) -> dict:
        """One request through the SDK's raw-response interface; the JSON body as a dict."""
        sdk = self._sdk()
        openai = self._openai_mod
        url = f"{self.base_url}{path}"
        try:
            if method == "GET":
                raw = sdk.models.with_raw_response.list()
            else:
                body = dict(body or {})
                known = {k: body.pop(k) for k in ("model", "messages", "n", "max_tokens", "temperature", "seed",
                                                  "response_format") if k in body}
                raw = sdk.chat.completions.with_raw_response.create(**known, extra_body=body or None)
            text = raw.http_response.text
        except openai.APIStatusError as e:
            detail = (e.response.text if e.response is not None else str(e))[:300]
            if 400 <= e.status_code < 500:
                raise LLMError(f"LLM endpoint {url} answered HTTP {e.status_code}: {detail}") from None
            raise _Retryable(f"HTTP {e.status_code}: {detail}") from None
        except openai.APIConnectionError as e:  # includes time-outs, after the SDK's own back-off
            cause = e.__cause__
            if isinstance(cause, (ConnectionRefusedError, socket.gaierror)) or "refused" in str(cause or ""):
                raise LLMUnreachable(f"cannot reach the LLM endpoint {self.base_url}: {cause}; "
                                     "start one with `run.py llm serve` or pass --llm-url") from None
            raise _Retryable(f"request failed: {cause or e}") from None
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise _Retryable(f"the endpoint's reply is not JSON: {text[:120]!r}") from None

    def models(self) -> list[str]:
        """The model ids the endpoint serves (raises LLMUnreachable when it cannot be reached)."""
        self._check_reachable()
        return [m["id"] for m in self._request("GET", "/models").get("data", [])]

    # ---- generation
    def generate(self, messages: list[dict], schema: dict, n: int = 1, *, name: str = "candidate",
                 purpose: str = "scenario", extra_body: dict | None = None) -> list[Candidate]:
        """n candidates (valid ones first); see the module docstring for retries and audit."""
        self._check_reachable()
        if not self.model:
            models = self.models()
            if not models:
                raise LLMError(f"the LLM endpoint {self.base_url} lists no model: pass --llm-model")
            self.model = models[0]
        validator = jsonschema.Draft202012Validator(schema)
        phash = prompt_hash(messages, schema)
        valid: list[Candidate] = []
        last_errors: list[str] = []
        attempt = 0
        while len(valid) < n and attempt < self.max_attempts:
            attempt += 1
            want = n - len(valid)
            body = {"model": self.model, "messages": messages, "n": want, "max_tokens": self.max_tokens,
                    "temperature": self.temperature,
                    "response_format": {"type": "json_schema",
                                        "json_schema": {"name": name, "schema": schema, "strict": True}}}
            if self.seed is not None:
                body["seed"] = request_seed(self.seed, purpose, phash, attempt)
            body.update(extra_body or {})
            t0 = time.monotonic()
            try:
                reply = self._request("POST", "/chat/completions", body)
                error = None
            except _Retryable as e:
                reply, error = None, str(e)
            latency = time.monotonic() - t0
            choices = (reply or {}).get("choices") if isinstance(reply, dict) else None
            usage = (reply or {}).get("usage") or {}
            if not isinstance(choices, list) or not choices:
                error = error or "reply has no choices"
                last_errors.append(error)
                self._audit(GenerationRecord(time.time(), purpose, phash, self.base_url, self.model, attempt, -1,
                                             json.dumps(reply)[:2000] if reply is not None else None, None, False,
                                             error, latency, usage.get("completion_tokens"),
                                             usage.get("prompt_tokens"), {"seed": body.get("seed")}))
                self._count(latency, 0, 0, usage)
                continue
            n_valid = 0
            for i, ch in enumerate(choices[:want]):
                ch = ch if isinstance(ch, dict) else {}
                msg = ch.get("message") if isinstance(ch.get("message"), dict) else {}
                raw = msg.get("content") if isinstance(msg.get("content"), str) else None
                finish = ch.get("finish_reason")
                value, err = check_output(raw, finish, validator)
                self._audit(GenerationRecord(time.time(), purpose, phash, self.base_url, self.model, attempt, i,
                                             raw, finish, err is None, err, latency,
                                             usage.get("completion_tokens"), usage.get("prompt_tokens"),
                                             {"seed": body.get("seed")}))
                if err is None:
                    valid.append(Candidate(value, True, None, raw, attempt))
                    n_valid += 1
                else:
                    last_errors.append(err)
            self._count(latency, len(choices[:want]), n_valid, usage)
        out = valid[:n]
        for _ in range(n - len(out)):
            reason = last_errors[-1] if last_errors else "no reply"
            out.append(Candidate(None, False, f"no valid output after {attempt} request(s): {reason}", None, attempt))
        return out

    def _count(self, latency: float, choices: int, valid: int, usage: dict) -> None:
        with self._lock:
            self.stats["requests"] += 1
            self.stats["choices"] += choices
            self.stats["valid"] += valid
            self.stats["completion_tokens"] += int(usage.get("completion_tokens") or 0)
            self.stats["request_s"] += latency

    def _audit(self, rec: GenerationRecord) -> None:
        if self.audit_path is None:
            return
        line = json.dumps(asdict(rec), separators=(",", ":"))
        with self._lock:
            self.audit_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.audit_path, "a") as f:
                f.write(line + "\n")


class _Retryable(Exception):
    pass


def check_endpoint(url: str, model: str | None = None, api_key: str | None = None) -> str:
    """Before a campaign spends runs: the endpoint answers and serves `model` (default: its first
    model, returned). Raises LLMUnreachable or LLMError with one line naming the endpoint."""
    client = LLMClient(url, model or "", api_key, connect_timeout_s=5.0, timeout_s=30.0)
    models = client.models()
    if not models:
        raise LLMError(f"the LLM endpoint {url} serves no model")
    if model and model not in models:
        raise LLMError(f"the LLM endpoint {url} does not serve {model!r}; it serves {', '.join(models)}")
    return model or models[0]

