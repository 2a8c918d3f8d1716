"""Route templates of every family, and the named groups that fault specs may target."""

from __future__ import annotations

GENERATIONS_CREATE = "POST /v1/video/generations"
GENERATIONS_GET = "GET /v1/video/generations/{task_id}"
UNIFIED_CREATE = "POST /v1/video/create"
UNIFIED_QUERY = "GET /v1/video/query"
VIDEOS_CREATE = "POST /v1/videos"
VIDEOS_LIST = "GET /v1/videos"
VIDEOS_GET = "GET /v1/videos/{video_id}"
VIDEOS_DELETE = "DELETE /v1/videos/{video_id}"
VIDEOS_CONTENT = "GET /v1/videos/{video_id}/content"
VIDEOS_REMIX = "POST /v1/videos/{video_id}/remix"
VIDEOS_EDITS = "POST /v1/videos/edits"
VIDEOS_EXTENSIONS = "POST /v1/videos/extensions"
CHARACTERS_CREATE = "POST /v1/videos/characters"
CHARACTERS_GET = "GET /v1/videos/characters/{character_id}"
MODELS_LIST = "GET /v1/models"
FILES = "GET /files/{file_id}"

CREATES = frozenset({GENERATIONS_CREATE, UNIFIED_CREATE, VIDEOS_CREATE, VIDEOS_REMIX, VIDEOS_EDITS, VIDEOS_EXTENSIONS})
GROUPS: dict[str, frozenset[str]] = {
    "create": CREATES,
    "poll": frozenset({GENERATIONS_GET, UNIFIED_QUERY, VIDEOS_GET}),
    "content": frozenset({VIDEOS_CONTENT}),
    "list": frozenset({VIDEOS_LIST}),
    "delete": frozenset({VIDEOS_DELETE}),
    "remix": frozenset({VIDEOS_REMIX}),
    "characters": frozenset({CHARACTERS_CREATE, CHARACTERS_GET}),
    "models": frozenset({MODELS_LIST}),
    "files": frozenset({FILES}),
}
ALL = frozenset().union(*GROUPS.values())
