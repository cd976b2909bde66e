"""What a run reports, read from its directory: the summary, figures, curves and comparisons.

`reporter` writes a run's report (`hrfevo report`) or a comparison of runs; `summary` its
Markdown, `plots` its figures, `curves` the hypervolume against cost, `comparison` several runs
side by side, and `markdown` the small formatting helpers they share. Nothing here changes a
run directory; the search never imports this package.
"""
