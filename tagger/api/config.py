"""API settings, read from the environment once at start-up so the request path never does.

``create_app(config)`` accepts the same keys as a dict to override the environment (tests,
embedding). Limits exist to bound the work one request can cause, not as product rules.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

MIB = 1 << 20
# Routes that only compute (no database, no files, no model loading), answered in a
# millisecond or two: the serving bridge runs them on the event loop's own thread when the
# body is small (see tagger.api.bridge.BufferedWSGI).
INLINE_PATHS = ("/v1/tag", "/v1/tag/batch", "/healthz", "/readyz", "/v1/themes", "/v1/model")


class ConfigError(ValueError):
    """An environment variable holds a value the API cannot use."""


@dataclass(frozen=True)
class ApiConfig:
    # None: follow the default (``models/current`` when published, else the shipped model),
    # re-resolved at every reload so ``tagger publish`` + reload switches the API too.
    model_dir: Path | None = None
    admin_token: str | None = None
    max_batch: int = 500
    max_body_bytes: int = MIB
    max_abstract_chars: int = 20_000
    max_title_chars: int = 2_000
    # File whose content is a reload generation number shared by all gunicorn workers
    # (set by api/gunicorn_conf.py); None outside gunicorn: reloads stay in-process.
    reload_file: Path | None = None
    # Score single abstracts through the compiled kernel (tagger.compiled): same scores to
    # ~1e-6, a sixth of the model CPU. Off: the string path (e.g. to compare, or where numba
    # has no wheel).
    compiled_scoring: bool = True


_ENV = {
    "model_dir": "TAGGER_MODEL",
    "admin_token": "TAGGER_ADMIN_TOKEN",
    "max_batch": "TAGGER_MAX_BATCH",
    "max_body_bytes": "TAGGER_MAX_BODY_BYTES",
    "max_abstract_chars": "TAGGER_MAX_ABSTRACT_CHARS",
    "reload_file": "TAGGER_RELOAD_FILE",
    "compiled_scoring": "TAGGER_COMPILED_SCORING",
}
_FALSE = ("0", "false", "no", "off")
_TRUE = ("1", "true", "yes", "on")


def _flag(name: str, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ConfigError(f"{name}={raw!r}: expected one of {', '.join(_TRUE + _FALSE)}")


def _positive_int(name: str, raw: object) -> int:
    try:
        value = int(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"{name}={raw!r}: expected a positive integer") from None
    if value < 1:
        raise ConfigError(f"{name}={raw!r}: expected a positive integer")
    return value


def load_config(overrides: dict | None = None) -> ApiConfig:
    """Settings from the environment, then ``overrides`` (keys are :class:`ApiConfig` field
    names, case-insensitive). An empty ``TAGGER_ADMIN_TOKEN`` disables the admin endpoints."""
    values: dict = {}
    for key, env in _ENV.items():
        if os.environ.get(env):
            values[key] = os.environ[env]
    known = {f.name for f in fields(ApiConfig)}
    for key, value in (overrides or {}).items():
        name = key.lower()
        if name not in known:
            raise ConfigError(f"unknown API setting {key!r}")
        values[name] = value
    model_dir = values.pop("model_dir", None)
    config = ApiConfig(model_dir=Path(model_dir) if model_dir else None)
    for name in ("max_batch", "max_body_bytes", "max_abstract_chars", "max_title_chars"):
        if name in values:
            values[name] = _positive_int(name, values[name])
    if "compiled_scoring" in values:
        values["compiled_scoring"] = _flag("compiled_scoring", values["compiled_scoring"])
    if values.get("reload_file"):
        values["reload_file"] = Path(values["reload_file"])
    values["admin_token"] = values.get("admin_token") or None
    return replace(config, **values)
