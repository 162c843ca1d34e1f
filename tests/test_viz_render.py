"""Real rendering with whichever Graphviz the machine has (here: the graphviz-pure executable)."""

from __future__ import annotations

import importlib
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn.viz import RenderError, draw, find_renderer, render

render_mod = importlib.import_module("tinygrad_rnn.viz.render")  # the module, not the function

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def drawing():
    cell = tg.nn.LSTMCell(2, 3, rng=np.random.default_rng(0))
    hs, _ = tg.nn.unroll(cell, np.random.default_rng(1).standard_normal((2, 1, 2)))
    loss = (hs[-1] ** 2.0).sum()
    loss.backward()
    return draw(loss)


def test_svg_is_xml_with_every_cluster_and_node(drawing, tmp_path):
    path = drawing.save(tmp_path / "g.svg")
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    ns = {"s": "http://www.w3.org/2000/svg"}
    titles = [t.text for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert set(drawing.nodes) <= set(titles)
    texts = " ".join(t.text or "" for t in root.iterfind(".//s:text", ns))
    for word in ("t=1", "t=2", "forget gate", "h_2", "c_1", "W", "flowing back"):
        assert word in texts


def test_png_has_the_signature(drawing, tmp_path):
    data = drawing.save(tmp_path / "g.png").read_bytes()
    assert data.startswith(PNG) and len(data) > 10_000


def test_pdf_from_either_renderer(drawing, tmp_path):
    """A system dot writes a vector PDF; with graphviz-pure (no PDF writer) the PDF holds its PNG."""
    data = drawing.save(tmp_path / "g.pdf").read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 5_000
    if Path(find_renderer()).name.startswith("graphviz-pure"):
        assert b"/Subtype /Image" in data  # one page holding the rendered picture


def test_graphviz_object_renders_without_a_system_dot(drawing, tmp_path, monkeypatch):
    """drawing.graphviz (the object users customise) pipes and renders through the same renderer."""
    monkeypatch.setenv("PATH", "")  # no `dot` to find: the bundled renderer beside Python is used
    g = drawing.graphviz
    g.attr(bgcolor="#fafafa")
    assert g.pipe(format="png").startswith(PNG)
    assert "#fafafa" in g.pipe(format="svg", encoding="utf-8")
    out = Path(g.render(tmp_path / "custom", format="svg"))
    assert out.name == "custom.svg" and out.read_text().lstrip().startswith("<?xml")
    assert (tmp_path / "custom").read_text() == g.source


def test_renderer_found_beside_python_without_path(monkeypatch):
    monkeypatch.setenv("PATH", "")
    exe = Path(find_renderer())
    assert exe.name.startswith("graphviz-pure")
    assert exe.parent in (Path(sys.executable).parent, Path(render_mod.sysconfig.get_path("scripts")))


def test_no_renderer_says_how_to_get_one(monkeypatch, tmp_path):
    monkeypatch.setattr(render_mod.shutil, "which", lambda name: None)
    monkeypatch.setattr(render_mod.sysconfig, "get_path", lambda name: str(tmp_path))
    monkeypatch.setattr(render_mod.sys, "executable", str(tmp_path / "python"))
    with pytest.raises(RenderError, match=r"no Graphviz renderer.*apt install graphviz.*graphviz-pure"):
        render("digraph { a -> b }", "svg")


def test_failed_render_leaves_the_old_file_alone(monkeypatch, tmp_path):
    x = tg.Tensor(np.ones(3), requires_grad=True, name="x")
    drawing = draw((x * 2.0).sum())  # fresh: nothing rendered and cached yet
    target = tmp_path / "g.svg"
    target.write_text("old")

    def broken(source: str, fmt: str = "svg", timeout: float = 120.0) -> bytes:
        raise RenderError("render: broken on purpose")
    monkeypatch.setattr(render_mod, "render", broken)
    with pytest.raises(RenderError):
        drawing.save(target)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["g.svg"]  # no temp file left behind


def test_bad_dot_gives_a_render_error():
    with pytest.raises(RenderError, match=r"-Tsvg failed"):
        render("digraph { a -> ", "svg")
    with pytest.raises(ValueError, match="unknown format"):
        render("digraph { a }", "gif")


def test_jupyter_shows_svg(drawing):
    bundle = drawing._repr_mimebundle_()
    assert bundle["image/svg+xml"].lstrip().startswith("<?xml")
    ET.fromstring(drawing._repr_svg_().encode())


def test_one_lstm_step_reads_top_down_like_the_walkthrough(tmp_path):
    cell = tg.nn.LSTMCell(2, 4, rng=np.random.default_rng(5))
    hs, _ = tg.nn.unroll(cell, np.random.default_rng(6).standard_normal((1, 1, 2)))
    (hs[-1] ** 2.0).sum().backward()
    root = ET.fromstring(draw(hs[-1]).svg().encode())
    ns = "{http://www.w3.org/2000/svg}"
    top = {}
    for g in root.iter(f"{ns}g"):
        if g.get("class") == "cluster":
            for text in g.iter(f"{ns}text"):
                top[text.text] = float(text.get("y"))  # SVG y grows downwards
    gates = ["forget gate", "input gate", "candidate", "output gate"]
    assert sorted(gates, key=top.__getitem__) == gates
    assert top["t=1"] < top["lstm"] < min(top[g] for g in gates)


def test_render_is_cached_until_the_digraph_is_customised(drawing, monkeypatch):
    first = drawing.svg()
    calls = []
    real = render_mod.render
    monkeypatch.setattr(render_mod, "render", lambda *a, **k: calls.append(a) or real(*a, **k))
    assert drawing.svg() == first and calls == []
    drawing.graphviz.attr(bgcolor="lightyellow")
    try:
        assert "lightyellow" in drawing.svg() and len(calls) == 1
    finally:
        drawing.graphviz.attr(bgcolor="white")
