"""``python -m minitorch ...`` runs the command line (see ``minitorch.cli``)."""

from .cli import main

raise SystemExit(main())
