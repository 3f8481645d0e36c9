"""Dominance, frontier and hypervolume on point sets whose answers are known by hand."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbutils.core import pareto

# A staircase: (1, 3), (2, 2), (3, 1) plus two dominated points. With reference (0, 0)
# the dominated region is three strips: 3 x 1 + 2 x 1 + 1 x 1 = 6.
STAIRCASE = [(1, 3), (2, 2), (3, 1), (1, 1), (2, 0.5)]


def test_definition_1_dominance_needs_one_strict_inequality():
    assert pareto.dominates((2, 2), (1, 2))
    assert pareto.dominates((2, 3), (1, 2))
    assert not pareto.dominates((2, 2), (2, 2))  # equal: neither dominates
    assert not pareto.dominates((3, 1), (1, 3))  # a trade-off
    assert not pareto.dominates((1, 2), (2, 2))


def test_dominated_by_names_the_dominating_points():
    mask = pareto.dominated_by((1, 1), STAIRCASE)
    assert mask.tolist() == [True, True, True, False, False]


def test_frontier_of_the_staircase_is_its_three_steps_in_order():
    assert pareto.non_dominated(STAIRCASE).tolist() == [True, True, True, False, False]
    assert pareto.frontier(STAIRCASE).tolist() == [0, 1, 2]
    shuffled = [STAIRCASE[i] for i in (4, 2, 3, 0, 1)]
    assert [shuffled[i] for i in pareto.frontier(shuffled)] == [(1, 3), (2, 2), (3, 1)]


def test_duplicates_of_a_frontier_point_stay_on_the_frontier():
    assert pareto.non_dominated([(1, 1), (1, 1), (0, 0)]).tolist() == [True, True, False]


def test_staircase_hypervolume_adds_up_by_hand():
    assert pareto.hypervolume(STAIRCASE) == pytest.approx(6.0)
    # against reference (1, 0): strips 2 x 1 + 1 x 1 (the point (1, 3) adds no width)
    assert pareto.hypervolume(STAIRCASE, reference=(1, 0)) == pytest.approx(3.0)
    # a single point: its rectangle
    assert pareto.hypervolume([(0.5, 0.4)]) == pytest.approx(0.2)
    assert pareto.hypervolume([]) == 0.0


def test_points_not_beating_the_reference_add_nothing():
    assert pareto.hypervolume([(0.0, 5.0), (5.0, -1.0)]) == 0.0
    assert pareto.hypervolume([(0.0, 5.0), (1.0, 1.0)]) == pytest.approx(1.0)


def test_added_hypervolume_of_a_dominated_point_is_zero():
    assert pareto.added_hypervolume((1.5, 1.5), STAIRCASE) == 0.0
    assert pareto.added_hypervolume((2, 2), STAIRCASE) == 0.0  # equal to a frontier point


def test_added_hypervolume_of_a_point_beyond_the_staircase():
    # (2.5, 2.5) covers [0, 2.5]^2 = 6.25 of which the staircase already covers
    # 1 x 2.5 (under (1, 3)) + 1 x 2 (under (2, 2), right of 1) + 0.5 x 1 (under (3, 1),
    # right of 2) = 5
    assert pareto.added_hypervolume((2.5, 2.5), STAIRCASE) == pytest.approx(1.25)
    # alone, a point adds its whole rectangle
    assert pareto.added_hypervolume((2.5, 2.5), []) == pytest.approx(6.25)


def test_rouge_and_loss_spaces_turn_every_objective_into_a_maximum():
    space = pareto.rouge_space([0.0, 1.0], [1.0, 0.2])
    assert space.tolist() == [[1.0, 1.0], [0.0, 0.2]]
    assert pareto.dominates(space[0], space[1])  # forgot everything, kept everything
    loss = pareto.loss_space([5.0, 1.0], [0.1, 0.1])
    assert pareto.dominates(loss[0], loss[1])  # Definition 1: larger L_F, same L_R


def test_bad_points_raise():
    with pytest.raises(ValueError, match="NaN"):
        pareto.hypervolume([(np.nan, 1.0)])
    with pytest.raises(ValueError, match="shape"):
        pareto.frontier([(1, 2, 3)])


coords = st.integers(0, 20).map(lambda i: i / 2)  # exact halves: no underflow
point_sets = st.lists(st.tuples(coords, coords), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(point_sets)
def test_hypervolume_is_that_of_the_frontier_and_bounded_by_the_box(points):
    array = np.array(points)
    hv = pareto.hypervolume(array)
    assert hv == pytest.approx(pareto.hypervolume(array[pareto.frontier(array)]))
    assert 0.0 <= hv <= array[:, 0].max() * array[:, 1].max() + 1e-9
    assert hv >= max(x * y for x, y in points) - 1e-9


@settings(max_examples=200, deadline=None)
@given(point_sets, st.tuples(coords, coords))
def test_added_hypervolume_is_nonnegative_and_zero_iff_dominated(points, new):
    added = pareto.added_hypervolume(new, points)
    assert added >= -1e-9
    covered = any(x >= new[0] and y >= new[1] for x, y in points)
    if covered or min(new) == 0:
        assert added == pytest.approx(0.0, abs=1e-9)
    else:
        assert added > 0


@settings(max_examples=100, deadline=None)
@given(point_sets)
def test_no_frontier_point_is_dominated_and_every_other_point_is(points):
    array = np.array(points)
    mask = pareto.non_dominated(array)
    for p, on_front in zip(array, mask):
        assert pareto.dominated_by(p, array).any() != on_front
