import sys

from runner.sweep import finishing

# before Hydra is imported: the summary's helper imports on the other CPU meanwhile
finishing.start(sys.argv[1:])

from runner.cli import main  # noqa: E402
from runner.exiting import without_final_collection  # noqa: E402

without_final_collection()
main()
