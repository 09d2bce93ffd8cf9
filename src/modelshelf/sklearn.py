"""``modelshelf.sklearn``: the sklearn flavor (:mod:`modelshelf.flavors.sklearn`), as ``mlflow.sklearn``.

``import modelshelf.sklearn`` binds the very module object of ``modelshelf.flavors.sklearn``.
"""

from __future__ import annotations

import sys

from modelshelf.flavors import sklearn as _flavor
from modelshelf.flavors.sklearn import *  # noqa: F403
from modelshelf.flavors.sklearn import __all__ as __all__

sys.modules[__name__] = _flavor
