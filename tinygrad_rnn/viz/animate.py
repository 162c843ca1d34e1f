"""The forward and backward pass as frames, one time step per frame: an animated GIF and PNG
frames for slides (Pillow), from the same layout as the drawing.

Forward frame k: what steps 1..k computed is drawn, the rest faded, step k outlined in blue. Backward
frame k (from the last step down): the edges into steps >= k carry their gradient colour, step k
is outlined in red. Only colours change between frames, so Graphviz lays every frame out alike.
"""

from __future__ import annotations

import io
from pathlib import Path

from .graph import Drawing, Group
from .layout import step_of
from .render import render, write_atomic

_FADED = dict(fillcolor="#f4f4f4", color="#dddddd", fontcolor="#bbbbbb")
_PLAIN_EDGE = dict(color="#555555", penwidth="1", style="solid")
_PENDING_EDGE = dict(color="#e6e6e6", penwidth="1", style="solid")
_NOW = {"forward": "#1565c0", "backward": "#c62828"}


def _steps(d: Drawing) -> dict[str, int]:
    """Node id -> the step that computes it: 0 for leaves (given), last + 1 for ops after the steps."""
    raw: dict[str, int | None] = {}
    for nid, obj in d.nodes.items():
        if isinstance(obj, Group):
            raw[nid] = step_of(obj.scope)
        elif obj.is_leaf:
            raw[nid] = 0
        else:  # its own step (a loss made in step T's scope, beside the collapsed box), or its cluster's
            own = step_of(obj.scope)
            raw[nid] = own if own is not None else step_of(d.where.get(nid, ()))
    last = max((s for s in raw.values() if s is not None), default=0)
    return {nid: last + 1 if s is None else s for nid, s in raw.items()}


def frame_styles(d: Drawing) -> list[tuple[str, dict[str, dict[str, str]], dict[int, dict[str, str]]]]:
    """Per frame: (caption, node attributes, edge attributes) to lay over the drawing's own."""
    step = _steps(d)
    for rid in d.references:  # a parameter's copy is given, like the parameter
        step[rid] = 0
    order = sorted(set(step.values()) - {0})
    last = max(order, default=0)
    after = _after(d, step, last)

    def name(k: int) -> str:
        return "the loss" if k == last and after else f"t={k}"
    frames = []
    for k in [0] + order:
        nodes = {nid: dict(_FADED) for nid, s in step.items() if s > k}
        now = {nid: dict(color=_NOW["forward"], penwidth="3") for nid, s in step.items() if s == k > 0}
        nodes.update(now)
        edges = {i: dict(_PENDING_EDGE if step[e.dst] > k else _PLAIN_EDGE) for i, e in enumerate(d.edges)}
        text = "forward: inputs and parameters given" if k == 0 else f"forward: {name(k)} computed"
        frames.append((text, nodes, edges))
    has_grads = any(e.grad_norm is not None for e in d.edges)
    for k in reversed(order) if has_grads else []:
        nodes = {nid: dict(color=_NOW["backward"], penwidth="3") for nid, s in step.items() if s == k}
        edges = {i: dict(_PLAIN_EDGE) for i, e in enumerate(d.edges) if step[e.dst] < k}
        frames.append((f"backward: gradient through {name(k)}", nodes, edges))
    return frames


def _after(d: Drawing, step: dict[str, int], last: int) -> bool:
    """Whether the last 'step' is the ops after the time steps (a loss outside them)."""
    return any(s == last and not isinstance(d.nodes[n], Group) and step_of(d.where.get(n, ())) is None
               for n, s in step.items())


def animate(drawing: Drawing, path: str | Path, frames_dir: str | Path | None = None,
            duration_ms: int = 900) -> list[Path]:
    """Write the forward/backward stepping as an animated GIF at path, and each frame as a PNG into
    frames_dir (default: "<path stem>_frames" beside it). Returns [gif, frame files...]."""
    from PIL import Image, ImageDraw, ImageFont
    if not isinstance(drawing, Drawing) or drawing.restyle is None:
        raise TypeError(f"animate: expected a Drawing from tinygrad_rnn.viz.draw, got "
                        f"{type(drawing).__name__}")
    path = Path(path)
    if path.suffix.lower() != ".gif":
        raise ValueError(f"animate: the animation is written as .gif, got {str(path)!r}")
    folder = Path(frames_dir) if frames_dir is not None else path.with_name(f"{path.stem}_frames")
    images = []
    for caption, nodes, edges in frame_styles(drawing):
        png = render(drawing.restyle(nodes, edges).source, "png")
        with Image.open(io.BytesIO(png)) as im:
            images.append((caption, im.convert("RGB")))
    width = max(im.width for _, im in images)
    height = max(im.height for _, im in images) + 28
    font = ImageFont.load_default(size=16)
    frames = []
    for caption, im in images:
        canvas = Image.new("RGB", (width, height), "white")
        canvas.paste(im, (0, 28))
        colour = _NOW["forward"] if caption.startswith("forward") else _NOW["backward"]
        ImageDraw.Draw(canvas).text((10, 5), caption, font=font, fill=colour)
        frames.append(canvas)
    written = []
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=duration_ms, loop=0)
    written.append(write_atomic(path, buf.getvalue()))
    for i, f in enumerate(frames):
        one = io.BytesIO()
        f.save(one, format="PNG")
        written.append(write_atomic(folder / f"frame_{i:03d}.png", one.getvalue()))
    return written
