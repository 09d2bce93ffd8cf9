"""A ``pickle_module`` for ``torch.save`` / ``torch.load``: cloudpickle to write, pickle to read.

The same contract as ``mlflow.pytorch.pickle_module`` (whose name modelshelf writes into
``pickle_module_info.txt`` so stock MLflow reads our models), without needing MLflow:
``torch.save`` uses ``Pickler``, which must be cloudpickle's real pickler (``cloudpickle.Pickler``
is the plain one on some versions), and ``torch.load`` needs an ``Unpickler``, which cloudpickle
does not export.
"""

from __future__ import annotations

from pickle import Unpickler, load, loads

from cloudpickle import CloudPickler as Pickler
from cloudpickle import __version__, dump, dumps

__all__ = ["Pickler", "Unpickler", "__version__", "dump", "dumps", "load", "loads"]
