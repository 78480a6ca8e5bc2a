"""``nbmlops assess``: where a project stands on the maturity levels, and what to do next.

:mod:`~nbmlops.assess.evidence` gathers facts from disk and MLflow, :mod:`~nbmlops.assess.criteria`
judges them, :mod:`~nbmlops.assess.report` renders the judgement (terminal, markdown, html,
json).
"""
