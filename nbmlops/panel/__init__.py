"""The compare panel (ipywidgets): its table, its side-by-side HTML and its plots.

Named ``panel``, not ``compare``: ``nbmlops.compare`` is the public function that opens it.
"""
