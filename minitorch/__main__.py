"""``python -m minitorch ...`` runs the command line (see ``minitorch.apps.cli``)."""

from .apps.cli import main

raise SystemExit(main())
