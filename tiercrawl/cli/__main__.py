import sys

from tiercrawl.cli import main

sys.exit(main())
