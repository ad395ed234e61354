"""`python -m bigcode_release.cli` (what `train` relaunches itself with under torchrun)."""

from bigcode_release.cli import main

main()
