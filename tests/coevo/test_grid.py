"""The torus and its von Neumann neighbourhoods; where the public code's transposed layout differs."""

import pytest

from refimpl.coevo.grid import neighbourhood, neighbourhoods, transposed_neighbourhoods


def test_sizes_of_the_neighbourhoods():
    assert neighbourhoods(1) == ((0,),)
    assert [len(n) for n in neighbourhoods(2)] == [3] * 4
    assert all(len(n) == 5 for side in (3, 4, 7) for n in neighbourhoods(side))


def test_explicit_neighbourhoods_centre_west_north_east_south():
    assert neighbourhood(0, 2) == (0, 1, 2)  # W = E = 1, N = S = 2
    assert neighbourhood(4, 3) == (4, 3, 1, 5, 7)  # the centre of 3×3
    assert neighbourhood(0, 3) == (0, 2, 6, 1, 3)  # wraps around both axes
    assert neighbourhood(7, 4) == (7, 6, 3, 4, 11)  # (x, y) = (3, 1): east wraps to x = 0


@pytest.mark.parametrize("side", [1, 2, 3, 4, 5])
def test_neighbourhood_relation_is_symmetric_and_regular(side):
    grid = neighbourhoods(side)
    for cell, neighbours in enumerate(grid):
        assert neighbours[0] == cell
        assert all(cell in grid[other] for other in neighbours)
    appearances = [sum(cell in n for n in grid) for cell in range(side * side)]
    assert len(set(appearances)) == 1


@pytest.mark.parametrize("side, differing", [(1, 0), (2, 0), (3, 6), (4, 12)])
def test_public_codes_transposed_neighbourhoods_differ_off_the_diagonal(side, differing):
    textbook, transposed = neighbourhoods(side), transposed_neighbourhoods(side)
    different = [c for c in range(side * side) if set(textbook[c]) != set(transposed[c])]
    assert len(different) == differing
    assert all(c % side != c // side for c in different)  # only off-diagonal cells


def test_bad_input_names_the_parameter():
    with pytest.raises(ValueError, match="side must be >= 1"):
        neighbourhoods(0)
    with pytest.raises(ValueError, match="cell must be < side"):
        neighbourhood(4, 2)
    with pytest.raises(TypeError, match="side must be an integer"):
        neighbourhoods(2.0)
