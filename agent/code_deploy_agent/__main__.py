import sys

from code_deploy_agent.cli import main

sys.exit(main())
