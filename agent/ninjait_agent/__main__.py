import sys

from ninjait_agent.cli import main

if __name__ == "__main__":
    sys.exit(main())
