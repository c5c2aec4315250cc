"""HTTP client of the app's API (local devhost by default, `--url`/`--key` for Azure)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:7071"


class ApiError(Exception):
    """The app answered with an error status; the message carries its explanation."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


def local_devhost_key(app_dir: Path) -> str | None:
    """The master key a local devhost stored for ``app_dir`` (None when there is none)."""
    path = app_dir / ".devhost" / "keys.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    key = data.get("master") or data.get("master_key") or data.get("masterKey")
    return str(key) if key else None


class ApiClient:
    """Thin wrapper over httpx that sends the function key and turns errors into ApiError."""

    def __init__(self, url: str = DEFAULT_URL, key: str | None = None, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.key = key
        self._http = httpx.Client(timeout=timeout)

    def _headers(self) -> dict[str, str]:
        return {"x-functions-key": self.key} if self.key else {}

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send one request to ``path`` (absolute URL or app-relative) and return parsed JSON."""
        url = path if path.startswith("http") else f"{self.url}{path}"
        try:
            resp = self._http.request(method, url, headers=self._headers(), **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(0, f"cannot reach {self.url}: {exc}") from exc
        if resp.status_code >= 400:
            try:
                body = resp.json()
                message = body.get("message") or body.get("error") or resp.text
            except ValueError:
                message = resp.text or resp.reason_phrase
            raise ApiError(resp.status_code, str(message))
        if not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            return resp.text

    def get(self, path: str, **params: Any) -> Any:
        """GET with query parameters (None values dropped)."""
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: Any = None) -> Any:
        """POST a JSON body."""
        return self.request("POST", path, json=body)
