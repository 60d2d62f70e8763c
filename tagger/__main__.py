"""Allow ``python -m tagger``."""

from tagger.cli import main

raise SystemExit(main())
