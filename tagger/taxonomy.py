"""The theme taxonomy: which themes exist and what the model knows about each.

Knowledge lives in a TOML data file (``tagger/data/taxonomy.toml`` by default) so users can
define their own themes without touching code. The model artifact stores the taxonomy it was
trained with, so a model never silently meets a taxonomy it does not know.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

DEFAULT_TAXONOMY_PATH = Path(__file__).parent / "data" / "taxonomy.toml"

_THEME_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class TaxonomyError(ValueError):
    """The taxonomy file is missing, unreadable or inconsistent."""


@dataclass(frozen=True)
class Theme:
    """One theme: a stable kebab-case id, a human label, a description and indicator phrases."""

    id: str
    label: str
    description: str = ""
    phrases: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Taxonomy:
    """An ordered set of themes. Column ``i`` of every score matrix is ``themes[i]``."""

    name: str
    version: str
    themes: tuple[Theme, ...]

    @property
    def ids(self) -> list[str]:
        return [theme.id for theme in self.themes]

    def __len__(self) -> int:
        return len(self.themes)

    def __getitem__(self, theme_id: str) -> Theme:
        for theme in self.themes:
            if theme.id == theme_id:
                return theme
        raise KeyError(theme_id)

    def index(self, theme_id: str) -> int:
        return self.ids.index(theme_id)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "version": self.version,
            "themes": [
                {**asdict(theme), "phrases": list(theme.phrases)} for theme in self.themes
            ],
        }

    @classmethod
    def from_dict(cls, data: dict, source: str = "<dict>") -> Taxonomy:
        try:
            raw_themes = data["themes"]
        except (KeyError, TypeError):
            raise TaxonomyError(f"{source}: no [[themes]] entries") from None
        if not isinstance(raw_themes, list):
            raise TaxonomyError(f"{source}: 'themes' must be an array of [[themes]] tables")
        themes = []
        seen: set[str] = set()
        for position, raw in enumerate(raw_themes, start=1):
            theme_id = raw.get("id") if isinstance(raw, dict) else None
            if not isinstance(theme_id, str) or not _THEME_ID.match(theme_id):
                raise TaxonomyError(
                    f"{source}: theme #{position} needs an 'id' in lowercase kebab-case, "
                    f"got {theme_id!r}"
                )
            if theme_id in seen:
                raise TaxonomyError(f"{source}: theme id {theme_id!r} appears twice")
            seen.add(theme_id)
            phrases = raw.get("phrases", [])
            if not isinstance(phrases, list) or not all(isinstance(p, str) for p in phrases):
                raise TaxonomyError(f"{source}: theme {theme_id!r}: 'phrases' must be strings")
            themes.append(
                Theme(
                    id=theme_id,
                    label=str(raw.get("label") or theme_id),
                    description=" ".join(str(raw.get("description", "")).split()),
                    phrases=tuple(p.strip().lower() for p in phrases if p.strip()),
                )
            )
        if not themes:
            raise TaxonomyError(f"{source}: the taxonomy defines no themes")
        return cls(
            name=str(data.get("name", "taxonomy")),
            version=str(data.get("version", "0")),
            themes=tuple(themes),
        )

    def fingerprint(self) -> str:
        """SHA-256 of the theme ids in order: two taxonomies with the same fingerprint are
        compatible for scoring (labels, descriptions and phrases may differ)."""
        return hashlib.sha256(json.dumps(self.ids).encode()).hexdigest()


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Read a taxonomy TOML file; the packaged default when ``path`` is None."""
    path = Path(path) if path is not None else DEFAULT_TAXONOMY_PATH
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as error:
        raise TaxonomyError(f"{path}: cannot read taxonomy: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise TaxonomyError(f"{path}: not valid TOML: {error}") from None
    return Taxonomy.from_dict(data, source=str(path))
