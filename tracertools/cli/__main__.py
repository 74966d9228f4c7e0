"""``python -m tracertools.cli``: the same as the ``tracertools`` command."""

import sys

from tracertools.cli.commands import main

sys.exit(main())
