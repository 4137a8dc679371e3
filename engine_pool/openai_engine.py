"""The ``Engine`` protocol over a remote OpenAI-compatible server.

vLLM (``vllm serve`` / ``python -m vllm.entrypoints.openai.api_server``), SGLang, LMDeploy and
``swift deploy`` all stream ``/v1/chat/completions`` as server-sent events: ``data: {json}``
lines, a blank line after each event, and ``data: [DONE]`` at the end. A LoRA adapter is served
under its own model name (vLLM's ``--lora-modules name=path``), so an adapter request only changes
the ``model`` field.

Token counts: a content delta is one token unless logprobs are on (then the logprobs list gives the
exact count). The stream asks for ``stream_options.include_usage``; the server's final
``usage.completion_tokens`` then corrects the running count with one last empty chunk — the
end-of-sequence token, for one, is counted by the server but carries no text. (The correction is
negative only if a server ever sent more text deltas than tokens; the sum stays exact.)

Closing the stream closes the HTTP connection, which is how these servers learn to abort.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, AsyncIterator

import httpx

from .base import Chunk, EngineError, GenerationRequest
from .hardware import Hardware


class OpenAIEngine:
    def __init__(
        self,
        name: str,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout_s: float = 30,
    ) -> None:
        self.name = name
        root = base_url.rstrip("/")
        if root.endswith("/v1"):
            root = root[: -len("/v1")]
        self.base_url = root
        self.model = model
        self.api_key = api_key
        self.timeout_s = timeout_s
        self._client: httpx.AsyncClient | None = None

    def __repr__(self) -> str:
        return f"OpenAIEngine(name={self.name!r}, base_url={self.base_url!r}, model={self.model!r})"

    @property
    def chat_url(self) -> str:
        return f"{self.base_url}/v1/chat/completions"

    @property
    def models_url(self) -> str:
        return f"{self.base_url}/v1/models"

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            headers = {"Accept": "application/json"}
            if self.api_key:
                headers["Authorization"] = f"Bearer {self.api_key}"
            self._client = httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(self.timeout_s))
        return self._client

    async def start(self) -> None:
        """Open the connection pool and check the server serves ``model``. Idempotent."""
        served = await self.served_models()
        if self.model not in served:
            raise EngineError(
                f"engine {self.name!r}: {self.models_url} does not serve model {self.model!r} "
                f"(it serves: {', '.join(sorted(served)) or 'nothing'})"
            )

    async def served_models(self) -> list[str]:
        """The model ids ``/v1/models`` lists (base model and LoRA adapters)."""
        try:
            response = await self._http().get(self.models_url)
        except httpx.HTTPError as error:
            raise EngineError(f"engine {self.name!r}: GET {self.models_url} failed: {_describe(error)}") from error
        if response.status_code != 200:
            raise EngineError(
                f"engine {self.name!r}: GET {self.models_url} returned HTTP {response.status_code}: {_snippet(response.text)}"
            )
        try:
            return [entry["id"] for entry in response.json()["data"]]
        except (ValueError, KeyError, TypeError) as error:
            raise EngineError(f"engine {self.name!r}: GET {self.models_url} returned no model list: {_snippet(response.text)}") from error

    def request_body(self, request: GenerationRequest) -> dict[str, Any]:
        sampling = request.sampling
        body: dict[str, Any] = {
            "model": request.adapter.name if request.adapter is not None else self.model,
            "messages": request.messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "max_tokens": sampling.max_tokens,
        }
        if sampling.seed is not None:
            body["seed"] = sampling.seed
        if sampling.stop:
            body["stop"] = list(sampling.stop)
        if sampling.logprobs is not None:
            body["logprobs"] = True
            body["top_logprobs"] = sampling.logprobs
        return body

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Chunk]:
        url = self.chat_url
        body = self.request_body(request)
        headers = {"Accept": "text/event-stream", "X-Request-Id": request.request_id}
        counted = 0
        try:
            async with self._http().stream("POST", url, json=body, headers=headers) as response:
                if response.status_code != 200:
                    text = (await response.aread()).decode("utf-8", "replace")
                    raise EngineError(f"engine {self.name!r}: POST {url} returned HTTP {response.status_code}: {_snippet(text)}")
                async for event in _sse_events(response):
                    if event == "[DONE]":
                        break
                    try:
                        payload = json.loads(event)
                    except ValueError:
                        payload = None
                    if not isinstance(payload, dict):
                        raise EngineError(f"engine {self.name!r}: POST {url} sent a malformed event: {_snippet(event)}")
                    if payload.get("error"):
                        detail = _snippet(json.dumps(payload["error"]))
                        raise EngineError(f"engine {self.name!r}: POST {url} failed mid-stream: {detail}")
                    chunk = _chunk_from_payload(payload, request.sampling.logprobs)
                    if chunk is not None:
                        counted += chunk.token_count
                        yield chunk
                    usage = payload.get("usage")
                    if usage and usage.get("completion_tokens") is not None:
                        correction = int(usage["completion_tokens"]) - counted
                        if correction:
                            counted += correction
                            yield Chunk("", correction)
        except (EngineError, asyncio.CancelledError, GeneratorExit):
            raise
        except httpx.HTTPError as error:
            raise EngineError(f"engine {self.name!r}: POST {url} failed: {_describe(error)}") from error

    def hardware(self) -> Hardware:
        """Not visible from here: the server's address stands in for its hardware."""
        return Hardware("remote", self.base_url, 0)

    async def healthy(self) -> bool:
        try:
            response = await self._http().get(self.models_url, timeout=min(self.timeout_s, 5.0))
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


async def _sse_events(response: httpx.Response) -> AsyncIterator[str]:
    """The ``data`` of each server-sent event (multi-line data joined with newlines)."""
    data: list[str] = []
    async for line in response.aiter_lines():
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue  # comment / keep-alive
        field, _, value = line.partition(":")
        if field == "data":
            value = value[1:] if value.startswith(" ") else value
            if value == "[DONE]":
                # Some servers omit the blank line after the last event.
                if data:
                    yield "\n".join(data)
                yield value
                return
            data.append(value)
    if data:
        yield "\n".join(data)


def _chunk_from_payload(payload: dict[str, Any], top_k: int | None) -> Chunk | None:
    choices = payload.get("choices") or []
    if not choices:
        return None  # the usage-only event at the end
    choice = choices[0]
    text = (choice.get("delta") or {}).get("content") or ""
    logprobs = choice.get("logprobs") or {}
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    if content:
        top_logprobs = sampled = None
        if top_k is not None:
            top_logprobs = [_top_alternatives(entry, top_k) for entry in content]
            sampled = [(str(entry.get("token", "")), float(entry.get("logprob", 0.0))) for entry in content]
        return Chunk(text, len(content), top_logprobs, sampled)
    if not text:
        return None
    return Chunk(text, 1)


def _top_alternatives(entry: dict[str, Any], k: int) -> dict[str, float]:
    alternatives: dict[str, float] = {}
    for alternative in (entry.get("top_logprobs") or [])[:k]:
        token = alternative.get("token")
        if token is not None and token not in alternatives:
            alternatives[token] = float(alternative["logprob"])
    return alternatives


def _describe(error: httpx.HTTPError) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _snippet(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"
