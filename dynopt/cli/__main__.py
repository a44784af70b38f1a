import sys

from dynopt.cli.main import main

sys.exit(main())
