"""Lets `python -m governor` run the command line."""

from governor.cli.main import main

raise SystemExit(main())
