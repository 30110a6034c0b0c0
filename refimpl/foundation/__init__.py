"""The foundation topic: experiment ``core`` and benchmark ``core``, which measure :mod:`refimpl.core`.

They live apart from the library: :mod:`refimpl.core` never imports the harness (``refimpl.experiments``,
``refimpl.bench``), while this package registers an experiment and a benchmark with it, like any topic.
"""
