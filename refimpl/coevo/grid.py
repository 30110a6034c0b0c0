r"""The k×k toroidal grid of cells and its von Neumann neighbourhoods.

Cell index :math:`c = y k + x` for column :math:`x` and row :math:`y` (the public code's
``x = idx % k, y = idx // k``). The neighbourhood of a cell is the cell itself followed by its west, north,
east and south neighbours with wrap-around,

.. math:: N(x, y) = \big[(x, y),\ (x-1, y),\ (x, y-1),\ (x+1, y),\ (x, y+1)\big] \bmod k,

de-duplicated in that order: 5 cells on a grid of side ≥ 3, 3 on 2×2 (west = east, north = south), and the
cell alone on 1×1. The public code (``Neighbourhood._adjacent_cells``) indexes its mask ``[x, y]`` but lays
the nodes out ``[y, x]``, so an off-diagonal cell receives the neighbourhood of its transposed cell;
:func:`transposed_neighbourhoods` reproduces that, for comparison only.
"""

from refimpl.core.validate import check_int

__all__ = ["cell_index", "neighbourhood", "neighbourhoods", "transposed_neighbourhoods"]


def cell_index(x, y, side):
    """Index ``y * side + x`` of the cell in column ``x``, row ``y`` (taken modulo ``side``: −1 is the last)."""
    return _cell_index(check_int("x", x), check_int("y", y), check_int("side", side, minimum=1))


def _cell_index(x, y, side):
    return (y % side) * side + (x % side)


def neighbourhood(cell, side):
    """The von Neumann neighbourhood of ``cell`` on the ``side``×``side`` torus: centre first, then W, N, E, S,
    duplicates removed.

    Returns
    -------
    tuple of int, of length 1 (side 1), 3 (side 2) or 5 (side ≥ 3)
    """
    side = check_int("side", side, minimum=1)
    cell = check_int("cell", cell, minimum=0)
    if cell >= side * side:
        raise ValueError(f"cell must be < side² = {side * side} on a {side}×{side} grid; got {cell}")
    x, y = cell % side, cell // side
    candidates = [(x, y), (x - 1, y), (x, y - 1), (x + 1, y), (x, y + 1)]
    return tuple(dict.fromkeys(_cell_index(cx, cy, side) for cx, cy in candidates))


def neighbourhoods(side):
    """:func:`neighbourhood` of every cell of the grid, as a tuple indexed by cell."""
    side = check_int("side", side, minimum=1)
    return tuple(neighbourhood(cell, side) for cell in range(side * side))


def transposed_neighbourhoods(side):
    """The public code's neighbourhoods: cell (x, y) gets the cells around (y, x), its own centre first.

    Not used by the algorithm; tests show where it differs from :func:`neighbourhoods`.
    """
    side = check_int("side", side, minimum=1)
    textbook = neighbourhoods(side)
    result = []
    for cell in range(side * side):
        transposed = _cell_index(cell // side, cell % side, side)
        result.append(tuple(dict.fromkeys((cell,) + textbook[transposed][1:])))
    return tuple(result)
