"""`python -m actbench` is the same as the `actbench` console script."""

import sys

from actbench.cli import main

sys.exit(main())
