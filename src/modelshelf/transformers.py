"""``modelshelf.transformers``: the transformers flavor (:mod:`modelshelf.flavors.transformers`), as ``mlflow.transformers``.

``import modelshelf.transformers`` binds the very module object of ``modelshelf.flavors.transformers``.
"""

from __future__ import annotations

import sys

from modelshelf.flavors import transformers as _flavor
from modelshelf.flavors.transformers import *  # noqa: F403
from modelshelf.flavors.transformers import __all__ as __all__

sys.modules[__name__] = _flavor
