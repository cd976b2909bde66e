import sys

from hrfevo.cli import main

sys.exit(main())
