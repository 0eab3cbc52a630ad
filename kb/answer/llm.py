"""A generated answer from an OpenAI-compatible endpoint (Ollama, vLLM, Qwen/DeepSeek APIs).

Goes through llama-index's ``OpenAILike`` (built by :func:`kb.llm_client.make_llm`, shared with
quiz generation and the ragas judge) so any llama-index user recognises the setup, streams
tokens to ``on_token`` so a UI can show progress, and hands the full text to
:func:`kb.answer.verify.verify_generated`. Every failure — endpoint down, timeout, HTTP error,
garbage, or an answer whose every sentence fails verification — becomes one :class:`LLMError`
with a one-line message, so the composer can fall back to the extractive answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from kb.answer.model import Citation
from kb.answer.prompt import build_messages
from kb.answer.verify import VerifiedText, verify_generated
from kb.config import Settings
from kb.errors import KBError
from kb.llm_client import http_client_options, llm_base, make_llm

MAX_OUTPUT_CHARS = 20000  # a rambling model is cut off instead of streaming forever

_THINK = re.compile(r"<think>.*?</think>", re.S)
_OPEN_THINK = "<think>"


class LLMError(KBError):
    """The LLM could not produce a usable answer; the message says why, on one line."""


def llm_configured(settings: Settings) -> bool:
    """An LLM is used only when a base URL is configured; otherwise answers are extractive."""
    return bool(settings.llm_base_url.strip())


def generate(question: str, citations: list[Citation], settings: Settings,
             history: list[str] | list[dict[str, str]] | None = None,
             on_token: Callable[[str], None] | None = None) -> tuple[str, VerifiedText]:
    """Ask the model, stream its tokens, verify the result.

    Returns ``(text, verified)``: the model's text (reasoning blocks removed) and what
    survived verification. ``on_token`` receives the unverified draft as it streams; show
    ``verified.text`` once this returns. Raises :class:`LLMError` and nothing else.
    """
    base = llm_base(settings)
    if not base:
        raise LLMError("no LLM configured (set llm_base_url)")
    if not base.startswith(("http://", "https://")):
        raise LLMError(f"llm_base_url must start with http:// or https:// (got {base!r})")
    if not settings.llm_timeout > 0:
        raise LLMError(f"llm_timeout must be a positive number of seconds (got {settings.llm_timeout!r})")
    if not settings.llm_model.strip():
        raise LLMError("llm_model is not set; name the model the endpoint serves")
    if not citations:
        raise LLMError("no provisions to answer from")
    try:
        text = _stream(question, citations, settings, history, on_token)
    except LLMError:
        raise
    except Exception as exc:  # every failure becomes one line the user can act on
        raise LLMError(describe_failure(exc, base, settings.llm_timeout)) from exc
    if not text.strip():
        raise LLMError(f"the LLM at {base} returned an empty answer (no content in its stream)")
    try:
        verified = verify_generated(text, citations)
    except Exception as exc:  # a verifier bug must not take the answer path down
        raise LLMError(f"could not verify the LLM answer ({type(exc).__name__}: {exc})") from exc
    if not verified.kept and not verified.abstained:
        if not verified.dropped:
            raise LLMError("the LLM answer failed citation checks: it cites no provision")
        raise LLMError(_one_line(f"the LLM answer failed citation checks: all {len(verified.dropped)} "
                                 f"sentences dropped (first: {verified.dropped[0][1]})"))
    return text, verified


def _stream(question: str, citations: list[Citation], settings: Settings,
            history: list[str] | list[dict[str, str]] | None,
            on_token: Callable[[str], None] | None) -> str:
    """Run one streaming chat call; an own httpx client is closed afterwards (no leaked sockets)."""
    import httpx
    from llama_index.core.llms import ChatMessage

    # http_client_options: a local server must not be reached through an HTTP(S)_PROXY from the environment.
    with httpx.Client(**http_client_options(settings)) as http:
        llm = make_llm(settings, temperature=0.1, http_client=http)
        messages = [ChatMessage(role=m["role"], content=m["content"]) for m in build_messages(
            question, citations, history)]
        raw, shown = "", 0
        for chunk in llm.stream_chat(messages):
            raw += chunk.delta or ""
            if len(raw) > MAX_OUTPUT_CHARS:
                raise LLMError(f"the LLM answer exceeded {MAX_OUTPUT_CHARS} characters; stopped reading")
            shown = _emit(raw, shown, on_token, final=False)
        _emit(raw, shown, on_token, final=True)
    return strip_reasoning(raw)


def _emit(raw: str, shown: int, on_token: Callable[[str], None] | None, final: bool) -> int:
    """Pass on the newly visible part of the draft (reasoning hidden); returns chars shown."""
    if on_token is None:
        return shown
    visible = _without_reasoning(raw) if final else _visible_prefix(raw)
    if len(visible) > shown:
        try:
            on_token(visible[shown:])
        except Exception as exc:
            raise LLMError(f"the streaming callback failed ({type(exc).__name__}: {exc})") from exc
        return len(visible)
    return shown


def strip_reasoning(text: str) -> str:
    """Remove <think>…</think> (some servers put reasoning in the content); an unclosed block is
    all reasoning, and text before a stray </think> is too."""
    return _without_reasoning(text).strip()


def _without_reasoning(text: str) -> str:
    if "<" not in text:
        return text
    text = _THINK.sub("", text)
    if "</think>" in text:
        text = text.rsplit("</think>", 1)[1]
    cut = text.find(_OPEN_THINK)
    return text[:cut] if cut >= 0 else text


def _visible_prefix(raw: str) -> str:
    """The part of a growing draft that is safe to show: no reasoning, no half-written <think>."""
    if "<" not in raw:
        return raw
    text = _THINK.sub("", raw)
    cut = text.find(_OPEN_THINK)
    if cut >= 0:
        return text[:cut]
    for k in range(min(len(_OPEN_THINK) - 1, len(text)), 0, -1):
        if _OPEN_THINK.startswith(text[-k:]):
            return text[:-k]
    return text


def describe_failure(exc: BaseException, base: str, timeout: float) -> str:
    """One line per failure kind, naming the setting to check."""
    import httpx
    import openai

    name = type(exc).__name__
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
        msg = f"the LLM at {base} did not answer within {timeout:g} s (llm_timeout)"
    elif isinstance(exc, openai.APIConnectionError | httpx.ConnectError):
        cause = exc.__cause__ or exc
        msg = f"cannot reach the LLM at {base} ({type(cause).__name__}: {cause}); is the server running?"
    elif isinstance(exc, openai.APIStatusError):
        hint = {401: "; check llm_api_key", 403: "; check llm_api_key",
                404: "; check llm_base_url (usually ends in /v1) and llm_model"}.get(exc.status_code, "")
        msg = f"the LLM at {base} returned HTTP {exc.status_code}: {_body_message(exc)}{hint}"
    elif isinstance(exc, openai.APIError):
        msg = f"the LLM at {base} reported an error: {exc.message}"
    elif isinstance(exc, httpx.HTTPError):
        msg = f"the connection to the LLM at {base} broke off ({name}: {exc})"
    elif isinstance(exc, ValueError | TypeError | AttributeError | KeyError | IndexError | UnicodeError):
        msg = (f"the LLM at {base} sent malformed output ({name}: {exc}); "
               "is it an OpenAI-compatible /chat/completions endpoint?")
    else:
        msg = f"the LLM call failed unexpectedly ({name}: {exc})"
    return _one_line(msg)


def _body_message(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        text = inner.get("message") if isinstance(inner, dict) else inner
        return str(text or body)
    return str(body or getattr(exc, "message", "") or "no details")


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
