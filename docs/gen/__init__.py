"""Reference pages of the manual, generated from the code that defines what they describe:
the parsers of ``nbmlops`` and ``%mlops``/``%%track``, the settings ``nbmlops.config`` reads,
the sidebar's REST routes and answers, and the ``assess`` JSON schema."""
