"""The portal's words, in each language of the pack (``packs/<pack>/portal/<locale>.yaml``)."""

from __future__ import annotations

from pathlib import Path

import yaml

from ..packs.yamlmap import PackError


class Words:
    def __init__(self, directory: Path, locales: tuple[str, ...]) -> None:
        self.catalogues: dict[str, dict[str, str]] = {}
        for locale in locales:
            file = directory / f"{locale}.yaml"
            if not file.exists():
                raise PackError(file, None, f"the portal has no {locale!r} words; every locale of the pack needs them")
            self.catalogues[locale] = {str(k): str(v) for k, v in (yaml.safe_load(file.read_text()) or {}).items()}
        first = locales[0]
        for locale, words in self.catalogues.items():
            missing = sorted(set(self.catalogues[first]) - set(words))
            if missing:
                raise PackError(directory / f"{locale}.yaml", None, f"missing words: {', '.join(missing)}")
        self.default = first

    def get(self, locale: str, key: str, default: str) -> str:
        """Words for a name from the pack (an attribute, a purpose), or ``default`` if there are none."""
        words = self.catalogues.get(locale) or self.catalogues[self.default]
        return words.get(key, default)

    def __call__(self, locale: str, key: str, **values: object) -> str:
        words = self.catalogues.get(locale) or self.catalogues[self.default]
        text = words.get(key)
        if text is None:
            raise KeyError(f"the portal has no words for {key!r}")
        return text.format(**values) if values else text
