"""A small client for the Scrapyd HTTP API (https://scrapyd.readthedocs.io/en/latest/api.html).

Standard library only, so the CLI needs no extra dependency to schedule and
watch jobs. Credentials for HTTP basic auth come from the node URL
(``http://user:pass@host:6800/``) or from ``TIERCRAWL_SCRAPYD_USERNAME`` and
``TIERCRAWL_SCRAPYD_PASSWORD``; they are sent in a header, never stored, and
never shown (`ScrapydNode.url` has none).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit
from urllib.request import Request, urlopen

from tiercrawl.core.urls import hide_credentials, http_url_problem
from tiercrawl.exceptions import TiercrawlError

__all__ = ["ScrapydError", "ScrapydNode", "ScrapydUnreachable"]

USERNAME_ENV = "TIERCRAWL_SCRAPYD_USERNAME"
PASSWORD_ENV = "TIERCRAWL_SCRAPYD_PASSWORD"


class ScrapydError(TiercrawlError):
    """A Scrapyd node cannot be reached, refused the credentials, or refused a request."""


class ScrapydUnreachable(ScrapydError):
    """No answer at all from a Scrapyd node: refused, reset or timed out connection."""


@dataclass(frozen=True)
class ScrapydNode:
    """One Scrapyd server: its URL (without credentials) and the credentials to send."""

    url: str
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0

    @classmethod
    def from_url(cls, url: str, env: Mapping[str, str] | None = None) -> ScrapydNode:
        """Parse ``http(s)://[user:pass@]host[:port][/prefix]``; the environment fills in credentials."""
        env = os.environ if env is None else env
        problem = http_url_problem(url)
        if problem:
            raise ScrapydError(
                f"{hide_credentials(url)}: {problem}: "
                "a Scrapyd node is an http(s) URL, e.g. http://host:6800/"
            )
        parts = urlsplit(url.strip())
        hostname = str(parts.hostname)  # there is one: http_url_problem checked
        host = hostname if ":" not in hostname else f"[{hostname}]"
        netloc = f"{host}:{parts.port}" if parts.port else host
        bare = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/") + "/", "", ""))
        username = unquote(parts.username) if parts.username else env.get(USERNAME_ENV)
        password = unquote(parts.password) if parts.password else env.get(PASSWORD_ENV)
        return cls(bare, username or None, password or None)

    def daemon_status(self) -> dict[str, Any]:
        return self._call("daemonstatus.json")

    def list_spiders(self, project: str) -> list[str]:
        return list(self._call("listspiders.json", {"project": project})["spiders"])

    def schedule(
        self,
        project: str,
        spider: str,
        *,
        job_id: str,
        args: Mapping[str, str],
        settings: Sequence[str] = (),
    ) -> str:
        """Queue a job; ``settings`` are ``NAME=VALUE`` pairs. Returns the job id."""
        fields: list[tuple[str, str]] = [
            ("project", project),
            ("spider", spider),
            ("jobid", job_id),
            *(("setting", pair) for pair in settings),
            *args.items(),
        ]
        return str(self._call("schedule.json", data=fields)["jobid"])

    def job_state(self, project: str, job_id: str) -> str:
        """``pending``, ``running``, ``finished``, or ``unknown`` (never queued, or forgotten)."""
        state = self._call("status.json", {"project": project, "job": job_id}).get("currstate")
        return str(state) if state else "unknown"

    def cancel(self, project: str, job_id: str) -> None:
        self._call("cancel.json", data=[("project", project), ("job", job_id)])

    def _call(
        self,
        endpoint: str,
        query: Mapping[str, str] | None = None,
        data: Sequence[tuple[str, str]] | None = None,
    ) -> dict[str, Any]:
        url = self.url + endpoint + (f"?{urlencode(query)}" if query else "")
        body = urlencode(data).encode() if data is not None else None
        request = Request(url, data=body, method="POST" if body is not None else "GET")
        if self.username:
            token = base64.b64encode(f"{self.username}:{self.password or ''}".encode()).decode()
            # Not carried over a redirect: a node redirecting elsewhere gets no password sent on.
            request.add_unredirected_header("Authorization", f"Basic {token}")
        try:
            with urlopen(request, timeout=self.timeout) as response:
                payload = json.loads(response.read().decode("utf-8"))
        except HTTPError as exc:
            if exc.code == 401:
                raise ScrapydError(
                    f"{self.url}: credentials refused (HTTP 401); give them in the URL "
                    f"(http://USER:PASS@host:6800/) or in {USERNAME_ENV}/{PASSWORD_ENV}"
                ) from exc
            raise ScrapydError(f"{self.url}{endpoint}: HTTP {exc.code} {exc.reason}") from exc
        except (URLError, TimeoutError, OSError) as exc:
            reason = exc.reason if isinstance(exc, URLError) else exc
            raise ScrapydUnreachable(f"{self.url}: cannot reach Scrapyd: {reason}") from exc
        except ValueError as exc:
            raise ScrapydError(f"{self.url}{endpoint}: not a Scrapyd JSON answer") from exc
        if payload.get("status") != "ok":
            message = payload.get("message", "no message")
            raise ScrapydError(f"{self.url}{endpoint}: {message}")
        return dict(payload)
