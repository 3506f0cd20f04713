"""bench.extraction_frontier: the selection rules pick operating points from inner-fold scores."""

from __future__ import annotations

from bench.extraction_frontier import RULES, best_f, f_beta, most_recall, report

# (threshold, rule floor, longest run, content gate) -> (precision, recall)
INNER = {
    (0.5, 0.92, 1, 0): (0.70, 0.20),
    (0.3, 0.92, 1, 0): (0.56, 0.26),
    (0.2, 0.92, 1, 0): (0.50, 0.27),
    (0.15, 0.92, 1, 0): (0.40, 0.30),
}


def test_f_beta_weighs_recall_by_beta() -> None:
    assert f_beta(0.5, 0.5) == 0.5
    assert f_beta(0.0, 0.0) == 0.0
    assert f_beta(0.4, 0.3, 2.0) < f_beta(0.4, 0.3, 1.0) < f_beta(0.4, 0.3, 0.5)


def test_most_recall_keeps_the_precision_floor() -> None:
    assert most_recall(0.5)(INNER) == (0.2, 0.92, 1, 0)
    assert most_recall(0.55)(INNER) == (0.3, 0.92, 1, 0)
    assert most_recall(0.9)(INNER) == (0.15, 0.92, 1, 0)  # nothing that precise: the most recall


def test_f2_prefers_recall_to_f1() -> None:
    assert best_f(1.0)(INNER) == (0.3, 0.92, 1, 0)
    assert best_f(2.0)(INNER) == (0.15, 0.92, 1, 0)


def test_the_report_scores_each_rule_on_the_held_out_curve() -> None:
    held = {point: (p - 0.01, r + 0.01) for point, (p, r) in INNER.items()}
    table = report([(INNER, held)])
    assert "| F1 (the trainer's) | (0.3, 0.92, 1, 0): 0.550 / 0.270 |" in table
    assert "most held-out recall at held-out P >= 0.5 | (0.3, 0.92, 1, 0): 0.550 / 0.270 |" in table
    assert len(table.splitlines()) == len(RULES) + 3
