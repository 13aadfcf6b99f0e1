import sys

from graphqd.cli import main

sys.exit(main())
