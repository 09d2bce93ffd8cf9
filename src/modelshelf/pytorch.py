"""``modelshelf.pytorch``: the pytorch flavor (:mod:`modelshelf.flavors.pytorch`), as ``mlflow.pytorch``.

``import modelshelf.pytorch`` binds the very module object of ``modelshelf.flavors.pytorch``.
"""

from __future__ import annotations

import sys

from modelshelf.flavors import pytorch as _flavor
from modelshelf.flavors.pytorch import *  # noqa: F403
from modelshelf.flavors.pytorch import __all__ as __all__

sys.modules[__name__] = _flavor
