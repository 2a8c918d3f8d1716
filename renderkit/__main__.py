"""`python -m renderkit`."""

from renderkit.cli import main

raise SystemExit(main())
