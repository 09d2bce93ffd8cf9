"""``modelshelf.onnx``: the onnx flavor (:mod:`modelshelf.flavors.onnx`), as ``mlflow.onnx``.

``import modelshelf.onnx`` binds the very module object of ``modelshelf.flavors.onnx``.
"""

from __future__ import annotations

import sys

from modelshelf.flavors import onnx as _flavor
from modelshelf.flavors.onnx import *  # noqa: F403
from modelshelf.flavors.onnx import __all__ as __all__

sys.modules[__name__] = _flavor
