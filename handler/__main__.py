import sys

from handler.commands.cli import main

sys.exit(main())
