"""The one place the OpenAI-compatible LLM client is built.

Answers (:mod:`kb.answer.llm`), LLM-written quiz questions (:mod:`kb.quiz.llm_generate`) and
ragas' judge (``eval/ragas_llm.py``) all talk to the endpoint of ``llm_base_url`` through
llama-index's ``OpenAILike``. They build it here, so an endpoint that needs something more —
an extra header, another context window, a different retry policy — is one change in this
module, not three that drift apart. What differs between the callers stays theirs to say:
the sampling temperature, and the httpx client (sync or async) the calls go over.

Callers pass their own httpx client, made with :func:`http_client_options`, so a loopback
server is reached without the environment's HTTP(S)_PROXY and the sockets are closed when
the caller's ``with`` block ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from kb.config import Settings

if TYPE_CHECKING:
    import httpx
    from llama_index.llms.openai_like import OpenAILike

MAX_RETRIES = 1  # one quick retry on 5xx / connection errors; a dead endpoint must fail fast
CONTEXT_WINDOW = 32768
NO_KEY = "no-key"  # sent when llm_api_key is empty, so OPENAI_API_KEY never leaks to another host
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def llm_base(settings: Settings) -> str:
    """``llm_base_url`` as it is sent: stripped, without a trailing slash."""
    return settings.llm_base_url.strip().rstrip("/")


def http_client_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for the ``httpx.Client`` / ``httpx.AsyncClient`` a caller passes to
    :func:`make_llm`: the configured timeout, and no proxy from the environment for a
    loopback server (a local model must not be reached through HTTP(S)_PROXY)."""
    host = urlparse(llm_base(settings)).hostname or ""
    return {"timeout": settings.llm_timeout, "trust_env": host not in LOOPBACK_HOSTS}


def make_llm(settings: Settings, *, temperature: float, http_client: httpx.Client | None = None,
             async_http_client: httpx.AsyncClient | None = None, reuse_client: bool = False) -> OpenAILike:
    """The llama-index ``OpenAILike`` for the endpoint of ``settings`` (``llm_base_url``,
    ``llm_model``, ``llm_api_key``, ``llm_timeout``): a chat model without function calling,
    :data:`CONTEXT_WINDOW` tokens, :data:`MAX_RETRIES` retry, :data:`NO_KEY` when no key is set.

    Every caller builds its client here so that the parameters reaching the server are set in
    one place; an endpoint that needs e.g. extra headers is changed here for answers, quiz
    generation and the ragas judge at once. ``temperature`` is the caller's; pass
    ``http_client`` for sync calls or ``async_http_client`` for async ones (see
    :func:`http_client_options`). ``reuse_client`` keeps one OpenAI SDK client for all calls
    (the concurrent async calls of ragas) instead of a fresh one per call over the same httpx
    client. Checking the settings is the caller's job; this only builds, it sends nothing.
    """
    from llama_index.llms.openai_like import OpenAILike

    return OpenAILike(
        model=settings.llm_model.strip(),
        api_base=llm_base(settings),
        api_key=settings.llm_api_key.strip() or NO_KEY,
        is_chat_model=True,
        is_function_calling_model=False,
        context_window=CONTEXT_WINDOW,
        timeout=settings.llm_timeout,
        max_retries=MAX_RETRIES,
        temperature=temperature,
        reuse_client=reuse_client,
        http_client=http_client,
        async_http_client=async_http_client,
    )
