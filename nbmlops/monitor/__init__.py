"""Monitoring of scored data: what a model meets in production against what it learned from.

:mod:`~nbmlops.monitor.sketch` counts frames into bins the reference fixes (mergeable, so a
batch scored in pieces compares as a whole), :mod:`~nbmlops.monitor.statistics` measures
two sketches' distance, :mod:`~nbmlops.monitor.bands` calibrates how far clean data strays
by chance, and :mod:`~nbmlops.monitor.drift` decides, column by column.
"""
