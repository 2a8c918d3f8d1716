"""Load renderkit.yaml: parse, validate against the schema, check meaning, and resolve every scene.

Every problem is collected and raised at once as a ManifestError of located diagnostics; nothing is written
and nothing is sent. Defaults resolve in this order: the scene, then its remix source (for model, size,
seconds and provider), then ``defaults:``, then the model catalog.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, cast

from renderkit.catalog.kinds import KINDS
from renderkit.catalog.models import catalog
from renderkit.errors import Diagnostic, ManifestError
from renderkit.manifest.collector import gc_paused
from renderkit.manifest.document import Document, PathKey, format_path, read_yaml
from renderkit.manifest.model import Manifest, ProviderConfig, Scene
from renderkit.manifest.resolve import SceneChecker
from renderkit.manifest.schema import SUPPORTED_VERSIONS, Issue, manifest_validator
from renderkit.manifest.wording import describe
from renderkit.store.layout import CACHE_DIR_NAME, DEFAULT_OUTPUT_DIR

__all__ = ["Manifest", "ProviderConfig", "Scene", "load_manifest"]

SIMULATOR = "simulator"


def load_manifest(path: str | os.PathLike[str]) -> Manifest:
    """Load and check the manifest at ``path``.

    :raises ManifestError: with every located problem found.
    :raises InputError: when the file cannot be read at all.
    """
    with gc_paused():
        return _load(os.fspath(path), Path(path).absolute())


def _load(display: str, path: Path) -> Manifest:
    # A function of its own so that the parsed document is freed before the collector runs again: a collection
    # right after the pause would otherwise walk every node of it.
    doc, diagnostics = read_yaml(path, display)
    return _Loader(display, path, doc, diagnostics).load()


class _Loader:
    """One load: collects diagnostics while building the Manifest."""

    def __init__(self, display: str, path: Path, doc: Document, diagnostics: list[Diagnostic]) -> None:
        self.display = display
        self.path = path
        self.root = path.parent
        self.doc = doc
        self.errors = list(diagnostics)
        self.warnings: list[Diagnostic] = []

    def report(self, path: PathKey, message: str, code: str, *, key: bool = False, warning: bool = False) -> None:
        """Record a diagnostic located at ``path``."""
        line, col = self.doc.at(path, key=key)
        diagnostic = Diagnostic(
            self.display, line, col, format_path(path), message, code, "warning" if warning else "error"
        )
        (self.warnings if warning else self.errors).append(diagnostic)

    def at(self, path: PathKey) -> tuple[int, int]:
        """Line and column where ``path`` is written."""
        return self.doc.at(path)

    def fail(self) -> ManifestError:
        """The error carrying every diagnostic so far (warnings too), in document order."""
        return ManifestError(sorted(self.errors + self.warnings, key=lambda d: (d.line, d.col, d.path)))

    def load(self) -> Manifest:
        """The Manifest, or ManifestError with every diagnostic."""
        data = self.doc.data
        if not isinstance(data, dict):
            self.report(
                (), f"the manifest must be a mapping with 'version: 1' and 'scenes', not {describe(data)}", "top"
            )
            raise self.fail()
        if not self._version_ok(data):
            raise self.fail()
        bad_scenes: set[int] = set()
        top_level_broken = False
        for issue in manifest_validator().issues(data):
            if issue.path[:1] == ("version",):
                continue  # reported by _version_ok with the supported versions
            self._schema_issue(issue)
            if len(issue.path) > 1 and issue.path[0] == "scenes" and isinstance(issue.path[1], int):
                bad_scenes.add(issue.path[1])
            else:
                top_level_broken = True
        if top_level_broken:
            raise self.fail()  # providers, defaults or the scenes list are broken: scene checks would only add noise
        providers = self._providers(cast(dict[str, Any], data.get("providers") or {}))
        output_dir = self._output_dir(data)
        models = catalog().merged(cast(dict[str, Any], data.get("models") or {}))
        checker = SceneChecker(self, self.root, providers, cast(dict[str, Any], data.get("defaults") or {}), models)
        scenes = checker.check(cast(list[dict[str, Any]], data["scenes"]), bad_scenes)
        if self.errors:
            raise self.fail()
        budget = data.get("budget")
        return Manifest(
            path=self.path,
            root=self.root,
            providers=providers,
            scenes=scenes,
            budget=None if budget is None else float(budget),
            output_dir=output_dir,
            warnings=tuple(self.warnings),
            remote=data.get("remote"),
            catalog=models,
        )

    def _version_ok(self, data: dict[str, Any]) -> bool:
        supported = ", ".join(str(v) for v in SUPPORTED_VERSIONS)
        if "version" not in data:
            message = f"missing 'version: 1' at the top of the manifest (supported versions: {supported})"
            self.report(("version",), message, "version")
            return True
        version = data["version"]
        if isinstance(version, int) and not isinstance(version, bool) and version in SUPPORTED_VERSIONS:
            return True
        if isinstance(version, str) and version.strip().isdigit():
            message = f"write the version as a number, without quotes: version: {version.strip()}"
        else:
            message = f"unsupported manifest version {version!r}; this renderkit reads version {supported}"
        self.report(("version",), message, "version")
        return False

    def _schema_issue(self, issue: Issue) -> None:
        if issue.path in self.doc.broken:
            return
        message = issue.message
        source = self.doc.source(issue.path) if issue.code == "type" else None
        if issue.code == "type" and source is not None and "string" in issue.expected:
            if source in ("", "~") or source.lower() == "null":
                message = "has no value; write it after the colon"
            else:
                message = (
                    f"YAML 1.1 reads {source!r} as {describe(_value_at(self.doc.data, issue.path))}, not text; "
                    f'quote it: "{source}"'
                )
        elif issue.path[-1:] == ("api_key_env",) and str(_value_at(self.doc.data, issue.path)).startswith("sk-"):
            message = "this looks like an API key; keep keys out of the manifest: name the environment variable"
            message += " that holds it (e.g. CRAZYROUTER_API_KEY)"
        elif issue.code == "type" and "integer" in issue.expected:
            value = _value_at(self.doc.data, issue.path)
            if isinstance(value, str) and value.strip().isdigit():
                message = f"expected a whole number, got the text {value!r}; remove the quotes"
        self.report(issue.path, message, f"schema-{issue.code}", key=issue.at_key)

    def _providers(self, raw: dict[str, Any]) -> dict[str, ProviderConfig]:
        if not raw:
            return {SIMULATOR: ProviderConfig(SIMULATOR, SIMULATOR, None, None, None, None, None, None)}
        out: dict[str, ProviderConfig] = {}
        for name, p in raw.items():
            kind = p["kind"]
            out[name] = ProviderConfig(
                name=name,
                kind=kind,
                base_url=p.get("base_url"),
                api_key_env=p.get("api_key_env", KINDS[kind].key_env),
                rpm=_float_or_none(p.get("rpm")),
                max_in_flight=None if p.get("max_in_flight") is None else int(p["max_in_flight"]),
                poll_interval=_float_or_none(p.get("poll_interval")),
                timeout=_float_or_none(p.get("timeout")),
                max_download_mb=_float_or_none(p.get("max_download_mb")),
                stall_timeout=_float_or_none(p.get("stall_timeout")),
            )
        return out

    def _output_dir(self, data: dict[str, Any]) -> Path:
        raw = str(data.get("output_dir", DEFAULT_OUTPUT_DIR))
        target = (self.root / raw).resolve()
        if Path(raw).is_absolute() or not target.is_relative_to(self.root.resolve()):
            self.report(
                ("output_dir",), "must be a directory inside the project, relative to the manifest", "output-dir"
            )
        elif target.is_relative_to(self.root.resolve() / CACHE_DIR_NAME):
            self.report(("output_dir",), f"must not be inside the cache directory {CACHE_DIR_NAME}/", "output-dir")
        return self.root / raw


def _float_or_none(value: object) -> float | None:
    return None if value is None else float(cast(float, value))


def _value_at(data: object, path: PathKey) -> object:
    """The value at ``path`` in the loaded document."""
    for part in path:
        data = data[part]  # type: ignore[index]  # the schema issue's path exists in the document
    return data
