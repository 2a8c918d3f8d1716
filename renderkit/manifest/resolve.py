"""Checks the schema cannot express, and the resolution of every scene to its final values.

Runs on scenes the schema accepted: unique, file-safe ids; scene and provider references; cycles through
remix_of, continue_from and extend_of; model limits from the catalog; and what each provider kind can do
(remix, extend, storyboard, image input).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from math import gcd
from pathlib import Path
from typing import Any, Protocol

from renderkit.catalog.kinds import KINDS, Capability, cannot, kinds_that
from renderkit.catalog.models import Catalog, ModelInfo
from renderkit.manifest.document import PathKey
from renderkit.manifest.images import resolve_image
from renderkit.manifest.model import ProviderConfig, Scene
from renderkit.manifest.wording import did_you_mean, or_list
from renderkit.request import UPSTREAM, ImageRef, Link, Request, Shot, parse_size

# Defaults of these fields are filled into the scene itself, since they decide its shape and dependencies.
_DEFAULTED = ("prompt", *UPSTREAM, "storyboard")
# A remix or an extension is made from its source's task, so it keeps the source's model, size and provider.
_DERIVED = {"remix_of": "a remix", "extend_of": "an extension"}
_CODES = {"remix_of": "remix", "extend_of": "extend"}  # the prefix of their diagnostic codes
# Body fields renderkit writes from the scene itself; extra: may add others but not override these.
_WIRE_FIELDS = frozenset(
    {"model", "prompt", "size", "seconds", "duration", "storyboard", "image", "images", "image_url", "input_reference"}
    | {"aspect_ratio", "private", "video", "remix_of"}
)
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_RESERVED = frozenset(
    ["con", "prn", "aux", "nul", "clock$", "conin$", "conout$"]
    + [f"{d}{n}" for d in ("com", "lpt") for n in "0123456789¹²³"]
)


class Reporter(Protocol):
    """Where located diagnostics go."""

    def report(self, path: PathKey, message: str, code: str, *, key: bool = ..., warning: bool = ...) -> None: ...

    def at(self, path: PathKey) -> tuple[int, int]: ...


def id_problem(scene_id: str) -> str | None:
    """Why ``scene_id`` is not a safe file-name stem on every OS, or None."""
    if not _SAFE_ID.fullmatch(scene_id):
        if "/" in scene_id or "\\" in scene_id:
            return "contains a path separator"
        if scene_id.startswith("."):
            return "starts with '.', which hides the file"
        return "may use only letters, digits, '.', '_' and '-', starting with a letter or digit"
    if ".." in scene_id:
        return "contains '..'"
    if scene_id.endswith("."):
        return "ends with '.', which Windows drops"
    if scene_id.split(".")[0].lower() in _RESERVED:
        return "is a reserved device name on Windows"
    return None


class SceneChecker:
    """Checks and resolves the scenes of one manifest."""

    def __init__(
        self,
        reporter: Reporter,
        root: Path,
        providers: Mapping[str, ProviderConfig],
        defaults: Mapping[str, Any],
        models: Catalog,
    ) -> None:
        self._reporter = reporter
        self._root = root
        self._providers = providers
        self._renamed: set[PathKey] = set()  # paths of `seconds` values the manifest wrote as `duration`
        self._defaults = self._durations(defaults, ("defaults",))
        self._catalog = models
        self._reported: set[tuple[PathKey, str]] = set()
        self._errors = 0
        self._defaulted: set[tuple[int, str]] = set()
        self._images: dict[str, tuple[ImageRef | None, str | None]] = {}
        self._links: dict[int, Link] = {}  # scene index -> the UPSTREAM field that names its upstream

    def _durations(self, fields: Any, at: PathKey) -> Any:
        """``fields`` with the docs' ``duration`` read as ``seconds``, for the scene and each of its shots."""
        if not isinstance(fields, Mapping):
            return fields
        out = dict(fields)
        if "duration" in out:
            duration = out.pop("duration")
            if "seconds" in out and out["seconds"] != duration:
                message = f"is {duration} but seconds is {out['seconds']}; write one of them (they are the same field)"
                self._report((*at, "duration"), message, "seconds")
            else:
                out["seconds"] = duration
                self._renamed.add((*at, "seconds"))
        board = out.get("storyboard")
        if isinstance(board, list):
            shots = []
            for n, shot in enumerate(board):
                if isinstance(shot, Mapping):
                    shot = self._durations(shot, (*at, "storyboard", n))
                    if "seconds" not in shot:
                        self._report(
                            (*at, "storyboard", n), "needs seconds (or duration): the shot's length", "seconds"
                        )
                shots.append(shot)
            out["storyboard"] = shots
        return out

    def _report(self, path: PathKey, message: str, code: str, *, warning: bool = False) -> None:
        if path in self._renamed:
            path = (*path[:-1], "duration")
        self._errors += not warning
        # A problem in defaults would otherwise repeat once per scene that inherits it.
        if (path, message) not in self._reported:
            self._reported.add((path, message))
            self._reporter.report(path, message, code, warning=warning)

    def check(self, raw: list[dict[str, Any]], bad: set[int]) -> tuple[Scene, ...]:
        """Resolved scenes in manifest order; problems go to the reporter."""
        raw = [
            self._view(i, self._durations(scene, ("scenes", i))) if i not in bad else scene
            for i, scene in enumerate(raw)
        ]
        index = self._ids(raw, bad)
        upstream = self._references(raw, index)
        resolved: dict[int, Scene | None] = {}
        for start in range(len(raw)):
            chain: list[int] = []
            on_chain: set[int] = set()
            i: int | None = start
            while i is not None and i not in resolved:
                chain.append(i)
                on_chain.add(i)
                i = upstream.get(i)
                if i in on_chain:
                    self._cycle(raw, chain[chain.index(i) :])
                    for j in chain:
                        resolved[j] = None
                    break
            for j in reversed(chain):
                if j in resolved:
                    continue
                parent = upstream.get(j)
                source = None if parent is None else resolved.get(parent)
                ok = j not in bad and (parent is None or source is not None)
                resolved[j] = self._scene(j, raw[j], source, self._links.get(j)) if ok else None
        return tuple(s for i in range(len(raw)) if (s := resolved[i]) is not None)

    def _view(self, i: int, scene: dict[str, Any]) -> dict[str, Any]:
        """The scene with the defaults of prompt, the UPSTREAM fields and storyboard filled in where it has none."""
        view = scene
        for name in _DEFAULTED:
            if name in scene or name not in self._defaults:
                continue
            if name in UPSTREAM and (
                self._defaults[name] == scene.get("id")
                or "image" in scene
                or any(field in scene for field in UPSTREAM)
                or (name in _DERIVED and "storyboard" in scene)
            ):
                continue  # the upstream itself, and scenes with their own image, upstream or storyboard, keep theirs
            if name == "storyboard" and any(field in view for field in _DERIVED):
                continue  # a remix or an extension takes no storyboard
            if view is scene:
                view = dict(scene)
            view[name] = self._defaults[name]
            self._defaulted.add((i, name))
        return view

    def _path(self, i: int, name: str) -> PathKey:
        """Where scene ``i``'s field ``name`` is written: on the scene or, when filled from defaults, there."""
        return ("defaults", name) if (i, name) in self._defaulted else ("scenes", i, name)

    def _ids(self, raw: list[dict[str, Any]], bad: set[int]) -> dict[str, int]:
        index: dict[str, int] = {}
        folded: dict[str, int] = {}
        for i, scene in enumerate(raw):
            scene_id = scene.get("id") if isinstance(scene, dict) else None
            if not isinstance(scene_id, str):
                continue
            path = ("scenes", i, "id")
            if i not in bad and (problem := id_problem(scene_id)) is not None:
                self._report(path, f"{scene_id!r} {problem}; the id names the output file, so rename it", "scene-id")
            if scene_id in index:
                first = self._reporter.at(("scenes", index[scene_id], "id"))[0]
                self._report(path, f"duplicate scene id {scene_id!r} (first on line {first}); rename one", "scene-dup")
                continue
            other = folded.get(scene_id.lower())
            if other is not None:
                first_id = raw[other]["id"]
                message = f"{scene_id!r} differs from {first_id!r} only in case; output files would collide"
                self._report(path, message + " on macOS and Windows, so rename one", "scene-dup")
            index[scene_id] = i
            folded.setdefault(scene_id.lower(), i)
        return index

    def _references(self, raw: list[dict[str, Any]], index: Mapping[str, int]) -> dict[int, int]:
        upstream: dict[int, int] = {}
        for i, scene in enumerate(raw):
            named = [f for f in UPSTREAM if isinstance(scene, dict) and isinstance(scene.get(f), str)]
            if not named:
                continue
            for extra in named[1:]:
                message = f"a scene builds on at most one other scene; remove {extra} or {named[0]}"
                self._report(self._path(i, extra), message, "upstream-several")
            field = named[0]
            ref = scene[field]
            if ref in index:
                upstream[i] = index[ref]
                self._links[i] = field
            else:
                hint = did_you_mean(ref, index) or "check the scene ids"
                self._report(self._path(i, field), f"no scene has the id {ref!r}; {hint}", "scene-ref")
        return upstream

    def _cycle(self, raw: list[dict[str, Any]], members: list[int]) -> None:
        first = min(members)
        start = members.index(first)
        ordered = members[start:] + members[:start]
        ids = [str(raw[i]["id"]) for i in ordered]
        if len(ids) > 6:
            ids = [*ids[:5], f"... ({len(ids)} scenes)"]
        names = " -> ".join([*ids, str(raw[first]["id"])])
        fields = [f for f in UPSTREAM if f in {self._links[i] for i in members}]
        verb = "forms" if len(fields) == 1 else "form"
        message = (
            f"{' and '.join(fields)} {verb} a cycle: {names}; a scene cannot build on its own output, "
            f"so remove one {' or '.join(fields)}"
        )
        self._report(self._path(first, self._links[first]), message, "scene-cycle")

    def _field(self, i: int, scene: Mapping[str, Any], name: str) -> tuple[Any, PathKey]:
        if name in scene:
            return scene[name], ("scenes", i, name)
        if name in self._defaults:
            return self._defaults[name], ("defaults", name)
        return None, ("scenes", i, name)

    def _scene(self, i: int, scene: Mapping[str, Any], upstream: Scene | None, link: Link | None) -> Scene | None:
        errors_before = self._errors
        here: PathKey = ("scenes", i)
        if "prompt" not in scene and "storyboard" not in scene:
            message = "needs a prompt or a storyboard (here or in defaults); add one"
            self._report(here, message, "prompt-missing")
            return None
        # Only a remix or an extension is made from its upstream's task and inherits from it.
        source = upstream if link in _DERIVED else None
        provider = self._provider(i, scene, source)
        model, model_path = self._inherit(i, scene, source, "model")
        model = model or self._catalog.default_model
        info = self._catalog.model(model)
        if info is None:
            message = f"model {model!r} is not in renderkit's catalog: no size or seconds checks and no cost estimate"
            self._report(model_path, message, "model-unknown", warning=True)
        elif provider is not None and provider.kind not in info.kinds:
            kinds = or_list(sorted(info.kinds))
            message = (
                f"{model} is not served by provider {provider.name!r} (kind {provider.kind}); "
                f"use a provider of kind {kinds}"
            )
            self._report(model_path, message, "model-kind")
        shots = tuple(Shot(str(s["prompt"]).strip(), int(s.get("seconds", 0))) for s in scene.get("storyboard", ()))
        ratio, ratio_path = self._field(i, scene, "aspect_ratio")
        size = self._size(i, scene, source, info, ratio, ratio_path)
        seconds = self._seconds(i, scene, source if link == "remix_of" else None, info, shots, provider)
        prompt = str(scene.get("prompt", "\n".join(s.prompt for s in shots))).strip()
        if not prompt and "prompt" in scene:
            self._report(self._path(i, "prompt"), "is blank; write what the video shows", "blank")
        for n, shot in enumerate(shots):
            if not shot.prompt:
                self._report(
                    (*self._path(i, "storyboard"), n, "prompt"), "is blank; write what the shot shows", "blank"
                )
        image = self._image(i, scene, provider, link)
        self._capabilities(i, scene, provider)
        take, takes, pick = self._takes(i, scene)
        private, _ = self._field(i, scene, "private")
        extra = self._extra(i, scene)
        if self._errors > errors_before or provider is None or size is None or seconds is None:
            return None
        duration = seconds
        if upstream is not None and link == "extend_of":
            duration = upstream.duration + seconds
        elif upstream is not None and link == "remix_of":
            duration = upstream.duration
        request = Request(
            kind=provider.kind,
            model=model,
            prompt=prompt,
            size=size,
            seconds=seconds,
            take=None if take is None else str(take),
            image=image,
            storyboard=shots,
            link=link,
            private=private,
            aspect_ratio=ratio,
            extra=extra,
        )
        return Scene(
            id=scene["id"],
            provider=provider.name,
            request=request,
            upstream=None if upstream is None else upstream.id,
            line=self._reporter.at(here)[0],
            duration=duration,
            takes=takes,
            pick=pick,
        )

    def _takes(self, i: int, scene: Mapping[str, Any]) -> tuple[Any, int, int]:
        """``take``, ``takes`` and ``pick``; with takes, the take is the pick's number (a candidate's key is then
        the key ``take: N`` gives). A scene's own take or takes wins over the other one in defaults."""
        take, _ = self._field(i, scene, "take")
        takes, takes_path = self._field(i, scene, "takes")
        pick, pick_path = self._field(i, scene, "pick")
        if take is not None and takes is not None:
            if "take" in scene and "takes" not in scene:
                takes = None
                pick = scene.get("pick")
            elif "takes" in scene and "take" not in scene:
                take = None
            else:
                message = (
                    f"renders the candidates take 1 to {takes} itself, so the scene cannot set take ({take!r}) "
                    "as well; remove take (to ask for new candidates, raise takes)"
                )
                self._report(takes_path, message, "take-and-takes")
        count = 1 if takes is None else int(takes)
        picked = 1 if pick is None else int(pick)
        if picked > count:
            if takes is None:
                message = f"is {picked} but the scene renders one candidate (no takes); set takes: {picked} or more"
            else:
                message = f"is {picked} but takes is {count}; pick one of 1 to {count}, or raise takes"
            self._report(pick_path, message, "pick-range")
        return (str(picked) if takes is not None else take), count, picked

    def _inherit(self, i: int, scene: Mapping[str, Any], source: Scene | None, name: str) -> tuple[Any, PathKey]:
        """A field's value: the scene's own, else its remix or extension source's, else the defaults'."""
        if source is None:
            return self._field(i, scene, name)
        link = self._links[i]
        inherited = source.provider if name == "provider" else getattr(source.request, name)
        if name in scene and scene[name] != inherited:
            message = (
                f"{_DERIVED[link]} keeps the {name} of its source ({inherited} from {source.id!r}); "
                f"remove {name} here or change it on {source.id!r}"
            )
            self._report(("scenes", i, name), message, f"{_CODES[link]}-field")
        return inherited, ("scenes", i, name) if name in scene else self._path(i, link)

    def _provider(self, i: int, scene: Mapping[str, Any], source: Scene | None) -> ProviderConfig | None:
        name, path = self._inherit(i, scene, source, "provider")
        if name is None:
            if len(self._providers) == 1:
                return next(iter(self._providers.values()))
            names = ", ".join(self._providers)
            message = f"several providers ({names}) and no default; set provider here or defaults.provider"
            self._report(path, message, "provider-missing")
            return None
        if name not in self._providers:
            hint = did_you_mean(name, self._providers) or f"define it under providers: ({', '.join(self._providers)})"
            self._report(path, f"no provider is named {name!r}; {hint}", "provider-ref")
            return None
        return self._providers[name]

    def _size(
        self,
        i: int,
        scene: Mapping[str, Any],
        source: Scene | None,
        info: ModelInfo | None,
        ratio: str | None,
        ratio_path: PathKey,
    ) -> str | None:
        size, path = self._inherit(i, scene, source, "size")
        if size is None and ratio is not None:
            fits = [s for s in (info.sizes or ()) if _ratio(s) == _ratio_of(ratio)] if info else []
            if not fits:
                what = f"{info.name} has no size" if info and info.sizes else "renderkit knows no size of the model"
                self._report(ratio_path, f"{what} of ratio {ratio}; set size as well", "size")
                return None
            return fits[0]
        if size is None:
            if info is None or info.default_size is None:
                self._report(
                    ("scenes", i), "the model is not in the catalog, so it has no default size; set size", "size"
                )
                return None
            return info.default_size
        if info is not None and info.sizes is not None and size not in info.sizes:
            sizes = or_list(info.sizes)
            self._report(path, f"{info.name} renders {sizes}, not {size}; pick one of those", "size")
        elif ratio is not None and _ratio(str(size)) != _ratio_of(ratio):
            message = f"is {ratio} but size {size} is {_ratio(str(size))}; remove one of them or make them agree"
            self._report(ratio_path, message, "aspect-ratio")
        return str(size)

    def _extra(self, i: int, scene: Mapping[str, Any]) -> dict[str, Any]:
        """Provider-specific body fields; those renderkit writes itself cannot be overridden."""
        extra, path = self._field(i, scene, "extra")
        if not extra:
            return {}
        for name in sorted(set(extra) & _WIRE_FIELDS):
            message = f"renderkit sends {name} itself from the scene's fields; set it there, not in extra"
            self._report((*path, name), message, "extra-reserved")
        return dict(extra)

    def _seconds(
        self,
        i: int,
        scene: Mapping[str, Any],
        source: Scene | None,
        info: ModelInfo | None,
        shots: tuple[Shot, ...],
        provider: ProviderConfig | None,
    ) -> int | None:
        path: PathKey
        if shots:
            total = sum(s.seconds for s in shots)
            if "seconds" in scene and scene["seconds"] != total:
                message = (
                    f"is {scene['seconds']} but the storyboard's shots add up to {total}; "
                    "remove seconds or fix the shots"
                )
                self._report(("scenes", i, "seconds"), message, "seconds")
                return None
            if provider is not None and not KINDS[provider.kind].storyboard:
                # Rendered shot by shot and stitched: each shot is a render of its own; the total is free.
                self._shot_seconds(i, shots, info, provider)
                return total
            seconds, path = total, self._path(i, "storyboard")
        else:
            seconds, path = self._inherit(i, scene, source, "seconds")
        if seconds is None:
            if info is None or info.default_seconds is None:
                self._report(
                    ("scenes", i),
                    "the model is not in the catalog, so it has no default length; set seconds",
                    "seconds",
                )
                return None
            return info.default_seconds
        if info is not None and info.seconds is not None and seconds not in info.seconds:
            allowed = or_list(str(s) for s in info.seconds)
            what = f"the shots add up to {seconds}" if shots else f"not {seconds}"
            self._report(path, f"{info.name} renders {allowed} seconds, {what}; pick one of those", "seconds")
        return int(seconds)

    def _shot_seconds(self, i: int, shots: tuple[Shot, ...], info: ModelInfo | None, provider: ProviderConfig) -> None:
        if info is None or info.seconds is None:
            return
        allowed = or_list(str(s) for s in info.seconds)
        for n, shot in enumerate(shots):
            if shot.seconds not in info.seconds:
                message = (
                    f"{info.name} renders {allowed} seconds, not {shot.seconds}; provider {provider.name!r} "
                    f"(kind {provider.kind}) renders each shot on its own, so each shot needs one of those"
                )
                self._report((*self._path(i, "storyboard"), n, "seconds"), message, "seconds")

    def _image(
        self, i: int, scene: Mapping[str, Any], provider: ProviderConfig | None, link: Link | None
    ) -> ImageRef | None:
        if link == "continue_from":
            self._continuity(i, scene, provider)
            return None
        if link in _DERIVED:
            if "image" in scene:
                message = f"{_DERIVED[link]} takes no image; remove image or {link}"
                self._report(("scenes", i, "image"), message, f"{_CODES[link]}-image")
            return None
        value, path = self._field(i, scene, "image")
        if value is None:
            return None
        if value not in self._images:
            self._images[value] = resolve_image(self._root, value)
        ref, problem = self._images[value]
        if problem is not None:
            self._report(path, problem, "image")
            return None
        if ref is not None and provider is not None:
            kind = KINDS[provider.kind]
            if ref.url is None and not kind.image_file:
                message = (
                    f"provider {provider.name!r} (kind {provider.kind}) takes image URLs only; give an https:// URL"
                )
                self._report(path, message, "image-kind")
            elif ref.url is not None and not kind.image_url:
                self._report(path, cannot(provider.kind, provider.name, "image_url"), "image-kind")
        return ref

    def _continuity(self, i: int, scene: Mapping[str, Any], provider: ProviderConfig | None) -> None:
        """A scene that continues another sends that scene's last frame as an image file, and no image of its own."""
        upstream = scene["continue_from"]
        if "image" in scene:
            message = (
                f"a scene that continues from {upstream!r} starts from its last frame, so it takes no image; "
                "remove image or continue_from"
            )
            self._report(("scenes", i, "image"), message, "continue-image")
        if provider is not None and not KINDS[provider.kind].image_file:
            can = or_list(kinds_that("image_file"))
            message = (
                f"provider {provider.name!r} (kind {provider.kind}) takes image URLs only, and continue_from sends "
                f"the last frame of {upstream!r} as an image file; use a provider of kind {can}"
            )
            self._report(self._path(i, "continue_from"), message, "continue-kind")

    def _capabilities(self, i: int, scene: Mapping[str, Any], provider: ProviderConfig | None) -> None:
        for field, what in _DERIVED.items():
            if field in scene and "storyboard" in scene:
                message = f"{what} takes no storyboard; remove storyboard or {field}"
                self._report(("scenes", i, "storyboard"), message, f"{_CODES[field]}-storyboard")
        if provider is None:
            return
        kind = KINDS[provider.kind]
        # Every kind can render a storyboard: natively where the wire takes one, else shot by shot and stitched.
        capabilities: tuple[tuple[str, Capability], ...] = (("remix_of", "remix"), ("extend_of", "extend"))
        for field, what in capabilities:
            if field in scene and not kind.can(what):
                self._report(self._path(i, field), cannot(provider.kind, provider.name, what), f"{what}-kind")


def _ratio_of(text: str) -> str:
    """``16:9`` in lowest terms (``32:18`` -> ``16:9``)."""
    width, _, height = text.partition(":")
    divisor = gcd(int(width), int(height))
    return f"{int(width) // divisor}:{int(height) // divisor}"


def _ratio(size: str) -> str:
    """The aspect ratio of ``WIDTHxHEIGHT`` in lowest terms."""
    width, height = parse_size(size)
    return _ratio_of(f"{width}:{height}")
