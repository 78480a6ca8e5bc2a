"""The compare panel (ipywidgets): its table, its side-by-side HTML and its plots."""
