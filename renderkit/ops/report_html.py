"""The report's HTML: one self-contained page (inline CSS and script, no external asset) built with the standard
library. Every value is escaped; every URL is one ``renderkit.ops.report`` made relative to the page."""

from __future__ import annotations

from html import escape

from renderkit.ops.report_model import Page, SceneView, ShotView, Tile, Video

_STYLE = """
:root { color-scheme: dark; --bg: #15171a; --card: #1f2226; --line: #33383e; --dim: #9aa3ad; --accent: #5fb3ff; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; background: var(--bg); color: #e8eaed; }
header.top { padding: 16px 24px; border-bottom: 1px solid var(--line); }
h1 { margin: 0 0 6px; font-size: 20px; }
.summary, .keys { margin: 2px 0; color: var(--dim); }
main { padding: 16px 24px; display: flex; flex-wrap: wrap; align-items: flex-start; gap: 16px; }
.chain { display: flex; flex-wrap: wrap; align-items: flex-start; gap: 8px; max-width: 100%; }
.chain.linked, .chain.removed { padding: 6px; border: 1px dashed var(--line); border-radius: 12px; }
.chain > h2, .removed > h2 { flex-basis: 100%; margin: 0; font-size: 13px; color: var(--dim); font-weight: normal; }
.scene { display: flex; gap: 8px; padding: 6px; border-radius: 10px; border: 1px solid transparent; }
.scene.takes { border-color: var(--line); }
.arrow { align-self: center; color: var(--accent); font-size: 12px; text-align: center; width: 70px; }
.arrow b { display: block; font-size: 26px; line-height: 1; }
.tile { width: 340px; background: var(--card); border: 2px solid var(--line); border-radius: 8px; padding: 8px; }
.tile:focus { outline: 3px solid var(--accent); outline-offset: 2px; }
.tile.picked { border-color: #3ecf6e; }
.tile h3 { margin: 0 0 6px; font-size: 15px; display: flex; gap: 6px; flex-wrap: wrap; align-items: center; }
.badge { font-size: 11px; padding: 1px 6px; border-radius: 9px; background: #30353b; font-weight: normal; }
.badge.picked { background: #1f6f3a; }
.badge.new { background: #1d4f8a; }
.badge.changed { background: #8a5a1d; }
.badge.removed { background: #8a1d2c; }
video, .none { width: 100%; aspect-ratio: 16 / 9; background: #000; border-radius: 4px; display: block; }
.none { display: flex; align-items: center; justify-content: center; padding: 12px; color: var(--dim);
  text-align: center; font-size: 12px; }
.compare { display: grid; grid-template-columns: 1fr 1fr; gap: 6px; }
.compare figure { margin: 0; }
figcaption { font-size: 11px; color: var(--dim); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 1px 8px; margin: 8px 0 0; font-size: 12px; }
dt { color: var(--dim); }
dd { margin: 0; overflow-wrap: anywhere; white-space: pre-line; }
code { font-size: 11px; }
ol.shots { margin: 8px 0 0; padding: 0; list-style: none; display: flex; flex-wrap: wrap; gap: 6px; font-size: 12px; }
ol.shots li { width: calc(50% - 3px); overflow-wrap: anywhere; }
ol.shots b { color: var(--dim); font-weight: normal; }
ol.shots img { width: 100%; display: block; border-radius: 3px; margin-bottom: 2px; }
a { color: var(--accent); }
"""

# Arrow keys or j/k move between tiles (arrows only while a tile itself has focus, so a focused video keeps
# seeking with them); space plays or pauses the focused tile's video; Home and End jump to the ends.
_SCRIPT = """
(() => {
  const tiles = Array.from(document.querySelectorAll('.tile'));
  const go = (i) => {
    const tile = tiles[Math.max(0, Math.min(tiles.length - 1, i))];
    if (tile) { tile.focus(); tile.scrollIntoView({block: 'nearest', inline: 'nearest'}); }
  };
  document.addEventListener('keydown', (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const active = document.activeElement;
    const tile = active && active.closest ? active.closest('.tile') : null;
    const here = tiles.indexOf(tile);
    const free = !tile || active === tile;
    if (e.key === 'j' || (free && (e.key === 'ArrowRight' || e.key === 'ArrowDown'))) {
      e.preventDefault(); go(here + 1);
    } else if (e.key === 'k' || (free && (e.key === 'ArrowLeft' || e.key === 'ArrowUp'))) {
      e.preventDefault(); go(here < 0 ? 0 : here - 1);
    } else if (e.key === 'Home' && free) {
      e.preventDefault(); go(0);
    } else if (e.key === 'End' && free) {
      e.preventDefault(); go(tiles.length - 1);
    } else if (e.key === ' ' && tile && active === tile) {
      e.preventDefault();
      const video = tile.querySelector('video');
      if (video) { if (video.paused) { video.play(); } else { video.pause(); } }
    }
  });
})();
"""


def render(page: Page) -> str:
    """The whole page as HTML text."""
    title = f"renderkit report: {page.title}"
    parts = [
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        '<header class="top">',
        f"<h1>{_e(title)}</h1>",
        f'<p class="summary">{_e(_summary(page))}</p>',
    ]
    if page.diff is not None and page.against is not None:
        counts = ", ".join(f"{page.diff.count(c)} {c}" for c in ("new", "changed", "removed", "unchanged"))
        parts.append(f'<p class="summary">Against <code>{_e(page.against)}</code>: {_e(counts)}</p>')
    parts += [
        '<p class="keys">Keys: <kbd>j</kbd>/<kbd>→</kbd> next tile, <kbd>k</kbd>/<kbd>←</kbd> previous, '
        "<kbd>space</kbd> play or pause.</p>",
        "</header>",
        '<main id="sheet">',
    ]
    for chain in page.chains:
        parts.append(_chain(chain))
    if page.removed:
        parts.append('<section class="chain removed" aria-label="removed scenes"><h2>removed scenes</h2>')
        parts += [_tile(tile) for tile in page.removed]
        parts.append("</section>")
    parts += ["</main>", f"<script>{_SCRIPT}</script>", "</body>", "</html>", ""]
    return "\n".join(parts)


def _summary(page: Page) -> str:
    plan = page.plan
    renders = plan.renders
    cached = sum(r.status == "cached" for r in renders)
    scenes = len(plan.items)
    text = f"{scenes} scene{'s' * (scenes != 1)}"
    if len(renders) > scenes:
        text += f" in {len(renders)} renders (takes)"
    text += f"; {cached} cached, {len(renders) - cached} not rendered yet"
    if plan.total_cost_usd or plan.unknown_cost:
        text += f" (a build would cost {_money(plan.total_cost_usd)}{' + unknown' if plan.unknown_cost else ''})"
    return text


def _chain(chain: tuple[SceneView, ...]) -> str:
    ids = " → ".join(scene.id for scene in chain)
    linked = len(chain) > 1
    parts = [f'<section class="chain{" linked" if linked else ""}" aria-label="{_e(ids)}">']
    if linked:
        parts.append(f"<h2>chain: {_e(ids)}</h2>")
    for n, scene in enumerate(chain):
        link = scene.tiles[0]
        if n and link.upstream is not None:
            parts.append(
                f'<div class="arrow" aria-hidden="true"><b>→</b>{_e(link.link or "")}<br>{_e(link.upstream)}</div>'
            )
        kind = "scene takes" if len(scene.tiles) > 1 else "scene"
        label = f"{scene.id}: {len(scene.tiles)} takes" if len(scene.tiles) > 1 else scene.id
        parts.append(f'<div class="{kind}" id="scene-{_e(scene.id)}" aria-label="{_e(label)}">')
        parts += [_tile(tile) for tile in scene.tiles]
        parts.append("</div>")
    parts.append("</section>")
    return "\n".join(parts)


def _tile(tile: Tile) -> str:
    classes = ["tile", *(["picked"] if tile.picked else []), *([tile.change] if tile.change else [])]
    badges = [f'<span class="badge status">{_e(tile.status)}</span>']
    if tile.take is not None:
        badges.append(f'<span class="badge take">take {tile.take}</span>')
    if tile.picked:
        badges.append('<span class="badge picked">picked</span>')
    if tile.change is not None:
        badges.append(f'<span class="badge {_e(tile.change)}">{_e(tile.change)}</span>')
    parts = [
        f'<article class="{" ".join(classes)}" id="tile-{_e(tile.id)}" tabindex="0" data-scene="{_e(tile.scene)}"'
        f' aria-label="{_e(tile.id)}">',
        f"<h3>{_e(tile.id)} {' '.join(badges)}</h3>",
    ]
    if tile.before is not None:
        parts += [
            '<div class="compare">',
            f"<figure><figcaption>before</figcaption>{_video(tile.before, tile.before_prompt or tile.prompt)}</figure>",
            f"<figure><figcaption>now</figcaption>{_video(tile.video, tile.prompt)}</figure>",
            "</div>",
        ]
    else:
        parts.append(_video(tile.video, tile.prompt))
    rows = [("prompt", _e(tile.prompt))]
    if tile.before_prompt is not None and tile.before_prompt != tile.prompt:
        rows.append(("before", _e(tile.before_prompt)))
    if tile.upstream is not None:
        rows.append((tile.link or "upstream", f'<a href="#tile-{_e(tile.upstream)}">{_e(tile.upstream)}</a>'))
    rows += [
        ("model", _e(tile.model)),
        ("size", _e(tile.size)),
        ("seconds", str(tile.seconds)),
        ("status", _e(f"{tile.status}: {tile.reason}")),
        ("cost", _e(_money(tile.price_usd))),
        ("key", f'<code title="{_e(tile.key)}">{_e(tile.key[:16])}…</code>'),
        ("task", _e(tile.video.task_id or ("- (stitched from its shots)" if tile.shot_renders else "-"))),
    ]
    parts.append("<dl>" + "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in rows) + "</dl>")
    if tile.shots:
        what = "shots, each rendered on its own" if tile.shot_renders else "storyboard shots (one render)"
        shots = "".join(_shot(n, s) for n, s in enumerate(tile.shots, 1))
        parts.append(f'<ol class="shots" aria-label="{_e(what)}">{shots}</ol>')
    parts.append("</article>")
    return "\n".join(parts)


def _video(video: Video, prompt: str) -> str:
    if video.src is None:
        return f'<div class="none" role="img" aria-label="{_e(prompt)}">{_e(video.note or "no video")}</div>'
    poster = f' poster="{_e(video.poster)}"' if video.poster else ""
    return (
        f'<video controls preload="metadata" src="{_e(video.src)}"{poster} aria-label="{_e(prompt)}"'
        f' title="{_e(prompt)}"></video>'
    )


def _shot(number: int, shot: ShotView) -> str:
    thumb = f'<img src="{_e(shot.thumb)}" alt="{_e(shot.prompt)}">' if shot.thumb else ""
    task = f" · task {_e(shot.task_id)}" if shot.task_id else ""
    key = f' · <code title="{_e(shot.key)}">{_e(shot.key[:12])}…</code>' if shot.key else ""
    return f"<li>{thumb}<b>{number}.</b> {_e(shot.prompt)} <small>({shot.seconds} s{task}{key})</small></li>"


def _money(usd: float | None) -> str:
    return "?" if usd is None else f"${usd:.2f}"


def _e(text: str) -> str:
    return escape(text, quote=True)
