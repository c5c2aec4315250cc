"""HTTP client of the app's API (local devhost by default, `--url`/`--key` for Azure)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from cli.config import DEFAULT_URL, devhost_key

__all__ = ["DEFAULT_URL", "ApiClient", "ApiError", "local_devhost_key"]


class ApiError(Exception):
    """The app answered with an error status; the message carries its explanation."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


def local_devhost_key(app_dir: Path) -> str | None:
    """The master key a local devhost stored for ``app_dir`` (None when there is none)."""
    return devhost_key(app_dir)


def _error(resp: httpx.Response) -> ApiError:
    try:
        body = resp.json()
        message = (
            (body.get("message") or body.get("error") or resp.text) if isinstance(body, dict) else resp.text
        )
    except ValueError:
        message = resp.text or resp.reason_phrase
    if resp.status_code == 401 and not message:
        message = "unauthorized: missing or wrong key"
    return ApiError(resp.status_code, str(message))


class ApiClient:
    """Thin wrapper over httpx that sends the function key and turns errors into ApiError."""

    def __init__(self, url: str = DEFAULT_URL, key: str | None = None, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.key = key
        self._http = httpx.Client(timeout=timeout)

    def _headers(self) -> dict[str, str]:
        return {"x-functions-key": self.key} if self.key else {}

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = path if path.startswith("http") else f"{self.url}{path}"
        try:
            headers = {**self._headers(), **kwargs.pop("headers", {})}
            resp = self._http.request(method, url, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(0, f"cannot reach {self.url}: {exc}") from exc
        if resp.status_code >= 400:
            raise _error(resp)
        return resp

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send one request to ``path`` (absolute URL or app-relative) and return parsed JSON."""
        resp = self._send(method, path, **kwargs)
        if not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            return resp.text

    def get(self, path: str, **params: Any) -> Any:
        """GET with query parameters (None values dropped)."""
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: Any = None, **params: Any) -> Any:
        """POST a JSON body (query parameters with None values dropped)."""
        return self.request(
            "POST", path, json=body, params={k: v for k, v in params.items() if v is not None}
        )

    def download(self, path: str, **params: Any) -> bytes:
        """GET raw bytes (reports, files)."""
        return self._send("GET", path, params={k: v for k, v in params.items() if v is not None}).content

    def upload(self, path: str, data: bytes, **params: Any) -> Any:
        """POST raw bytes (a data file) and return the parsed JSON answer."""
        headers = {"content-type": "application/octet-stream"}
        return self.request("POST", path, content=data, params=params, headers=headers)
