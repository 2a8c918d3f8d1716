"""Read a YAML file into plain values, keeping every value's line and column and refusing YAML's traps.

The traps are errors here, not surprises later: duplicate keys, aliases that expand without bound, recursive
aliases, tags other than the plain JSON-like ones, files that are huge, empty, binary or not UTF-8. Unquoted
scalars that YAML 1.1 reads as something other than text (``no``, ``12:30``, ``2024-01-01``) keep their source
text in ``Document.plain`` so a check that expected text can say "quote it".
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from renderkit.errors import Diagnostic, InputError, ManifestError

try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

MAX_BYTES = 10 * 1024 * 1024
# Values produced by following aliases; a merge-key default shared by 10,000 scenes stays far below it.
MAX_ALIAS_EXPANSION = 250_000
# libyaml's composer recurses in C and crashes on very deep flow nesting, so deep input is refused first.
MAX_DEPTH = 200

PathKey = tuple[str | int, ...]

_TAG = "tag:yaml.org,2002:"
_STR, _NULL, _BOOL, _INT, _FLOAT = (_TAG + t for t in ("str", "null", "bool", "int", "float"))
_SEQ, _MAP, _MERGE = _TAG + "seq", _TAG + "map", _TAG + "merge"
_READ_AS = {_BOOL: "a boolean", _INT: "a number", _FLOAT: "a number", _NULL: "empty", _TAG + "timestamp": "a date"}
_BRACKETS = re.compile(r"[\[\]{}]")
# A block collection nests only by indentation or by compact indicators ("- - x", "? "), so a node's block
# depth is at most the width of its line's leading run of these characters.
_DEEP_PREFIX = re.compile(rf"^[ \t?:-]{{{MAX_DEPTH // 2},}}", re.MULTILINE)
# First characters with which a plain scalar may be read as something other than text (bool, int, null...).
_IMPLICIT_FIRST = frozenset(k for k in yaml.resolver.Resolver.yaml_implicit_resolvers if k)


class _Loader(_SafeLoader):
    """The safe loader with a shortcut for plain scalars that can only be text, the common case."""

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode and (not implicit[0] or (value and value[0] not in _IMPLICIT_FIRST)):
            return _STR
        resolve: Any = super().resolve  # untyped in types-PyYAML
        tag: str = resolve(kind, value, implicit)
        return tag


@dataclass
class Document:
    """A YAML document as plain values, with its composed nodes to locate any value when a check fails.

    Locations are looked up only for problems, so a valid manifest never pays for them. ``broken`` holds the
    paths of values already reported (bad tags, recursive aliases) so that later checks skip them.
    """

    data: object
    root: yaml.Node
    broken: set[PathKey] = field(default_factory=set)

    def at(self, path: PathKey, *, key: bool = False) -> tuple[int, int]:
        """1-based line and column of ``path`` (its key when ``key``), else of its nearest written parent."""
        key_node, node, _ = self._find(path)
        return _mark(key_node if key and key_node is not None else node)

    def source(self, path: PathKey) -> str | None:
        """The written text of a scalar that YAML read as something other than text, else None."""
        _, node, complete = self._find(path)
        if complete and isinstance(node, yaml.ScalarNode) and node.tag in _READ_AS:
            return str(node.value)
        return None

    def _find(self, path: PathKey) -> tuple[yaml.Node | None, yaml.Node, bool]:
        """The key node and value node at ``path`` (or its deepest existing parent), and whether all was found."""
        key_node: yaml.Node | None = None
        node = self.root
        for part in path:
            if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                key_node, node = None, node.value[part]
            elif isinstance(node, yaml.MappingNode) and (pair := _lookup(node, part)) is not None:
                key_node, node = pair
            else:
                return key_node, node, False
        return key_node, node, True


def _lookup(node: yaml.MappingNode, key: object, depth: int = 0) -> tuple[yaml.Node, yaml.Node] | None:
    """The (key, value) nodes for ``key``: the last one written in the mapping, else from its ``<<`` merges."""
    found = None
    for key_node, value_node in node.value:
        if key_node.tag == _STR and key_node.value == key:
            found = (key_node, value_node)
    if found is not None or depth > MAX_DEPTH:
        return found
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE:
            sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for source in sources:
                if isinstance(source, yaml.MappingNode) and (found := _lookup(source, key, depth + 1)) is not None:
                    return found
    return None


def read_yaml(path: Path, display: str) -> tuple[Document, list[Diagnostic]]:
    """Parse ``path`` into a Document plus non-fatal diagnostics; raise ManifestError when nothing is usable."""
    text = _read_text(path, display)
    _check_depth(text, display)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise _fatal(display, line, col, f"not valid YAML: {problem}; fix the syntax here", "yaml-syntax") from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        message = f"character U+{exc.character:04X} is not allowed in YAML; remove it"
        raise _fatal(display, line, col, message, "yaml-character") from None
    finally:
        loader.dispose()
    if node is None:
        raise _fatal(display, 1, 1, "the manifest is empty; start it with 'version: 1' and a scenes list", "empty")
    # Without an anchor there can be no alias, so the alias bookkeeping is skipped for most manifests.
    builder = _Builder(display, aliases="&" in text)
    data = builder.value(node, ())
    return Document(data, node, builder.broken), builder.diagnostics


def _fatal(display: str, line: int, col: int, message: str, code: str) -> ManifestError:
    return ManifestError([Diagnostic(display, line, col, "", message, code)])


def _read_text(path: Path, display: str) -> str:
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise InputError(f"{display}: no such file; create it or pass the manifest's path") from None
    except IsADirectoryError:
        raise InputError(f"{display}: is a directory; pass the manifest file's path") from None
    except OSError as exc:
        raise InputError(f"{display}: cannot read: {exc.strerror}") from None
    if len(raw) > MAX_BYTES:
        raise _fatal(display, 1, 1, f"the file is larger than {MAX_BYTES // 2**20} MiB; split it", "too-large")
    if not raw.strip():
        raise _fatal(display, 1, 1, "the manifest is empty; start it with 'version: 1' and a scenes list", "empty")
    if raw.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _fatal(display, 1, 1, "the file is UTF-16 or UTF-32; save it as UTF-8", "encoding")
    nul = raw.find(b"\0")
    if nul >= 0:
        line, col = _position(raw, nul)
        raise _fatal(display, line, col, "this is a binary file, not a YAML manifest", "binary")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, col = _position(raw, exc.start)
        raise _fatal(display, line, col, "not UTF-8 text; save the file as UTF-8", "encoding") from None


def _mark(item: yaml.Node | yaml.Event) -> tuple[int, int]:
    """1-based line and column where a node or event starts."""
    mark = item.start_mark
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


def _position(raw: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in bytes) of ``offset``."""
    line_start = raw.rfind(b"\n", 0, offset) + 1
    return raw.count(b"\n", 0, offset) + 1, offset - line_start + 1


def _check_depth(text: str, display: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH; cheap upper bounds decide whether the exact check runs."""
    depth = deepest = 0
    for m in _BRACKETS.finditer(text):
        depth = depth + 1 if m.group() in "[{" else max(depth - 1, 0)
        deepest = max(deepest, depth)
    if deepest < MAX_DEPTH // 2 and _DEEP_PREFIX.search(text) is None:
        return
    loader = _Loader(text)
    depth = 0
    try:
        while (event := loader.get_event()) is not None:
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    line, col = _mark(event)
                    message = f"nested more than {MAX_DEPTH} levels deep; flatten it"
                    raise _fatal(display, line, col, message, "too-deep")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return  # the composer reports the syntax error with its location
    finally:
        loader.dispose()


class _Builder:
    """Turns composed nodes into plain values, reporting the traps it meets."""

    def __init__(self, display: str, *, aliases: bool) -> None:
        self.display = display
        self._aliases = aliases
        self.broken: set[PathKey] = set()
        self.diagnostics: list[Diagnostic] = []
        self._seen: set[int] = set()
        self._active: set[int] = set()
        self._expanded = 0
        self._constructor = yaml.constructor.SafeConstructor()

    def _error(self, node: yaml.Node, path: PathKey, message: str, code: str) -> None:
        self.broken.add(path)
        line, col = _mark(node)
        self.diagnostics.append(Diagnostic(self.display, line, col, format_path(path), message, code))

    def value(self, node: yaml.Node, path: PathKey) -> object:
        """The plain value of ``node`` found at ``path``."""
        if isinstance(node, yaml.ScalarNode):
            if self._aliases:
                self._visit(node, path)
            return self._scalar(node, path)
        if len(path) >= MAX_DEPTH:
            # Reached through aliases, which the text check cannot see; deeper would exhaust Python's stack.
            raise _fatal(
                self.display, *_mark(node), f"nested more than {MAX_DEPTH} levels deep; flatten it", "too-deep"
            )
        if not self._aliases:
            return self._collection(node, path)
        if not self._visit(node, path):
            return None
        ident = id(node)
        self._active.add(ident)
        try:
            return self._collection(node, path)
        finally:
            self._active.discard(ident)

    def _collection(self, node: yaml.Node, path: PathKey) -> object:
        if node.tag not in (_SEQ, _MAP):
            self._error(node, path, f"unsupported YAML tag {node.tag}; remove the tag", "yaml-tag")
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        return [self.value(item, (*path, i)) for i, item in enumerate(node.value)]

    def _visit(self, node: yaml.Node, path: PathKey) -> bool:
        """Count values produced through aliases; False for an alias to a collection being built."""
        ident = id(node)
        if ident in self._active:
            self._error(node, path, "this alias refers to itself; YAML cannot expand it", "yaml-recursive-alias")
            return False
        if ident in self._seen:
            self._expanded += 1
            if self._expanded > MAX_ALIAS_EXPANSION:
                line, col = _mark(node)
                message = (
                    f"aliases expand to more than {MAX_ALIAS_EXPANSION} values (a 'billion laughs' file?); "
                    "use fewer nested aliases"
                )
                raise _fatal(self.display, line, col, message, "yaml-alias-bomb")
        else:
            self._seen.add(ident)
        return True

    def _scalar(self, node: yaml.ScalarNode, path: PathKey) -> object:
        tag = node.tag
        if tag == _STR:
            return node.value
        read_as = _READ_AS.get(tag)
        if read_as is None:
            # Reported once here; the text goes on so that later checks do not add a second error.
            self._error(node, path, f"unsupported YAML tag {tag}; remove the tag", "yaml-tag")
            return node.value
        construct = {
            _NULL: self._constructor.construct_yaml_null,
            _BOOL: self._constructor.construct_yaml_bool,
            _INT: self._constructor.construct_yaml_int,
            _FLOAT: self._constructor.construct_yaml_float,
        }.get(tag, self._constructor.construct_yaml_timestamp)
        return construct(node)

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[str, object]:
        out: dict[str, object] = {}
        merged: dict[str, object] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _STR and isinstance(key_node, yaml.ScalarNode):
                key = key_node.value
            elif key_node.tag == _MERGE:
                self._merge(value_node, path, merged)
                continue
            else:
                self._bad_key(key_node, path)
                continue
            child = (*path, key)
            if key in out:
                first = next(k for k, _ in node.value if k.tag == _STR and k.value == key)
                message = f"duplicate key {key!r} (first written on line {_mark(first)[0]}); keep one"
                self._error(key_node, child, message, "yaml-duplicate-key")
            out[key] = self.value(value_node, child)
        for key, value in merged.items():
            out.setdefault(key, value)
        return out

    def _bad_key(self, node: yaml.Node, path: PathKey) -> None:
        """Report a key that is not text."""
        if isinstance(node, yaml.ScalarNode) and node.tag in _READ_AS:
            message = f"YAML 1.1 reads the key {node.value!r} as {_READ_AS[node.tag]}, not text; quote it"
        else:
            message = "keys must be plain text; use a quoted string"
        self._error(node, path, message, "yaml-key")

    def _merge(self, node: yaml.Node, path: PathKey, merged: dict[str, object]) -> None:
        """Apply a ``<<`` merge key: earlier sources win, and keys written in the mapping win over all."""
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                self._error(source, path, "'<<' merges only mappings (an alias to a mapping)", "yaml-merge")
                continue
            value = self.value(source, path)
            if isinstance(value, dict):
                for key, item in value.items():
                    merged.setdefault(key, item)


def format_path(path: PathKey) -> str:
    """``("scenes", 1, "prompt")`` -> ``scenes[1].prompt``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z0-9_-]+", part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out
