"""Quiz mode of the interactive page in headless Chromium: a small driver script, added to the page
after its own, clicks through the first backward steps (one right answer, one wrong, one right) and
writes what it saw into the DOM; the dumped DOM must show gradients hidden until each answer, then
revealed, and the score kept. Also: the page opens fitted to the window, #quiz=values hides values,
and the inline page (tg.viz.page) carries its fragment. Skips without Chromium."""

from __future__ import annotations

import json
import re
import tempfile

import numpy as np
import pytest
from test_viz_html import decade_bin, lstm_loss
from test_viz_html_browser import CHROMIUM, _launch, panel

import tinygrad_rnn as tg
from tinygrad_rnn.viz import draw

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium (apt install chromium)")

DRIVER = """<script>
(function () {
  const $ = (id) => document.getElementById(id);
  const rect = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const shown = document.querySelector(".view:not([hidden]) svg");
  const log = { fit: { stage: rect($("stage")), svg: rect(shown) }, steps: [] };
  function snap() {
    const cur = document.querySelector("#view-0 g.node.cur");
    return { caption: $("caption").textContent, quiz: $("quiz").textContent,
             cur: cur ? cur.getAttribute("class") : null,
             grad_edges: document.querySelectorAll("#view-0 g.edge.grad").length,
             hidden_edges: document.querySelectorAll("#view-0 g.edge.quizhide").length,
             options: [...document.querySelectorAll("#quiz button.qopt")].map((b) => +b.dataset.bin) };
  }
  $("b-next").click();  // the first backward step
  for (const k of ANSWERS) {
    const before = snap();
    document.querySelector(`#quiz button.qopt[data-bin="${k}"]`).click();
    log.steps.push({ before, after: snap() });
    $("b-next").click();
  }
  const pre = document.createElement("pre");
  pre.id = "driver-log";
  pre.textContent = JSON.stringify(log);
  document.body.append(pre);
})();
</script>
"""


def _dump(url: str) -> str:
    with tempfile.TemporaryDirectory() as profile:
        p = _launch(url, profile)
        out, err = p.communicate(timeout=90)
    assert p.returncode == 0 and "</html>" in out, "chromium failed"
    console = [line for line in err.splitlines() if ":CONSOLE" in line]
    assert not console, f"the page logged: {console}"
    return out


@pytest.fixture(scope="module")
def quiz_run(tmp_path_factory):
    loss, _, _, order = lstm_loss()
    F = len(order)
    grads = [order[F - j].grad for j in (1, 2, 3)]  # backward step j completes order[F - j]
    norms = [None if g is None else float(np.linalg.norm(g)) for g in grads]
    right = [-1 if n is None else decade_bin(n) for n in norms]
    answers = [right[0], (right[1] + 1) % 8, right[2]]  # right, wrong, right
    folder = tmp_path_factory.mktemp("quiz")
    text = draw(loss).save(folder / "lstm.html").read_text(encoding="utf-8")
    driven = folder / "driven.html"
    driven.write_text(text.replace("</body>", DRIVER.replace("ANSWERS", json.dumps(answers)) + "</body>"),
                      encoding="utf-8")
    dom = _dump(driven.as_uri() + "#quiz&step=fwd")
    log = json.loads(re.search(r'<pre id="driver-log">(.*?)</pre>', dom, re.S).group(1).replace("&amp;", "&")
                     .replace("&lt;", "<").replace("&gt;", ">"))
    return log, right, answers, norms, dom


def test_a_gradient_stays_hidden_until_predicted_then_is_revealed(quiz_run):
    log, right, answers, norms, _ = quiz_run
    for j, step in enumerate(log["steps"], start=1):
        before, after = step["before"], step["after"]
        assert "quizhide" in before["cur"] and "hasgrad" not in before["cur"], j
        assert "quiz: predict" in before["caption"] and "norm" not in before["caption"], j
        assert before["hidden_edges"] > 0, j  # the edges of this step show no colour yet
        assert before["options"] == list(range(8)) + [-1], j  # the eight decades of the scale, and none
        assert after["hidden_edges"] == 0 and "quizhide" not in after["cur"], j
        assert ("hasgrad" in after["cur"]) == (norms[j - 1] is not None), j
        assert after["grad_edges"] > before["grad_edges"], j  # revealed: the step's edges take their colour
    # step 2 starts with step 1's edges revealed, its own hidden
    assert log["steps"][1]["before"]["grad_edges"] == log["steps"][0]["after"]["grad_edges"]


def test_the_score_counts_right_and_wrong_answers(quiz_run):
    log, right, answers, norms, dom = quiz_run
    first, second, third = (s["after"]["quiz"] for s in log["steps"])
    assert first.startswith("score 1 / 1") and "✓ right" in first and "loss" in first
    assert second.startswith("score 1 / 2") and "✗" in second and "you said" in second
    assert f"{norms[1]:.3g}"[:3] in second  # the true size is told
    assert third.startswith("score 2 / 3")
    assert '<span class="qscore" id="quiz-score">score 2 / 3</span>' in dom  # after stepping on: kept


def test_the_page_opens_fitted_to_the_window(quiz_run):
    log = quiz_run[0]
    (sl, st, sr, sb), (gl, gt, gr, gb) = log["fit"]["stage"], log["fit"]["svg"]
    assert gr - gl > 0.4 * (sr - sl) or gb - gt > 0.4 * (sb - st)  # fitted, not a thumbnail
    assert sl - 1 <= gl and gr <= sr + 1 and st - 1 <= gt and gb <= sb + 1, log["fit"]


def test_quiz_values_hides_values_and_unrevealed_gradients_in_the_side_panel(tmp_path):
    loss, _, _, order = lstm_loss()
    path = draw(loss).save(tmp_path / "lstm.html")
    text = panel(_dump(path.as_uri() + "#quiz=values&step=b2"))
    assert "hidden (quiz)" in text and "predict it first" in text and '<table class="arr">' not in text
    plain = panel(_dump(path.as_uri() + "#step=b2"))
    assert "hidden (quiz)" not in plain and '<table class="arr">' in plain


def test_the_inline_page_opens_with_its_fragment(tmp_path):
    loss, _, _, _ = lstm_loss()
    page = tg.viz.page(draw(loss), "quiz&step=b1")
    dom = _dump(page.save(tmp_path / "inline.html").as_uri())
    assert re.search(r'<div id="quiz" aria-live="polite">', dom)  # shown: no hidden attribute
    assert "Predict" in dom and "backward 1 / " in dom
