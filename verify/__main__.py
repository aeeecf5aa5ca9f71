import sys

from aotmem.verify.cli import main

sys.exit(main())
