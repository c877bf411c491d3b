"""Layers: each module registers its transforms with cobol.registry on import."""

from . import raw  # noqa: F401,E402
from . import l2_csv  # noqa: F401,E402
from . import numeric  # noqa: F401,E402
from . import l2_json  # noqa: F401,E402
from . import l2_markup  # noqa: F401,E402
from . import l1_semantic  # noqa: F401,E402
from . import l2_log  # noqa: F401,E402
from . import bundle  # noqa: F401,E402
