"""How a download behaves, written once for the sync and async clients: no I/O in here.

``download_flow()`` is a generator that *asks* for I/O — send this request, sleep this
long, read this error body — and decides what happens next from the answers: retries with
backoff that honours ``retry-after-ms``/``Retry-After``, polling a running generation,
following redirects without leaking the API key, never taking part of the audio for all of
it. ``BreezeBlue`` and ``AsyncBreezeBlue`` each
run it with a small driver (``run_sync``/``run_async``), so the policy cannot drift between
them.
"""

from __future__ import annotations

import ipaddress
import math
import random
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field

import httpx

from .._errors import (
    APIConnectionError,
    APIError,
    BreezeBlueError,
    GenerationNotReadyError,
    connection_error,
)
from .._logging import log_request, log_response, logger
from .envelope import parse_error
from .parsing import parse_content_range, parse_retry_after
from .request import (
    API_KEY_HEADER,
    RequestBuilder,
    build_request,
    redact,
    validate_history_item_id,
)

__all__ = [
    "RETRYABLE_STATUSES",
    "Action",
    "ReadBody",
    "RetryPolicy",
    "Send",
    "Settings",
    "Sleep",
    "backoff_delay",
    "client_closed",
    "download_flow",
    "is_loopback",
    "same_origin",
    "server_delay",
    "unusable_redirect",
]

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
# Polling a running generation: what Retry-After says, within these bounds.
POLL_DEFAULT = 1.0
POLL_MIN = 0.1
POLL_MAX = 30.0


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before trying a failed request again.

    Args:
        max_retries: Retries after the first attempt (``0`` turns retrying off).
        backoff_initial: The first backoff, in seconds, doubling per retry...
        backoff_max: ...up to this.
        max_retry_after: A server asking to wait longer than this is not waited for: the
            typed error is raised at once, with its ``retry_after``.
        random: ``[0, 1)`` source for jitter; tests pass a constant.
    """

    max_retries: int = 2
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    max_retry_after: float = 60.0
    random: Callable[[], float] = field(default=random.random, compare=False)


@dataclass(frozen=True)
class Settings:
    """Everything a download needs from its client, frozen so copies can share a pool."""

    base_url: httpx.URL
    api_key: str = field(repr=False)  # never in a repr (nor a traceback's locals) or a log
    headers: Mapping[str, str]
    timeout: httpx.Timeout | None
    policy: RetryPolicy
    clock: Callable[[], float]


# The three requests a flow makes of its driver. Plain slotted classes: they are made per
# request, and dataclasses would add to import time for nothing.
class Send:
    """Send ``request`` (streaming); answer with the ``httpx.Response`` or the exception."""

    __slots__ = ("request",)

    def __init__(self, request: httpx.Request) -> None:
        self.request = request


class Sleep:
    """Sleep ``seconds``; answer with ``None``."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds


class ReadBody:
    """Read at most the error-body cap of ``response`` and close it; answer with the bytes."""

    __slots__ = ("response",)

    def __init__(self, response: httpx.Response) -> None:
        self.response = response


Action = Send | Sleep | ReadBody
Flow = Generator[Action, object, httpx.Response]


def client_closed() -> BreezeBlueError:
    """The error for a download on a client that was closed (both drivers raise it)."""
    return BreezeBlueError("this client has been closed; create a new one")


def unusable_redirect(exc: httpx.InvalidURL) -> BreezeBlueError:
    """httpx parses a redirect's location even when not following it, and may refuse it."""
    return BreezeBlueError(f"the server redirected to an unusable location: {exc}")


def server_delay(headers: httpx.Headers, *, now: Callable[[], float]) -> float | None:
    """The wait the server asked for: ``retry-after-ms``, then ``Retry-After``; else ``None``."""
    milliseconds = headers.get("retry-after-ms")
    if milliseconds is not None:
        try:
            value = float(milliseconds.strip())
        except ValueError:
            value = math.nan
        if math.isfinite(value) and value >= 0:
            return value / 1000.0
    return parse_retry_after(headers.get("retry-after"), now=now)


def backoff_delay(policy: RetryPolicy, retry: int) -> float:
    """Exponential backoff for the ``retry``-th retry (0-based), with up to 25% jitter off."""
    # The exponent is capped: 2.0**1024 overflows, and the cap is reached long before.
    base = min(policy.backoff_max, policy.backoff_initial * 2.0 ** min(retry, 64))
    return base * (1.0 - 0.25 * policy.random())


def is_loopback(url: httpx.URL) -> bool:
    """Whether ``url`` names this machine."""
    if url.host == "localhost":
        return True
    try:
        return ipaddress.ip_address(url.host).is_loopback
    except ValueError:
        return False


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default_port = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default_port


def same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    """Same scheme, host and port: the only place the API key may be sent."""
    return _origin(a) == _origin(b)


def download_flow(
    build: RequestBuilder,
    settings: Settings,
    history_item_id: str,
    *,
    extra_headers: Mapping[str, str] | None = None,
    wait: bool = False,
    wait_timeout: float = 300.0,
) -> Flow:
    """The whole download request: returns the successful (2xx) response, body unread.

    ``build`` is the HTTP client's ``build_request``; requests are only built here, never
    sent. Raises the typed error once retries, polls or redirects are exhausted or
    pointless.

    Example (driving it by hand, as the clients' drivers do)::

        flow = download_flow(httpx.Client().build_request, settings, "hist_01haudio")
        action = next(flow)  # Send(request)
        action = flow.send(response)  # ... until StopIteration carries the response
    """
    if isinstance(wait_timeout, bool) or not isinstance(wait_timeout, int | float):
        raise TypeError(f"wait_timeout must be a number of seconds, not {wait_timeout!r}")
    if not wait_timeout >= 0:
        raise ValueError(f"wait_timeout must be a number of seconds >= 0, not {wait_timeout!r}")
    # Checked before any request, or any headers holding the key, exists.
    validate_history_item_id(history_item_id)
    started = settings.clock()
    retries = polls = redirects = 0
    request = _first_request(build, settings, history_item_id, extra_headers)
    while True:
        log_request(request, attempt=retries, redirects=redirects)
        outcome = yield Send(request)
        if isinstance(outcome, httpx.RequestError):
            error: APIError | APIConnectionError = connection_error(outcome, redact(request))
            error.__cause__ = outcome
            delay = _retry_delay(settings, retries, error, None)
            retries += 1
        else:
            assert isinstance(outcome, httpx.Response)
            response = outcome
            log_response(response)
            partial = _partial_answer_to_whole_request(request, response)
            if response.is_success and not partial:
                return response
            if response.status_code in REDIRECT_STATUSES and "location" in response.headers:
                yield ReadBody(response)
                redirects += 1
                request = _redirect(build, settings, request, response, redirects)
                continue
            body = yield ReadBody(response)
            assert isinstance(body, bytes)
            if partial:
                # A proxy or cache answered a request for the whole audio with a part of
                # it: never taken as the audio, asked again while retries remain.
                error = _partial_content_error(request, response)
                delay = _retry_delay(settings, retries, error, None)
                retries += 1
            elif isinstance(error := parse_error(response, body), GenerationNotReadyError) and wait:
                retries = 0  # a clean answer ends a run of transient failures
                polls += 1
                delay = _poll_delay(settings, error, started, wait_timeout, polls, history_item_id)
            else:
                delay = _retry_delay(settings, retries, error, response)
                retries += 1
        yield Sleep(delay)
        request = _first_request(build, settings, history_item_id, extra_headers)
        redirects = 0


def _partial_answer_to_whole_request(request: httpx.Request, response: httpx.Response) -> bool:
    """A ``206`` to a request without ``Range``, unless its one part is the whole audio."""
    if response.status_code != 206 or "range" in request.headers:
        return False
    part = parse_content_range(response.headers.get("content-range"))
    return not (part is not None and part.start == 0 and part.total == part.end + 1)


def _partial_content_error(request: httpx.Request, response: httpx.Response) -> APIError:
    what = response.headers.get("content-range") or "no content-range"
    return APIError(
        f"the server answered a request for the whole audio with part of it "
        f"(206 Partial Content, {what!r}); a part is never saved as the audio",
        status_code=response.status_code,
        headers=response.headers,
        request=redact(request),
    )


def _retry_delay(
    settings: Settings,
    retries: int,
    error: APIError | APIConnectionError,
    response: httpx.Response | None,
) -> float:
    """How long to wait before retrying after ``error``; raises it if that is pointless."""
    policy = settings.policy
    if response is not None and response.status_code not in RETRYABLE_STATUSES:
        raise error
    if retries >= policy.max_retries:
        raise error
    asked = None if response is None else server_delay(response.headers, now=settings.clock)
    if asked is not None and asked > policy.max_retry_after:
        logger.info(
            "not retrying: the server asks to wait %.0fs, more than %.0fs",
            asked,
            policy.max_retry_after,
        )
        raise error
    delay = backoff_delay(policy, retries) if asked is None else asked
    logger.info(
        "retrying after %s (retry %d of %d) in %.2fs",
        _describe(error),
        retries + 1,
        policy.max_retries,
        delay,
    )
    return delay


def _poll_delay(
    settings: Settings,
    error: GenerationNotReadyError,
    started: float,
    wait_timeout: float,
    polls: int,
    history_item_id: str,
) -> float:
    """How long to wait before asking a running generation again; raises at the deadline."""
    waited = settings.clock() - started
    remaining = wait_timeout - waited
    if remaining <= 0:
        error.waited = waited
        error.polls = polls - 1
        raise error
    asked = error.retry_after
    delay = min(POLL_MAX, max(POLL_MIN, POLL_DEFAULT if asked is None else asked), remaining)
    logger.info(
        "history item %r is still generating; poll %d in %.2fs (waited %.1fs of %.0fs)",
        history_item_id,
        polls,
        delay,
        waited,
        wait_timeout,
        # For handlers that show progress (the command line's): the poll as data.
        extra={
            "breeze_blue_poll": {
                "history_item_id": history_item_id,
                "polls": polls,
                "delay": delay,
                "waited": waited,
            }
        },
    )
    return delay


def _describe(error: APIError | APIConnectionError) -> str:
    if isinstance(error, APIError):
        return f"{error.status_code} {error.code or ''}".strip()
    return type(error.__cause__ or error).__name__


def _first_request(
    build: RequestBuilder,
    settings: Settings,
    history_item_id: str,
    extra_headers: Mapping[str, str] | None,
) -> httpx.Request:
    headers = {**settings.headers, API_KEY_HEADER: settings.api_key, **(extra_headers or {})}
    return build_request(
        build,
        base_url=settings.base_url,
        history_item_id=history_item_id,
        headers=headers,
        timeout=settings.timeout,
    )


def _redirect(
    build: RequestBuilder,
    settings: Settings,
    request: httpx.Request,
    response: httpx.Response,
    redirects: int,
) -> httpx.Request:
    location = response.headers["location"]
    if redirects > MAX_REDIRECTS:
        raise APIError(
            f"stopped after {MAX_REDIRECTS} redirects (the last to {location!r})",
            status_code=response.status_code,
            headers=response.headers,
            request=redact(request),
        )
    try:
        target = request.url.join(response.headers["location"])
    except httpx.InvalidURL as exc:
        raise APIError(
            f"redirect to an invalid location {response.headers['location']!r}",
            status_code=response.status_code,
            headers=response.headers,
            request=redact(request),
        ) from exc
    if target.scheme not in {"http", "https"} or not target.host:
        raise APIError(
            f"redirect to a non-HTTP location {str(target)!r}",
            status_code=response.status_code,
            headers=response.headers,
            request=redact(request),
        )
    headers = httpx.Headers(request.headers)
    del headers["host"]
    # The key goes only where the client was configured to send it: a CDN, another port or
    # an https -> http downgrade never sees it (httpx itself strips only Authorization).
    if same_origin(target, settings.base_url):
        headers[API_KEY_HEADER] = settings.api_key
    elif API_KEY_HEADER in headers:
        del headers[API_KEY_HEADER]
    timeout = httpx.USE_CLIENT_DEFAULT if settings.timeout is None else settings.timeout
    return build("GET", target, headers=headers, timeout=timeout)
