"""What is reported, read from what was written: a run's summary, figures, curves and
comparisons, a calibration's summary, and the machine a measurement ran on.

`reporter` writes a run's report (`hrfevo report`) or a comparison of runs; `summary` its
Markdown, `plots` its figures, `curves` the hypervolume against cost, `comparison` several runs
side by side; `calibration` what `hrfevo calibrate` writes in words; `machine` the header every
report and benchmark opens with; `markdown` the small formatting helpers they share (the model
card uses them too). Nothing here changes a run directory, and the search loop (`search`,
`run`) never imports this package.
"""
