"""Read a report page without a browser: each tile's classes, video sources and text, with the standard library."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path


@dataclass
class TileView:
    """One ``article.tile`` of the page."""

    id: str
    classes: set[str]
    videos: list[str] = field(default_factory=list)
    text: str = ""


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tiles: list[TileView] = []
        self.urls: list[str] = []
        self._open: TileView | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        self.urls += [found[k] for k in ("src", "href", "poster") if k in found]
        if tag == "article":
            self._open = TileView(found["id"], set(found.get("class", "").split()))
            self.tiles.append(self._open)
        elif tag == "video" and self._open is not None:
            self._open.videos.append(found["src"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "article":
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open.text += data


@dataclass
class PageView:
    """A written report: its tiles by element id, and every URL it refers to."""

    path: Path
    tiles: dict[str, TileView]
    urls: list[str]

    def file(self, url: str) -> Path:
        """The file a relative URL of the page names."""
        from urllib.parse import unquote

        return (self.path.parent / unquote(url)).resolve()


def read_page(path: Path) -> PageView:
    """Parse the report at ``path``."""
    reader = _Reader()
    reader.feed(path.read_text(encoding="utf-8"))
    return PageView(path, {t.id: t for t in reader.tiles}, reader.urls)
