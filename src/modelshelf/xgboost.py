"""``modelshelf.xgboost``: the xgboost flavor (:mod:`modelshelf.flavors.xgboost`), as ``mlflow.xgboost``.

``import modelshelf.xgboost`` binds the very module object of ``modelshelf.flavors.xgboost``.
"""

from __future__ import annotations

import sys

from modelshelf.flavors import xgboost as _flavor
from modelshelf.flavors.xgboost import *  # noqa: F403
from modelshelf.flavors.xgboost import __all__ as __all__

sys.modules[__name__] = _flavor
