"""Train and test one model.

``python run_recbole_spec.py --model=DirectSpecPlus --dataset=gowalla``

Same as ``recbole-spec run``; every further ``--key=value`` overrides the configuration.
"""

import sys

from recbole_spec.cli import main

if __name__ == "__main__":
    sys.exit(main())
