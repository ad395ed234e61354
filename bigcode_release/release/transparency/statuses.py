"""What an indicator's status means (every report and card uses these words):

- measured: read from a file a stage wrote (file and field cited);
- derived: computed from a config or artifact (e.g. the attention type from heads vs KV heads);
- estimated: computed with a stated method and assumptions (energy from assumed wattages);
- statement: a person's text, confirmed by them;
- draft: a statement nobody has confirmed yet (it names who must);
- not produced: the stage that would answer it has not run (e.g. the release was never pushed);
- missing: its stage ran but what it wrote is gone (a push is blocked).

The score counts measured, derived and statement; estimates are shown apart.
"""

MEASURED, DERIVED, ESTIMATED = "measured", "derived", "estimated"
STATEMENT, DRAFT = "statement", "draft"
NOT_PRODUCED, MISSING = "not produced", "missing"
ALL = (MEASURED, DERIVED, ESTIMATED, STATEMENT, DRAFT, NOT_PRODUCED, MISSING)
COUNTED = frozenset({MEASURED, DERIVED, STATEMENT})
