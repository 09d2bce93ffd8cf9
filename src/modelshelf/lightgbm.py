"""``modelshelf.lightgbm``: the lightgbm flavor (:mod:`modelshelf.flavors.lightgbm`), as ``mlflow.lightgbm``.

``import modelshelf.lightgbm`` binds the very module object of ``modelshelf.flavors.lightgbm``.
"""

from __future__ import annotations

import sys

from modelshelf.flavors import lightgbm as _flavor
from modelshelf.flavors.lightgbm import *  # noqa: F403
from modelshelf.flavors.lightgbm import __all__ as __all__

sys.modules[__name__] = _flavor
