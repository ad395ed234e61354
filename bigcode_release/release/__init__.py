"""The release: the one command that runs every stage (`run`), the plan of Hub repositories a
release directory becomes (`artifacts`, `plan`, `cards`), the gated, tagged push or the offline
trees (`push`), access requests (`access`), the release settings, and the transparency report."""
